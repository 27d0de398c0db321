//! `cargo xtask load`: the load generator (`load/`, the real engine per simulated device)
//! against the reference server with its faults on, judged from the server's database:
//! (a) one instance on SQLite, (b) two instances on one throwaway PostgreSQL cluster with a
//! `nats-server -js`, judged from the database and the JetStream stream. The full run is
//! 1,000 devices and 100,000 writes on release servers; the test command runs a smaller one
//! (100 devices, 5,000 writes) on the debug server it already built.

use std::{
    net::TcpListener,
    path::Path,
    process::{Command, Stdio},
    time::Duration,
};

use crate::{
    pg::Cluster,
    proc::{run, step},
    serve::{self, Profile},
    tiers::{start_server, KillOnDrop},
    TaskError,
};

/// How big a run is.
#[derive(Debug, Clone, Copy)]
pub struct Size {
    pub devices: usize,
    pub writes: usize,
}

pub const FULL: Size = Size {
    devices: 1_000,
    writes: 100_000,
};

pub const SMALL: Size = Size {
    devices: 100,
    writes: 5_000,
};

/// One instance on the embedded SQLite, 20 % of writes meeting a fault.
pub fn on_sqlite(root: &Path, size: Size, profile: Profile) -> Result<(), TaskError> {
    let server = serve::build_server(root, profile)?;
    let load = serve::build_binary(root, "caresync-load", profile)?;
    step(&format!(
        "load: {} devices, {} writes, one instance on SQLite",
        size.devices, size.writes
    ));
    let work = serve::target_dir(root).join("load").join("sqlite");
    let (_server, addr) = start_server(root, &server, &work, None, &[])?;
    let mut cmd = std::process::Command::new(&load);
    cmd.current_dir(root)
        .args(["--base", &format!("http://{addr}")])
        .args(["--devices", &size.devices.to_string()])
        .args(["--writes", &size.writes.to_string()])
        .args(["--faults", "0.2"])
        .arg("--sqlite")
        .arg(work.join("data").join("caresync.sqlite3"));
    run(&mut cmd).map(drop)
}

/// Two instances on one PostgreSQL database, publishing to NATS JetStream; the run is also
/// judged from the outbox and the stream (one event per write, in lane order).
pub fn on_postgres(root: &Path, size: Size, profile: Profile) -> Result<(), TaskError> {
    let server = serve::build_server(root, profile)?;
    let load = serve::build_binary(root, "caresync-load", profile)?;
    step(&format!(
        "load: {} devices, {} writes, two instances on PostgreSQL, with NATS",
        size.devices, size.writes
    ));
    let work = serve::target_dir(root).join("load").join("postgres");
    let cluster = Cluster::start()?;
    let url = cluster.create_database("caresync_load")?;
    let nats = Nats::start(&work.join("nats"))?;
    let env = [
        ("CARESYNC_DATABASE_URL", url.as_str()),
        ("CARESYNC_NATS_URL", nats.url.as_str()),
        // Every injected fault logs a warning: thousands would bury the figures.
        ("RUST_LOG", "error"),
    ];
    // One after the other: the first migrates and seeds, the second finds it done.
    let (_one, first) = start_server(root, &server, &work.join("one"), None, &env)?;
    let (_two, second) = start_server(root, &server, &work.join("two"), None, &env)?;
    let mut cmd = Command::new(&load);
    cmd.current_dir(root)
        .args(["--base", &format!("http://{first},http://{second}")])
        .args(["--devices", &size.devices.to_string()])
        .args(["--writes", &size.writes.to_string()])
        .args(["--faults", "0.2"])
        .args(["--database-url", &url, "--nats", &nats.url]);
    run(&mut cmd).map(drop)
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
        // Debian's package puts it in /usr/sbin, which is not on every PATH.
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
