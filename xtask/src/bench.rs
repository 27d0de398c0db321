//! `cargo xtask bench`: the benchmark page, served by a release build of the reference server,
//! driven by Playwright in Debian's Chromium. Prints figures; asserts nothing.

use std::path::Path;

use crate::{
    proc::{self, in_root, step},
    serve, tiers, tools, TaskError,
};

pub fn run(root: &Path) -> Result<(), TaskError> {
    tools::ensure_all(root)?;
    let dist = serve::target_dir(root).join("bench-dist");
    step("building the benchmark page (release)");
    proc::run(
        in_root(root, "trunk")
            .args(["build", "bench/index.html", "--release", "true", "--dist"])
            .arg(&dist),
    )?;
    let server = serve::build_server(root, serve::Profile::Release)?;
    let work = serve::target_dir(root).join("bench");
    let (_server, addr) = tiers::start_server(root, &server, &work, Some(&dist), &[])?;
    step("running the benchmarks in headless Chromium (a few minutes)");
    proc::run(
        in_root(root, "node")
            .arg("scripts/bench.mjs")
            .env("BASE_URL", format!("http://{addr}/")),
    )
    .map(drop)
}
