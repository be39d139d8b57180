//! The HTML side: routes, extractors, CSRF, pages.

pub mod api_keys;
pub mod assets;
pub mod audit;
pub mod auth;
pub mod deployments;
pub mod error;
pub mod extract;
pub mod format;
pub mod forms;
pub mod health;
pub mod identity;
pub mod invitation_history;
pub mod invitations;
pub mod members;
pub mod roles;
pub mod orgs;
pub mod profile;
pub mod request_log;

pub mod security;
pub mod security_log;
pub mod session;
pub mod sessions;
pub mod settings;
pub mod shell;
pub mod two_factor;

use actix_web::web;

/// Every route of the console.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(auth::home))
        .route("/healthz", web::get().to(health::healthz))
        .route("/static/{version}/{name}", web::get().to(assets::serve))
        .service(web::resource("/signup").route(web::get().to(auth::signup_form)).route(web::post().to(auth::signup)))
        .service(web::resource("/login").route(web::get().to(auth::login_form)).route(web::post().to(auth::login)))
        .service(
            web::resource("/login/two-factor")
                .route(web::get().to(two_factor::second_step_form))
                .route(web::post().to(two_factor::second_step)),
        )
        .route("/logout", web::post().to(auth::logout))
        .service(
            web::resource("/verify-email/{token}")
                .route(web::get().to(identity::verify_form))
                .route(web::post().to(identity::verify)),
        )
        .route("/profile/verify-email", web::post().to(identity::resend))
        .route("/profile/email", web::post().to(identity::change_email))
        .route("/profile/sessions", web::get().to(sessions::index))
        .route("/profile/security", web::get().to(security_log::index))
        .route("/profile/sessions/revoke-others", web::post().to(sessions::revoke_others))
        .route("/profile/sessions/{id}/revoke", web::post().to(sessions::revoke))
        .route("/orgs/{org}/members/{account}/sign-out", web::post().to(sessions::sign_out_member))
        .service(
            web::resource("/password/forgot").route(web::get().to(identity::forgot_form)).route(web::post().to(identity::forgot)),
        )
        .service(
            web::resource("/password/reset/{token}")
                .route(web::get().to(identity::reset_form))
                .route(web::post().to(identity::reset)),
        )
        .service(web::resource("/profile").route(web::get().to(profile::show)).route(web::post().to(profile::update)))
        .route("/profile/password", web::post().to(profile::change_password))
        .service(
            web::resource("/profile/two-factor").route(web::get().to(two_factor::show)).route(web::post().to(two_factor::enable)),
        )
        .route("/profile/two-factor/disable", web::post().to(two_factor::disable))
        .route("/profile/delete", web::post().to(profile::delete))
        .service(web::resource("/orgs").route(web::get().to(orgs::index)).route(web::post().to(orgs::create)))
        .route("/orgs/{org}", web::get().to(orgs::home))
        .route("/orgs/{org}/members", web::get().to(members::index))
        .route("/orgs/{org}/roles", web::get().to(roles::index))
        .route("/orgs/{org}/roles", web::post().to(roles::create))
        .route("/orgs/{org}/roles/new", web::get().to(roles::new_form))
        .route("/orgs/{org}/roles/{role}", web::get().to(roles::show))
        .route("/orgs/{org}/roles/{role}", web::post().to(roles::update))
        .route("/orgs/{org}/roles/{role}/edit", web::get().to(roles::edit_form))
        .route("/orgs/{org}/roles/{role}/delete", web::get().to(roles::delete_form))
        .route("/orgs/{org}/roles/{role}/delete", web::post().to(roles::delete))
        .route("/orgs/{org}/roles/{role}/members", web::post().to(roles::add_member))
        .route("/orgs/{org}/roles/{role}/members/{account}/remove", web::post().to(roles::remove_member))
        .route("/orgs/{org}/invitations/new", web::get().to(members::invite_form))
        .service(
            web::resource("/orgs/{org}/invitations")
                .route(web::get().to(invitation_history::index))
                .route(web::post().to(members::invite)),
        )
        .service(
            web::resource("/orgs/{org}/invitations/{id}/resend")
                .route(web::get().to(invitations::resend_form))
                .route(web::post().to(invitations::resend)),
        )
        .route("/orgs/{org}/invitations/{id}/cancel", web::post().to(invitations::cancel))
        .route("/orgs/{org}/members/{account}/edit", web::get().to(members::edit_form))
        .route("/orgs/{org}/members/{account}", web::post().to(members::update))
        .service(
            web::resource("/orgs/{org}/members/{account}/deactivate")
                .route(web::get().to(members::deactivate_form))
                .route(web::post().to(members::deactivate)),
        )
        .route("/orgs/{org}/members/{account}/activate", web::post().to(members::activate))
        .service(
            web::resource("/orgs/{org}/members/{account}/remove")
                .route(web::get().to(members::remove_form))
                .route(web::post().to(members::remove)),
        )
        .service(
            web::resource("/orgs/{org}/settings").route(web::get().to(settings::show)).route(web::post().to(settings::rename)),
        )
        .service(
            web::resource("/orgs/{org}/api-keys").route(web::get().to(api_keys::index)).route(web::post().to(api_keys::create)),
        )
        .route("/orgs/{org}/api-keys/{id}/revoke", web::post().to(api_keys::revoke))
        .route("/orgs/{org}/audit", web::get().to(audit::index))
        .route("/orgs/{org}/audit.csv", web::get().to(audit::export))
        .route("/orgs/{org}/settings/two-factor", web::post().to(settings::require_two_factor))
        .route("/orgs/{org}/transfer", web::post().to(settings::transfer))
        .route("/orgs/{org}/leave", web::post().to(settings::leave))
        .route("/orgs/{org}/delete", web::post().to(settings::delete))
        .route("/invitations/{token}", web::get().to(invitations::show))
        .route("/invitations/{token}/accept", web::post().to(invitations::accept))
        .route("/invitations/{token}/decline", web::post().to(invitations::decline))
        .route("/profile/invitations/{id}/accept", web::post().to(invitations::accept_by_id))
        .route("/profile/invitations/{id}/decline", web::post().to(invitations::decline_by_id));
    deployments::routes(cfg);
}
