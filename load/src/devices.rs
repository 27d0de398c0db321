//! The simulated devices: each owns one lane of writes to its user's thread, sends them in
//! order (half the devices one at a time per resource, half in sync-push batches), and
//! resends whatever was not acknowledged, to the next instance, with the same
//! clientMutationId.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use serde_json::{json, Value};
use tokio::sync::Semaphore;

use crate::{LoadError, Plan, Report};

/// The demo users the devices write as (tenant, username, user id), each device to one of
/// that user's open threads.
pub const USERS: &[(&str, &str, &str)] = &[
    ("north-clinic", "patient1", "usr-north-patient1"),
    ("south-clinic", "patient2", "usr-south-patient2"),
];

/// A user signed in once, shared by that user's devices.
#[derive(Debug, Clone)]
struct Account {
    token: String,
    /// `/api/v1/threads/{id}/messages` of each open thread.
    threads: Vec<String>,
}

/// One device's lane: its clientMutationIds in the order it queued them.
pub type Lane = Vec<String>;

/// Runs the plan; returns the report and every device's lane, for [`crate::verify`].
pub async fn run(plan: &Plan) -> Result<(Report, Vec<Lane>), LoadError> {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .pool_max_idle_per_host(plan.concurrency)
        .build()?;
    let base = plan
        .bases
        .first()
        .ok_or_else(|| LoadError::Setup("no server to load".into()))?;
    let mut accounts = Vec::new();
    for (tenant, user, _) in USERS {
        accounts.push(sign_in(&http, base, tenant, user).await?);
    }
    set_faults(&http, plan).await?;
    let permits = Arc::new(Semaphore::new(plan.concurrency.max(1)));
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(plan.devices);
    for index in 0..plan.devices {
        let writes = plan.writes / plan.devices + usize::from(index < plan.writes % plan.devices);
        let device = Device {
            index,
            http: http.clone(),
            bases: plan.bases.clone(),
            messages_path: {
                let account = &accounts[index % accounts.len()];
                account.threads[(index / accounts.len()) % account.threads.len()].clone()
            },
            account: accounts[index % accounts.len()].clone(),
            lane: (0..writes)
                .map(|_| uuid::Uuid::now_v7().to_string())
                .collect(),
            batch: if index % 2 == 0 { plan.batch.max(1) } else { 0 },
            permits: permits.clone(),
            tally: Tally::default(),
        };
        tasks.push(tokio::spawn(device.run()));
    }
    let mut lanes = Vec::with_capacity(plan.devices);
    let mut total = Tally::default();
    for task in tasks {
        let (lane, tally) = task
            .await
            .map_err(|e| LoadError::Setup(format!("a device task failed: {e}")))??;
        lanes.push(lane);
        total.absorb(tally);
    }
    let elapsed = started.elapsed();
    clear_faults(&http, plan).await?;
    Ok((total.report(elapsed), lanes))
}

async fn sign_in(
    http: &reqwest::Client,
    base: &str,
    tenant: &str,
    user: &str,
) -> Result<Account, LoadError> {
    let login: Value = http
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"tenantId": tenant, "username": user, "password": "demo"}))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let token = login["accessToken"]
        .as_str()
        .ok_or_else(|| LoadError::Setup(format!("{tenant}/{user} got no token: {login}")))?
        .to_owned();
    let threads: Value = http
        .get(format!("{base}/api/v1/threads"))
        .bearer_auth(&token)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let threads: Vec<String> = threads
        .as_array()
        .into_iter()
        .flatten()
        .filter(|t| t["status"] == "open")
        .filter_map(|t| t["threadId"].as_str())
        .map(|id| format!("/api/v1/threads/{id}/messages"))
        .collect();
    if threads.is_empty() {
        return Err(LoadError::Setup(format!(
            "{tenant}/{user} has no open thread"
        )));
    }
    Ok(Account { token, threads })
}

/// Half the faulted requests commit and lose their answer, half are refused with 503.
async fn set_faults(http: &reqwest::Client, plan: &Plan) -> Result<(), LoadError> {
    let half = plan.faults / 2.0;
    // The second rule is only drawn when the first was not: scaled to hit `half` overall.
    let second = if half < 1.0 { half / (1.0 - half) } else { 1.0 };
    for base in &plan.bases {
        for path in ["/api/v1/threads/*/messages", "/api/v1/sync/push"] {
            for (mode, fraction) in [("drop_after_commit", half), ("unavailable", second)] {
                let rule = json!({"method": "POST", "path": path, "mode": mode,
                                  "times": u32::MAX, "fraction": fraction});
                http.post(format!("{base}/__test/faults"))
                    .json(&rule)
                    .send()
                    .await?
                    .error_for_status()?;
            }
        }
    }
    Ok(())
}

async fn clear_faults(http: &reqwest::Client, plan: &Plan) -> Result<(), LoadError> {
    for base in &plan.bases {
        http.delete(format!("{base}/__test/faults"))
            .send()
            .await?
            .error_for_status()?;
    }
    Ok(())
}

#[derive(Debug, Default)]
struct Tally {
    requests: usize,
    faults: usize,
    latencies: Vec<Duration>,
}

impl Tally {
    fn absorb(&mut self, other: Tally) {
        self.requests += other.requests;
        self.faults += other.faults;
        self.latencies.extend(other.latencies);
    }

    fn report(mut self, elapsed: Duration) -> Report {
        self.latencies.sort();
        let at = |q: f64| {
            let i = ((self.latencies.len() as f64 - 1.0) * q).round() as usize;
            self.latencies.get(i).copied().unwrap_or_default()
        };
        Report {
            writes: self.latencies.len(),
            requests: self.requests,
            faults_met: self.faults,
            elapsed,
            p50: at(0.5),
            p99: at(0.99),
        }
    }
}

/// How one request went.
enum Sent {
    /// The first `n` writes sent were acknowledged.
    Acked(usize),
    /// Nothing known acknowledged; send again (`fault`: an injected or transport failure).
    Again { fault: bool },
}

struct Device {
    index: usize,
    http: reqwest::Client,
    bases: Vec<String>,
    account: Account,
    messages_path: String,
    lane: Lane,
    /// Writes per sync push; 0 sends each on its own route.
    batch: usize,
    permits: Arc<Semaphore>,
    tally: Tally,
}

impl Device {
    async fn run(mut self) -> Result<(Lane, Tally), LoadError> {
        let (mut next, mut attempt) = (0, 0);
        let mut first_sent: Option<Instant> = None;
        while next < self.lane.len() {
            // A retry goes to the next instance: dedupe must hold across them.
            let base = self.bases[(self.index + attempt) % self.bases.len()].clone();
            let since = *first_sent.get_or_insert_with(Instant::now);
            let sent = {
                let _permit = self
                    .permits
                    .acquire()
                    .await
                    .map_err(|e| LoadError::Setup(e.to_string()))?;
                self.tally.requests += 1;
                if self.batch == 0 {
                    self.post_one(&base, next).await?
                } else {
                    self.push(&base, next).await?
                }
            };
            match sent {
                Sent::Acked(n) => {
                    let took = since.elapsed();
                    self.tally.latencies.extend(std::iter::repeat_n(took, n));
                    next += n;
                    first_sent = None;
                    attempt = 0;
                }
                Sent::Again { fault } => {
                    self.tally.faults += usize::from(fault);
                    attempt += 1;
                    tokio::time::sleep(Duration::from_millis(2)).await;
                }
            }
        }
        Ok((self.lane, self.tally))
    }

    fn message(&self, at: usize) -> Value {
        let cmid = &self.lane[at];
        json!({"clientMutationId": cmid, "body": format!("load d{} n{at}", self.index),
               "clientSentAt": "2026-11-24T00:00:00.000Z"})
    }

    async fn post_one(&self, base: &str, at: usize) -> Result<Sent, LoadError> {
        let url = format!("{base}{}", self.messages_path);
        let res = self
            .http
            .post(url)
            .bearer_auth(&self.account.token)
            .json(&self.message(at))
            .send()
            .await;
        let Some((status, body)) = answer(res).await else {
            return Ok(Sent::Again { fault: true });
        };
        match status {
            201 => Ok(Sent::Acked(1)),
            503 => Ok(Sent::Again { fault: true }),
            s if s >= 500 => Ok(Sent::Again { fault: false }),
            s => Err(refused(&self.lane[at], s, &body)),
        }
    }

    async fn push(&self, base: &str, from: usize) -> Result<Sent, LoadError> {
        let to = (from + self.batch).min(self.lane.len());
        let lane = format!("device:{}", self.index);
        let mutations: Vec<Value> = (from..to)
            .map(|at| {
                json!({"clientMutationId": self.lane[at], "lane": lane, "method": "POST",
                       "path": self.messages_path, "body": self.message(at)})
            })
            .collect();
        let res = self
            .http
            .post(format!("{base}/api/v1/sync/push"))
            .bearer_auth(&self.account.token)
            .json(&json!({"mutations": mutations}))
            .send()
            .await;
        let Some((status, body)) = answer(res).await else {
            return Ok(Sent::Again { fault: true });
        };
        match status {
            200 => {}
            503 => return Ok(Sent::Again { fault: true }),
            s if s >= 500 => return Ok(Sent::Again { fault: false }),
            s => return Err(refused(&self.lane[from], s, &body)),
        }
        let results = body["results"].as_array().cloned().unwrap_or_default();
        let acked = results
            .iter()
            .take_while(|r| {
                r["status"]
                    .as_u64()
                    .is_some_and(|s| (200..300).contains(&s))
            })
            .count();
        if let Some(failed) = results.get(acked) {
            let status = failed["status"].as_u64().unwrap_or(0);
            // A server failure on one write is retried from there; a refusal is a bug.
            if status < 500 {
                let status = u16::try_from(status).unwrap_or(0);
                return Err(refused(&self.lane[from + acked], status, &failed["body"]));
            }
        }
        Ok(if acked == 0 {
            Sent::Again { fault: false }
        } else {
            Sent::Acked(acked)
        })
    }
}

/// The status and JSON body, or `None` when the connection or the body broke.
async fn answer(res: Result<reqwest::Response, reqwest::Error>) -> Option<(u16, Value)> {
    let res = res.ok()?;
    let status = res.status().as_u16();
    let bytes = res.bytes().await.ok()?;
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Some((status, body))
}

fn refused(cmid: &str, status: u16, body: &Value) -> LoadError {
    LoadError::Refused {
        cmid: cmid.to_owned(),
        status,
        body: body.to_string(),
    }
}
