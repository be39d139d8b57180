//! The `steward` command itself.

use std::process::Command;

/// The binary, run in `dir` on the database `dir/cli.db` and nothing else from the environment.
pub(crate) fn steward(dir: &std::path::Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_steward"));
    cmd.current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("STEWARD_DATABASE_URL", format!("sqlite://{}", dir.join("cli.db").display()));
    cmd
}

#[test]
fn migrate_and_create_owner_make_a_working_first_account() {
    let dir = tempfile::tempdir().unwrap();
    let out = steward(dir.path()).arg("migrate").output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    let out = steward(dir.path())
        .args(["create-owner", "--email", "Root@Example.com", "--org", "Acme", "--name", "Root"])
        .env("STEWARD_OWNER_PASSWORD", "a-long-enough-password")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("created account"), "{stdout}");
    assert!(!stdout.contains("a-long-enough-password"));

    let again = steward(dir.path())
        .args(["create-owner", "--email", "root@example.com", "--org", "Other"])
        .output()
        .unwrap();
    assert!(!again.status.success(), "the same email cannot own a second first account");

    let generated = steward(dir.path()).args(["create-owner", "--email", "ops@example.com", "--org", "Ops"]).output().unwrap();
    assert!(String::from_utf8_lossy(&generated.stdout).contains("password (shown once): "));
}

#[test]
fn a_malformed_setting_stops_the_start_naming_the_variable() {
    let dir = tempfile::tempdir().unwrap();
    for (var, value) in [("STEWARD_BIND", "nope"), ("STEWARD_INVITE_TTL", "soon"), ("STEWARD_SIGNUP", "perhaps")] {
        let out = steward(dir.path()).env(var, value).arg("serve").output().unwrap();
        assert_eq!(out.status.code(), Some(2));
        assert!(String::from_utf8_lossy(&out.stderr).contains(var));
    }
    let out = steward(dir.path()).arg("frobnicate").output().unwrap();
    assert!(!out.status.success());
}

#[test]
fn audit_verify_exits_non_zero_naming_the_changed_event() {
    let dir = tempfile::tempdir().unwrap();
    let out = steward(dir.path())
        .args(["create-owner", "--email", "root@example.com", "--org", "Acme"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let ok = steward(dir.path()).args(["audit", "verify"]).output().unwrap();
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    assert!(String::from_utf8_lossy(&ok.stdout).contains("every chain is intact"));

    let db = dir.path().join("cli.db");
    let status = Command::new("python3")
        .args(["-c", "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute(\"UPDATE audit_events SET action='org.renamed' WHERE seq=1\"); c.commit()"])
        .arg(&db)
        .status();
    if !status.is_ok_and(|s| s.success()) {
        // no python3: edit through the library instead
        let url = format!("sqlite://{}", db.display());
        let pool = steward::storage::connect(&url, 1).unwrap();
        use diesel::RunQueryDsl;
        diesel::sql_query("UPDATE audit_events SET action='org.renamed' WHERE seq=1").execute(&mut *pool.get().unwrap()).unwrap();
    }
    let broken = steward(dir.path()).args(["audit", "verify"]).output().unwrap();
    assert!(!broken.status.success());
    let stdout = String::from_utf8_lossy(&broken.stdout);
    assert!(stdout.contains("event #1") && stdout.contains("does not match its hash"), "{stdout}");
}

#[test]
fn reset_two_factor_turns_it_off_for_someone_who_lost_every_factor() {
    let dir = tempfile::tempdir().unwrap();
    let out = steward(dir.path())
        .args(["create-owner", "--email", "root@example.com", "--org", "Acme"])
        .env("STEWARD_OWNER_PASSWORD", "a-long-enough-password")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    // two-factor on, with ten recovery codes, as the profile leaves it
    let url = format!("sqlite://{}", dir.path().join("cli.db").display());
    let db = steward::storage::Db::new(steward::storage::connect(&url, 1).unwrap());
    let email = steward::domain::Email::parse("root@example.com").unwrap();
    let state = |db: &steward::storage::Db| {
        let mut conn = db.conn().unwrap();
        let account = steward::storage::accounts::find_by_email(&mut conn, &email).unwrap().unwrap();
        let unused = steward::storage::recovery_codes::unused(&mut conn, account.id).unwrap();
        (account, unused)
    };
    {
        let (account, _) = state(&db);
        let mut conn = db.conn().unwrap();
        let now = steward::storage::now();
        assert!(steward::storage::accounts::enable_totp(&mut conn, account.id, "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", 1, now).unwrap());
        let hashes: Vec<String> = (0..10).map(|i| steward::crypto::sha256_hex(format!("code{i}").as_bytes())).collect();
        steward::storage::recovery_codes::replace(&mut conn, account.id, &hashes).unwrap();
    }
    assert!(state(&db).0.two_factor_on());

    let out = steward(dir.path()).args(["account", "reset-two-factor", "--email", " Root@Example.com "]).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("two-factor authentication turned off for root@example.com"), "{stdout}");
    assert!(stdout.contains("10 recovery codes deleted"), "{stdout}");
    let (account, unused) = state(&db);
    assert!(!account.two_factor_on() && account.totp_secret.is_none() && account.totp_last_step.is_none());
    assert_eq!(unused, 0);
    let notices: Vec<String> = std::fs::read_dir(dir.path().join("data/outbox"))
        .map(|d| d.flatten().filter_map(|e| std::fs::read_to_string(e.path()).ok()).collect())
        .unwrap_or_default();
    assert!(
        notices.iter().any(|m| m.contains("To: root@example.com") && m.contains("Two-factor authentication is off")),
        "the owner is told: {notices:?}"
    );

    // already off: said so, and nothing fails
    let again = steward(dir.path()).args(["account", "reset-two-factor", "--email", "root@example.com"]).output().unwrap();
    assert!(again.status.success());
    assert!(String::from_utf8_lossy(&again.stdout).contains("already off"));

    let unknown = steward(dir.path()).args(["account", "reset-two-factor", "--email", "nobody@example.com"]).output().unwrap();
    assert!(!unknown.status.success());
    let stderr = String::from_utf8_lossy(&unknown.stderr);
    assert!(stderr.contains("no account has the email") && stderr.contains("nobody@example.com"), "{stderr}");
    let missing = steward(dir.path()).args(["account", "reset-two-factor"]).output().unwrap();
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("--email"));
}

#[test]
fn serve_answers_health_checks_and_stops_gracefully_on_sigterm() {
    use std::io::{Read, Write};
    use std::time::{Duration, Instant};
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut child = steward(dir.path())
        .env("STEWARD_BIND", format!("127.0.0.1:{port}"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let health = loop {
        if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").unwrap();
            let mut out = String::new();
            let _ = s.read_to_string(&mut out);
            break out;
        }
        assert!(Instant::now() < deadline, "the server did not start");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");
    assert!(dir.path().join("data/session.key").exists(), "the session key was generated once");

    let killed = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(killed.success());
    let deadline = Instant::now() + Duration::from_secs(25);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "the server did not stop after SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "graceful shutdown exits 0, got {status:?}");
}

/// A GET of `path` on `port` over a fresh connection: the whole answer, or None when nothing
/// listens there.
fn http_get(port: u16, path: &str) -> Option<String> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes()).ok()?;
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    Some(out)
}

#[test]
fn serve_with_a_metrics_address_serves_them_there_only_and_stops_them_with_the_console() {
    use std::time::Duration;
    let dir = tempfile::tempdir().unwrap();
    let metrics_port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let metrics_bind = format!("127.0.0.1:{metrics_port}");
    let database = format!("sqlite://{}", dir.path().join("cli.db").display());
    let mut server = crate::helpers::process::ServerProcess::start(dir.path(), &database, &[("STEWARD_METRICS_BIND", &metrics_bind)]);

    let metrics = http_get(metrics_port, "/metrics").expect("the metrics listener answers");
    assert!(metrics.starts_with("HTTP/1.1 200"), "{metrics}");
    assert!(metrics.to_ascii_lowercase().contains("content-type: text/plain; version=0.0.4"), "{metrics}");
    assert!(metrics.contains("# TYPE steward_http_requests_total counter"), "{metrics}");
    // the health checks that waited for the start were counted, on the console
    assert!(metrics.contains(r#"route="/healthz""#), "{metrics}");
    let console = http_get(server.port, "/metrics").expect("the console answers");
    assert!(console.starts_with("HTTP/1.1 404"), "{console}");

    server.sigterm();
    assert!(server.wait_exit(Duration::from_secs(25)).success(), "graceful shutdown exits 0");
    assert!(http_get(metrics_port, "/metrics").is_none(), "the metrics listener stopped with the server");
}

#[test]
fn the_request_log_never_shows_the_token_of_a_link() {
    use std::io::{Read, Write};
    use std::time::{Duration, Instant};
    const TOKEN: &str = "Xq3v_9-kLmN0pQrStUvWxYz0123456789abcdefGHIJ";
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut child = steward(dir.path())
        .env("STEWARD_BIND", format!("127.0.0.1:{port}"))
        .env("RUST_LOG", "info")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // a form posted without its CSRF token is refused with a warning, logged in the request's
    // span: the line shows the span's target and the refused path
    let request = format!(
        "POST /invitations/{TOKEN}/accept?next=%2Finvitations%2F{TOKEN} HTTP/1.1\r\nHost: x\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    let answer = loop {
        if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            s.write_all(request.as_bytes()).unwrap();
            let mut out = String::new();
            let _ = s.read_to_string(&mut out);
            break out;
        }
        assert!(Instant::now() < deadline, "the server did not start");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(answer.starts_with("HTTP/1.1 403"), "{answer}");

    let killed = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(killed.success());
    let mut log = String::new();
    child.stdout.take().unwrap().read_to_string(&mut log).unwrap();
    child.wait().unwrap();
    let log = without_colours(&log);
    let line = log.lines().find(|l| l.contains("CSRF")).unwrap_or_else(|| panic!("no line for the refused form in:\n{log}"));
    assert!(line.contains("http.target=/invitations/[redacted]/accept?next=[redacted]"), "{line}");
    assert!(line.contains("http.route=/invitations/{token}/accept"), "{line}");
    assert!(line.contains("path=/invitations/[redacted]/accept"), "{line}");
    assert!(!log.contains(TOKEN), "the token is nowhere in the log:\n{log}");
}

/// `text` without its ANSI colour codes.
fn without_colours(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            chars.by_ref().take_while(|c| !c.is_ascii_alphabetic()).for_each(drop);
        } else {
            out.push(c);
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_json_log_has_one_object_a_line_and_a_line_per_request_without_secrets() {
    use std::io::Read;
    use std::time::{Duration, Instant};
    use crate::helpers::Client;
    const TOKEN: &str = "Xq3v_9-kLmN0pQrStUvWxYz0123456789abcdefGHIJ";
    const PASSWORD: &str = "a-long-enough-password";
    let dir = tempfile::tempdir().unwrap();
    let owner = steward(dir.path())
        .args(["create-owner", "--email", "ada@example.com", "--org", "Acme"])
        .env("STEWARD_OWNER_PASSWORD", PASSWORD)
        .output()
        .unwrap();
    assert!(owner.status.success(), "{}", String::from_utf8_lossy(&owner.stderr));
    // "created account ACCOUNT owning organization ORG"
    let stdout = String::from_utf8_lossy(&owner.stdout);
    let account = stdout.split_whitespace().nth(2).expect("the account's id").to_string();

    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let base = format!("http://127.0.0.1:{port}");
    let mut child = steward(dir.path())
        .env("STEWARD_BIND", format!("127.0.0.1:{port}"))
        .env("STEWARD_BASE_URL", &base)
        .env("STEWARD_LOG_FORMAT", "json")
        .env("RUST_LOG", "info")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let client = Client::new(&base);
    let deadline = Instant::now() + Duration::from_secs(20);
    while reqwest::get(format!("{base}/healthz")).await.is_err() {
        assert!(Instant::now() < deadline, "the server did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let mut secrets = vec![TOKEN.to_string(), PASSWORD.to_string()];
    let signed_out = client.get("/login?next=%2Forgs").await;
    signed_out.assert_status(200);
    secrets.push(client.csrf().await);
    let signed_in = client.sign_in("ada@example.com", PASSWORD).await;
    signed_in.assert_status(303);
    for page in [&signed_out, &signed_in] {
        for cookie in page.headers.get_all("set-cookie") {
            let cookie = cookie.to_str().unwrap();
            let value = cookie.split(';').next().and_then(|pair| pair.split_once('=')).map(|(_, v)| v).unwrap_or("");
            if !value.is_empty() {
                secrets.push(value.to_string());
            }
        }
    }
    assert!(secrets.len() > 3, "the session cookie was set");
    client.get("/orgs").await.assert_status(200);
    client.get(&format!("/invitations/{TOKEN}")).await;
    client.get(&format!("/password/reset/{TOKEN}?token={TOKEN}")).await;

    let killed = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(killed.success());
    let mut log = String::new();
    child.stdout.take().unwrap().read_to_string(&mut log).unwrap();
    child.wait().unwrap();

    let lines: Vec<serde_json::Value> = log
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("not a JSON object ({e}): {line}")))
        .collect();
    assert!(lines.iter().all(serde_json::Value::is_object), "{log}");
    let requests: Vec<&serde_json::Value> = lines.iter().filter(|l| l["message"] == "answered").collect();
    let request = |route: &str| {
        requests
            .iter()
            .find(|l| l["span"]["http.route"] == route)
            .unwrap_or_else(|| panic!("no request line for {route} in:\n{log}"))
    };
    for line in &requests {
        let span = &line["span"];
        assert!(span["request_id"].as_str().is_some_and(|id| id.len() == 36), "{line}");
        assert!(span["http.status_code"].is_u64(), "{line}");
        assert!(line["latency_ms"].as_f64().is_some_and(|ms| ms >= 0.0), "{line}");
        assert_eq!(line["level"], "INFO", "{line}");
    }
    let login = requests.iter().find(|l| l["span"]["http.method"] == "GET" && l["span"]["http.route"] == "/login").expect("GET /login");
    assert_eq!(login["span"]["http.status_code"], 200);
    assert_eq!(login["span"]["http.target"], "/login?next=[redacted]");
    assert!(login["span"].get("account_id").is_none(), "nobody is signed in yet: {login}");
    let orgs = request("/orgs");
    assert_eq!(orgs["span"]["account_id"], account.as_str(), "{orgs}");
    assert_eq!(orgs["span"]["http.status_code"], 200);
    let link = request("/invitations/{token}");
    assert_eq!(link["span"]["http.target"], "/invitations/[redacted]");
    let reset = request("/password/reset/{token}");
    assert_eq!(reset["span"]["http.target"], "/password/reset/[redacted]?token=[redacted]");

    for secret in &secrets {
        assert!(!log.contains(secret.as_str()), "{secret:?} appears in the log:\n{log}");
    }
}
