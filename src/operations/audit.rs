//! Reading the audit log: filters, pages, the CSV export, the chain's head, checkpoints, and
//! the chain check.

use std::fmt;

use chrono::{Datelike, NaiveDate, NaiveDateTime};

use crate::storage::{Backend, Db};
use crate::domain::audit_chain::{ChainHead, SavedHead};
use crate::domain::{Invalid, OrgId};
use crate::operations::OpError;
pub use crate::storage::audit::{ACTIONS, Event, EventBody, ExportRow, Filter};
use crate::storage::audit::{self, GENESIS_HASH};

/// The filters as typed in the page's form or the export's query.
#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize)]
pub struct FilterInput {
    #[serde(default)]
    pub action: String,
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub from: String,
    #[serde(default)]
    pub to: String,
}

/// The years a filter's dates may be in. Chrono reads years far beyond them (-5000, 99999),
/// which PostgreSQL refuses as out of range and SQLite compares as text out of order; no
/// event is older than 1970.
const YEARS: std::ops::RangeInclusive<i32> = 1970..=9999;

fn date(field: &'static str, raw: &str) -> Result<Option<NaiveDate>, Invalid> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    let date = NaiveDate::parse_from_str(raw, "%Y-%m-%d").map_err(|_| Invalid::new(field, "Enter a date as YYYY-MM-DD."))?;
    if !YEARS.contains(&date.year()) {
        return Err(Invalid::new(field, "Enter a date from 1970-01-01 to 9999-12-31."));
    }
    Ok(Some(date))
}

fn midnight(d: NaiveDate) -> NaiveDateTime {
    d.and_hms_opt(0, 0, 0).unwrap_or_default()
}

impl FilterInput {
    /// The filter, or the fields that cannot be read. `to` is a whole day: up to its end.
    pub fn parse(&self) -> Result<Filter, OpError> {
        let action = self.action.trim();
        let action = if action.is_empty() {
            None
        } else if ACTIONS.contains(&action) {
            Some(action.to_string())
        } else {
            return Err(Invalid::new("action", "Choose an action from the list.").into());
        };
        // counted in characters as typed, as the API's document states it (lower-casing can
        // lengthen some letters)
        if self.email.chars().count() > crate::domain::email::MAX_EMAIL_LEN {
            return Err(Invalid::new("email", "An email address has at most 254 characters.").into());
        }
        if self.email.chars().any(char::is_control) {
            return Err(Invalid::new("email", "An email address holds no control characters.").into());
        }
        let email = Some(self.email.trim().to_lowercase()).filter(|e| !e.is_empty());
        let from = date("from", &self.from);
        let to = date("to", &self.to);
        let errors: Vec<Invalid> = [&from, &to].into_iter().filter_map(|r| r.as_ref().err().cloned()).collect();
        if !errors.is_empty() {
            return Err(OpError::Invalid(errors));
        }
        let (from, to) = (from?, to?);
        if let (Some(f), Some(t)) = (from, to) {
            if t < f {
                return Err(Invalid::new("to", "The end date is before the start date.").into());
            }
        }
        Ok(Filter {
            action,
            email,
            from: from.map(midnight),
            // the day after 9999-12-31 is in year 10000, which SQLite would compare as text
            // before every other date: no end at all means the same
            until: to.and_then(|t| t.succ_opt()).filter(|d| YEARS.contains(&d.year())).map(midnight),
        })
    }

    pub fn is_empty(&self) -> bool {
        [&self.action, &self.email, &self.from, &self.to].iter().all(|s| s.trim().is_empty())
    }
}

/// One page of the log and the cursor of the next (older) one.
pub fn page(db: &Db, org: OrgId, filter: &Filter, before: Option<i64>, size: i64) -> Result<(Vec<Event>, Option<i64>), OpError> {
    let mut rows = audit::page(&mut *db.conn()?, org, filter, before, size + 1)?;
    let more = rows.len() as i64 > size;
    rows.truncate(usize::try_from(size).unwrap_or(0));
    let next = if more { rows.last().map(|r| r.id) } else { None };
    Ok((rows, next))
}

/// Where a chain first stops matching.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    pub org_id: String,
    pub seq: i64,
    pub id: i64,
    pub reason: String,
}

/// A saved head the chain no longer reaches, or reaches with another event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeadMismatch {
    pub org_id: String,
    pub reason: String,
}

#[derive(Debug, Clone, Default)]
pub struct VerifyReport {
    pub organizations: usize,
    pub events: u64,
    /// The first mismatching event of each broken chain.
    pub mismatches: Vec<Mismatch>,
    /// How many saved heads a checkpoint held, when one was given.
    pub saved_heads: Option<usize>,
    /// The saved heads the chains no longer reach.
    pub head_mismatches: Vec<HeadMismatch>,
}

impl VerifyReport {
    pub fn is_intact(&self) -> bool {
        self.mismatches.is_empty() && self.head_mismatches.is_empty()
    }
}

impl fmt::Display for VerifyReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "checked {} events in {} organizations: ", self.events, self.organizations)?;
        if self.mismatches.is_empty() {
            write!(f, "every chain is intact")?;
        } else {
            write!(f, "{} broken chain(s)", self.mismatches.len())?;
            for m in &self.mismatches {
                write!(f, "\n  organization {}: event #{} (id {}) does not match: {}", m.org_id, m.seq, m.id, m.reason)?;
            }
        }
        if let Some(saved) = self.saved_heads {
            if self.head_mismatches.is_empty() {
                write!(f, "\nevery chain still reaches its saved head ({saved} in the checkpoint)")?;
            } else {
                write!(f, "\n{} of {saved} saved heads not reached", self.head_mismatches.len())?;
                for m in &self.head_mismatches {
                    write!(f, "\n  organization {}: {}", m.org_id, m.reason)?;
                }
            }
        }
        Ok(())
    }
}

const VERIFY_BATCH: i64 = 10_000;

/// Walks every organization's chain in order and names the first event of each that does not
/// match: a changed row (its hash), a deleted one (a gap), a reordered one (the links).
pub fn verify(db: &Db) -> Result<VerifyReport, OpError> {
    verify_chains(db, None)
}

/// `verify`, then checks that every chain still reaches the head the checkpoint saved for it.
/// The walk alone cannot see the newest events cut off (what is left still links from the
/// first event); a head saved outside the database can. Organizations the checkpoint does not
/// name (created after it) are only walked.
pub fn verify_with_checkpoint(db: &Db, saved: &[SavedHead]) -> Result<VerifyReport, OpError> {
    verify_chains(db, Some(saved))
}

fn verify_chains(db: &Db, saved: Option<&[SavedHead]>) -> Result<VerifyReport, OpError> {
    let mut report = VerifyReport::default();
    let orgs = audit::orgs_with_events(&mut *db.conn()?)?;
    report.organizations = orgs.len();
    for org in orgs {
        let (mut expected_seq, mut prev_hash) = (1_i64, GENESIS_HASH.to_string());
        'chain: loop {
            let batch = audit::chain_after(&mut *db.conn()?, org, expected_seq - 1, VERIFY_BATCH)?;
            if batch.is_empty() {
                break;
            }
            for event in batch {
                report.events += 1;
                let reason = if event.seq != expected_seq {
                    Some(format!("expected position #{expected_seq}, found #{} (an event is missing)", event.seq))
                } else if event.prev_hash != prev_hash {
                    Some("it does not link to the event before it".to_string())
                } else if event.hash != event.compute_hash() {
                    Some("its content does not match its hash".to_string())
                } else {
                    None
                };
                if let Some(reason) = reason {
                    report.mismatches.push(Mismatch { org_id: org.to_string(), seq: event.seq, id: event.id, reason });
                    break 'chain;
                }
                expected_seq += 1;
                prev_hash = event.hash;
            }
        }
    }
    if let Some(saved) = saved {
        report.saved_heads = Some(saved.len());
        for head in saved {
            if let Some(reason) = head_mismatch(db, head)? {
                report.head_mismatches.push(HeadMismatch { org_id: head.org_id.clone(), reason });
            }
        }
    }
    Ok(report)
}

/// Why the organization's chain does not reach `saved`, if it does not.
fn head_mismatch(db: &Db, saved: &SavedHead) -> Result<Option<String>, OpError> {
    let Ok(org) = saved.org_id.parse::<OrgId>() else {
        return Ok(Some("the checkpoint names it, but it is not an organization id".into()));
    };
    let conn = &mut *db.conn()?;
    let (seq, short) = (saved.seq, saved.hash.get(..12).unwrap_or(&saved.hash));
    if let Some(hash) = audit::hash_at(conn, org, seq)? {
        return Ok((hash != saved.hash).then(|| {
            format!("event #{seq} has the hash {}…, the checkpoint saved {short}…: it was changed or the chain rewritten", &hash[..hash.len().min(12)])
        }));
    }
    Ok(Some(match audit::head(conn, org)? {
        None => format!("it has no events any more; the checkpoint saved its head at event #{seq} ({short}…)"),
        Some(head) if head.seq < seq => format!(
            "the chain ends at event #{}, before the saved head #{seq} ({short}…): the newest events were cut off",
            head.seq
        ),
        Some(_) => format!("event #{seq}, the saved head, is missing"),
    }))
}

/// The organization's chain head, None when it has no events.
pub fn head(db: &Db, org: OrgId) -> Result<Option<ChainHead>, OpError> {
    Ok(audit::head(&mut *db.conn()?, org)?)
}

/// The head and the number of events of the organization's chain (the API's answer).
pub fn head_and_count(db: &Db, org: OrgId) -> Result<(Option<ChainHead>, i64), OpError> {
    let conn = &mut *db.conn()?;
    Ok((audit::head(conn, org)?, audit::count(conn, org)?))
}

/// The head of every organization's chain, as `steward audit checkpoint` writes them.
pub fn checkpoint(db: &Db) -> Result<Vec<SavedHead>, OpError> {
    let orgs = audit::orgs_with_events(&mut *db.conn()?)?;
    let written_at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let mut heads = Vec::with_capacity(orgs.len());
    for org in orgs {
        if let Some(head) = audit::head(&mut *db.conn()?, org)? {
            heads.push(SavedHead { org_id: org.to_string(), seq: head.seq, hash: head.hash, written_at: written_at.clone() });
        }
    }
    Ok(heads)
}

/// Reads the export's `chain` parameter: `1` (or `true`) adds the chain's columns.
pub fn chain_columns(value: Option<&str>) -> Result<bool, OpError> {
    match value.map(str::trim).unwrap_or("") {
        "" | "0" | "false" => Ok(false),
        "1" | "true" => Ok(true),
        _ => Err(Invalid::new("chain", "Use chain=1 to add the hash chain's columns.").into()),
    }
}

/// The ids the CSV export walks for `filter`, None when no event can match.
pub fn export_range(db: &Db, org: OrgId, filter: &Filter) -> Result<Option<(i64, i64)>, OpError> {
    Ok(audit::export_range(&mut *db.conn()?, org, filter)?)
}

/// The whole export's rows, without the chain's columns, written by the database itself when
/// it can (PostgreSQL's `COPY`), handed to `send` in chunks, newest first, until it returns
/// false. Ok(false), with nothing sent, when the database cannot (SQLite): read the slices then.
pub fn export_copy(db: &Db, org: OrgId, filter: &Filter, send: &mut dyn FnMut(Vec<u8>) -> bool) -> Result<bool, OpError> {
    let conn = &mut *db.conn()?;
    if conn.backend() != Backend::Postgres {
        return Ok(false);
    }
    let Some(range) = audit::export_range(conn, org, filter)? else { return Ok(true) };
    Ok(audit::export_copy(conn, org, filter, range, send)?.is_some())
}

/// The matching events with ids in `lo..=hi`, newest first, as the export writes them.
pub fn export_slice(db: &Db, org: OrgId, filter: &Filter, lo: i64, hi: i64) -> Result<Vec<ExportRow>, OpError> {
    Ok(audit::export_slice(&mut *db.conn()?, org, filter, lo, hi)?)
}

/// `export_slice` with each event whole, for the export with the chain's columns.
pub fn export_slice_chain(db: &Db, org: OrgId, filter: &Filter, lo: i64, hi: i64) -> Result<Vec<Event>, OpError> {
    Ok(audit::export_slice_chain(&mut *db.conn()?, org, filter, lo, hi)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(action: &str, email: &str, from: &str, to: &str) -> FilterInput {
        FilterInput { action: action.into(), email: email.into(), from: from.into(), to: to.into() }
    }

    #[test]
    fn dates_are_whole_days_and_email_is_normalised() {
        let f = input("member.invited", " Bob@Example.com ", "2026-01-01", "2026-01-31").parse().unwrap();
        assert_eq!(f.action.as_deref(), Some("member.invited"));
        assert_eq!(f.email.as_deref(), Some("bob@example.com"));
        assert_eq!(f.from.unwrap().to_string(), "2026-01-01 00:00:00");
        assert_eq!(f.until.unwrap().to_string(), "2026-02-01 00:00:00");
    }

    #[test]
    fn unreadable_filters_are_refused() {
        assert!(input("member.exploded", "", "", "").parse().is_err());
        assert!(input("", "", "yesterday", "").parse().is_err());
        assert!(input("", "", "2026-02-01", "2026-01-01").parse().is_err());
        assert!(input("", "", "", "").parse().unwrap() == Filter::default());
    }

    #[test]
    fn dates_are_years_1970_to_9999() {
        let field_of = |from: &str, to: &str| match input("", "", from, to).parse() {
            Err(OpError::Invalid(list)) => list.into_iter().map(|e| e.field).collect::<Vec<_>>(),
            other => panic!("{from}..{to} was read: {other:?}"),
        };
        assert_eq!(field_of("-5000-01-01", ""), ["from"]);
        assert_eq!(field_of("1969-12-31", ""), ["from"]);
        assert_eq!(field_of("", "10000-01-01"), ["to"]);
        assert_eq!(field_of("+12026-01-01", "0000-01-01"), ["from", "to"]);
        match input("", "", "+12026-01-01", "").parse() {
            Err(OpError::Invalid(list)) => assert_eq!(list[0].message, "Enter a date from 1970-01-01 to 9999-12-31."),
            other => panic!("{other:?}"),
        }
        let widest = input("", "", "1970-01-01", "9999-12-31").parse().unwrap();
        assert_eq!(widest.from.unwrap().to_string(), "1970-01-01 00:00:00");
        assert_eq!(widest.until, None, "up to the end of 9999 is no end at all");
        assert_eq!(input("", "", "", "9999-12-30").parse().unwrap().until.unwrap().to_string(), "9999-12-31 00:00:00");
    }
}
