//! The console's pages (askama templates in `templates/console/`).

use askama::Template;

use super::texts::ConsoleTexts;

/// What every page shows around its content.
pub struct Chrome {
    /// The session's CSRF token, carried by every form's action (`?csrf=`).
    pub csrf: String,
    pub lang: &'static str,
    pub other_lang: &'static str,
    pub t: &'static ConsoleTexts,
    /// A one-line notice after an action.
    pub msg: Option<String>,
    /// The active navigation entry.
    pub nav: &'static str,
    pub path: String,
}

#[derive(Template)]
#[template(path = "console/login.html")]
pub struct LoginPage {
    pub c: Chrome,
    pub error: Option<String>,
}

#[derive(Template)]
#[template(path = "console/error.html")]
pub struct ErrorPage {
    pub c: Chrome,
    pub status: u16,
    pub code: String,
    pub message: String,
}

pub struct BadgeItem {
    pub id: String,
    pub name: String,
    pub image_url: String,
    pub formats: String,
    /// The language the translation form edits (not the class's own).
    pub other_language: &'static str,
    pub translated_name: String,
    pub translated_description: String,
    pub translated_criteria: String,
}

pub struct IssuerItem {
    pub id: String,
    pub name: String,
    pub url: String,
    pub badges: Vec<BadgeItem>,
    pub time_zone: String,
    pub signatory_name: String,
    pub signatory_title: String,
    pub has_logo: bool,
    pub has_signature: bool,
}

#[derive(Template)]
#[template(path = "console/home.html")]
pub struct HomePage {
    pub c: Chrome,
    pub issuers: Vec<IssuerItem>,
}

pub struct RuleItem {
    pub id: String,
    pub name: String,
    pub badge_name: String,
    pub courses: String,
    pub version: i64,
    pub active: bool,
}

#[derive(Template)]
#[template(path = "console/rules.html")]
pub struct RulesPage {
    pub c: Chrome,
    /// The builder, empty (a new rule).
    pub prefill: crate::console::builder::Prefill,
    pub rules: Vec<RuleItem>,
    /// (id, name) of every badge class the token sees.
    pub badges: Vec<(String, String)>,
}

pub struct VersionItem {
    pub version: i64,
    pub created_at: String,
    pub definition: String,
}

pub struct ProgressItem {
    pub learner: String,
    pub met: i64,
    pub total: i64,
    pub satisfied: bool,
    pub failed: String,
}

pub struct EvaluationItem {
    /// (learner, conditions held)
    pub would_award: Vec<(String, String)>,
    /// (learner, reason)
    pub would_not: Vec<(String, String)>,
    pub already: Vec<String>,
    /// After apply: how many were awarded now.
    pub awarded: Option<i64>,
}

pub struct ExplainItem {
    pub learner: String,
    pub awarded: bool,
    pub met: i64,
    pub total: i64,
    pub held: Vec<String>,
    pub failed: Vec<String>,
}

pub struct DecisionItem {
    pub id: String,
    pub learner: String,
    pub rule_id: String,
    pub rule_version: i64,
    /// The badge's name once known (its id until then).
    pub badge_class_id: String,
    pub decided_at: String,
    pub decided_by: String,
    pub status: String,
    pub note: String,
    pub held: Vec<String>,
    pub events: Vec<String>,
}

#[derive(Template)]
#[template(path = "console/rule.html")]
pub struct RulePage {
    pub c: Chrome,
    pub rule: RuleItem,
    /// The builder filled with the rule, when the builder can show it.
    pub builder: Option<crate::console::builder::Prefill>,
    /// (id, name) of every badge class the token sees (the builder's choices).
    pub badges: Vec<(String, String)>,
    pub definition: String,
    pub versions: Vec<VersionItem>,
    pub progress: Vec<ProgressItem>,
    pub evaluation: Option<EvaluationItem>,
    pub explain: Option<ExplainItem>,
    pub learner: String,
    pub decisions: Vec<DecisionItem>,
}

pub struct AwardItem {
    pub id: String,
    pub recipient: String,
    pub badge: String,
    pub issuer: String,
    pub status: String,
    pub issued_on: String,
    pub badge_page: String,
    pub reason: String,
}

#[derive(Template)]
#[template(path = "console/awards.html")]
pub struct AwardsPage {
    pub c: Chrome,
    pub searched: bool,
    pub recipient: String,
    pub badge_class_id: String,
    pub status: String,
    /// (id, name) of every badge class the token sees.
    pub badges: Vec<(String, String)>,
    /// This search, for the forms to come back to.
    pub back: String,
    pub awards: Vec<AwardItem>,
    /// The next page of older awards, and the previous of newer ones.
    pub older: Option<String>,
    pub newer: Option<String>,
}

#[derive(Template)]
#[template(path = "console/decisions.html")]
pub struct DecisionsPage {
    pub c: Chrome,
    pub learner: String,
    pub status: String,
    pub decisions: Vec<DecisionItem>,
    /// The next page of older decisions, and the previous of newer ones.
    pub older: Option<String>,
    pub newer: Option<String>,
}

#[derive(Template)]
#[template(path = "console/lms.html")]
pub struct LmsPage {
    pub c: Chrome,
    /// (name, secrets, updated)
    pub sources: Vec<(String, i64, String)>,
    /// (name, issuer, client id, deployments)
    pub platforms: Vec<(String, String, String, String)>,
    /// A registration link just made.
    pub link: Option<String>,
}

pub struct LetterItem {
    pub id: String,
    pub routing_key: String,
    pub queue: String,
    pub reason: String,
    pub deaths: i64,
    pub received_at: String,
    pub body: String,
    pub status: String,
}

#[derive(Template)]
#[template(path = "console/dead_letters.html")]
pub struct DeadLettersPage {
    pub c: Chrome,
    pub letters: Vec<LetterItem>,
    /// The next page of older letters, and the previous of newer ones.
    pub older: Option<String>,
    pub newer: Option<String>,
}

#[derive(Template)]
#[template(path = "console/team.html")]
pub struct TeamPage {
    pub c: Chrome,
    /// (id, name) of the issuers the token sees.
    pub issuers: Vec<(String, String)>,
    pub tokens: Vec<TokenItem>,
    /// A token just minted: (token, role, issuer id).
    pub minted: Option<(String, String, String)>,
}

pub struct TokenItem {
    pub id: String,
    pub name: String,
    /// Its role, else its scopes.
    pub role: String,
    pub created_at: String,
    pub revoked: bool,
}
