//! The project's two commands: `cargo xtask serve` and `cargo xtask test`.

mod bench;
mod e2e;
mod lighthouse;
mod load;
mod pg;
mod proc;
mod serve;
mod size;
mod split;
mod tiers;
mod tools;

use std::{path::PathBuf, process::ExitCode};

#[derive(Debug, thiserror::Error)]
pub enum TaskError {
    #[error("`{cmd}` could not start: {source}")]
    Spawn { cmd: String, source: std::io::Error },
    #[error("`{cmd}` failed ({status})")]
    Failed { cmd: String, status: String },
    #[error("{0}")]
    Setup(String),
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
}

const USAGE: &str = "usage:
  cargo xtask serve   install what is missing, build the PWA and the server (release), serve
                      the app with the API on http://127.0.0.1:8080 (CARESYNC_ADDR,
                      CARESYNC_DATA override); `cargo xtask run` is the same
  cargo xtask test    install what is missing, then run every test tier
  cargo xtask browser run only the browser tier (wasm-bindgen-test in headless Chromium)
  cargo xtask size    build the PWA and print each app's shell (gzip) against its budget
  cargo xtask e2e     build the PWA and run only the end-to-end tier (extra args go to Playwright)
  cargo xtask load    1,000 simulated devices push 100,000 writes under 20 % faults, at one
                      release server on SQLite, then at two on one PostgreSQL with NATS;
                      checked for exactly-once, lane order and one event per write
  cargo xtask split   cut a linked app wasm at its #[lazy] split points (Trunk's post-build hook)
  cargo xtask bench   measure the engine against raw IndexedDB and fetch in headless Chromium
  cargo xtask lighthouse
                      Lighthouse (mobile, simulated throttling) on the first online visit of a
                      release build, in Debian's Chromium; prints the performance figures";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = workspace_root();
    // Run by Trunk's post-build hook inside another xtask: it must leave that one's scratch
    // directory alone.
    if args.first().map(String::as_str) == Some("split") {
        return report(split::run(&args[1..]));
    }
    let scratch = match proc::Scratch::new(&root) {
        Ok(scratch) => scratch,
        Err(err) => {
            eprintln!("xtask: {err}");
            return ExitCode::FAILURE;
        }
    };
    let result = match args.first().map(String::as_str) {
        Some("serve" | "run") => serve::run(&root),
        Some("test") => tiers::run_all(&root),
        Some("bench") => bench::run(&root),
        Some("lighthouse") => lighthouse::run(&root),
        Some("load") => tools::ensure_server_services()
            .and_then(|()| load::on_sqlite(&root, load::FULL, serve::Profile::Release))
            .and_then(|()| load::on_postgres(&root, load::FULL, serve::Profile::Release)),
        Some("browser") => tiers::browser(&root),
        Some("size") => serve::build_pwa(&root).and_then(|()| size::check(&root)),
        Some("e2e") => serve::build_pwa(&root).and_then(|()| e2e::run_tier_with(&root, &args[1..])),
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    drop(scratch);
    report(result)
}

fn report(result: Result<(), TaskError>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("xtask: {err}");
            ExitCode::FAILURE
        }
    }
}

/// The workspace root: the parent of this crate's manifest directory.
fn workspace_root() -> PathBuf {
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    here.parent().map(PathBuf::from).unwrap_or(here)
}
