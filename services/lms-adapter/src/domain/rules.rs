//! Award keys: what makes two decisions the same award.

use akashi_model::EmailAddress;
use uuid::Uuid;

/// The award's idempotency key: one award per (rule, learner, course run).
/// LMS events name no run, so the rule's course stands for it. A
/// repeatable rule's awards are also keyed by the event that decided each.
pub fn idempotency_key(rule_id: Uuid, learner: &EmailAddress, course_id: &str, repeat_event: Option<Uuid>) -> String {
    match repeat_event {
        None => format!("rule:{rule_id}:learner:{learner}:course:{course_id}"),
        Some(event) => format!("rule:{rule_id}:learner:{learner}:course:{course_id}:event:{event}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_repeat_only_for_repeatable_rules() {
        let rule = Uuid::from_u128(1);
        let who = EmailAddress::parse("a@b.jp").unwrap();
        assert_eq!(
            idempotency_key(rule, &who, "C", None),
            format!("rule:{rule}:learner:a@b.jp:course:C")
        );
        assert_ne!(
            idempotency_key(rule, &who, "C", Some(Uuid::from_u128(2))),
            idempotency_key(rule, &who, "C", Some(Uuid::from_u128(3)))
        );
    }
}
