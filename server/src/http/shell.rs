//! Serving the built PWA from `dist/`: content types, cache rules and the Content-Security-Policy.
//!
//! Hashed assets are immutable; the entry points (`index.html`, `sw.js`, the manifest) must be
//! revalidated on every load or a new release would never reach installed clients. API answers
//! carry PHI and are never stored by any cache.

use std::{
    path::{Path, PathBuf},
    sync::Arc,
};

use axum::{
    extract::{Request, State},
    http::{header, HeaderValue, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
    Router,
};
use base64::Engine as _;
use sha2::{Digest, Sha256};
use tower::ServiceExt as _;
use tower_http::services::{ServeDir, ServeFile};

/// The built app shell and the policy derived from it.
#[derive(Clone)]
pub struct Shell {
    dist: Arc<PathBuf>,
    csp: HeaderValue,
}

impl Shell {
    /// Reads both apps' `index.html` once to allow exactly their inline loader scripts by
    /// hash.
    pub fn load(dist: &Path) -> Self {
        let read = |page: PathBuf| {
            std::fs::read_to_string(&page).unwrap_or_else(|err| {
                tracing::warn!(page = %page.display(), %err, "an app shell is not built; run `cargo xtask serve`");
                String::new()
            })
        };
        let mut hashes = inline_script_hashes(&read(dist.join("index.html")));
        hashes.extend(inline_script_hashes(&read(
            dist.join(WARD).join("index.html"),
        )));
        let policy = content_security_policy(&hashes);
        // The policy is built from base64 and fixed text, so it is always a valid header value.
        let csp = HeaderValue::from_str(&policy)
            .unwrap_or_else(|_| HeaderValue::from_static("default-src 'none'"));
        Self {
            dist: Arc::new(dist.to_path_buf()),
            csp,
        }
    }

    pub fn csp(&self) -> HeaderValue {
        self.csp.clone()
    }

    /// Static files, with an SPA fallback: a path without an extension is a page of the app.
    pub fn router<S: Clone + Send + Sync + 'static>(&self) -> Router<S> {
        Router::new()
            .fallback(serve_shell)
            .with_state(self.dist.clone())
    }
}

/// The ward board's own app (kiosk tablets), under `/ward/` with its own bundle and worker.
const WARD: &str = "ward";

async fn serve_shell(State(dist): State<Arc<PathBuf>>, req: Request) -> Response {
    let path = req.uri().path();
    // The ward app's scope (and its worker's) is `/ward/`: `/ward` alone is sent there.
    if path == "/ward" {
        return (
            StatusCode::PERMANENT_REDIRECT,
            [(header::LOCATION, HeaderValue::from_static("/ward/"))],
        )
            .into_response();
    }
    let last_segment = path.rsplit('/').next().unwrap_or("");
    let is_page = !last_segment.contains('.');
    let in_ward = path == "/ward" || path.starts_with("/ward/");
    let index = if in_ward {
        dist.join(WARD).join("index.html")
    } else {
        dist.join("index.html")
    };
    if is_page && !index.exists() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "The app is not built. Run `cargo xtask serve`.",
        )
            .into_response();
    }
    // The build precompresses each file (`.br`, `.gz`): sent as the browser asks.
    let served = if is_page {
        ServeFile::new(index)
            .precompressed_br()
            .precompressed_gzip()
            .oneshot(req)
            .await
    } else {
        ServeDir::new(dist.as_path())
            .precompressed_br()
            .precompressed_gzip()
            .oneshot(req)
            .await
    };
    match served {
        Ok(response) => response.into_response(),
        Err(never) => match never {},
    }
}

/// Adds the security headers and the cache rule to every response, API and shell alike.
pub async fn headers(State(csp): State<HeaderValue>, req: Request, next: Next) -> Response {
    let rule = cache_rule(req.uri().path());
    let mut response = next.run(req).await;
    let h = response.headers_mut();
    h.insert(header::CONTENT_SECURITY_POLICY, csp);
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(rule));
    // The shell's files go out in the encoding the browser asked for.
    if !h.contains_key(header::VARY) && h.contains_key(header::CONTENT_ENCODING) {
        h.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    }
    response
}

/// The Cache-Control for a path. Trunk names hashed files `name-<hash>.ext`, the hash a u64
/// in hex without leading zeros: 16 digits, or fewer one time in sixteen.
pub fn cache_rule(path: &str) -> &'static str {
    // The device policy has no PHI; the app keeps it for offline sign-in and revalidates it.
    if path == caresync_contract::paths::CONFIG {
        return "no-cache";
    }
    if path.starts_with("/api/") || path.starts_with("/v1/") || path.starts_with("/internal/") {
        return "no-store";
    }
    let file = path.rsplit('/').next().unwrap_or("");
    // wasm-bindgen appends `_bg` after Trunk's hash.
    let stem = file.split('.').next().unwrap_or("").trim_end_matches("_bg");
    let hashed = stem.rsplit_once('-').is_some_and(|(_, h)| {
        (12..=16).contains(&h.len()) && h.bytes().all(|b| b.is_ascii_hexdigit())
    });
    if hashed {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    }
}

/// `sha256-…` sources for every inline `<script>` (one without `src`) in the page.
pub fn inline_script_hashes(html: &str) -> Vec<String> {
    let mut hashes = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find("<script") {
        rest = &rest[start..];
        let Some(tag_end) = rest.find('>') else { break };
        let tag = &rest[..tag_end];
        let body_start = tag_end + 1;
        let Some(close) = rest[body_start..].find("</script>") else {
            break;
        };
        let body = &rest[body_start..body_start + close];
        if !tag.contains(" src=") && !body.trim().is_empty() {
            let digest = Sha256::digest(body.as_bytes());
            let b64 = base64::engine::general_purpose::STANDARD.encode(digest);
            hashes.push(format!("'sha256-{b64}'"));
        }
        rest = &rest[body_start + close..];
    }
    hashes
}

/// The strict policy: scripts only from this origin or by exact hash, wasm compilation allowed.
/// Frames only from `blob:` (this page's own): the document viewer shows a kept PDF that way,
/// offline, and nothing else may be framed.
pub fn content_security_policy(script_hashes: &[String]) -> String {
    let mut script_src = String::from("'self' 'wasm-unsafe-eval'");
    for h in script_hashes {
        script_src.push(' ');
        script_src.push_str(h);
    }
    format!(
        "default-src 'self'; script-src {script_src}; style-src 'self'; img-src 'self' data: blob:; \
         connect-src 'self'; worker-src 'self'; manifest-src 'self'; frame-src blob:; object-src 'none'; \
         base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A built shell in a temporary directory: each file with its precompressed twins.
    fn built() -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("temp dir");
        for (name, body) in [
            ("index.html", "<html>page</html>"),
            ("app-0123456789abcdef_bg.wasm", "wasm bytes"),
        ] {
            std::fs::write(dir.path().join(name), body).expect("file");
            std::fs::write(dir.path().join(format!("{name}.br")), format!("br:{body}"))
                .expect("br");
            std::fs::write(dir.path().join(format!("{name}.gz")), format!("gz:{body}"))
                .expect("gz");
        }
        dir
    }

    async fn fetch(dir: &Path, path: &str, accept: Option<&str>) -> (Option<String>, Vec<u8>) {
        let router: Router = Shell::load(dir).router();
        let mut req = Request::builder().uri(path);
        if let Some(a) = accept {
            req = req.header(header::ACCEPT_ENCODING, a);
        }
        let res = router
            .oneshot(req.body(axum::body::Body::empty()).expect("request"))
            .await
            .expect("answer");
        let encoding = res
            .headers()
            .get(header::CONTENT_ENCODING)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = axum::body::to_bytes(res.into_body(), usize::MAX)
            .await
            .expect("body");
        (encoding, body.to_vec())
    }

    #[tokio::test]
    async fn the_shell_goes_out_compressed_as_the_browser_asks() {
        let dir = built();
        let wasm = "/app-0123456789abcdef_bg.wasm";
        assert_eq!(
            fetch(dir.path(), wasm, Some("gzip, deflate, br")).await,
            (Some("br".into()), b"br:wasm bytes".to_vec())
        );
        assert_eq!(
            fetch(dir.path(), wasm, Some("gzip")).await,
            (Some("gzip".into()), b"gz:wasm bytes".to_vec())
        );
        assert_eq!(
            fetch(dir.path(), wasm, None).await,
            (None, b"wasm bytes".to_vec())
        );
        // A page of the app is its index, compressed the same way.
        assert_eq!(
            fetch(dir.path(), "/threads", Some("br")).await,
            (Some("br".into()), b"br:<html>page</html>".to_vec())
        );
    }

    #[tokio::test]
    async fn the_ward_app_lives_under_its_own_scope() {
        let dir = built();
        let router: Router = Shell::load(dir.path()).router();
        let res = router
            .oneshot(
                Request::builder()
                    .uri("/ward")
                    .body(axum::body::Body::empty())
                    .expect("request"),
            )
            .await
            .expect("answer");
        assert_eq!(res.status(), StatusCode::PERMANENT_REDIRECT);
        assert_eq!(
            res.headers()
                .get(header::LOCATION)
                .and_then(|v| v.to_str().ok()),
            Some("/ward/")
        );
    }

    #[test]
    fn hashed_assets_are_immutable_and_entry_points_revalidate() {
        assert_eq!(
            cache_rule("/caresync-0123456789abcdef_bg.wasm"),
            "public, max-age=31536000, immutable"
        );
        assert_eq!(cache_rule("/icons/icon-192.png"), "no-cache");
        assert_eq!(
            cache_rule("/caresync-0123456789abcdef.js"),
            "public, max-age=31536000, immutable"
        );
        assert_eq!(
            cache_rule("/caresync-937a4750299cf78_bg.wasm"),
            "public, max-age=31536000, immutable",
            "a hash with a leading zero dropped is still a hash"
        );
        assert_eq!(cache_rule("/index.html"), "no-cache");
        assert_eq!(cache_rule("/sw.js"), "no-cache");
        assert_eq!(
            cache_rule("/ward/caresync-ward-23ed4a7f2b5e5ba7_bg.wasm"),
            "public, max-age=31536000, immutable"
        );
        assert_eq!(cache_rule("/ward/sw.js"), "no-cache");
        assert_eq!(cache_rule("/api/v1/threads"), "no-store");
        assert_eq!(cache_rule("/api/v1/config"), "no-cache");
    }

    #[test]
    fn only_inline_scripts_are_hashed() {
        let html = r#"<script src="/a.js"></script><script type="module">boot()</script>"#;
        let hashes = inline_script_hashes(html);
        assert_eq!(hashes.len(), 1);
        let policy = content_security_policy(&hashes);
        assert!(policy.contains(&hashes[0]));
        assert!(!policy.contains("unsafe-inline"));
    }
}
