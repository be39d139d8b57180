//! The messages Steward sends: what each says, as a `lettre::Message` ready to be queued.

use askama::Template;
use chrono::NaiveDateTime;
use lettre::Message;
use lettre::message::{Mailbox, MultiPart};

use crate::mail::MailError;

/// What an invitation email says.
#[derive(Debug, Clone, Template)]
#[template(path = "mail/invitation.txt")]
pub struct Invitation {
    pub org_name: String,
    pub inviter_name: String,
    pub inviter_email: String,
    pub role: String,
    pub link: String,
    pub expires_at: NaiveDateTime,
}

#[derive(Template)]
#[template(path = "mail/invitation.html")]
struct InvitationHtml<'a> {
    m: &'a Invitation,
}

impl Invitation {
    pub fn expires(&self) -> String {
        self.expires_at.format("%Y-%m-%d %H:%M UTC").to_string()
    }

    pub fn subject(&self) -> String {
        format!("{} invited you to join {} on Steward", self.inviter_name, self.org_name)
    }

    /// The message to `to`, with a plain-text and an HTML part.
    pub fn message(&self, from: &Mailbox, to: &str) -> Result<Message, MailError> {
        let to: Mailbox = to.parse().map_err(|e| MailError::Build(format!("recipient: {e}")))?;
        let text = self.render().map_err(|e| MailError::Build(e.to_string()))?;
        let html = InvitationHtml { m: self }.render().map_err(|e| MailError::Build(e.to_string()))?;
        Message::builder()
            .from(from.clone())
            .to(to)
            .subject(self.subject())
            .multipart(MultiPart::alternative_plain_html(text, html))
            .map_err(|e| MailError::Build(e.to_string()))
    }
}

/// A message to an account's owner about the account itself (a link to verify the address or
/// reset the password, a security notice): plain text.
pub struct AccountMail {
    pub subject: &'static str,
    pub body: String,
}

#[derive(Template)]
#[template(path = "mail/verify_email.txt")]
struct VerifyEmailText<'a> {
    name: &'a str,
    email: &'a str,
    link: &'a str,
    expires: String,
}

#[derive(Template)]
#[template(path = "mail/reset_password.txt")]
struct ResetPasswordText<'a> {
    name: &'a str,
    email: &'a str,
    link: &'a str,
    expires: String,
}

#[derive(Template)]
#[template(path = "mail/password_changed.txt")]
struct PasswordChangedText<'a> {
    name: &'a str,
    email: &'a str,
    how: &'a str,
    at: String,
}

#[derive(Template)]
#[template(path = "mail/change_email.txt")]
struct ChangeEmailText<'a> {
    name: &'a str,
    email: &'a str,
    link: &'a str,
    expires: String,
}

#[derive(Template)]
#[template(path = "mail/email_change_requested.txt")]
struct EmailChangeRequestedText<'a> {
    name: &'a str,
    email: &'a str,
    new_email: &'a str,
}

#[derive(Template)]
#[template(path = "mail/two_factor_changed.txt")]
struct TwoFactorChangedText<'a> {
    name: &'a str,
    email: &'a str,
    turned_on: bool,
    how: &'a str,
    at: String,
}

fn utc(t: NaiveDateTime) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

impl AccountMail {
    pub fn verify_email(name: &str, email: &str, link: &str, expires_at: NaiveDateTime) -> Result<AccountMail, MailError> {
        let body = VerifyEmailText { name, email, link, expires: utc(expires_at) }.render();
        Ok(AccountMail { subject: "Confirm your email address for Steward", body: body.map_err(|e| MailError::Build(e.to_string()))? })
    }

    pub fn reset_password(name: &str, email: &str, link: &str, expires_at: NaiveDateTime) -> Result<AccountMail, MailError> {
        let body = ResetPasswordText { name, email, link, expires: utc(expires_at) }.render();
        Ok(AccountMail { subject: "Reset your Steward password", body: body.map_err(|e| MailError::Build(e.to_string()))? })
    }

    /// To the new address asked for: the link that makes it the account's.
    pub fn change_email(name: &str, new_email: &str, link: &str, expires_at: NaiveDateTime) -> Result<AccountMail, MailError> {
        let body = ChangeEmailText { name, email: new_email, link, expires: utc(expires_at) }.render();
        Ok(AccountMail { subject: "Confirm your new email address for Steward", body: body.map_err(|e| MailError::Build(e.to_string()))? })
    }

    /// To the current address: someone asked to change it.
    pub fn email_change_requested(name: &str, email: &str, new_email: &str) -> Result<AccountMail, MailError> {
        let body = EmailChangeRequestedText { name, email, new_email }.render();
        Ok(AccountMail { subject: "A change of your Steward email address was asked for", body: body.map_err(|e| MailError::Build(e.to_string()))? })
    }

    /// `how` is "changed" or "reset".
    pub fn password_changed(name: &str, email: &str, how: &str, at: NaiveDateTime) -> Result<AccountMail, MailError> {
        let body = PasswordChangedText { name, email, how, at: utc(at) }.render();
        Ok(AccountMail { subject: "Your Steward password was changed", body: body.map_err(|e| MailError::Build(e.to_string()))? })
    }

    /// Two-factor was turned on or off; `how` says by whom ("from your profile", "by the
    /// operator of this Steward server").
    pub fn two_factor_changed(name: &str, email: &str, turned_on: bool, how: &str, at: NaiveDateTime) -> Result<AccountMail, MailError> {
        let body = TwoFactorChangedText { name, email, turned_on, how, at: utc(at) }.render();
        let subject = if turned_on {
            "Two-factor authentication is on for your Steward account"
        } else {
            "Two-factor authentication is off for your Steward account"
        };
        Ok(AccountMail { subject, body: body.map_err(|e| MailError::Build(e.to_string()))? })
    }

    pub fn message(&self, from: &Mailbox, to: &str) -> Result<Message, MailError> {
        let to: Mailbox = to.parse().map_err(|e| MailError::Build(format!("recipient: {e}")))?;
        Message::builder()
            .from(from.clone())
            .to(to)
            .subject(self.subject)
            .body(self.body.clone())
            .map_err(|e| MailError::Build(e.to_string()))
    }
}
