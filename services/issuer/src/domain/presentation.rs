//! How an issuer's badge pages and certificates look: the time zone its
//! dates are shown in, its logo and the person who signs its certificates.
//! None of it is in a credential, so an admin may change it at any time.

use akashi_model::messages::{ImageBlob, IssuerPresentation, Signatory};
use base64::Engine;

use super::fields::FieldError;
use crate::db::models::IssuerPresentationRow;

/// An IANA time zone name (`Asia/Tokyo`, `Europe/London`, `UTC`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeZone(chrono_tz::Tz);

impl TimeZone {
    pub fn parse(field: &'static str, raw: &str) -> Result<Self, FieldError> {
        raw.trim()
            .parse::<chrono_tz::Tz>()
            .map(Self)
            .map_err(|_| FieldError::new(field, format!("{raw:?} is not an IANA time zone (e.g. Asia/Tokyo)")))
    }

    /// The zone's IANA name.
    pub fn name(&self) -> &'static str {
        self.0.name()
    }
}

impl IssuerPresentationRow {
    /// An issuer's presentation before an admin set any: UTC, nothing else.
    pub fn unset(issuer_id: uuid::Uuid) -> Self {
        Self {
            issuer_id,
            time_zone: "UTC".into(),
            logo: None,
            logo_content_type: None,
            signatory_name: None,
            signatory_title: None,
            signature: None,
            signature_content_type: None,
            updated_at: chrono::Utc::now(),
        }
    }

    /// The issuer's stored presentation, if an admin ever set one.
    pub async fn stored(
        conn: &mut diesel_async::AsyncPgConnection,
        issuer_id: uuid::Uuid,
    ) -> Result<Option<Self>, diesel::result::Error> {
        use crate::db::schema::issuer_presentations;
        use diesel::prelude::*;
        use diesel_async::RunQueryDsl;
        issuer_presentations::table
            .find(issuer_id)
            .select(Self::as_select())
            .first(conn)
            .await
            .optional()
    }

    /// What `issuer.published` carries of it.
    pub fn to_message(&self) -> IssuerPresentation {
        let blob = |bytes: &Option<Vec<u8>>, content_type: &Option<String>| match (bytes, content_type) {
            (Some(bytes), Some(content_type)) => Some(ImageBlob {
                content_type: content_type.clone(),
                data_base64: base64::engine::general_purpose::STANDARD.encode(bytes),
            }),
            _ => None,
        };
        IssuerPresentation {
            time_zone: self.time_zone.clone(),
            updated_at: self.updated_at,
            logo: blob(&self.logo, &self.logo_content_type),
            signatory: self.signatory_name.as_ref().map(|name| Signatory {
                name: name.clone(),
                title: self.signatory_title.clone(),
                signature: blob(&self.signature, &self.signature_content_type),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_zones_are_iana_names() {
        assert_eq!(
            TimeZone::parse("time_zone", " Asia/Tokyo ").unwrap().name(),
            "Asia/Tokyo"
        );
        assert_eq!(TimeZone::parse("time_zone", "UTC").unwrap().name(), "UTC");
        let error = TimeZone::parse("time_zone", "JST+9").unwrap_err();
        assert_eq!(error.field, "time_zone");
    }
}
