//! The end-to-end tier: Playwright against the reference server, through loopback chaos proxies.
//!
//! Two reference servers run on one private copy of `dist/`: the main one, and one whose access
//! tokens live five seconds (token refresh under faults). Each sits behind its own chaos proxy
//! (`tests/e2e/chaos/proxy.mjs`, whose `node:test` suite must pass first). Playwright gets
//! `BASE_URL` (main proxy: every e2e test goes through it), `SERVER_URL` (main server, direct),
//! `SHORT_TTL_URL` (short-TTL proxy) and `SHORT_TTL_SERVER_URL` (short-TTL server, direct):
//! access tokens last `SHORT_TTL_SECS` there and kept documents `DOC_TTL_SECS`.
//! The main server locks shared devices after 5 s idle (`CARESYNC_IDLE_LOCK_SECS`).

use std::{
    io::{BufRead as _, BufReader},
    path::Path,
    process::{ChildStdout, Stdio},
    sync::mpsc,
    time::Duration,
};

use crate::{
    proc::{describe, in_root, run, step},
    serve,
    tiers::{start_server, KillOnDrop},
    TaskError,
};

const PROXY_SCRIPT: &str = "tests/e2e/chaos/proxy.mjs";
const READY_PREFIX: &str = "chaos proxy listening on ";
const SHORT_TTL_SECS: &str = "5";
const IDLE_LOCK_SECS: &str = "5";
const DOC_TTL_SECS: &str = "5";

pub fn run_tier(root: &Path) -> Result<(), TaskError> {
    run_tier_with(root, &[])
}

/// The tier with extra Playwright arguments (`cargo xtask e2e <file or -g pattern>`).
pub fn run_tier_with(root: &Path, playwright_args: &[String]) -> Result<(), TaskError> {
    let server = serve::build_server(root, serve::Profile::Debug)?;
    step("tier 3/3: end-to-end tests (Playwright, Debian Chromium, chaos proxy, reference server)");
    let work = serve::target_dir(root).join("e2e");
    let dist = work.join("dist");
    // A private copy of dist/ lets the update test change the service worker it serves.
    let _ = std::fs::remove_dir_all(&work);
    copy_dir(&root.join("dist"), &dist)?;
    // Shared devices lock after 5 s with no input here, so the idle-lock test need not wait
    // two minutes; personal devices (every other test) never lock.
    let main_env = [("CARESYNC_IDLE_LOCK_SECS", IDLE_LOCK_SECS)];
    let (_server, addr) = start_server(root, &server, &work, Some(&dist), &main_env)?;
    step("chaos proxy self-test (node:test)");
    run(in_root(root, "node").args(["--test", "tests/e2e/chaos/"]))?;
    let (_proxy, proxy_url) = start_proxy(root, &addr)?;
    let short_work = work.join("short-ttl");
    // The short-TTL server is short on both: access tokens and kept documents.
    let short_env = [
        ("CARESYNC_ACCESS_TTL_SECS", SHORT_TTL_SECS),
        ("CARESYNC_DOC_TTL_SECS", DOC_TTL_SECS),
    ];
    let (_short, short_addr) = start_server(root, &server, &short_work, Some(&dist), &short_env)?;
    let (_short_proxy, short_proxy_url) = start_proxy(root, &short_addr)?;
    run(in_root(root, "npx")
        .args(["playwright", "test"])
        .args(playwright_args)
        .env("BASE_URL", &proxy_url)
        .env("SERVER_URL", format!("http://{addr}"))
        .env("SHORT_TTL_URL", &short_proxy_url)
        .env("SHORT_TTL_SERVER_URL", format!("http://{short_addr}"))
        .env("E2E_DIST", &dist)
        .env("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1"))
    .map(drop)
}

/// The chaos proxy in front of `target`, on a loopback port it picks; returns its base URL.
fn start_proxy(root: &Path, target: &str) -> Result<(KillOnDrop, String), TaskError> {
    let mut cmd = in_root(root, "node");
    cmd.arg(PROXY_SCRIPT)
        .args(["--listen", "127.0.0.1:0", "--target", target])
        .stdin(Stdio::null())
        .stdout(Stdio::piped());
    let mut child = cmd.spawn().map_err(|source| TaskError::Spawn {
        cmd: describe(&cmd),
        source,
    })?;
    let stdout = child.stdout.take();
    let guard = KillOnDrop(child);
    let stdout = stdout.ok_or_else(|| TaskError::Setup("the chaos proxy has no stdout".into()))?;
    let line = first_line(stdout, Duration::from_secs(15))?;
    let url = line
        .trim_end()
        .strip_prefix(READY_PREFIX)
        .filter(|url| url.starts_with("http://127.0.0.1:"))
        .ok_or_else(|| TaskError::Setup(format!("the chaos proxy said {line:?}, not its URL")))?
        .to_owned();
    println!("    chaos proxy up on {url}/ in front of http://{target}/");
    Ok((guard, url))
}

/// The child's first stdout line, then its stdout is drained in the background so it never blocks.
fn first_line(stdout: ChildStdout, limit: Duration) -> Result<String, TaskError> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut reader = BufReader::new(stdout);
        let mut line = String::new();
        let read = reader.read_line(&mut line).map(|_| line);
        let _ = tx.send(read);
        let _ = std::io::copy(&mut reader, &mut std::io::sink());
    });
    match rx.recv_timeout(limit) {
        Ok(Ok(line)) if !line.is_empty() => Ok(line),
        Ok(Ok(_)) => Err(TaskError::Setup(
            "the chaos proxy exited before it was ready".into(),
        )),
        Ok(Err(err)) => Err(TaskError::Io(err)),
        Err(_) => Err(TaskError::Setup(format!(
            "the chaos proxy did not report its port within {}s",
            limit.as_secs()
        ))),
    }
}

fn copy_dir(from: &Path, to: &Path) -> Result<(), TaskError> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), target)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::{
        io::{Read as _, Write as _},
        net::{TcpListener, TcpStream},
    };

    use super::start_proxy;

    #[test]
    fn the_proxy_reports_a_loopback_url_serves_its_control_api_and_dies_with_its_guard() {
        let root = crate::workspace_root();
        let target = TcpListener::bind("127.0.0.1:0").unwrap();
        let target = target.local_addr().unwrap().to_string();
        let (proxy, url) = start_proxy(&root, &target).expect("the proxy starts");
        let addr = url.strip_prefix("http://").unwrap().to_owned();
        let mut stream = TcpStream::connect(&addr).unwrap();
        stream
            .write_all(b"GET /__chaos/stats HTTP/1.0\r\nHost: x\r\n\r\n")
            .unwrap();
        let mut reply = String::new();
        stream.read_to_string(&mut reply).unwrap();
        assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
        assert!(reply.contains("\"requests\":0"), "{reply}");
        drop(proxy);
        assert!(
            TcpStream::connect(&addr).is_err(),
            "the proxy outlived its guard"
        );
    }
}
