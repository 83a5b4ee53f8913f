//! Languages and the words of the pages.

pub mod lang;
