//! `cargo xtask load`: the load generator (`load/`, the real engine per simulated device)
//! against the reference server with its faults on, judged from the server's database.
//! The full run is 1,000 devices and 100,000 writes on a release server; the test command
//! runs a smaller one (100 devices, 5,000 writes) on the debug server it already built.

use std::path::Path;

use crate::{
    proc::{run, step},
    serve::{self, Profile},
    tiers::start_server,
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
