//! Display's own database: the awards it knows of.

use diesel_migrations::{EmbeddedMigrations, embed_migrations};

/// Display's tables.
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

diesel::table! {
    /// Awards announced on the bus.
    known_awards (award_id) {
        award_id -> Uuid,
        assertion_url -> Text,
        badge_class_url -> Nullable<Text>,
        recipient_email -> Nullable<Text>,
        recipient_name -> Nullable<Text>,
        issued_on -> Nullable<Timestamptz>,
        revoked_at -> Nullable<Timestamptz>,
        revocation_reason -> Nullable<Text>,
        updated_at -> Timestamptz,
        issuer_id -> Nullable<Uuid>,
    }
}

diesel::table! {
    /// Earners' choices about their badges' public pages (from `earner.preferences_changed`).
    earner_preferences (email) {
        email -> Text,
        hide_name -> Bool,
        changed_at -> Timestamptz,
    }
}

diesel::table! {
    /// How each issuer's pages and certificates look (from `issuer.published`).
    issuer_presentations (issuer_id) {
        issuer_id -> Uuid,
        time_zone -> Text,
        logo -> Nullable<Bytea>,
        logo_content_type -> Nullable<Text>,
        signatory_name -> Nullable<Text>,
        signatory_title -> Nullable<Text>,
        signature -> Nullable<Bytea>,
        signature_content_type -> Nullable<Text>,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    /// Anchored Blockcerts certificates announced on the bus.
    known_blockcerts (award_id) {
        award_id -> Uuid,
        url -> Text,
        chain -> Text,
        anchor -> Text,
        anchored_at -> Timestamptz,
        batch_size -> Int4,
        received_at -> Timestamptz,
    }
}

diesel::table! {
    /// E-mail to send to earners (one per award and kind).
    mail_outbox (id) {
        id -> Uuid,
        award_id -> Uuid,
        kind -> Text,
        reason -> Nullable<Text>,
        attempts -> Int4,
        next_attempt_at -> Timestamptz,
        sent_at -> Nullable<Timestamptz>,
        last_error -> Nullable<Text>,
        created_at -> Timestamptz,
        recipient_email -> Nullable<Text>,
        link -> Nullable<Text>,
        lang -> Nullable<Text>,
    }
}

diesel::table! {
    /// Console sign-ins: the cookie carries a random id whose hash is the key.
    console_sessions (id_hash) {
        id_hash -> Text,
        admin_token -> Text,
        csrf_token -> Text,
        created_at -> Timestamptz,
        expires_at -> Timestamptz,
        revoked_at -> Nullable<Timestamptz>,
    }
}
