//! The server's layers depend one way (config → db → auth → domain → http): no module below
//! the HTTP edge names axum or reaches up into `http`, and auth does not reach into `domain`.

use std::path::{Path, PathBuf};

fn sources(under: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let entries = std::fs::read_dir(under).expect("read the source directory");
    for entry in entries {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            found.extend(sources(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path);
        }
    }
    found
}

/// Source lines that are code, not comments.
fn code(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .expect("read a source file")
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .map(str::to_owned)
        .collect()
}

fn offenders(dirs_and_files: &[&str], forbidden: &[&str]) -> Vec<String> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    for name in dirs_and_files {
        let path = src.join(name);
        if path.is_dir() {
            files.extend(sources(&path));
        } else {
            files.push(path);
        }
    }
    let mut bad = Vec::new();
    for file in files {
        for (n, line) in code(&file).iter().enumerate() {
            if forbidden.iter().any(|f| line.contains(f)) {
                bad.push(format!("{}:{}: {}", file.display(), n + 1, line.trim()));
            }
        }
    }
    bad
}

#[test]
fn nothing_below_the_http_edge_knows_http() {
    let below = [
        "config.rs",
        "db",
        "auth.rs",
        "auth",
        "domain",
        "events.rs",
        "relay.rs",
        "sealing.rs",
        "seed.rs",
        "time.rs",
    ];
    let bad = offenders(&below, &["axum", "crate::http", "HttpError"]);
    assert!(bad.is_empty(), "HTTP below the edge:\n{}", bad.join("\n"));
}

#[test]
fn auth_and_db_do_not_reach_into_the_domain() {
    let bad = offenders(
        &["config.rs", "db", "auth.rs", "auth"],
        &["crate::domain", "DomainError"],
    );
    assert!(bad.is_empty(), "domain below it:\n{}", bad.join("\n"));
}
