//! `caresync-load`: runs one load setup against running servers and checks the result; see
//! `cargo xtask load`, which starts the servers, PostgreSQL and NATS for it.

use std::{path::PathBuf, process::ExitCode, time::Duration};

use caresync_load::{devices, setup, verify, LoadError, Plan};
use caresync_server::db::Db;

const USAGE: &str = "usage: caresync-load --base URL [--base URL ...] \
    (--database-url postgres://… | --sqlite-data DIR) [--nats URL] [--devices 1000] \
    [--writes 100000] [--faults 0.2] [--batch 10] [--concurrency 64] [--threads 100] \
    [--label TEXT]";

struct Args {
    plan: Plan,
    database_url: Option<String>,
    sqlite_data: Option<PathBuf>,
    nats: Option<String>,
    label: String,
    threads: usize,
}

fn parse(mut args: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut parsed = Args {
        plan: Plan {
            bases: Vec::new(),
            devices: 1000,
            writes: 100_000,
            faults: 0.2,
            batch: 10,
            concurrency: 64,
        },
        database_url: None,
        sqlite_data: None,
        nats: None,
        label: "load".into(),
        threads: 100,
    };
    while let Some(flag) = args.next() {
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let number = || {
            value
                .parse::<usize>()
                .map_err(|_| format!("{flag} {value}: not a number"))
        };
        match flag.as_str() {
            "--base" => parsed
                .plan
                .bases
                .push(value.trim_end_matches('/').to_owned()),
            "--database-url" => parsed.database_url = Some(value),
            "--sqlite-data" => parsed.sqlite_data = Some(PathBuf::from(value)),
            "--nats" => parsed.nats = Some(value),
            "--devices" => parsed.plan.devices = number()?,
            "--writes" => parsed.plan.writes = number()?,
            "--batch" => parsed.plan.batch = number()?,
            "--concurrency" => parsed.plan.concurrency = number()?,
            "--faults" => {
                parsed.plan.faults = value
                    .parse()
                    .map_err(|_| format!("--faults {value}: not a fraction"))?
            }
            "--label" => parsed.label = value,
            "--threads" => parsed.threads = number()?,
            _ => return Err(format!("unknown flag {flag}")),
        }
    }
    if parsed.plan.bases.is_empty()
        || (parsed.database_url.is_none() == parsed.sqlite_data.is_none())
    {
        return Err("give at least one --base and one of --database-url or --sqlite-data".into());
    }
    Ok(parsed)
}

async fn run(args: Args) -> Result<(), LoadError> {
    let data = args.sqlite_data.clone().unwrap_or_default();
    let db = Db::open(&data, args.database_url.as_deref()).await?;
    setup::threads(&db, args.threads).await?;
    let (report, lanes) = devices::run(&args.plan).await?;
    println!("{}: {report}", args.label);
    let checked = verify::database(&db, &lanes).await?;
    println!(
        "{}: database: {checked} writes each stored once, lanes in order, one event each",
        args.label
    );
    if let Some(nats) = &args.nats {
        verify::drained(&db, Duration::from_secs(120)).await?;
        let streamed = verify::stream(nats, &lanes).await?;
        println!(
            "{}: JetStream: {streamed} events, one per write",
            args.label
        );
    }
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = match parse(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(why) => {
            eprintln!("caresync-load: {why}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("caresync-load: {err}");
            ExitCode::FAILURE
        }
    }
}
