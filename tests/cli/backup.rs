//! `steward backup`: a copy taken while the server keeps writing opens and verifies.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use diesel::prelude::*;

use crate::commands::steward;
use crate::helpers::Client;
use crate::server::{PASSWORD, create_owner, db_of, serve};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_while_the_server_writes_opens_and_verifies() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_path_buf();
    let org = create_owner(&dir, "ada@example.com", "Acme");
    let server = serve(&dir);
    let client = Client::new(&server.base);
    client.sign_in("ada@example.com", PASSWORD).await.assert_status(303);

    // deployments created through the console, one after another, until told to stop
    let (stop, made) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicUsize::new(0)));
    let load = {
        let (stop, made) = (stop.clone(), made.clone());
        tokio::spawn(async move {
            let mut i = 0;
            while !stop.load(Ordering::SeqCst) {
                let page = client.post(&format!("/orgs/{org}/deployments"), &[("name", &format!("dep-{i}")), ("region", "us-east-1")]).await;
                page.assert_status(303);
                made.fetch_add(1, Ordering::SeqCst);
                i += 1;
            }
        })
    };
    let written_at_least = |n: usize| {
        let made = made.clone();
        async move {
            let deadline = Instant::now() + Duration::from_secs(60);
            while made.load(Ordering::SeqCst) < n {
                assert!(Instant::now() < deadline, "the load did not start");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    };

    let mut copies = Vec::new();
    for (n, name) in [(5, "copy-1.db"), (15, "copy-2.db")] {
        written_at_least(n).await;
        let before = made.load(Ordering::SeqCst);
        let dir = dir.clone();
        let out = tokio::task::spawn_blocking(move || steward(&dir).args(["backup", name]).output().unwrap()).await.unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert!(stdout.contains("backup written to ") && stdout.contains(name) && stdout.contains(" bytes"), "{stdout}");
        copies.push((name, before));
    }
    assert!(made.load(Ordering::SeqCst) > copies[1].1, "the server kept writing through the backups");
    stop.store(true, Ordering::SeqCst);
    load.await.unwrap();
    let total = made.load(Ordering::SeqCst);
    drop(server);

    for (name, before) in copies {
        let copy = dir.join(name);
        let url = format!("sqlite://{}", copy.display());
        let migrated = steward(&dir).env("STEWARD_DATABASE_URL", &url).arg("migrate").output().unwrap();
        assert!(migrated.status.success(), "{name}: {}", String::from_utf8_lossy(&migrated.stderr));
        let verified = steward(&dir).env("STEWARD_DATABASE_URL", &url).args(["audit", "verify"]).output().unwrap();
        let stdout = String::from_utf8_lossy(&verified.stdout);
        assert!(verified.status.success() && stdout.contains("every chain is intact"), "{name}: {stdout}");
        let deployments: i64 = steward::storage::schema::deployments::table
            .count()
            .get_result(&mut *db_of(&copy).conn().unwrap())
            .unwrap();
        let deployments = deployments as usize;
        assert!((before..=total).contains(&deployments), "{name}: {deployments} deployments, {before} made before it, {total} in all");
    }

    let again = steward(&dir).args(["backup", "copy-1.db"]).output().unwrap();
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("copy-1.db exists"));
}

#[test]
fn backup_of_postgresql_points_to_its_own_tools() {
    let dir = tempfile::tempdir().unwrap();
    let out = steward(dir.path())
        .env("STEWARD_DATABASE_URL", "postgres://nobody@127.0.0.1:1/none")
        .args(["backup", "copy.db"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("pg_dump -Fc") && stderr.contains("pg_restore --clean --if-exists"), "{stderr}");
    assert!(!dir.path().join("copy.db").exists());
    let missing = steward(dir.path()).arg("backup").output().unwrap();
    assert!(!missing.status.success() && String::from_utf8_lossy(&missing.stderr).contains("PATH"));
}
