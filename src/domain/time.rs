//! Time as the product records and writes it: UTC, to the microsecond when stored, and written
//! field by field (chrono's `format` parses its pattern again on every call, a measurable share
//! of a 50-row page or of an export of a million rows).

use std::fmt::Write as _;

use chrono::{Datelike, NaiveDateTime, SubsecRound, Timelike};

/// The current time as the product records it: UTC, to the microsecond (what both databases
/// keep, so a time read back equals the one written).
pub fn now() -> NaiveDateTime {
    chrono::Utc::now().naive_utc().trunc_subsecs(6)
}

/// How much of a moment to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precision {
    /// `2026-11-23`
    Day,
    /// `2026-11-23 14:05`
    Minute,
    /// `2026-11-23 14:05:09`
    Second,
}

/// Appends `t` to `out` at `precision`, with `separator` between the date and the time and
/// `suffix` after the time (`'T'` and `"Z"` make RFC 3339 in UTC).
pub fn write(t: NaiveDateTime, precision: Precision, separator: char, suffix: &str, out: &mut String) {
    if !(0..=9999).contains(&t.year()) {
        // beyond four digits, chrono's own rules for the sign and width
        let pattern = match precision {
            Precision::Day => "%Y-%m-%d".to_string(),
            Precision::Minute => format!("%Y-%m-%d{separator}%H:%M{suffix}"),
            Precision::Second => format!("%Y-%m-%d{separator}%H:%M:%S{suffix}"),
        };
        let _ = write!(out, "{}", t.format(&pattern));
        return;
    }
    let _ = write!(out, "{:04}-{:02}-{:02}", t.year(), t.month(), t.day());
    match precision {
        Precision::Day => return,
        Precision::Minute => {
            let _ = write!(out, "{separator}{:02}:{:02}", t.hour(), t.minute());
        }
        Precision::Second => {
            let _ = write!(out, "{separator}{:02}:{:02}:{:02}", t.hour(), t.minute(), t.second());
        }
    }
    out.push_str(suffix);
}
