//! The OpenAPI document is as strict as the server: schemathesis, a schema-driven fuzzer, sends
//! requests generated from the document (valid ones, and ones the document forbids) to a
//! running server and finds no answer the document does not declare, no valid request refused
//! but for the business rules the document declares, no invalid request accepted, and no 5xx.
//!
//! The test command installs schemathesis (pinned) and names it in `STEWARD_TEST_SCHEMATHESIS`;
//! the fuzzer's settings are in `tests/schemathesis.toml`.

use std::path::PathBuf;
use std::process::Command;

use crate::helpers::{Backend, NewKey, TestApp, require_all};

/// The `st` command of schemathesis, when the test command installed it.
fn schemathesis() -> Option<PathBuf> {
    match std::env::var_os("STEWARD_TEST_SCHEMATHESIS") {
        Some(path) => Some(PathBuf::from(path)),
        None if require_all() => panic!("STEWARD_TEST_SCHEMATHESIS is not set: scripts/test installs schemathesis and sets it"),
        None => {
            eprintln!("skipped: STEWARD_TEST_SCHEMATHESIS is not set (scripts/test sets it)");
            None
        }
    }
}

/// How many examples per operation and phase: bounded, so the run fits the test command's time.
fn examples() -> String {
    std::env::var("STEWARD_TEST_SCHEMATHESIS_EXAMPLES").unwrap_or_else(|_| "15".into())
}

async fn a_schema_driven_fuzzer_finds_the_server_as_strict_as_its_document(backend: Backend) {
    let Some(st) = schemathesis() else { return };
    let app = TestApp::builder().spawn(backend).await;
    let (owner, org) = app.sign_up("ada@example.com", "Acme").await;
    // something for every list and every id the fuzzer may pick up
    owner.create_deployment(org, "web", "eu-west-1").await;
    owner.invite(org, "grace@example.com", "editor").await;
    owner.create_role(org, "Billing", &["members.read"]).await;
    let secret = owner.create_api_key(org, NewKey::named("fuzzer")).await;

    let config = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/schemathesis.toml");
    let reports = tempfile::tempdir().expect("a folder for the report");
    let schema = format!("{}/api/v1/openapi.json", app.base);
    let mut command = Command::new(&st);
    command
        .arg("--config-file")
        .arg(&config)
        .arg("run")
        .arg(&schema)
        .args(["--max-examples", &examples(), "--seed", "1", "--workers", "1", "--no-color"])
        .args(["--header", &format!("Authorization: Bearer {secret}")])
        .arg("--report-dir")
        .arg(reports.path())
        .env("SCHEMATHESIS_HOOKS", "")
        .env("HOME", reports.path());
    let output = tokio::task::spawn_blocking(move || command.output()).await.expect("join").expect("schemathesis runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "schemathesis found the server and its document disagree ({backend:?}):\n{stdout}\n{stderr}"
    );
    // it did test: every operation of the document was reached
    assert!(stdout.contains("passed"), "schemathesis reported no operations:\n{stdout}");
    app.stop().await;
}

crate::on_both_backends!(a_schema_driven_fuzzer_finds_the_server_as_strict_as_its_document(backend));
