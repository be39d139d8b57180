//! What tests arrange before they act, one helper for each setup.
//!
//! People signing up, members joining, invitations sent, deployments and API keys made. People
//! sign up through the console; members who join are written straight to the database (the
//! invitation flow has its own tests).

use steward::domain::{AccountId, Email, OrgId, Role, RoleId};
use steward::storage;

use super::app::TestApp;
use super::client::{Client, Page};

/// Everyone's password in the tests.
pub const PASSWORD: &str = "correct-horse-battery";

/// A person to write into an organization.
struct Joiner {
    email: String,
    name: String,
    /// None: the test password, hashed (on the blocking pool) when written.
    password_hash: Option<String>,
    role: Role,
    joined_at: chrono::NaiveDateTime,
}

impl TestApp {
    /// A new person signs up, owning a new organization: returns their signed-in client and the
    /// organization.
    pub async fn sign_up(&self, email: &str, org: &str) -> (Client, OrgId) {
        let client = self.client();
        let name = email.split('@').next().unwrap_or("someone").replace('.', " ");
        let page = client
            .post("/signup", &[("name", &name), ("email", email), ("password", PASSWORD), ("organization", org)])
            .await;
        assert_eq!(page.status, 303, "sign-up of {email} failed: {}", page.body);
        let location = page.location.clone().expect("redirect");
        let org_id: OrgId = location
            .strip_prefix("/orgs/")
            .and_then(|rest| rest.split('/').next())
            .and_then(|id| id.parse().ok())
            .unwrap_or_else(|| panic!("unexpected landing {location}"));
        (client, org_id)
    }

    /// The owner of `email` confirms their address through the link mailed at sign-up.
    pub async fn verify_email(&self, client: &Client, email: &str) {
        let token = self.wait_for_link(email, "/verify-email/").await;
        client.post(&format!("/verify-email/{token}"), &[]).await.assert_status(303);
    }

    /// `email` joins `org` as `role` and signs in: returns their account id and their client.
    /// Their name is the email's local part.
    pub async fn add_member(&self, org: OrgId, email: &str, role: Role) -> (AccountId, Client) {
        let account = self.join(org, vec![joiner(email, role, None)]).await.remove(0);
        let client = self.client();
        client.sign_in(email, PASSWORD).await.assert_status(303);
        (account, client)
    }

    /// `email` joins `org` as `role` without a password, so never signs in: a target of member
    /// actions that costs no password hashing.
    pub async fn add_member_who_never_signs_in(&self, org: OrgId, email: &str, role: Role) -> AccountId {
        self.join(org, vec![joiner(email, role, Some("not-a-password-hash".into()))]).await.remove(0)
    }

    /// `n` members `member-000@bulk.test`… named `Bulk Person 000`… join `org` as `role`, a
    /// second apart from a day ago, in order. They never sign in.
    pub async fn add_bulk_members(&self, org: OrgId, n: usize, role: Role) {
        let start = storage::now() - chrono::Duration::days(1);
        let joiners = (0..n)
            .map(|i| Joiner {
                email: format!("member-{i:03}@bulk.test"),
                name: format!("Bulk Person {i:03}"),
                password_hash: Some("not-a-hash".into()),
                role,
                joined_at: start + chrono::Duration::seconds(i as i64),
            })
            .collect();
        self.join(org, joiners).await;
    }

    /// Writes each account and its active membership of `org`; returns the account ids.
    async fn join(&self, org: OrgId, joiners: Vec<Joiner>) -> Vec<AccountId> {
        self.with_db(move |db| {
            let mut conn = db.conn().expect("conn");
            joiners
                .into_iter()
                .map(|j| {
                    let id = AccountId::new();
                    let row = storage::accounts::Account {
                        id,
                        email: Email::parse(&j.email).expect("email"),
                        name: j.name,
                        password_hash: j.password_hash.unwrap_or_else(|| steward::crypto::hash_password(PASSWORD).expect("hash")),
                        session_epoch: 0,
                        // made behind the app's back, as if they had confirmed their address
                        email_verified_at: Some(j.joined_at),
                        created_at: j.joined_at,
                        last_login_at: None,
                        totp_secret: None,
                        totp_enabled_at: None,
                        totp_last_step: None,
                    };
                    storage::accounts::insert(&mut conn, &row).expect("insert account");
                    let email = Email::parse(&j.email).expect("email");
                    let who = storage::members::NewMember { account: id, email: &email, name: &row.name };
                    storage::members::insert(&mut conn, org, who, j.role, j.joined_at).expect("insert member");
                    id
                })
                .collect()
        })
        .await
    }
}

fn joiner(email: &str, role: Role, password_hash: Option<String>) -> Joiner {
    Joiner {
        email: email.to_string(),
        name: email.split('@').next().unwrap_or("x").to_string(),
        password_hash,
        role,
        joined_at: storage::now(),
    }
}

/// An API key to make on the API keys page: read and write, for every deployment, never
/// expiring, unless said otherwise.
#[derive(Debug, Clone)]
pub struct NewKey {
    name: String,
    permissions: String,
    grants: Vec<String>,
    deployments: Vec<String>,
    lifetime_days: String,
}

impl NewKey {
    pub fn named(name: &str) -> NewKey {
        NewKey {
            name: name.into(),
            permissions: "read_write".into(),
            grants: Vec::new(),
            deployments: Vec::new(),
            lifetime_days: String::new(),
        }
    }

    /// The permissions as the form names them: `read`, `write` or `read_write`.
    pub fn permissions(mut self, permissions: &str) -> NewKey {
        self.permissions = permissions.into();
        self
    }

    pub fn read_only(self) -> NewKey {
        self.permissions("read")
    }

    pub fn write_only(self) -> NewKey {
        self.permissions("write")
    }

    /// Exactly these permissions (`permissions = custom`).
    pub fn grants(mut self, grants: &[&str]) -> NewKey {
        self.grants = grants.iter().map(|g| g.to_string()).collect();
        self.permissions("custom")
    }

    /// Scoped to these deployments (ids) instead of all of them.
    pub fn only_for(mut self, deployments: &[&str]) -> NewKey {
        self.deployments = deployments.iter().map(|d| d.to_string()).collect();
        self
    }

    pub fn expiring_in_days(mut self, days: u32) -> NewKey {
        self.lifetime_days = days.to_string();
        self
    }
}

impl Client {
    /// Invites `email` as `role` to `org`, expecting success.
    pub async fn invite(&self, org: OrgId, email: &str, role: &str) -> Page {
        let page = self.post(&format!("/orgs/{org}/invitations"), &[("email", email), ("role", role)]).await;
        assert_eq!(page.status, 303, "invitation of {email} failed: {}", page.body);
        page
    }

    /// Creates a deployment of `org` on the deployments page, expecting success.
    pub async fn create_deployment(&self, org: OrgId, name: &str, region: &str) {
        let page = self.post(&format!("/orgs/{org}/deployments"), &[("name", name), ("region", region)]).await;
        assert_eq!(page.status, 303, "creating the deployment {name:?} failed: {}", page.body);
    }

    /// Deactivates the member `account` of `org`, expecting success.
    pub async fn deactivate(&self, org: OrgId, account: AccountId) {
        self.post(&format!("/orgs/{org}/members/{account}/deactivate"), &[]).await.assert_status(303);
    }

    /// Makes `key` on the API keys page of `org` (as an owner or admin) and returns its secret,
    /// read from the page that shows it once, checking that it is shown only that once.
    pub async fn create_api_key(&self, org: OrgId, key: NewKey) -> String {
        let scope = if key.deployments.is_empty() { "all" } else { "selected" };
        let mut fields = vec![
            ("name", key.name.as_str()),
            ("permissions", key.permissions.as_str()),
            ("lifetime_days", key.lifetime_days.as_str()),
            ("scope", scope),
        ];
        fields.extend(key.deployments.iter().map(|d| ("deployments", d.as_str())));
        fields.extend(key.grants.iter().map(|g| ("grants", g.as_str())));
        let name = &key.name;
        let created = self.post(&format!("/orgs/{org}/api-keys"), &fields).await;
        assert_eq!(created.status, 303, "creating the API key {name:?} failed:\n{}", created.body);
        let page = self.get(&format!("/orgs/{org}/api-keys")).await;
        page.assert_status(200);
        let secret =
            page.texts("code#secret").into_iter().next().unwrap_or_else(|| panic!("no secret shown for {name:?}:\n{}", page.body));
        assert!(secret.starts_with("stw_"), "a secret is recognisable by its prefix: {secret}");
        let again = self.get(&format!("/orgs/{org}/api-keys")).await;
        assert!(again.texts("code#secret").is_empty() && !again.contains(&secret), "the secret is shown only once");
        secret
    }
}

impl Client {
    /// Creates the custom role `name` holding `permissions` in `org` on the roles page, expecting
    /// success; returns its id, read from where the form leads (the role's page).
    pub async fn create_role(&self, org: OrgId, name: &str, permissions: &[&str]) -> RoleId {
        let mut fields = vec![("name", name), ("description", "")];
        fields.extend(permissions.iter().map(|p| ("permissions", *p)));
        let page = self.post(&format!("/orgs/{org}/roles"), &fields).await;
        assert_eq!(page.status, 303, "creating the role {name:?} failed: {}", page.body);
        let location = page.location.clone().expect("redirect");
        location
            .strip_prefix(&format!("/orgs/{org}/roles/"))
            .and_then(|id| id.parse().ok())
            .unwrap_or_else(|| panic!("unexpected place after creating a role: {location}"))
    }

    /// Gives `role` to the member `account` from the role's page, expecting success.
    pub async fn give_role(&self, org: OrgId, role: RoleId, account: AccountId) {
        let page = self.post(&format!("/orgs/{org}/roles/{role}/members"), &[("account", &account.to_string())]).await;
        assert_eq!(page.status, 303, "giving the role failed: {}", page.body);
    }
}
