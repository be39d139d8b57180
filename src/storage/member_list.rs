//! The member list: members and their pending or expired invitations as rows of one list,
//! searched, filtered, sorted and paginated in the database. Diesel's query builder has no
//! UNION across both backends, so this one query is SQL written here, with its binds.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Nullable, Text, Timestamp};

use crate::storage::{Backend, DbConn, MultiBackend};
use crate::domain::member_list::{RoleFilter, Sort, StatusFilter};
use crate::domain::{OrgId, Role};

/// The order of the rows; the sort's last key, the id, makes it total.
fn order_by(sort: Sort) -> &'static str {
    match sort {
        Sort::Email => "email ASC, id ASC",
        Sort::EmailDesc => "email DESC, id DESC",
        Sort::Created => "created_at DESC, id DESC",
        Sort::CreatedAsc => "created_at ASC, id ASC",
        // invitations (never active) last either way
        Sort::LastActive => "last_active_at DESC NULLS LAST, id DESC",
        Sort::LastActiveAsc => "last_active_at ASC NULLS LAST, id ASC",
    }
}

/// What the member list asks for.
#[derive(Debug, Clone)]
pub struct Query {
    pub q: Option<String>,
    pub status: Option<StatusFilter>,
    pub role: Option<RoleFilter>,
    pub sort: Sort,
    pub limit: i64,
    pub offset: i64,
}

/// A row: a member (`kind = "member"`, `id` = account id) or an invitation (`kind =
/// "invitation"`, `id` = invitation id, `status` = `pending` or `expired`).
#[derive(Debug, Clone, QueryableByName)]
pub struct Row {
    #[diesel(sql_type = Text)]
    pub kind: String,
    #[diesel(sql_type = Text)]
    pub id: String,
    #[diesel(sql_type = Text)]
    pub email: String,
    #[diesel(sql_type = Text)]
    pub name: String,
    #[diesel(sql_type = Text)]
    pub role: Role,
    #[diesel(sql_type = Text)]
    pub status: String,
    #[diesel(sql_type = Timestamp)]
    pub created_at: NaiveDateTime,
    #[diesel(sql_type = Nullable<Timestamp>)]
    pub last_active_at: Option<NaiveDateTime>,
    #[diesel(sql_type = Nullable<Timestamp>)]
    pub expires_at: Option<NaiveDateTime>,
    /// Whether the member's account has two-factor on (false for invitations).
    #[diesel(sql_type = Bool)]
    pub two_factor: bool,
    /// The ids of the custom roles the member holds (or the invitation gives), comma-separated.
    #[diesel(sql_type = Nullable<Text>)]
    pub custom_roles: Option<String>,
    /// Where an invitation's newest email stands, as `outbox::DELIVERY_OF_INVITATION_SQL`
    /// answers it (NULL for members, and for an invitation without any email).
    #[diesel(sql_type = Nullable<Text>)]
    pub delivery: Option<String>,
}

impl Row {
    /// Where an invitation's email stands.
    pub fn delivery(&self) -> Option<crate::domain::delivery::Delivery> {
        crate::storage::outbox::parse_delivery(self.delivery.as_deref())
    }

    /// The custom roles' ids, in no particular order.
    pub fn custom_role_ids(&self) -> impl Iterator<Item = &str> {
        self.custom_roles.as_deref().unwrap_or("").split(',').filter(|s| !s.is_empty())
    }
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

enum Bind {
    Text(String),
    Time(NaiveDateTime),
    Int(i64),
}

/// SQL text with `?` placeholders and their values in order. As a Diesel query it writes each
/// backend's own placeholders, and it may be cached by its text: each connection prepares each
/// shape of the list once (preparing the compound SELECT was a tenth of a page's time), not on
/// every page.
struct Sql {
    text: String,
    binds: Vec<Bind>,
}

impl Sql {
    fn push(&mut self, text: &str) {
        self.text.push_str(text);
    }

    fn bind(&mut self, text: &str, value: Bind) {
        self.text.push_str(text);
        self.binds.push(value);
    }
}

impl diesel::query_builder::QueryFragment<MultiBackend> for Sql {
    fn walk_ast<'b>(&'b self, mut out: diesel::query_builder::AstPass<'_, 'b, MultiBackend>) -> QueryResult<()> {
        // `?` appears in this module's SQL only as a placeholder (values are always bound)
        let mut binds = self.binds.iter();
        for (i, piece) in self.text.split('?').enumerate() {
            if i > 0 {
                match binds.next() {
                    Some(Bind::Text(s)) => out.push_bind_param::<Text, String>(s)?,
                    Some(Bind::Time(t)) => out.push_bind_param::<Timestamp, NaiveDateTime>(t)?,
                    Some(Bind::Int(n)) => out.push_bind_param::<BigInt, i64>(n)?,
                    None => return Err(diesel::result::Error::QueryBuilderError("a placeholder without its value".into())),
                }
            }
            out.push_sql(piece);
        }
        Ok(())
    }
}

impl diesel::query_builder::QueryId for Sql {
    type QueryId = ();
    // not static: Diesel keys its statement cache on the SQL text instead
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl diesel::query_builder::Query for Sql {
    type SqlType = diesel::sql_types::Untyped;
}

impl RunQueryDsl<DbConn> for Sql {}

/// `%q%` for LIKE, with LIKE's own characters escaped.
pub(crate) fn like_pattern(q: &str) -> String {
    let mut out = String::with_capacity(q.len() + 2);
    out.push('%');
    for c in q.trim().to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

/// Which halves of the list a query can match.
fn halves(query: &Query) -> (bool, bool) {
    let members = !matches!(query.status, Some(StatusFilter::Pending | StatusFilter::Expired));
    let invitations = !matches!(query.status, Some(StatusFilter::Active | StatusFilter::Inactive))
        && query.role != Some(RoleFilter::Base(Role::Owner));
    (members, invitations)
}

/// `SELECT {columns} FROM memberships WHERE …` for the query's filters.
fn member_part(sql: &mut Sql, backend: Backend, columns: &str, org: OrgId, query: &Query, search: Option<&Search>) {
    member_part_from(sql, backend, columns, org, query, search, None);
}

/// `member_part`, starting at `from` in the sort's order when given (an export's slice).
fn member_part_from(
    sql: &mut Sql,
    backend: Backend,
    columns: &str,
    org: OrgId,
    query: &Query,
    search: Option<&Search>,
    from: Option<&Position>,
) {
    sql.push(&format!("SELECT {columns} FROM {} WHERE org_id = ?", table(backend, "memberships", search)));
    sql.binds.push(Bind::Text(org.to_string()));
    if let Some(s) = query.status {
        sql.bind(" AND status = ?", Bind::Text(s.as_str().into()));
    }
    match query.role {
        Some(RoleFilter::Base(r)) => sql.bind(" AND role = ?", Bind::Text(r.as_str().into())),
        Some(RoleFilter::Custom(id)) => sql.bind(
            " AND account_id IN (SELECT member_roles.account_id FROM member_roles \
             WHERE member_roles.role_id = ? AND member_roles.org_id = memberships.org_id)",
            Bind::Text(id.to_string()),
        ),
        None => {}
    }
    match search {
        Some(search) if search.via == Via::Index && backend == Backend::Sqlite => {
            fts_rows(sql, "member_search", search, org, "search_id");
        }
        // both sides are in lower case already (`search_key`), so a plain substring test is
        // the rule: instr() on SQLite, strpos() on PostgreSQL (a byte search, cheaper per row
        // than LIKE, and one PostgreSQL's trigram index does not take: a needle of one or two
        // characters holds no trigram, and its "full scan" of the index costs more than
        // reading the organization), LIKE when PostgreSQL's trigram index is to serve it
        Some(search) if backend == Backend::Sqlite || search.via == Via::Scan => {
            let find = if backend == Backend::Sqlite { "instr" } else { "strpos" };
            sql.bind(&format!(" AND ({find}(email, ?) > 0"), Bind::Text(search.needle.clone()));
            sql.bind(&format!(" OR {find}(name_key, ?) > 0)"), Bind::Text(search.needle.clone()));
        }
        Some(search) => {
            sql.bind(" AND (email LIKE ? ESCAPE '\\'", Bind::Text(search.like.clone()));
            sql.bind(" OR name_key LIKE ? ESCAPE '\\')", Bind::Text(search.like.clone()));
        }
        None => {}
    }
    if let Some(from) = from {
        seek(sql, query.sort, from, "account_id", true);
    }
}

/// `SELECT {columns} FROM invitations WHERE …`: pending ones, split by expiry when asked.
/// `column_binds` are the values of placeholders in `columns`.
#[allow(clippy::too_many_arguments)]
fn invitation_part(
    sql: &mut Sql,
    columns: &str,
    column_binds: Vec<Bind>,
    org: OrgId,
    query: &Query,
    search: Option<&Search>,
    now: NaiveDateTime,
    from: Option<&Position>,
    backend: Backend,
) {
    sql.push(&format!("SELECT {columns} FROM {} WHERE org_id = ? AND status = 'pending'", table(backend, "invitations", search)));
    sql.binds.extend(column_binds);
    sql.binds.push(Bind::Text(org.to_string()));
    match query.status {
        Some(StatusFilter::Pending) => sql.bind(" AND expires_at > ?", Bind::Time(now)),
        Some(StatusFilter::Expired) => sql.bind(" AND expires_at <= ?", Bind::Time(now)),
        _ => {}
    }
    match query.role {
        Some(RoleFilter::Base(r)) => sql.bind(" AND role = ?", Bind::Text(r.as_str().into())),
        Some(RoleFilter::Custom(id)) => sql.bind(
            " AND id IN (SELECT invitation_roles.invitation_id FROM invitation_roles WHERE invitation_roles.role_id = ?)",
            Bind::Text(id.to_string()),
        ),
        None => {}
    }
    match search {
        Some(search) if search.via == Via::Index && backend == Backend::Sqlite => {
            fts_rows(sql, "invitation_search", search, org, "search_id");
        }
        Some(search) if backend == Backend::Sqlite => sql.bind(" AND instr(email, ?) > 0", Bind::Text(search.needle.clone())),
        Some(search) if search.via == Via::Scan => sql.bind(" AND strpos(email, ?) > 0", Bind::Text(search.needle.clone())),
        Some(search) => sql.bind(" AND email LIKE ? ESCAPE '\\'", Bind::Text(search.like.clone())),
        None => {}
    }
    if let Some(from) = from {
        seek(sql, query.sort, from, "id", false);
    }
}

/// Whether the invitations can hold a row at or after `from`: none was ever active, so in
/// the last-active orders they all come after the members who were.
fn invitations_reach(sort: Sort, from: Option<&Position>) -> bool {
    let by_activity = matches!(sort, Sort::LastActive | Sort::LastActiveAsc);
    !(by_activity && matches!(from, Some(Position::First | Position::After { key: Key::Time(_), .. })))
}

/// The condition that keeps a half's rows from `from` on, in `sort`'s order (`id` names the
/// half's id column). Each is a range of the half's sort index: a row-value comparison on
/// (key, id), the last-active orders split in two ranges, the active members then the rest.
fn seek(sql: &mut Sql, sort: Sort, from: &Position, id: &str, members: bool) {
    let (column, cmp) = match sort {
        Sort::Email => ("email", ">"),
        Sort::EmailDesc => ("email", "<"),
        Sort::Created => ("created_at", "<"),
        Sort::CreatedAsc => ("created_at", ">"),
        Sort::LastActive => ("last_active_at", "<"),
        Sort::LastActiveAsc => ("last_active_at", ">"),
    };
    let by_activity = matches!(sort, Sort::LastActive | Sort::LastActiveAsc);
    match from {
        Position::First => {
            if by_activity && members {
                sql.push(" AND last_active_at IS NOT NULL");
            }
        }
        Position::FirstNeverActive => {
            if members {
                sql.push(" AND last_active_at IS NULL");
            }
        }
        Position::After { key: Key::Never, id: after } => {
            if members {
                sql.push(" AND last_active_at IS NULL");
            }
            sql.bind(&format!(" AND {id} {cmp} ?"), Bind::Text(after.clone()));
        }
        Position::After { key, id: after } => {
            let key = match key {
                Key::Text(t) => Bind::Text(t.clone()),
                Key::Time(t) => Bind::Time(*t),
                Key::Never => return,
            };
            sql.bind(&format!(" AND ({column}, {id}) {cmp} (?"), key);
            sql.bind(", ?)", Bind::Text(after.clone()));
        }
    }
}

/// A search as the SQL asks it: the needle, its LIKE pattern (PostgreSQL), its FTS5 phrase
/// (SQLite's trigram index), and how the rows are picked out.
#[derive(Debug, Clone)]
struct Search {
    /// The needle itself, in lower case.
    needle: String,
    like: String,
    phrase: String,
    via: Via,
}

/// How a search picks out its rows.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Via {
    /// Each row of the organization (in the order walked) is tested for the needle in the email
    /// and the name's key: needles of one or two characters (a trigram index cannot answer them),
    /// and on SQLite a search that matches so many rows that walking the sort's index finds a
    /// page sooner than the index would list them all (`walk_pays`).
    Scan,
    /// The trigram index lists the matching rows: on SQLite the rowids of the organization's
    /// range in `member_search` / `invitation_search`, on PostgreSQL the same LIKE, which the
    /// pg_trgm GIN indexes answer.
    Index,
}

fn search(query: &Query) -> Option<Search> {
    let needle = crate::domain::member_list::needle(query.q.as_deref()?)?;
    let via = if crate::domain::member_list::indexed(&needle) { Via::Index } else { Via::Scan };
    let (like, phrase) = (like_pattern(&needle), format!("\"{}\"", needle.replace('"', "\"\"")));
    Some(Search { needle, like, phrase, via })
}

/// The half's table as a query names it. When SQLite's trigram index lists the matches, the
/// rows are looked up by their numbers: left to itself (its plans do not depend on the values
/// bound) SQLite would walk the sort's index and test every row of the organization against
/// the list of matches.
fn table(backend: Backend, table: &str, search: Option<&Search>) -> String {
    match search {
        Some(s) if s.via == Via::Index && backend == Backend::Sqlite => format!("{table} INDEXED BY {table}_search_id"),
        _ => table.to_string(),
    }
}

/// `rowid IN` the organization's range of an FTS5 table (SQLite), matching the phrase.
fn fts_rows(sql: &mut Sql, table: &str, search: &Search, org: OrgId, column: &str) {
    sql.bind(&format!(" AND {column} IN (SELECT rowid FROM {table} WHERE {table} MATCH ?"), Bind::Text(search.phrase.clone()));
    fts_range(sql, org);
    sql.push(")");
}

/// The organization's rowid range in the trigram tables: [search_base, search_base + 2^32).
fn fts_range(sql: &mut Sql, org: OrgId) {
    sql.bind(" AND rowid >= (SELECT search_base FROM organizations WHERE id = ?)", Bind::Text(org.to_string()));
    sql.bind(" AND rowid < (SELECT search_base FROM organizations WHERE id = ?) + 4294967296", Bind::Text(org.to_string()));
}

/// Whether the account has two-factor on is read from its row by primary key, once for each row
/// the page reads: the halves are still scanned and merged in their indexes' order. A scalar
/// subquery, not EXISTS: PostgreSQL may run an EXISTS as one hashed scan of every account.
///
/// A member's custom roles come from the copy of their ids on the membership row, which the
/// page reads anyway (a lookup in `member_roles` per row cost a tenth of the page); an
/// invitation's are aggregated from `invitation_roles`, the few pending ones a page shows, and
/// so is where its newest email stands (one lookup in the outbox's index by invitation).
fn member_columns() -> String {
    String::from(
        "'member' AS kind, account_id AS id, email, name, role, status, created_at, \
         last_active_at, CAST(NULL AS TIMESTAMP) AS expires_at, \
         COALESCE((SELECT accounts.totp_enabled_at IS NOT NULL FROM accounts \
         WHERE accounts.id = memberships.account_id), FALSE) AS two_factor, \
         custom_role_ids AS custom_roles, CAST(NULL AS TEXT) AS delivery"
    )
}

fn invitation_columns(backend: Backend) -> String {
    format!(
        "'invitation' AS kind, id, email, '' AS name, role, \
         CASE WHEN expires_at > ? THEN 'pending' ELSE 'expired' END AS status, created_at, \
         CAST(NULL AS TIMESTAMP) AS last_active_at, expires_at, FALSE AS two_factor, \
         (SELECT {} FROM invitation_roles WHERE invitation_roles.invitation_id = invitations.id) AS custom_roles, \
         {} AS delivery",
        aggregate_ids(backend, "invitation_roles.role_id"),
        crate::storage::outbox::DELIVERY_OF_INVITATION_SQL
    )
}

/// `column`'s values of a subquery joined by commas, in each backend's words.
fn aggregate_ids(backend: Backend, column: &str) -> String {
    match backend {
        Backend::Sqlite => format!("group_concat({column}, ',')"),
        Backend::Postgres => format!("string_agg({column}, ',')"),
    }
}

/// One page of the member list. The halves are a compound SELECT ordered by output columns
/// (no wrapping subquery), so SQLite merges two index-ordered scans instead of sorting the
/// organization. PostgreSQL (15) does not merge the halves of a UNION ALL by their indexes: it
/// would read and sort the whole organization for every page, so there each half first takes
/// its own first `offset + limit` rows in index order, and only those are sorted.
///
/// A page after the first is found in two steps: the row just before it (`boundary`: only the
/// sort's key and id, read from the indexes alone, without the page's columns), then the page's
/// rows from there on, a range of the sort's indexes as the export reads its slices. Page N is
/// so the Nth slice of the list as it is now, and skipping 50,000 rows reads 50,000 index
/// entries rather than building 50,000 rows.
///
/// `total` is the query's count (`count`): with a search it says how the rows are best found.
pub fn page(
    conn: &mut DbConn,
    org: OrgId,
    query: &Query,
    now: NaiveDateTime,
    total: &Total,
    anchors: &Anchors,
) -> QueryResult<Vec<Row>> {
    let backend = conn.backend();
    let search = search(query).map(|mut s| {
        if backend == Backend::Sqlite && s.via == Via::Index && walk_pays(query, total) {
            s.via = Via::Scan;
        }
        s
    });
    if query.offset <= 0 {
        return rows(conn, org, query, now, search.as_ref(), None);
    }
    let target = query.offset - 1;
    let anchored = search.is_none()
        && query.status.is_none()
        && query.role.is_none()
        && !matches!(query.sort, Sort::LastActive | Sort::LastActiveAsc)
        && target >= ANCHOR_EVERY;
    let from = if anchored {
        anchored_boundary(conn, org, query, now, anchors, target)?
    } else {
        boundary(conn, org, query, now, search.as_ref(), None, target)?
    };
    match from {
        Some(from) => slices(conn, org, query, now, search.as_ref(), from, query.limit),
        None => Ok(Vec::new()),
    }
}

/// How far apart the rows are whose place in the list a server keeps (`Anchors`).
pub const ANCHOR_EVERY: i64 = 1_000;

/// Where every thousandth row of an organization's member list stands, by sort, as of a
/// version of the list (`member_list_versions`, moved by triggers whenever a row joins or
/// leaves the list or its email or creation time changes). Only the whole list in the email and
/// creation orders is kept: filters and searches make other lists, and activity reorders the
/// last-active ones all day. One per server, in the database handle; a page never trusts it
/// beyond the version it was read at.
#[derive(Debug, Default)]
pub struct Anchors {
    lists: std::sync::Mutex<std::collections::HashMap<(OrgId, &'static str), Anchored>>,
}

#[derive(Debug, Clone)]
struct Anchored {
    version: i64,
    /// `after[k]` is the row at position `(k + 1) * ANCHOR_EVERY - 1` (0-based).
    after: Vec<Position>,
}

/// At most this many lists are kept; past it the cache starts again (each costs a few KiB).
const ANCHORED_LISTS: usize = 1_000;

impl Anchors {
    fn get(&self, org: OrgId, sort: Sort, version: i64) -> Vec<Position> {
        let lists = self.lists.lock().unwrap_or_else(|e| e.into_inner());
        lists.get(&(org, sort.as_str())).filter(|a| a.version == version).map(|a| a.after.clone()).unwrap_or_default()
    }

    fn put(&self, org: OrgId, sort: Sort, version: i64, after: Vec<Position>) {
        let mut lists = self.lists.lock().unwrap_or_else(|e| e.into_inner());
        if lists.len() >= ANCHORED_LISTS {
            lists.clear();
        }
        let longer = lists.get(&(org, sort.as_str())).is_some_and(|a| a.version == version && a.after.len() >= after.len());
        if !longer {
            lists.insert((org, sort.as_str()), Anchored { version, after });
        }
    }
}

/// The version of the organization's member list (see `Anchors`).
fn list_version(conn: &mut DbConn, org: OrgId) -> QueryResult<i64> {
    let mut sql = Sql { text: String::new(), binds: Vec::new() };
    sql.bind("SELECT version AS n FROM member_list_versions WHERE org_id = ?", Bind::Text(org.to_string()));
    Ok(sql.load::<Count>(conn)?.first().map(|c| c.n).unwrap_or(0))
}

/// `boundary` for the row at `target`, starting from the nearest kept row before it: at most
/// `ANCHOR_EVERY` index entries skipped, once the rows before are known. Those missing are
/// found a thousand at a time (once per version of the list), and kept only when the list did
/// not change meanwhile; if it changed while the page was looked for, the page is found the
/// plain way, so it is always a slice of one state of the list.
fn anchored_boundary(
    conn: &mut DbConn,
    org: OrgId,
    query: &Query,
    now: NaiveDateTime,
    anchors: &Anchors,
    target: i64,
) -> QueryResult<Option<Position>> {
    let version = list_version(conn, org)?;
    let needed = usize::try_from(target / ANCHOR_EVERY).unwrap_or(0);
    let mut after = anchors.get(org, query.sort, version);
    let known = after.len();
    while after.len() < needed {
        match boundary(conn, org, query, now, None, after.last(), ANCHOR_EVERY - 1)? {
            Some(next) => after.push(next),
            None => break,
        }
    }
    let found = if after.len() < needed {
        None
    } else {
        let skip = target - needed as i64 * ANCHOR_EVERY;
        boundary(conn, org, query, now, None, needed.checked_sub(1).and_then(|k| after.get(k)), skip)?
    };
    if list_version(conn, org)? != version {
        return boundary(conn, org, query, now, None, None, target);
    }
    if after.len() > known {
        anchors.put(org, query.sort, version, after);
    }
    Ok(found)
}

/// Whether walking the sort's index and testing each row finds the page sooner than listing
/// every match from the trigram index and sorting them (SQLite): a search matching one member
/// in 40 finds a page in about 2,000 entries of the email index, each tested in the index
/// itself, where the trigram index would have its thousands of matches looked up and sorted.
/// An entry tested costs about an eighth of a match looked up in the email order; in the other
/// orders the index does not hold the email and name, so each entry walked reads its row too.
fn walk_pays(query: &Query, total: &Total) -> bool {
    let Some(all) = total.members_unsearched else { return false };
    if total.members <= 0 {
        return false;
    }
    let walked = (query.offset + query.limit) as f64 * all as f64 / total.members as f64;
    let per_match = if matches!(query.sort, Sort::Email | Sort::EmailDesc) { 8.0 } else { 1.0 };
    walked <= per_match * total.members as f64
}

/// The rows of `query`'s page, or, `from` a position, its `limit` rows from there on (the
/// offset then is 0): the same query either way, so that a slice of the export holds exactly
/// the rows the list shows, in its order.
fn rows(
    conn: &mut DbConn,
    org: OrgId,
    query: &Query,
    now: NaiveDateTime,
    search: Option<&Search>,
    from: Option<&Position>,
) -> QueryResult<Vec<Row>> {
    let (members, invitations) = halves(query);
    let invitations = invitations && invitations_reach(query.sort, from);
    if !members && !invitations {
        return Ok(Vec::new());
    }
    let backend = conn.backend();
    let order = order_by(query.sort);
    let per_half = backend == Backend::Postgres && members && invitations;
    let (open, close) = if per_half { ("SELECT * FROM (", ") AS half") } else { ("", "") };
    let half_limit = |sql: &mut Sql| {
        if per_half {
            sql.bind(&format!(" ORDER BY {order} LIMIT ?"), Bind::Int(query.offset.saturating_add(query.limit)));
        }
    };
    let mut sql = Sql { text: String::new(), binds: Vec::new() };
    if members {
        sql.push(open);
        member_part_from(&mut sql, backend, &member_columns(), org, query, search, from);
        half_limit(&mut sql);
        sql.push(close);
    }
    if members && invitations {
        sql.push(" UNION ALL ");
    }
    if invitations {
        sql.push(open);
        invitation_part(&mut sql, &invitation_columns(backend), vec![Bind::Time(now)], org, query, search, now, from, backend);
        half_limit(&mut sql);
        sql.push(close);
    }
    sql.push(&format!(" ORDER BY {order} LIMIT ? OFFSET ?"));
    sql.binds.push(Bind::Int(query.limit));
    sql.binds.push(Bind::Int(query.offset));
    sql.load(conn)
}

/// The sort's key and id of one row, as `boundary` reads them (the other keys NULL).
#[derive(QueryableByName)]
struct KeyRow {
    #[diesel(sql_type = Text)]
    id: String,
    #[diesel(sql_type = Nullable<Text>)]
    email: Option<String>,
    #[diesel(sql_type = Nullable<Timestamp>)]
    created_at: Option<NaiveDateTime>,
    #[diesel(sql_type = Nullable<Timestamp>)]
    last_active_at: Option<NaiveDateTime>,
}

/// The columns `boundary` reads of a half: the sort's key (the rest NULL) and the id, which
/// the sort's index holds, so the rows skipped are never read.
fn key_columns(sort: Sort, id: &str, members: bool) -> String {
    let null_text = "CAST(NULL AS TEXT)";
    let null_time = "CAST(NULL AS TIMESTAMP)";
    let (email, created, active) = match sort {
        Sort::Email | Sort::EmailDesc => ("email", null_time, null_time),
        Sort::Created | Sort::CreatedAsc => (null_text, "created_at", null_time),
        Sort::LastActive | Sort::LastActiveAsc => (null_text, null_time, if members { "last_active_at" } else { null_time }),
    };
    format!("{id} AS id, {email} AS email, {created} AS created_at, {active} AS last_active_at")
}

/// The position right after the row `skip` rows on from `from` (from the start when None) in
/// the list (None: the list is shorter): the row at position `offset - 1` is where the page
/// of `query` starts. Read from the sort's indexes only. `from`, when given, is a row of the
/// email or creation orders (`Position::After`), as `Anchors` keeps them.
fn boundary(
    conn: &mut DbConn,
    org: OrgId,
    query: &Query,
    now: NaiveDateTime,
    search: Option<&Search>,
    from: Option<&Position>,
    skip: i64,
) -> QueryResult<Option<Position>> {
    let (members, invitations) = halves(query);
    let invitations = invitations && invitations_reach(query.sort, from);
    if !members && !invitations {
        return Ok(None);
    }
    let backend = conn.backend();
    let order = order_by(query.sort);
    let per_half = backend == Backend::Postgres && members && invitations;
    let (open, close) = if per_half { ("SELECT * FROM (", ") AS half") } else { ("", "") };
    let half_limit = |sql: &mut Sql| {
        if per_half {
            sql.bind(&format!(" ORDER BY {order} LIMIT ?"), Bind::Int(skip.saturating_add(1)));
        }
    };
    let mut sql = Sql { text: String::new(), binds: Vec::new() };
    if members {
        sql.push(open);
        member_part_from(&mut sql, backend, &key_columns(query.sort, "account_id", true), org, query, search, from);
        half_limit(&mut sql);
        sql.push(close);
    }
    if members && invitations {
        sql.push(" UNION ALL ");
    }
    if invitations {
        sql.push(open);
        invitation_part(&mut sql, &key_columns(query.sort, "id", false), Vec::new(), org, query, search, now, from, backend);
        half_limit(&mut sql);
        sql.push(close);
    }
    sql.push(&format!(" ORDER BY {order} LIMIT 1 OFFSET ?"));
    sql.binds.push(Bind::Int(skip));
    let found: Vec<KeyRow> = sql.load(conn)?;
    Ok(found.into_iter().next().map(|row| {
        let key = match query.sort {
            Sort::Email | Sort::EmailDesc => Key::Text(row.email.unwrap_or_default()),
            Sort::Created | Sort::CreatedAsc => row.created_at.map_or(Key::Never, Key::Time),
            Sort::LastActive | Sort::LastActiveAsc => row.last_active_at.map_or(Key::Never, Key::Time),
        };
        Position::After { key, id: row.id }
    }))
}

/// Where a slice of the list (the export reads it in slices) starts.
#[derive(Debug, Clone, PartialEq)]
pub enum Position {
    /// The first row (in the last-active orders, of the members ever active).
    First,
    /// In the last-active orders, the first row never active (members, then invitations).
    FirstNeverActive,
    /// Right after the row with this sort key and id.
    After { key: Key, id: String },
}

/// A row's value of the sort's key.
#[derive(Debug, Clone, PartialEq)]
pub enum Key {
    Text(String),
    Time(NaiveDateTime),
    /// Never active (last-active orders).
    Never,
}

/// Up to `limit` rows of the list from `from` on, in the page's order, and where the next
/// slice starts (None: this was the last). Each slice is a range of the sort's index, so
/// reading a whole organization costs what reading its pages once would, without an offset.
/// `query.limit` and `query.offset` are not used. A search walks the sort's index (the export
/// reads every match anyway).
pub fn slice(
    conn: &mut DbConn,
    org: OrgId,
    query: &Query,
    now: NaiveDateTime,
    from: &Position,
    limit: i64,
) -> QueryResult<(Vec<Row>, Option<Position>)> {
    let search = search(query).map(|s| Search { via: Via::Scan, ..s });
    slice_with(conn, org, query, now, search.as_ref(), from, limit)
}

fn slice_with(
    conn: &mut DbConn,
    org: OrgId,
    query: &Query,
    now: NaiveDateTime,
    search: Option<&Search>,
    from: &Position,
    limit: i64,
) -> QueryResult<(Vec<Row>, Option<Position>)> {
    let sliced = Query { limit, offset: 0, ..query.clone() };
    let rows = rows(conn, org, &sliced, now, search, Some(from))?;
    let next = match rows.last() {
        Some(last) if rows.len() as i64 >= limit => {
            let key = match query.sort {
                Sort::Email | Sort::EmailDesc => Key::Text(last.email.clone()),
                Sort::Created | Sort::CreatedAsc => Key::Time(last.created_at),
                Sort::LastActive | Sort::LastActiveAsc => last.last_active_at.map_or(Key::Never, Key::Time),
            };
            Some(Position::After { key, id: last.id.clone() })
        }
        // the active members are done: the rest of a last-active order follows
        _ if matches!(query.sort, Sort::LastActive | Sort::LastActiveAsc)
            && matches!(from, Position::First | Position::After { key: Key::Time(_), .. }) =>
        {
            Some(Position::FirstNeverActive)
        }
        _ => None,
    };
    Ok((rows, next))
}

/// `limit` rows from `from` on, across the turn of a last-active order from the members ever
/// active to the rest (a slice stops there).
fn slices(
    conn: &mut DbConn,
    org: OrgId,
    query: &Query,
    now: NaiveDateTime,
    search: Option<&Search>,
    mut from: Position,
    limit: i64,
) -> QueryResult<Vec<Row>> {
    let mut out = Vec::new();
    loop {
        let (rows, next) = slice_with(conn, org, query, now, search, &from, limit - out.len() as i64)?;
        out.extend(rows);
        match next {
            Some(next) if (out.len() as i64) < limit => from = next,
            _ => return Ok(out),
        }
    }
}

/// How many rows the member list holds for a query, paging ignored.
#[derive(Debug, Clone, Copy, Default)]
pub struct Total {
    /// Members matching the query.
    pub members: i64,
    /// Invitations matching the query.
    pub invitations: i64,
    /// Members matching the status and role filters, the search left aside (None with a
    /// custom role, which `member_counts` does not count).
    members_unsearched: Option<i64>,
}

impl Total {
    /// Every row of the list matching the query.
    pub fn rows(&self) -> i64 {
        self.members + self.invitations
    }
}

/// How many rows the member list holds for `query` (paging ignored): each half counted on
/// its own index; without a search the members from `member_counts`, with one on SQLite the
/// members of the organization's range in the trigram index.
pub fn count(conn: &mut DbConn, org: OrgId, query: &Query, now: NaiveDateTime) -> QueryResult<Total> {
    let (members, invitations) = halves(query);
    let search = search(query);
    let backend = conn.backend();
    let mut total = Total::default();
    let base_role_only = !matches!(query.role, Some(RoleFilter::Custom(_)));
    if members && base_role_only {
        total.members_unsearched = Some(counted_members(conn, org, query)?);
    }
    if members {
        let unfiltered = query.status.is_none() && query.role.is_none();
        total.members = match (&search, total.members_unsearched) {
            (None, Some(n)) => n,
            (Some(s), _) if s.via == Via::Index && backend == Backend::Sqlite && unfiltered => {
                let mut sql = Sql { text: String::new(), binds: Vec::new() };
                sql.bind("SELECT COUNT(*) AS n FROM member_search WHERE member_search MATCH ?", Bind::Text(s.phrase.clone()));
                fts_range(&mut sql, org);
                sql.load::<Count>(conn)?.first().map(|c| c.n).unwrap_or(0)
            }
            _ => {
                let mut sql = Sql { text: String::new(), binds: Vec::new() };
                member_part(&mut sql, backend, "COUNT(*) AS n", org, query, search.as_ref());
                sql.load::<Count>(conn)?.first().map(|c| c.n).unwrap_or(0)
            }
        };
    }
    if invitations {
        let mut sql = Sql { text: String::new(), binds: Vec::new() };
        invitation_part(&mut sql, "COUNT(*) AS n", Vec::new(), org, query, search.as_ref(), now, None, backend);
        total.invitations = sql.load::<Count>(conn)?.first().map(|c| c.n).unwrap_or(0);
    }
    Ok(total)
}

/// The members matching the status and role filters, from the counts the triggers keep (at
/// most eight rows an organization) rather than counting its memberships.
fn counted_members(conn: &mut DbConn, org: OrgId, query: &Query) -> QueryResult<i64> {
    use crate::storage::schema::member_counts;
    let rows: Vec<(String, String, i64)> = member_counts::table
        .filter(member_counts::org_id.eq(org))
        .select((member_counts::status, member_counts::role, member_counts::n))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter(|(status, _, _)| query.status.is_none_or(|s| s.as_str() == status))
        .filter(|(_, role, _)| match query.role {
            Some(RoleFilter::Base(r)) => r.as_str() == role,
            _ => true,
        })
        .map(|(_, _, n)| n)
        .sum())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_patterns_escape_like_wildcards() {
        assert_eq!(like_pattern(" Ada_1% "), "%ada\\_1\\%%");
    }
}
