//! A PostgreSQL server of a test's own: a throwaway cluster made with `initdb` and started and
//! stopped with `pg_ctl`, for the tests that take the database away from a running server.
//!
//! The server binaries come from `STEWARD_TEST_PG_BINDIR` (the test command sets it, installing
//! PostgreSQL where it is missing), else from `/usr/lib/postgresql/*/bin` or the `PATH`. Without
//! them the test is skipped, loudly, unless the test command asked for every suite: then it fails.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use super::app::require_all;

pub struct Cluster {
    bindir: PathBuf,
    dir: tempfile::TempDir,
    pub port: u16,
    /// The unprivileged user the server runs as when the tests run as root (PostgreSQL refuses
    /// to run as root).
    run_as: Option<String>,
}

fn find_bindir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("STEWARD_TEST_PG_BINDIR").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(dir));
    }
    let mut candidates: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|d| d.flatten().map(|e| e.path().join("bin")).collect())
        .unwrap_or_default();
    // the newest version first: "9" sorts after "16" as text, so compare as numbers
    candidates.sort_by_key(|p| {
        std::cmp::Reverse(
            p.parent().and_then(|v| v.file_name()).and_then(|v| v.to_str()).and_then(|v| v.parse::<u32>().ok()).unwrap_or(0),
        )
    });
    if let Ok(path) = std::env::var("PATH") {
        candidates.extend(std::env::split_paths(&path));
    }
    candidates.into_iter().find(|d| d.join("initdb").is_file() && d.join("pg_ctl").is_file())
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0").unwrap_or(false)
}

fn user_exists(name: &str) -> bool {
    Command::new("id").args(["-u", name]).output().map(|o| o.status.success()).unwrap_or(false)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("a free port").local_addr().expect("addr").port()
}

impl Cluster {
    /// A new, stopped cluster; None (said on stderr) when PostgreSQL's server binaries are not
    /// here and the test command did not ask for every suite.
    pub fn create() -> Option<Cluster> {
        let Some(bindir) = find_bindir() else {
            if require_all() {
                panic!("STEWARD_TEST_REQUIRE_ALL=1 but no initdb/pg_ctl was found (set STEWARD_TEST_PG_BINDIR)");
            }
            eprintln!("database outage test skipped: no initdb/pg_ctl here (scripts/test installs them)");
            return None;
        };
        let run_as = if is_root() {
            let user = if user_exists("postgres") { "postgres" } else { "steward-test" };
            if !user_exists(user) {
                let made = Command::new("useradd")
                    .args(["--system", "--no-create-home", "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin", user])
                    .status()
                    .expect("useradd");
                assert!(made.success(), "could not create the user {user} to own a test cluster");
            }
            Some(user.to_string())
        } else {
            None
        };
        // a short path: the server's Unix socket lives in it too (108 bytes at most)
        let dir = tempfile::Builder::new().prefix("stw-pg").tempdir_in("/tmp").expect("temp dir");
        let cluster = Cluster { bindir, dir, port: free_port(), run_as };
        if let Some(user) = &cluster.run_as {
            let owned = Command::new("chown").args([&format!("{user}:"), cluster.path_str()]).status().expect("chown");
            assert!(owned.success(), "chown of the cluster's directory");
        }
        let out = cluster
            .command("initdb")
            .args(["-D", &cluster.data(), "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-locale", "--no-sync"])
            .output()
            .expect("initdb runs");
        assert!(out.status.success(), "initdb failed: {}", String::from_utf8_lossy(&out.stderr));
        Some(cluster)
    }

    fn path_str(&self) -> &str {
        self.dir.path().to_str().expect("a UTF-8 temp path")
    }

    fn data(&self) -> String {
        format!("{}/data", self.path_str())
    }

    fn command(&self, program: &str) -> Command {
        let binary = self.bindir.join(program);
        let mut cmd = match &self.run_as {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.args(["-u", user, "--"]).arg(binary);
                c
            }
            None => Command::new(binary),
        };
        cmd.current_dir(self.dir.path());
        cmd
    }

    /// The URL of the cluster's `postgres` database, as its superuser.
    pub fn admin_url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Starts the server and waits until it accepts connections.
    pub fn start(&self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off",
            self.port,
            self.path_str()
        );
        let log = format!("{}/server.log", self.path_str());
        let out = self
            .command("pg_ctl")
            .args(["-D", &self.data(), "-l", &log, "-w", "-t", "60", "-o", &options, "start"])
            .output()
            .expect("pg_ctl runs");
        let log_text = std::fs::read_to_string(Path::new(&log)).unwrap_or_default();
        assert!(out.status.success(), "pg_ctl start failed: {}\n{log_text}", String::from_utf8_lossy(&out.stderr));
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "the test cluster does not accept connections");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Stops the server the way an operator's restart does: the connections are cut.
    pub fn stop(&self) {
        let out = self.command("pg_ctl").args(["-D", &self.data(), "-m", "fast", "-w", "-t", "60", "stop"]).output().expect("pg_ctl");
        assert!(out.status.success(), "pg_ctl stop failed: {}", String::from_utf8_lossy(&out.stderr));
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if Path::new(&format!("{}/postmaster.pid", self.data())).exists() {
            let _ = self.command("pg_ctl").args(["-D", &self.data(), "-m", "immediate", "-w", "-t", "30", "stop"]).output();
        }
    }
}
