//! LTI 1.3 end to end against a scripted platform in this test (its own RSA
//! key and JWKS, token endpoint, AGS, NRPS, OpenID configuration and
//! registration endpoint, all on loopback): login → launch → the learner's
//! badges; deep linking; every bad id_token refused; scores and rosters
//! synced into badges; dynamic registration; tool key rotation.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use akashi_crypto::keys::{RsaSigner, generate_rsa_2048};
use akashi_e2e::{Service, Stack, html_text};
use base64::Engine;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use reqwest::Method;
use serde_json::{Value, json};

const CLAIM: &str = "https://purl.imsglobal.org/spec/lti/claim/";

struct Platform {
    base: String,
    client_id: String,
    jwks: Mutex<Value>,
    tool_jwks_url: String,
    token_calls: AtomicUsize,
    assertion_failures: AtomicUsize,
    registrations: Mutex<Vec<Value>>,
}

fn bearer_ok(req: &HttpRequest) -> bool {
    req.headers().get("Authorization").and_then(|v| v.to_str().ok()) == Some("Bearer platform-access-token")
}

async fn platform_jwks(p: web::Data<Arc<Platform>>) -> HttpResponse {
    HttpResponse::Ok().json(p.jwks.lock().unwrap().clone())
}

/// Checks the tool's client assertion against the tool's own JWKS, as a
/// platform does.
async fn token(p: web::Data<Arc<Platform>>, form: web::Form<Vec<(String, String)>>) -> HttpResponse {
    p.token_calls.fetch_add(1, Ordering::SeqCst);
    let field = |k: &str| {
        form.iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let assertion = field("client_assertion");
    let ok = async {
        anyhow::ensure!(field("grant_type") == "client_credentials");
        anyhow::ensure!(field("client_assertion_type") == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer");
        let header = jsonwebtoken::decode_header(&assertion)?;
        let jwks: jsonwebtoken::jwk::JwkSet = reqwest::get(&p.tool_jwks_url).await?.json().await?;
        let jwk = jwks
            .find(header.kid.as_deref().unwrap_or_default())
            .ok_or_else(|| anyhow::anyhow!("kid"))?;
        let mut v = Validation::new(Algorithm::RS256);
        v.set_audience(&[format!("{}/token", p.base)]);
        v.set_issuer(&[p.client_id.as_str()]);
        let claims = jsonwebtoken::decode::<Value>(&assertion, &DecodingKey::from_jwk(jwk)?, &v)?.claims;
        anyhow::ensure!(claims["sub"] == json!(p.client_id) && claims["jti"].is_string());
        Ok::<_, anyhow::Error>(())
    }
    .await;
    match ok {
        Ok(()) => HttpResponse::Ok().json(json!({"access_token": "platform-access-token", "token_type": "Bearer",
            "expires_in": 3600, "scope": field("scope")})),
        Err(e) => {
            p.assertion_failures.fetch_add(1, Ordering::SeqCst);
            HttpResponse::Unauthorized().json(json!({"error": "invalid_client", "error_description": e.to_string()}))
        }
    }
}

async fn lineitems(p: web::Data<Arc<Platform>>, req: HttpRequest) -> HttpResponse {
    if !bearer_ok(&req) {
        return HttpResponse::Unauthorized().finish();
    }
    HttpResponse::Ok()
        .content_type("application/vnd.ims.lis.v2.lineitemcontainer+json")
        .json(
            json!([{"id": format!("{}/lineitems/7", p.base), "label": "Final exam", "scoreMaximum": 100,
                      "resourceLinkId": "rl-1"}]),
        )
}

async fn results(p: web::Data<Arc<Platform>>, req: HttpRequest) -> HttpResponse {
    if !bearer_ok(&req) {
        return HttpResponse::Unauthorized().finish();
    }
    // Two pages, linked by rel="next".
    if req.query_string().contains("page=2") {
        return HttpResponse::Ok().json(json!([
            {"id": format!("{}/lineitems/7/results/cy", p.base), "userId": "sub-cy", "resultScore": 95, "resultMaximum": 100}
        ]));
    }
    HttpResponse::Ok()
        .insert_header(("Link", format!("<{}/lineitems/7/results?page=2>; rel=\"next\"", p.base)))
        .json(json!([
            {"id": format!("{}/lineitems/7/results/ada", p.base), "scoreOf": format!("{}/lineitems/7", p.base),
             "userId": "sub-ada", "resultScore": 92, "resultMaximum": 100, "comment": "Well done"},
            {"id": format!("{}/lineitems/7/results/bob", p.base), "userId": "sub-bob", "resultScore": 50, "resultMaximum": 100}
        ]))
}

async fn memberships(p: web::Data<Arc<Platform>>, req: HttpRequest) -> HttpResponse {
    if !bearer_ok(&req) {
        return HttpResponse::Unauthorized().finish();
    }
    if req.query_string().contains("page=2") {
        return HttpResponse::Ok().json(json!({"id": "m", "context": {"id": "DEMO-101"}, "members": [
            {"user_id": "sub-cy", "roles": ["http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"],
             "status": "Active", "name": "Cy Young", "email": "cy@example.edu"}]}));
    }
    HttpResponse::Ok()
        .insert_header(("Link", format!("<{}/memberships?page=2>; rel=\"next\"", p.base)))
        .json(json!({"id": "m", "context": {"id": "DEMO-101"}, "members": [
            {"user_id": "sub-ada", "roles": [], "status": "Active", "name": "Ada Lovelace", "email": "ada@example.edu"},
            {"user_id": "sub-bob", "roles": [], "status": "Inactive", "name": "Bob", "email": "bob@example.edu"}]}))
}

async fn openid_configuration(p: web::Data<Arc<Platform>>) -> HttpResponse {
    HttpResponse::Ok().json(json!({
        "issuer": p.base,
        "authorization_endpoint": format!("{}/auth", p.base),
        "token_endpoint": format!("{}/token", p.base),
        "jwks_uri": format!("{}/jwks", p.base),
        "registration_endpoint": format!("{}/register", p.base),
        "https://purl.imsglobal.org/spec/lti-platform-configuration": {"product_family_code": "moodle", "version": "4.5"}
    }))
}

async fn register(p: web::Data<Arc<Platform>>, req: HttpRequest, body: web::Json<Value>) -> HttpResponse {
    if req.headers().get("Authorization").and_then(|v| v.to_str().ok()) != Some("Bearer reg-token-1") {
        return HttpResponse::Unauthorized().finish();
    }
    p.registrations.lock().unwrap().push(body.into_inner());
    HttpResponse::Ok().json(json!({"client_id": "dyn-client",
        "https://purl.imsglobal.org/spec/lti-tool-configuration": {"deployment_id": "dyn-dep"}}))
}

async fn start_platform(tool_jwks_url: String, jwks: Value) -> anyhow::Result<Arc<Platform>> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let base = format!("http://{}", listener.local_addr()?);
    let platform = Arc::new(Platform {
        base,
        client_id: "akashi-client".into(),
        jwks: Mutex::new(jwks),
        tool_jwks_url,
        token_calls: AtomicUsize::new(0),
        assertion_failures: AtomicUsize::new(0),
        registrations: Mutex::new(vec![]),
    });
    let data = web::Data::new(platform.clone());
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .route("/jwks", web::get().to(platform_jwks))
            .route("/token", web::post().to(token))
            .route("/lineitems", web::get().to(lineitems))
            .route("/lineitems/7/results", web::get().to(results))
            .route("/memberships", web::get().to(memberships))
            .route("/.well-known/openid-configuration", web::get().to(openid_configuration))
            .route("/register", web::post().to(register))
    })
    .workers(1)
    .listen(listener)?
    .run();
    tokio::spawn(server);
    Ok(platform)
}

/// A login: the tool's redirect to the platform, and the cookie it set.
struct Login {
    state: String,
    nonce: String,
    cookie: Option<String>,
    query: Vec<(String, String)>,
}

async fn login(
    stack: &Stack,
    http: &reqwest::Client,
    platform: &Platform,
    extra: &[(&str, &str)],
) -> anyhow::Result<(u16, Login, String)> {
    let lms = stack.url(Service::LmsAdapter);
    let target = format!("{lms}/lti/launch");
    let mut params = vec![
        ("iss", platform.base.as_str()),
        ("login_hint", "opaque-user-hint"),
        ("target_link_uri", target.as_str()),
        ("lti_message_hint", "opaque-message-hint"),
        ("client_id", "akashi-client"),
    ];
    params.extend_from_slice(extra);
    let response = http.get(format!("{lms}/lti/login")).query(&params).send().await?;
    let status = response.status().as_u16();
    let cookie = response
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|c| c.split(';').next())
        .map(str::to_owned);
    let location = response
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = response.text().await?;
    let query: Vec<(String, String)> = match location {
        Some(l) => url::Url::parse(&l)?.query_pairs().into_owned().collect(),
        None => {
            // The storage page carries the auth URL as its `data-next`.
            let next = html_text(&between(&body, "data-next=\"", "\"").unwrap_or_default());
            url::Url::parse(&next)
                .map(|u| u.query_pairs().into_owned().collect())
                .unwrap_or_default()
        }
    };
    let get = |k: &str| {
        query
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    Ok((
        status,
        Login {
            state: get("state"),
            nonce: get("nonce"),
            cookie,
            query,
        },
        body,
    ))
}

fn between(haystack: &str, start: &str, end: &str) -> Option<String> {
    let from = haystack.find(start)? + start.len();
    let to = haystack[from..].find(end)? + from;
    Some(haystack[from..to].to_string())
}

fn claims(platform: &Platform, nonce: &str, message_type: &str, sub: &str, email: &str) -> Value {
    let now = chrono::Utc::now().timestamp();
    let mut c = json!({
        "iss": platform.base, "aud": "akashi-client", "sub": sub, "exp": now + 300, "iat": now, "nonce": nonce,
        "email": email, "name": "Ada Lovelace",
        format!("{CLAIM}deployment_id"): "dep-1",
        format!("{CLAIM}version"): "1.3.0",
        format!("{CLAIM}message_type"): message_type,
        format!("{CLAIM}roles"): ["http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"],
        format!("{CLAIM}context"): {"id": "DEMO-101", "label": "DEMO-101", "title": "Introduction to Data Science"},
        format!("{CLAIM}launch_presentation"): {"locale": "ja-JP"},
        "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint": {
            "scope": ["https://purl.imsglobal.org/spec/lti-ags/scope/lineitem.readonly",
                      "https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly"],
            "lineitems": format!("{}/lineitems", platform.base)},
        "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice": {
            "context_memberships_url": format!("{}/memberships", platform.base), "service_versions": ["2.0"]},
    });
    if message_type == "LtiResourceLinkRequest" {
        c[format!("{CLAIM}resource_link")] = json!({"id": "rl-1", "title": "My badges"});
        c[format!("{CLAIM}target_link_uri")] = json!("ignored-by-the-tool");
    } else {
        c["https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings"] = json!({
            "deep_link_return_url": format!("{}/deep-link-return", platform.base),
            "accept_types": ["ltiResourceLink", "link"], "accept_multiple": false, "data": "opaque-42"});
    }
    c
}

async fn launch(
    stack: &Stack,
    http: &reqwest::Client,
    login: &Login,
    id_token: &str,
    storage: Option<&str>,
) -> anyhow::Result<(u16, String)> {
    let mut form = vec![("id_token", id_token.to_string()), ("state", login.state.clone())];
    if let Some(s) = storage {
        form.push(("lti_storage_value", s.to_string()));
    }
    let mut request = http
        .post(format!("{}/lti/launch", stack.url(Service::LmsAdapter)))
        .form(&form);
    if let Some(c) = &login.cookie {
        request = request.header("Cookie", c);
    }
    let response = request.send().await?;
    Ok((response.status().as_u16(), response.text().await?))
}

fn b64(v: &Value) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_lti_platform_launches_links_syncs_and_registers() -> anyhow::Result<()> {
    let stack = Stack::start().await?;
    let seed = stack.seed().await?;
    let lms = stack.url(Service::LmsAdapter);
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let key1 = RsaSigner::from_pkcs8_der(&generate_rsa_2048()?)?;
    let platform = start_platform(format!("{lms}/lti/jwks"), json!({"keys": [key1.public().jwk("p1")]})).await?;
    let registered: Value = stack
        .admin(Method::POST, format!("{lms}/admin/lti/platforms"))
        .json(
            &json!({"issuer": platform.base, "client_id": "akashi-client", "deployment_ids": ["dep-1"],
            "jwks_url": format!("{}/jwks", platform.base), "auth_url": format!("{}/auth", platform.base),
            "token_url": format!("{}/token", platform.base), "user_source": "moodle", "name": "Scripted Moodle"}),
        )
        .send()
        .await?
        .json()
        .await?;
    let platform_id = registered["id"].as_str().expect("platform id").to_string();
    assert_eq!(registered["tool"]["login_url"], json!(format!("{lms}/lti/login")));

    // Ada already has the demo badge (through the generic webhook).
    assert_eq!(
        stack
            .post_completion(&Stack::completion("evt-lti-1", "ada@example.edu", "DEMO-101"))
            .await?
            .status(),
        202
    );
    stack
        .wait_for_awards("ada@example.edu", 1, Duration::from_secs(20))
        .await?;
    for _ in 0..400 {
        if stack
            .count(Service::LmsAdapter, "SELECT count(*) AS n FROM known_awards")
            .await?
            == 1
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }

    // ---- Login → launch: the auth request is exactly the spec's.
    let (status, good, _) = login(&stack, &http, &platform, &[]).await?;
    assert_eq!(status, 302);
    let q = |k: &str| good.query.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    assert_eq!(q("scope"), Some("openid"));
    assert_eq!(q("response_type"), Some("id_token"));
    assert_eq!(q("response_mode"), Some("form_post"));
    assert_eq!(q("prompt"), Some("none"));
    assert_eq!(q("client_id"), Some("akashi-client"));
    assert_eq!(q("redirect_uri"), Some(format!("{lms}/lti/launch").as_str()));
    assert_eq!(q("login_hint"), Some("opaque-user-hint"));
    assert_eq!(q("lti_message_hint"), Some("opaque-message-hint"));
    assert!(good.cookie.is_some(), "the state is bound to the browser");
    let token = key1.sign_jws(
        Some("p1"),
        Some("JWT"),
        &claims(
            &platform,
            &good.nonce,
            "LtiResourceLinkRequest",
            "sub-ada",
            "ada@example.edu",
        ),
    )?;
    let (status, page) = launch(&stack, &http, &good, &token, None).await?;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("わたしのバッジ"), "the launch locale picks Japanese");
    assert!(page.contains("data-award="), "Ada's badge is listed: {page}");
    assert!(page.contains("獲得済み"), "and the course's badge shows as earned");
    // One click to the backpack on host: a signed hand-off, used once.
    let action = html_text(
        &between(
            &page,
            "<form method=\"post\" action=\"",
            "\" target=\"_blank\" id=\"backpack-form\"",
        )
        .expect("the hand-off's action"),
    );
    let hand_off = html_text(&between(&page, "name=\"token\" value=\"", "\"").expect("the hand-off token"));
    // Opening the hand-off as a link signs no one in: it shows a button.
    let opened = http.get(&action).query(&[("token", &hand_off)]).send().await?;
    assert_eq!(opened.status(), 200);
    assert!(opened.headers().get("set-cookie").is_none());
    // Posted from another site: refused, and the token is not spent.
    let foreign = http
        .post(&action)
        .header("Origin", "http://evil.example")
        .form(&[("token", &hand_off)])
        .send()
        .await?;
    assert_eq!(foreign.status(), 403);
    // Posted by the launch page (the lms-adapter's origin): signed in.
    let signed_in = http
        .post(&action)
        .header("Origin", stack.url(Service::LmsAdapter))
        .form(&[("token", &hand_off)])
        .send()
        .await?;
    assert_eq!(signed_in.status(), 303, "{action}");
    let session = signed_in
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|c| c.split(';').next())
        .expect("a session")
        .to_string();
    let backpack = http
        .get(format!("{}/backpack", stack.url(Service::Host)))
        .header("Cookie", &session)
        .send()
        .await?
        .text()
        .await?;
    assert!(
        backpack.contains("data-assertion="),
        "Ada's badge is in her backpack: {backpack}"
    );
    assert_eq!(
        http.post(&action)
            .header("Origin", stack.url(Service::LmsAdapter))
            .form(&[("token", &hand_off)])
            .send()
            .await?
            .status(),
        401,
        "a hand-off works once"
    );
    // Replaying the same launch: the state is spent.
    let (status, body) = launch(&stack, &http, &good, &token, None).await?;
    assert_eq!(status, 401, "{body}");
    assert!(body.contains("state_invalid"), "{body}");

    // ---- Every bad id_token is refused. A forger returns either a finished
    // token or claims (JSON) that the platform's own key then signs.
    let impostor = RsaSigner::from_pkcs8_der(&generate_rsa_2048()?)?;
    let public_pem = key1.public().pem.clone();
    type Forge = Box<dyn Fn(&Platform, &str) -> String>;
    let mallory = |p: &Platform, n: &str| claims(p, n, "LtiResourceLinkRequest", "sub-mallory", "mallory@example.edu");
    let mut all_cases: Vec<(&str, &str, Forge)> = vec![
        (
            "alg none",
            "id_token_alg",
            Box::new(move |p: &Platform, n: &str| {
                format!("{}.{}.", b64(&json!({"alg": "none", "kid": "p1"})), b64(&mallory(p, n)))
            }),
        ),
        (
            "HS256 with the public key as secret",
            "id_token_alg",
            Box::new(move |p: &Platform, n: &str| {
                let mut h = jsonwebtoken::Header::new(Algorithm::HS256);
                h.kid = Some("p1".into());
                jsonwebtoken::encode(
                    &h,
                    &mallory(p, n),
                    &jsonwebtoken::EncodingKey::from_secret(public_pem.as_bytes()),
                )
                .unwrap()
            }),
        ),
        (
            "unknown kid",
            "id_token_key",
            Box::new(move |p: &Platform, n: &str| {
                let k = RsaSigner::from_pkcs8_der(&generate_rsa_2048().unwrap()).unwrap();
                k.sign_jws(Some("p-unknown"), Some("JWT"), &mallory(p, n)).unwrap()
            }),
        ),
    ];
    type Edit = fn(&mut Value, i64);
    let edits: Vec<(&str, &str, Edit)> = vec![
        ("expired", "id_token_expired", |c, now| {
            c["iat"] = json!(now - 400);
            c["exp"] = json!(now - 120);
        }),
        ("iat in the future", "id_token_iat", |c, now| {
            c["iat"] = json!(now + 600);
        }),
        ("wrong aud", "id_token_aud", |c, _| {
            c["aud"] = json!("another-tool");
        }),
        ("several audiences, no azp", "id_token_azp", |c, _| {
            c["aud"] = json!(["akashi-client", "another-tool"]);
        }),
        ("wrong azp", "id_token_azp", |c, _| {
            c["azp"] = json!("another-tool");
        }),
        ("wrong iss", "id_token_iss", |c, _| {
            c["iss"] = json!("https://evil.example");
        }),
        ("wrong nonce", "id_token_nonce", |c, _| {
            c["nonce"] = json!("not-the-nonce");
        }),
        ("unknown deployment", "id_token_deployment", |c, _| {
            c[format!("{CLAIM}deployment_id")] = json!("dep-9");
        }),
        ("wrong version", "id_token_version", |c, _| {
            c[format!("{CLAIM}version")] = json!("1.1.0");
        }),
        ("no message type", "id_token_message_type", |c, _| {
            c.as_object_mut().unwrap().remove(&format!("{CLAIM}message_type"));
        }),
        ("no resource link", "id_token_resource_link", |c, _| {
            c.as_object_mut().unwrap().remove(&format!("{CLAIM}resource_link"));
        }),
    ];
    for (name, code, edit) in edits {
        all_cases.push((
            name,
            code,
            Box::new(move |p: &Platform, n: &str| {
                let mut c = mallory(p, n);
                edit(&mut c, chrono::Utc::now().timestamp());
                c.to_string()
            }),
        ));
    }
    for (name, code, forge) in &all_cases {
        let (_, l, _) = login(&stack, &http, &platform, &[]).await?;
        let raw = forge(&platform, &l.nonce);
        // Claims from `signed_case` come back as JSON: sign them with the platform's key.
        let token = if raw.starts_with('{') {
            key1.sign_jws(Some("p1"), Some("JWT"), &serde_json::from_str::<Value>(&raw)?)?
        } else {
            raw
        };
        let (status, body) = launch(&stack, &http, &l, &token, None).await?;
        assert_eq!(status, 401, "{name}: {body}");
        assert!(body.contains(code), "{name}: expected {code}, got {body}");
    }
    // A bad signature: another key under the platform's kid.
    let (_, l, _) = login(&stack, &http, &platform, &[]).await?;
    let forged = impostor.sign_jws(
        Some("p1"),
        Some("JWT"),
        &claims(
            &platform,
            &l.nonce,
            "LtiResourceLinkRequest",
            "sub-mallory",
            "mallory@example.edu",
        ),
    )?;
    let (status, body) = launch(&stack, &http, &l, &forged, None).await?;
    assert!(status == 401 && body.contains("id_token_signature"), "{body}");
    // A replayed nonce: Ada's spent token under a fresh state.
    let (_, l, _) = login(&stack, &http, &platform, &[]).await?;
    let (status, body) = launch(&stack, &http, &l, &token, None).await?;
    assert!(
        status == 401 && body.contains("id_token_nonce"),
        "replayed nonce: {body}"
    );
    // A bad state, a state bound to another browser, and no binding at all.
    let (_, mut l, _) = login(&stack, &http, &platform, &[]).await?;
    let fine = key1.sign_jws(
        Some("p1"),
        Some("JWT"),
        &claims(
            &platform,
            &l.nonce,
            "LtiResourceLinkRequest",
            "sub-ada",
            "ada@example.edu",
        ),
    )?;
    let real_state = l.state.clone();
    l.state = "made-up-state".into();
    let (status, body) = launch(&stack, &http, &l, &fine, None).await?;
    assert!(status == 401 && body.contains("state_invalid"), "{body}");
    l.state = real_state;
    let real_cookie = l.cookie.clone();
    l.cookie = real_cookie
        .as_ref()
        .map(|c| format!("{}=tampered", c.split('=').next().unwrap()));
    let (status, body) = launch(&stack, &http, &l, &fine, None).await?;
    assert!(status == 401 && body.contains("state_unbound"), "{body}");
    l.cookie = None;
    let (status, body) = launch(&stack, &http, &l, &fine, None).await?;
    assert!(status == 401 && body.contains("state_unbound"), "{body}");
    l.cookie = real_cookie;
    assert_eq!(
        launch(&stack, &http, &l, &fine, None).await?.0,
        200,
        "the state survived the refused attempts"
    );
    // An unknown platform cannot even log in.
    let lms_login = format!("{lms}/lti/login");
    let r = http
        .get(&lms_login)
        .query(&[
            ("iss", "https://unknown.example"),
            ("login_hint", "x"),
            ("target_link_uri", &format!("{lms}/lti/launch")),
        ])
        .send()
        .await?;
    assert_eq!(r.status(), 400);
    // The accepted launch's role is kept for rule filters, by its short name.
    assert_eq!(
        stack
            .count(
                Service::LmsAdapter,
                "SELECT count(*) AS n FROM learner_attributes WHERE email = 'ada@example.edu' AND roles = ARRAY['Learner']"
            )
            .await?,
        1
    );
    // Nothing was learned from refused launches.
    assert_eq!(
        stack
            .count(
                Service::LmsAdapter,
                "SELECT count(*) AS n FROM learner_identities WHERE email = 'mallory@example.edu'"
            )
            .await?,
        0
    );

    // ---- Third-party cookies blocked: the platform's postMessage storage.
    let (status, l, page) = login(&stack, &http, &platform, &[("lti_storage_target", "_parent")]).await?;
    assert_eq!(status, 200);
    // The page carries its values as data attributes and its script as a
    // file of the tool's (no inline script: the CSP allows 'self' only).
    assert!(page.contains(r#"data-mode="put""#), "{page}");
    assert!(!page.contains("<script>"), "{page}");
    let script_url = html_text(&between(&page, "<script src=\"", "\"").expect("the storage script"));
    let script = http.get(&script_url).send().await?.text().await?;
    assert!(
        script.contains("lti.put_data") && script.contains("lti.get_data"),
        "{script}"
    );
    let binding = html_text(&between(&page, "data-value=\"", "\"").expect("binding in page"));
    let no_cookie = Login { cookie: None, ..l };
    let token = key1.sign_jws(
        Some("p1"),
        Some("JWT"),
        &claims(
            &platform,
            &no_cookie.nonce,
            "LtiResourceLinkRequest",
            "sub-ada",
            "ada@example.edu",
        ),
    )?;
    let (status, page) = launch(&stack, &http, &no_cookie, &token, None).await?;
    assert_eq!(status, 200);
    assert!(
        page.contains(r#"data-mode="get""#),
        "the launch fetches the binding from the platform: {page}"
    );
    let (status, _) = launch(&stack, &http, &no_cookie, &token, Some("not-the-binding")).await?;
    assert_eq!(status, 401);
    let (status, page) = launch(&stack, &http, &no_cookie, &token, Some(&binding)).await?;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("data-award="));

    // ---- The platform rotates its key: an unknown kid is fetched once.
    let key2 = RsaSigner::from_pkcs8_der(&generate_rsa_2048()?)?;
    platform.jwks.lock().unwrap()["keys"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::to_value(key2.public().jwk("p2"))?);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (_, l, _) = login(&stack, &http, &platform, &[]).await?;
    let token = key2.sign_jws(
        Some("p2"),
        Some("JWT"),
        &claims(
            &platform,
            &l.nonce,
            "LtiResourceLinkRequest",
            "sub-ada",
            "ada@example.edu",
        ),
    )?;
    assert_eq!(
        launch(&stack, &http, &l, &token, None).await?.0,
        200,
        "the new key verifies after one refetch"
    );

    // ---- Deep linking: the instructor places a badge.
    let (_, l, _) = login(&stack, &http, &platform, &[]).await?;
    let token = key1.sign_jws(
        Some("p1"),
        Some("JWT"),
        &claims(
            &platform,
            &l.nonce,
            "LtiDeepLinkingRequest",
            "sub-teacher",
            "teacher@example.edu",
        ),
    )?;
    let (status, page) = launch(&stack, &http, &l, &token, None).await?;
    assert_eq!(status, 200, "{page}");
    let session = between(&page, "name=\"session\" value=\"", "\"").expect("a deep link session");
    assert!(page.contains(&seed.badge_class_id));
    let r = http
        .post(format!("{lms}/lti/deep-link"))
        .form(&[("session", session.as_str()), ("choice", seed.badge_class_id.as_str())])
        .send()
        .await?;
    let autopost = r.text().await?;
    assert!(
        autopost.contains(&format!("action=\"{}/deep-link-return\"", platform.base)),
        "{autopost}"
    );
    let jwt = between(&autopost, "name=\"JWT\" value=\"", "\"").expect("the signed response");
    let tool_jwks: jsonwebtoken::jwk::JwkSet = stack.http.get(format!("{lms}/lti/jwks")).send().await?.json().await?;
    assert_eq!(tool_jwks.keys.len(), 1);
    let header = jsonwebtoken::decode_header(&jwt)?;
    let mut v = Validation::new(Algorithm::RS256);
    v.set_audience(&[platform.base.as_str()]);
    v.set_issuer(&["akashi-client"]);
    let response = jsonwebtoken::decode::<Value>(
        &jwt,
        &DecodingKey::from_jwk(tool_jwks.find(header.kid.as_deref().unwrap()).unwrap())?,
        &v,
    )?
    .claims;
    assert_eq!(response[format!("{CLAIM}message_type")], "LtiDeepLinkingResponse");
    assert_eq!(response[format!("{CLAIM}version")], "1.3.0");
    assert_eq!(response[format!("{CLAIM}deployment_id")], "dep-1");
    assert_eq!(
        response["https://purl.imsglobal.org/spec/lti-dl/claim/data"],
        "opaque-42"
    );
    let item = &response["https://purl.imsglobal.org/spec/lti-dl/claim/content_items"][0];
    assert_eq!(item["type"], "ltiResourceLink");
    assert_eq!(item["custom"]["akashi_badge_class_id"], json!(seed.badge_class_id));
    let again = http
        .post(format!("{lms}/lti/deep-link"))
        .form(&[("session", session.as_str()), ("choice", "my_badges")])
        .send()
        .await?;
    assert_eq!(again.status(), 401, "a deep link session is single-use");

    // ---- AGS + NRPS: a score ≥ 0.9 on the exam earns the badge.
    let r = stack
        .admin(Method::POST, format!("{lms}/admin/rules"))
        .json(&json!({"course_id": "DEMO-101", "badge_class_id": seed.badge_class_id,
            "activity_id": format!("{}/lineitems/7", platform.base), "min_grade": 0.9}))
        .send()
        .await?;
    assert_eq!(r.status(), 201);
    let sync = |body: Value| {
        stack
            .admin(Method::POST, format!("{lms}/admin/lti/platforms/{platform_id}/sync"))
            .json(&body)
            .send()
    };
    // A context the platform never launched the tool in: said so, not an empty success.
    let unknown = sync(json!({"context_id": "NEVER-LAUNCHED"})).await?;
    assert_eq!(unknown.status(), 404);
    assert_eq!(unknown.json::<Value>().await?["error"]["code"], "context_unknown");
    let report: Value = sync(json!({"context_id": "DEMO-101"})).await?.json().await?;
    assert_eq!(report["errors"], json!([]), "{report}");
    assert_eq!(
        platform.assertion_failures.load(Ordering::SeqCst),
        0,
        "the platform accepted the client assertion"
    );
    assert_eq!(
        report["members_mapped"], 2,
        "active members with e-mail, across two pages: {report}"
    );
    assert_eq!(report["results_read"], 3, "results across two pages: {report}");
    // Ada (0.92) and Cy (0.95) pass, not Bob (0.5) — but Ada already holds
    // this badge class (the launch's course earned it): a second rule that
    // awards the same class does not give her a second copy.
    assert_eq!(report["awards_requested"], 1, "Cy only: {report}");
    stack
        .wait_for_awards("cy@example.edu", 1, Duration::from_secs(20))
        .await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        stack.awards("ada@example.edu").await?.len(),
        1,
        "one badge of one class"
    );
    let again: Value = sync(json!({})).await?.json().await?;
    assert_eq!(
        (again["events_recorded"].as_u64(), again["awards_requested"].as_u64()),
        (Some(0), Some(0)),
        "{again}"
    );
    assert_eq!(
        platform.token_calls.load(Ordering::SeqCst),
        2,
        "one token per scope set, cached"
    );
    assert_eq!(stack.awards("bob@example.edu").await?.len(), 0);
    // The roster's roles feed rule filters too.
    assert_eq!(
        stack
            .count(
                Service::LmsAdapter,
                "SELECT count(*) AS n FROM learner_attributes WHERE email = 'cy@example.edu' AND roles = ARRAY['Learner']"
            )
            .await?,
        1
    );

    // ---- Tool key rotation: both keys published, the new one signs.
    let rotated: Value = stack
        .admin(Method::POST, format!("{lms}/admin/lti/keys/rotate"))
        .send()
        .await?
        .json()
        .await?;
    let jwks: Value = stack.http.get(format!("{lms}/lti/jwks")).send().await?.json().await?;
    assert_eq!(jwks["keys"].as_array().map(Vec::len), Some(2));
    assert_eq!(jwks["keys"][0]["kid"], rotated["kid"]);

    // ---- Dynamic registration from a one-time link.
    let link: Value = stack
        .admin(Method::POST, format!("{lms}/admin/lti/registration-links"))
        .json(&json!({}))
        .send()
        .await?
        .json()
        .await?;
    let url = link["url"].as_str().unwrap().to_string();
    let config = format!("{}/.well-known/openid-configuration", platform.base);
    let r = http
        .get(&url)
        .query(&[
            ("openid_configuration", config.as_str()),
            ("registration_token", "reg-token-1"),
        ])
        .send()
        .await?;
    assert_eq!(r.status(), 200);
    let registered = r.text().await?;
    let script_url = html_text(&between(&registered, "<script src=\"", "\"").expect("the closing script"));
    let script = http.get(&script_url).send().await?.text().await?;
    assert!(script.contains("org.imsglobal.lti.close"), "{script}");
    let sent = platform.registrations.lock().unwrap()[0].clone();
    assert_eq!(sent["initiate_login_uri"], json!(format!("{lms}/lti/login")));
    assert_eq!(sent["jwks_uri"], json!(format!("{lms}/lti/jwks")));
    assert_eq!(sent["token_endpoint_auth_method"], "private_key_jwt");
    let platforms: Value = stack
        .admin(Method::GET, format!("{lms}/admin/lti/platforms"))
        .send()
        .await?
        .json()
        .await?;
    let dynamic = platforms
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["client_id"] == "dyn-client")
        .expect("registered");
    assert_eq!(dynamic["deployment_ids"], json!(["dyn-dep"]));
    assert_eq!(dynamic["user_source"], "moodle", "guessed from the product family");
    let reused = http
        .get(&url)
        .query(&[
            ("openid_configuration", config.as_str()),
            ("registration_token", "reg-token-1"),
        ])
        .send()
        .await?;
    assert_eq!(reused.status(), 401, "a registration link is single-use");
    let forged = http
        .get(format!("{lms}/lti/register"))
        .query(&[("openid_configuration", config.as_str()), ("akashi_token", "akt_guess")])
        .send()
        .await?;
    assert_eq!(forged.status(), 401);
    Ok(())
}
