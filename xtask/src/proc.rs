//! Running child commands with a visible step line and their duration.

use std::{
    path::{Path, PathBuf},
    process::Command,
    time::{Duration, Instant},
};

use crate::TaskError;

/// Prints a step header so a long first run shows where it is.
pub fn step(text: &str) {
    println!("\n==> {text}");
}

pub fn describe(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for a in cmd.get_args() {
        s.push(' ');
        s.push_str(&a.to_string_lossy());
    }
    s
}

/// Runs to completion with inherited output; a non-zero exit is an error.
pub fn run(cmd: &mut Command) -> Result<Duration, TaskError> {
    let text = describe(cmd);
    println!("    $ {text}");
    let started = Instant::now();
    let status = cmd.status().map_err(|source| TaskError::Spawn {
        cmd: text.clone(),
        source,
    })?;
    let took = started.elapsed();
    if status.success() {
        println!("    done in {:.1}s", took.as_secs_f64());
        Ok(took)
    } else {
        Err(TaskError::Failed {
            cmd: text,
            status: status.to_string(),
        })
    }
}

/// Runs quietly and returns stdout, or None if the program is missing or fails.
pub fn output(program: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(program).args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// A command rooted at the workspace with `node_modules/.bin` first on PATH (wasm-opt 132).
pub fn in_root(root: &Path, program: &str) -> Command {
    let mut cmd = Command::new(program);
    cmd.current_dir(root);
    let mut path = std::ffi::OsString::from(root.join("node_modules/.bin"));
    if let Some(home) = std::env::var_os("CARGO_HOME")
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cargo")))
    {
        path.push(":");
        path.push(home.join("bin"));
    }
    if let Some(old) = std::env::var_os("PATH") {
        path.push(":");
        path.push(old);
    }
    cmd.env("PATH", path).env("TMPDIR", Scratch::dir(root));
    cmd
}

/// The temporary directory (TMPDIR) of every tool xtask starts, emptied before and after each
/// command. Chromium leaves a ~100 MB `org.chromium.Chromium.scoped_dir.*` behind whenever it is
/// stopped rather than closed, and a few of those per run once filled the machine's disk.
pub struct Scratch(PathBuf);

impl Scratch {
    pub fn dir(root: &Path) -> PathBuf {
        crate::serve::target_dir(root).join("scratch")
    }

    pub fn new(root: &Path) -> Result<Self, TaskError> {
        let dir = Self::dir(root);
        if dir.exists() {
            std::fs::remove_dir_all(&dir)?;
        }
        std::fs::create_dir_all(&dir)?;
        Ok(Self(dir))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if let Err(err) = std::fs::remove_dir_all(&self.0) {
            eprintln!("xtask: could not empty {}: {err}", self.0.display());
        }
    }
}
