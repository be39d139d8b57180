//! Forms: their errors as the templates show them (one message per field), and how bodies
//! that the usual extractors cannot read are read (repeated fields, multipart).

use actix_web::web::Bytes;

use crate::domain::Invalid;
use crate::web::error::WebError;

#[derive(Debug, Clone, Default)]
pub struct FormErrors(Vec<Invalid>);

impl FormErrors {
    pub fn none() -> FormErrors {
        FormErrors(Vec::new())
    }

    pub fn one(field: &'static str, message: impl Into<String>) -> FormErrors {
        FormErrors(vec![Invalid::new(field, message)])
    }

    pub fn get(&self, field: &str) -> Option<&str> {
        self.0.iter().find(|e| e.field == field).map(|e| e.message.as_str())
    }

    pub fn has(&self, field: &str) -> bool {
        self.get(field).is_some()
    }

    pub fn any(&self) -> bool {
        !self.0.is_empty()
    }

    /// 422 when the form has errors, else 200: the status of a page showing this form.
    pub fn status(&self) -> actix_web::http::StatusCode {
        if self.any() { actix_web::http::StatusCode::UNPROCESSABLE_ENTITY } else { actix_web::http::StatusCode::OK }
    }

    /// The messages of every field, for a form-wide alert.
    pub fn messages(&self) -> Vec<&str> {
        self.0.iter().map(|e| e.message.as_str()).collect()
    }
}

/// A form with one field, `name`: renaming an organization or a deployment, creating an
/// organization.
#[derive(Debug, serde::Deserialize)]
pub struct NameForm {
    #[serde(default)]
    pub name: String,
}

/// A form asking for a name typed to confirm (deleting an organization, a role).
#[derive(Debug, serde::Deserialize)]
pub struct ConfirmNameForm {
    #[serde(default)]
    pub confirm_name: String,
}

/// Reads a form with a repeated field (`roles`, `grants`, `deployments`…), which the usual
/// form extractor cannot read.
pub fn read_form<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, WebError> {
    serde_html_form::from_bytes(body).map_err(|e| WebError::BadRequest(format!("The form could not be read: {e}")))
}

/// One part of a multipart/form-data body: its field name, its file name when it is a file,
/// and its content.
#[derive(Debug, Clone)]
pub struct Part {
    pub name: String,
    pub file_name: Option<String>,
    pub data: Bytes,
}

/// Whether `content_type` (a request's header) is multipart/form-data.
pub fn is_multipart(content_type: Option<&str>) -> bool {
    content_type.is_some_and(|ct| ct.trim_start().to_ascii_lowercase().starts_with("multipart/form-data"))
}

/// The parts of a multipart/form-data `body` already read whole (the CSRF check reads every
/// form body, up to `MAX_FORM_BYTES`), in order. A body that is not well-formed multipart, or a
/// content type without its boundary, is a bad request.
pub async fn read_multipart(content_type: &str, body: Bytes) -> Result<Vec<Part>, WebError> {
    let unreadable = |e: multer::Error| WebError::BadRequest(format!("The form could not be read: {e}"));
    let boundary = multer::parse_boundary(content_type).map_err(unreadable)?;
    let stream = futures_util::stream::once(async move { Ok::<Bytes, std::convert::Infallible>(body) });
    let mut multipart = multer::Multipart::new(stream, boundary);
    let mut parts = Vec::new();
    while let Some(field) = multipart.next_field().await.map_err(unreadable)? {
        let name = field.name().unwrap_or_default().to_string();
        let file_name = field.file_name().map(str::to_owned);
        let data = field.bytes().await.map_err(unreadable)?;
        parts.push(Part { name, file_name, data });
    }
    Ok(parts)
}

/// Splits an error into the ones a form shows (422) and the rest.
pub fn form_errors(e: impl Into<WebError>) -> Result<FormErrors, WebError> {
    match e.into() {
        WebError::Invalid(list) => Ok(FormErrors(list)),
        other => Err(other),
    }
}
