//! A small load run in the test command: 100 devices push 5,000 writes with 20 % injected
//! faults, and every write is stored once, in lane order, with one event in the outbox and
//! one in the JetStream stream. On SQLite one instance; with `CARESYNC_TEST_PG` two
//! instances on one PostgreSQL database. The full run is `cargo xtask load`.

use std::{
    net::{SocketAddr, TcpListener},
    path::Path,
    process::{Child, Command, Stdio},
    time::Duration,
};

use caresync_load::{devices, setup, verify, Plan};
use caresync_server::{router, AppState, Config};

/// A `nats-server -js` of the test's own; its store directory goes with it.
struct Nats {
    child: Child,
    _store: tempfile::TempDir,
    url: String,
}

impl Drop for Nats {
    fn drop(&mut self) {
        if let Err(err) = self.child.kill().and_then(|()| self.child.wait().map(drop)) {
            eprintln!("could not stop nats-server: {err}");
        }
    }
}

async fn nats() -> Nats {
    let store = tempfile::tempdir().expect("temp dir");
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let program = ["/usr/sbin/nats-server", "/usr/bin/nats-server"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .unwrap_or("nats-server");
    let child = Command::new(program)
        .args(["-js", "-a", "127.0.0.1", "-p", &port.to_string(), "-sd"])
        .arg(store.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start nats-server ({e}): install Debian's nats-server"));
    let nats = Nats {
        child,
        _store: store,
        url: format!("nats://127.0.0.1:{port}"),
    };
    for _ in 0..500 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return nats;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("nats-server did not start listening");
}

/// A fresh database on the test cluster, or `None` for SQLite.
async fn database() -> Option<String> {
    let base = std::env::var("CARESYNC_TEST_PG")
        .ok()
        .filter(|v| !v.is_empty())?;
    let base = base.trim_end_matches('/').to_owned();
    let (client, connection) =
        tokio_postgres::connect(&format!("{base}/postgres"), tokio_postgres::NoTls)
            .await
            .expect("connect to CARESYNC_TEST_PG");
    let driver = tokio::spawn(connection);
    let name = format!("load_{}", uuid::Uuid::now_v7().simple());
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .expect("create the database");
    drop(client);
    driver.await.expect("driver").expect("closes");
    Some(format!("{base}/{name}"))
}

async fn serve(data: &Path, database_url: Option<String>, nats_url: &str) -> (AppState, String) {
    let config = Config {
        addr: "127.0.0.1:0".parse().expect("addr"),
        data_dir: data.to_path_buf(),
        dist_dir: data.join("no-dist"),
        access_ttl_secs: 900,
        refresh_grace_secs: 60,
        idle_lock_secs: 120,
        doc_ttl_secs: 604_800,
        test_faults: true,
        database_url,
        demo_data: true,
        nats_url: Some(nats_url.to_owned()),
    };
    let state = AppState::open(config).await.expect("open state");
    caresync_server::spawn_workers(&state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let app = router(state.clone()).into_make_service_with_connect_info::<SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (state, format!("http://{addr}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn five_thousand_writes_through_faults_land_once_in_order_with_one_event_each() {
    let nats = nats().await;
    let data = tempfile::tempdir().expect("temp dir");
    let url = database().await;
    let (state, first) = serve(data.path(), url.clone(), &nats.url).await;
    let mut bases = vec![first];
    if url.is_some() {
        let (_, second) = serve(&data.path().join("second"), url, &nats.url).await;
        bases.push(second);
    }
    let plan = Plan {
        bases,
        devices: 100,
        writes: 5_000,
        faults: 0.2,
        batch: 10,
        concurrency: 32,
    };
    setup::threads(&state.db, 10).await.expect("load threads");
    let (report, lanes) = devices::run(&plan).await.expect("the load runs");
    println!("{report}");
    assert_eq!(report.writes, 5_000);
    assert!(report.faults_met > 0, "faults were injected: {report}");
    let checked = verify::database(&state.db, &lanes)
        .await
        .expect("database check");
    assert_eq!(checked, 5_000);
    verify::drained(&state.db, Duration::from_secs(60))
        .await
        .expect("all relayed");
    let streamed = verify::stream(&nats.url, &lanes)
        .await
        .expect("stream check");
    assert_eq!(streamed, 5_000);
}
