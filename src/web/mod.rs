//! The HTML side: routes, extractors, CSRF, pages.

pub mod api_docs;
pub mod api_keys;
pub mod assets;
pub mod audit;
pub mod auth;
pub mod bulk_invitations;
pub mod deployments;
pub mod draining;
pub mod error;
pub mod extract;
pub mod format;
pub mod forms;
pub mod health;
pub mod identity;
pub mod invitation_history;
pub mod invitations;
pub mod members;
pub mod metrics;
pub mod roles;
pub mod orgs;
pub mod profile;
pub mod request_log;

pub mod security;
pub mod security_log;
pub mod session;
pub mod sessions;
pub mod settings;
pub mod sso;
pub mod shell;
pub mod two_factor;

use actix_web::web;

/// Every route of the console. Those of an organization sit in one scope, `/orgs/{org}`, so
/// that a request is matched against the few patterns of its part of the site rather than all
/// of them in turn (matching dynamic patterns one by one was a tenth of a page's time); within
/// each part the patterns without parameters come first, as they are matched without a regex.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(auth::home))
        .route("/healthz", web::get().to(health::healthz))
        .route("/api/docs", web::get().to(api_docs::show))
        .service(web::resource("/signup").route(web::get().to(auth::signup_form)).route(web::post().to(auth::signup)))
        .service(web::resource("/login").route(web::get().to(auth::login_form)).route(web::post().to(auth::login)))
        .service(
            web::resource("/login/two-factor")
                .route(web::get().to(two_factor::second_step_form))
                .route(web::post().to(two_factor::second_step)),
        )
        .route("/login/sso", web::post().to(sso::start))
        .route("/login/sso/callback", web::get().to(sso::callback))
        .route("/logout", web::post().to(auth::logout))
        .service(web::resource("/orgs").route(web::get().to(orgs::index)).route(web::post().to(orgs::create)))
        .service(web::scope("/orgs/{org}").configure(organization_routes))
        .route("/static/{version}/{name}", web::get().to(assets::serve))
        .service(web::resource("/profile").route(web::get().to(profile::show)).route(web::post().to(profile::update)))
        .route("/profile/password", web::post().to(profile::change_password))
        .service(
            web::resource("/profile/two-factor").route(web::get().to(two_factor::show)).route(web::post().to(two_factor::enable)),
        )
        .route("/profile/two-factor/disable", web::post().to(two_factor::disable))
        .route("/profile/delete", web::post().to(profile::delete))
        .route("/profile/verify-email", web::post().to(identity::resend))
        .route("/profile/email", web::post().to(identity::change_email))
        .route("/profile/sessions", web::get().to(sessions::index))
        .route("/profile/security", web::get().to(security_log::index))
        .service(web::resource("/profile/sso").route(web::get().to(sso::link_page)).route(web::post().to(sso::link)))
        .route("/profile/sessions/revoke-others", web::post().to(sessions::revoke_others))
        .route("/profile/sessions/{id}/revoke", web::post().to(sessions::revoke))
        .route("/profile/invitations/{id}/accept", web::post().to(invitations::accept_by_id))
        .route("/profile/invitations/{id}/decline", web::post().to(invitations::decline_by_id))
        .service(
            web::resource("/password/forgot").route(web::get().to(identity::forgot_form)).route(web::post().to(identity::forgot)),
        )
        .service(
            web::resource("/password/reset/{token}")
                .route(web::get().to(identity::reset_form))
                .route(web::post().to(identity::reset)),
        )
        .service(
            web::resource("/verify-email/{token}")
                .route(web::get().to(identity::verify_form))
                .route(web::post().to(identity::verify)),
        )
        .route("/invitations/{token}", web::get().to(invitations::show))
        .route("/invitations/{token}/accept", web::post().to(invitations::accept))
        .route("/invitations/{token}/decline", web::post().to(invitations::decline));
}

/// The routes of one organization, under `/orgs/{org}`.
fn organization_routes(cfg: &mut web::ServiceConfig) {
    cfg.route("", web::get().to(orgs::home))
        .route("/members", web::get().to(members::index))
        .route("/members.csv", web::get().to(members::export))
        .route("/audit", web::get().to(audit::index))
        .route("/audit.csv", web::get().to(audit::export))
        .service(web::resource("/roles").route(web::get().to(roles::index)).route(web::post().to(roles::create)))
        .route("/roles/new", web::get().to(roles::new_form))
        .service(
            web::resource("/invitations")
                .route(web::get().to(invitation_history::index))
                .route(web::post().to(members::invite)),
        )
        .route("/invitations/new", web::get().to(members::invite_form))
        .service(
            web::resource("/invitations/bulk")
                .route(web::get().to(bulk_invitations::form))
                .route(web::post().to(bulk_invitations::preview)),
        )
        .route("/invitations/bulk/send", web::post().to(bulk_invitations::send))
        .service(web::resource("/settings").route(web::get().to(settings::show)).route(web::post().to(settings::rename)))
        .route("/settings/two-factor", web::post().to(settings::require_two_factor))
        .service(web::resource("/settings/sso").route(web::get().to(sso::settings)).route(web::post().to(sso::save)))
        .route("/settings/sso/remove", web::post().to(sso::remove))
        .route("/transfer", web::post().to(settings::transfer))
        .route("/leave", web::post().to(settings::leave))
        .route("/delete", web::post().to(settings::delete))
        .service(web::resource("/api-keys").route(web::get().to(api_keys::index)).route(web::post().to(api_keys::create)))
        .route("/api-keys/{id}/revoke", web::post().to(api_keys::revoke))
        .service(web::resource("/roles/{role}").route(web::get().to(roles::show)).route(web::post().to(roles::update)))
        .route("/roles/{role}/edit", web::get().to(roles::edit_form))
        .service(
            web::resource("/roles/{role}/delete").route(web::get().to(roles::delete_form)).route(web::post().to(roles::delete)),
        )
        .route("/roles/{role}/members", web::post().to(roles::add_member))
        .route("/roles/{role}/members/{account}/remove", web::post().to(roles::remove_member))
        .service(
            web::resource("/invitations/{id}/resend")
                .route(web::get().to(invitations::resend_form))
                .route(web::post().to(invitations::resend)),
        )
        .route("/invitations/{id}/cancel", web::post().to(invitations::cancel))
        .route("/members/{account}/edit", web::get().to(members::edit_form))
        .route("/members/{account}", web::post().to(members::update))
        .service(
            web::resource("/members/{account}/deactivate")
                .route(web::get().to(members::deactivate_form))
                .route(web::post().to(members::deactivate)),
        )
        .route("/members/{account}/activate", web::post().to(members::activate))
        .service(
            web::resource("/members/{account}/remove")
                .route(web::get().to(members::remove_form))
                .route(web::post().to(members::remove)),
        )
        .route("/members/{account}/sign-out", web::post().to(sessions::sign_out_member));
    deployments::routes(cfg);
}
