//! Headless Chromium through chromedriver, with steps that wait for the page state they need.
//!
//! A page read straight after a click or a navigation races the browser: the URL can change
//! before the new document has rendered, htmx swaps land later, and `.flash` fades in from
//! opacity 0, during which WebDriver reports its text as "". So nothing here reads the page
//! once; every read polls until the expected state appears or the deadline passes, and a
//! timeout reports what was last seen. With STEWARD_TEST_REQUIRE_ALL=1 (the test command), a
//! browser that cannot run fails the test; otherwise it is skipped loudly.

use std::future::Future;
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use fantoccini::elements::Element;
use fantoccini::error::{CmdError, ErrorStatus};
use fantoccini::key::Key;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::Value;

use crate::helpers::require_all;

/// Long enough for a loaded two-core machine running several browsers at once; a step that
/// succeeds returns as soon as its state appears, so only a failing step waits this long.
const DEADLINE: Duration = Duration::from_secs(20);
/// Often enough to react promptly, rarely enough not to keep chromedriver busy.
const POLL: Duration = Duration::from_millis(50);

pub struct Browser {
    pub client: Client,
    driver: Child,
    _profile: tempfile::TempDir,
}

/// A test that fails never reaches `close`: its chromedriver ends with the `Browser` anyway.
impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("free port")
}

/// How chromedriver words a command that ran into a navigation still under way (a form post,
/// an htmx redirect). It has no error code of its own, and may even arrive as a successful
/// reply whose value is this text, so only the wording tells it apart.
const NAVIGATING: [&str; 6] = [
    "aborted by navigation",
    // the node was looked up in the page being replaced
    "does not belong to the document",
    "cannot determine loading status",
    "target frame detached",
    "execution context was destroyed",
    "document unloaded",
];

/// Errors that mean "not there yet" (the element is missing, replaced by a navigation or swap,
/// hidden or covered mid-animation, or the page is being replaced) and are worth another poll.
/// chromedriver raises them while it looks the element up, before it dispatches a click or a
/// key, so retrying does not act twice. Anything else fails at once rather than after the
/// deadline.
fn not_yet(what: &str, e: CmdError) -> String {
    let text = match &e {
        CmdError::NotW3C(Value::String(s)) => s.clone(),
        _ => e.to_string(),
    };
    if NAVIGATING.iter().any(|m| text.to_ascii_lowercase().contains(m)) {
        return format!("a navigation was under way ({text})");
    }
    if let CmdError::Standard(w) = &e {
        let reason = match w.error {
            ErrorStatus::NoSuchElement => Some("no such element"),
            ErrorStatus::StaleElementReference => Some("the element was replaced"),
            ErrorStatus::ElementNotInteractable => Some("the element is not interactable"),
            ErrorStatus::ElementClickIntercepted => Some("another element would receive the click"),
            ErrorStatus::InvalidElementState => Some("the element is in a state that refuses this"),
            _ => None,
        };
        if let Some(reason) = reason {
            return format!("{reason} ({})", w.message.lines().next().unwrap_or_default());
        }
    }
    panic!("{what}: {e}");
}

/// The colour scheme the browser asks pages for (`prefers-color-scheme`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scheme {
    Light,
    Dark,
}

/// axe-core, vendored for the tests (tests/browser/support/README.md): the app never serves it.
const AXE: &str = include_str!("support/axe.min.js");

impl Browser {
    pub async fn start() -> Option<Browser> {
        Browser::start_in(Scheme::Light).await
    }

    /// A browser whose pages see `prefers-color-scheme: dark` when `scheme` is `Dark`: fantoccini
    /// cannot send the DevTools command that emulates it, so Chromium starts with the switch
    /// that makes its own theme, and with it the pages' preference, dark.
    pub async fn start_in(scheme: Scheme) -> Option<Browser> {
        let (driver_path, chromium) = match (std::env::var("STEWARD_TEST_CHROMEDRIVER"), std::env::var("STEWARD_TEST_CHROMIUM")) {
            (Ok(d), Ok(c)) if !d.is_empty() && !c.is_empty() => (d, c),
            _ => {
                if require_all() {
                    panic!("STEWARD_TEST_REQUIRE_ALL=1 but STEWARD_TEST_CHROMEDRIVER / STEWARD_TEST_CHROMIUM are not set");
                }
                eprintln!("browser suite skipped: STEWARD_TEST_CHROMEDRIVER is not set (scripts/test sets it)");
                return None;
            }
        };
        let port = free_port();
        let driver = Command::new(&driver_path)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {driver_path}: {e}"));
        let profile = tempfile::tempdir().expect("profile dir");
        let mut args: Vec<String> = [
            "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--window-size=1280,900",
        ]
        .map(String::from)
        .into();
        args.push(format!("--user-data-dir={}", profile.path().display()));
        if scheme == Scheme::Dark {
            args.push("--force-dark-mode".into());
        }
        let caps = serde_json::json!({ "goog:chromeOptions": { "binary": chromium, "args": args } });
        let caps = caps.as_object().cloned().expect("capabilities");
        let url = format!("http://127.0.0.1:{port}");
        // chromedriver listens only some time after it is spawned.
        let deadline = Instant::now() + DEADLINE;
        loop {
            match ClientBuilder::native().capabilities(caps.clone()).connect(&url).await {
                Ok(client) => return Some(Browser { client, driver, _profile: profile }),
                Err(e) if Instant::now() >= deadline => {
                    panic!("cannot start a Chromium session through chromedriver: {e}")
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
            }
        }
    }

    pub async fn close(mut self) {
        let _ = self.client.clone().close().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }

    /// Returns once the new page has loaded (WebDriver's normal page-load strategy).
    pub async fn goto(&self, url: &str) {
        self.client.goto(url).await.expect("navigate");
    }

    /// Polls `probe` until it returns `Ok`; its `Err` says what the page showed, so that a
    /// timeout reports it next to the URL the browser was at. A closure returning a future
    /// rather than an async closure, whose futures the compiler cannot yet prove `Send`.
    async fn until<T, F: Future<Output = Result<T, String>>>(&self, what: &str, mut probe: impl FnMut() -> F) -> T {
        let deadline = Instant::now() + DEADLINE;
        loop {
            match probe().await {
                Ok(value) => return value,
                Err(seen) if Instant::now() >= deadline => {
                    let at = self.client.current_url().await.map(|u| u.to_string()).unwrap_or_else(|e| format!("? ({e})"));
                    panic!("timed out after {}s waiting for {what}\n  last seen: {seen}\n  at: {at}", DEADLINE.as_secs());
                }
                Err(_) => tokio::time::sleep(POLL).await,
            }
        }
    }

    async fn find_now(&self, what: &str, css: &str) -> Result<Element, String> {
        self.client.find(Locator::Css(css)).await.map_err(|e| not_yet(what, e))
    }

    /// Visible and enabled: what a person needs before they can click or type into it.
    async fn interactable_now(&self, what: &str, css: &str) -> Result<Element, String> {
        let element = self.find_now(what, css).await?;
        if !element.is_displayed().await.map_err(|e| not_yet(what, e))? {
            return Err("present but not displayed".into());
        }
        if !element.is_enabled().await.map_err(|e| not_yet(what, e))? {
            return Err("displayed but disabled".into());
        }
        Ok(element)
    }

    pub async fn fill(&self, css: &str, value: &str) {
        let what = format!("{css} to accept typing");
        self.until(&what, || async {
            let field = self.interactable_now(&what, css).await?;
            field.clear().await.map_err(|e| not_yet(&what, e))?;
            field.send_keys(value).await.map_err(|e| not_yet(&what, e))
        })
        .await;
        self.wait_for_value(css, value).await;
    }

    /// Chooses the file at `path` in the file input `css`, as a person picking it would.
    pub async fn choose_file(&self, css: &str, path: &std::path::Path) {
        let what = format!("{css} to accept the file {}", path.display());
        let (path, name) = (path.display().to_string(), path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default());
        self.until(&what, || async {
            let input = self.find_now(&what, css).await?;
            input.send_keys(&path).await.map_err(|e| not_yet(&what, e))
        })
        .await;
        let chosen = format!("{css} to hold {name}");
        self.until(&chosen, || async {
            let input = self.find_now(&chosen, css).await?;
            let value = input.prop("value").await.map_err(|e| not_yet(&chosen, e))?.unwrap_or_default();
            if value.ends_with(&name) { Ok(()) } else { Err(format!("{value:?}")) }
        })
        .await;
    }

    /// Picks the option with `value` in a `<select>`.
    pub async fn choose(&self, css: &str, value: &str) {
        let what = format!("{css} to offer {value:?}");
        self.until(&what, || async {
            let select = self.interactable_now(&what, css).await?;
            select.select_by_value(value).await.map_err(|e| not_yet(&what, e))
        })
        .await;
        self.wait_for_value(css, value).await;
    }

    /// Clicks once the element is visible and enabled; a click on a disabled button would
    /// silently do nothing.
    pub async fn click(&self, css: &str) {
        let what = format!("{css} to be clickable");
        self.until(&what, || async {
            let element = self.interactable_now(&what, css).await?;
            element.click().await.map_err(|e| not_yet(&what, e))
        })
        .await;
    }

    /// Waits until the current path satisfies `f`, and returns it.
    pub async fn wait_for_path(&self, what: &str, f: impl Fn(&str) -> bool) -> String {
        self.until(what, || async {
            let url = self.client.current_url().await.map_err(|e| not_yet(what, e))?;
            let path = url.path().to_string();
            if f(&path) { Ok(path) } else { Err(format!("path {path}")) }
        })
        .await
    }

    /// Waits for an element to be in the document (htmx swaps, page loads).
    pub async fn wait_for_element(&self, css: &str) -> Element {
        let what = format!("{css} to exist");
        self.until(&what, || self.find_now(&what, css)).await
    }

    /// Waits until the first element matching `css` has rendered text that satisfies `f`;
    /// returns that text. Hidden or fully transparent elements have no rendered text.
    pub async fn wait_for_text_matching(&self, css: &str, expectation: &str, f: impl Fn(&str) -> bool) -> String {
        let what = format!("the text of {css} to {expectation}");
        self.until(&what, || async {
            let element = self.find_now(&what, css).await?;
            let text = element.text().await.map_err(|e| not_yet(&what, e))?;
            if f(&text) { Ok(text) } else { Err(format!("{text:?}")) }
        })
        .await
    }

    pub async fn wait_for_text(&self, css: &str, expected: &str) -> String {
        self.wait_for_text_matching(css, &format!("contain {expected:?}"), |t| t.contains(expected)).await
    }

    pub async fn wait_for_exact_text(&self, css: &str, expected: &str) -> String {
        self.wait_for_text_matching(css, &format!("be {expected:?}"), |t| t == expected).await
    }

    pub async fn wait_for_text_without(&self, css: &str, unexpected: &str) -> String {
        self.wait_for_text_matching(css, &format!("no longer contain {unexpected:?}"), |t| !t.contains(unexpected)).await
    }

    /// Waits until attribute `name` of the first element matching `css` satisfies `f`
    /// (`None`: the attribute is absent); returns its value.
    pub async fn wait_for_attribute(
        &self,
        css: &str,
        name: &str,
        expectation: &str,
        f: impl Fn(Option<&str>) -> bool,
    ) -> Option<String> {
        let what = format!("{css} [{name}] to {expectation}");
        self.until(&what, || async {
            let element = self.find_now(&what, css).await?;
            let value = element.attr(name).await.map_err(|e| not_yet(&what, e))?;
            if f(value.as_deref()) { Ok(value) } else { Err(format!("{value:?}")) }
        })
        .await
    }

    /// Waits until the form control's current value (the DOM property) is `expected`.
    pub async fn wait_for_value(&self, css: &str, expected: &str) -> String {
        let what = format!("the value of {css} to be {expected:?}");
        self.until(&what, || async {
            let element = self.find_now(&what, css).await?;
            let value = element.prop("value").await.map_err(|e| not_yet(&what, e))?.unwrap_or_default();
            if value == expected { Ok(value) } else { Err(format!("{value:?}")) }
        })
        .await
    }

    /// Evaluates `script` (which must `return` a value) until `f` accepts the result.
    pub async fn wait_for_script(&self, expectation: &str, script: &str, f: impl Fn(&Value) -> bool) -> Value {
        self.until(expectation, || async {
            let value = self.client.execute(script, vec![]).await.map_err(|e| not_yet(expectation, e))?;
            if f(&value) { Ok(value) } else { Err(value.to_string()) }
        })
        .await
    }

    /// Downloads what the link `css` points at, as the browser would (its cookies, its origin),
    /// and returns the body. Waits for the link; retries only a request that did not complete.
    pub async fn download(&self, css: &str) -> String {
        let what = format!("{css} to point somewhere");
        let href = self
            .until(&what, || async {
                let link = self.find_now(&what, css).await?;
                match link.prop("href").await.map_err(|e| not_yet(&what, e))? {
                    Some(href) if !href.is_empty() => Ok(href),
                    other => Err(format!("href {other:?}")),
                }
            })
            .await;
        let what = format!("the download of {href}");
        let reply = self
            .until(&what, || async {
                let reply = self
                    .client
                    .execute_async(
                        "const done = arguments[arguments.length - 1];
                         fetch(arguments[0])
                           .then(r => r.text().then(body => done({ status: r.status, body })))
                           .catch(e => done({ error: String(e) }));",
                        vec![Value::String(href.clone())],
                    )
                    .await
                    .map_err(|e| not_yet(&what, e))?;
                match reply.get("error") {
                    Some(error) => Err(format!("the request failed: {error}")),
                    None => Ok(reply),
                }
            })
            .await;
        let body = reply["body"].as_str().unwrap_or_default().to_string();
        assert_eq!(reply["status"], 200, "{what}: {body}");
        body
    }

    pub async fn screenshot(&self, name: &str) {
        if let Ok(dir) = std::env::var("STEWARD_TEST_SCREENSHOTS") {
            if let Ok(png) = self.client.screenshot().await {
                let _ = std::fs::write(std::path::Path::new(&dir).join(format!("{name}.png")), png);
            }
        }
    }

    /// Presses and releases `key` where the focus is, as a person at the keyboard would.
    pub async fn press(&self, key: Key) {
        let key = char::from(key);
        let keys = KeyActions::new("keyboard".into()).then(KeyAction::Down { value: key }).then(KeyAction::Up { value: key });
        self.client.perform_actions(keys).await.expect("press a key");
    }

    /// Moves the focus to `css` without a click (where Tab would take a person, without the
    /// dozens of presses through the navigation that lead there).
    pub async fn focus(&self, css: &str) {
        let what = format!("{css} to take the focus");
        let script = "var e = document.querySelector(arguments[0]); if (!e) return false; e.focus(); return document.activeElement === e;";
        self.wait_for_script(&what, &script.replace("arguments[0]", &Value::String(css.into()).to_string()), |v| v.as_bool() == Some(true)).await;
    }

    /// Runs axe-core on the page and fails on any violation of serious or critical impact,
    /// listing each with its rule, the elements and what is wrong. Polls, after the page's
    /// animations (a flash or a modal fading in) have ended.
    pub async fn assert_accessible(&self, page: &str) {
        // colours in the middle of a transition are those of neither state
        self.wait_for_script(
            &format!("{page} to finish its animations"),
            "return document.getAnimations().filter(a => a.playState === 'running' && a.effect && a.effect.getComputedTiming().endTime !== Infinity).length;",
            |v| v.as_i64() == Some(0),
        )
        .await;
        let what = format!("{page} to have no serious or critical axe violations");
        self.until(&what, || async {
            let loaded = self.client.execute("return typeof window.axe === 'object';", vec![]).await.map_err(|e| not_yet(&what, e))?;
            if loaded.as_bool() != Some(true) {
                self.client.execute(AXE, vec![]).await.map_err(|e| not_yet(&what, e))?;
            }
            let reply = self
                .client
                .execute_async(
                    "const done = arguments[arguments.length - 1];
                     axe.run(document, { resultTypes: ['violations'] })
                       .then(r => done({ violations: r.violations
                         .filter(v => v.impact === 'serious' || v.impact === 'critical')
                         .map(v => ({ id: v.id, impact: v.impact, help: v.help,
                                      nodes: v.nodes.map(n => ({ target: n.target.join(' '), why: n.failureSummary })) })) }))
                       .catch(e => done({ error: String(e) }));",
                    vec![],
                )
                .await
                .map_err(|e| not_yet(&what, e))?;
            if let Some(error) = reply.get("error") {
                panic!("{what}: axe failed: {error}");
            }
            let violations = reply["violations"].as_array().cloned().unwrap_or_default();
            if violations.is_empty() {
                return Ok(());
            }
            let mut report = String::new();
            for v in &violations {
                report.push_str(&format!("\n  {} ({}): {}", v["id"].as_str().unwrap_or("?"), v["impact"].as_str().unwrap_or("?"), v["help"].as_str().unwrap_or("")));
                for n in v["nodes"].as_array().into_iter().flatten() {
                    let why = n["why"].as_str().unwrap_or("").replace('\n', " ");
                    report.push_str(&format!("\n    {}: {why}", n["target"].as_str().unwrap_or("?")));
                }
            }
            Err(report)
        })
        .await;
    }

    /// Fails unless neither the page nor any table's scroll box scrolls sideways: the console
    /// fits the window. Polls, as layout settles after the load.
    pub async fn assert_fits(&self, page: &str) {
        let what = format!("{page} to fit the window without scrolling sideways (seen: what overflows, by px)");
        let script = "var s = document.scrollingElement, out = [];
            if (s.scrollWidth > s.clientWidth) out.push('page ' + (s.scrollWidth - s.clientWidth));
            document.querySelectorAll('.table-wrap').forEach(function (w, i) {
              if (w.scrollWidth > w.clientWidth) out.push((w.querySelector('table') || {}).id + '#' + i + ' ' + (w.scrollWidth - w.clientWidth));
            });
            return out.join(', ');";
        self.wait_for_script(&what, script, |v| v.as_str() == Some("")).await;
    }
}
