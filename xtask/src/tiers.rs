//! `cargo xtask test`: every test tier, in order, with a summary at the end.
//!
//! 1. native: `cargo test` for the host crates (engine, contract, server, xtask); a small load
//!    run on SQLite; the server's suite again on a throwaway PostgreSQL cluster; a small load
//!    run on two instances sharing one PostgreSQL database, with NATS;
//! 2. browser: wasm-bindgen-test in headless Chromium, against a real IndexedDB;
//! 3. e2e: Playwright driving Debian's Chromium through the chaos proxy to the reference server
//!    (see `e2e.rs`).

use std::{
    io::{Read as _, Write as _},
    net::{TcpListener, TcpStream},
    path::Path,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use crate::{
    e2e, load,
    proc::{in_root, run, step},
    serve, size, tools, TaskError,
};

pub fn run_all(root: &Path) -> Result<(), TaskError> {
    let started = Instant::now();
    tools::ensure_all(root)?;
    let mut failures = Vec::new();
    let mut tier = |name: &str, result: Result<(), TaskError>| {
        if let Err(err) = result {
            eprintln!("xtask: tier {name} failed: {err}");
            failures.push(name.to_owned());
        }
    };
    tier("native", native(root));
    tier(
        "load",
        load::on_sqlite(root, load::SMALL, serve::Profile::Debug),
    );
    tier("native on PostgreSQL", native_postgres(root));
    tier(
        "load on PostgreSQL",
        load::on_postgres(root, load::SMALL, serve::Profile::Debug),
    );
    tier("browser", browser(root));
    match serve::build_pwa(root) {
        Ok(()) => {
            tier("shell size", size::check(root));
            tier("e2e", e2e::run_tier(root));
        }
        Err(err) => tier("e2e", Err(err)),
    }
    println!(
        "\n==> all tiers finished in {:.0}s",
        started.elapsed().as_secs_f64()
    );
    if failures.is_empty() {
        println!("    every tier passed");
        Ok(())
    } else {
        Err(TaskError::Setup(format!(
            "failed tiers: {}",
            failures.join(", ")
        )))
    }
}

fn native(root: &Path) -> Result<(), TaskError> {
    step("tier 1/3: native tests (cargo test on the host)");
    run(in_root(root, "cargo").args([
        "test",
        "--workspace",
        "--exclude",
        "caresync",
        "--exclude",
        "caresync-bench",
    ]))
    .map(drop)
}

/// The server's integration suite again, each test on a fresh database of a throwaway
/// PostgreSQL cluster instead of SQLite.
fn native_postgres(root: &Path) -> Result<(), TaskError> {
    step("tier 1b/3: the server's tests on PostgreSQL (a throwaway cluster)");
    let cluster = crate::pg::Cluster::start()?;
    run(in_root(root, "cargo")
        .args([
            "test",
            "--package",
            "caresync-server",
            "--package",
            "caresync-load",
        ])
        .env("CARESYNC_TEST_PG", cluster.url()))
    .map(drop)
}

pub fn browser(root: &Path) -> Result<(), TaskError> {
    let server = serve::build_server(root, serve::Profile::Debug)?;
    step("tier 2/3: browser tests (wasm-bindgen-test in headless Chromium, real IndexedDB)");
    // The benchmark page is not tested here, but it must keep building with the app.
    run(in_root(root, "cargo").args([
        "check",
        "--package",
        "caresync-bench",
        "--target",
        "wasm32-unknown-unknown",
    ]))?;
    let work = serve::target_dir(root).join("browser-tier");
    let (_server, addr) = start_server(root, &server, &work, None, &[])?;
    // The tests call the real reference server from their own loopback origin (test-mode CORS).
    run(in_root(root, "cargo")
        .args([
            "test",
            "--package",
            "caresync",
            "--target",
            "wasm32-unknown-unknown",
        ])
        .env("CHROMEDRIVER", "/usr/bin/chromedriver")
        .env("WASM_BINDGEN_TEST_TIMEOUT", "120")
        .env("CARESYNC_TEST_API", format!("http://{addr}")))
    .map(drop)
}

/// The reference server in test mode, on a free loopback port with a fresh database in
/// `work/data`; `env` adds variables (e.g. a short access-token lifetime).
pub fn start_server(
    root: &Path,
    binary: &Path,
    work: &Path,
    dist: Option<&Path>,
    env: &[(&str, &str)],
) -> Result<(KillOnDrop, String), TaskError> {
    let data = work.join("data");
    let _ = std::fs::remove_dir_all(&data);
    std::fs::create_dir_all(&data)?;
    let addr = free_loopback_addr()?;
    let mut cmd = Command::new(binary);
    cmd.current_dir(root)
        .env("CARESYNC_ADDR", &addr)
        .env("CARESYNC_DATA", &data)
        .env("CARESYNC_TEST_FAULTS", "1")
        .env("RUST_LOG", "warn")
        .envs(env.iter().copied())
        .stdout(Stdio::null());
    if let Some(dist) = dist {
        cmd.env("CARESYNC_DIST", dist);
    }
    let child = cmd.spawn().map_err(|source| TaskError::Spawn {
        cmd: binary.display().to_string(),
        source,
    })?;
    let guard = KillOnDrop(child);
    wait_healthy(&addr, Duration::from_secs(30))?;
    println!("    reference server up on http://{addr}/");
    Ok((guard, addr))
}

/// A child process killed (and reaped) when this guard goes out of scope.
pub struct KillOnDrop(pub(crate) Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_loopback_addr() -> Result<String, TaskError> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.to_string())
}

fn wait_healthy(addr: &str, limit: Duration) -> Result<(), TaskError> {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if let Ok(mut s) = TcpStream::connect(addr) {
            let _ = s.write_all(b"GET /healthz HTTP/1.0\r\nHost: localhost\r\n\r\n");
            let mut reply = String::new();
            if s.read_to_string(&mut reply).is_ok() && reply.starts_with("HTTP/1.0 200") {
                return Ok(());
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Err(TaskError::Setup(format!(
        "the reference server did not answer /healthz on {addr} within {}s",
        limit.as_secs()
    )))
}
