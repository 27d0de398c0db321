//! A `nats-server -js` of the test's own: a free loopback port, a temporary store directory,
//! killed when dropped. A missing nats-server fails the test: it is never skipped.

use std::{
    net::TcpListener,
    path::Path,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

pub struct NatsServer {
    child: Child,
    pub url: String,
    _store: tempfile::TempDir,
}

/// Debian's package puts it in /usr/sbin, which is not on every PATH.
fn program() -> String {
    ["/usr/sbin/nats-server", "/usr/bin/nats-server"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .unwrap_or("nats-server")
        .to_owned()
}

impl NatsServer {
    pub async fn start() -> Self {
        let store = tempfile::tempdir().expect("temp dir");
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let child = Command::new(program())
            .args(["-js", "-a", "127.0.0.1", "-p", &port.to_string(), "-sd"])
            .arg(store.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start nats-server ({e}): the event tests need Debian's nats-server \
                     package (`apt-get install nats-server`, which `cargo xtask test` does)"
                )
            });
        let server = NatsServer {
            child,
            url: format!("nats://127.0.0.1:{port}"),
            _store: store,
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
        {
            assert!(
                Instant::now() < deadline,
                "nats-server did not start listening"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        server
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        if let Err(err) = self.child.kill() {
            eprintln!("could not stop nats-server: {err}");
        }
        // Reaped so no zombie outlives the test.
        if let Err(err) = self.child.wait() {
            eprintln!("could not reap nats-server: {err}");
        }
    }
}
