//! How pages write dates and times: one place, so every page reads the same.

use chrono::NaiveDateTime;

use crate::domain::time::{self, Precision};

/// `2026-11-23 14:05`.
pub fn minutes(t: NaiveDateTime) -> String {
    written(t, Precision::Minute)
}

/// `2026-11-23`.
pub fn date(t: NaiveDateTime) -> String {
    written(t, Precision::Day)
}

/// `2026-11-23 14:05:09`.
pub fn seconds(t: NaiveDateTime) -> String {
    written(t, Precision::Second)
}

fn written(t: NaiveDateTime, precision: Precision) -> String {
    let mut out = String::with_capacity(20);
    time::write(t, precision, ' ', "", &mut out);
    out
}

/// "just now", "5 minutes ago", "3 days ago", then the date.
pub fn ago(t: NaiveDateTime, now: NaiveDateTime) -> String {
    let secs = (now - t).num_seconds().max(0);
    let plural = |n: i64, unit: &str| if n == 1 { format!("1 {unit} ago") } else { format!("{n} {unit}s ago") };
    match secs {
        0..=59 => "just now".into(),
        60..=3599 => plural(secs / 60, "minute"),
        3600..=86_399 => plural(secs / 3600, "hour"),
        86_400..=2_591_999 => plural(secs / 86_400, "day"),
        _ => date(t),
    }
}

#[cfg(test)]
mod tests {
    use super::{ago, date, minutes, seconds};
    use chrono::{Duration, NaiveDate};

    #[test]
    fn last_active_reads_as_elapsed_time() {
        let now = NaiveDate::from_ymd_opt(2026, 11, 23).and_then(|d| d.and_hms_opt(12, 0, 0)).unwrap_or_default();
        assert_eq!(ago(now - Duration::seconds(5), now), "just now");
        assert_eq!(ago(now - Duration::minutes(1), now), "1 minute ago");
        assert_eq!(ago(now - Duration::hours(5), now), "5 hours ago");
        assert_eq!(ago(now - Duration::days(3), now), "3 days ago");
        assert_eq!(ago(now - Duration::days(60), now), "2026-09-24");
    }

    #[test]
    fn times_read_as_chrono_would_write_them() {
        let t = NaiveDate::from_ymd_opt(2026, 3, 4).and_then(|d| d.and_hms_micro_opt(5, 6, 7, 890)).unwrap_or_default();
        assert_eq!(minutes(t), t.format("%Y-%m-%d %H:%M").to_string());
        assert_eq!(date(t), "2026-03-04");
        assert_eq!(seconds(t), "2026-03-04 05:06:07");
        let far = NaiveDate::from_ymd_opt(12026, 1, 1).and_then(|d| d.and_hms_opt(0, 0, 0)).unwrap_or_default();
        assert_eq!(date(far), far.format("%Y-%m-%d").to_string());
    }
}
