//! The console's "Events out" page: the tenant's webhook subscriptions
//! (issuer `/admin/webhook-subscriptions`), a form to subscribe an
//! endpoint, turning one on or off, a new secret, and a subscription's
//! delivery log with a replay of what failed.

use actix_web::{HttpRequest, HttpResponse, get, post, web};
use askama::Template;
use reqwest::Method;
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use super::api::Service;
use super::pages::Chrome;
use super::{chrome, csrf_checked, done, language, list, page, refused, same_origin, session, text};
use crate::domain::lang::Lang;
use crate::startup::AppState;

/// The event types a subscription may ask for, with what each means.
const EVENTS: [(&str, &str, &str); 6] = [
    ("badge.issued", "a badge was awarded", "バッジが発行された"),
    ("badge.revoked", "a badge was revoked", "バッジが取り消された"),
    ("badge.expired", "a badge expired", "バッジの有効期限が切れた"),
    (
        "badge.claimed",
        "the earner claimed it (first sign-in)",
        "取得者が受け取った（初回サインイン）",
    ),
    (
        "rule.decision.pending",
        "an award waits for approval",
        "授与が承認待ちになった",
    ),
    (
        "verification.performed",
        "someone verified it (the verdict only)",
        "誰かが検証した（結果のみ）",
    ),
];

pub struct EventChoice {
    pub name: &'static str,
    pub meaning: &'static str,
}

pub struct SubscriptionItem {
    pub id: String,
    pub url: String,
    pub events: String,
    pub enabled: bool,
    pub disabled_reason: String,
    pub failing_since: String,
}

pub struct DeliveryItem {
    pub event_type: String,
    pub status: String,
    pub attempts: String,
    pub last: String,
    pub created_at: String,
}

#[derive(Template)]
#[template(path = "console/subscriptions.html")]
pub struct SubscriptionsPage {
    pub c: Chrome,
    pub events: Vec<EventChoice>,
    pub subscriptions: Vec<SubscriptionItem>,
    /// A secret just made: (subscription URL, secret), shown once.
    pub secret: Option<(String, String)>,
    /// The delivery log of one subscription: (its id, its URL, the deliveries).
    pub log: Option<(String, String, Vec<DeliveryItem>)>,
}

/// Registers the page's routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(subscriptions_page)
        .service(create_subscription)
        .service(subscription_action);
}

fn choices(lang: Lang) -> Vec<EventChoice> {
    EVENTS
        .iter()
        .map(|(name, en, ja)| EventChoice {
            name,
            meaning: if lang == Lang::Ja { ja } else { en },
        })
        .collect()
}

async fn items(api: &super::api::AdminApi<'_>) -> Result<Vec<SubscriptionItem>, super::api::ApiCallError> {
    let all = api.get(Service::Issuer, "/admin/webhook-subscriptions").await?;
    Ok(list(&all)
        .iter()
        .map(|s| SubscriptionItem {
            id: text(&s["id"]),
            url: text(&s["url"]),
            events: super::strings(&s["events"]).join(", "),
            enabled: s["enabled"].as_bool().unwrap_or(false),
            disabled_reason: text(&s["disabled_reason"]),
            failing_since: text(&s["failing_since"]),
        })
        .collect())
}

#[derive(Deserialize)]
struct ShowQuery {
    show: Option<Uuid>,
}

#[get("/console/subscriptions")]
async fn subscriptions_page(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let mut token = String::new();
    let api = signed_in!(req, state, token);
    let subscriptions = try_api!(req, items(&api));
    let show = web::Query::<ShowQuery>::from_query(req.query_string())
        .ok()
        .and_then(|q| q.show);
    let mut log = None;
    if let Some(id) = show {
        let deliveries = try_api!(
            req,
            api.get(
                Service::Issuer,
                &format!("/admin/webhook-subscriptions/{id}/deliveries?limit=100")
            )
        );
        let url = subscriptions
            .iter()
            .find(|s| s.id == id.to_string())
            .map(|s| s.url.clone())
            .unwrap_or_default();
        let rows = list(&deliveries)
            .iter()
            .map(|d| {
                let last = d["attempt_log"]
                    .as_array()
                    .and_then(|a| a.last())
                    .cloned()
                    .unwrap_or(Value::Null);
                DeliveryItem {
                    event_type: text(&d["event_type"]),
                    status: text(&d["status"]),
                    attempts: text(&d["attempts"]),
                    last: match (last["status_code"].as_i64(), last["error"].as_str()) {
                        (Some(code), _) => code.to_string(),
                        (None, Some(error)) => error.to_string(),
                        _ => String::new(),
                    },
                    created_at: text(&d["created_at"]),
                }
            })
            .collect();
        log = Some((id.to_string(), url, rows));
    }
    page(
        &req,
        SubscriptionsPage {
            c: chrome(&req, "subscriptions"),
            events: choices(language(&req)),
            subscriptions,
            secret: None,
            log,
        }
        .render(),
    )
}

/// The form: `url`, `include_recipient_email`, and one `event` per box ticked.
#[post("/console/subscriptions")]
async fn create_subscription(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: web::Form<Vec<(String, String)>>,
) -> HttpResponse {
    let mut token = String::new();
    let api = posted_by_admin!(req, state, token);
    let field = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.trim().to_string());
    let events: Vec<&str> = form
        .iter()
        .filter(|(k, _)| k == "event")
        .map(|(_, v)| v.as_str())
        .collect();
    let body = json!({
        "url": field("url").unwrap_or_default(),
        "events": events,
        "include_recipient_email": field("include_recipient_email").is_some(),
    });
    let made = try_api!(
        req,
        api.call(
            Method::POST,
            Service::Issuer,
            "/admin/webhook-subscriptions",
            Some(&body)
        )
    );
    let subscriptions = try_api!(req, items(&api));
    // The secret is shown on this answer only (the page is never cached).
    page(
        &req,
        SubscriptionsPage {
            c: chrome(&req, "subscriptions"),
            events: choices(language(&req)),
            subscriptions,
            secret: Some((text(&made["url"]), text(&made["secret"]))),
            log: None,
        }
        .render(),
    )
}

/// `on`, `off`, `rotate` (a new secret, the old one signing for a day) or
/// `replay` (every failed delivery of the last 30 days again; other
/// replays, of delivered events or other ranges, are the API's).
#[post("/console/subscriptions/{id}/{action}")]
async fn subscription_action(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<(Uuid, String)>,
) -> HttpResponse {
    let mut token = String::new();
    let api = posted_by_admin!(req, state, token);
    let (id, action) = path.into_inner();
    let base = format!("/admin/webhook-subscriptions/{id}");
    let (method, url, body) = match action.as_str() {
        "on" => (Method::PATCH, base.clone(), json!({"enabled": true})),
        "off" => (Method::PATCH, base.clone(), json!({"enabled": false})),
        "rotate" => (Method::POST, format!("{base}/rotate-secret"), json!({})),
        "replay" => (
            Method::POST,
            format!("{base}/replay"),
            json!({"since": chrono::Utc::now() - chrono::Duration::days(30), "status": "failed"}),
        ),
        _ => return HttpResponse::NotFound().finish(),
    };
    let answer = try_api!(req, api.call(method, Service::Issuer, &url, Some(&body)));
    if action == "rotate" {
        let subscriptions = try_api!(req, items(&api));
        return page(
            &req,
            SubscriptionsPage {
                c: chrome(&req, "subscriptions"),
                events: choices(language(&req)),
                subscriptions,
                secret: Some((text(&answer["url"]), text(&answer["secret"]))),
                log: None,
            }
            .render(),
        );
    }
    done(&format!("/console/subscriptions?show={id}"), &req)
}
