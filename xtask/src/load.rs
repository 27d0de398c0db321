//! `cargo xtask load`: the load generator (`load/`, `caresync-load`) against release
//! servers, in two setups: (a) one instance on SQLite, (b) two instances on one throwaway
//! PostgreSQL cluster; both with a `nats-server -js` of their own for the events.

use std::{
    net::TcpListener,
    path::Path,
    process::{Command, Stdio},
    time::Duration,
};

use crate::{
    pg::Cluster,
    proc::{in_root, run as run_cmd, step},
    serve::{self, Profile},
    tiers::{start_server, KillOnDrop},
    tools, TaskError,
};

/// Every injected fault logs a warning: thousands of them would bury the figures.
const QUIET: (&str, &str) = ("RUST_LOG", "error");

pub fn run(root: &Path, extra: &[String]) -> Result<(), TaskError> {
    tools::ensure_server_services()?;
    let server = serve::build_server(root, Profile::Release)?;
    step("building the load generator (release)");
    run_cmd(in_root(root, "cargo").args(["build", "--release", "--package", "caresync-load"]))?;
    let generator = serve::target_dir(root)
        .join("release")
        .join("caresync-load");
    let work = serve::target_dir(root).join("load");

    step("load (a): one instance on SQLite, with NATS");
    {
        let nats = Nats::start(&work.join("nats-a"))?;
        let env = [("CARESYNC_NATS_URL", nats.url.as_str()), QUIET];
        let a = work.join("sqlite");
        let (_server, addr) = start_server(root, &server, &a, None, &env)?;
        let data = a.join("data").display().to_string();
        let mut cmd = Command::new(&generator);
        cmd.args(["--label", "sqlite x1", "--base", &format!("http://{addr}")])
            .args(["--sqlite-data", &data, "--nats", &nats.url])
            .args(extra);
        run_cmd(&mut cmd)?;
    }

    step("load (b): two instances on one PostgreSQL, with NATS");
    let cluster = Cluster::start()?;
    let url = cluster.create_database("caresync_load")?;
    let nats = Nats::start(&work.join("nats-b"))?;
    let env = [
        ("CARESYNC_DATABASE_URL", url.as_str()),
        ("CARESYNC_NATS_URL", nats.url.as_str()),
        QUIET,
    ];
    // One after the other: the first migrates and seeds, the second finds it done.
    let (_first, one) = start_server(root, &server, &work.join("pg-1"), None, &env)?;
    let (_second, two) = start_server(root, &server, &work.join("pg-2"), None, &env)?;
    let mut cmd = Command::new(&generator);
    cmd.args(["--label", "postgres x2", "--base", &format!("http://{one}")])
        .args(["--base", &format!("http://{two}")])
        .args(["--database-url", &url, "--nats", &nats.url])
        .args(extra);
    run_cmd(&mut cmd).map(drop)
}

/// A `nats-server -js` on a free loopback port, its store in `dir`; stopped on drop.
struct Nats {
    _child: KillOnDrop,
    url: String,
}

impl Nats {
    fn start(dir: &Path) -> Result<Self, TaskError> {
        if dir.exists() {
            std::fs::remove_dir_all(dir)?;
        }
        std::fs::create_dir_all(dir)?;
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let program = ["/usr/sbin/nats-server", "/usr/bin/nats-server"]
            .into_iter()
            .find(|p| Path::new(p).exists())
            .unwrap_or("nats-server");
        let child = Command::new(program)
            .args(["-js", "-a", "127.0.0.1", "-p", &port.to_string(), "-sd"])
            .arg(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|source| TaskError::Spawn {
                cmd: program.to_owned(),
                source,
            })?;
        let nats = Nats {
            _child: KillOnDrop(child),
            url: format!("nats://127.0.0.1:{port}"),
        };
        for _ in 0..200 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Ok(nats);
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        Err(TaskError::Setup(
            "nats-server did not start listening".into(),
        ))
    }
}
