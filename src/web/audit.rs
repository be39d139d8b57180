//! The audit log page and its CSV export.

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use askama::Template;


use crate::operations::audit::{self as audit_ops, FilterInput};
use crate::csv_export::{export_stream, filename};
use crate::operations::audit::{ACTIONS, Event};
use crate::domain::audit_chain::ChainHead;
use crate::web::error::WebError;
use crate::web::extract::{Authorized, perm};
use crate::web::forms::{FormErrors, form_errors};
use crate::web::format;
use crate::web::shell::{self, Shell};
use crate::app::AppState;
use crate::domain::Permission;

const PAGE_SIZE: i64 = 50;
#[derive(Debug, Default, serde::Deserialize)]
pub struct AuditQuery {
    #[serde(flatten)]
    filter: FilterInput,
    #[serde(default)]
    cursor: String,
    /// `1`: the export adds the hash chain's columns.
    #[serde(default)]
    chain: String,
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

fn view(event: Event) -> EventView {
    let e = event.body;
    let actor = e.actor_email.unwrap_or_else(|| "—".into());
    // a key is named by whoever made it, possibly like a person's email: it reads as a key
    let (actor, actor_kind) = match e.actor_kind.as_str() {
        "api_key" => (format!("API key · {actor}"), ""),
        "system" => (actor, "System"),
        _ => (actor, "Account"),
    };
    EventView {
        time: format::seconds(e.occurred_at),
        actor_kind,
        actor,
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
    export_href: Option<String>,
    chain_export_href: Option<String>,
    /// The organization's newest event: what a checkpoint saves.
    head: Option<ChainHead>,
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
    access: Authorized<perm::AuditView>,
    query: web::Query<AuditQuery>,
) -> Result<HttpResponse, WebError> {
    let AuditQuery { filter: form, cursor, .. } = query.into_inner();
    let org = access.org_id;
    let base = format!("/orgs/{org}/audit");
    let cursor: Option<i64> = cursor.trim().parse().ok();
    let parsed = form.parse().map_err(WebError::from);
    let (events, next, head, errors) = match parsed {
        Ok(filter) => {
            let (rows, next, head) = state
                .run(move |db| {
                    let (rows, next) = audit_ops::page(db, org, &filter, cursor, PAGE_SIZE)?;
                    Ok::<_, crate::operations::OpError>((rows, next, audit_ops::head(db, org)?))
                })
                .await?;
            (rows, next, head, FormErrors::none())
        }
        Err(e) => (Vec::new(), None, state.run(move |db| audit_ops::head(db, org)).await?, form_errors(e)?),
    };
    let export_href = access.can(Permission::AuditRead).then(|| with_query(&format!("{base}.csv"), &form, None));
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
            chain_export_href: export_href.as_ref().map(|h| format!("{h}{}chain=1", if h.contains('?') { '&' } else { '?' })),
            export_href,
            head,
            form,
            errors,
        },
    )
}

pub async fn export(
    state: web::Data<AppState>,
    access: Authorized<perm::AuditRead>,
    query: web::Query<AuditQuery>,
) -> Result<HttpResponse, WebError> {
    let query = query.into_inner();
    let filter = query.filter.parse()?;
    let chain = audit_ops::chain_columns(Some(&query.chain))?;
    let disposition = format!("attachment; filename=\"{}\"", filename(&access.org_name));
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((header::CONTENT_DISPOSITION, disposition))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .streaming(export_stream(state.db.clone(), access.org_id, filter, chain)))
}
