//! `/profile/security`: the account's security log, for its owner alone.

use actix_web::{HttpResponse, web};
use askama::Template;

use crate::app::AppState;
use crate::domain::sessions::browser_label;
use crate::operations::security_log;
use crate::web::error::WebError;
use crate::web::extract::CurrentAccount;
use crate::web::format;
use crate::web::shell::{self, Shell};

/// An entry as the page shows it.
pub struct EntryView {
    pub time: String,
    pub ago: String,
    pub event: &'static str,
    pub alert: bool,
    pub ip: String,
    pub browser: String,
}

#[derive(Template)]
#[template(path = "profile/security.html")]
struct SecurityPage {
    shell: Shell,
    entries: Vec<EntryView>,
}

pub async fn index(state: web::Data<AppState>, current: CurrentAccount) -> Result<HttpResponse, WebError> {
    let account = current.id();
    let entries = state.run(move |db| security_log::recent(db, account)).await?;
    let now = crate::domain::now();
    let entries = entries
        .into_iter()
        .map(|e| EntryView {
            time: format::seconds(e.occurred_at),
            ago: format::ago(e.occurred_at, now),
            event: e.kind.label(),
            alert: e.kind.is_alert(),
            ip: e.ip.unwrap_or_else(|| "—".into()),
            browser: browser_label(e.user_agent.as_deref()),
        })
        .collect();
    let shell = Shell::load(&state, &current, None, "profile", "Security log").await?;
    shell::ok(&SecurityPage { shell, entries })
}
