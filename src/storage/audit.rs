//! Audit events and their per-organization hash chain.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde_json::Value;

use crate::domain::audit_chain::{ChainHead, link_hash};
use crate::metrics::{self, Written};
use crate::storage::{DbConn, MultiBackend};
use crate::storage::schema::audit_events;
use crate::domain::{Actor, OrgId, RequestMeta};

pub use crate::domain::audit_chain::GENESIS_HASH;

/// An event about to be recorded.
#[derive(Debug, Clone)]
pub struct NewEvent {
    pub action: &'static str,
    pub target: Option<String>,
    pub target_email: Option<String>,
    pub details: Value,
}

impl NewEvent {
    pub fn new(action: &'static str) -> NewEvent {
        NewEvent { action, target: None, target_email: None, details: Value::Object(Default::default()) }
    }

    pub fn target(mut self, target: impl Into<String>) -> NewEvent {
        self.target = Some(target.into());
        self
    }

    pub fn target_email(mut self, email: impl Into<String>) -> NewEvent {
        self.target_email = Some(email.into());
        self
    }

    pub fn details(mut self, details: Value) -> NewEvent {
        self.details = details;
        self
    }
}

/// What an event says: what pages, the API and the CSV export show of it.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = audit_events)]
pub struct EventBody {
    pub occurred_at: NaiveDateTime,
    pub action: String,
    pub actor_kind: String,
    pub actor_email: Option<String>,
    pub target: Option<String>,
    pub target_email: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub details: String,
}

/// A recorded event: what it says, where it stands in its organization's chain, and the hashes
/// that chain it to the one before.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = audit_events)]
pub struct Event {
    #[diesel(skip_insertion)]
    pub id: i64,
    pub org_id: OrgId,
    pub seq: i64,
    /// The account or API key that acted, when there is one.
    pub actor_id: Option<String>,
    #[diesel(embed)]
    pub body: EventBody,
    pub prev_hash: String,
    pub hash: String,
}

impl Event {
    /// The canonical content the chain hashes: every recorded field in a fixed order, as a
    /// JSON array (unambiguous whatever the fields hold).
    pub fn canonical(&self) -> String {
        let b = &self.body;
        serde_json::json!([
            self.org_id,
            self.seq,
            b.occurred_at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string(),
            b.action,
            b.actor_kind,
            self.actor_id,
            b.actor_email,
            b.target,
            b.target_email,
            b.ip,
            b.user_agent,
            b.details,
        ])
        .to_string()
    }

    /// SHA-256 of the previous event's hash and this event's canonical content.
    pub fn compute_hash(&self) -> String {
        link_hash(&self.prev_hash, &self.canonical())
    }
}

/// Appends an event to the organization's chain. Must run inside the transaction of the change
/// it records, after `orgs::lock`, so that writers of one organization take turns.
pub fn append(
    conn: &mut DbConn,
    org: OrgId,
    actor: &Actor,
    meta: &RequestMeta,
    event: NewEvent,
    at: NaiveDateTime,
) -> QueryResult<()> {
    let last: Option<(i64, String)> = audit_events::table
        .filter(audit_events::org_id.eq(org))
        .order(audit_events::seq.desc())
        .select((audit_events::seq, audit_events::hash))
        .first(conn)
        .optional()?;
    let (seq, prev_hash) = match last {
        Some((seq, hash)) => (seq + 1, hash),
        None => (1, GENESIS_HASH.to_string()),
    };
    let (actor_id, actor_email) = match actor {
        Actor::Account { id, email } => (Some(id.to_string()), Some(email.to_string())),
        Actor::Invitee { email } => (None, Some(email.to_string())),
        Actor::ApiKey { id, name } => (Some(id.to_string()), Some(name.clone())),
        Actor::System => (None, None),
    };
    let mut row = Event {
        id: 0,
        org_id: org,
        seq,
        actor_id,
        body: EventBody {
            occurred_at: at,
            action: event.action.to_string(),
            actor_kind: actor.kind().to_string(),
            actor_email,
            target: event.target,
            target_email: event.target_email,
            ip: meta.ip.clone().map(|s| truncate(s, 64)),
            user_agent: meta.user_agent.clone().map(|s| truncate(s, 512)),
            details: event.details.to_string(),
        },
        prev_hash,
        hash: String::new(),
    };
    row.hash = row.compute_hash();
    diesel::insert_into(audit_events::table).values(&row).execute(conn)?;
    metrics::note(Written::AuditEvent(event.action));
    Ok(())
}

fn truncate(mut s: String, max: usize) -> String {
    if s.len() > max {
        let mut cut = max;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
    }
    s
}

/// The organization's events, oldest first, for checks and tests.
pub fn all_of_org(conn: &mut DbConn, org: OrgId) -> QueryResult<Vec<Event>> {
    audit_events::table
        .filter(audit_events::org_id.eq(org))
        .order(audit_events::seq.asc())
        .select(Event::as_select())
        .load(conn)
}

/// What the audit log is filtered by.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    pub action: Option<String>,
    /// A person's email (exact, normalised): the actor's when the actor is a person, or the
    /// target's. An API key's name, kept where an actor's email goes, never matches.
    pub email: Option<String>,
    /// From this moment (inclusive).
    pub from: Option<NaiveDateTime>,
    /// Until this moment (exclusive).
    pub until: Option<NaiveDateTime>,
}

/// The id range an event must fall in to match the filter's time window, found through the
/// `(org_id, occurred_at, id)` index: events are appended in time order under the
/// organization's lock, so a time window is an id range, and every page then scans an index
/// range however deep it is. None when no event can match.
fn id_window(conn: &mut DbConn, org: OrgId, filter: &Filter) -> QueryResult<Option<(i64, i64)>> {
    let mut lo = i64::MIN;
    let mut hi = i64::MAX;
    if let Some(from) = filter.from {
        let first: Option<i64> = audit_events::table
            .filter(audit_events::org_id.eq(org))
            .filter(audit_events::occurred_at.ge(from))
            .order((audit_events::occurred_at.asc(), audit_events::id.asc()))
            .select(audit_events::id)
            .first(conn)
            .optional()?;
        match first {
            Some(id) => lo = id,
            None => return Ok(None),
        }
    }
    if let Some(until) = filter.until {
        let last: Option<i64> = audit_events::table
            .filter(audit_events::org_id.eq(org))
            .filter(audit_events::occurred_at.lt(until))
            .order((audit_events::occurred_at.desc(), audit_events::id.desc()))
            .select(audit_events::id)
            .first(conn)
            .optional()?;
        match last {
            Some(id) => hi = id,
            None => return Ok(None),
        }
    }
    Ok((lo <= hi).then_some((lo, hi)))
}

/// Which email column a query looks at.
#[derive(Clone, Copy)]
enum EmailColumn {
    Actor,
    Target,
}

/// The events of one organization in the cursor's and the filter's id range; the order, the
/// limit and the select clause are the caller's.
type Events = audit_events::BoxedQuery<'static, MultiBackend>;

fn query_by(
    org: OrgId,
    filter: &Filter,
    window: (i64, i64),
    before: Option<i64>,
    email: Option<(EmailColumn, &str)>,
) -> Option<Events> {
    // The cursor and the window make one id range: given as two upper bounds, SQLite would
    // range-scan on one and filter on the other, walking the whole log to reach a deep page.
    let hi = match before {
        Some(before) => window.1.min(before.saturating_sub(1)),
        None => window.1,
    };
    if hi < window.0 {
        return None;
    }
    let mut q = audit_events::table
        .filter(audit_events::org_id.eq(org))
        .filter(audit_events::id.between(window.0, hi))
        .into_boxed();
    if let Some(action) = &filter.action {
        q = q.filter(audit_events::action.eq(action.clone()));
    }
    match email {
        // still a range of the (org_id, actor_email, id) index; the kind is checked on the rows
        // found, so a key named like someone's email is not taken for them
        Some((EmailColumn::Actor, e)) => {
            q = q.filter(audit_events::actor_email.eq(e.to_string())).filter(audit_events::actor_kind.eq("account"))
        }
        Some((EmailColumn::Target, e)) => q = q.filter(audit_events::target_email.eq(e.to_string())),
        None => {}
    }
    if let Some(from) = filter.from {
        q = q.filter(audit_events::occurred_at.ge(from));
    }
    if let Some(until) = filter.until {
        q = q.filter(audit_events::occurred_at.lt(until));
    }
    Some(q)
}

/// Up to `limit` matching events in `window` older than `before`, newest first, loaded by
/// `load` (which picks the columns, and returns the newest first up to `limit`); `id` is a
/// loaded row's event id.
#[allow(clippy::too_many_arguments)]
fn load_window<T>(
    conn: &mut DbConn,
    org: OrgId,
    filter: &Filter,
    window: (i64, i64),
    before: Option<i64>,
    limit: i64,
    load: impl Fn(&mut DbConn, Events) -> QueryResult<Vec<T>>,
    id: impl Fn(&T) -> i64,
) -> QueryResult<Vec<T>> {
    let by = |conn: &mut DbConn, email| match query_by(org, filter, window, before, email) {
        Some(q) => load(conn, q),
        None => Ok(Vec::new()),
    };
    match filter.email.as_deref() {
        None => by(conn, None),
        Some(email) => {
            // Two index-ordered scans, merged: "actor = e OR target = e" would not be one.
            let mut rows = by(conn, Some((EmailColumn::Actor, email)))?;
            rows.extend(by(conn, Some((EmailColumn::Target, email)))?);
            rows.sort_by_key(|r| std::cmp::Reverse(id(r)));
            rows.dedup_by_key(|r| id(r));
            rows.truncate(usize::try_from(limit).unwrap_or(0));
            Ok(rows)
        }
    }
}

/// Up to `limit` matching events older than the event `before` (the cursor), newest first.
pub fn page(conn: &mut DbConn, org: OrgId, filter: &Filter, before: Option<i64>, limit: i64) -> QueryResult<Vec<Event>> {
    let Some(window) = id_window(conn, org, filter)? else { return Ok(Vec::new()) };
    let newest = |c: &mut DbConn, q: Events| {
        q.order(audit_events::id.desc()).limit(limit).select(Event::as_select()).load(c)
    };
    load_window(conn, org, filter, window, before, limit, newest, |r| r.id)
}

/// An event as the CSV export writes it: its id (for the order) and what it says.
pub type ExportRow = (i64, EventBody);

/// The ids the CSV export walks for `filter`: its time window narrowed to the organization's
/// first and last events. None when no event can match.
pub fn export_range(conn: &mut DbConn, org: OrgId, filter: &Filter) -> QueryResult<Option<(i64, i64)>> {
    let Some((lo, hi)) = id_window(conn, org, filter)? else { return Ok(None) };
    let (first, last): (Option<i64>, Option<i64>) = audit_events::table
        .filter(audit_events::org_id.eq(org))
        .select((diesel::dsl::min(audit_events::id), diesel::dsl::max(audit_events::id)))
        .first(conn)?;
    Ok(match (first, last) {
        (Some(first), Some(last)) => {
            let (lo, hi) = (lo.max(first), hi.min(last));
            (lo <= hi).then_some((lo, hi))
        }
        _ => None,
    })
}

/// The matching events with ids in `lo..=hi`, newest first, as the CSV export writes them
/// (without the chain's columns, which it never shows). At most `hi - lo + 1` rows: a slice of
/// ids bounds the memory it takes. They are read oldest first and turned round here: the
/// table then goes by in file order, which the kernel reads ahead when it is not cached.
pub fn export_slice(conn: &mut DbConn, org: OrgId, filter: &Filter, lo: i64, hi: i64) -> QueryResult<Vec<ExportRow>> {
    let limit = hi.saturating_sub(lo).saturating_add(1);
    let all = |c: &mut DbConn, q: Events| {
        let mut rows = q.order(audit_events::id.asc()).select((audit_events::id, EventBody::as_select())).load::<ExportRow>(c)?;
        rows.reverse();
        Ok(rows)
    };
    load_window(conn, org, filter, (lo, hi), None, limit, all, |r| r.0)
}

/// The matching events with ids in `lo..=hi`, newest first, whole: for the export with the
/// chain's columns. Read as `export_slice` reads.
pub fn export_slice_chain(conn: &mut DbConn, org: OrgId, filter: &Filter, lo: i64, hi: i64) -> QueryResult<Vec<Event>> {
    let limit = hi.saturating_sub(lo).saturating_add(1);
    let all = |c: &mut DbConn, q: Events| {
        let mut rows = q.order(audit_events::id.asc()).select(Event::as_select()).load::<Event>(c)?;
        rows.reverse();
        Ok(rows)
    };
    load_window(conn, org, filter, (lo, hi), None, limit, all, |r| r.id)
}

/// How many bytes of the COPY's output make one chunk of the response.
const COPY_CHUNK: usize = 64 * 1024;

/// A cell of the PostgreSQL export, written as `csv_export::spreadsheet_safe` writes it: a
/// leading quote before a character a spreadsheet would start a formula with. An empty cell is
/// NULL, which COPY writes as nothing (it quotes an empty string, the CSV writer does not).
fn safe_cell(expr: &str) -> String {
    format!(
        // = + - @ tab CR, by code: an integer comparison per cell
        "CASE WHEN ascii({expr}) IN (61, 43, 45, 64, 9, 13) THEN '''' || {expr} ELSE NULLIF({expr}, '') END"
    )
}

/// The query the PostgreSQL export copies out, in CSV: the same cells as the export's rows
/// (`csv_export::visible_cells`), newest first. COPY takes no bound parameters, so the values
/// are read from the session's settings, set just before (`export_copy`); a filter that is
/// not given leaves its condition out, so that each variant keeps its plan.
fn export_copy_sql(action: bool, email: bool) -> String {
    // chrono writes a year past 9999 with a sign, which the cell then neutralises
    let time = "CASE WHEN occurred_at >= TIMESTAMP '10000-01-01' THEN '''+' ELSE '' END \
                || to_char(occurred_at, 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')";
    let cells = [
        time.to_string(),
        safe_cell("action"),
        safe_cell("actor_email"),
        safe_cell("actor_kind"),
        safe_cell("COALESCE(target_email, target)"),
        safe_cell("ip"),
        safe_cell("user_agent"),
        safe_cell("details"),
    ];
    let mut sql = format!(
        "(SELECT {} FROM audit_events WHERE org_id = current_setting('steward.export_org') \
         AND id BETWEEN current_setting('steward.export_lo')::bigint AND current_setting('steward.export_hi')::bigint \
         AND occurred_at >= current_setting('steward.export_from')::timestamp \
         AND occurred_at < current_setting('steward.export_until')::timestamp",
        cells.join(", ")
    );
    if action {
        sql.push_str(" AND action = current_setting('steward.export_action')");
    }
    if email {
        // an API key's name, kept where an actor's email goes, never matches
        sql.push_str(
            " AND ((actor_email = current_setting('steward.export_email') AND actor_kind = 'account') \
             OR target_email = current_setting('steward.export_email'))",
        );
    }
    sql.push_str(" ORDER BY id DESC)");
    sql
}

/// What `COPY … TO STDOUT` copies for the export: the query of `export_copy_sql`, one type per
/// set of filters given (Diesel writes a COPY's target from its type alone).
struct ExportCopy<const ACTION: bool, const EMAIL: bool>;

impl<const ACTION: bool, const EMAIL: bool> diesel::pg::CopyTarget for ExportCopy<ACTION, EMAIL> {
    type Table = audit_events::table;
    type SqlType = diesel::sql_types::Text;

    fn walk_target(mut pass: diesel::query_builder::AstPass<'_, '_, diesel::pg::Pg>) -> QueryResult<()> {
        pass.push_sql(&export_copy_sql(ACTION, EMAIL));
        Ok(())
    }
}

/// The CSV rows of the matching events with ids in `lo..=hi`, newest first, written by
/// PostgreSQL itself (`COPY … TO STDOUT` in CSV) byte for byte as the export writes the rows
/// of `export_slice`, and handed to `send` in chunks of about `COPY_CHUNK` bytes as they
/// arrive: one query for the whole export, nothing decoded here, memory a chunk whatever the
/// size. Stops when `send` returns false (the client went away): the connection is then in the
/// middle of the COPY, and the pool's check on its next checkout replaces it. None on SQLite.
pub fn export_copy(
    conn: &mut DbConn,
    org: OrgId,
    filter: &Filter,
    (lo, hi): (i64, i64),
    send: &mut dyn FnMut(Vec<u8>) -> bool,
) -> QueryResult<Option<()>> {
    use diesel::connection::SimpleConnection;
    use diesel::sql_types::Text;
    use std::io::BufRead;
    let DbConn::Postgres(pg) = conn else { return Ok(None) };
    let stamp = |t: Option<NaiveDateTime>, none: &str| {
        t.map_or_else(|| none.to_string(), |t| t.format("%Y-%m-%d %H:%M:%S%.6f").to_string())
    };
    diesel::sql_query(
        "SELECT set_config('steward.export_org', $1, false), set_config('steward.export_lo', $2, false), \
         set_config('steward.export_hi', $3, false), set_config('steward.export_from', $4, false), \
         set_config('steward.export_until', $5, false), set_config('steward.export_action', $6, false), \
         set_config('steward.export_email', $7, false)",
    )
    .bind::<Text, _>(org.to_string())
    .bind::<Text, _>(lo.to_string())
    .bind::<Text, _>(hi.to_string())
    .bind::<Text, _>(stamp(filter.from, "-infinity"))
    .bind::<Text, _>(stamp(filter.until, "infinity"))
    .bind::<Text, _>(filter.action.clone().unwrap_or_default())
    .bind::<Text, _>(filter.email.clone().unwrap_or_default())
    .execute(pg)?;
    let csv = diesel::pg::CopyFormat::Csv;
    let mut out: Box<dyn BufRead + '_> = match (filter.action.is_some(), filter.email.is_some()) {
        (false, false) => Box::new(diesel::copy_to(ExportCopy::<false, false>).with_format(csv).load_raw(pg)?),
        (true, false) => Box::new(diesel::copy_to(ExportCopy::<true, false>).with_format(csv).load_raw(pg)?),
        (false, true) => Box::new(diesel::copy_to(ExportCopy::<false, true>).with_format(csv).load_raw(pg)?),
        (true, true) => Box::new(diesel::copy_to(ExportCopy::<true, true>).with_format(csv).load_raw(pg)?),
    };
    let copied = copy_chunks(&mut *out, send);
    drop(out);
    // Diesel leaves the COPY's closing result unread, and all of the COPY's rows when the
    // client went away: a simple query reads them off (libpq drops what is left of a COPY) so
    // that the connection goes back to the pool ready for the next query.
    let settled = pg.batch_execute("SELECT 1");
    copied?;
    settled?;
    Ok(Some(()))
}

/// Reads the COPY's rows into chunks of about `COPY_CHUNK` bytes for `send`, until the end or
/// until `send` returns false.
fn copy_chunks(out: &mut dyn std::io::BufRead, send: &mut dyn FnMut(Vec<u8>) -> bool) -> QueryResult<()> {
    let mut chunk = Vec::with_capacity(COPY_CHUNK + 4096);
    loop {
        // each read is one row, as PostgreSQL sent it
        let row = out.fill_buf().map_err(|e| copy_failed(&e))?;
        if row.is_empty() {
            break;
        }
        chunk.extend_from_slice(row);
        let n = row.len();
        out.consume(n);
        if chunk.len() >= COPY_CHUNK && !send(std::mem::replace(&mut chunk, Vec::with_capacity(COPY_CHUNK + 4096))) {
            return Ok(());
        }
    }
    if !chunk.is_empty() {
        send(chunk);
    }
    Ok(())
}

fn copy_failed(e: &std::io::Error) -> diesel::result::Error {
    diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::Unknown, Box::new(e.to_string()))
}

/// The organization's newest event, through the `(org_id, seq)` index: one row whatever the
/// log's size. None when the organization has no events.
pub fn head(conn: &mut DbConn, org: OrgId) -> QueryResult<Option<ChainHead>> {
    let newest: Option<(i64, String)> = audit_events::table
        .filter(audit_events::org_id.eq(org))
        .order(audit_events::seq.desc())
        .select((audit_events::seq, audit_events::hash))
        .first(conn)
        .optional()?;
    Ok(newest.map(|(seq, hash)| ChainHead { seq, hash }))
}

/// The hash of the organization's event at position `seq`, if there is one.
pub fn hash_at(conn: &mut DbConn, org: OrgId, seq: i64) -> QueryResult<Option<String>> {
    audit_events::table
        .filter(audit_events::org_id.eq(org))
        .filter(audit_events::seq.eq(seq))
        .select(audit_events::hash)
        .first(conn)
        .optional()
}

/// How many events the organization has.
pub fn count(conn: &mut DbConn, org: OrgId) -> QueryResult<i64> {
    audit_events::table.filter(audit_events::org_id.eq(org)).count().get_result(conn)
}

/// The organizations that have events, for `steward audit verify`.
pub fn orgs_with_events(conn: &mut DbConn) -> QueryResult<Vec<OrgId>> {
    audit_events::table.select(audit_events::org_id).distinct().order(audit_events::org_id.asc()).load(conn)
}

/// Up to `limit` events of an organization's chain after position `after_seq`, in order.
pub fn chain_after(conn: &mut DbConn, org: OrgId, after_seq: i64, limit: i64) -> QueryResult<Vec<Event>> {
    audit_events::table
        .filter(audit_events::org_id.eq(org))
        .filter(audit_events::seq.gt(after_seq))
        .order(audit_events::seq.asc())
        .limit(limit)
        .select(Event::as_select())
        .load(conn)
}

/// The actions the audit log records.
pub const ACTIONS: [&str; 30] = [
    "org.created",
    "org.renamed",
    "org.deleted",
    "org.ownership_transferred",
    "org.two_factor_required",
    "org.two_factor_optional",
    "member.invited",
    "invitation.resent",
    "invitation.cancelled",
    "invitation.accepted",
    "invitation.declined",
    "member.role_changed",
    "member.deactivated",
    "member.activated",
    "member.removed",
    "member.left",
    "member.signed_out",
    "member.roles_changed",
    "members.exported",
    "role.created",
    "role.updated",
    "role.deleted",
    "api_key.created",
    "api_key.revoked",
    "deployment.created",
    "deployment.updated",
    "deployment.deleted",
    "sso.configured",
    "sso.removed",
    "member.joined_via_sso",
];
