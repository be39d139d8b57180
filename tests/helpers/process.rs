//! The `steward` binary serving as an operator runs it: its own process, so that a test can
//! take its database away, send it SIGTERM, and see whether it is still running or how it exited.

use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use super::client::Client;

pub struct ServerProcess {
    child: Child,
    pub base: String,
    pub port: u16,
}

/// `steward` with a clean environment: only `PATH`, the database, and what the test adds.
pub fn steward_command(dir: &std::path::Path, database_url: &str) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_steward"));
    cmd.current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("STEWARD_DATABASE_URL", database_url)
        .env("RUST_LOG", "warn");
    cmd
}

impl ServerProcess {
    /// Starts `steward serve` in `dir` on `database_url` with the extra variables `env`, and waits
    /// until its health check answers 200.
    pub fn start(dir: &std::path::Path, database_url: &str, env: &[(&str, &str)]) -> ServerProcess {
        let port = std::net::TcpListener::bind("127.0.0.1:0").expect("port").local_addr().expect("addr").port();
        let mut cmd = steward_command(dir, database_url);
        cmd.env("STEWARD_BIND", format!("127.0.0.1:{port}"))
            .env("STEWARD_BASE_URL", format!("http://127.0.0.1:{port}"))
            .env("STEWARD_OUTBOX", dir.join("outbox"))
            .envs(env.iter().copied())
            .arg("serve")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        let child = cmd.spawn().expect("steward starts");
        let server = ServerProcess { child, base: format!("http://127.0.0.1:{port}"), port };
        let deadline = Instant::now() + Duration::from_secs(30);
        while !healthy(port) {
            assert!(Instant::now() < deadline, "steward serve did not start answering /healthz");
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    }

    pub fn client(&self) -> Client {
        Client::new(&self.base)
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    pub fn sigterm(&self) {
        let sent = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status().expect("kill");
        assert!(sent.success(), "SIGTERM could not be sent");
    }

    /// Waits up to `limit` for the process to exit.
    pub fn wait_exit(&mut self, limit: Duration) -> ExitStatus {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status;
            }
            assert!(Instant::now() < deadline, "steward did not exit within {limit:?}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// Whether `/healthz` on `port` answers 200.
fn healthy(port: u16) -> bool {
    use std::io::{Read, Write};
    let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) else { return false };
    if stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").is_err() {
        return false;
    }
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    answer.starts_with("HTTP/1.1 200")
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        if self.is_running() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
