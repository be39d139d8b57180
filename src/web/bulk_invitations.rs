//! Inviting several people at once: a list pasted or uploaded as CSV (`email,role` per line),
//! previewed row by row, then sent on one confirmation.
//!
//! The list form is multipart/form-data, because of its file; the CSRF check has read the
//! body whole already (up to `MAX_FORM_BYTES`), and the preview reads the same bytes. The
//! confirmation carries the valid rows back as hidden fields, and the server weighs them again.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use crate::app::AppState;
use crate::domain::bulk_invitations::{self as bulk, Line, Row};
use crate::operations::invitations::{self as inv, Confirmed};
use crate::rate_limit::Allowance;
use crate::web::error::WebError;
use crate::web::extract::{Authorized, perm};
use crate::web::forms::{self, FormErrors, read_form};
use crate::web::session::{self, FlashKind};
use crate::web::shell::{self, Shell, see_other};

/// One row of the preview as the page shows it.
struct PreviewRow {
    line: usize,
    email: String,
    role: String,
    valid: bool,
    /// The reason's short name (`bad_email`, `duplicate`…), empty when valid.
    code: &'static str,
    /// What will happen, or why not.
    note: String,
}

/// A row that will be sent, as the confirmation carries it.
struct Carried {
    email: String,
    role: String,
}

/// The preview of a list: its rows, the counts, what the rate limit allows.
struct Preview {
    rows: Vec<PreviewRow>,
    valid: usize,
    /// "2 to invite, 1 not invited."
    counts: String,
    /// The confirmation's button: "Send 2 invitations".
    send_label: String,
    carried: Vec<Carried>,
    /// What the invitation rate limit lets through now, and how to raise it.
    limit: String,
    /// Whether the valid rows fit within what the limit lets through now.
    within_limit: bool,
}

#[derive(Template)]
#[template(path = "invitations/bulk.html")]
struct BulkPage {
    shell: Shell,
    org: String,
    /// The list as pasted, kept for editing.
    rows_text: String,
    errors: FormErrors,
    preview: Option<Preview>,
    max_rows: String,
}

/// The variable to raise when the limit is the organization's or the person's.
const VARIABLES: &str = "STEWARD_RATE_LIMIT_INVITE_ORG (per organization) and STEWARD_RATE_LIMIT_INVITE_ACCOUNT (per person)";

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{} {}", bulk::thousands(n), if n == 1 { one } else { many })
}

/// How to raise the limit that allows the fewest now.
fn how_to_raise(allowance: Allowance) -> String {
    match allowance.variable {
        Some(variable) => format!(
            "To send more at once, the operator raises the burst of {variable} (the burst=B part of its value, as in 100/h,burst=1000); the limits are {VARIABLES}."
        ),
        None => format!("The limits are {VARIABLES}."),
    }
}

/// What the page says about the rate limit for `valid` rows.
fn limit_text(allowance: Allowance, valid: usize) -> (String, bool) {
    match allowance.now {
        None => (format!("No invitation rate limit applies: every valid row can be sent. {}", how_to_raise(allowance)), true),
        Some(now) => {
            let within = valid as u64 <= now;
            let lets = format!("The invitation rate limit lets {} through now.", plural(now as usize, "invitation", "invitations"));
            let verdict = if valid == 0 {
                "No row is valid: there is nothing to send.".to_string()
            } else if valid == 1 && within {
                "The valid row can be sent.".to_string()
            } else if within {
                format!("All {} valid rows can be sent.", bulk::thousands(valid))
            } else {
                format!(
                    "That is fewer than the {}: confirming would be refused. Remove rows to send at most {} now, or wait for the quota to recover.",
                    plural(valid, "valid row", "valid rows"),
                    bulk::thousands(now as usize)
                )
            };
            (format!("{lets} {verdict} {}", how_to_raise(allowance)), within)
        }
    }
}

fn preview_of(rows: &[Row], allowance: Allowance) -> Preview {
    let valid = rows.iter().filter(|r| r.is_valid()).count();
    let (limit, within_limit) = limit_text(allowance, valid);
    Preview {
        rows: rows
            .iter()
            .map(|r| match &r.verdict {
                Ok((email, grant)) => PreviewRow {
                    line: r.line.number,
                    email: email.to_string(),
                    role: grant.label(),
                    valid: true,
                    code: "",
                    note: "Will be invited".into(),
                },
                Err(reason) => PreviewRow {
                    line: r.line.number,
                    email: r.line.email.clone(),
                    role: r.line.role.clone(),
                    valid: false,
                    code: reason.code(),
                    note: reason.message(),
                },
            })
            .collect(),
        valid,
        counts: format!("{} to invite, {} not invited.", bulk::thousands(valid), bulk::thousands(rows.len() - valid)),
        send_label: format!("Send {}", plural(valid, "invitation", "invitations")),
        carried: rows
            .iter()
            .filter_map(|r| r.verdict.as_ref().ok())
            .map(|(email, grant)| Carried { email: email.to_string(), role: grant.cell() })
            .collect(),
        limit,
        within_limit,
    }
}

async fn page(
    state: &AppState,
    access: &Authorized<perm::MembersInvite>,
    status: StatusCode,
    rows_text: String,
    errors: FormErrors,
    preview: Option<Preview>,
) -> Result<HttpResponse, WebError> {
    let shell = Shell::load(state, access, Some(access), "members", "Invite several people").await?;
    shell::render(
        status,
        &BulkPage {
            shell,
            org: access.org_id.to_string(),
            rows_text,
            errors,
            preview,
            max_rows: bulk::thousands(bulk::MAX_ROWS),
        },
    )
}

/// The form again at 422, with the list as pasted and the message at `field`; no preview.
async fn refuse(
    state: &AppState,
    access: &Authorized<perm::MembersInvite>,
    rows_text: String,
    field: &'static str,
    message: impl Into<String>,
) -> Result<HttpResponse, WebError> {
    page(state, access, StatusCode::UNPROCESSABLE_ENTITY, rows_text, FormErrors::one(field, message), None).await
}

/// The form: a list to paste, or a CSV file to choose.
pub async fn form(state: web::Data<AppState>, access: Authorized<perm::MembersInvite>) -> Result<HttpResponse, WebError> {
    page(&state, &access, StatusCode::OK, String::new(), FormErrors::none(), None).await
}

/// The list form as typed: `rows` pasted (urlencoded, or a part of the multipart body).
#[derive(Debug, Default, serde::Deserialize)]
struct ListForm {
    #[serde(default)]
    rows: String,
}

/// The pasted list and the uploaded file's text of the list form, urlencoded or multipart.
async fn list_of(req: &HttpRequest, body: web::Bytes) -> Result<(String, Option<Result<String, ()>>), WebError> {
    let content_type = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
    if !forms::is_multipart(content_type) {
        return Ok((read_form::<ListForm>(&body)?.rows, None));
    }
    let parts = forms::read_multipart(content_type.unwrap_or_default(), body).await?;
    let text = |name: &str| parts.iter().find(|p| p.name == name && p.file_name.is_none()).map(|p| String::from_utf8_lossy(&p.data).into_owned());
    let rows = text("rows").unwrap_or_default();
    // a browser sends an empty part for a file input left empty
    let file = parts.iter().find(|p| p.name == "file" && !p.data.is_empty()).map(|p| String::from_utf8(p.data.to_vec()).map_err(|_| ()));
    Ok((rows, file))
}

/// The preview: each row valid, or with its reason, and what the rate limit lets through now.
/// It changes nothing.
pub async fn preview(
    req: HttpRequest,
    state: web::Data<AppState>,
    access: Authorized<perm::MembersInvite>,
    body: web::Bytes,
) -> Result<HttpResponse, WebError> {
    let (pasted, file) = list_of(&req, body).await?;
    let text = match file {
        Some(Err(())) => return refuse(&state, &access, pasted, "file", "The file could not be read as text: save it as CSV in UTF-8.").await,
        Some(Ok(_)) if !pasted.trim().is_empty() => {
            return refuse(&state, &access, pasted, "rows", "Paste a list or choose a file, not both.").await;
        }
        Some(Ok(file)) => file,
        None => pasted.clone(),
    };
    let lines = match bulk::parse_lines(&text) {
        Ok(lines) => lines,
        Err(e) => return refuse(&state, &access, pasted, "rows", e.message).await,
    };
    if lines.is_empty() {
        return refuse(&state, &access, pasted, "rows", "Paste at least one line, email,role, or choose a CSV file.").await;
    }
    let (org, held, inviter, st) = (access.org_id, access.permissions, access.current.id(), state.get_ref().clone());
    let (rows, allowance) = state
        .run(move |db| {
            let rows = inv::preview_many(db, org, held, &lines)?;
            Ok::<_, crate::operations::OpError>((rows, st.limits.invitations_allowed_now(db, inviter, org)?))
        })
        .await?;
    page(&state, &access, StatusCode::OK, pasted, FormErrors::none(), Some(preview_of(&rows, allowance))).await
}

/// The confirmation: the valid rows of the preview, as hidden fields (`email` and `role`,
/// repeated, in pairs).
#[derive(Debug, Default, serde::Deserialize)]
struct SendForm {
    #[serde(default)]
    email: Vec<String>,
    #[serde(default)]
    role: Vec<String>,
}

/// Sends every row of the confirmation, or none: the rows are weighed again (the preview may be
/// old) and must all still be valid and within the rate limit; otherwise the preview comes back
/// (422) with what changed, and nothing is sent.
pub async fn send(
    req: HttpRequest,
    state: web::Data<AppState>,
    access: Authorized<perm::MembersInvite>,
    body: web::Bytes,
) -> Result<HttpResponse, WebError> {
    let form: SendForm = read_form(&body)?;
    if form.email.len() != form.role.len() {
        return Err(WebError::BadRequest("The confirmation must carry one role for each email address.".into()));
    }
    let lines: Vec<Line> = form
        .email
        .into_iter()
        .zip(form.role)
        .enumerate()
        .map(|(i, (email, role))| Line { number: i + 1, email, role, extra_cells: false })
        .collect();
    let (ctx, org, settings, st, inviter) =
        (access.ctx(), access.org_id, state.invitation_settings(), state.get_ref().clone(), access.current.id());
    let outcome = state
        .run(move |db| {
            let (confirmed, allowance) = match inv::invite_many(db, &st.mail, &settings, &ctx, org, &lines, &st.limits.invitation_quota(inviter, org))? {
                Confirmed::Sent(n) => (Confirmed::Sent(n), None),
                other => (other, Some(st.limits.invitations_allowed_now(db, inviter, org)?)),
            };
            Ok::<_, crate::operations::OpError>((confirmed, allowance))
        })
        .await
        .map_err(WebError::from);
    let unchanged = Allowance { now: None, variable: None };
    match outcome {
        Ok((Confirmed::Sent(n), _)) => {
            session::flash(&access.session, FlashKind::Success, format!("{} sent.", plural(n, "invitation", "invitations")));
            Ok(see_other(&req, &format!("/orgs/{org}/members")))
        }
        Ok((Confirmed::Changed(rows), allowance)) => {
            let refused = rows.iter().filter(|r| !r.is_valid()).count();
            let message = format!(
                "Nothing was sent: {} changed since the preview (marked below). Check the list and confirm again to send the rows still valid.",
                plural(refused, "row", "rows")
            );
            let preview = preview_of(&rows, allowance.unwrap_or(unchanged));
            page(&state, &access, StatusCode::UNPROCESSABLE_ENTITY, String::new(), FormErrors::one("send", message), Some(preview)).await
        }
        Ok((Confirmed::OverLimit { rows, allowed }, allowance)) => {
            let allowance = allowance.unwrap_or(Allowance { now: Some(allowed), variable: None });
            let message = format!(
                "Nothing was sent: the list has {} but the invitation rate limit lets {} through now. Send at most {} at once (remove rows), or wait for the quota to recover. {}",
                plural(rows.len(), "valid row", "valid rows"),
                plural(allowed as usize, "invitation", "invitations"),
                bulk::thousands(allowed as usize),
                how_to_raise(allowance)
            );
            let preview = preview_of(&rows, allowance);
            page(&state, &access, StatusCode::UNPROCESSABLE_ENTITY, String::new(), FormErrors::one("send", message), Some(preview)).await
        }
        Err(WebError::Invalid(list)) => {
            page(&state, &access, StatusCode::UNPROCESSABLE_ENTITY, String::new(), forms::form_errors(WebError::Invalid(list))?, None).await
        }
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_says_how_many_the_limit_lets_through_and_how_to_raise_it() {
        let org = Allowance { now: Some(50), variable: Some("STEWARD_RATE_LIMIT_INVITE_ORG") };
        let (text, within) = limit_text(org, 3);
        assert!(within);
        assert!(text.contains("lets 50 invitations through now") && text.contains("All 3 valid rows can be sent"), "{text}");
        assert!(text.contains("raises the burst of STEWARD_RATE_LIMIT_INVITE_ORG"), "{text}");
        assert!(limit_text(org, 1).0.contains("The valid row can be sent."));
        assert!(limit_text(org, 0).0.contains("nothing to send"));
        let (text, within) = limit_text(org, 60);
        assert!(!within);
        assert!(text.contains("fewer than the 60 valid rows") && text.contains("at most 50"), "{text}");
        let (text, within) = limit_text(Allowance { now: None, variable: None }, 1_000);
        assert!(within && text.contains("No invitation rate limit applies: every valid row can be sent."), "{text}");
    }
}
