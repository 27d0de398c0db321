//! The app shell's size against its budget: the main wasm module + js (the glue, the chunk
//! loader, the boot script) + css of each app as built in `dist/`, counted as the gzip -9
//! files the server sends (written by `scripts/compress.mjs`). The chunks the split points
//! load later (`scripts/split.mjs`) are printed beside it, not counted in it.
//!
//! A deterministic check, not a timing. Each app has the budget issue 18 sets and a ceiling
//! the check enforces; both shells fit, so each ceiling is its budget.

use std::{fs, path::Path};

use crate::{proc::step, TaskError};

struct Limit {
    app: &'static str,
    /// Where the app is built, under `dist/`.
    dir: &'static str,
    /// What the shell must come down to (issue 18).
    budget: u64,
    /// What the check fails above.
    ceiling: u64,
}

const LIMITS: [Limit; 2] = [
    Limit {
        app: "patient app",
        dir: "",
        budget: 250_000,
        ceiling: 250_000,
    },
    Limit {
        app: "ward board",
        dir: "ward",
        budget: 200_000,
        ceiling: 200_000,
    },
];

/// One app's shell: gzip bytes of each part.
#[derive(Debug, Default)]
struct Shell {
    wasm: u64,
    js: u64,
    css: u64,
    /// The split points' chunks, fetched after the first screen (not in the shell).
    chunks: u64,
    chunk_count: usize,
    /// Brotli, what Chromium receives.
    brotli: u64,
}

impl Shell {
    fn gzip(&self) -> u64 {
        self.wasm + self.js + self.css
    }
}

/// Prints each app's shell against its budget; fails if one is over its ceiling.
pub fn check(root: &Path) -> Result<(), TaskError> {
    step("shell size: wasm + js + css, gzip -9 as served");
    let mut over = Vec::new();
    for limit in &LIMITS {
        let shell = measure(&root.join("dist").join(limit.dir))?;
        let gzip = shell.gzip();
        println!(
            "    {}: {} B gzip (wasm {}, js {}, css {}; brotli {} B); budget {} B ({}), ceiling {} B",
            limit.app,
            thousands(gzip),
            thousands(shell.wasm),
            thousands(shell.js),
            thousands(shell.css),
            thousands(shell.brotli),
            thousands(limit.budget),
            against(gzip, limit.budget),
            thousands(limit.ceiling),
        );
        println!(
            "      then on demand: {} chunks, {} B gzip; shell and chunks {} B",
            shell.chunk_count,
            thousands(shell.chunks),
            thousands(gzip + shell.chunks),
        );
        if gzip > limit.ceiling {
            over.push(format!(
                "{} is {} B gzip, over its ceiling of {} B",
                limit.app,
                thousands(gzip),
                thousands(limit.ceiling)
            ));
        }
    }
    if over.is_empty() {
        Ok(())
    } else {
        Err(TaskError::Setup(over.join("; ")))
    }
}

fn against(size: u64, budget: u64) -> String {
    if size <= budget {
        format!("{} B under", thousands(budget - size))
    } else {
        format!("{} B over", thousands(size - budget))
    }
}

/// The shell in `dir`: its main `*_bg.wasm`, its `*.js` (not the service worker) and its
/// css, each by its precompressed `.gz` and `.br` beside it; the other `*.wasm` are chunks.
fn measure(dir: &Path) -> Result<Shell, TaskError> {
    let mut shell = Shell::default();
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        let part = if name.ends_with("_bg.wasm") {
            &mut shell.wasm
        } else if name.ends_with(".wasm") {
            shell.chunk_count += 1;
            shell.chunks += compressed(dir, name, "gz")?;
            continue;
        } else if name.ends_with(".js") && !name.starts_with("sw") {
            &mut shell.js
        } else if name.ends_with(".css") {
            &mut shell.css
        } else {
            continue;
        };
        *part += compressed(dir, name, "gz")?;
        shell.brotli += compressed(dir, name, "br")?;
    }
    if shell.wasm == 0 {
        return Err(TaskError::Setup(format!(
            "no wasm in {}: build the PWA first (cargo xtask size builds it)",
            dir.display()
        )));
    }
    Ok(shell)
}

fn compressed(dir: &Path, name: &str, ext: &str) -> Result<u64, TaskError> {
    let path = dir.join(format!("{name}.{ext}"));
    fs::metadata(&path).map(|m| m.len()).map_err(|e| {
        TaskError::Setup(format!(
            "{} is missing ({e}): scripts/compress.mjs writes it at build",
            path.display()
        ))
    })
}

/// 645000 as "645,000".
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_groups_digits() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(thousands(645_000), "645,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }

    #[test]
    fn against_says_over_or_under() {
        assert_eq!(against(240_000, 250_000), "10,000 B under");
        assert_eq!(against(260_500, 250_000), "10,500 B over");
    }

    #[test]
    fn every_ceiling_is_at_least_its_budget() {
        for limit in &LIMITS {
            assert!(limit.ceiling >= limit.budget, "{}", limit.app);
        }
    }
}
