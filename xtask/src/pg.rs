//! A throwaway PostgreSQL cluster for the tests: Debian's `initdb` and `pg_ctl` in a temporary
//! directory, on a free loopback port, trust authentication, stopped and removed on drop.

use std::{
    net::TcpListener,
    path::{Path, PathBuf},
    process::Command,
};

use crate::{
    proc::{output, run},
    TaskError,
};

/// Where Debian's `postgresql` package puts each major version's programs.
const PG_LIB: &str = "/usr/lib/postgresql";

/// A running cluster; dropping it stops the server and deletes its files.
pub struct Cluster {
    bin: PathBuf,
    data: PathBuf,
    port: u16,
}

impl Cluster {
    /// Starts a new cluster. Durability is off: nothing in it outlives the run.
    pub fn start() -> Result<Self, TaskError> {
        let bin = bin_dir().ok_or_else(|| {
            TaskError::Setup(format!(
                "no PostgreSQL under {PG_LIB}: install Debian's postgresql package"
            ))
        })?;
        let data =
            std::env::temp_dir().join(format!("caresync-pg-{}-{}", std::process::id(), nanos()));
        std::fs::create_dir_all(&data)?;
        let port = free_port()?;
        // From here on, a failure still stops and removes what was made.
        let cluster = Cluster { bin, data, port };
        cluster.init()?;
        cluster.pg_start()?;
        Ok(cluster)
    }

    /// The base URL; a database name goes after it (`{url}/postgres`).
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}", self.port)
    }

    /// Makes an empty database; returns its URL.
    pub fn create_database(&self, name: &str) -> Result<String, TaskError> {
        let port = self.port.to_string();
        run(&mut self.tool(
            "createdb",
            &["-h", "127.0.0.1", "-p", &port, "-U", "postgres", name],
        ))?;
        Ok(format!("{}/{name}", self.url()))
    }

    fn init(&self) -> Result<(), TaskError> {
        if as_root() {
            // initdb refuses to run as root; the cluster belongs to the postgres user.
            run(Command::new("chown")
                .arg("postgres:postgres")
                .arg(&self.data))?;
        }
        let data = self.data.display().to_string();
        run(&mut self.tool(
            "initdb",
            &[
                "-D",
                &data,
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ],
        ))
        .map(drop)
    }

    fn pg_start(&self) -> Result<(), TaskError> {
        let data = self.data.display().to_string();
        let log = self.data.join("server.log").display().to_string();
        // The socket goes in the data directory; loopback TCP is how the tests connect.
        let options = format!(
            "-p {} -k {data} -c listen_addresses=127.0.0.1 -c max_connections=400 \
             -c fsync=off -c synchronous_commit=off -c full_page_writes=off",
            self.port
        );
        run(&mut self.tool(
            "pg_ctl",
            &["-D", &data, "-l", &log, "-o", &options, "-w", "start"],
        ))
        .map(drop)
    }

    /// One of the cluster's programs, run as the postgres user when we are root.
    fn tool(&self, program: &str, args: &[&str]) -> Command {
        let path = self.bin.join(program);
        if as_root() {
            let mut cmd = Command::new("runuser");
            cmd.args(["-u", "postgres", "--"]).arg(path).args(args);
            cmd
        } else {
            let mut cmd = Command::new(path);
            cmd.args(args);
            cmd
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let data = self.data.display().to_string();
        if self.data.join("postmaster.pid").exists() {
            let stop = self
                .tool("pg_ctl", &["-D", &data, "-m", "immediate", "-w", "stop"])
                .status();
            if !stop.is_ok_and(|s| s.success()) {
                eprintln!("xtask: could not stop the test PostgreSQL in {data}");
            }
        }
        if let Err(err) = std::fs::remove_dir_all(&self.data) {
            eprintln!("xtask: could not remove {data}: {err}");
        }
    }
}

/// The newest major version's `bin` directory.
fn bin_dir() -> Option<PathBuf> {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir(PG_LIB)
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|e| {
            let major = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((major, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

/// Whether Debian's PostgreSQL programs are installed.
pub fn installed() -> bool {
    bin_dir().is_some() && Path::new("/usr/sbin/runuser").exists()
}

fn as_root() -> bool {
    output("id", &["-u"]).is_some_and(|uid| uid.trim() == "0")
}

fn free_port() -> Result<u16, TaskError> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn nanos() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos())
}

#[cfg(test)]
mod tests {
    use std::{net::TcpStream, time::Duration};

    use super::Cluster;

    #[test]
    fn a_cluster_listens_on_its_port_and_is_gone_after_drop() {
        let cluster = Cluster::start().expect("a throwaway cluster starts");
        let url = cluster.url();
        let port: u16 = url
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .expect("a port in the URL");
        let addr = ("127.0.0.1", port);
        assert!(
            TcpStream::connect(addr).is_ok(),
            "{url} accepts connections"
        );
        let data = cluster.data.clone();
        drop(cluster);
        assert!(!data.exists(), "{} is removed", data.display());
        std::thread::sleep(Duration::from_millis(100));
        assert!(TcpStream::connect(addr).is_err(), "{url} is stopped");
    }
}
