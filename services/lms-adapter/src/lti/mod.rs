//! LTI 1.3 (Core, Security Framework, Deep Linking 2.0, AGS 2.0, NRPS 2.0,
//! Dynamic Registration): the tool side.

pub mod deep_linking;
pub mod keys;
pub mod registration;
pub mod services;
pub mod token;

/// The prefix of LTI Core claims.
pub const CLAIM: &str = "https://purl.imsglobal.org/spec/lti/claim/";
/// The Deep Linking claims' prefix.
pub const DL_CLAIM: &str = "https://purl.imsglobal.org/spec/lti-dl/claim/";
/// The AGS endpoint claim.
pub const AGS_CLAIM: &str = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint";
/// The NRPS claim.
pub const NRPS_CLAIM: &str = "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice";
/// AGS scopes the tool asks for.
pub const SCOPE_LINEITEM_READ: &str = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem.readonly";
pub const SCOPE_RESULT_READ: &str = "https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly";
/// The NRPS scope.
pub const SCOPE_NRPS: &str = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly";
