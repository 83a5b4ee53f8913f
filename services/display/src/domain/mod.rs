//! Languages and the words of the pages.

pub mod baking;
pub mod lang;
pub mod presentation;
pub mod report_view;
