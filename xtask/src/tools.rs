//! Installs what the build and tests need, skipping whatever is already there.
//!
//! Nothing here downloads a browser or a prebuilt tool: compilers come from crates.io,
//! Chromium, PostgreSQL and nats-server from Debian, wasm-opt and Playwright from the npm registry.

use std::{path::Path, process::Command};

use crate::{
    proc::{output, run, step},
    TaskError,
};

const TRUNK_VERSION: &str = "0.21.14";
const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

pub fn ensure_all(root: &Path) -> Result<(), TaskError> {
    step("checking tools (a first run installs them and takes several minutes)");
    ensure_wasm_target()?;
    ensure_trunk()?;
    ensure_wasm_bindgen(root)?;
    ensure_chromium()?;
    ensure_server_services()?;
    ensure_node_packages(root)?;
    Ok(())
}

fn ensure_wasm_target() -> Result<(), TaskError> {
    let installed = output("rustup", &["target", "list", "--installed"]).unwrap_or_default();
    if installed
        .lines()
        .any(|l| l.trim() == "wasm32-unknown-unknown")
    {
        println!("    wasm32-unknown-unknown target: present");
        return Ok(());
    }
    run(Command::new("rustup").args(["target", "add", "wasm32-unknown-unknown"])).map(drop)
}

fn ensure_trunk() -> Result<(), TaskError> {
    let have = output("trunk", &["--version"]).unwrap_or_default();
    if have.trim() == format!("trunk {TRUNK_VERSION}") {
        println!("    trunk {TRUNK_VERSION}: present");
        return Ok(());
    }
    println!("    trunk {TRUNK_VERSION}: compiling from crates.io (about 12 minutes on 2 cores)");
    run(Command::new("cargo").args(["install", "--locked", &format!("trunk@{TRUNK_VERSION}")]))
        .map(drop)
}

/// wasm-bindgen-cli must equal the `wasm-bindgen` crate in Cargo.lock, or the glue mismatches.
fn ensure_wasm_bindgen(root: &Path) -> Result<(), TaskError> {
    let version = locked_version(root, "wasm-bindgen")?;
    let have = output("wasm-bindgen", &["--version"]).unwrap_or_default();
    let runner = output("wasm-bindgen-test-runner", &["--version"]).unwrap_or_default();
    let want = format!("wasm-bindgen {version}");
    if have.trim() == want && runner.contains(&version) {
        println!("    wasm-bindgen-cli {version}: present");
        return Ok(());
    }
    println!("    wasm-bindgen-cli {version}: compiling from crates.io (about 4 minutes)");
    run(Command::new("cargo").args(["install", &format!("wasm-bindgen-cli@{version}")])).map(drop)
}

fn locked_version(root: &Path, package: &str) -> Result<String, TaskError> {
    let lock = std::fs::read_to_string(root.join("Cargo.lock"))?;
    let needle = format!("name = \"{package}\"\nversion = \"");
    let start = lock
        .find(&needle)
        .ok_or_else(|| TaskError::Setup(format!("{package} is not in Cargo.lock")))?
        + needle.len();
    let end = lock[start..]
        .find('"')
        .ok_or_else(|| TaskError::Setup("Cargo.lock is malformed".into()))?;
    Ok(lock[start..start + end].to_owned())
}

fn ensure_chromium() -> Result<(), TaskError> {
    if Path::new(CHROMIUM).exists() && Path::new(CHROMEDRIVER).exists() {
        println!("    chromium and chromedriver: present");
        return Ok(());
    }
    println!("    chromium: installing Debian's chromium and chromium-driver");
    run(Command::new("apt-get").args(["update"]))?;
    run(Command::new("apt-get")
        .args([
            "install",
            "-y",
            "--no-install-recommends",
            "chromium",
            "chromium-driver",
        ])
        .env("DEBIAN_FRONTEND", "noninteractive"))
    .map(drop)
}

/// The server's second backend and its event bus, for the PostgreSQL tier: Debian's
/// `postgresql` (only its programs are used; the tests start their own cluster) and
/// `nats-server`.
pub fn ensure_server_services() -> Result<(), TaskError> {
    let mut missing = Vec::new();
    if !crate::pg::installed() {
        missing.push("postgresql");
    }
    if output("nats-server", &["--version"]).is_none() {
        missing.push("nats-server");
    }
    if missing.is_empty() {
        println!("    postgresql and nats-server: present");
        return Ok(());
    }
    println!("    installing Debian's {}", missing.join(" and "));
    run(Command::new("apt-get").args(["update"]))?;
    run(Command::new("apt-get")
        .args(["install", "-y", "--no-install-recommends"])
        .args(&missing)
        .env("DEBIAN_FRONTEND", "noninteractive"))
    .map(drop)
}

/// `npm ci` only when package-lock.json changed since the last install.
fn ensure_node_packages(root: &Path) -> Result<(), TaskError> {
    let lock = std::fs::read(root.join("package-lock.json"))?;
    let stamp_path = root.join("node_modules/.caresync-lock");
    let fingerprint = format!("{:016x}", fnv1a(&lock));
    if std::fs::read_to_string(&stamp_path).ok().as_deref() == Some(fingerprint.as_str()) {
        println!("    npm packages: present");
        return Ok(());
    }
    println!("    npm packages: npm ci (binaryen, workbox, playwright; no browser download)");
    run(Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund"])
        .current_dir(root)
        .env("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1"))?;
    std::fs::write(stamp_path, fingerprint)?;
    Ok(())
}

/// A small stable hash, enough to notice that a lock file changed.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}
