//! The CSV exports, streamed with constant memory: the audit log's (the same file from the
//! console and from the JSON API, optionally with the hash chain's columns, `chain=1`), and
//! what every export shares: spreadsheet-safe cells, times, file names, the streamed body.

use actix_web::web::Bytes;

use crate::domain::OrgId;
use crate::operations::audit::{Event, EventBody, ExportRow, Filter};
use crate::operations::{self, OpError};
use crate::storage::Db;

/// Event ids per slice of the export (so at most this many rows per database round trip).
const EXPORT_SLICE: i64 = 1_024;
/// Blocking threads reading the export's slices at once.
const EXPORT_READERS: usize = 2;

/// A cell a spreadsheet would read as a formula is neutralised with a leading quote.
pub fn spreadsheet_safe(cell: &str) -> std::borrow::Cow<'_, str> {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        std::borrow::Cow::Owned(format!("'{cell}"))
    } else {
        std::borrow::Cow::Borrowed(cell)
    }
}

pub const CSV_HEADER: [&str; 8] = ["time", "action", "actor_email", "actor_kind", "target", "ip", "user_agent", "details"];

/// The columns `chain=1` appends: the event's place in its organization's chain and the exact
/// content that was hashed, so that the file can be checked offline.
pub const CHAIN_HEADER: [&str; 4] = ["seq", "prev_hash", "hash", "canonical"];

/// `2026-11-23T14:05:09Z`: RFC 3339 in UTC to the second.
pub fn rfc3339_secs(t: chrono::NaiveDateTime, out: &mut String) {
    crate::domain::time::write(t, crate::domain::time::Precision::Second, 'T', "Z", out);
}

/// The visible cells of an event, neutralised for spreadsheets; `time` is its time to the
/// second (as `rfc3339_secs` writes it). The offline check of an export compares a row's cells
/// with these, built from its canonical content.
#[allow(clippy::too_many_arguments)]
pub fn visible_cells<'a>(
    time: &'a str,
    action: &'a str,
    actor_email: Option<&'a str>,
    actor_kind: &'a str,
    target: Option<&'a str>,
    target_email: Option<&'a str>,
    ip: Option<&'a str>,
    user_agent: Option<&'a str>,
    details: &'a str,
) -> [std::borrow::Cow<'a, str>; 8] {
    [
        spreadsheet_safe(time),
        spreadsheet_safe(action),
        spreadsheet_safe(actor_email.unwrap_or("")),
        spreadsheet_safe(actor_kind),
        spreadsheet_safe(target_email.or(target).unwrap_or("")),
        spreadsheet_safe(ip.unwrap_or("")),
        spreadsheet_safe(user_agent.unwrap_or("")),
        spreadsheet_safe(details),
    ]
}

fn body_cells<'a>(time: &'a str, e: &'a EventBody) -> [std::borrow::Cow<'a, str>; 8] {
    visible_cells(
        time,
        &e.action,
        e.actor_email.as_deref(),
        &e.actor_kind,
        e.target.as_deref(),
        e.target_email.as_deref(),
        e.ip.as_deref(),
        e.user_agent.as_deref(),
        &e.details,
    )
}

fn csv_batch(rows: &[ExportRow]) -> Result<Bytes, csv::Error> {
    let mut out = csv::Writer::from_writer(Vec::with_capacity(rows.len() * 256));
    let mut time = String::with_capacity(32);
    for (_, e) in rows {
        time.clear();
        rfc3339_secs(e.occurred_at, &mut time);
        let cells = body_cells(&time, e);
        out.write_record(cells.iter().map(|c| c.as_bytes()))?;
    }
    Ok(Bytes::from(out.into_inner().map_err(|e| e.into_error())?))
}

/// Rows with the chain's columns. The canonical cell is written as it was hashed, never
/// neutralised (a quote in front would break its hash): it is a JSON array, so it always
/// starts with `[`, which no spreadsheet reads as a formula. The other chain cells are a
/// number and hex digits.
fn csv_batch_chain(rows: &[Event]) -> Result<Bytes, csv::Error> {
    let mut out = csv::Writer::from_writer(Vec::with_capacity(rows.len() * 640));
    let mut time = String::with_capacity(32);
    for e in rows {
        time.clear();
        rfc3339_secs(e.body.occurred_at, &mut time);
        let cells = body_cells(&time, &e.body);
        let seq = e.seq.to_string();
        let canonical = e.canonical();
        debug_assert!(canonical.starts_with('['));
        let chain = [seq.as_str(), e.prev_hash.as_str(), e.hash.as_str(), canonical.as_str()];
        out.write_record(cells.iter().map(|c| c.as_bytes()).chain(chain.iter().map(|c| c.as_bytes())))?;
    }
    Ok(Bytes::from(out.into_inner().map_err(|e| e.into_error())?))
}

/// `audit-acme-corp-2026-11-23.csv`
pub fn filename(org_name: &str) -> String {
    dated_filename("audit", org_name)
}

/// `{what}-acme-corp-2026-11-23.csv`: what the file holds, the organization's name as a slug,
/// today's date (UTC).
pub fn dated_filename(what: &str, org_name: &str) -> String {
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
    format!("{what}-{slug}-{}.csv", chrono::Utc::now().format("%Y-%m-%d"))
}

type Chunk = Result<Bytes, std::io::Error>;
type ChunkSender = tokio::sync::mpsc::Sender<Chunk>;

/// Reads the log in slices of ids, newest first, on `EXPORT_READERS` blocking threads that take
/// turns (reader r reads slices r, r + N, r + 2N…), and hands each slice to the response in
/// order as it is ready: memory stays constant whatever the size (a slice holds at most
/// `EXPORT_SLICE` events, each reader a few slices ahead), the header goes out at once, and the
/// readers keep both cores busy. A client that goes away stops the reading. With `chain`, each
/// row also carries the chain's columns (`CHAIN_HEADER`). On PostgreSQL, without them, the
/// database writes the rows itself in one `COPY` (`operations::audit::export_copy`).
pub fn export_stream(db: Db, org: OrgId, filter: Filter, chain: bool) -> impl futures_util::Stream<Item = Result<Bytes, actix_web::Error>> {
    let (senders, receivers): (Vec<_>, Vec<_>) =
        (0..EXPORT_READERS).map(|_| tokio::sync::mpsc::channel::<Chunk>(1)).unzip();
    actix_web::rt::task::spawn_blocking(move || {
        if !chain {
            // PostgreSQL writes the rows itself, faster than they are read and written here;
            // its chunks take the readers' turns, so the body reads them in order
            let mut sent = 0usize;
            let mut send = |chunk: Vec<u8>| {
                let tx = &senders[sent % senders.len()];
                sent += 1;
                tx.blocking_send(Ok(Bytes::from(chunk))).is_ok()
            };
            match operations::audit::export_copy(&db, org, &filter, &mut send) {
                Ok(true) => return,
                Ok(false) => {}
                Err(e) => return export_failed(&senders[sent % senders.len()], &e),
            }
        }
        let range = operations::audit::export_range(&db, org, &filter);
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
            actix_web::rt::task::spawn_blocking(move || read_slices(&db, org, &filter, (lo, hi), chain, reader, &tx));
        }
        if let Some((reader, tx)) = first {
            read_slices(&db, org, &filter, (lo, hi), chain, reader, &tx);
        }
    });
    let header = if chain {
        Bytes::from(format!("{},{}\n", CSV_HEADER.join(","), CHAIN_HEADER.join(",")))
    } else {
        Bytes::from(CSV_HEADER.join(",") + "\n")
    };
    futures_util::StreamExt::chain(futures_util::stream::iter([Ok(header)]), body_of(receivers))
}

/// The chunks of `receivers` taken in turns (slice i from receiver i % n), ending after the
/// first error.
fn body_of(receivers: Vec<tokio::sync::mpsc::Receiver<Chunk>>) -> impl futures_util::Stream<Item = Result<Bytes, actix_web::Error>> {
    futures_util::stream::unfold((receivers, 0usize), |(mut receivers, mut slice)| async move {
        loop {
            let n = receivers.len().max(1);
            let chunk = receivers.get_mut(slice % n)?.recv().await?;
            slice += 1;
            match chunk {
                // a slice without a matching row keeps its turn but sends nothing
                Ok(bytes) if bytes.is_empty() => continue,
                Ok(bytes) => return Some((Ok(bytes), (receivers, slice))),
                Err(e) => {
                    // nothing follows an error
                    receivers.clear();
                    return Some((Err(actix_web::error::ErrorInternalServerError(e)), (receivers, slice)));
                }
            }
        }
    })
}

/// Where the reader of an export hands its chunks, in order.
pub struct ChunkSink(ChunkSender);

impl ChunkSink {
    /// Hands a chunk to the response; false when the client went away (stop reading then).
    pub fn send(&self, chunk: Bytes) -> bool {
        self.0.blocking_send(Ok(chunk)).is_ok()
    }

    /// Ends the response after what was sent: the download is cut short, never looks whole.
    pub fn fail(&self, export: &str, e: &dyn std::fmt::Display) {
        tracing::error!(error = %e, "{export} export stopped");
        let _ = self.0.blocking_send(Err(std::io::Error::other("export failed")));
    }
}

/// A CSV body: `header` at once, then what `read` sends, in order, from one blocking thread.
/// A chunk waits until the one before it has gone out, so memory stays at a chunk or two
/// whatever the size, and a client that goes away stops the reading.
pub fn stream_blocking(
    header: Bytes,
    read: impl FnOnce(ChunkSink) + Send + 'static,
) -> impl futures_util::Stream<Item = Result<Bytes, actix_web::Error>> {
    let (tx, rx) = tokio::sync::mpsc::channel::<Chunk>(1);
    actix_web::rt::task::spawn_blocking(move || read(ChunkSink(tx)));
    futures_util::StreamExt::chain(futures_util::stream::iter([Ok(header)]), body_of(vec![rx]))
}

/// One reader of the export: the slices `reader`, `reader + EXPORT_READERS`, … of `lo..=hi`
/// counted from `hi` down, each sent as one chunk (empty when no event of it matches).
fn read_slices(db: &Db, org: OrgId, filter: &Filter, (lo, hi): (i64, i64), chain: bool, reader: usize, tx: &ChunkSender) {
    let readers = EXPORT_READERS as i64;
    let mut top = hi.saturating_sub(reader as i64 * EXPORT_SLICE);
    while top >= lo {
        let bottom = top.saturating_sub(EXPORT_SLICE - 1).max(lo);
        let chunk = if chain {
            operations::audit::export_slice_chain(db, org, filter, bottom, top)
                .map(|rows| csv_batch_chain(&rows).map_err(std::io::Error::other))
        } else {
            operations::audit::export_slice(db, org, filter, bottom, top).map(|rows| csv_batch(&rows).map_err(std::io::Error::other))
        };
        let chunk = match chunk {
            Ok(chunk) => chunk,
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

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::SecondsFormat;

    #[test]
    fn formulas_are_neutralised() {
        for cell in ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"] {
            assert_eq!(spreadsheet_safe(cell), format!("'{cell}"));
        }
        assert_eq!(spreadsheet_safe("member.invited"), "member.invited");
    }

    #[test]
    fn the_canonical_cell_is_safe_in_a_spreadsheet_without_a_quote() {
        // every field an attacker could fill starts with a formula character
        let body = EventBody {
            occurred_at: chrono::NaiveDate::from_ymd_opt(2026, 1, 2).and_then(|d| d.and_hms_opt(3, 4, 5)).unwrap_or_default(),
            action: "=1+1".into(),
            actor_kind: "+x".into(),
            actor_email: Some("-a@example.com".into()),
            target: Some("@SUM(A1)".into()),
            target_email: Some("=HYPERLINK(\"x\")".into()),
            ip: Some("\t1".into()),
            user_agent: Some("\r=2".into()),
            details: "=3".into(),
        };
        let event = Event { id: 1, org_id: OrgId::new(), seq: 7, actor_id: Some("-id".into()), body, prev_hash: "0".repeat(64), hash: "f".repeat(64) };
        let bytes = csv_batch_chain(&[event.clone()]).unwrap();
        let row = csv::ReaderBuilder::new().has_headers(false).from_reader(&bytes[..]).records().next().unwrap().unwrap();
        assert_eq!(row.len(), 12);
        assert_eq!(&row[11], event.canonical(), "the canonical cell is exactly what was hashed");
        assert!(row[11].starts_with('['), "a JSON array: never read as a formula");
        assert_eq!((&row[8], &row[9], &row[10]), ("7", "0".repeat(64).as_str(), "f".repeat(64).as_str()));
        for (i, cell) in row.iter().enumerate() {
            assert!(!cell.starts_with(['=', '+', '-', '@', '\t', '\r']), "cell {i} {cell:?} could be read as a formula");
        }
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
