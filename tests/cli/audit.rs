//! `steward audit checkpoint`, and `steward audit verify` with a checkpoint and on an exported
//! CSV, as an auditor runs them.

use std::path::Path;
use std::process::Output;

use diesel::RunQueryDsl;
use steward::domain::audit_chain::parse_checkpoint;
use steward::domain::{AccountId, Actor, Email, OrgId, RequestMeta};
use steward::storage::audit::NewEvent;

use crate::commands::steward;
use crate::helpers::Client;
use crate::server::{PASSWORD, create_owner, db_of, serve};

fn text(out: &Output) -> (String, String) {
    (String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

fn sql(dir: &Path, statement: String) {
    diesel::sql_query(statement).execute(&mut *db_of(&dir.join("cli.db")).conn().unwrap()).unwrap();
}

fn add_events(dir: &Path, org: &str, n: usize) {
    let org: OrgId = org.parse().unwrap();
    let db = db_of(&dir.join("cli.db"));
    db.write(|conn| -> Result<(), steward::storage::DbError> {
        steward::storage::orgs::lock(conn, org)?;
        for i in 0..n {
            let who = Actor::Account { id: AccountId::new(), email: Email::from_db(format!("=ops{i}@example.com")) };
            // two actions in turn: filtering by one leaves gaps in the chain
            let event = NewEvent::new(if i % 2 == 0 { "deployment.updated" } else { "deployment.created" }).target("web");
            steward::storage::audit::append(conn, org, &who, &RequestMeta::default(), event, steward::storage::now())?;
        }
        Ok(())
    })
    .unwrap();
}

#[test]
fn a_checkpoint_catches_the_newest_events_cut_off_which_a_plain_verify_cannot_see() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let acme = create_owner(dir, "ada@example.com", "Acme");
    let beta = create_owner(dir, "bob@example.com", "Beta");
    add_events(dir, &acme, 4);

    let out = steward(dir).args(["audit", "checkpoint", "--out", "heads.jsonl"]).output().unwrap();
    assert!(out.status.success(), "{:?}", text(&out));
    let saved = parse_checkpoint(&std::fs::read_to_string(dir.join("heads.jsonl")).unwrap()).unwrap();
    assert_eq!(saved.len(), 2);
    assert_eq!(saved.iter().find(|h| h.org_id == acme).map(|h| h.seq), Some(5));
    let to_stdout = steward(dir).args(["audit", "checkpoint"]).output().unwrap();
    assert_eq!(parse_checkpoint(&text(&to_stdout).0).unwrap().len(), 2, "the same heads on stdout");
    let again = steward(dir).args(["audit", "checkpoint", "--out", "heads.jsonl"]).output().unwrap();
    assert!(!again.status.success(), "a checkpoint is never written over");

    let ok = steward(dir).args(["audit", "verify", "--checkpoint", "heads.jsonl"]).output().unwrap();
    assert!(ok.status.success(), "{:?}", text(&ok));
    assert!(text(&ok).0.contains("every chain still reaches its saved head"), "{:?}", text(&ok));

    // the newest events of Acme deleted: what is left still links from the first event
    sql(dir, format!("DELETE FROM audit_events WHERE org_id = '{acme}' AND seq >= 4"));
    let plain = steward(dir).args(["audit", "verify"]).output().unwrap();
    assert!(plain.status.success(), "a plain walk cannot see it: {:?}", text(&plain));
    let checked = steward(dir).args(["audit", "verify", "--checkpoint", "heads.jsonl"]).output().unwrap();
    assert_eq!(checked.status.code(), Some(1));
    let (stdout, _) = text(&checked);
    assert!(stdout.contains(&format!("organization {acme}: the chain ends at event #3, before the saved head #5")), "{stdout}");
    assert!(stdout.contains("cut off") && !stdout.contains(&beta), "{stdout}");

    // every event of Beta deleted
    sql(dir, format!("DELETE FROM audit_events WHERE org_id = '{beta}'"));
    let (stdout, _) = text(&steward(dir).args(["audit", "verify", "--checkpoint", "heads.jsonl"]).output().unwrap());
    assert!(stdout.contains(&format!("organization {beta}: it has no events any more")), "{stdout}");

    let unreadable = steward(dir).args(["audit", "verify", "--checkpoint", "missing.jsonl"]).output().unwrap();
    assert!(!unreadable.status.success() && text(&unreadable).1.contains("missing.jsonl"));
    let no_file = steward(dir).args(["audit", "verify", "--csv"]).output().unwrap();
    assert!(!no_file.status.success() && text(&no_file).1.contains("--csv needs a FILE"), "{:?}", text(&no_file));
}

/// The CSV rows of `body` with the cell `col` of data row `row` replaced.
fn edited(body: &str, row: usize, col: usize, value: &str) -> String {
    let mut reader = csv::Reader::from_reader(body.as_bytes());
    let mut out = csv::Writer::from_writer(Vec::new());
    out.write_record(reader.headers().unwrap()).unwrap();
    for (i, record) in reader.records().enumerate() {
        let mut cells: Vec<String> = record.unwrap().iter().map(str::to_owned).collect();
        if i == row {
            cells[col] = value.to_string();
        }
        out.write_record(&cells).unwrap();
    }
    String::from_utf8(out.into_inner().unwrap()).unwrap()
}

/// The CSV without its first `n` data rows (the newest).
fn without_newest(body: &str, n: usize) -> String {
    let mut lines = csv::Reader::from_reader(body.as_bytes());
    let mut out = csv::Writer::from_writer(Vec::new());
    out.write_record(lines.headers().unwrap()).unwrap();
    for record in lines.records().skip(n) {
        out.write_record(&record.unwrap()).unwrap();
    }
    String::from_utf8(out.into_inner().unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_csv_proves_an_export_offline_and_fails_once_a_cell_is_edited() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let acme = create_owner(dir, "ada@example.com", "Acme");
    add_events(dir, &acme, 3);
    let server = serve(dir);
    let client = Client::new(&server.base);
    client.sign_in("ada@example.com", PASSWORD).await.assert_status(303);
    let export = |query: &'static str| {
        let (client, acme) = (&client, &acme);
        async move {
            let resp = client.http.get(format!("{}/orgs/{acme}/audit.csv?{query}", client.base)).send().await.unwrap();
            assert_eq!(resp.status().as_u16(), 200);
            resp.text().await.unwrap()
        }
    };
    let full = export("chain=1").await;
    let filtered = export("action=deployment.updated&chain=1").await;
    drop(server);
    std::fs::write(dir.join("full.csv"), &full).unwrap();
    std::fs::write(dir.join("filtered.csv"), &filtered).unwrap();
    let out = steward(dir).args(["audit", "checkpoint", "--out", "heads.jsonl"]).output().unwrap();
    assert!(out.status.success());
    let verify = |args: &[&str]| {
        let out = steward(dir).args(["audit", "verify"]).args(args).output().unwrap();
        (out.status.code(), text(&out).0)
    };

    let (code, stdout) = verify(&["--csv", "full.csv"]);
    assert_eq!(code, Some(0), "{stdout}");
    assert!(stdout.starts_with("PROVEN from genesis: 4 events of organization"), "{stdout}");
    let (code, stdout) = verify(&["--csv", "full.csv", "--checkpoint", "heads.jsonl"]);
    assert_eq!(code, Some(0), "{stdout}");
    assert!(stdout.contains("holds the head saved in the checkpoint: event #4"), "{stdout}");

    // one cell edited
    std::fs::write(dir.join("edited.csv"), edited(&full, 1, 1, "member.removed")).unwrap();
    let (code, stdout) = verify(&["--csv", "edited.csv"]);
    assert_eq!(code, Some(1));
    assert!(stdout.contains("NOT VALID: row 2 (event #3) was changed: its action cell"), "{stdout}");

    // the newest row cut off: still a chain from genesis, but short of the saved head
    std::fs::write(dir.join("short.csv"), without_newest(&full, 1)).unwrap();
    assert_eq!(verify(&["--csv", "short.csv"]).0, Some(0));
    let (code, stdout) = verify(&["--csv", "short.csv", "--checkpoint", "heads.jsonl"]);
    assert_eq!(code, Some(1));
    assert!(stdout.contains("the export ends at event #3, before the head saved in the checkpoint (#4"), "{stdout}");

    // a filtered export: self-consistent, not proven on its own, proven through the whole one
    let (code, stdout) = verify(&["--csv", "filtered.csv"]);
    assert_eq!(code, Some(1));
    assert!(stdout.starts_with("NOT PROVEN: the 2 rows") && stdout.contains("is filtered (1 gaps)"), "{stdout}");
    assert!(stdout.contains("--against"), "the sound procedure is explained: {stdout}");
    let (code, stdout) = verify(&["--csv", "filtered.csv", "--against", "full.csv", "--checkpoint", "heads.jsonl"]);
    assert_eq!(code, Some(0), "{stdout}");
    assert!(stdout.starts_with("PROVEN: 2 rows"), "{stdout}");
    let (code, _) = verify(&["--csv", "filtered.csv", "--against", "edited.csv"]);
    assert_eq!(code, Some(1), "an edited full export proves nothing");
}
