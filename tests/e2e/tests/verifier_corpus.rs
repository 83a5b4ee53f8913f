//! The verifier's corpus: in every format, credentials that are valid,
//! tampered with, revoked, expired, for someone else, signed with the wrong
//! key, or malformed — each with the verdict it must get, and, where a
//! reference tool exists, that tool's verdict beside it. Then the cases
//! where the reference tool is wrong (research notes, openbadges): a hosted
//! assertion served with 200 and `revoked: true`, and a revocation list of
//! one entry, both accepted by the 1EdTech validator and refused here.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use akashi_crypto::ed25519::{Ed25519Signer, generate_ed25519};
use akashi_crypto::keys::{RsaSigner, generate_rsa_2048};
use akashi_e2e::{Service, Stack, blockcerts_judge, di_judge_with, ob2_validator, vcjwt_judge};
use akashi_ld::data_integrity::{self, ProofOptions};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::Method;
use serde_json::{Value, json};

const PNG_1X1: &str =
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==";
const ALL_FORMATS: [&str; 5] = ["ob2_hosted", "ob2_signed", "ob3_vcjwt", "ob3_di", "blockcerts"];

/// The verifier's answer: (HTTP status, report status or error code).
async fn verdict(stack: &Stack, body: &Value) -> anyhow::Result<(u16, String)> {
    let response = stack
        .http
        .post(format!("{}/verify", stack.url(Service::Verifier)))
        .json(body)
        .send()
        .await?;
    let status = response.status().as_u16();
    let answer: Value = response.json().await?;
    let word = answer["status"]
        .as_str()
        .or(answer["error"]["code"].as_str())
        .unwrap_or("?")
        .to_string();
    Ok((status, word))
}

fn jws_part(token: &str, n: usize) -> Value {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(token.split('.').nth(n).unwrap()).unwrap()).unwrap()
}

/// The token with one payload claim changed, its signature kept.
fn tampered_token(token: &str, edit: impl FnOnce(&mut Value)) -> String {
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    let mut payload = jws_part(token, 1);
    edit(&mut payload);
    parts[1] = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&payload).unwrap());
    parts.join(".")
}

/// The same header and payload, signed by a key that is not the issuer's.
fn resigned_token(token: &str) -> String {
    let signer = RsaSigner::from_pkcs8_der(&generate_rsa_2048().unwrap()).unwrap();
    let header = jws_part(token, 0);
    signer
        .sign_jws(header["kid"].as_str(), header["typ"].as_str(), &jws_part(token, 1))
        .unwrap()
}

async fn judge(kind: &'static str, input: Value) -> anyhow::Result<Value> {
    tokio::task::spawn_blocking(move || match kind {
        "vcjwt" => vcjwt_judge(&["--token", input.as_str().unwrap()]),
        "di" => {
            // No clock skew: the expired award expired a second ago.
            let path = std::env::temp_dir().join(format!("akashi-corpus-{}.json", uuid::Uuid::new_v4()));
            std::fs::write(&path, serde_json::to_vec(&input)?)?;
            let answer = di_judge_with(&["--max-clock-skew", "0", path.to_str().unwrap()]);
            let _ = std::fs::remove_file(&path);
            answer
        }
        "blockcerts" => blockcerts_judge(&input, None),
        _ => ob2_validator(input.as_str().unwrap(), None),
    })
    .await?
}

/// Whether a reference tool's answer says "verified".
fn judged_valid(kind: &str, answer: &Value) -> bool {
    match kind {
        "vcjwt" | "ob2" => answer["valid"] == true,
        "di" => answer["verified"] == true && answer["revoked"] != true,
        _ => answer["status"] == "success",
    }
}

async fn award(stack: &Stack, badge_class: &str, email: &str) -> anyhow::Result<Value> {
    let response = stack
        .admin(Method::POST, format!("{}/admin/awards", stack.url(Service::Issuer)))
        .json(&json!({"badge_class_id": badge_class, "recipient": {"email": email}}))
        .send()
        .await?;
    anyhow::ensure!(response.status() == 201, "award answered {}", response.status());
    let award_id = response.json::<Value>().await?["award"]["award_id"]
        .as_str()
        .unwrap()
        .to_string();
    // Every format, Blockcerts included (its batch is due within 200 ms).
    for _ in 0..200 {
        let awards = stack.awards(email).await?;
        if let Some(a) = awards.iter().find(|a| a["award_id"] == award_id.as_str())
            && ALL_FORMATS.iter().all(|f| a["formats"][f].is_string())
        {
            return Ok(a.clone());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    anyhow::bail!("award {award_id} never had every format")
}

/// Every signed form of an award, fetched as a relying party receives them.
struct Forms {
    hosted_url: String,
    jws: String,
    jwt: String,
    di: Value,
    blockcerts: Value,
}

async fn forms(stack: &Stack, award: &Value) -> anyhow::Result<Forms> {
    let f = &award["formats"];
    // Host learns of the award over the bus, a moment after the issuer.
    stack
        .wait_for_status(f["ob2_hosted"].as_str().unwrap(), 200, Duration::from_secs(10))
        .await?;
    let get = |url: &str, accept: &str| stack.http.get(url).header("accept", accept).send();
    Ok(Forms {
        hosted_url: f["ob2_hosted"].as_str().unwrap().to_string(),
        jws: get(f["ob2_signed"].as_str().unwrap(), "application/jose")
            .await?
            .text()
            .await?,
        jwt: get(f["ob3_vcjwt"].as_str().unwrap(), "application/jwt")
            .await?
            .text()
            .await?,
        di: get(f["ob3_di"].as_str().unwrap(), "application/json")
            .await?
            .json()
            .await?,
        blockcerts: stack
            .wait_for_status(f["blockcerts"].as_str().unwrap(), 200, Duration::from_secs(10))
            .await?
            .json()
            .await?,
    })
}

struct Case {
    name: String,
    body: Value,
    /// The verifier's expected answer (report status, or error code).
    expected: &'static str,
    /// A reference tool and whether it should say "verified".
    reference: Option<(&'static str, Value, bool)>,
}

fn case(name: &str, body: Value, expected: &'static str) -> Case {
    Case {
        name: name.into(),
        body,
        expected,
        reference: None,
    }
}

impl Case {
    fn judged(mut self, kind: &'static str, input: Value, verified: bool) -> Self {
        self.reference = Some((kind, input, verified));
        self
    }
}

async fn run_cases(stack: &Stack, cases: Vec<Case>) -> anyhow::Result<()> {
    let mut failures = Vec::new();
    for c in cases {
        let (_, got) = verdict(stack, &c.body).await?;
        if got != c.expected {
            failures.push(format!("{}: Akashi said {got}, expected {}", c.name, c.expected));
        }
        if let Some((kind, input, verified)) = c.reference {
            let answer = judge(kind, input).await?;
            if judged_valid(kind, &answer) != verified {
                failures.push(format!(
                    "{}: the {kind} reference tool said {answer}, expected verified = {verified}",
                    c.name
                ));
            }
        }
    }
    assert!(failures.is_empty(), "corpus mismatches:\n{}", failures.join("\n"));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_format_gets_the_right_verdict_for_every_kind_of_credential() -> anyhow::Result<()> {
    let stack = Stack::start().await?;
    let seed = stack.seed().await?;
    let issuer = stack.url(Service::Issuer);
    let expires_on = chrono::Utc::now() + chrono::Duration::seconds(8);
    let short_lived: Value = stack
        .admin(
            Method::POST,
            format!("{issuer}/admin/issuers/{}/badge-classes", seed.issuer_id),
        )
        .json(
            &json!({"name": "Short-lived", "description": "Expires within seconds.", "criteria": "Be quick.",
                      "image_base64": PNG_1X1, "expires_on": expires_on, "formats": ALL_FORMATS}),
        )
        .send()
        .await?
        .json()
        .await?;
    let short_id = short_lived["id"].as_str().unwrap().to_string();
    for _ in 0..100 {
        // The badge class reaches host over the bus before awards of it verify.
        if stack
            .http
            .get(format!("{}/ob2/badges/{short_id}", stack.url(Service::Host)))
            .send()
            .await?
            .status()
            == 200
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let valid = award(&stack, &seed.badge_class_id, "valid@example.ac.jp").await?;
    let revoked = award(&stack, &seed.badge_class_id, "revoked@example.ac.jp").await?;
    let expired = award(&stack, &short_id, "expired@example.ac.jp").await?;
    let v = forms(&stack, &valid).await?;
    let r = forms(&stack, &revoked).await?;
    let e = forms(&stack, &expired).await?;
    stack.revoke(&revoked, "Corpus: revoked").await?;
    // Let the revocation reach host and the expiry pass.
    tokio::time::sleep((expires_on - chrono::Utc::now()).to_std().unwrap_or_default() + Duration::from_secs(1)).await;

    // Tampered and wrongly signed forms of the valid award.
    let jws_tampered = tampered_token(&v.jws, |p| p["issuedOn"] = json!("2020-01-01T00:00:00Z"));
    let jwt_tampered = tampered_token(&v.jwt, |p| p["name"] = json!("Forged"));
    let mut di_tampered = v.di.clone();
    di_tampered["name"] = json!("Forged");
    let mut di_wrong_key = v.di.clone();
    let proof = di_wrong_key["proof"].clone();
    di_wrong_key.as_object_mut().unwrap().remove("proof");
    let stranger = Ed25519Signer::from_pkcs8_der(&generate_ed25519()?)?;
    let di_wrong_key = data_integrity::sign(
        &di_wrong_key,
        &ProofOptions {
            verification_method: proof["verificationMethod"].as_str().unwrap(),
            created: proof["created"].as_str().unwrap(),
        },
        &stranger,
    )
    .await?;
    let mut bc_tampered = v.blockcerts.clone();
    bc_tampered["credentialSubject"]["claim"]["name"] = json!("Forged");

    let url = |u: &str| json!({"url": u});
    let jwt = |t: &str| json!({"jwt": t});
    let credential = |c: &Value| json!({"credential": c});
    let with_recipient = |mut body: Value, email: &str| {
        body["recipient"] = json!(email);
        body
    };
    let cases = vec![
        // OB 2.0 hosted.
        case("hosted valid", url(&v.hosted_url), "valid").judged("ob2", json!(v.hosted_url), true),
        case(
            "hosted for its recipient",
            with_recipient(url(&v.hosted_url), "valid@example.ac.jp"),
            "valid",
        ),
        case(
            "hosted for someone else",
            with_recipient(url(&v.hosted_url), "other@example.ac.jp"),
            "invalid",
        ),
        case("hosted revoked (410)", url(&r.hosted_url), "revoked").judged("ob2", json!(r.hosted_url), false),
        case("hosted expired", url(&e.hosted_url), "expired"),
        // OB 2.0 signed.
        case("signed valid", jwt(&v.jws), "valid").judged("ob2", json!(v.jws), true),
        case("signed tampered", jwt(&jws_tampered), "invalid").judged("ob2", json!(jws_tampered), false),
        case("signed by another key", jwt(&resigned_token(&v.jws)), "invalid"),
        case("signed revoked", jwt(&r.jws), "revoked").judged("ob2", json!(r.jws), false),
        case("signed expired", jwt(&e.jws), "expired"),
        // OB 3.0 VC-JWT.
        case("VC-JWT valid", jwt(&v.jwt), "valid").judged("vcjwt", json!(v.jwt), true),
        case("VC-JWT tampered", jwt(&jwt_tampered), "invalid").judged("vcjwt", json!(jwt_tampered), false),
        case("VC-JWT by another key", jwt(&resigned_token(&v.jwt)), "invalid").judged(
            "vcjwt",
            json!(resigned_token(&v.jwt)),
            false,
        ),
        case("VC-JWT revoked", jwt(&r.jwt), "revoked").judged("vcjwt", json!(r.jwt), false),
        case("VC-JWT expired", jwt(&e.jwt), "expired").judged("vcjwt", json!(e.jwt), false),
        case(
            "VC-JWT for someone else",
            with_recipient(jwt(&v.jwt), "other@example.ac.jp"),
            "invalid",
        ),
        // OB 3.0 Data Integrity.
        case("DI valid", credential(&v.di), "valid").judged("di", v.di.clone(), true),
        case("DI tampered", credential(&di_tampered), "invalid").judged("di", di_tampered.clone(), false),
        case("DI by another key", credential(&di_wrong_key), "invalid").judged("di", di_wrong_key.clone(), false),
        case("DI revoked", credential(&r.di), "revoked").judged("di", r.di.clone(), false),
        case("DI expired", credential(&e.di), "expired").judged("di", e.di.clone(), false),
        // Blockcerts v3.
        case("Blockcerts valid", credential(&v.blockcerts), "valid").judged("blockcerts", v.blockcerts.clone(), true),
        case("Blockcerts tampered", credential(&bc_tampered), "invalid").judged(
            "blockcerts",
            bc_tampered.clone(),
            false,
        ),
        case("Blockcerts revoked", credential(&r.blockcerts), "revoked").judged(
            "blockcerts",
            r.blockcerts.clone(),
            false,
        ),
        case("Blockcerts expired", credential(&e.blockcerts), "expired").judged(
            "blockcerts",
            e.blockcerts.clone(),
            false,
        ),
        case(
            "Blockcerts for someone else",
            with_recipient(credential(&v.blockcerts), "other@example.ac.jp"),
            "invalid",
        ),
        // Malformed input: a verdict of unknown, or a request error.
        case("a JWS that is not JSON", jwt("YQ.Yg.Yw"), "unknown"),
        case(
            "a credential with no proof",
            credential(&json!({"type": "Nothing"})),
            "unknown",
        ),
        case("a credential that is a number", credential(&json!(5)), "unknown"),
        case("not a JWS at all", jwt("not a token"), "invalid_jwt"),
        case(
            "two inputs at once",
            json!({"url": v.hosted_url, "jwt": v.jwt}),
            "invalid_request",
        ),
        case(
            "a loopback address not allowed",
            url("http://127.0.0.2:9/ob2/assertions/x"),
            "url_not_allowed",
        ),
        case(
            "IPv6 loopback not allowed",
            url("http://[::1]:9/ob2/assertions/x"),
            "url_not_allowed",
        ),
        case("not http(s)", url("file:///etc/passwd"), "url_not_allowed"),
    ];
    run_cases(&stack, cases).await
}

/// A static web server of a third-party issuer, on loopback.
struct Site {
    child: Child,
    dir: std::path::PathBuf,
    base: String,
}

impl Site {
    async fn start(stack: &Stack, files: impl FnOnce(&str) -> Vec<(&'static str, Value)>) -> anyhow::Result<Self> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let base = format!("http://127.0.0.1:{port}");
        let dir = std::env::temp_dir().join(format!("akashi-site-{}", uuid::Uuid::new_v4()));
        for (path, document) in files(&base) {
            let file = dir.join(path);
            std::fs::create_dir_all(file.parent().unwrap())?;
            std::fs::write(file, serde_json::to_vec(&document)?)?;
        }
        let child = Command::new("python3")
            .args([
                "-m",
                "http.server",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--directory",
            ])
            .arg(&dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        let site = Self { child, dir, base };
        stack
            .wait_for_status(&format!("{}/issuer", site.base), 200, Duration::from_secs(10))
            .await?;
        Ok(site)
    }
}

impl Drop for Site {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Where the 1EdTech validator is wrong, Akashi is right.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn where_the_reference_validator_is_wrong_the_verifier_is_right() -> anyhow::Result<()> {
    let stack = Stack::start().await?;
    let hash = akashi_crypto::identity::hash_identity("learner@example.ac.jp", "s4lt");
    let site = Site::start(&stack, |base| {
        let assertion = |id: &str, revoked: bool, issued_on: &str| {
            let mut a = json!({
                "@context": "https://w3id.org/openbadges/v2",
                "type": "Assertion",
                "id": format!("{base}/{id}"),
                "recipient": {"type": "email", "hashed": true, "salt": "s4lt", "identity": hash},
                "badge": format!("{base}/badge"),
                "verification": {"type": "hosted"},
                "issuedOn": issued_on,
            });
            if revoked {
                a["revoked"] = json!(true);
                a["revocationReason"] = json!("Withdrawn");
            }
            a
        };
        vec![
            (
                "issuer",
                json!({"@context": "https://w3id.org/openbadges/v2", "type": "Issuer", "id": format!("{base}/issuer"),
                       "name": "Elsewhere College", "url": base, "email": "registrar@elsewhere.example",
                       "revocationList": format!("{base}/revocations")}),
            ),
            (
                "revocations",
                json!({"@context": "https://w3id.org/openbadges/v2", "type": "RevocationList",
                       "id": format!("{base}/revocations"), "issuer": format!("{base}/issuer"),
                       "revokedAssertions": [{"id": format!("{base}/listed"), "revocationReason": "Withdrawn"}]}),
            ),
            (
                "badge",
                json!({"@context": "https://w3id.org/openbadges/v2", "type": "BadgeClass", "id": format!("{base}/badge"),
                       "name": "Elsewhere Badge", "description": "A badge from elsewhere.",
                       "image": format!("{base}/image"), "criteria": {"narrative": "Do it."},
                       "issuer": format!("{base}/issuer")}),
            ),
            ("good", assertion("good", false, "2026-11-01T00:00:00Z")),
            ("flagged", assertion("flagged", true, "2026-11-01T00:00:00Z")),
            ("listed", assertion("listed", false, "2026-11-01T00:00:00Z")),
            ("future", assertion("future", false, "2099-01-01T00:00:00Z")),
        ]
    })
    .await?;
    let at = |path: &str| format!("{}/{path}", site.base);
    let cases = vec![
        case(
            "a third party's valid hosted badge",
            json!({"url": at("good")}),
            "valid",
        )
        .judged("ob2", json!(at("good")), true),
        case(
            "not valid yet (issued in 2099)",
            json!({"url": at("future")}),
            "invalid",
        ),
        case(
            "for its recipient",
            json!({"url": at("good"), "recipient": "learner@example.ac.jp"}),
            "valid",
        ),
        // The reference validator accepts both of these (wrongly).
        case(
            "revoked: true served with 200",
            json!({"url": at("flagged")}),
            "revoked",
        )
        .judged("ob2", json!(at("flagged")), true),
        case(
            "on a revocation list of one entry",
            json!({"url": at("listed")}),
            "revoked",
        )
        .judged("ob2", json!(at("listed")), true),
    ];
    run_cases(&stack, cases).await
}
