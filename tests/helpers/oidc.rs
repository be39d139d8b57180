//! A real OpenID provider for the tests: `oidc-provider` from npm (installed by scripts/test)
//! run by Node.js from `tests/oidc/provider.mjs` on a free loopback port, stopped when dropped.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::{TestApp, require_all};

/// The client Steward is at the test provider.
pub const CLIENT_ID: &str = "steward";
pub const CLIENT_SECRET: &str = "steward-secret";

/// The pinned version scripts/test installs.
pub const OIDC_PROVIDER_VERSION: &str = "8.8.1";

/// Where oidc-provider and jose are installed: `STEWARD_TEST_OIDC_MODULES`, else scripts/test's
/// cache folder.
fn modules_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("STEWARD_TEST_OIDC_MODULES").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("/root"));
    home.join(format!(".cache/steward/oidc-provider-{OIDC_PROVIDER_VERSION}/node_modules"))
}

/// The provider process and its issuer URL.
pub struct OidcProvider {
    child: Child,
    pub issuer: String,
    http: reqwest::Client,
}

impl OidcProvider {
    /// Starts a provider whose client sends people back to `app`'s callback. None (said loudly)
    /// when Node.js or the package is missing and the test command did not ask for every suite;
    /// with `STEWARD_TEST_REQUIRE_ALL=1`, that fails the test.
    pub async fn start(app: &TestApp) -> Option<OidcProvider> {
        let modules = modules_dir();
        let unavailable = |why: String| {
            if require_all() {
                panic!("the OpenID provider of the tests is not available: {why} (scripts/test installs it)");
            }
            eprintln!("SKIPPED: the OpenID provider of the tests is not available: {why}; run scripts/test");
        };
        if !modules.join("oidc-provider/package.json").exists() {
            unavailable(format!("no oidc-provider under {}", modules.display()));
            return None;
        }
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/oidc/provider.mjs");
        let spawned = Command::new("node")
            .arg(&script)
            .env("OIDC_MODULES", &modules)
            .env("OIDC_REDIRECT_URI", format!("{}/login/sso/callback", app.base))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn();
        let mut child = match spawned {
            Ok(child) => child,
            Err(e) => {
                unavailable(format!("node could not be started: {e}"));
                return None;
            }
        };
        let stdout = child.stdout.take().expect("piped stdout");
        // the reader keeps draining the provider's output after READY: a closed pipe would
        // end the provider at its next line
        let (tx, rx) = std::sync::mpsc::channel::<u16>();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { return };
                if let Some(port) = line.strip_prefix("READY ").and_then(|p| p.trim().parse::<u16>().ok()) {
                    let _ = tx.send(port);
                }
            }
        });
        let ready = tokio::task::spawn_blocking(move || rx.recv_timeout(Duration::from_secs(30)).ok()).await.expect("reader task");
        let Some(port) = ready else {
            let _ = child.kill();
            panic!("the OpenID provider did not start (see its output above)");
        };
        let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
        Some(OidcProvider { child, issuer: format!("http://127.0.0.1:{port}"), http })
    }

    /// How the provider's front rewrites the next ID tokens (see provider.mjs): `none`,
    /// `foreign_key`, `wrong_audience`, `expired`, `nonce`, `rotated`.
    pub async fn tamper(&self, mode: &str) {
        let resp = self.http.get(format!("{}/__test/mode?m={mode}", self.issuer)).send().await.expect("mode");
        assert_eq!(resp.status().as_u16(), 204);
    }
}

impl Drop for OidcProvider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
