//! What only the HTTP tests need: a JSON API client whose every answer is checked against the
//! served OpenAPI document, and an SMTP server on loopback.

pub mod api;
pub mod openapi;
pub mod smtp;
