//! The Diesel schema shared by SQLite and PostgreSQL (see diesel.toml).

diesel::table! {
    accounts (id) {
        id -> Text,
        email -> Text,
        name -> Text,
        password_hash -> Text,
        session_epoch -> BigInt,
        created_at -> Timestamp,
        last_login_at -> Nullable<Timestamp>,
        email_verified_at -> Nullable<Timestamp>,
        totp_secret -> Nullable<Text>,
        totp_enabled_at -> Nullable<Timestamp>,
        totp_last_step -> Nullable<BigInt>,
    }
}

diesel::table! {
    recovery_codes (account_id, code_hash) {
        account_id -> Text,
        code_hash -> Text,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    sessions (id) {
        id -> Text,
        token_hash -> Text,
        account_id -> Text,
        created_at -> Timestamp,
        last_seen_at -> Timestamp,
        ip -> Nullable<Text>,
        user_agent -> Nullable<Text>,
    }
}

diesel::table! {
    security_events (id) {
        id -> BigInt,
        account_id -> Text,
        occurred_at -> Timestamp,
        kind -> Text,
        ip -> Nullable<Text>,
        user_agent -> Nullable<Text>,
    }
}

diesel::table! {
    account_tokens (token_hash) {
        token_hash -> Text,
        account_id -> Text,
        purpose -> Text,
        email -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    organizations (id) {
        id -> Text,
        name -> Text,
        revision -> BigInt,
        created_at -> Timestamp,
        require_two_factor -> Bool,
    }
}

diesel::table! {
    memberships (org_id, account_id) {
        org_id -> Text,
        account_id -> Text,
        email -> Text,
        name -> Text,
        role -> Text,
        status -> Text,
        created_at -> Timestamp,
        last_active_at -> Nullable<Timestamp>,
        invited_by -> Nullable<Text>,
        custom_role_ids -> Nullable<Text>,
        /// The name in lower case (`domain::member_list::search_key`), which search matches.
        name_key -> Nullable<Text>,
    }
}

diesel::table! {
    /// Members per organization, status and role, kept by triggers (see its migration).
    member_counts (org_id, status, role) {
        org_id -> Text,
        status -> Text,
        role -> Text,
        n -> BigInt,
    }
}

diesel::table! {
    invitations (id) {
        id -> Text,
        org_id -> Text,
        email -> Text,
        role -> Text,
        status -> Text,
        token_hash -> Text,
        invited_by -> Nullable<Text>,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        responded_at -> Nullable<Timestamp>,
        resent_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    deployments (id) {
        id -> Text,
        org_id -> Text,
        name -> Text,
        region -> Text,
        created_by -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    api_keys (id) {
        id -> Text,
        org_id -> Text,
        name -> Text,
        lookup -> Text,
        secret_hash -> Text,
        permissions -> Text,
        scope -> Text,
        expires_at -> Nullable<Timestamp>,
        created_by -> Nullable<Text>,
        created_at -> Timestamp,
        last_used_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
        grants -> Nullable<Text>,
    }
}

diesel::table! {
    roles (id) {
        id -> Text,
        org_id -> Text,
        name -> Text,
        name_key -> Text,
        description -> Text,
        permissions -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    member_roles (org_id, account_id, role_id) {
        org_id -> Text,
        account_id -> Text,
        role_id -> Text,
    }
}

diesel::table! {
    invitation_roles (invitation_id, role_id) {
        invitation_id -> Text,
        role_id -> Text,
    }
}

diesel::table! {
    api_key_deployments (api_key_id, deployment_id) {
        api_key_id -> Text,
        deployment_id -> Text,
    }
}

diesel::table! {
    audit_events (id) {
        id -> BigInt,
        org_id -> Text,
        seq -> BigInt,
        occurred_at -> Timestamp,
        action -> Text,
        actor_kind -> Text,
        actor_id -> Nullable<Text>,
        actor_email -> Nullable<Text>,
        target -> Nullable<Text>,
        target_email -> Nullable<Text>,
        ip -> Nullable<Text>,
        user_agent -> Nullable<Text>,
        details -> Text,
        prev_hash -> Text,
        hash -> Text,
    }
}

diesel::table! {
    rate_limits (key) {
        key -> Text,
        tat -> BigInt,
        refused -> Bool,
    }
}

diesel::table! {
    leases (name) {
        name -> Text,
        holder -> Text,
        held_until -> Timestamp,
    }
}

diesel::table! {
    /// Every email to send, written with the change that sends it (see storage/outbox.rs).
    outbox (id) {
        id -> Text,
        kind -> Text,
        recipient -> Text,
        envelope_from -> Nullable<Text>,
        body -> Nullable<Binary>,
        invitation_id -> Nullable<Text>,
        created_at -> Timestamp,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        last_error -> Nullable<Text>,
        claimed_until -> Nullable<Timestamp>,
        sent_at -> Nullable<Timestamp>,
        expires_at -> Nullable<Timestamp>,
        expired_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    /// An organization's single sign-on (OpenID Connect) connection (see storage/sso.rs).
    sso_connections (org_id) {
        org_id -> Text,
        issuer -> Text,
        client_id -> Text,
        client_secret_sealed -> Text,
        base_role -> Text,
        require_sso -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    sso_domains (domain) {
        domain -> Text,
        org_id -> Text,
    }
}

diesel::table! {
    sso_links (org_id, subject) {
        org_id -> Text,
        subject -> Text,
        account_id -> Text,
        linked_at -> Timestamp,
    }
}

diesel::table! {
    sso_flows (state_hash) {
        state_hash -> Text,
        org_id -> Text,
        nonce -> Text,
        pkce_verifier -> Text,
        link_account -> Nullable<Text>,
        next -> Text,
        created_at -> Timestamp,
    }
}

diesel::joinable!(account_tokens -> accounts (account_id));
diesel::joinable!(sessions -> accounts (account_id));
diesel::joinable!(security_events -> accounts (account_id));
diesel::joinable!(recovery_codes -> accounts (account_id));
diesel::joinable!(memberships -> organizations (org_id));
diesel::joinable!(memberships -> accounts (account_id));
diesel::joinable!(member_counts -> organizations (org_id));
diesel::joinable!(invitations -> organizations (org_id));
diesel::joinable!(deployments -> organizations (org_id));
diesel::joinable!(api_keys -> organizations (org_id));
diesel::joinable!(api_key_deployments -> api_keys (api_key_id));
diesel::joinable!(api_key_deployments -> deployments (deployment_id));
diesel::joinable!(audit_events -> organizations (org_id));
diesel::joinable!(roles -> organizations (org_id));
diesel::joinable!(member_roles -> roles (role_id));
diesel::joinable!(invitation_roles -> roles (role_id));
diesel::joinable!(invitation_roles -> invitations (invitation_id));
diesel::joinable!(outbox -> invitations (invitation_id));
diesel::joinable!(sso_connections -> organizations (org_id));
diesel::joinable!(sso_domains -> sso_connections (org_id));
diesel::joinable!(sso_links -> sso_connections (org_id));
diesel::joinable!(sso_links -> accounts (account_id));

diesel::allow_tables_to_appear_in_same_query!(
    accounts,
    account_tokens,
    sessions,
    security_events,
    recovery_codes,
    organizations,
    memberships,
    member_counts,
    invitations,
    deployments,
    api_keys,
    api_key_deployments,
    audit_events,
    roles,
    member_roles,
    invitation_roles,
    outbox,
    sso_connections,
    sso_domains,
    sso_links,
    sso_flows,
);
