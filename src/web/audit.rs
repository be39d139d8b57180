//! The audit log page and its CSV export.

use actix_web::http::header;
use actix_web::web::Bytes;
use actix_web::{HttpResponse, web};
use askama::Template;
use chrono::SecondsFormat;

use crate::db::Db;
use crate::domain::OrgId;
use crate::ops::OpError;
use crate::ops::audit::{self as audit_ops, FilterInput};
use crate::store::audit::{ACTIONS, EventRow, ExportRow, Filter};
use crate::web::error::WebError;
use crate::web::extract::{Authorized, perm};
use crate::web::forms::{FormErrors, form_errors};
use crate::web::shell::{self, Shell};
use crate::web::state::AppState;

const PAGE_SIZE: i64 = 50;
/// Event ids per slice of the export (so at most this many rows per database round trip).
const EXPORT_SLICE: i64 = 1_024;
/// Blocking threads reading the export's slices at once.
const EXPORT_READERS: usize = 2;

#[derive(Debug, Default, serde::Deserialize)]
pub struct AuditQuery {
    #[serde(flatten)]
    filter: FilterInput,
    #[serde(default)]
    cursor: String,
}

/// An event as the page shows it.
pub struct EventView {
    pub time: String,
    pub action: String,
    pub actor: String,
    pub actor_kind: &'static str,
    pub target: String,
    pub target_email: String,
    pub ip: String,
    pub user_agent: String,
    pub details: Vec<(String, String)>,
}

fn details_of(json: &str) -> Vec<(String, String)> {
    match serde_json::from_str::<serde_json::Value>(json) {
        Ok(serde_json::Value::Object(map)) => map
            .into_iter()
            .map(|(k, v)| {
                let value = match v {
                    serde_json::Value::String(s) => s,
                    other => other.to_string(),
                };
                (k.replace('_', " "), value)
            })
            .collect(),
        _ => Vec::new(),
    }
}

fn view(e: EventRow) -> EventView {
    EventView {
        time: crate::web::members::fmt_seconds(e.occurred_at),
        actor_kind: match e.actor_kind.as_str() {
            "api_key" => "API key",
            "system" => "System",
            _ => "Account",
        },
        actor: e.actor_email.unwrap_or_else(|| "—".into()),
        target: e.target.unwrap_or_default(),
        target_email: e.target_email.unwrap_or_default(),
        ip: e.ip.unwrap_or_default(),
        user_agent: e.user_agent.unwrap_or_default(),
        details: details_of(&e.details),
        action: e.action,
    }
}

#[derive(Template)]
#[template(path = "audit/index.html")]
struct AuditPage {
    shell: Shell,
    org: String,
    form: FilterInput,
    actions: &'static [&'static str],
    events: Vec<EventView>,
    filtered: bool,
    first_page: bool,
    newest_href: String,
    older_href: Option<String>,
    export_href: String,
    errors: FormErrors,
}

fn with_query(base: &str, form: &FilterInput, cursor: Option<i64>) -> String {
    let cursor = cursor.map(|c| c.to_string());
    let params: Vec<(&str, &str)> = [("action", &form.action), ("email", &form.email), ("from", &form.from), ("to", &form.to)]
        .into_iter()
        .map(|(k, v)| (k, v.trim()))
        .filter(|(_, v)| !v.is_empty())
        .chain(cursor.as_deref().map(|c| ("cursor", c)))
        .collect();
    let query = serde_urlencoded::to_string(params).unwrap_or_default();
    if query.is_empty() { base.to_string() } else { format!("{base}?{query}") }
}

pub async fn index(
    state: web::Data<AppState>,
    access: Authorized<perm::AuditRead>,
    query: web::Query<AuditQuery>,
) -> Result<HttpResponse, WebError> {
    let AuditQuery { filter: form, cursor } = query.into_inner();
    let org = access.org_id;
    let base = format!("/orgs/{org}/audit");
    let cursor: Option<i64> = cursor.trim().parse().ok();
    let parsed = form.parse().map_err(WebError::from);
    let (events, next, errors) = match parsed {
        Ok(filter) => {
            let (rows, next) = state.run(move |db| audit_ops::page(db, org, &filter, cursor, PAGE_SIZE)).await?;
            (rows, next, FormErrors::none())
        }
        Err(e) => (Vec::new(), None, form_errors(e)?),
    };
    let shell = Shell::load(&state, &access, Some(&access), "audit", "Audit log").await?;
    let status = errors.status();
    shell::render(
        status,
        &AuditPage {
            shell,
            org: org.to_string(),
            actions: &ACTIONS,
            events: events.into_iter().map(view).collect(),
            filtered: !form.is_empty(),
            first_page: cursor.is_none(),
            newest_href: with_query(&base, &form, None),
            older_href: next.map(|c| with_query(&base, &form, Some(c))),
            export_href: with_query(&format!("{base}.csv"), &form, None),
            form,
            errors,
        },
    )
}

/// A cell a spreadsheet would read as a formula is neutralised with a leading quote.
pub fn spreadsheet_safe(cell: &str) -> std::borrow::Cow<'_, str> {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        std::borrow::Cow::Owned(format!("'{cell}"))
    } else {
        std::borrow::Cow::Borrowed(cell)
    }
}

pub const CSV_HEADER: [&str; 8] = ["time", "action", "actor_email", "actor_kind", "target", "ip", "user_agent", "details"];

/// `2026-11-23T14:05:09Z`: RFC 3339 in UTC to the second, written without chrono's
/// formatting machinery (this runs once per exported row).
fn rfc3339_secs(t: chrono::NaiveDateTime, out: &mut String) {
    use chrono::{Datelike, Timelike};
    use std::fmt::Write as _;
    if (0..=9999).contains(&t.year()) {
        let _ = write!(
            out,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
            t.year(),
            t.month(),
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        );
    } else {
        out.push_str(&t.and_utc().to_rfc3339_opts(SecondsFormat::Secs, true));
    }
}

fn csv_batch(rows: &[ExportRow]) -> Result<Bytes, csv::Error> {
    let mut out = csv::Writer::from_writer(Vec::with_capacity(rows.len() * 256));
    let mut time = String::with_capacity(32);
    for e in rows {
        time.clear();
        rfc3339_secs(e.occurred_at, &mut time);
        let target = e.target_email.as_deref().or(e.target.as_deref()).unwrap_or("");
        let cells = [
            spreadsheet_safe(&time),
            spreadsheet_safe(&e.action),
            spreadsheet_safe(e.actor_email.as_deref().unwrap_or("")),
            spreadsheet_safe(&e.actor_kind),
            spreadsheet_safe(target),
            spreadsheet_safe(e.ip.as_deref().unwrap_or("")),
            spreadsheet_safe(e.user_agent.as_deref().unwrap_or("")),
            spreadsheet_safe(&e.details),
        ];
        out.write_record(cells.iter().map(|c| c.as_bytes()))?;
    }
    Ok(Bytes::from(out.into_inner().map_err(|e| e.into_error())?))
}

/// `audit-acme-corp-2026-11-23.csv`
pub(crate) fn filename(org_name: &str) -> String {
    let mut slug = String::new();
    for c in org_name.chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.ends_with('-') && !slug.is_empty() {
            slug.push('-');
        }
    }
    let slug = slug.trim_end_matches('-');
    let slug = if slug.is_empty() { "organization" } else { slug };
    format!("audit-{slug}-{}.csv", chrono::Utc::now().format("%Y-%m-%d"))
}

type Chunk = Result<Bytes, std::io::Error>;
type ChunkSender = tokio::sync::mpsc::Sender<Chunk>;

/// Reads the log in slices of ids, newest first, on `EXPORT_READERS` blocking threads that take
/// turns (reader r reads slices r, r + N, r + 2N…), and hands each slice to the response in
/// order as it is ready: memory stays constant whatever the size (a slice holds at most
/// `EXPORT_SLICE` events, each reader a few slices ahead), the header goes out at once, and the
/// readers keep both cores busy. A client that goes away stops the reading.
pub(crate) fn export_stream(db: Db, org: OrgId, filter: Filter) -> impl futures_util::Stream<Item = Result<Bytes, actix_web::Error>> {
    let (senders, receivers): (Vec<_>, Vec<_>) =
        (0..EXPORT_READERS).map(|_| tokio::sync::mpsc::channel::<Chunk>(1)).unzip();
    actix_web::rt::task::spawn_blocking(move || {
        let range = db.conn().map_err(OpError::from).and_then(|mut conn| {
            crate::store::audit::export_range(&mut conn, org, &filter).map_err(OpError::from)
        });
        let (lo, hi) = match range {
            Ok(Some(range)) => range,
            Ok(None) => return,
            Err(e) => return export_failed(&senders[0], &e),
        };
        let filter = std::sync::Arc::new(filter);
        let mut senders = senders.into_iter().enumerate();
        let first = senders.next();
        for (reader, tx) in senders {
            let (db, filter) = (db.clone(), filter.clone());
            actix_web::rt::task::spawn_blocking(move || read_slices(&db, org, &filter, (lo, hi), reader, &tx));
        }
        if let Some((reader, tx)) = first {
            read_slices(&db, org, &filter, (lo, hi), reader, &tx);
        }
    });
    let header = Bytes::from(CSV_HEADER.join(",") + "\n");
    let body = futures_util::stream::unfold((receivers, 0usize), |(mut receivers, mut slice)| async move {
        loop {
            let n = receivers.len().max(1);
            let chunk = receivers.get_mut(slice % n)?.recv().await?;
            slice += 1;
            match chunk {
                // a slice without a matching event keeps its turn but sends nothing
                Ok(bytes) if bytes.is_empty() => continue,
                Ok(bytes) => return Some((Ok(bytes), (receivers, slice))),
                Err(e) => {
                    // nothing follows an error
                    receivers.clear();
                    return Some((Err(actix_web::error::ErrorInternalServerError(e)), (receivers, slice)));
                }
            }
        }
    });
    futures_util::StreamExt::chain(futures_util::stream::iter([Ok(header)]), body)
}

/// One reader of the export: the slices `reader`, `reader + EXPORT_READERS`, … of `lo..=hi`
/// counted from `hi` down, each sent as one chunk (empty when no event of it matches).
fn read_slices(db: &Db, org: OrgId, filter: &Filter, (lo, hi): (i64, i64), reader: usize, tx: &ChunkSender) {
    let readers = EXPORT_READERS as i64;
    let mut top = hi.saturating_sub(reader as i64 * EXPORT_SLICE);
    while top >= lo {
        let bottom = top.saturating_sub(EXPORT_SLICE - 1).max(lo);
        let rows = db.conn().map_err(OpError::from).and_then(|mut conn| {
            crate::store::audit::export_slice(&mut conn, org, filter, bottom, top).map_err(OpError::from)
        });
        let chunk = match rows {
            Ok(rows) => csv_batch(&rows).map_err(std::io::Error::other),
            Err(e) => return export_failed(tx, &e),
        };
        if tx.blocking_send(chunk).is_err() {
            return;
        }
        top = top.saturating_sub(readers * EXPORT_SLICE);
    }
}

fn export_failed(tx: &ChunkSender, e: &OpError) {
    tracing::error!(error = %e, "audit export stopped");
    let _ = tx.blocking_send(Err(std::io::Error::other("export failed")));
}

pub async fn export(
    state: web::Data<AppState>,
    access: Authorized<perm::AuditRead>,
    query: web::Query<AuditQuery>,
) -> Result<HttpResponse, WebError> {
    let filter = query.into_inner().filter.parse()?;
    let disposition = format!("attachment; filename=\"{}\"", filename(&access.org_name));
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((header::CONTENT_DISPOSITION, disposition))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .streaming(export_stream(state.db.clone(), access.org_id, filter)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_neutralised() {
        for cell in ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"] {
            assert_eq!(spreadsheet_safe(cell), format!("'{cell}"));
        }
        assert_eq!(spreadsheet_safe("member.invited"), "member.invited");
    }

    #[test]
    fn times_are_rfc3339_utc_to_the_second() {
        let at = |y, mo, d, h, mi, s| {
            chrono::NaiveDate::from_ymd_opt(y, mo, d).and_then(|d| d.and_hms_micro_opt(h, mi, s, 123_456)).unwrap_or_default()
        };
        for t in [at(2026, 1, 2, 3, 4, 5), at(1999, 12, 31, 23, 59, 59), at(12026, 6, 1, 0, 0, 0)] {
            let mut out = String::new();
            rfc3339_secs(t, &mut out);
            assert_eq!(out, t.and_utc().to_rfc3339_opts(SecondsFormat::Secs, true));
        }
    }

    #[test]
    fn the_filename_names_the_organization_and_the_day() {
        let name = filename("Acme, Inc. (EU)");
        assert!(name.starts_with("audit-acme-inc-eu-") && name.ends_with(".csv"), "{name}");
        assert!(filename("???").starts_with("audit-organization-"));
    }
}
