//! `steward audit verify --csv`: checks an audit CSV exported with the chain's columns
//! (`chain=1`) offline, without the database, and says honestly what it proves.
//!
//! Each row is checked on its own (its hash is SHA-256 of its `prev_hash`, a newline and its
//! `canonical`; its visible cells say what its canonical says), then with its neighbour (the
//! file is newest first: a row's `prev_hash` is the hash of the row one position older). Rows
//! that link from the chain's first event to the newest are a whole chain; rows with gaps (a
//! filtered export) are only self-consistent, since whoever can write to the database can
//! change a row and hash it again. A checkpoint (heads saved earlier, outside the database)
//! then pins the chain: the export must hold the saved head's event with the saved hash.

use std::collections::HashMap;
use std::fmt;
use std::io::Read;

use serde_json::Value;

use crate::csv_export::{CHAIN_HEADER, CSV_HEADER, visible_cells};
use crate::domain::audit_chain::{GENESIS_HASH, SavedHead, link_hash};

/// What checking one export found.
#[derive(Debug, Clone, Default)]
pub struct CsvReport {
    pub org_id: Option<String>,
    pub rows: u64,
    /// The newest row's position and hash.
    pub newest: Option<(i64, String)>,
    pub oldest_seq: Option<i64>,
    /// Places where the positions jump: a filtered export.
    pub gaps: u64,
    /// The oldest row is the chain's first event, linked from the genesis hash.
    pub from_genesis: bool,
    /// The first thing found wrong: the file was changed, or is not such an export.
    pub problem: Option<String>,
    /// With a checkpoint: what was reached, or why not.
    pub checkpoint: Option<Result<String, String>>,
    /// With a full export to compare with: what was matched, or why not.
    pub against: Option<Result<String, String>>,
}

impl CsvReport {
    /// Whether the rows are proven: every row intact, and either the file is a whole chain
    /// (reaching the checkpoint's head when one was given) or every row was found, with the
    /// same hash, in a full export that is itself proven.
    pub fn is_proven(&self) -> bool {
        if self.problem.is_some() || self.rows == 0 {
            return false;
        }
        if let Some(against) = &self.against {
            return against.is_ok();
        }
        self.is_whole() && !matches!(self.checkpoint, Some(Err(_)))
    }

    /// Linked from the first event to the newest row without a gap.
    pub fn is_whole(&self) -> bool {
        self.gaps == 0 && self.from_genesis
    }
}

/// A row's position, its links, and what was hashed.
struct Row {
    seq: i64,
    prev_hash: String,
    hash: String,
    org_id: String,
}

/// Checks `file` (an export with the chain's columns) on its own, and against the
/// organization's head in `checkpoint` when one is given.
pub fn verify_csv(file: impl Read, checkpoint: Option<&[SavedHead]>) -> CsvReport {
    check(file, checkpoint, None, None)
}

/// Checks `filtered` row by row, then proves its rows through `full`: `full` must be a whole
/// export that is proven (against `checkpoint` when given), and every row of `filtered` must
/// be in it, at the same position with the same hash (so with the same content).
pub fn verify_csv_against(filtered: impl Read, full: impl Read, checkpoint: Option<&[SavedHead]>) -> CsvReport {
    let mut hashes = HashMap::new();
    let whole = check(full, checkpoint, None, Some(&mut hashes));
    let mut report = check(filtered, None, Some(&hashes), None);
    if report.problem.is_none() {
        let verdict = if !whole.is_proven() {
            Err(format!("the full export is not proven:\n{}", indent(&whole.to_string())))
        } else if whole.org_id != report.org_id {
            Err("the full export is of another organization".to_string())
        } else {
            report.against.take().unwrap_or_else(|| Ok(String::new())).map(|_| {
                format!("every row is in the full export with the same hash, and the full export is proven:\n{}", indent(&whole.to_string()))
            })
        };
        report.against = Some(verdict);
    }
    report
}

fn indent(text: &str) -> String {
    text.lines().map(|l| format!("    {l}")).collect::<Vec<_>>().join("\n")
}

fn check(
    file: impl Read,
    checkpoint: Option<&[SavedHead]>,
    against: Option<&HashMap<i64, String>>,
    mut collect: Option<&mut HashMap<i64, String>>,
) -> CsvReport {
    let mut report = CsvReport::default();
    let mut reader = csv::Reader::from_reader(file);
    let expected: Vec<&str> = CSV_HEADER.iter().chain(CHAIN_HEADER.iter()).copied().collect();
    match reader.headers() {
        Ok(h) if h.iter().eq(expected.iter().copied()) => {}
        Ok(h) if h.iter().eq(CSV_HEADER.iter().copied()) => {
            report.problem = Some("this export has no chain columns: export it with chain=1".into());
            return report;
        }
        Ok(h) => {
            report.problem = Some(format!("unexpected header {:?}; expected {}", h.iter().collect::<Vec<_>>(), expected.join(",")));
            return report;
        }
        Err(e) => {
            report.problem = Some(format!("not a CSV file: {e}"));
            return report;
        }
    }
    let mut saved: Option<&SavedHead> = None;
    // (position, hash) seen at the saved head's position, if the export holds it
    let mut at_saved: Option<String> = None;
    let mut against_miss: Option<String> = None;
    let mut newer: Option<Row> = None;
    for (n, record) in reader.records().enumerate() {
        let n = n + 1;
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                report.problem = Some(format!("row {n}: not a CSV row of this export: {e}"));
                return report;
            }
        };
        let row = match read_row(&record) {
            Ok(row) => row,
            Err(why) => {
                let seq = record.get(8).unwrap_or("?");
                report.problem = Some(format!("row {n} (event #{seq}) was changed: {why}"));
                return report;
            }
        };
        match &report.org_id {
            None => {
                saved = checkpoint.and_then(|c| c.iter().find(|h| h.org_id == row.org_id));
                report.org_id = Some(row.org_id.clone());
                report.newest = Some((row.seq, row.hash.clone()));
            }
            Some(org) if *org != row.org_id => {
                report.problem = Some(format!("row {n} (event #{}) is of organization {}, not {org}", row.seq, row.org_id));
                return report;
            }
            Some(_) => {}
        }
        if let Some(newer) = &newer {
            if row.seq >= newer.seq {
                report.problem = Some(format!(
                    "row {n}: event #{} comes after event #{}, but the export is newest first: rows were moved",
                    row.seq, newer.seq
                ));
                return report;
            }
            if row.seq == newer.seq - 1 {
                if newer.prev_hash != row.hash {
                    report.problem = Some(format!(
                        "row {n}: event #{} does not link to event #{} (its prev_hash is not that event's hash): a row was replaced",
                        newer.seq, row.seq
                    ));
                    return report;
                }
            } else {
                report.gaps += 1;
            }
        }
        if saved.is_some_and(|s| s.seq == row.seq) {
            at_saved = Some(row.hash.clone());
        }
        if let Some(full) = against {
            if against_miss.is_none() && full.get(&row.seq) != Some(&row.hash) {
                against_miss = Some(match full.get(&row.seq) {
                    Some(_) => format!("row {n}: event #{} has another hash in the full export", row.seq),
                    None => format!("row {n}: event #{} is not in the full export", row.seq),
                });
            }
        }
        if let Some(map) = collect.as_deref_mut() {
            map.insert(row.seq, row.hash.clone());
        }
        report.rows += 1;
        report.oldest_seq = Some(row.seq);
        newer = Some(row);
    }
    let Some(oldest) = newer else {
        report.problem = Some("the export has no rows".into());
        return report;
    };
    if oldest.seq == 1 {
        if oldest.prev_hash != GENESIS_HASH {
            report.problem = Some("event #1 does not start from the genesis hash: the chain was rebuilt".into());
            return report;
        }
        report.from_genesis = true;
    }
    if let Some(checkpoint) = checkpoint {
        let org = report.org_id.clone().unwrap_or_default();
        report.checkpoint = Some(checkpoint_verdict(checkpoint.iter().find(|h| h.org_id == org), &org, &report, at_saved));
    }
    if against.is_some() {
        report.against = Some(match against_miss {
            Some(miss) => Err(miss),
            None => Ok(String::new()),
        });
    }
    report
}

fn checkpoint_verdict(saved: Option<&SavedHead>, org: &str, report: &CsvReport, at_saved: Option<String>) -> Result<String, String> {
    let Some(saved) = saved else {
        return Err(format!("the checkpoint holds no head for organization {org}"));
    };
    let short = |h: &str| h.get(..12).unwrap_or(h).to_string();
    let newest = report.newest.as_ref().map(|n| n.0).unwrap_or(0);
    match at_saved {
        Some(hash) if hash == saved.hash => Ok(format!(
            "it holds the head saved in the checkpoint: event #{} ({}…, saved {})",
            saved.seq,
            short(&saved.hash),
            saved.written_at
        )),
        Some(hash) => Err(format!(
            "event #{} has the hash {}…, the checkpoint saved {}…: the chain was rewritten",
            saved.seq,
            short(&hash),
            short(&saved.hash)
        )),
        None if newest < saved.seq => Err(format!(
            "the export ends at event #{newest}, before the head saved in the checkpoint (#{}, {}): the newest events are missing",
            saved.seq, saved.written_at
        )),
        None => Err(format!("the head saved in the checkpoint, event #{}, is not in this export", saved.seq)),
    }
}

/// A row checked on its own: its hash, its cells against its canonical, its position.
fn read_row(record: &csv::StringRecord) -> Result<Row, String> {
    let cell = |i: usize| record.get(i).unwrap_or("");
    let (seq, prev_hash, hash, canonical) = (cell(8), cell(9), cell(10), cell(11));
    if link_hash(prev_hash, canonical) != hash {
        return Err("its hash does not match its prev_hash and canonical content".into());
    }
    let fields: Vec<Value> = match serde_json::from_str(canonical) {
        Ok(Value::Array(fields)) if fields.len() == 12 => fields,
        _ => return Err("its canonical content is not an event".into()),
    };
    let text = |i: usize| -> Result<Option<&str>, String> {
        match &fields[i] {
            Value::Null => Ok(None),
            Value::String(s) => Ok(Some(s.as_str())),
            _ => Err("its canonical content is not an event".into()),
        }
    };
    let required = |i: usize| text(i).and_then(|v| v.ok_or_else(|| "its canonical content is not an event".to_string()));
    let org_id = required(0)?.to_string();
    let hashed_seq = fields[1].as_i64().ok_or("its canonical content is not an event")?;
    if seq.parse::<i64>().ok() != Some(hashed_seq) {
        return Err(format!("its seq cell reads {seq:?}, but the hashed event is #{hashed_seq}"));
    }
    let time = required(2)?;
    // the cell is the time to the second: the canonical's without its microseconds
    let time = match time.rsplit_once('.') {
        Some((secs, _)) => format!("{secs}Z"),
        None => return Err("its canonical content is not an event".into()),
    };
    let expected = visible_cells(
        &time,
        required(3)?,
        text(6)?,
        required(4)?,
        text(7)?,
        text(8)?,
        text(9)?,
        text(10)?,
        required(11)?,
    );
    for (i, name) in CSV_HEADER.iter().enumerate() {
        if cell(i) != expected[i] {
            return Err(format!("its {name} cell reads {:?}, but the hashed event says {:?}", clip(cell(i)), clip(&expected[i])));
        }
    }
    Ok(Row { seq: hashed_seq, prev_hash: prev_hash.to_string(), hash: hash.to_string(), org_id })
}

fn clip(s: &str) -> String {
    match s.char_indices().nth(60) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

impl fmt::Display for CsvReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let org = self.org_id.as_deref().unwrap_or("?");
        if let Some(problem) = &self.problem {
            return write!(f, "NOT VALID: {problem}\n({} rows checked before it)", self.rows);
        }
        let (newest, newest_hash) = self.newest.clone().unwrap_or_default();
        let oldest = self.oldest_seq.unwrap_or(0);
        let short = newest_hash.get(..12).unwrap_or(&newest_hash);
        if let Some(against) = &self.against {
            return match against {
                Ok(how) => write!(f, "PROVEN: {} rows of organization {org} (events #{oldest} to #{newest}): {how}", self.rows),
                Err(why) => write!(
                    f,
                    "NOT PROVEN: the {} rows are self-consistent, but they could not be proven through the full export: {why}",
                    self.rows
                ),
            };
        }
        if self.is_whole() {
            match &self.checkpoint {
                Some(Err(why)) => write!(f, "NOT PROVEN: the {} rows link from the first event to #{newest}, but {why}", self.rows),
                Some(Ok(how)) => write!(
                    f,
                    "PROVEN: {} events of organization {org}, linked from the first event to #{newest} ({short}…), and {how}",
                    self.rows
                ),
                None => write!(
                    f,
                    "PROVEN from genesis: {} events of organization {org}, linked from the first event to #{newest} ({short}…)\n\
                     note: without --checkpoint, newer events cut off before the export, or a chain rebuilt as a whole by \
                     someone with write access to the database, cannot be ruled out; give a checkpoint saved earlier",
                    self.rows
                ),
            }
        } else {
            write!(
                f,
                "NOT PROVEN: the {} rows of organization {org} (events #{oldest} to #{newest}) are each self-consistent (each \
                 matches its hash, its cells match what was hashed), but the export {}: rows that do not link to each other \
                 prove nothing on their own, since whoever can write to the database can change a row and hash it again.\n\
                 To prove them: export the whole log with chain=1, then\n  \
                 steward audit verify --csv THIS.csv --against WHOLE.csv --checkpoint CHECKPOINT",
                self.rows,
                if self.gaps > 0 { format!("is filtered ({} gaps)", self.gaps) } else { "does not reach the first event".to_string() },
            )?;
            if let Some(Err(why)) = &self.checkpoint {
                write!(f, "\nand {why}")?;
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::OrgId;
    use crate::storage::audit::{Event, EventBody};

    /// A chain of `n` events of one organization, as the export writes them (newest first),
    /// with a header; every field an attacker could fill holds a formula.
    fn export(n: i64) -> (String, Vec<Event>) {
        let org = OrgId::new();
        let mut prev = GENESIS_HASH.to_string();
        let mut events = Vec::new();
        for seq in 1..=n {
            let at = chrono::NaiveDate::from_ymd_opt(2026, 3, 1).and_then(|d| d.and_hms_micro_opt(12, 0, seq as u32, 123_456));
            let mut e = Event {
                id: seq,
                org_id: org,
                seq,
                actor_id: Some("acc".into()),
                body: EventBody {
                    occurred_at: at.unwrap_or_default(),
                    action: "member.invited".into(),
                    actor_kind: "account".into(),
                    actor_email: Some(format!("=cmd{seq}@example.com")),
                    target: Some("t".into()),
                    target_email: Some("bob@example.com".into()),
                    ip: Some("198.51.100.7".into()),
                    user_agent: None,
                    details: format!("{{\"n\":{seq}}}"),
                },
                prev_hash: prev.clone(),
                hash: String::new(),
            };
            e.hash = e.compute_hash();
            prev = e.hash.clone();
            events.push(e);
        }
        events.reverse();
        (csv_of(&events), events)
    }

    fn csv_of(events: &[Event]) -> String {
        let mut out = csv::Writer::from_writer(Vec::new());
        out.write_record(CSV_HEADER.iter().chain(CHAIN_HEADER.iter())).unwrap();
        for e in events {
            let b = &e.body;
            let mut time = String::new();
            crate::domain::time::write(b.occurred_at, crate::domain::time::Precision::Second, 'T', "Z", &mut time);
            let cells = visible_cells(
                &time,
                &b.action,
                b.actor_email.as_deref(),
                &b.actor_kind,
                b.target.as_deref(),
                b.target_email.as_deref(),
                b.ip.as_deref(),
                b.user_agent.as_deref(),
                &b.details,
            );
            let mut row: Vec<String> = cells.iter().map(|c| c.to_string()).collect();
            row.extend([e.seq.to_string(), e.prev_hash.clone(), e.hash.clone(), e.canonical()]);
            out.write_record(&row).unwrap();
        }
        String::from_utf8(out.into_inner().unwrap()).unwrap()
    }

    fn head_of(e: &Event) -> SavedHead {
        SavedHead { org_id: e.org_id.to_string(), seq: e.seq, hash: e.hash.clone(), written_at: "2026-12-01T10:00:00Z".into() }
    }

    /// The file with the cell `col` of data row `row` (0 = newest) replaced.
    fn with_cell(csv: &str, row: usize, col: usize, value: &str) -> String {
        let mut r = csv::Reader::from_reader(csv.as_bytes());
        let header = r.headers().unwrap().clone();
        let mut rows: Vec<csv::StringRecord> = r.records().map(Result::unwrap).collect();
        let mut cells: Vec<String> = rows[row].iter().map(str::to_owned).collect();
        cells[col] = value.to_string();
        rows[row] = csv::StringRecord::from(cells);
        let mut out = csv::Writer::from_writer(Vec::new());
        out.write_record(&header).unwrap();
        rows.iter().for_each(|r| out.write_record(r).unwrap());
        String::from_utf8(out.into_inner().unwrap()).unwrap()
    }

    #[test]
    fn a_whole_export_is_proven_from_genesis_and_against_its_checkpoint() {
        let (csv, events) = export(5);
        let report = verify_csv(csv.as_bytes(), None);
        assert!(report.is_proven(), "{report}");
        assert!(report.to_string().starts_with("PROVEN from genesis: 5 events"), "{report}");
        assert!(report.to_string().contains("without --checkpoint"), "{report}");
        assert_eq!(report.newest.as_ref().map(|n| n.0), Some(5));

        let checkpoint = [head_of(&events[1])];
        let report = verify_csv(csv.as_bytes(), Some(&checkpoint));
        assert!(report.is_proven(), "{report}");
        assert!(report.to_string().contains("holds the head saved in the checkpoint: event #4"), "{report}");
    }

    #[test]
    fn a_changed_cell_is_named() {
        let (csv, _) = export(3);
        let edited = with_cell(&csv, 1, 1, "member.removed");
        let report = verify_csv(edited.as_bytes(), None);
        assert!(!report.is_proven());
        let text = report.to_string();
        assert!(text.contains("row 2 (event #2) was changed") && text.contains("action cell"), "{text}");
        // the neutralising quote is expected, not tolerated anywhere else
        let unquoted = with_cell(&csv, 0, 2, "=cmd3@example.com");
        assert!(verify_csv(unquoted.as_bytes(), None).to_string().contains("actor_email cell"));
        let time = with_cell(&csv, 2, 0, "2026-03-01T12:00:09Z");
        assert!(verify_csv(time.as_bytes(), None).to_string().contains("time cell"));
    }

    #[test]
    fn a_changed_canonical_does_not_match_its_hash() {
        let (csv, events) = export(3);
        let canonical = events[1].canonical().replace("member.invited", "member.removed");
        let edited = with_cell(&with_cell(&csv, 1, 11, &canonical), 1, 1, "member.removed");
        let text = verify_csv(edited.as_bytes(), None).to_string();
        assert!(text.contains("NOT VALID") && text.contains("event #2") && text.contains("does not match"), "{text}");
    }

    #[test]
    fn a_row_changed_and_hashed_again_breaks_the_link_of_the_next() {
        let (_, events) = export(3);
        let mut forged = events[1].clone();
        forged.body.details = "{\"n\":99}".into();
        forged.hash = forged.compute_hash();
        let mut rows = events.clone();
        rows[1] = forged;
        let text = verify_csv(csv_of(&rows).as_bytes(), None).to_string();
        assert!(text.contains("event #3 does not link to event #2"), "{text}");
        // the newest row re-hashed links fine: only a checkpoint sees it
        let mut newest = events[0].clone();
        newest.body.details = "{}".into();
        newest.hash = newest.compute_hash();
        let mut rows = events.clone();
        rows[0] = newest;
        let csv = csv_of(&rows);
        assert!(verify_csv(csv.as_bytes(), None).is_proven());
        let report = verify_csv(csv.as_bytes(), Some(&[head_of(&events[0])]));
        assert!(!report.is_proven());
        assert!(report.to_string().contains("the chain was rewritten"), "{report}");
    }

    #[test]
    fn reordered_or_missing_rows_are_found() {
        let (_, events) = export(4);
        let mut swapped = events.clone();
        swapped.swap(1, 2);
        let text = verify_csv(csv_of(&swapped).as_bytes(), None).to_string();
        assert!(text.contains("rows were moved"), "{text}");

        // a row taken out of the middle: a gap, so not proven, though every row is intact
        let mut missing = events.clone();
        missing.remove(2);
        let report = verify_csv(csv_of(&missing).as_bytes(), None);
        assert!(report.problem.is_none() && !report.is_proven());
        assert!(report.to_string().contains("NOT PROVEN") && report.to_string().contains("1 gaps"), "{report}");

        // the newest rows cut off: a whole chain, but short of the checkpoint's head
        let truncated = &events[2..];
        let report = verify_csv(csv_of(truncated).as_bytes(), Some(&[head_of(&events[0])]));
        assert!(!report.is_proven());
        assert!(report.to_string().contains("ends at event #2, before the head saved in the checkpoint (#4"), "{report}");
        // the oldest rows cut off: does not reach the first event
        let report = verify_csv(csv_of(&events[..2]).as_bytes(), None);
        assert!(!report.is_proven() && report.to_string().contains("does not reach the first event"), "{report}");
    }

    #[test]
    fn a_checkpoint_without_the_organization_proves_nothing() {
        let (csv, _) = export(2);
        let (_, others) = export(2);
        let report = verify_csv(csv.as_bytes(), Some(&[head_of(&others[0])]));
        assert!(!report.is_proven());
        assert!(report.to_string().contains("holds no head for organization"), "{report}");
    }

    #[test]
    fn a_filtered_export_is_proven_through_a_proven_full_one() {
        let (full, events) = export(6);
        let filtered = csv_of(&[events[0].clone(), events[3].clone(), events[5].clone()]);
        let alone = verify_csv(filtered.as_bytes(), None);
        assert!(!alone.is_proven() && alone.problem.is_none(), "{alone}");
        assert!(alone.to_string().contains("--against"), "the sound procedure is explained: {alone}");

        let checkpoint = [head_of(&events[0])];
        let report = verify_csv_against(filtered.as_bytes(), full.as_bytes(), Some(&checkpoint));
        assert!(report.is_proven(), "{report}");

        // a row forged in both files still fails the full file's links
        let mut forged = events.clone();
        forged[3].body.details = "{}".into();
        forged[3].hash = forged[3].compute_hash();
        let filtered = csv_of(&[forged[3].clone()]);
        let report = verify_csv_against(filtered.as_bytes(), csv_of(&forged).as_bytes(), Some(&checkpoint));
        assert!(!report.is_proven(), "{report}");
        // a row not in the full export
        let report = verify_csv_against(filtered.as_bytes(), full.as_bytes(), None);
        assert!(!report.is_proven() && report.to_string().contains("another hash in the full export"), "{report}");
    }

    #[test]
    fn an_export_without_the_chain_columns_is_refused() {
        let plain = format!("{}\n", CSV_HEADER.join(","));
        assert!(verify_csv(plain.as_bytes(), None).to_string().contains("chain=1"));
        let (header_only, _) = export(0);
        assert!(verify_csv(header_only.as_bytes(), None).to_string().contains("no rows"));
    }
}
