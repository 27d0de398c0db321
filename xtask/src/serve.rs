//! `cargo xtask serve` (or `run`): build the PWA and the reference server in release and run
//! the server in the foreground.

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
    // Release, as deployed: the debug build takes less than half the writes a second.
    let server = build_server(root, Profile::Release)?;
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

/// Which build of the server: serving and benchmarks use release, as deployed; the test
/// tiers keep the debug build, which compiles faster and is what they were measured against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    Debug,
    Release,
}

impl Profile {
    /// Cargo's flag for it and the directory under the target dir its binaries land in.
    fn flag_and_dir(self) -> (Option<&'static str>, &'static str) {
        match self {
            Profile::Debug => (None, "debug"),
            Profile::Release => (Some("--release"), "release"),
        }
    }
}

/// Builds the server binary in `profile` and returns its path.
pub fn build_server(root: &Path, profile: Profile) -> Result<PathBuf, TaskError> {
    build_binary(root, "caresync-server", profile)
}

/// Builds `package`'s binary of the same name in `profile` and returns its path.
pub fn build_binary(root: &Path, package: &str, profile: Profile) -> Result<PathBuf, TaskError> {
    let (flag, dir) = profile.flag_and_dir();
    step(&format!("building {package} ({dir})"));
    let mut cmd = in_root(root, "cargo");
    cmd.arg("build").args(flag).args(["--package", package]);
    proc::run(&mut cmd)?;
    Ok(target_dir(root).join(dir).join(package))
}

/// Cargo's target dir. A relative `CARGO_TARGET_DIR` is taken from the workspace root, where
/// the builds above run, not from wherever xtask was started.
pub fn target_dir(root: &Path) -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from) {
        Some(dir) if dir.is_absolute() => dir,
        Some(dir) => root.join(dir),
        None => root.join("target"),
    }
}
