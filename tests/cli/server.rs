//! `steward serve` run as a child process on a test's database, stopped when dropped.

use std::io::{Read, Write};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use crate::commands::steward;

/// The real binary serving `dir/cli.db` on a free loopback port.
pub struct Server {
    child: Child,
    pub base: String,
}

impl Server {
    /// Starts the server and waits until it answers `/healthz`.
    pub fn start(dir: &std::path::Path) -> Server {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = steward(dir)
            .arg("serve")
            .env("STEWARD_BIND", format!("127.0.0.1:{port}"))
            .env("STEWARD_BASE_URL", format!("http://127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let server = Server { child, base: format!("http://127.0.0.1:{port}") };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) {
                s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").unwrap();
                let mut out = String::new();
                let _ = s.read_to_string(&mut out);
                if out.starts_with("HTTP/1.1 200") {
                    return server;
                }
            }
            assert!(Instant::now() < deadline, "the server did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The password of the owners the tests create.
pub const PASSWORD: &str = "a-long-enough-password";

/// `steward create-owner` in `dir`: the id of the new organization.
pub fn create_owner(dir: &std::path::Path, email: &str, org: &str) -> String {
    let out = steward(dir).args(["create-owner", "--email", email, "--org", org]).env("STEWARD_OWNER_PASSWORD", PASSWORD).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // "created account … owning organization ORG"
    stdout.lines().next().and_then(|l| l.split_whitespace().last()).expect("the organization's id").to_string()
}

/// The database of `dir`, opened through the library as a second process would.
pub fn db_of(path: &std::path::Path) -> steward::storage::Db {
    let url = format!("sqlite://{}", path.display());
    steward::storage::Db::new(steward::storage::connect(&url, 2).unwrap())
}
