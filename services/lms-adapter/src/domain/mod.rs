//! Completion events as the adapter understands them, whatever the LMS, and
//! the rules that turn them into award decisions.

pub mod completion;
pub mod criteria;
pub mod reason;
pub mod rules;
