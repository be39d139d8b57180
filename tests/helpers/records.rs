//! What tests read back to check that a rule held, and the few changes made behind the app's back.
//!
//! Counts, the audit events, ids by email or name, the mail that went out (waiting for the
//! outbox's worker); an invitation's
//! expiry, an audit store that refuses an event.

use steward::domain::ids::{DeploymentId, InvitationId};
use steward::domain::{AccountId, Email, OrgId};
use steward::storage;

use super::app::{Backend, TestApp};

/// The invitation token in a raw message (quoted-printable soft breaks undone).
pub fn token_in(raw: &str) -> Option<String> {
    link_token_in(raw, "/invitations/")
}

/// The token of the link under `path` (`/invitations/`, `/verify-email/`, `/password/reset/`)
/// in a raw message.
pub fn link_token_in(raw: &str, path: &str) -> Option<String> {
    let text = raw.replace("=\r\n", "").replace("=\n", "").replace("=3D", "=");
    let at = text.find(path)? + path.len();
    let token: String = text[at..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_').collect();
    (token.len() == 43).then_some(token)
}

impl TestApp {
    /// Waits until every email queued so far has had its first attempt: the outbox is now
    /// asynchronous, so a message is written (or sent over SMTP) a moment after the change that
    /// queued it. A message that failed is not waited for (it waits for its retry).
    pub async fn mail_settled(&self) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        loop {
            let untried = self.with_db(|db| storage::outbox::untried(&mut db.conn().expect("conn")).expect("untried")).await;
            if untried == 0 {
                return;
            }
            assert!(std::time::Instant::now() < deadline, "{untried} emails still wait for their first attempt");
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    /// The messages written to the outbox directory, oldest first, once the queued ones are.
    pub async fn outbox(&self) -> Vec<String> {
        self.mail_settled().await;
        self.outbox_files()
    }

    /// The `.eml` files in the outbox directory as they are now, oldest first.
    fn outbox_files(&self) -> Vec<String> {
        let Ok(dir) = std::fs::read_dir(&self.outbox) else { return Vec::new() };
        let mut files: Vec<(std::time::SystemTime, String)> = dir
            .flatten()
            .filter(|e| e.path().extension().is_some_and(|x| x == "eml"))
            .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, std::fs::read_to_string(e.path()).ok()?)))
            .collect();
        files.sort_by_key(|(t, _)| *t);
        files.into_iter().map(|(_, s)| s).collect()
    }

    /// The invitation emails in the outbox, oldest first (sign-up also mails a verification
    /// link, which these leave out).
    pub async fn invitation_mails(&self) -> Vec<String> {
        self.outbox().await.into_iter().filter(|m| token_in(m).is_some()).collect()
    }

    /// The token of the newest invitation mailed to `email` through the outbox.
    pub async fn outbox_token_for(&self, email: &str) -> String {
        self.newest_link_in_outbox(email, "/invitations/").await.unwrap_or_else(|| panic!("no invitation for {email} in the outbox"))
    }

    /// The token of the newest link under `path` mailed to `email`, if any.
    pub async fn newest_link_in_outbox(&self, email: &str, path: &str) -> Option<String> {
        self.mail_settled().await;
        self.newest_link_in_files(email, path)
    }

    fn newest_link_in_files(&self, email: &str, path: &str) -> Option<String> {
        self.outbox_files().iter().rev().filter(|m| m.contains(&format!("To: {email}"))).find_map(|m| link_token_in(m, path))
    }

    /// The newest link under `path` mailed to `email`, waiting for it: some mail (a password
    /// reset) is queued after the answer, and all of it is delivered in the background.
    pub async fn wait_for_link(&self, email: &str, path: &str) -> String {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        loop {
            self.mail_settled().await;
            if let Some(token) = self.newest_link_in_files(email, path) {
                return token;
            }
            assert!(std::time::Instant::now() < deadline, "no {path} link for {email} in the outbox");
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    /// The outbox's rows of the messages to `recipient`, oldest first.
    pub async fn outbox_rows(&self, recipient: &str) -> Vec<storage::outbox::Stored> {
        let recipient = recipient.to_string();
        self.with_db(move |db| storage::outbox::to_recipient(&mut db.conn().expect("conn"), &recipient).expect("outbox rows")).await
    }

    /// Rows in a table, for "nothing changed" assertions.
    pub async fn count(&self, table: &'static str) -> i64 {
        self.with_db(move |db| {
            use diesel::RunQueryDsl;
            #[derive(diesel::QueryableByName)]
            struct N {
                #[diesel(sql_type = diesel::sql_types::BigInt)]
                n: i64,
            }
            let rows: Vec<N> = diesel::sql_query(format!("SELECT COUNT(*) AS n FROM {table}"))
                .load(&mut *db.conn().expect("conn"))
                .expect("count");
            rows[0].n
        })
        .await
    }

    /// The organization's audit events, oldest first.
    pub async fn events(&self, org: OrgId) -> Vec<storage::audit::Event> {
        self.with_db(move |db| storage::audit::all_of_org(&mut db.conn().expect("conn"), org).expect("events")).await
    }

    /// The organization's audit actions, oldest first; each event must match its hash.
    pub async fn actions(&self, org: OrgId) -> Vec<String> {
        let events = self.events(org).await;
        for e in &events {
            assert_eq!(e.hash, e.compute_hash(), "event {} breaks the chain", e.seq);
        }
        events.into_iter().map(|e| e.body.action).collect()
    }

    /// The account id of `email`.
    pub async fn account_id(&self, email: &str) -> AccountId {
        let email = Email::parse(email).expect("email");
        self.with_db(move |db| storage::accounts::find_by_email(&mut db.conn().expect("conn"), &email).expect("query").expect("account").id)
            .await
    }

    /// The id of the pending (possibly expired) invitation of `email` to `org`.
    pub async fn invitation_id(&self, org: OrgId, email: &str) -> InvitationId {
        let email = Email::parse(email).expect("email");
        self.with_db(move |db| {
            storage::invitations::pending_for(&mut db.conn().expect("conn"), org, &email).expect("query").expect("the invitation is pending").id
        })
        .await
    }

    /// Makes the invitation of `email` to `org` an hour past its expiry.
    pub async fn expire_invitation(&self, org: OrgId, email: &str) {
        let email = email.to_string();
        self.with_db(move |db| {
            use diesel::prelude::*;
            use steward::storage::schema::invitations as i;
            let past = storage::now() - chrono::Duration::hours(1);
            let n = diesel::update(i::table.filter(i::org_id.eq(org.to_string())).filter(i::email.eq(email)))
                .set(i::expires_at.eq(past))
                .execute(&mut *db.conn().expect("conn"))
                .expect("expire the invitation");
            assert_eq!(n, 1, "one invitation expired");
        })
        .await
    }

    /// The organization's deployments as stored, by name: id, name, region.
    pub async fn deployments(&self, org: OrgId) -> Vec<(DeploymentId, String, String)> {
        self.with_db(move |db| {
            storage::deployments::list(&mut db.conn().expect("conn"), org, 10_000, 0)
                .expect("deployments")
                .into_iter()
                .map(|r| (r.deployment.id, r.deployment.name, r.deployment.region))
                .collect()
        })
        .await
    }

    /// The id of the deployment of `org` named `name`.
    pub async fn deployment_id(&self, org: OrgId, name: &str) -> DeploymentId {
        let deployments = self.deployments(org).await;
        deployments.into_iter().find(|(_, n, _)| n == name).unwrap_or_else(|| panic!("no deployment {name}")).0
    }

    /// The id of the API key of `org` named `name`.
    pub async fn api_key_id(&self, org: OrgId, name: &str) -> String {
        let name = name.to_string();
        self.with_db(move |db| {
            use diesel::prelude::*;
            use steward::storage::schema::api_keys as k;
            k::table
                .filter(k::org_id.eq(org.to_string()))
                .filter(k::name.eq(name))
                .select(k::id)
                .first::<String>(&mut *db.conn().expect("conn"))
                .expect("the key")
        })
        .await
    }

    /// Makes the API key of `org` named `name` an hour past its expiry.
    pub async fn expire_api_key(&self, org: OrgId, name: &str) {
        let name = name.to_string();
        self.with_db(move |db| {
            use diesel::prelude::*;
            use steward::storage::schema::api_keys as k;
            let past = storage::now() - chrono::Duration::hours(1);
            let n = diesel::update(k::table.filter(k::org_id.eq(org.to_string())).filter(k::name.eq(name)))
                .set(k::expires_at.eq(Some(past)))
                .execute(&mut *db.conn().expect("conn"))
                .expect("expire the key");
            assert_eq!(n, 1, "one key expired");
        })
        .await
    }

    /// From now on the audit store refuses every event of `action` (a trigger raises an
    /// error), so the change that records it must fail whole.
    pub async fn refuse_audit_events(&self, action: &str) {
        let trigger = format!("refuse_{}", action.replace('.', "_"));
        let statements = match self.backend {
            Backend::Sqlite => vec![format!(
                "CREATE TRIGGER {trigger} BEFORE INSERT ON audit_events \
                 WHEN NEW.action = '{action}' BEGIN SELECT RAISE(ABORT, 'audit store refused'); END"
            )],
            Backend::Postgres => vec![
                format!(
                    "CREATE FUNCTION {trigger}() RETURNS trigger AS $$ BEGIN \
                     IF NEW.action = '{action}' THEN RAISE EXCEPTION 'audit store refused'; END IF; \
                     RETURN NEW; END $$ LANGUAGE plpgsql"
                ),
                format!("CREATE TRIGGER {trigger} BEFORE INSERT ON audit_events FOR EACH ROW EXECUTE FUNCTION {trigger}()"),
            ],
        };
        self.with_db(move |db| {
            use diesel::RunQueryDsl;
            let mut conn = db.conn().expect("conn");
            for statement in statements {
                diesel::sql_query(statement).execute(&mut *conn).expect("trigger");
            }
        })
        .await
    }
}
