//! `cargo xtask lighthouse`: Lighthouse (mobile, performance only; three runs with simulated and
//! three with DevTools throttling) on the app's first online visit, in Debian's Chromium, against
//! a release build of the PWA and the reference server. Prints figures; asserts nothing. Not part
//! of `cargo xtask test`.

use std::path::Path;

use crate::{
    proc::{self, in_root, step},
    serve, tiers, tools, TaskError,
};

const SCRIPT: &str = "scripts/lighthouse.mjs";
const CHROMIUM: &str = "/usr/bin/chromium";

pub fn run(root: &Path) -> Result<(), TaskError> {
    tools::ensure_all(root)?;
    serve::build_pwa(root)?;
    let server = serve::build_server(root, serve::Profile::Release)?;
    let work = serve::target_dir(root).join("lighthouse");
    // As deployed: the demo data, and none of the test mode's fault injection or CORS.
    let env = [("CARESYNC_TEST_FAULTS", "0"), ("CARESYNC_DEMO_DATA", "1")];
    let (_server, addr) =
        tiers::start_server(root, &server, &work, Some(&root.join("dist")), &env)?;
    step("Lighthouse on the first online visit (mobile; simulated, then DevTools throttling)");
    proc::run(
        in_root(root, "node")
            .arg(SCRIPT)
            .arg(format!("http://{addr}/"))
            .env("CHROME_PATH", CHROMIUM),
    )
    .map(drop)
}
