//! `caresync-load`: many simulated devices, each the real sync engine over HTTP, push messages
//! in their own lanes to one or more reference servers (per resource and through the sync
//! push), while the servers inject faults; then the run is judged from the database. Started
//! by `cargo xtask load` (the full run) and by `cargo xtask test` (a smaller one).

mod check;
mod device;
mod events;
mod threads;
mod transport;

use std::{cell::RefCell, path::PathBuf, process::ExitCode, rc::Rc, time::Instant};

use caresync_sync::{EngineError, UploadMode};
use serde_json::json;

use crate::{
    device::{Outcome, Plan},
    transport::Account,
};

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("usage: {0}")]
    Usage(String),
    #[error("http: {0}")]
    Http(#[from] reqwest::Error),
    #[error("the server said {0}")]
    Server(String),
    #[error("engine: {0}")]
    Engine(String),
    #[error("a device stopped: {0}")]
    Stuck(String),
    #[error("database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("database: {0}")]
    Postgres(#[from] tokio_postgres::Error),
    #[error("nats: {0}")]
    Nats(String),
}

impl<E: std::error::Error + 'static> From<EngineError<E>> for LoadError {
    fn from(err: EngineError<E>) -> Self {
        LoadError::Engine(err.to_string())
    }
}

impl<E: std::error::Error + 'static> From<caresync_sync::EnqueueError<E>> for LoadError {
    fn from(err: caresync_sync::EnqueueError<E>) -> Self {
        LoadError::Engine(err.to_string())
    }
}

pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or_default()
}

/// What to run, from the command line.
#[derive(Debug)]
struct Args {
    bases: Vec<String>,
    devices: usize,
    writes: usize,
    burst: usize,
    faults: f64,
    sqlite: Option<PathBuf>,
    /// The servers' shared PostgreSQL database, to judge the run from instead of SQLite.
    database_url: Option<String>,
    /// The NATS server the servers publish to: the stream is judged too.
    nats: Option<String>,
    /// Open threads made for each account before the run, so devices spread over them.
    threads: usize,
}

fn args() -> Result<Args, LoadError> {
    let mut args = Args {
        bases: Vec::new(),
        devices: 1_000,
        writes: 100_000,
        burst: 5,
        faults: 0.2,
        sqlite: None,
        database_url: None,
        nats: None,
        threads: 50,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it
            .next()
            .ok_or_else(|| LoadError::Usage(format!("{flag} needs a value")))?;
        let number = |v: &str| {
            v.parse::<usize>()
                .map_err(|_| LoadError::Usage(format!("{flag} takes a whole number, not {v:?}")))
        };
        match flag.as_str() {
            "--base" => args.bases = value.split(',').map(str::to_owned).collect(),
            "--devices" => args.devices = number(&value)?,
            "--writes" => args.writes = number(&value)?,
            "--burst" => args.burst = number(&value)?.max(1),
            "--faults" => {
                args.faults = value
                    .parse()
                    .ok()
                    .filter(|f: &f64| (0.0..1.0).contains(f))
                    .ok_or_else(|| LoadError::Usage("--faults takes a fraction below 1".into()))?
            }
            "--sqlite" => args.sqlite = Some(PathBuf::from(value)),
            "--database-url" => args.database_url = Some(value),
            "--nats" => args.nats = Some(value),
            "--threads" => args.threads = number(&value)?,
            other => return Err(LoadError::Usage(format!("unknown flag {other}"))),
        }
    }
    if args.bases.is_empty() || args.devices == 0 {
        return Err(LoadError::Usage(
            "--base http://host:port[,http://…] [--devices N] [--writes N] [--faults F] \
             [--sqlite PATH | --database-url postgres://…] [--nats nats://…] [--threads N]"
                .into(),
        ));
    }
    Ok(args)
}

/// The demo users the devices sign in as, with the open thread each writes to.
const ACCOUNTS: [(&str, &str); 4] = [
    ("north-clinic", "patient1"),
    ("north-clinic", "dr-lee"),
    ("south-clinic", "patient2"),
    ("south-clinic", "dr-ng"),
];

/// Each account's user id and open threads.
async fn discover(
    http: &reqwest::Client,
    base: &str,
) -> Result<Vec<(Account, String, Vec<String>)>, LoadError> {
    let mut found = Vec::new();
    for (tenant, username) in ACCOUNTS {
        let login: serde_json::Value = http
            .post(format!("{base}/api/v1/auth/login"))
            .json(&json!({"tenantId": tenant, "username": username, "password": "demo"}))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        let token = login["accessToken"].as_str().unwrap_or_default();
        let threads: serde_json::Value = http
            .get(format!("{base}/api/v1/threads"))
            .bearer_auth(token)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        let open: Vec<String> = threads
            .as_array()
            .into_iter()
            .flatten()
            .filter(|t| t["status"] == "open")
            .filter_map(|t| t["threadId"].as_str().map(str::to_owned))
            .collect();
        if open.is_empty() {
            return Err(LoadError::Server(format!("{username} has no open thread")));
        }
        let account = Account {
            tenant: tenant.into(),
            username: username.into(),
        };
        let author = login["userId"].as_str().unwrap_or_default().to_owned();
        found.push((account, author, open));
    }
    Ok(found)
}

/// Turns on the servers' own faults on both write routes: a commit whose answer is lost, and
/// a 503 before anything is done, `fraction` of the time in all.
async fn inject(http: &reqwest::Client, base: &str, fraction: f64) -> Result<(), LoadError> {
    let half = fraction / 2.0;
    for path in ["/api/v1/sync/push", "/api/v1/threads/*/messages"] {
        // The second rule is drawn only when the first did not fire.
        for (mode, chance) in [
            ("drop_after_commit", half),
            ("unavailable", half / (1.0 - half)),
        ] {
            let rule = json!({"method": "POST", "path": path, "mode": mode, "times": u32::MAX,
                "fraction": chance, "retryAfterSecs": 0});
            http.post(format!("{base}/__test/faults"))
                .json(&rule)
                .send()
                .await?
                .error_for_status()?;
        }
    }
    Ok(())
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let at = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[at.min(sorted.len() - 1)] as f64 / 1000.0
}

async fn run(args: Args) -> Result<bool, LoadError> {
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .build()?;
    threads::make(
        args.sqlite.as_deref(),
        args.database_url.as_deref(),
        &ACCOUNTS,
        args.threads,
    )
    .await?;
    let accounts = discover(&http, &args.bases[0]).await?;
    let run = uuid::Uuid::now_v7().simple().to_string();
    let per_device: Vec<usize> = (0..args.devices)
        .map(|d| args.writes / args.devices + usize::from(d < args.writes % args.devices))
        .collect();
    let plans: Vec<Plan> = per_device
        .iter()
        .enumerate()
        .map(|(d, writes)| {
            let (account, author, threads) = &accounts[d % accounts.len()];
            let thread = threads[(d / accounts.len()) % threads.len()].clone();
            let (account, author) = (account.clone(), author.clone());
            Plan {
                device: d,
                run: run.clone(),
                account,
                author,
                thread,
                writes: *writes,
                burst: args.burst,
                mode: if d % 2 == 0 {
                    UploadMode::Batch
                } else {
                    UploadMode::PerResource
                },
                base: args.bases[d % args.bases.len()].clone(),
            }
        })
        .collect();
    for base in &args.bases {
        inject(&http, base, args.faults).await?;
    }
    println!(
        "load: {} devices, {} writes, {:.0} % faults, on {}",
        args.devices,
        args.writes,
        args.faults * 100.0,
        args.bases.join(" and ")
    );
    let latencies = Rc::new(RefCell::new(transport::Wire::default()));
    let started = Instant::now();
    let local = tokio::task::LocalSet::new();
    let outcomes: Vec<Result<Outcome, LoadError>> = local
        .run_until(async {
            let handles: Vec<_> = plans
                .into_iter()
                .map(|plan| {
                    tokio::task::spawn_local(device::run(plan, http.clone(), latencies.clone()))
                })
                .collect();
            let mut all = Vec::new();
            for h in handles {
                all.push(
                    h.await
                        .unwrap_or_else(|e| Err(LoadError::Stuck(e.to_string()))),
                );
            }
            all
        })
        .await;
    let elapsed = started.elapsed().as_secs_f64();
    for base in &args.bases {
        http.delete(format!("{base}/__test/faults"))
            .send()
            .await?
            .error_for_status()?;
    }
    let requests = latencies.borrow().clone();
    let delivered = report(outcomes, &requests, elapsed)?;
    Ok(delivered && judge(&args, &run, &per_device).await?)
}

/// The verdict from the database (SQLite or PostgreSQL): every write once, in lane order,
/// with one event each in the outbox, and in the stream when the servers publish to NATS.
async fn judge(args: &Args, run: &str, per_device: &[usize]) -> Result<bool, LoadError> {
    let (bodies, (messages, outbox)) = match (&args.sqlite, &args.database_url) {
        (Some(path), _) => (
            check::sqlite_bodies(path, run)?,
            events::from_sqlite(path, run)?,
        ),
        (None, Some(url)) => (
            check::postgres_bodies(url, run).await?,
            events::from_postgres(url, run, args.nats.is_some()).await?,
        ),
        (None, None) => return Ok(true),
    };
    let verdict = check::judge(run, &bodies, per_device);
    println!(
        "load: the database holds {} of {} writes: {} missing, {} duplicated, {} out of lane order",
        verdict.rows, verdict.expected, verdict.missing, verdict.duplicates, verdict.out_of_order
    );
    let recorded = events::judge(&messages, &outbox);
    println!(
        "load: the outbox holds events for {} writes: {} missing, {} duplicated",
        recorded.writes - recorded.missing,
        recorded.missing,
        recorded.duplicates
    );
    // The outbox's seq is insertion order, not commit order, across instances: only the
    // stream's order is judged.
    let mut holds = verdict.holds() && recorded.missing == 0 && recorded.duplicates == 0;
    if let Some(nats) = &args.nats {
        let streamed = events::judge(&messages, &events::from_stream(nats).await?);
        println!(
            "load: the JetStream stream holds events for {} writes: {} missing, {} duplicated, {} out of lane order",
            streamed.writes - streamed.missing,
            streamed.missing,
            streamed.duplicates,
            streamed.out_of_order
        );
        holds &= streamed.holds();
    }
    Ok(holds)
}

/// Prints what the devices saw; answers whether every write was delivered.
fn report(
    outcomes: Vec<Result<Outcome, LoadError>>,
    wire: &transport::Wire,
    elapsed: f64,
) -> Result<bool, LoadError> {
    let (mut delivered, mut refused, mut writes) = (0, 0, Vec::new());
    for outcome in outcomes {
        let o = outcome?;
        delivered += o.delivered;
        refused += o.refused;
        writes.extend(o.write_latencies);
    }
    writes.sort_unstable();
    let mut requests = wire.latencies.clone();
    requests.sort_unstable();
    println!(
        "load: {delivered} delivered, {refused} refused, in {elapsed:.1} s: {:.0} writes/s",
        delivered as f64 / elapsed
    );
    println!(
        "load: write, commit to delivery: p50 {:.1} ms, p99 {:.1} ms; request: p50 {:.1} ms, p99 {:.1} ms ({} requests)",
        percentile(&writes, 0.5),
        percentile(&writes, 0.99),
        percentile(&requests, 0.5),
        percentile(&requests, 0.99),
        requests.len()
    );
    println!(
        "load: faults met: {} answers 503, {} requests with no answer (lost after commit or reset)",
        wire.unavailable, wire.lost
    );
    Ok(refused == 0)
}

fn main() -> ExitCode {
    let args = match args() {
        Ok(a) => a,
        Err(err) => {
            eprintln!("caresync-load: {err}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(err) => {
            eprintln!("caresync-load: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(args)) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => {
            eprintln!("caresync-load: the run did not hold (see above)");
            ExitCode::FAILURE
        }
        Err(err) => {
            eprintln!("caresync-load: {err}");
            ExitCode::FAILURE
        }
    }
}
