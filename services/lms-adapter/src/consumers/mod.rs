//! RabbitMQ handlers of the lms-adapter.

pub mod awards;
pub mod badge_class_published;
