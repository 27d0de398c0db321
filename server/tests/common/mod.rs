//! A real server on a loopback port with a fresh database, and a small client for the tests.
//! The database is SQLite, or a new database on the PostgreSQL cluster `CARESYNC_TEST_PG`
//! names (a base URL such as `postgres://postgres@127.0.0.1:5432`) when it is set.

#![allow(dead_code)]

pub mod nats;
pub mod pdf;
pub mod shared_device;
pub mod sse;

use std::net::SocketAddr;

use caresync_server::{
    db::{Connection, DbError},
    router, AppState, Config,
};
use serde_json::{json, Value};

pub struct TestServer {
    pub base: String,
    pub http: reqwest::Client,
    /// The server's own state, for what a test sets up or inspects behind the API.
    pub state: AppState,
    _data: tempfile::TempDir,
}

impl TestServer {
    pub async fn start() -> Self {
        Self::start_with(900, true).await
    }

    pub async fn start_with(access_ttl_secs: u64, test_faults: bool) -> Self {
        Self::start_config(|c| {
            c.access_ttl_secs = access_ttl_secs;
            c.test_faults = test_faults;
        })
        .await
    }

    /// A server whose spent refresh tokens replay for only `refresh_grace_secs`.
    pub async fn start_with_grace(refresh_grace_secs: u64) -> Self {
        Self::start_config(|c| {
            c.refresh_grace_secs = refresh_grace_secs;
            c.test_faults = false;
        })
        .await
    }

    /// A server with the defaults, changed by `adjust`.
    pub async fn start_config(adjust: impl FnOnce(&mut Config)) -> Self {
        Self::start_on(fresh_pg_database().await, adjust).await
    }

    /// A second instance on this server's PostgreSQL database (`None` on SQLite, whose file
    /// belongs to one process): what one instance commits, the other answers from.
    pub async fn another_instance(&self) -> Option<Self> {
        let url = self.state.config.database_url.clone()?;
        Some(Self::start_on(Some(url), |_| {}).await)
    }

    async fn start_on(database_url: Option<String>, adjust: impl FnOnce(&mut Config)) -> Self {
        let data = tempfile::tempdir().expect("temp dir");
        let mut config = Config {
            addr: "127.0.0.1:0".parse().expect("addr"),
            data_dir: data.path().to_path_buf(),
            dist_dir: data.path().join("no-dist"),
            access_ttl_secs: 900,
            refresh_grace_secs: 60,
            idle_lock_secs: 120,
            doc_ttl_secs: 604_800,
            test_faults: true,
            database_url,
            demo_data: true,
            nats_url: None,
        };
        adjust(&mut config);
        let state = AppState::open(config).await.expect("open state");
        caresync_server::spawn_workers(&state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let app = router(state.clone()).into_make_service_with_connect_info::<SocketAddr>();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        TestServer {
            base: format!("http://{addr}"),
            http: reqwest::Client::new(),
            state,
            _data: data,
        }
    }

    /// Runs `f` on the server's database (setting up what the API cannot, like an expiry).
    pub async fn sql<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, DbError> + Send + 'static,
    ) -> T {
        self.state.db.call(move |c| f(c)).await.expect("test SQL")
    }

    pub async fn login(&self, tenant: &str, user: &str) -> Session {
        let (status, body) = self
            .request(
                "POST",
                "/api/v1/auth/login",
                None,
                Some(json!({"tenantId": tenant, "username": user, "password": "demo"})),
            )
            .await;
        assert_eq!(status, 200, "login {tenant}/{user}: {body}");
        Session {
            token: body["accessToken"].as_str().expect("token").to_owned(),
            refresh: body["refreshToken"].as_str().expect("refresh").to_owned(),
            user_id: body["userId"].as_str().expect("user").to_owned(),
        }
    }

    pub async fn request(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        self.request_with(method, path, token, body, &[]).await
    }

    pub async fn request_with(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> (u16, Value) {
        let mut req = self.http.request(
            method.parse().expect("method"),
            format!("{}{path}", self.base),
        );
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.expect("send");
        let status = res.status().as_u16();
        let text = res.text().await.unwrap_or_default();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    /// Raw bytes, for malformed bodies.
    pub async fn raw(&self, path: &str, token: &str, body: Vec<u8>) -> (u16, Value) {
        let res = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(token)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("send");
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    pub async fn threads(&self, s: &Session) -> Vec<Value> {
        let (status, body) = self
            .request("GET", "/api/v1/threads", Some(&s.token), None)
            .await;
        assert_eq!(status, 200);
        body.as_array().expect("list").clone()
    }

    pub async fn thread_id(&self, s: &Session, subject: &str) -> String {
        self.threads(s)
            .await
            .iter()
            .find(|t| t["subject"] == subject)
            .and_then(|t| t["threadId"].as_str())
            .expect("thread by subject")
            .to_owned()
    }

    pub async fn messages(&self, s: &Session, thread: &str) -> Vec<Value> {
        let (status, body) = self
            .request(
                "GET",
                &format!("/api/v1/threads/{thread}/messages"),
                Some(&s.token),
                None,
            )
            .await;
        assert_eq!(status, 200, "{body}");
        body.as_array().expect("list").clone()
    }
}

/// The base URL of the throwaway PostgreSQL cluster the suite runs on, if any.
pub fn test_pg() -> Option<String> {
    std::env::var("CARESYNC_TEST_PG")
        .ok()
        .filter(|v| !v.is_empty())
}

/// A new, empty database on the test cluster for one server (or two sharing it), or `None`
/// on SQLite. The cluster is thrown away whole after the run, so nothing drops it.
pub async fn fresh_pg_database() -> Option<String> {
    let base = test_pg()?;
    let base = base.trim_end_matches('/');
    let (client, connection) =
        tokio_postgres::connect(&format!("{base}/postgres"), tokio_postgres::NoTls)
            .await
            .unwrap_or_else(|e| panic!("CARESYNC_TEST_PG={base}: cannot connect: {e}"));
    let driver = tokio::spawn(connection);
    let name = format!("t_{}", uuid::Uuid::now_v7().simple());
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .expect("create the test database");
    drop(client);
    driver
        .await
        .expect("connection task")
        .expect("connection closes cleanly");
    Some(format!("{base}/{name}"))
}

pub struct Session {
    pub token: String,
    pub refresh: String,
    pub user_id: String,
}

pub fn cmid() -> String {
    uuid::Uuid::now_v7().to_string()
}

pub fn message(id: &str, text: &str) -> Value {
    json!({"clientMutationId": id, "body": text, "clientSentAt": "2026-11-22T10:00:00.000Z"})
}
