//! What only the HTTP tests need: a JSON API client, an OpenAPI checker, an SMTP server.

pub mod api;
pub mod openapi;
pub mod smtp;
