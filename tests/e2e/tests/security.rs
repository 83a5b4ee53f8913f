//! The security review's findings, replayed as attacks against the real
//! stack. Each attack has a positive control beside it (the genuine
//! credential verifies, the own-origin form goes through, …), so that no
//! test here can pass by refusing everything.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use akashi_e2e::{Service, Stack, html_text, no_redirects};
use akashi_ld::blockcerts::{Anchor, Receipt, certificate_target_hash};
use reqwest::Method;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const PNG_1X1: &str =
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==";

async fn json_of(r: reqwest::RequestBuilder) -> anyhow::Result<Value> {
    let r = r.send().await?;
    anyhow::ensure!(r.status().is_success(), "{} {}", r.status(), r.text().await?);
    Ok(r.json().await?)
}

/// Posts `body` to the verifier; answers the status code and the JSON.
async fn verify_raw(stack: &Stack, body: &Value) -> anyhow::Result<(u16, Value)> {
    let r = stack
        .http
        .post(format!("{}/verify", stack.url(Service::Verifier)))
        .json(body)
        .send()
        .await?;
    let status = r.status().as_u16();
    Ok((status, r.json().await.unwrap_or(Value::Null)))
}

async fn verdict(stack: &Stack, body: Value) -> anyhow::Result<String> {
    let (status, report) = verify_raw(stack, &body).await?;
    anyhow::ensure!(status == 200, "verify answered {status}: {report}");
    Ok(report["status"].as_str().unwrap_or_default().to_string())
}

fn check_outcome<'a>(report: &'a Value, id: &str) -> &'a str {
    report["checks"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["id"] == id))
        .and_then(|c| c["outcome"].as_str())
        .unwrap_or("absent")
}

/// What host serves at `url` for `accept`, once it serves it (host hears
/// of a new award over the bus, a moment after the issuer made it).
async fn hosted(stack: &Stack, url: &str, accept: &str) -> anyhow::Result<String> {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let r = stack.http.get(url).header("Accept", accept).send().await?;
        if r.status() == 200 {
            return Ok(r.text().await?);
        }
        anyhow::ensure!(std::time::Instant::now() < deadline, "{url} answered {}", r.status());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A tiny HTTP server on 127.0.0.1 (an attacker's site, as far as the
/// stack knows) answering `route(its base URL, path)`, counting requests.
struct Site {
    base: String,
    hits: Arc<AtomicUsize>,
}

async fn site(route: impl Fn(&str, &str) -> (u16, String) + Send + Sync + 'static) -> anyhow::Result<Site> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    let route = Arc::new(route);
    let site_base = base.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let counter = counter.clone();
            let route = route.clone();
            let site_base = site_base.clone();
            tokio::spawn(async move {
                let mut buffer = vec![0; 8192];
                let Ok(n) = socket.read(&mut buffer).await else { return };
                let request = String::from_utf8_lossy(&buffer[..n]).to_string();
                let path = request.split_whitespace().nth(1).unwrap_or("/").to_string();
                counter.fetch_add(1, Ordering::SeqCst);
                let (status, body) = route(&site_base, &path);
                let response = format!(
                    "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(response.as_bytes()).await;
            });
        }
    });
    Ok(Site { base, hits })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_certificate_of_any_format_is_never_valid() -> anyhow::Result<()> {
    let stack = Stack::start().await?;
    stack.seed().await?;
    let award = stack
        .complete_course("evt-sec-forge", "hana@example.ac.jp", "DEMO-101")
        .await?;
    let formats = award["formats"].clone();
    let host = stack.url(Service::Host);

    // ---- Blockcerts: the review's forgery (claim changed, target hash
    // recomputed, a receipt whose root is that hash, a mocknet anchor).
    let cert_url = format!("{host}/blockcerts/{}", award["award_id"].as_str().unwrap());
    let genuine: Value = stack
        .wait_for_status(&cert_url, 200, Duration::from_secs(20))
        .await?
        .json()
        .await?;
    assert_eq!(
        verdict(&stack, json!({"credential": genuine})).await?,
        "valid",
        "control"
    );
    assert_eq!(verdict(&stack, json!({"url": cert_url})).await?, "valid", "control");
    let forge = |mut certificate: Value| async move {
        certificate["name"] = json!("Doctor of Medicine");
        certificate["credentialSubject"]["claim"]["name"] = json!("Doctor of Medicine");
        let hash = certificate_target_hash(&certificate).await.expect("hashable");
        let receipt = Receipt {
            merkle_root: hash,
            target_hash: hash,
            path: vec![],
            anchors: vec![Anchor::Mocknet { txid: hash.to_vec() }],
        };
        certificate["proof"]["proofValue"] = json!(receipt.encode());
        certificate
    };
    let forged = forge(genuine.clone()).await;
    let (status, report) = verify_raw(&stack, &json!({"credential": forged})).await?;
    assert_eq!(status, 200);
    assert_ne!(report["status"], "valid", "{report:#}");
    assert_eq!(
        report["status"], "invalid",
        "the issuer's hosted copy differs: {report:#}"
    );
    assert_eq!(check_outcome(&report, "issuer_binding"), "failed", "{report:#}");
    // The same forgery claiming to live elsewhere: nothing binds it to the issuer.
    let mut elsewhere = genuine.clone();
    elsewhere["id"] = json!("https://attacker.example/certs/1.json");
    let elsewhere = forge(elsewhere).await;
    let (_, report) = verify_raw(&stack, &json!({"credential": elsewhere})).await?;
    assert_eq!(
        report["status"], "unknown",
        "unanchored (test chain), never valid: {report:#}"
    );
    // And as a link pasted into display's /verify page: the forgery hosted
    // on the attacker's own site, naming itself.
    let forgery_template = genuine.clone();
    let served = std::sync::Mutex::new(None::<String>);
    let forged_site = {
        let served = Arc::new(served);
        let template = forgery_template.clone();
        let cache = served.clone();
        let site = site(move |base, _path| {
            let body = cache.lock().unwrap().clone().unwrap_or_else(|| template.to_string());
            let _ = base;
            (200, body)
        })
        .await?;
        let mut own = forgery_template.clone();
        own["id"] = json!(format!("{}/cert.json", site.base));
        let own = forge(own).await;
        *served.lock().unwrap() = Some(own.to_string());
        site
    };
    let page = stack
        .http
        .post(format!("{}/verify?lang=en", stack.url(Service::Display)))
        .multipart(reqwest::multipart::Form::new().text("url", format!("{}/cert.json", forged_site.base)))
        .send()
        .await?
        .text()
        .await?;
    assert!(page.contains("data-status=\"unknown\""), "{page}");
    assert!(
        !page.contains("data-status=\"valid\""),
        "display calls the forgery valid"
    );
    assert!(
        forged_site.hits.load(Ordering::SeqCst) >= 1,
        "the verifier read the forgery"
    );

    // ---- OB 2.0 signed: the payload changed under the issuer's signature.
    let jws = hosted(&stack, formats["ob2_signed"].as_str().unwrap(), "application/jose").await?;
    assert_eq!(verdict(&stack, json!({"jwt": jws})).await?, "valid", "control");
    let tampered_jws = tamper_jwt(&jws, |payload| {
        payload["badge"] = json!("https://attacker.example/badge.json");
    });
    assert_eq!(verdict(&stack, json!({"jwt": tampered_jws})).await?, "invalid");

    // ---- OB 3.0 VC-JWT: the achievement renamed under the signature.
    let vc_jwt = hosted(&stack, formats["ob3_vcjwt"].as_str().unwrap(), "application/jwt").await?;
    assert_eq!(verdict(&stack, json!({"jwt": vc_jwt})).await?, "valid", "control");
    let tampered_vc = tamper_jwt(&vc_jwt, |payload| {
        let vc = if payload.get("vc").is_some() {
            &mut payload["vc"]
        } else {
            payload
        };
        vc["credentialSubject"]["achievement"]["name"] = json!("Doctor of Medicine");
    });
    assert_eq!(verdict(&stack, json!({"jwt": tampered_vc})).await?, "invalid");

    // ---- OB 3.0 Data Integrity: the JSON changed after signing.
    let di: Value =
        serde_json::from_str(&hosted(&stack, formats["ob3_di"].as_str().unwrap(), "application/json").await?)?;
    assert!(di["proof"].is_object(), "{di:#}");
    assert_eq!(verdict(&stack, json!({"credential": di})).await?, "valid", "control");
    let mut tampered_di = di.clone();
    tampered_di["credentialSubject"]["achievement"]["name"] = json!("Doctor of Medicine");
    assert_eq!(verdict(&stack, json!({"credential": tampered_di})).await?, "invalid");

    // ---- OB 2.0 hosted: a copy of the assertion hosted by someone else,
    // naming the real badge class and issuer.
    let assertion: Value =
        serde_json::from_str(&hosted(&stack, formats["ob2_hosted"].as_str().unwrap(), "application/ld+json").await?)?;
    assert_eq!(
        verdict(&stack, json!({"url": formats["ob2_hosted"]})).await?,
        "valid",
        "control"
    );
    let copy = assertion.clone();
    let attacker = site(move |base, path| {
        let mut copy = copy.clone();
        copy["id"] = json!(format!("{base}{path}"));
        copy["verification"] = json!({"type": "hosted"});
        (200, copy.to_string())
    })
    .await?;
    let forged_url = format!("{}/a.json", attacker.base);
    let report = stack.verify(&forged_url, None).await?;
    assert_eq!(
        report["status"], "invalid",
        "another origin cannot host the issuer's assertions: {report:#}"
    );
    assert!(attacker.hits.load(Ordering::SeqCst) >= 1, "the verifier read the copy");
    Ok(())
}

/// A compact JWS whose payload `change` edits, signature kept.
fn tamper_jwt(jws: &str, change: impl FnOnce(&mut Value)) -> String {
    use base64::Engine;
    let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let parts: Vec<&str> = jws.trim().split('.').collect();
    let mut payload: Value = serde_json::from_slice(&engine.decode(parts[1]).unwrap()).unwrap();
    change(&mut payload);
    format!(
        "{}.{}.{}",
        parts[0],
        engine.encode(serde_json::to_vec(&payload).unwrap()),
        parts[2]
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deep_blank_node_chain_is_refused_and_the_verifier_stays_up() -> anyhow::Result<()> {
    let stack = Stack::start().await?;
    stack.seed().await?;
    let award = stack
        .complete_course("evt-sec-chain", "kenji@example.ac.jp", "DEMO-101")
        .await?;
    let di: Value =
        serde_json::from_str(&hosted(&stack, award["formats"]["ob3_di"].as_str().unwrap(), "application/json").await?)?;
    assert_eq!(verdict(&stack, json!({"credential": di})).await?, "valid", "control");
    // The review's payload: issuer.parentOrg = _:b0 and 3,000 evidence
    // nodes, each the parent organisation of the next (~200 KB).
    let mut attack = di.clone();
    attack["issuer"]["parentOrg"] = json!("_:b0");
    attack["evidence"] = (0..3000)
        .map(|i| json!({"id": format!("_:b{i}"), "type": ["Profile"], "parentOrg": format!("_:b{}", i + 1)}))
        .collect();
    assert!(attack.to_string().len() < 512 * 1024);
    let (status, body) = verify_raw(&stack, &json!({"credential": attack})).await?;
    assert_eq!(status, 422, "{body:#}");
    assert_eq!(body["error"]["code"], "too_complex", "{body:#}");
    let health = stack
        .http
        .get(format!("{}/healthz", stack.url(Service::Verifier)))
        .send()
        .await?;
    assert_eq!(health.status(), 200, "the verifier is still up");
    assert_eq!(
        verdict(&stack, json!({"credential": di})).await?,
        "valid",
        "and still verifies"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_tenant_never_sees_or_awards_another_tenants_learners() -> anyhow::Result<()> {
    let stack = Stack::start().await?;
    let seed = stack.seed().await?;
    let (issuer, lms) = (stack.url(Service::Issuer), stack.url(Service::LmsAdapter));
    // Tenant A (the demo university) binds its LMS's source to itself.
    let bound: Value = json_of(
        stack
            .admin(Method::PUT, format!("{lms}/admin/webhook-sources/generic"))
            .json(&json!({"secrets": [stack.webhook_secret], "tenant": seed.issuer_id})),
    )
    .await?;
    assert_eq!(bound["tenant"], json!(seed.issuer_id));
    let a_learner = "a.student@a.example.ac.jp";
    // A's learners complete a course no rule names yet, and A's own.
    for (event, course) in [("evt-a-1", "A-PRIVATE-7"), ("evt-a-2", "DEMO-101")] {
        let r = stack
            .post_completion(&Stack::completion(event, a_learner, course))
            .await?;
        assert_eq!(r.status(), 202);
    }
    assert_eq!(
        stack
            .wait_for_awards(a_learner, 1, Duration::from_secs(30))
            .await?
            .len(),
        1,
        "control: A's rule awards"
    );

    // Tenant B with a badge class and an editor.
    let b: Value = json_of(stack.admin(Method::POST, format!("{issuer}/admin/issuers")).json(
        &json!({"name": "Tenant B College", "url": "https://b.example.ac.jp", "email": "badges@b.example.ac.jp"}),
    ))
    .await?;
    let b_id = b["id"].as_str().unwrap().to_string();
    let b_badge: Value = json_of(
        stack
            .admin(Method::POST, format!("{issuer}/admin/issuers/{b_id}/badge-classes"))
            .json(&json!({"name": "B Badge", "description": "d", "criteria": "c", "image_base64": PNG_1X1})),
    )
    .await?;
    let b_badge_id = b_badge["id"].as_str().unwrap().to_string();
    let editor: Value = json_of(
        stack
            .admin(Method::POST, format!("{issuer}/admin/tokens"))
            .json(&json!({"name": "b-editor", "role": "editor", "issuer_id": b_id})),
    )
    .await?;
    let editor = editor["token"].as_str().unwrap().to_string();
    let as_b = |method: Method, url: String| stack.http.request(method, url).bearer_auth(&editor);
    // The badge class and the token reach the lms-adapter over the bus.
    let mut answer = (0, Value::Null);
    for _ in 0..150 {
        let r = as_b(Method::POST, format!("{lms}/admin/rules"))
            .json(&json!({"badge_class_id": b_badge_id, "course_id": "DEMO-101"}))
            .send()
            .await?;
        answer = (r.status().as_u16(), r.json().await.unwrap_or(Value::Null));
        if answer.0 != 404 && answer.0 != 401 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // A course another tenant's rule names is that tenant's.
    assert_eq!(answer.0, 409, "{answer:?}");
    assert!(answer.1.to_string().contains("course_claimed"), "{answer:?}");
    assert!(
        !answer.1.to_string().contains("Akashi Demo University"),
        "names nothing of A"
    );

    // A course of A's source that no rule names yet: B may write a rule on
    // the id, but sees and awards nothing of A's.
    let rule: Value = json_of(
        as_b(Method::POST, format!("{lms}/admin/rules"))
            .json(&json!({"badge_class_id": b_badge_id, "course_id": "A-PRIVATE-7"})),
    )
    .await?;
    let rule_id = rule["id"].as_str().unwrap().to_string();
    let dry: Value = json_of(as_b(Method::POST, format!("{lms}/admin/rules/{rule_id}/dry-run"))).await?;
    assert_eq!(dry["would_award"].as_array().map(Vec::len), Some(0), "{dry:#}");
    assert!(!dry.to_string().contains(a_learner), "{dry:#}");
    let explain: Value = json_of(as_b(
        Method::GET,
        format!("{lms}/admin/rules/{rule_id}/explain?learner={a_learner}"),
    ))
    .await?;
    assert!(!explain.to_string().contains("evt-a-1"), "{explain:#}");
    assert_eq!(
        explain["events"].as_array().map(Vec::len).unwrap_or(0),
        0,
        "{explain:#}"
    );
    let applied: Value = json_of(as_b(Method::POST, format!("{lms}/admin/rules/{rule_id}/apply"))).await?;
    assert!(!applied.to_string().contains(a_learner), "{applied:#}");
    // A's learner completes it again: B's rule stays silent.
    let r = stack
        .post_completion(&Stack::completion("evt-a-3", a_learner, "A-PRIVATE-7"))
        .await?;
    assert_eq!(r.status(), 202);
    let decisions: Value = json_of(as_b(Method::GET, format!("{lms}/admin/decisions?rule_id={rule_id}"))).await?;
    assert!(!decisions.to_string().contains(a_learner), "{decisions:#}");
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        stack.awards(a_learner).await?.len(),
        1,
        "A's learner holds A's badge only"
    );

    // Control: the operator gives the source to B; B's learners' events
    // now reach B's rule (A's remain A's).
    json_of(
        stack
            .admin(Method::PUT, format!("{lms}/admin/webhook-sources/generic"))
            .json(&json!({"secrets": [stack.webhook_secret], "tenant": b_id})),
    )
    .await?;
    let b_learner = "b.student@b.example.ac.jp";
    let r = stack
        .post_completion(&Stack::completion("evt-b-1", b_learner, "A-PRIVATE-7"))
        .await?;
    assert_eq!(r.status(), 202);
    let b_awards = stack.wait_for_awards(b_learner, 1, Duration::from_secs(30)).await?;
    assert_eq!(b_awards[0]["badge_class"]["id"], json!(b_badge_id), "{b_awards:#?}");
    let dry: Value = json_of(as_b(Method::POST, format!("{lms}/admin/rules/{rule_id}/dry-run"))).await?;
    assert!(!dry.to_string().contains(a_learner), "{dry:#}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lti_registration_reaches_no_other_address_and_spends_its_link() -> anyhow::Result<()> {
    let stack = Stack::start().await?;
    let lms = stack.url(Service::LmsAdapter);
    // A listener on another loopback address, as an internal service would be.
    let internal = tokio::net::TcpListener::bind("127.0.0.2:0").await?;
    let internal_url = format!("http://{}/.well-known/openid-configuration", internal.local_addr()?);
    let link = |stack: &Stack| {
        let lms = lms.clone();
        let request = stack
            .admin(Method::POST, format!("{lms}/admin/lti/registration-links"))
            .json(&json!({}));
        async move {
            let link: Value = json_of(request).await?;
            let url = url::Url::parse(link["url"].as_str().unwrap())?;
            let token = url
                .query_pairs()
                .find(|(k, _)| k == "akashi_token")
                .map(|(_, v)| v.into_owned())
                .unwrap();
            anyhow::Ok(token)
        }
    };
    let register = |token: &str, config: &str| {
        stack
            .http
            .get(format!("{lms}/lti/register"))
            .query(&[
                ("akashi_token", token),
                ("openid_configuration", config),
                ("registration_token", "a"),
            ])
            .send()
    };
    let token = link(&stack).await?;
    let r = register(&token, &internal_url).await?;
    assert_eq!(r.status(), 400);
    let body = r.text().await?;
    assert!(body.contains("address policy"), "{body}");
    // Nothing reached the listener.
    let contacted = tokio::time::timeout(Duration::from_millis(500), internal.accept()).await;
    assert!(contacted.is_err(), "127.0.0.2 was contacted");
    // The link was spent by the failed attempt.
    let again = register(&token, &internal_url).await?;
    assert_eq!(again.status(), 401);

    // Open and closed ports (on an allowed address) read the same.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0")?;
        l.local_addr()?.port()
    };
    let open = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let open_port = open.local_addr()?.port();
    tokio::spawn(async move {
        while let Ok((socket, _)) = open.accept().await {
            drop(socket);
        }
    });
    let mut answers = Vec::new();
    for port in [closed, open_port] {
        let token = link(&stack).await?;
        let r = register(&token, &format!("http://127.0.0.1:{port}/x")).await?;
        assert_eq!(r.status(), 400);
        let body: Value = r.json().await?;
        answers.push(
            body["error"]["message"]
                .as_str()
                .unwrap_or_default()
                .replace(&port.to_string(), "PORT"),
        );
    }
    assert_eq!(answers[0], answers[1], "the error tells open from closed ports");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn image_bombs_are_refused_and_svg_is_kept_through_an_allow_list() -> anyhow::Result<()> {
    use base64::Engine;
    let stack = Stack::start().await?;
    let seed = stack.seed().await?;
    let issuer = stack.url(Service::Issuer);
    let upload = |name: &str, image: &[u8]| {
        stack
            .admin(
                Method::POST,
                format!("{issuer}/admin/issuers/{}/badge-classes", seed.issuer_id),
            )
            .json(&json!({"name": name, "description": "d", "criteria": "c",
                          "image_base64": base64::engine::general_purpose::STANDARD.encode(image)}))
            .send()
    };
    // 389 KB-class PNG declaring 20000×20000: refused from its header.
    let mut huge = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
    huge.extend_from_slice(&20_000u32.to_be_bytes());
    huge.extend_from_slice(&20_000u32.to_be_bytes());
    huge.extend_from_slice(&[8, 6, 0, 0, 0, 0, 0, 0, 0]);
    let r = upload("Huge", &huge).await?;
    assert_eq!(r.status(), 422, "{}", r.text().await?);
    // 1 KB of nested <use>: 10^5 copies once expanded.
    let mut bomb = String::from(
        r#"<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"><defs><rect id="l0" width="1" height="1"/>"#,
    );
    for level in 1..=5 {
        bomb.push_str(&format!(r#"<g id="l{level}">"#));
        for _ in 0..10 {
            bomb.push_str(&format!(r##"<use xlink:href="#l{}"/>"##, level - 1));
        }
        bomb.push_str("</g>");
    }
    bomb.push_str(r##"</defs><use xlink:href="#l5"/></svg>"##);
    let r = upload("Bomb", bomb.as_bytes()).await?;
    assert_eq!(r.status(), 422, "{}", r.text().await?);
    // Hostile SVG: kept only through the allow-list.
    let hostile = r#"<svg xmlns="http://www.w3.org/2000/svg" xmlns:h="http://www.w3.org/1999/xhtml" xmlns:xlink="http://www.w3.org/1999/xlink" width="64" height="64" onload="alert(1)"><h:script>alert(2)</h:script><a xlink:href="&#106;avascript:alert(3)"><rect width="9" height="9"/></a><foreignObject><h:div>x</h:div></foreignObject><circle id="keep" cx="32" cy="32" r="30" fill="teal"/></svg>"#;
    let created: Value = upload("Hostile", hostile.as_bytes()).await?.json().await?;
    let image_url = created["image"].as_str().map(str::to_owned).unwrap_or_else(|| {
        format!(
            "{}/ob2/badges/{}/image",
            stack.url(Service::Host),
            created["id"].as_str().unwrap()
        )
    });
    let stored = stack
        .wait_for_status(&image_url, 200, Duration::from_secs(20))
        .await?
        .text()
        .await?;
    assert!(stored.contains(r#"id="keep""#), "control: the drawing stays: {stored}");
    let lower = stored.to_ascii_lowercase();
    for gone in ["onload", "script", "javascript", "foreignobject", "<a "] {
        assert!(!lower.contains(gone), "{gone} survived: {stored}");
    }
    // A bomb planted behind the API's back (an old upload) is refused by
    // display from its header, not decoded on every request.
    let award = stack
        .complete_course("evt-sec-img", "mei@example.ac.jp", "DEMO-101")
        .await?;
    let image_png = format!(
        "{}/badges/{}/image.png",
        stack.url(Service::Display),
        award["award_id"].as_str().unwrap()
    );
    // Control: the demo badge bakes (once display has heard of the award).
    stack.wait_for_status(&image_png, 200, Duration::from_secs(20)).await?;
    let planted = stack
        .count(
            Service::Host,
            &format!(
                "WITH u AS (UPDATE hosted_badge_classes SET image = decode('{}', 'hex'), image_content_type = 'image/png' WHERE id = '{}' RETURNING 1) SELECT count(*) AS n FROM u",
                hex::encode(&huge),
                seed.badge_class_id
            ),
        )
        .await?;
    assert_eq!(planted, 1);
    for _ in 0..3 {
        let r = stack.http.get(&image_png).send().await?;
        assert_eq!(r.status(), 422, "{}", r.text().await?);
    }
    let health = stack
        .http
        .get(format!("{}/healthz", stack.url(Service::Display)))
        .send()
        .await?;
    assert_eq!(health.status(), 200);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_forms_need_the_origin_and_the_session_token() -> anyhow::Result<()> {
    let stack = Stack::start().await?;
    stack.seed().await?;
    let display = stack.url(Service::Display);
    let browser = no_redirects();
    let cookie = stack.console_session().await?;
    assert!(
        !cookie.contains(&stack.admin_token),
        "the cookie is a session id, not the admin token"
    );
    let page = browser
        .get(format!("{display}/console"))
        .header("Cookie", &cookie)
        .send()
        .await?
        .text()
        .await?;
    let csrf = page
        .split("csrf=")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("forms carry the CSRF token")
        .to_string();
    let post = |origin: Option<&str>, referer: Option<&str>, query: String, name: &str| {
        let mut r = browser
            .post(format!("{display}/console/issuers{query}"))
            .header("Cookie", &cookie)
            .form(&[("name", name), ("url", "https://x.example"), ("email", "x@x.example")]);
        if let Some(o) = origin {
            r = r.header("Origin", o);
        }
        if let Some(f) = referer {
            r = r.header("Referer", f);
        }
        r.send()
    };
    let with_token = format!("?csrf={csrf}");
    let cases = [
        (Some("http://evil.example"), None, with_token.clone(), "foreign origin"),
        (Some("null"), None, with_token.clone(), "null origin"),
        (None, None, with_token.clone(), "no origin, no referer"),
        (
            None,
            Some("http://evil.example/page"),
            with_token.clone(),
            "foreign referer",
        ),
        (Some(display.as_str()), None, String::new(), "no token"),
        (Some(display.as_str()), None, "?csrf=forged".to_string(), "wrong token"),
    ];
    for (origin, referer, query, case) in cases {
        let r = post(origin, referer, query, case).await?;
        assert_eq!(r.status(), 403, "{case}");
    }
    // Origin evil with a forwarded host claiming to be evil: still refused.
    let r = browser
        .post(format!("{display}/console/issuers{with_token}"))
        .header("Cookie", &cookie)
        .header("Origin", "http://evil.example")
        .header("X-Forwarded-Host", "evil.example")
        .form(&[
            ("name", "Forwarded"),
            ("url", "https://x.example"),
            ("email", "x@x.example"),
        ])
        .send()
        .await?;
    assert_eq!(r.status(), 403);
    let issuers: Value =
        json_of(stack.admin(Method::GET, format!("{}/admin/issuers", stack.url(Service::Issuer)))).await?;
    assert!(
        !issuers.to_string().contains("origin") && !issuers.to_string().contains("Forwarded"),
        "no refused form created anything: {issuers}"
    );
    // Control: the console's own form, with its token.
    let r = post(Some(&display), None, with_token.clone(), "Console Made University").await?;
    assert_eq!(r.status(), 303);
    let issuers: Value =
        json_of(stack.admin(Method::GET, format!("{}/admin/issuers", stack.url(Service::Issuer)))).await?;
    assert!(issuers.to_string().contains("Console Made University"));
    // A CRLF in back= cannot break the redirect after an action.
    let award = stack
        .complete_course("evt-sec-crlf", "sora@example.ac.jp", "DEMO-101")
        .await?;
    let r = browser
        .post(format!(
            "{display}/console/awards/{}/resend{with_token}",
            award["award_id"].as_str().unwrap()
        ))
        .header("Cookie", &cookie)
        .header("Origin", &display)
        .form(&[("back", "/console/awards?x=1\r\nSet-Cookie: evil=1")])
        .send()
        .await?;
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"].to_str()?.lines().count(), 1);
    // Sign-out ends the session on the server: the old cookie is worthless.
    let r = browser
        .post(format!("{display}/console/logout"))
        .header("Cookie", &cookie)
        .header("Origin", "http://evil.example")
        .send()
        .await?;
    assert_eq!(r.status(), 403, "a foreign page cannot sign the admin out");
    let r = browser
        .post(format!("{display}/console/logout"))
        .header("Cookie", &cookie)
        .header("Origin", &display)
        .send()
        .await?;
    assert_eq!(r.status(), 303);
    let after = browser
        .get(format!("{display}/console"))
        .header("Cookie", &cookie)
        .send()
        .await?;
    assert_eq!(after.status(), 303);
    assert_eq!(after.headers()["location"], "/console/login");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_embed_snippet_is_inert_wherever_it_is_pasted() -> anyhow::Result<()> {
    let stack = Stack::start().await?;
    let seed = stack.seed().await?;
    let (issuer, lms) = (stack.url(Service::Issuer), stack.url(Service::LmsAdapter));
    let hostile_name = r#"X"><script>alert(1)</script><img src=x onerror=alert(1)>"#;
    let badge: Value = json_of(
        stack
            .admin(
                Method::POST,
                format!("{issuer}/admin/issuers/{}/badge-classes", seed.issuer_id),
            )
            .json(&json!({"name": hostile_name, "description": "d", "criteria": "c", "image_base64": PNG_1X1})),
    )
    .await?;
    let mut created = false;
    for _ in 0..150 {
        let r = stack
            .admin(Method::POST, format!("{lms}/admin/rules"))
            .json(&json!({"badge_class_id": badge["id"], "course_id": "EMBED-1"}))
            .send()
            .await?;
        if r.status() == 201 {
            created = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(created);
    let award = stack
        .complete_course("evt-embed", "ren@example.ac.jp", "EMBED-1")
        .await?;
    // The lookup answers once the issuer has the award; display hears of
    // it over the bus a moment later.
    let page_url = format!(
        "{}/badges/{}?lang=en",
        stack.url(Service::Display),
        award["award_id"].as_str().unwrap()
    );
    stack.wait_for_status(&page_url, 200, Duration::from_secs(30)).await?;
    let page = stack.http.get(&page_url).send().await?.text().await?;
    let inside = page
        .split("<textarea")
        .nth(1)
        .and_then(|s| s.split_once('>'))
        .and_then(|(_, rest)| rest.split("</textarea>").next())
        .expect("the embed snippet")
        .to_string();
    // What the site owner copies is the textarea's text, entities decoded once.
    let copied = html_text(&inside);
    assert!(copied.starts_with("<iframe "), "control: a snippet: {copied}");
    assert_eq!(
        copied.matches('<').count(),
        2,
        "one iframe and its end tag only: {copied}"
    );
    assert!(!copied.contains("<script") && !copied.contains("<img"), "{copied}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_verification_makes_a_bounded_number_of_requests() -> anyhow::Result<()> {
    let stack = Stack::start().await?;
    stack.seed().await?;
    let award = stack
        .complete_course("evt-sec-keys", "yui@example.ac.jp", "DEMO-101")
        .await?;
    let genuine = hosted(
        &stack,
        award["formats"]["ob3_vcjwt"].as_str().unwrap(),
        "application/jwt",
    )
    .await?;
    // An issuer profile listing 300 keys, none of which signed the token;
    // the token is signed by a key of the attacker's site (its kid), so
    // the verifier goes on to ask whether the profile owns that key.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let profile_url = format!("{base}/issuer");
    let kid = format!("{base}/key");
    let signer = akashi_crypto::keys::RsaSigner::from_pkcs8_der(&akashi_crypto::keys::generate_rsa_2048()?)?;
    let jwk = serde_json::to_value(signer.public().jwk(&kid))?;
    let profile = json!({
        "@context": ["https://www.w3.org/ns/credentials/v2", "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"],
        "id": profile_url,
        "type": ["Profile"],
        "name": "Amplifier",
        "publicKey": (0..300).map(|i| format!("{base}/keys/{i}")).collect::<Vec<_>>(),
    });
    let key_owner = profile_url.clone();
    let hits = {
        let hits = Arc::new(AtomicUsize::new(0));
        let counter = hits.clone();
        let (profile, jwk) = (profile.to_string(), jwk.to_string());
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let (counter, profile, jwk, owner) = (counter.clone(), profile.clone(), jwk.clone(), key_owner.clone());
                tokio::spawn(async move {
                    let mut buffer = vec![0; 8192];
                    let Ok(n) = socket.read(&mut buffer).await else { return };
                    let request = String::from_utf8_lossy(&buffer[..n]).to_string();
                    let path = request.split_whitespace().nth(1).unwrap_or("/").to_string();
                    counter.fetch_add(1, Ordering::SeqCst);
                    let body = match path.as_str() {
                        "/issuer" => profile,
                        "/key" => jwk,
                        _ => json!({"id": format!("http://x{path}"), "type": "CryptographicKey", "owner": owner,
                                    "publicKeyPem": "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"})
                        .to_string(),
                    };
                    let response = format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = socket.write_all(response.as_bytes()).await;
                });
            }
        });
        hits
    };
    // The genuine credential, its issuer the amplifier profile, signed anew.
    use base64::Engine;
    let payload_part = genuine.trim().split('.').nth(1).unwrap().to_string();
    let mut payload: Value =
        serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload_part)?)?;
    payload["iss"] = json!(profile_url);
    {
        let vc = if payload.get("vc").is_some() {
            &mut payload["vc"]
        } else {
            &mut payload
        };
        vc["issuer"] = json!({"id": profile_url, "type": ["Profile"], "name": "Amplifier"});
    }
    let forged = signer.sign_jws(Some(&kid), Some("JWT"), &payload)?;
    let (status, report) = verify_raw(&stack, &json!({"jwt": forged})).await?;
    assert_eq!(status, 200, "{report}");
    assert_ne!(report["status"], "valid");
    let made = hits.load(Ordering::SeqCst);
    // The profile and some keys were fetched (the control), at most the
    // cap of keys per pass, twice (a non-valid verdict is checked again
    // without the cache).
    assert!(
        made >= 3,
        "the verifier fetched the key, the profile and listed keys: {made} {report:#}"
    );
    assert!(made <= 2 * (2 + 8), "{made} requests for one /verify");
    Ok(())
}

/// The headers every page people see must carry.
fn assert_page_headers(response: &reqwest::Response, framable: bool) {
    let url = response.url().to_string();
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    let csp = header("content-security-policy");
    assert!(!csp.is_empty(), "{url}: no CSP");
    let script_src = csp
        .split(';')
        .map(str::trim)
        .find(|d| d.starts_with("script-src"))
        .unwrap_or("");
    assert!(!script_src.contains("unsafe-inline"), "{url}: {csp}");
    assert_eq!(header("x-content-type-options"), "nosniff", "{url}");
    assert!(!header("referrer-policy").is_empty(), "{url}");
    if framable {
        assert!(csp.contains("frame-ancestors *"), "{url}: {csp}");
    } else {
        assert!(csp.contains("frame-ancestors 'none'"), "{url}: {csp}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_sends_its_security_headers_and_metrics_are_the_operators() -> anyhow::Result<()> {
    let mut stack = Stack::start().await?;
    stack.seed().await?;
    let award = stack
        .complete_course("evt-sec-headers", "aoi@example.ac.jp", "DEMO-101")
        .await?;
    let id = award["award_id"].as_str().unwrap();
    let (display, host) = (stack.url(Service::Display), stack.url(Service::Host));
    let cookie = stack.console_session().await?;
    for (url, framable) in [
        (format!("{display}/badges/{id}"), false),
        (format!("{display}/badges/{id}?lang=en"), false),
        (format!("{display}/verify"), false),
        (format!("{display}/console/login"), false),
        (format!("{host}/signin"), false),
        (format!("{display}/badges/{id}/embed"), true),
    ] {
        let r = stack.http.get(&url).send().await?;
        assert_eq!(r.status(), 200, "{url}");
        assert_page_headers(&r, framable);
    }
    for path in ["/console", "/console/rules", "/console/awards", "/console/decisions"] {
        let r = stack
            .http
            .get(format!("{display}{path}"))
            .header("Cookie", &cookie)
            .send()
            .await?;
        assert_eq!(r.status(), 200, "{path}");
        assert_page_headers(&r, false);
    }
    // JSON answers too: no sniffing.
    let r = stack
        .http
        .get(format!("{host}/ob2/assertions/{id}"))
        .header("Accept", "application/ld+json")
        .send()
        .await?;
    assert_eq!(r.headers()["x-content-type-options"], "nosniff");

    // /metrics: a loopback scraper reads it (control); with a metrics
    // token configured, only with the token.
    let metrics = format!("{}/metrics", stack.url(Service::Issuer));
    assert_eq!(stack.http.get(&metrics).send().await?.status(), 200);
    stack.set_env(Service::Issuer, "AKASHI_ISSUER_METRICS_TOKEN", "scrape-me-please");
    stack.restart(Service::Issuer).await?;
    assert_eq!(stack.http.get(&metrics).send().await?.status(), 401);
    assert_eq!(
        stack.http.get(&metrics).bearer_auth("wrong").send().await?.status(),
        401
    );
    let r = stack.http.get(&metrics).bearer_auth("scrape-me-please").send().await?;
    assert_eq!(r.status(), 200);
    assert!(r.text().await?.contains("akashi_http_requests_total"));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn names_cannot_reorder_or_break_lines_and_links_are_http() -> anyhow::Result<()> {
    let stack = Stack::start().await?;
    let seed = stack.seed().await?;
    let issuer = stack.url(Service::Issuer);
    let create = |name: &str| {
        stack
            .admin(
                Method::POST,
                format!("{issuer}/admin/issuers/{}/badge-classes", seed.issuer_id),
            )
            .json(&json!({"name": name, "description": "d", "criteria": "c", "image_base64": PNG_1X1}))
            .send()
    };
    for hostile in [
        "Doctor of Medicine\u{202E}lanoitacoV",
        "Line one\r\nBcc: all@example.com",
        "a\u{2066}b",
    ] {
        let r = create(hostile).await?;
        assert_eq!(r.status(), 422, "{hostile:?}");
    }
    assert_eq!(create("データサイエンス入門").await?.status(), 201, "control");
    // From an LMS: a name that reorders is refused; a megabyte course name too.
    let mut event = Stack::completion("evt-bidi", "bidi@example.ac.jp", "DEMO-101");
    event["learner"]["name"] = json!("Hanako\u{202E}Yamada");
    assert_eq!(stack.post_completion(&event).await?.status(), 422);
    let mut event = Stack::completion("evt-long", "long@example.ac.jp", "DEMO-101");
    event["course"]["name"] = json!("x".repeat(600));
    assert_eq!(stack.post_completion(&event).await?.status(), 422);
    let event = Stack::completion("evt-fine", "fine@example.ac.jp", "DEMO-101");
    assert_eq!(stack.post_completion(&event).await?.status(), 202, "control");
    // OAuth client registration: links are http(s) only.
    let register = |client_uri: &str| {
        stack
            .http
            .post(format!("{}/ims/ob/v3p0/register", stack.url(Service::Host)))
            .json(&json!({"client_name": "Wallet", "client_uri": client_uri,
                          "redirect_uris": ["https://wallet.example/cb"]}))
            .send()
    };
    assert_eq!(register("javascript:alert(1)").await?.status(), 400);
    assert_eq!(
        register("data:text/html,<script>alert(1)</script>").await?.status(),
        400
    );
    assert_eq!(register("https://wallet.example").await?.status(), 201, "control");
    Ok(())
}
