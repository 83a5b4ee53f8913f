//! RabbitMQ handlers of the lms-adapter.

pub mod badge_class_published;
