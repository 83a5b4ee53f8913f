//! The earner's path end to end: the award mail arrives at a real SMTP
//! server (aiosmtpd); the earner asks for a sign-in link, gets it by mail,
//! signs in, sees the badge in the backpack, downloads the baked PNG that
//! openbadges-bakery and the 1EdTech validator accept, shares it on a public
//! profile and in a collection; and a scripted OB 3.0 API client registers,
//! is authorized with PKCE, posts a credential and reads page 2.

use std::time::Duration;

use akashi_e2e::smtp::{readable, start_sink, wait_for_mails};
use akashi_e2e::{Service, Stack, ob2_validator_on_image, pdf_text, unbake};
use base64::Engine;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

fn cookie_of(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with(&format!("{name}=")))
        .and_then(|c| c.split(';').next())
        .map(str::to_owned)
}

/// The value of a page's hidden form field `name` (as a browser would send it).
fn hidden_field(page: &str, name: &str) -> Option<String> {
    let marker = format!(r#"name="{name}" value=""#);
    let start = page.find(&marker)? + marker.len();
    let value = &page[start..start + page[start..].find('"')?];
    Some(value.replace("&amp;", "&"))
}

/// Registers an app, has the signed-in earner approve it (PKCE) and
/// returns its access token.
async fn app_token(http: &reqwest::Client, host: &str, session: &str, scopes: &str) -> anyhow::Result<String> {
    let redirect = "http://127.0.0.1:9/callback";
    let client: Value = http
        .post(format!("{host}/ims/ob/v3p0/register"))
        .json(&json!({"client_name": "Moodle backpack export", "redirect_uris": [redirect], "scope": scopes}))
        .send()
        .await?
        .json()
        .await?;
    let client_id = client["client_id"].as_str().expect("registered").to_string();
    let verifier = "another-verifier-of-sufficient-length-0123456789";
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    let mut form = vec![
        ("response_type", "code"),
        ("client_id", client_id.as_str()),
        ("redirect_uri", redirect),
        ("scope", scopes),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    // As a browser: the consent page, then its form with the page's CSRF token.
    let page = http
        .get(format!("{host}/ims/ob/v3p0/authorize"))
        .query(&form)
        .header("Cookie", session)
        .send()
        .await?
        .text()
        .await?;
    let csrf = hidden_field(&page, "csrf").expect("the consent form's CSRF token");
    form.push(("decision", "approve"));
    form.push(("csrf", csrf.as_str()));
    let r = http
        .post(format!("{host}/ims/ob/v3p0/authorize"))
        .form(&form)
        .header("Cookie", session)
        .header("Origin", host)
        .send()
        .await?;
    let code = query_of(r.headers().get("location").unwrap().to_str()?, "code").expect("a code");
    let basic = base64::engine::general_purpose::STANDARD
        .encode(format!("{client_id}:{}", client["client_secret"].as_str().unwrap()));
    let tokens: Value = http
        .post(format!("{host}/ims/ob/v3p0/token"))
        .header("Authorization", format!("Basic {basic}"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", redirect),
            ("code_verifier", verifier),
        ])
        .send()
        .await?
        .json()
        .await?;
    Ok(tokens["access_token"].as_str().expect("a token").to_string())
}

fn query_of(location: &str, key: &str) -> Option<String> {
    url::Url::parse(location)
        .ok()?
        .query_pairs()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_earner_signs_in_sees_downloads_shares_and_an_app_reads_the_backpack() -> anyhow::Result<()> {
    let mut stack = Stack::start().await?;
    stack.seed().await?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let dir = std::env::temp_dir().join(format!("akashi-earner-{}", uuid::Uuid::new_v4()));
    let _sink = start_sink(port, &dir)?;
    stack.set_env(
        Service::Display,
        "AKASHI_DISPLAY_MAIL__SMTP_URL",
        &format!("smtp://127.0.0.1:{port}"),
    );
    stack.restart(Service::Display).await?;
    let host = stack.url(Service::Host);
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let email = "sora@example.ac.jp";

    // ---- The award, and its mail.
    let award = stack.complete_course("evt-earner-1", email, "DEMO-101").await?;
    let award_id = award["award_id"].as_str().unwrap().to_string();
    let first = wait_for_mails(&dir, 1, Duration::from_secs(30)).await?;
    assert!(readable(&first[0]).contains(&format!("X-Akashi-Mail: {award_id}.issued")));

    // ---- Sign in by e-mail link.
    let r = http
        .post(format!("{host}/signin"))
        .header("Origin", &host)
        .form(&[("email", email), ("lang", "ja")])
        .send()
        .await?;
    assert_eq!(r.status(), 200);
    assert!(r.text().await?.contains("id=\"sent\""));
    let found = wait_for_mails(&dir, 2, Duration::from_secs(30)).await?;
    let signin_mail = readable(found.iter().find(|m| m.contains(".signin")).expect("a sign-in mail"));
    let link = signin_mail
        .split_whitespace()
        .find(|w| w.starts_with(&format!("{host}/signin/")))
        .expect("the link in the mail")
        .to_string();
    // Opening the link (as a mail scanner would) does not use it up.
    assert_eq!(http.get(&link).send().await?.status(), 200);
    let used = http
        .post(link.split('?').next().unwrap())
        .header("Origin", &host)
        .send()
        .await?;
    assert_eq!(used.status(), 303);
    assert_eq!(used.headers().get("location").unwrap(), "/backpack");
    let session = cookie_of(&used, "akashi_session").expect("a session cookie");
    assert_eq!(
        http.post(link.split('?').next().unwrap())
            .header("Origin", &host)
            .send()
            .await?
            .status(),
        401,
        "a sign-in link works once"
    );
    assert_eq!(
        http.get(format!("{host}/backpack")).send().await?.status(),
        303,
        "no session: to sign in"
    );

    // ---- The backpack lists the badge; its baked PNG passes the judges.
    let page = http
        .get(format!("{host}/backpack?lang=ja"))
        .header("Cookie", &session)
        .send()
        .await?
        .text()
        .await?;
    assert!(page.contains(&format!("data-assertion=\"{award_id}\"")), "{page}");
    assert!(page.contains("バックパック"));
    assert!(
        page.contains("データサイエンス入門"),
        "the badge's Japanese name on the Japanese backpack"
    );
    let badges: Value = http
        .get(format!("{host}/backpack/api/badges"))
        .header("Cookie", &session)
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(badges.as_array().map(Vec::len), Some(1));
    assert_eq!(badges[0]["public"], false, "private until the earner says otherwise");
    let png = http
        .get(badges[0]["image"].as_str().unwrap())
        .send()
        .await?
        .bytes()
        .await?
        .to_vec();
    let baked = tokio::task::spawn_blocking({
        let png = png.clone();
        move || unbake(&png, "png")
    })
    .await??
    .expect("openbadges-bakery finds the assertion");
    let baked_id = serde_json::from_str::<Value>(&baked)
        .ok()
        .and_then(|v| v["id"].as_str().map(str::to_owned))
        .unwrap_or(baked);
    assert_eq!(baked_id, format!("{host}/ob2/assertions/{award_id}"));
    let png_for_import = png.clone();
    let verdict =
        tokio::task::spawn_blocking(move || ob2_validator_on_image(&png, "png", Some("sora@example.ac.jp"))).await??;
    assert_eq!(verdict["valid"], true, "1EdTech validator: {verdict:#}");

    // ---- Imports are verified first, and must be the earner's own.
    let import = |body: serde_json::Value| {
        http.post(format!("{host}/backpack/api/import"))
            .header("Cookie", &session)
            .json(&body)
            .send()
    };
    let hosted_url = format!("{host}/ob2/assertions/{award_id}");
    let r = import(json!({"url": hosted_url})).await?;
    assert_eq!(r.status(), 201);
    assert_eq!(r.json::<Value>().await?["format"], "ob2-hosted");
    assert_eq!(import(json!({"url": hosted_url})).await?.status(), 200, "already there");
    let other = stack
        .complete_course("evt-earner-2", "kai@example.ac.jp", "DEMO-101")
        .await?;
    let other_url = format!("{host}/ob2/assertions/{}", other["award_id"].as_str().unwrap());
    stack.wait_for_status(&other_url, 200, Duration::from_secs(20)).await?;
    let r = import(json!({"url": other_url})).await?;
    assert_eq!(r.status(), 422);
    let refusal: Value = r.json().await?;
    assert_eq!(refusal["error"]["code"], "import_not_yours", "{refusal}");
    assert_eq!(refusal["report"]["recipient"]["matched"], false);
    let vcjwt = stack
        .http
        .get(award["formats"]["ob3_vcjwt"].as_str().unwrap())
        .header("Accept", "application/jwt")
        .send()
        .await?
        .text()
        .await?;
    let mut parts: Vec<String> = vcjwt.split('.').map(str::to_owned).collect();
    let mut claims: Value =
        serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(&parts[1])?)?;
    claims["name"] = json!("Forged name");
    parts[1] = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(claims.to_string());
    let r = import(json!({"jwt": parts.join(".")})).await?;
    assert_eq!(r.status(), 422);
    assert_eq!(r.json::<Value>().await?["error"]["code"], "import_not_valid");
    let r = import(json!({"jwt": vcjwt})).await?;
    assert_eq!(r.status(), 201, "the genuine VC-JWT");
    let upload = reqwest::multipart::Form::new().part(
        "image",
        reqwest::multipart::Part::bytes(png_for_import.clone())
            .file_name("badge.png")
            .mime_str("image/png")?,
    );
    let r = http
        .post(format!("{host}/backpack/api/import"))
        .header("Cookie", &session)
        .multipart(upload)
        .send()
        .await?;
    assert_eq!(r.status(), 200, "the baked PNG is the hosted badge imported above");
    let page = http
        .get(format!("{host}/backpack"))
        .header("Cookie", &session)
        .send()
        .await?
        .text()
        .await?;
    assert!(
        page.contains("ob2-hosted") && page.contains("ob3-vcjwt"),
        "imports listed: {page}"
    );
    let backpack_csrf = hidden_field(&page, "csrf").expect("the backpack's forms carry a CSRF token");

    // ---- Sharing: the profile and a collection are public only when made so.
    let slug = page
        .split("/earners/")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("profile link")
        .to_string();
    assert_eq!(http.get(format!("{host}/earners/{slug}")).send().await?.status(), 404);
    let r = http
        .put(format!("{host}/backpack/api/badges/{award_id}"))
        .header("Cookie", &session)
        .json(&json!({"public": true}))
        .send()
        .await?;
    assert_eq!(r.status(), 204);
    assert_eq!(
        http.post(format!("{host}/backpack/profile"))
            .header("Cookie", &session)
            .header("Origin", &host)
            .form(&[("profile_public", "true"), ("csrf", backpack_csrf.as_str())])
            .send()
            .await?
            .status(),
        303
    );
    let profile = http.get(format!("{host}/earners/{slug}")).send().await?.text().await?;
    assert!(profile.contains(&format!("data-assertion=\"{award_id}\"")), "{profile}");
    assert!(!profile.contains(email), "the public profile does not show the address");

    // ---- The earner keeps their name off their badge's pages, then shows it again.
    let badge_page = format!("{}/badges/{award_id}?lang=en", stack.url(Service::Display));
    let name_shown = |page: &str| page.contains("Test Learner");
    let page = http.get(&badge_page).send().await?.text().await?;
    assert!(
        name_shown(&page),
        "the LMS's name is on the page until the earner hides it"
    );
    for (hide, shown) in [("true", false), ("false", true)] {
        let r = http
            .post(format!("{host}/backpack/profile"))
            .header("Cookie", &session)
            .header("Origin", &host)
            .form(&[("hide_name", hide), ("csrf", backpack_csrf.as_str())])
            .send()
            .await?;
        assert_eq!(r.status(), 303);
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        loop {
            let page = http.get(&badge_page).send().await?.text().await?;
            if name_shown(&page) == shown {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "hide_name={hide} never reached the badge page"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let certificate = http
            .get(format!(
                "{}/badges/{award_id}/certificate.pdf?lang=en",
                stack.url(Service::Display)
            ))
            .send()
            .await?
            .bytes()
            .await?;
        let text = tokio::task::spawn_blocking(move || pdf_text(&certificate)).await??;
        assert_eq!(
            text.contains("Test Learner"),
            shown,
            "the certificate follows the page: {text}"
        );
        let backpack = http
            .get(format!("{host}/backpack?lang=en"))
            .header("Cookie", &session)
            .send()
            .await?
            .text()
            .await?;
        let button = if shown {
            "Hide my name on my badge pages"
        } else {
            "Show my name on my badge pages"
        };
        assert!(backpack.contains(button), "{backpack}");
    }
    let stranger = uuid::Uuid::new_v4();
    let r = http
        .post(format!("{host}/backpack/api/collections"))
        .header("Cookie", &session)
        .json(&json!({"name": "Data science", "public": true, "assertion_ids": [award_id, stranger]}))
        .send()
        .await?;
    assert_eq!(r.status(), 422, "only the earner's own badges");
    let r = http
        .post(format!("{host}/backpack/api/collections"))
        .header("Cookie", &session)
        .json(&json!({"name": "Data science", "public": true, "assertion_ids": [award_id]}))
        .send()
        .await?;
    assert_eq!(r.status(), 201);
    let collection: Value = r.json().await?;
    let shown = http
        .get(collection["url"].as_str().unwrap())
        .send()
        .await?
        .text()
        .await?;
    assert!(shown.contains(&format!("data-assertion=\"{award_id}\"")) && shown.contains("Data science"));

    // ---- A scripted OB 3.0 API client.
    let discovery: Value = http
        .get(format!("{host}/ims/ob/v3p0/discovery"))
        .send()
        .await?
        .json()
        .await?;
    let flow = &discovery["components"]["securitySchemes"]["OAuth2ACG"];
    let registration_url = flow["x-imssf-registrationUrl"].as_str().unwrap().to_string();
    let authorize_url = flow["flows"]["authorizationCode"]["authorizationUrl"]
        .as_str()
        .unwrap()
        .to_string();
    let token_url = flow["flows"]["authorizationCode"]["tokenUrl"]
        .as_str()
        .unwrap()
        .to_string();
    let redirect = "http://127.0.0.1:9/callback";
    let scopes = "https://purl.imsglobal.org/spec/ob/v3p0/scope/credential.readonly https://purl.imsglobal.org/spec/ob/v3p0/scope/credential.upsert https://purl.imsglobal.org/spec/ob/v3p0/scope/profile.readonly";
    let bad = http
        .post(&registration_url)
        .json(&json!({"client_name": "x", "redirect_uris": ["http://evil.example/cb"]}))
        .send()
        .await?;
    assert_eq!(bad.status(), 400, "plain http only to loopback");
    let client: Value = http
        .post(&registration_url)
        .json(
            &json!({"client_name": "Career Wallet", "client_uri": "https://wallet.example", "redirect_uris": [redirect],
            "scope": scopes, "token_endpoint_auth_method": "client_secret_basic",
            "grant_types": ["authorization_code", "refresh_token"], "response_types": ["code"]}),
        )
        .send()
        .await?
        .json()
        .await?;
    let client_id = client["client_id"].as_str().unwrap().to_string();
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD
            .encode(format!("{client_id}:{}", client["client_secret"].as_str().unwrap()))
    );
    let verifier = "k3yboard-cat-verifier-0123456789-abcdefghijklmnop";
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    let authorize = |with_challenge: bool| {
        let mut q = vec![
            ("response_type", "code".to_string()),
            ("client_id", client_id.clone()),
            ("redirect_uri", redirect.to_string()),
            ("scope", scopes.to_string()),
            ("state", "xyz-42".to_string()),
        ];
        if with_challenge {
            q.push(("code_challenge", challenge.clone()));
            q.push(("code_challenge_method", "S256".to_string()));
        }
        q
    };
    // Without PKCE the client is sent back with an error.
    let r = http
        .get(&authorize_url)
        .query(&authorize(false))
        .header("Cookie", &session)
        .send()
        .await?;
    let location = r.headers().get("location").unwrap().to_str()?.to_string();
    assert_eq!(query_of(&location, "error").as_deref(), Some("invalid_request"));
    // Not signed in: to the sign-in page, coming back here after.
    let r = http.get(&authorize_url).query(&authorize(true)).send().await?;
    assert!(
        r.headers()
            .get("location")
            .unwrap()
            .to_str()?
            .starts_with("/signin?next=%2Fims%2Fob%2Fv3p0%2Fauthorize")
    );
    let consent = http
        .get(&authorize_url)
        .query(&authorize(true))
        .header("Cookie", &session)
        .send()
        .await?;
    assert_eq!(consent.status(), 200);
    let consent = consent.text().await?;
    assert!(consent.contains("Career Wallet"));
    let csrf = hidden_field(&consent, "csrf").expect("the consent form's CSRF token");
    let mut form = authorize(true);
    form.push(("decision", "approve".to_string()));
    // Without the page's token, or from another site, nothing is approved.
    for (origin, token) in [
        ("http://evil.example", csrf.as_str()),
        ("null", csrf.as_str()),
        (host.as_str(), "forged"),
    ] {
        let mut forged = form.clone();
        forged.push(("csrf", token.to_string()));
        let r = http
            .post(&authorize_url)
            .form(&forged)
            .header("Cookie", &session)
            .header("Origin", origin)
            .send()
            .await?;
        assert_eq!(r.status(), 403, "{origin} / {token}");
    }
    form.push(("csrf", csrf.clone()));
    let r = http
        .post(&authorize_url)
        .form(&form)
        .header("Cookie", &session)
        .header("Origin", &host)
        .send()
        .await?;
    let location = r.headers().get("location").unwrap().to_str()?.to_string();
    assert!(location.starts_with(redirect), "{location}");
    assert_eq!(query_of(&location, "state").as_deref(), Some("xyz-42"));
    let code = query_of(&location, "code").expect("a code");
    let wrong = http
        .post(&token_url)
        .header("Authorization", &basic)
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", redirect),
            ("code_verifier", "w".repeat(43).as_str()),
        ])
        .send()
        .await?;
    assert_eq!(wrong.status(), 400, "a wrong verifier spends the code");
    let r = http
        .post(&authorize_url)
        .form(&form)
        .header("Cookie", &session)
        .header("Origin", &host)
        .send()
        .await?;
    let code = query_of(r.headers().get("location").unwrap().to_str()?, "code").unwrap();
    let tokens: Value = http
        .post(&token_url)
        .header("Authorization", &basic)
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", redirect),
            ("code_verifier", verifier),
        ])
        .send()
        .await?
        .json()
        .await?;
    let access = tokens["access_token"].as_str().expect("an access token").to_string();
    let replay = http
        .post(&token_url)
        .header("Authorization", &basic)
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", redirect),
            ("code_verifier", verifier),
        ])
        .send()
        .await?;
    assert_eq!(replay.status(), 400, "a code works once");
    let api = format!("{host}/ims/ob/v3p0");
    assert_eq!(http.get(format!("{api}/credentials")).send().await?.status(), 401);
    let profile: Value = http
        .get(format!("{api}/profile"))
        .bearer_auth(&access)
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(profile["email"], email);
    assert_eq!(
        http.put(format!("{api}/profile"))
            .bearer_auth(&access)
            .json(&json!({"name": "Sora"}))
            .send()
            .await?
            .status(),
        403,
        "no profile.update scope"
    );

    // POST a credential from elsewhere, twice: created, then replaced.
    let outside = json!({"@context": ["https://www.w3.org/ns/credentials/v2", "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"],
        "id": "urn:uuid:7f3c1b6e-1111-4a52-9a53-0c0f7a1c9e11", "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "issuer": {"id": "https://other.example/issuers/1", "type": ["Profile"], "name": "Other University"},
        "validFrom": "2026-01-01T00:00:00Z", "name": "Statistics 1",
        "credentialSubject": {"type": ["AchievementSubject"], "achievement": {"id": "https://other.example/a/1", "type": ["Achievement"],
            "name": "Statistics 1", "description": "d", "criteria": {"narrative": "n"}}}});
    let r = http
        .post(format!("{api}/credentials"))
        .bearer_auth(&access)
        .json(&outside)
        .send()
        .await?;
    assert_eq!(r.status(), 201);
    let r = http
        .post(format!("{api}/credentials"))
        .bearer_auth(&access)
        .json(&outside)
        .send()
        .await?;
    assert_eq!(r.status(), 200, "the same id replaces");
    let r = http
        .post(format!("{api}/credentials"))
        .bearer_auth(&access)
        .json(&json!({"id": "x", "type": ["VerifiableCredential"]}))
        .send()
        .await?;
    assert_eq!(r.status(), 400);
    assert_eq!(r.json::<Value>().await?["imsx_codeMajor"], "failure");

    // Page 2 of size 2: the posted credential; page 1: the VC-JWTs.
    let r = http
        .get(format!("{api}/credentials?limit=2&offset=2"))
        .bearer_auth(&access)
        .send()
        .await?;
    assert_eq!(r.status(), 200);
    // Akashi's credential, the imported VC-JWT (an OB 3.0 credential too;
    // the imported OB 2.0 badge is not) and the posted one.
    assert_eq!(r.headers().get("X-Total-Count").unwrap(), "3");
    let links = r.headers().get("Link").unwrap().to_str()?.to_string();
    assert!(
        links.contains("rel=\"prev\"") && !links.contains("rel=\"next\""),
        "{links}"
    );
    let page2: Value = r.json().await?;
    assert_eq!(page2["credential"][0]["id"], outside["id"]);
    let page1: Value = http
        .get(format!("{api}/credentials?limit=2&offset=0"))
        .bearer_auth(&access)
        .send()
        .await?
        .json()
        .await?;
    let jwt = page1["compactJwsString"][0]
        .as_str()
        .expect("Akashi's VC-JWT")
        .to_string();
    let hosted = stack
        .http
        .get(award["formats"]["ob3_vcjwt"].as_str().unwrap())
        .header("Accept", "application/jwt")
        .send()
        .await?
        .text()
        .await?;
    assert_eq!(jwt, hosted, "the API gives the credential host serves");
    // The refresh token turns once.
    let refresh = tokens["refresh_token"].as_str().unwrap();
    let renewed = http
        .post(&token_url)
        .header("Authorization", &basic)
        .form(&[("grant_type", "refresh_token"), ("refresh_token", refresh)])
        .send()
        .await?;
    assert_eq!(renewed.status(), 200);
    let again = http
        .post(&token_url)
        .header("Authorization", &basic)
        .form(&[("grant_type", "refresh_token"), ("refresh_token", refresh)])
        .send()
        .await?;
    assert_eq!(again.status(), 400);
    // ---- Badge Connect (OB 2.1), as Moodle exports badges to a backpack.
    let manifest: Value = http
        .get(format!("{host}/.well-known/badgeconnect.json"))
        .send()
        .await?
        .json()
        .await?;
    let api2 = manifest["badgeConnectAPI"][0]["apiBase"].as_str().unwrap().to_string();
    let scopes2 = manifest["badgeConnectAPI"][0]["scopesOffered"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect::<Vec<_>>()
        .join(" ");
    let token2 = app_token(&http, &host, &session, &scopes2).await?;
    let kai_assertion: Value = stack.http.get(&other_url).send().await?.json().await?;
    let r = http
        .post(format!("{api2}/assertions"))
        .bearer_auth(&token2)
        .json(&json!({"assertion": kai_assertion}))
        .send()
        .await?;
    assert_eq!(r.status(), 400, "another learner's badge is refused");
    let own: Value = stack.http.get(&hosted_url).send().await?.json().await?;
    let r = http
        .post(format!("{api2}/assertions"))
        .bearer_auth(&token2)
        .json(&json!({"assertion": own}))
        .send()
        .await?;
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await?["status"]["statusCode"], 200);
    let listed: Value = http
        .get(format!("{api2}/assertions"))
        .bearer_auth(&token2)
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(listed["status"]["statusCode"], 200);
    let ids: Vec<&str> = listed["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a["id"].as_str())
        .collect();
    assert!(ids.contains(&hosted_url.as_str()), "{listed}");
    let profile2: Value = http
        .get(format!("{api2}/profile"))
        .bearer_auth(&token2)
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(profile2["results"][0]["email"], email);
    assert_eq!(
        http.get(format!("{api2}/assertions"))
            .bearer_auth(&access)
            .send()
            .await?
            .status(),
        403,
        "an OB 3.0 token has no OB 2.1 scope"
    );
    Ok(())
}
