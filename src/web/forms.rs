//! Form errors as the templates show them: one message per field.

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

/// Splits an error into the ones a form shows (422) and the rest.
pub fn form_errors(e: impl Into<WebError>) -> Result<FormErrors, WebError> {
    match e.into() {
        WebError::Invalid(list) => Ok(FormErrors(list)),
        other => Err(other),
    }
}
