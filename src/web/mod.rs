//! The HTML side: routes, extractors, CSRF, pages.

pub mod assets;
pub mod auth;
pub mod error;
pub mod extract;
pub mod forms;
pub mod health;
pub mod members;
pub mod orgs;
pub mod profile;
pub mod security;
pub mod session;
pub mod shell;
pub mod state;

use actix_web::web;

/// Every route of the console.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(auth::home))
        .route("/healthz", web::get().to(health::healthz))
        .route("/static/{version}/{name}", web::get().to(assets::serve))
        .service(web::resource("/signup").route(web::get().to(auth::signup_form)).route(web::post().to(auth::signup)))
        .service(web::resource("/login").route(web::get().to(auth::login_form)).route(web::post().to(auth::login)))
        .route("/logout", web::post().to(auth::logout))
        .service(web::resource("/profile").route(web::get().to(profile::show)).route(web::post().to(profile::update)))
        .route("/profile/password", web::post().to(profile::change_password))
        .route("/profile/delete", web::post().to(profile::delete))
        .service(web::resource("/orgs").route(web::get().to(orgs::index)).route(web::post().to(orgs::create)))
        .route("/orgs/{org}", web::get().to(orgs::home))
        .route("/orgs/{org}/members", web::get().to(members::index));
}
