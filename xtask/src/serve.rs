//! `cargo xtask serve`: build the PWA in release and run the reference server in the foreground.

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use crate::{
    proc::{self, in_root, step},
    tools, TaskError,
};

pub fn run(root: &Path) -> Result<(), TaskError> {
    tools::ensure_all(root)?;
    build_pwa(root)?;
    let server = build_server(root)?;
    step("starting the reference server (Ctrl-C stops it)");
    let mut cmd = Command::new(&server);
    cmd.current_dir(root);
    if std::env::var_os("CARESYNC_DIST").is_none() {
        cmd.env("CARESYNC_DIST", root.join("dist"));
    }
    // Replace this process so Ctrl-C reaches the server directly and it shuts down cleanly.
    use std::os::unix::process::CommandExt as _;
    let err = cmd.exec();
    Err(TaskError::Spawn {
        cmd: server.display().to_string(),
        source: err,
    })
}

/// `trunk build --release` into `dist/`, then the ward board into `dist/ward/` (its own
/// bundle at `/ward/`), each with its service worker (Trunk's post-build hook). The patient app
/// goes first: Trunk empties its dist directory.
pub fn build_pwa(root: &Path) -> Result<(), TaskError> {
    step("building the PWA (release, wasm-opt -Oz, Workbox service worker)");
    proc::run(in_root(root, "trunk").args(["build", "--release"]))?;
    step("building the ward board at /ward/");
    proc::run(in_root(root, "trunk").args([
        "build",
        "ward/index.html",
        "--release",
        "--dist",
        "dist/ward",
        "--public-url",
        "/ward/",
    ]))
    .map(drop)
}

/// Builds the server binary and returns its path.
pub fn build_server(root: &Path) -> Result<PathBuf, TaskError> {
    step("building the reference server");
    proc::run(in_root(root, "cargo").args(["build", "--package", "caresync-server"]))?;
    Ok(target_dir(root).join("debug/caresync-server"))
}

pub fn target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"))
}
