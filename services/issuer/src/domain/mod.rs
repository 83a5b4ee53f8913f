//! Values the issuer accepts only once they are known to be valid, and the
//! Open Badges documents it builds from them.

pub mod badge_image;
pub mod blockcerts;
pub mod documents;
pub mod fields;
pub mod formats;
pub mod keyring;
pub mod languages;
pub mod presentation;
pub mod status_list;
