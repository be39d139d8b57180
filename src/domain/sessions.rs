//! How long a signed-in session lasts, and how a browser reads in the session list.

use chrono::{Duration, NaiveDateTime};

/// A session ends after this long without a request.
pub const IDLE_TIMEOUT: Duration = Duration::hours(2);
/// And after this long whatever happens.
pub const ABSOLUTE_TIMEOUT: Duration = Duration::hours(12);
/// How stale a session's last-seen time may get before it is written again: a busy session
/// costs one write a minute, not one per request.
pub const SEEN_RESOLUTION: Duration = Duration::seconds(60);

/// Whether a session made at `created` and last seen at `seen` is over at `now`.
pub fn expired(now: NaiveDateTime, created: NaiveDateTime, seen: NaiveDateTime) -> bool {
    now - created > ABSOLUTE_TIMEOUT || now - seen > IDLE_TIMEOUT
}

/// "Firefox on Linux", "Chrome on macOS", … from a user agent; "Unknown browser" when it says
/// nothing we know.
pub fn browser_label(user_agent: Option<&str>) -> String {
    let Some(ua) = user_agent else { return "Unknown browser".into() };
    // order matters: Edge and Opera say Chrome too, Chrome says Safari
    let browser = [("Edg/", "Edge"), ("OPR/", "Opera"), ("Firefox/", "Firefox"), ("Chrome/", "Chrome"), ("Chromium/", "Chromium"), ("Safari/", "Safari")]
        .into_iter()
        .find(|(needle, _)| ua.contains(needle))
        .map(|(_, name)| name);
    let system = [("Android", "Android"), ("iPhone", "iOS"), ("iPad", "iPadOS"), ("Windows", "Windows"), ("Mac OS X", "macOS"), ("Linux", "Linux")]
        .into_iter()
        .find(|(needle, _)| ua.contains(needle))
        .map(|(_, name)| name);
    match (browser, system) {
        (Some(b), Some(s)) => format!("{b} on {s}"),
        (Some(b), None) => b.to_string(),
        (None, _) => {
            let first: String = ua.chars().take(40).collect();
            if first.is_empty() { "Unknown browser".into() } else { first }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_end_after_two_idle_hours_or_twelve_hours_in_all() {
        let t0 = crate::domain::now();
        assert!(!expired(t0 + Duration::seconds(60), t0, t0 + Duration::seconds(30)));
        assert!(!expired(t0 + IDLE_TIMEOUT, t0, t0), "exactly at the limit is still in");
        assert!(expired(t0 + IDLE_TIMEOUT + Duration::seconds(1), t0, t0), "idle");
        // busy all along, still over after twelve hours
        assert!(!expired(t0 + ABSOLUTE_TIMEOUT, t0, t0 + ABSOLUTE_TIMEOUT - Duration::seconds(60)));
        assert!(expired(t0 + ABSOLUTE_TIMEOUT + Duration::seconds(1), t0, t0 + ABSOLUTE_TIMEOUT));
    }

    #[test]
    fn browsers_read_as_people_name_them() {
        let firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";
        let chrome_mac = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36";
        let edge = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/130.0 Safari/537.36 Edg/130.0";
        let iphone = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Version/17.0 Mobile/15E148 Safari/604.1";
        assert_eq!(browser_label(Some(firefox)), "Firefox on Linux");
        assert_eq!(browser_label(Some(chrome_mac)), "Chrome on macOS");
        assert_eq!(browser_label(Some(edge)), "Edge on Windows");
        assert_eq!(browser_label(Some(iphone)), "Safari on iOS");
        assert_eq!(browser_label(Some("curl/8.5.0")), "curl/8.5.0");
        assert_eq!(browser_label(None), "Unknown browser");
    }
}
