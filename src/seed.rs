//! `steward seed`: a realistic synthetic organization for demos and benchmarks.
//!
//! Everything is generated in memory from a random stream seeded once per run and written in
//! large batches, one transaction each (prepared single-row INSERTs on SQLite, COPY on
//! PostgreSQL), so that a million audit events take seconds rather than hours. The audit chain
//! is built exactly as `storage::audit::append` builds it, event after event, on a generator
//! thread while the previous batch is being written.

use std::fmt::{self, Write as _};
use std::sync::mpsc;
use std::time::Instant;

use chrono::{NaiveDateTime, TimeDelta};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;

use crate::crypto::{self, sha256_hex};
use crate::storage::schema::{accounts, audit_events, deployments, invitations, memberships, organizations};
use crate::storage::{self, Backend, Db, DbConn, DbError, write_tx};
use crate::domain::ids::{ApiKeyId, DeploymentId, InvitationId};
use crate::domain::password::check_new_password;
use crate::domain::{AccountId, Email, InvitationStatus, MembershipStatus, OrgId, Permission, PermissionSet, Role, RoleId, names};
use crate::operations::api_keys::PREFIX;
use crate::operations::deployments::REGIONS;
use crate::storage::accounts::Account;
use crate::storage::api_keys::ApiKey;
use crate::storage::audit::{Event, EventBody, GENESIS_HASH};
use crate::storage::invitations::Invitation;
use crate::storage::members::{Membership, NewRow as NewMembership};
use crate::storage::orgs::Org;

/// What to make.
#[derive(Debug, Clone)]
pub struct Options {
    pub members: usize,
    pub events: usize,
    pub org_name: String,
    /// The owner's password; generated (and reported once) when None.
    pub owner_password: Option<String>,
}

#[derive(Debug, thiserror::Error)]
#[error("seed failed: {0}")]
pub struct SeedError(pub String);

impl From<diesel::result::Error> for SeedError {
    fn from(e: diesel::result::Error) -> SeedError {
        SeedError(format!("database error: {e}"))
    }
}

impl From<DbError> for SeedError {
    fn from(e: DbError) -> SeedError {
        SeedError(e.to_string())
    }
}

/// What was made, printed by the command.
#[derive(Debug, Clone)]
pub struct Report {
    pub org_id: String,
    pub owner_email: String,
    pub generated_password: Option<String>,
    pub members: usize,
    pub invitations: usize,
    pub events: usize,
    pub seconds: f64,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "seeded organization {} in {:.1}s", self.org_id, self.seconds)?;
        writeln!(f, "  members: {}, invitations: {}, audit events: {}", self.members, self.invitations, self.events)?;
        write!(f, "  owner: {}", self.owner_email)?;
        if let Some(p) = &self.generated_password {
            write!(f, " (password, shown once: {p})")?;
        }
        Ok(())
    }
}

/// Inserts `$rows` (a slice of a table's Insertable rows) on the connection's own backend, as
/// fast as that backend takes them; MultiConnection has no batch insert. SQLite gets one cached
/// single-row statement per row: a multi-row INSERT there needs a statement journal (it might
/// fail half-way), which costs more than it saves. PostgreSQL gets `COPY … FROM STDIN`, built
/// from the listed columns (every inserted column of the table, as in the row type).
macro_rules! bulk_insert {
    ($conn:expr, $table:ident, $rows:expr, |$r:ident| $($column:ident = $value:expr),+ $(,)?) => {
        match $conn {
            DbConn::Sqlite(c) => {
                $rows.iter().try_for_each(|row| diesel::insert_into($table::table).values(row).execute(c).map(drop))
            }
            DbConn::Postgres(c) => {
                let values: Vec<_> = $rows.iter().map(|$r| ($($table::$column.eq($value),)+)).collect();
                diesel::copy_from($table::table).from_insertable(&values).execute(c).map(drop)
            }
        }
    };
}

/// A handful of rows: one statement per row on SQLite (see `bulk_insert!`), one for all on
/// PostgreSQL.
macro_rules! insert_few {
    ($conn:expr, $table:expr, $rows:expr) => {
        match $conn {
            DbConn::Sqlite(c) => {
                $rows.iter().try_for_each(|row| diesel::insert_into($table).values(row).execute(c).map(drop))
            }
            DbConn::Postgres(c) => diesel::insert_into($table).values($rows).execute(c).map(drop),
        }
    };
}

/// How far back the organization's history goes (about 18 months).
const HISTORY_DAYS: i64 = 540;
const MICROS_PER_DAY: i64 = 86_400_000_000;
const MICROS_PER_HOUR: i64 = 3_600_000_000;
/// The default invitation lifetime (`STEWARD_INVITE_TTL`).
const INVITE_TTL_MICROS: i64 = 24 * MICROS_PER_HOUR;

/// Rows per transaction.
const MEMBERS_PER_TX: usize = 10_000;
const PG_MEMBERS_PER_TX: usize = 2_000;
const EVENTS_PER_TX: usize = 50_000;

const OWNER_NAME: &str = "Seed Owner";
const EMAIL_DOMAIN: &str = "seed.example";

/// Display name and the ASCII form used in the email address.
const FIRST_NAMES: &[(&str, &str)] = &[
    ("Ada", "ada"), ("Alan", "alan"), ("Amara", "amara"), ("Ana", "ana"), ("Arjun", "arjun"),
    ("Beatriz", "beatriz"), ("Björn", "bjorn"), ("Carlos", "carlos"), ("Chen", "chen"), ("Chloé", "chloe"),
    ("Daniel", "daniel"), ("Dmitri", "dmitri"), ("Elena", "elena"), ("Emeka", "emeka"), ("Fatima", "fatima"),
    ("Grace", "grace"), ("Hannah", "hannah"), ("Hiroshi", "hiroshi"), ("Ines", "ines"), ("Isaac", "isaac"),
    ("Jamal", "jamal"), ("José", "jose"), ("Katarzyna", "katarzyna"), ("Kenji", "kenji"), ("Lars", "lars"),
    ("Leila", "leila"), ("Linus", "linus"), ("Lucía", "lucia"), ("Margaret", "margaret"), ("Mei", "mei"),
    ("Mohammed", "mohammed"), ("Nadia", "nadia"), ("Noah", "noah"), ("Olivia", "olivia"), ("Omar", "omar"),
    ("Priya", "priya"), ("Rafael", "rafael"), ("Sara", "sara"), ("Siobhán", "siobhan"), ("Tariq", "tariq"),
    ("Tomás", "tomas"), ("Yuki", "yuki"), ("Zanele", "zanele"), ("Zoë", "zoe"),
];

const LAST_NAMES: &[(&str, &str)] = &[
    ("Adeyemi", "adeyemi"), ("Andersson", "andersson"), ("Bianchi", "bianchi"), ("Brown", "brown"),
    ("Chen", "chen"), ("Costa", "costa"), ("Dubois", "dubois"), ("Fischer", "fischer"), ("García", "garcia"),
    ("Hopper", "hopper"), ("Ivanova", "ivanova"), ("Jansen", "jansen"), ("Kim", "kim"), ("Kowalski", "kowalski"),
    ("Lovelace", "lovelace"), ("Martin", "martin"), ("Mensah", "mensah"), ("Müller", "muller"),
    ("Nakamura", "nakamura"), ("Nguyen", "nguyen"), ("Novak", "novak"), ("O'Connor", "oconnor"),
    ("Okafor", "okafor"), ("Patel", "patel"), ("Pereira", "pereira"), ("Rossi", "rossi"), ("Sato", "sato"),
    ("Schmidt", "schmidt"), ("Silva", "silva"), ("Singh", "singh"), ("Smith", "smith"), ("Tanaka", "tanaka"),
    ("Turing", "turing"), ("Van Dijk", "vandijk"), ("Wang", "wang"), ("Williams", "williams"),
    ("Yilmaz", "yilmaz"), ("Zhang", "zhang"),
];

const SERVICES: &[&str] = &[
    "api", "web", "worker", "billing", "search", "auth", "ingest", "analytics", "scheduler", "notifications",
    "reports", "gateway", "payments", "media",
];
const ENVIRONMENTS: &[&str] = &["prod", "staging", "dev", "canary", "eu-prod", "qa"];

const KEY_NAMES: &[&str] = &[
    "ci-deploy", "terraform", "metrics-exporter", "backup-job", "github-actions", "zapier-sync", "billing-sync",
    "status-page",
];

const BROWSERS: &[&str] = &[
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:127.0) Gecko/20100101 Firefox/127.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
    "Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
];
const API_AGENTS: &[&str] =
    &["curl/8.5.0", "python-requests/2.32.3", "terraform-provider-steward/1.4.2", "Go-http-client/2.0", "node-fetch/3.3.2"];

/// The actions of the generated history and how often each happens, per thousand events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    MemberInvited,
    InvitationResent,
    InvitationCancelled,
    InvitationAccepted,
    InvitationDeclined,
    RoleChanged,
    Deactivated,
    Activated,
    Removed,
    Left,
    DeploymentCreated,
    DeploymentUpdated,
    DeploymentDeleted,
    KeyCreated,
    KeyRevoked,
    OrgRenamed,
}

const ACTION_WEIGHTS: &[(Action, u64)] = &[
    (Action::MemberInvited, 170),
    (Action::InvitationResent, 40),
    (Action::InvitationCancelled, 20),
    (Action::InvitationAccepted, 140),
    (Action::InvitationDeclined, 15),
    (Action::RoleChanged, 90),
    (Action::Deactivated, 40),
    (Action::Activated, 25),
    (Action::Removed, 20),
    (Action::Left, 10),
    (Action::DeploymentCreated, 80),
    (Action::DeploymentUpdated, 240),
    (Action::DeploymentDeleted, 45),
    (Action::KeyCreated, 40),
    (Action::KeyRevoked, 22),
    (Action::OrgRenamed, 3),
];

impl Action {
    fn name(self) -> &'static str {
        match self {
            Action::MemberInvited => "member.invited",
            Action::InvitationResent => "invitation.resent",
            Action::InvitationCancelled => "invitation.cancelled",
            Action::InvitationAccepted => "invitation.accepted",
            Action::InvitationDeclined => "invitation.declined",
            Action::RoleChanged => "member.role_changed",
            Action::Deactivated => "member.deactivated",
            Action::Activated => "member.activated",
            Action::Removed => "member.removed",
            Action::Left => "member.left",
            Action::DeploymentCreated => "deployment.created",
            Action::DeploymentUpdated => "deployment.updated",
            Action::DeploymentDeleted => "deployment.deleted",
            Action::KeyCreated => "api_key.created",
            Action::KeyRevoked => "api_key.revoked",
            Action::OrgRenamed => "org.renamed",
        }
    }

    /// Whether the event is about a member (and needs one).
    fn about_member(self) -> bool {
        !matches!(
            self,
            Action::DeploymentCreated
                | Action::DeploymentUpdated
                | Action::DeploymentDeleted
                | Action::KeyCreated
                | Action::KeyRevoked
                | Action::OrgRenamed
        )
    }

    /// Whether the JSON API can do it, so that an API key may be the actor.
    fn via_api(self) -> bool {
        matches!(
            self,
            Action::MemberInvited
                | Action::InvitationResent
                | Action::InvitationCancelled
                | Action::RoleChanged
                | Action::Removed
                | Action::DeploymentCreated
                | Action::DeploymentUpdated
                | Action::DeploymentDeleted
        )
    }
}

/// splitmix64: a small, fast, deterministic stream, seeded from the OS once per run.
struct Rng(u64);

impl Rng {
    fn from_os() -> Rng {
        Rng(u64::from_le_bytes(crypto::random_bytes::<8>()))
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in 0..n (0 when n is 0).
    fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next()) * u128::from(n)) >> 64) as u64
    }

    fn index(&mut self, n: usize) -> usize {
        self.below(n as u64) as usize
    }

    /// Uniform in 0..n microseconds (0 when n ≤ 0).
    fn micros(&mut self, n: i64) -> i64 {
        if n <= 0 { 0 } else { self.below(n as u64) as i64 }
    }

    /// True `per_mille` times in a thousand.
    fn chance(&mut self, per_mille: u64) -> bool {
        self.below(1000) < per_mille
    }

    /// 16 hex digits, the shape of an API key's public part.
    fn hex16(&mut self) -> String {
        format!("{:016x}", self.next())
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn pick<T: Copy>(&mut self, items: &[T], fallback: T) -> T {
        items.get(self.index(items.len())).copied().unwrap_or(fallback)
    }
}

/// A seeded member, as the events need it. Times are microseconds after the organization's
/// creation.
struct Member {
    id: AccountId,
    /// The id as the events write it, made once.
    id_text: String,
    email: String,
    name: String,
    role: Role,
    created: i64,
}

/// A deployment the history speaks of: a live one, or one since renamed or deleted.
struct PastDeployment {
    name: String,
    region: &'static str,
}

struct Key {
    /// The id as the events write it.
    id_text: String,
    name: &'static str,
    /// When it could be used: from its creation to its revocation.
    from: i64,
    until: i64,
}

/// Everything decided before the first write: the passwords are hashed without holding a
/// connection, and the members exist in memory for the events to refer to.
struct Plan {
    org: OrgId,
    org_name: String,
    /// A short random tag in every generated email, so that runs never collide.
    run: String,
    /// The organization's creation; every seeded time lies between it and `now`.
    start: NaiveDateTime,
    now: NaiveDateTime,
    span: i64,
    owner_hash: String,
    generated_password: Option<String>,
    /// Hashed once and shared by every other seeded account: they are not meant to sign in.
    member_hash: String,
    events: usize,
    members: Vec<Member>,
    rng: Rng,
}

impl Plan {
    fn new(options: &Options) -> Result<Plan, SeedError> {
        let org_name =
            names::org_name("org", &options.org_name).map_err(|e| SeedError(format!("organization name: {e}")))?;
        let (password, generated_password) = match &options.owner_password {
            Some(p) => {
                check_new_password("password", p).map_err(|e| SeedError(format!("owner password: {e}")))?;
                (p.clone(), None)
            }
            None => {
                let p = crypto::random_token();
                (p.clone(), Some(p))
            }
        };
        let owner_hash = crypto::hash_password(&password).map_err(|e| SeedError(e.to_string()))?;
        let member_hash = crypto::hash_password(&crypto::random_token()).map_err(|e| SeedError(e.to_string()))?;
        let now = crate::storage::now();
        let span = HISTORY_DAYS * MICROS_PER_DAY;
        let start = now - TimeDelta::microseconds(span);
        let mut rng = Rng::from_os();
        let run: String = (0..6)
            .map(|_| char::from(b"abcdefghijklmnopqrstuvwxyz0123456789"[rng.index(36)]))
            .collect();
        let mut plan = Plan {
            org: OrgId::new(),
            org_name,
            run,
            start,
            now,
            span,
            owner_hash,
            generated_password,
            member_hash,
            // an organization always starts with its `org.created`
            events: options.events.max(1),
            members: Vec::new(),
            rng,
        };
        plan.members = plan.make_members(options.members.max(1));
        Ok(plan)
    }

    fn at(&self, micros: i64) -> NaiveDateTime {
        self.start + TimeDelta::microseconds(micros)
    }

    fn email(&self, first: &str, last: &str, n: usize) -> String {
        format!("{first}.{last}.{n}.{}@{EMAIL_DOMAIN}", self.run)
    }

    /// The owner (index 0, who made the organization) and `n - 1` others, oldest first. The
    /// organization grows: the count of members at time t rises with t², so most joined lately.
    fn make_members(&mut self, n: usize) -> Vec<Member> {
        let mut out = Vec::with_capacity(n);
        let id = AccountId::new();
        out.push(Member {
            id,
            id_text: id.to_string(),
            email: String::new(), // chosen inside the first transaction
            name: OWNER_NAME.to_string(),
            role: Role::Owner,
            created: 0,
        });
        let mut last = 0i64;
        for i in 1..n {
            let (first, first_ascii) = self.rng.pick(FIRST_NAMES, ("Ada", "ada"));
            let (family, family_ascii) = self.rng.pick(LAST_NAMES, ("Lovelace", "lovelace"));
            let x = i as f64 / n as f64;
            let created = ((x.sqrt() * self.span as f64) as i64 + self.rng.micros(6 * MICROS_PER_HOUR))
                .clamp(last, self.span - MICROS_PER_HOUR);
            last = created;
            let roll = self.rng.below(1000);
            let role = if roll < 50 {
                Role::Admin
            } else if roll < 300 {
                Role::Editor
            } else {
                Role::Viewer
            };
            let id = AccountId::new();
            out.push(Member {
                id,
                id_text: id.to_string(),
                email: self.email(first_ascii, family_ascii, i),
                name: format!("{first} {family}"),
                role,
                created,
            });
        }
        out
    }
}

pub fn run(db: &Db, options: &Options) -> Result<Report, SeedError> {
    let started = Instant::now();
    let mut plan = Plan::new(options)?;
    let mut conn = db.conn()?;
    let backend = conn.backend();
    if backend == Backend::Sqlite {
        // a seeding tool may trade durability for speed: a crash loses a half-made demo org
        conn.batch_execute("PRAGMA synchronous = OFF; PRAGMA cache_size = -262144;")?;
    }
    let outcome = seed(&mut conn, &mut plan);
    if backend == Backend::Sqlite {
        // back to what every pooled connection uses (see storage::SqlitePragmas)
        let restored = conn.batch_execute("PRAGMA synchronous = NORMAL; PRAGMA cache_size = -2000;");
        if outcome.is_ok() {
            restored?;
        }
    }
    let (owner_email, invitations) = match outcome {
        Ok(made) => made,
        Err(e) => {
            discard(&mut conn, &plan);
            return Err(e);
        }
    };
    Ok(Report {
        org_id: plan.org.to_string(),
        owner_email,
        generated_password: plan.generated_password.take(),
        members: plan.members.len(),
        invitations,
        events: plan.events,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// Writes the whole organization; returns the owner's email and the number of invitations.
fn seed(conn: &mut DbConn, plan: &mut Plan) -> Result<(String, usize), SeedError> {
    let owner_email = insert_org_and_owner(conn, plan)?;
    insert_members(conn, plan)?;
    insert_custom_roles(conn, plan)?;
    let (deployments, keys) = write_tx(conn, |c| {
        let deployments = insert_deployments(c, plan)?;
        let keys = insert_api_keys(c, plan)?;
        Ok::<_, SeedError>((deployments, keys))
    })?;
    let invitations = write_tx(conn, |c| insert_invitations(c, plan))?;
    insert_events(conn, plan, &deployments, &keys)?;
    // tidying up, best effort: the organization is complete whether or not these run
    let _ = match conn.backend() {
        // fresh statistics, so the planner knows the tables just grew by orders of magnitude
        Backend::Postgres => conn.batch_execute("ANALYZE accounts, memberships, invitations, audit_events;"),
        // give back the WAL's disk space now rather than at the next quiet moment
        Backend::Sqlite => conn.batch_execute("PRAGMA wal_checkpoint(TRUNCATE);"),
    };
    Ok((owner_email, invitations))
}

/// The organization, its owner account (the first free `seed-owner…@example.com`) and the
/// owner membership.
fn insert_org_and_owner(conn: &mut DbConn, plan: &mut Plan) -> Result<String, SeedError> {
    let org = plan.org;
    let (start, now) = (plan.start, plan.now);
    let name = plan.org_name.clone();
    let hash = plan.owner_hash.clone();
    let Some(owner) = plan.members.first_mut() else { return Err(SeedError("no owner planned".into())) };
    let email = write_tx(conn, |c| {
        let mut n = 1usize;
        let email = loop {
            let candidate =
                if n == 1 { "seed-owner@example.com".to_string() } else { format!("seed-owner+{n}@example.com") };
            let taken: bool =
                diesel::select(diesel::dsl::exists(accounts::table.filter(accounts::email.eq(&candidate))))
                    .get_result(c)?;
            if !taken {
                break candidate;
            }
            n += 1;
        };
        diesel::insert_into(organizations::table)
            .values(&Org { id: org, name, revision: 0, created_at: start, require_two_factor: false })
            .execute(c)?;
        diesel::insert_into(accounts::table)
            .values(&Account {
                id: owner.id,
                email: Email::from_db(email.clone()),
                name: owner.name.clone(),
                password_hash: hash,
                session_epoch: 0,
                created_at: start,
                last_login_at: None,
                email_verified_at: Some(start),
                totp_secret: None,
                totp_enabled_at: None,
                totp_last_step: None,
            })
            .execute(c)?;
        diesel::insert_into(memberships::table)
            .values(&NewMembership::from(Membership {
                org_id: org,
                account_id: owner.id,
                email: Email::from_db(email.clone()),
                name: owner.name.clone(),
                role: Role::Owner,
                status: MembershipStatus::Active,
                created_at: start,
                last_active_at: Some(now),
            }))
            .execute(c)?;
        Ok::<_, SeedError>(email)
    })?;
    owner.email = email.clone();
    Ok(email)
}

/// Every member but the owner, with their accounts, in batches.
fn insert_members(conn: &mut DbConn, plan: &mut Plan) -> Result<(), SeedError> {
    let org = plan.org;
    let mut account_rows: Vec<Account> = Vec::new();
    let mut membership_rows: Vec<NewMembership> = Vec::new();
    let members = plan.members.get(1..).unwrap_or_default();
    let per_tx = match conn.backend() {
        Backend::Sqlite => MEMBERS_PER_TX,
        // each membership bumps its organization's counter row (a trigger); PostgreSQL keeps
        // every version of that row until the transaction ends, and each bump walks them all
        Backend::Postgres => PG_MEMBERS_PER_TX,
    };
    for batch in members.chunks(per_tx) {
        account_rows.clear();
        membership_rows.clear();
        for m in batch {
            let since = plan.span - m.created;
            let inactive = plan.rng.chance(80);
            let last_active = if plan.rng.chance(30) {
                // joined and never came back
                m.created
            } else if inactive {
                m.created + (plan.rng.unit() * 0.7 * since as f64) as i64
            } else {
                // mostly within the last days, a tail over months
                let u = plan.rng.unit();
                let ago = ((u * u * u) * 180.0 * MICROS_PER_DAY as f64) as i64;
                (plan.span - ago.min(since)).max(m.created)
            };
            let created_at = plan.at(m.created);
            let last_active_at = plan.at(last_active);
            account_rows.push(Account {
                id: m.id,
                email: Email::from_db(m.email.clone()),
                name: m.name.clone(),
                password_hash: plan.member_hash.clone(),
                session_epoch: 0,
                created_at,
                last_login_at: Some(last_active_at),
                email_verified_at: Some(created_at),
                totp_secret: None,
                totp_enabled_at: None,
                totp_last_step: None,
            });
            membership_rows.push(NewMembership::from(Membership {
                org_id: org,
                account_id: m.id,
                email: Email::from_db(m.email.clone()),
                name: m.name.clone(),
                role: m.role,
                status: if inactive { MembershipStatus::Inactive } else { MembershipStatus::Active },
                created_at,
                last_active_at: Some(last_active_at),
            }));
        }
        write_tx(conn, |c| {
            faster_commits(c)?;
            bulk_insert!(c, accounts, account_rows, |r|
                id = r.id,
                email = &r.email,
                name = &r.name,
                password_hash = &r.password_hash,
                session_epoch = r.session_epoch,
                created_at = r.created_at,
                last_login_at = r.last_login_at,
                email_verified_at = r.email_verified_at,
            )?;
            bulk_insert!(c, memberships, membership_rows, |r|
                org_id = r.membership.org_id,
                account_id = r.membership.account_id,
                email = &r.membership.email,
                name = &r.membership.name,
                role = r.membership.role,
                status = r.membership.status,
                created_at = r.membership.created_at,
                last_active_at = r.membership.last_active_at,
                name_key = &r.name_key,
            )?;
            Ok::<_, SeedError>(())
        })?;
    }
    Ok(())
}

/// On PostgreSQL, the batch's commit does not wait for the WAL flush (SQLite's equivalent is
/// `synchronous = OFF`, set for the whole run).
/// The organization's custom roles, as a real one has a few, each given to some of its members
/// (about one member in four holds one, a few hold two), so that lists show and filter them.
const CUSTOM_ROLES: [(&str, &str, &[Permission]); 3] = [
    ("Support", "Answers customers: sees members and deployments", &[Permission::MembersRead, Permission::DeploymentsRead]),
    ("Recruiter", "Invites people", &[Permission::MembersRead, Permission::MembersInvite]),
    ("Auditor", "Reads the audit log", &[Permission::AuditView]),
];

fn insert_custom_roles(conn: &mut DbConn, plan: &mut Plan) -> Result<(), SeedError> {
    use crate::storage::schema::member_roles;
    let now = plan.at(plan.span);
    let mut ids = Vec::new();
    write_tx(conn, |c| {
        for (name, description, permissions) in CUSTOM_ROLES {
            let role = crate::storage::roles::CustomRole {
                id: RoleId::new(),
                org_id: plan.org,
                name: name.to_string(),
                name_key: crate::domain::custom_roles::name_key(name),
                description: description.to_string(),
                permissions: PermissionSet::of(permissions),
                created_at: plan.at(0),
                updated_at: now,
            };
            crate::storage::roles::insert(c, &role)?;
            ids.push(role.id);
        }
        Ok::<_, SeedError>(())
    })?;
    let mut holders: Vec<(AccountId, Vec<RoleId>)> = Vec::new();
    for m in plan.members.get(1..).unwrap_or_default() {
        if plan.rng.chance(250) {
            let first = plan.rng.index(ids.len());
            let mut held = vec![ids[first]];
            if plan.rng.chance(200) {
                held.push(ids[(first + 1) % ids.len()]);
            }
            holders.push((m.id, held));
        }
    }
    let org = plan.org;
    for batch in holders.chunks(MEMBERS_PER_TX) {
        write_tx(conn, |c| {
            let values: Vec<_> = batch
                .iter()
                .flat_map(|(a, held)| held.iter().map(move |r| (*a, *r)))
                .map(|(a, r)| (member_roles::org_id.eq(org), member_roles::account_id.eq(a), member_roles::role_id.eq(r)))
                .collect();
            match c {
                DbConn::Sqlite(c) => values.iter().try_for_each(|v| diesel::insert_into(member_roles::table).values(v.clone()).execute(c).map(drop)),
                DbConn::Postgres(c) => values.chunks(10_000).try_for_each(|v| diesel::insert_into(member_roles::table).values(v).execute(c).map(drop)),
            }?;
            // each membership's copy of its role ids
            for (account, held) in batch {
                diesel::update(memberships::table.find((org, *account)))
                    .set(memberships::custom_role_ids.eq(crate::storage::roles::copy_of(held)))
                    .execute(c)?;
            }
            Ok::<_, SeedError>(())
        })?;
    }
    Ok(())
}

fn faster_commits(conn: &mut DbConn) -> QueryResult<()> {
    if conn.backend() == Backend::Postgres {
        conn.batch_execute("SET LOCAL synchronous_commit = off")?;
    }
    Ok(())
}

/// The owner and the admins: who makes changes, oldest first.
fn actors(plan: &Plan) -> Vec<usize> {
    let leads = plan.members.iter().enumerate().filter(|(_, m)| matches!(m.role, Role::Owner | Role::Admin));
    leads.map(|(i, _)| i).collect()
}

/// A handful of deployments with distinct `service-environment` names.
fn insert_deployments(conn: &mut DbConn, plan: &mut Plan) -> Result<Vec<PastDeployment>, SeedError> {
    let mut pool: Vec<String> =
        SERVICES.iter().flat_map(|s| ENVIRONMENTS.iter().map(move |e| format!("{s}-{e}"))).collect();
    let count = 5 + plan.rng.index(16);
    let creators = actors(plan);
    let mut rows = Vec::with_capacity(count);
    for i in 0..count.min(pool.len()) {
        let j = i + plan.rng.index(pool.len() - i);
        pool.swap(i, j);
        let region = plan.rng.pick(REGIONS, ("us-east-1", "")).0;
        let created = plan.rng.micros(plan.span);
        let updated = created + plan.rng.micros(plan.span - created);
        let creator = plan.members.get(plan.rng.pick(&creators, 0)).map(|m| m.id);
        rows.push(storage::deployments::Deployment {
            id: DeploymentId::new(),
            org_id: plan.org,
            name: pool[i].clone(),
            region: region.to_string(),
            created_by: creator,
            created_at: plan.at(created),
            updated_at: plan.at(updated),
        });
    }
    insert_few!(conn, deployments::table, &rows)?;
    // the names of the history: the live deployments and others, since renamed or deleted
    Ok(pool
        .into_iter()
        .map(|name| {
            let region = plan.rng.pick(REGIONS, ("us-east-1", "")).0;
            PastDeployment { name, region }
        })
        .collect())
}

/// A few API keys (one of them revoked), the actors of the events made through the API. They
/// cannot authenticate: nobody knows their secret.
fn insert_api_keys(conn: &mut DbConn, plan: &mut Plan) -> Result<Vec<Key>, SeedError> {
    let count = 3 + plan.rng.index(3);
    let creators = actors(plan);
    let mut keys = Vec::with_capacity(count);
    for (i, name) in KEY_NAMES.iter().take(count).enumerate() {
        let created = plan.rng.micros(plan.span / 2);
        let revoked = (i == count - 1).then(|| created + plan.rng.micros(plan.span - created));
        let last_used = revoked.unwrap_or_else(|| plan.span - plan.rng.micros(MICROS_PER_DAY));
        let creator = plan.members.get(plan.rng.pick(&creators, 0)).map(|m| m.id);
        let row = ApiKey {
            id: ApiKeyId::new(),
            org_id: plan.org,
            name: name.to_string(),
            lookup: plan.rng.hex16(),
            secret_hash: sha256_hex(crypto::random_token().as_bytes()),
            permissions: if i % 2 == 0 { "read_write" } else { "read" }.to_string(),
            scope: "all".to_string(),
            expires_at: None,
            created_by: creator,
            created_at: plan.at(created),
            last_used_at: Some(plan.at(last_used)),
            revoked_at: revoked.map(|r| plan.at(r)),
            grants: None,
        };
        crate::storage::api_keys::insert(conn, &row, &[])?;
        keys.push(Key { id_text: row.id.to_string(), name, from: created, until: revoked.unwrap_or(plan.span) });
    }
    Ok(keys)
}

/// About 1% of the members again as invitations, half of them still pending, half expired.
fn insert_invitations(conn: &mut DbConn, plan: &mut Plan) -> Result<usize, SeedError> {
    let n = plan.members.len();
    let count = if n >= 10 { (n / 100).max(2) } else { 0 };
    let inviters = actors(plan);
    let mut rows = Vec::with_capacity(count);
    for i in 0..count {
        let (_, first) = plan.rng.pick(FIRST_NAMES, ("Ada", "ada"));
        let (_, family) = plan.rng.pick(LAST_NAMES, ("Lovelace", "lovelace"));
        let created = if i % 2 == 0 {
            plan.span - plan.rng.micros(20 * MICROS_PER_HOUR) // pending
        } else {
            plan.span - 2 * MICROS_PER_DAY - plan.rng.micros(60 * MICROS_PER_DAY) // expired
        };
        let role = if plan.rng.chance(300) { Role::Editor } else { Role::Viewer };
        rows.push(Invitation {
            id: InvitationId::new(),
            org_id: plan.org,
            email: Email::from_db(plan.email(first, family, n + i)),
            role,
            status: InvitationStatus::Pending,
            token_hash: sha256_hex(crypto::random_token().as_bytes()),
            invited_by: plan.members.get(plan.rng.pick(&inviters, 0)).map(|m| m.id),
            created_at: plan.at(created),
            expires_at: plan.at(created + INVITE_TTL_MICROS),
            responded_at: None,
        });
    }
    for chunk in rows.chunks(1_000) {
        // 10 parameters a row, well under PostgreSQL's 65,535 a statement
        insert_few!(conn, invitations::table, chunk)?;
    }
    Ok(count)
}

/// Makes the audit history on a generator thread and writes it batch after batch, the
/// generator filling the next batch while the last one is written.
fn insert_events(
    conn: &mut DbConn,
    plan: &mut Plan,
    deployments: &[PastDeployment],
    keys: &[Key],
) -> Result<(), SeedError> {
    let rng = Rng(plan.rng.next());
    let plan: &Plan = plan;
    let generator = Generator::new(plan, rng, deployments, keys);
    let total = plan.events;
    std::thread::scope(|scope| {
        let (full_tx, full_rx) = mpsc::sync_channel::<Vec<Event>>(1);
        let (empty_tx, empty_rx) = mpsc::channel::<Vec<Event>>();
        scope.spawn(move || generator.run(total, full_tx, empty_rx));
        for batch in full_rx {
            write_tx(conn, |c| {
                faster_commits(c)?;
                bulk_insert!(c, audit_events, batch, |r|
                    org_id = r.org_id,
                    seq = r.seq,
                    occurred_at = r.body.occurred_at,
                    action = &r.body.action,
                    actor_kind = &r.body.actor_kind,
                    actor_id = &r.actor_id,
                    actor_email = &r.body.actor_email,
                    target = &r.body.target,
                    target_email = &r.body.target_email,
                    ip = &r.body.ip,
                    user_agent = &r.body.user_agent,
                    details = &r.body.details,
                    prev_hash = &r.prev_hash,
                    hash = &r.hash,
                )?;
                Ok::<_, SeedError>(())
            })?;
            // the generator reuses the rows' strings; it may be gone already
            let _ = empty_tx.send(batch);
        }
        Ok(())
    })
}

/// Who acts in an event.
#[derive(Clone, Copy)]
enum Who {
    /// A seeded member, by index.
    Member(usize),
    Key(usize),
    /// Someone declining an invitation, who has no session.
    Invitee(usize),
}

struct Generator<'a> {
    org: OrgId,
    org_name: String,
    start: NaiveDateTime,
    span: i64,
    members: &'a [Member],
    /// Indices of the owner and admins, oldest first, and when each joined.
    actors: Vec<usize>,
    actor_since: Vec<i64>,
    member_since: Vec<i64>,
    deployments: &'a [PastDeployment],
    keys: &'a [Key],
    rng: Rng,
    renamed: bool,
    total_weight: u64,
}

impl<'a> Generator<'a> {
    fn new(plan: &'a Plan, rng: Rng, deployments: &'a [PastDeployment], keys: &'a [Key]) -> Generator<'a> {
        let actors = actors(plan);
        Generator {
            org: plan.org,
            org_name: plan.org_name.clone(),
            start: plan.start,
            span: plan.span,
            members: &plan.members,
            actor_since: actors.iter().filter_map(|&i| plan.members.get(i)).map(|m| m.created).collect(),
            actors,
            member_since: plan.members.iter().map(|m| m.created).collect(),
            deployments,
            keys,
            rng,
            renamed: false,
            total_weight: ACTION_WEIGHTS.iter().map(|(_, w)| w).sum(),
        }
    }

    fn run(mut self, total: usize, full: mpsc::SyncSender<Vec<Event>>, empty: mpsc::Receiver<Vec<Event>>) {
        let mut prev_hash = GENESIS_HASH.to_string();
        let mut last_time = 0i64;
        let mut seq = 0usize;
        let mut spare: Vec<Vec<Event>> = Vec::new();
        while seq < total {
            let mut batch = empty.try_recv().ok().or_else(|| spare.pop()).unwrap_or_default();
            let n = EVENTS_PER_TX.min(total - seq);
            batch.truncate(n);
            while batch.len() < n {
                batch.push(self.blank_row());
            }
            for row in batch.iter_mut() {
                // evenly spread over the history, a little jitter, never going back in time
                let base = (i128::from(self.span) * seq as i128 / total as i128) as i64;
                let step = self.span / total as i64;
                let t = if seq == 0 { 0 } else { (base + self.rng.micros(step)).max(last_time) };
                last_time = t;
                seq += 1;
                row.seq = seq as i64;
                row.body.occurred_at = self.start + TimeDelta::microseconds(t);
                if seq == 1 {
                    self.org_created(row);
                } else if seq == total && self.renamed {
                    // end the history under the name the organization has
                    self.event(row, Action::OrgRenamed, t);
                } else {
                    let action = self.action();
                    self.event(row, action, t);
                }
                set(&mut row.prev_hash, &prev_hash);
                row.hash = row.compute_hash();
                set(&mut prev_hash, &row.hash);
            }
            if full.send(batch).is_err() {
                return; // the writer stopped on an error
            }
            if let Ok(b) = empty.try_recv() {
                spare.push(b);
            }
        }
    }

    fn blank_row(&self) -> Event {
        Event {
            id: 0,
            org_id: self.org,
            seq: 0,
            actor_id: None,
            body: EventBody {
                occurred_at: self.start,
                action: String::new(),
                actor_kind: String::new(),
                actor_email: None,
                target: None,
                target_email: None,
                ip: None,
                user_agent: None,
                details: String::new(),
            },
            prev_hash: String::new(),
            hash: String::new(),
        }
    }

    fn action(&mut self) -> Action {
        let mut roll = self.rng.below(self.total_weight);
        for &(action, weight) in ACTION_WEIGHTS {
            if roll < weight {
                return action;
            }
            roll -= weight;
        }
        Action::DeploymentUpdated
    }

    fn org_created(&mut self, row: &mut Event) {
        self.actor(row, Who::Member(0));
        set(&mut row.body.action, "org.created");
        put(&mut row.body.target, Some(&self.org_name));
        put(&mut row.body.target_email, None);
        row.body.details = serde_json::json!({ "name": self.org_name }).to_string();
    }

    /// A member who had joined by `t` (not the owner), if any.
    fn member_by(&mut self, t: i64) -> Option<usize> {
        let joined = self.member_since.partition_point(|&c| c <= t);
        if joined > 1 { Some(1 + self.rng.index(joined - 1)) } else { None }
    }

    /// An owner or admin who had joined by `t`.
    fn admin_by(&mut self, t: i64) -> usize {
        let joined = self.actor_since.partition_point(|&c| c <= t).max(1);
        self.actors.get(self.rng.index(joined)).copied().unwrap_or(0)
    }

    /// An API key usable at `t`, if any.
    fn live_key(&mut self, t: i64) -> Option<usize> {
        let start = self.rng.index(self.keys.len());
        (0..self.keys.len())
            .map(|i| (start + i) % self.keys.len())
            .find(|&k| self.keys.get(k).is_some_and(|key| key.from <= t && t <= key.until))
    }

    fn event(&mut self, row: &mut Event, mut action: Action, t: i64) {
        let target = if action.about_member() { self.member_by(t) } else { None };
        if action.about_member() && target.is_none() {
            action = Action::DeploymentUpdated;
        }
        let who = match action {
            Action::InvitationAccepted | Action::Left => Who::Member(target.unwrap_or(0)),
            Action::InvitationDeclined => Who::Invitee(target.unwrap_or(0)),
            _ if action.via_api() && self.rng.chance(150) => match self.live_key(t) {
                Some(k) => Who::Key(k),
                None => Who::Member(self.admin_by(t)),
            },
            _ => Who::Member(self.admin_by(t)),
        };
        self.actor(row, who);
        set(&mut row.body.action, action.name());
        let member = target.and_then(|i| self.members.get(i));
        let role = member.map_or("viewer", |m| m.role.as_str());
        let details = &mut row.body.details;
        details.clear();
        match (action, member) {
            (Action::MemberInvited | Action::InvitationResent, Some(m)) => {
                put(&mut row.body.target, Some(&m.email));
                put(&mut row.body.target_email, Some(&m.email));
                let expires = self.start + TimeDelta::microseconds(t + INVITE_TTL_MICROS);
                let expires = expires.format("%Y-%m-%dT%H:%M:%S%.f+00:00");
                let _ = write!(details, r#"{{"expires_at":"{expires}","role":"{role}"}}"#);
            }
            (Action::InvitationCancelled | Action::InvitationDeclined, Some(m)) => {
                put(&mut row.body.target, Some(&m.email));
                put(&mut row.body.target_email, Some(&m.email));
                let _ = write!(details, r#"{{"role":"{role}"}}"#);
            }
            (Action::RoleChanged, Some(m)) => {
                put(&mut row.body.target, Some(&m.name));
                put(&mut row.body.target_email, Some(&m.email));
                let roles = ["admin", "editor", "viewer"];
                let old = self.rng.pick(&roles, "viewer");
                let new = roles.iter().copied().filter(|r| *r != old).nth(self.rng.index(2)).unwrap_or("editor");
                let _ = write!(details, r#"{{"new_role":"{new}","old_role":"{old}"}}"#);
            }
            (Action::Removed, Some(m)) => {
                put(&mut row.body.target, Some(&m.name));
                put(&mut row.body.target_email, Some(&m.email));
                let status = if self.rng.chance(600) { "inactive" } else { "active" };
                let _ = write!(details, r#"{{"role":"{role}","status":"{status}"}}"#);
            }
            (_, Some(m)) => {
                // accepted, deactivated, activated, left
                put(&mut row.body.target, Some(&m.name));
                put(&mut row.body.target_email, Some(&m.email));
                let _ = write!(details, r#"{{"role":"{role}"}}"#);
            }
            (Action::DeploymentCreated | Action::DeploymentDeleted, None) => {
                let d = self.deployment();
                put(&mut row.body.target, Some(&d.name));
                put(&mut row.body.target_email, None);
                let _ = write!(details, r#"{{"name":"{}","region":"{}"}}"#, d.name, d.region);
            }
            (Action::KeyCreated, None) => {
                let name = self.rng.pick(KEY_NAMES, "ci-deploy");
                put(&mut row.body.target, Some(name));
                put(&mut row.body.target_email, None);
                let permissions = self.rng.pick(&["read", "write", "read_write"], "read");
                let lookup = self.rng.next();
                let _ = write!(
                    details,
                    concat!(
                        r#"{{"deployments":[],"expires_at":null,"name":"{name}","permissions":"{permissions}","#,
                        r#""prefix":"{prefix}{lookup:016x}","scope":"all"}}"#
                    ),
                    name = name,
                    permissions = permissions,
                    prefix = PREFIX,
                    lookup = lookup,
                );
            }
            (Action::KeyRevoked, None) => {
                let name = self.rng.pick(KEY_NAMES, "ci-deploy");
                put(&mut row.body.target, Some(name));
                put(&mut row.body.target_email, None);
                let _ = write!(details, r#"{{"name":"{name}","prefix":"{PREFIX}{:016x}"}}"#, self.rng.next());
            }
            (Action::OrgRenamed, None) => {
                let (old, new) = if self.renamed {
                    (format!("{} Inc.", self.org_name), self.org_name.clone())
                } else {
                    (self.org_name.clone(), format!("{} Inc.", self.org_name))
                };
                self.renamed = !self.renamed;
                put(&mut row.body.target, Some(&new));
                put(&mut row.body.target_email, None);
                *details = serde_json::json!({ "old_name": old, "new_name": new }).to_string();
            }
            _ => {
                // deployment.updated: a rename
                let old = self.deployment();
                let mut new = self.deployment();
                if new.name == old.name {
                    new = self.deployment();
                }
                put(&mut row.body.target, Some(&new.name));
                put(&mut row.body.target_email, None);
                let _ = write!(details, r#"{{"new_name":"{}","old_name":"{}"}}"#, new.name, old.name);
                set(&mut row.body.action, Action::DeploymentUpdated.name());
            }
        }
    }

    fn deployment(&mut self) -> &'a PastDeployment {
        static NONE: PastDeployment = PastDeployment { name: String::new(), region: "us-east-1" };
        self.deployments.get(self.rng.index(self.deployments.len())).unwrap_or(&NONE)
    }

    /// Fills the actor and where the request came from: each person has a usual address and
    /// browser, and is sometimes elsewhere; keys call from servers.
    fn actor(&mut self, row: &mut Event, who: Who) {
        let roaming = self.rng.chance(100);
        match who {
            Who::Member(i) | Who::Invitee(i) => {
                let m = self.members.get(i);
                set(&mut row.body.actor_kind, "account");
                match who {
                    Who::Member(_) => put(&mut row.actor_id, m.map(|m| m.id_text.as_str())),
                    _ => put(&mut row.actor_id, None),
                }
                put(&mut row.body.actor_email, m.map(|m| m.email.as_str()));
                let h = if roaming { self.rng.next() } else { mix(i as u64) };
                let ip = slot(&mut row.body.ip);
                if h % 3 == 0 {
                    let _ = write!(ip, "10.{}.{}.{}", (h >> 8) & 0xff, (h >> 16) & 0xff, 2 + (h >> 24) % 250);
                } else {
                    let _ = write!(ip, "192.168.{}.{}", (h >> 8) & 0xff, 2 + (h >> 16) % 250);
                }
                let agent = BROWSERS.get((h >> 32) as usize % BROWSERS.len()).copied().unwrap_or("Mozilla/5.0");
                put(&mut row.body.user_agent, Some(agent));
            }
            Who::Key(k) => {
                let key = self.keys.get(k);
                set(&mut row.body.actor_kind, "api_key");
                put(&mut row.actor_id, key.map(|k| k.id_text.as_str()));
                put(&mut row.body.actor_email, key.map(|k| k.name));
                let h = mix(0x4b45_5900 + k as u64);
                let _ = write!(slot(&mut row.body.ip), "10.20.{}.{}", (h >> 8) & 0xff, 2 + (h >> 16) % 250);
                let agent = API_AGENTS.get(k % API_AGENTS.len()).copied().unwrap_or("curl/8.5.0");
                put(&mut row.body.user_agent, Some(agent));
            }
        }
    }
}

/// A fixed scramble of a small number, for per-person addresses.
fn mix(x: u64) -> u64 {
    Rng(x).next()
}

/// Overwrites a reused string.
fn set(slot: &mut String, value: &str) {
    slot.clear();
    slot.push_str(value);
}

/// Overwrites a reused optional string.
fn put(slot: &mut Option<String>, value: Option<&str>) {
    match (slot.as_mut(), value) {
        (Some(s), Some(v)) => set(s, v),
        (None, Some(v)) => *slot = Some(v.to_string()),
        (_, None) => *slot = None,
    }
}

/// A reused optional string, emptied, to write into.
fn slot(slot: &mut Option<String>) -> &mut String {
    let s = slot.get_or_insert_with(String::new);
    s.clear();
    s
}

/// After a failure, removes what was written so far (best effort): the organization, whose
/// rows go with it, and the run's accounts.
fn discard(conn: &mut DbConn, plan: &Plan) {
    let pattern = format!("%.{}@{EMAIL_DOMAIN}", plan.run);
    let owner = plan.members.first().map(|m| m.id);
    let _ = write_tx(conn, |c| {
        diesel::delete(organizations::table.find(plan.org)).execute(c)?;
        diesel::delete(accounts::table.filter(accounts::email.like(&pattern))).execute(c)?;
        if let Some(owner) = owner {
            diesel::delete(accounts::table.find(owner)).execute(c)?;
        }
        Ok::<_, diesel::result::Error>(())
    });
}


