//! What a university sets once and every reader sees: a badge class in
//! Japanese and English (admin API → host's editions → OB 3.0 `related` →
//! the pages, certificate and mail in the reader's language), and the
//! issuer's presentation (time zone of its dates, logo, signatory).

use std::time::{Duration, Instant};

use akashi_e2e::{Service, Stack, di_judge, pdf_text};
use base64::Engine;
use chrono::Datelike;
use reqwest::Method;
use serde_json::{Value, json};

const JAPANESE_NAME: &str = "データサイエンス入門";
const ENGLISH_NAME: &str = "Introduction to Data Science";

async fn get_json(stack: &Stack, url: &str) -> anyhow::Result<Value> {
    let response = stack
        .http
        .get(url)
        .header("Accept", "application/ld+json")
        .send()
        .await?;
    anyhow::ensure!(response.status() == 200, "{url} answered {}", response.status());
    Ok(response.json().await?)
}

async fn text_of(stack: &Stack, url: &str) -> anyhow::Result<String> {
    let response = stack.http.get(url).send().await?;
    anyhow::ensure!(response.status() == 200, "{url} answered {}", response.status());
    Ok(response.text().await?)
}

/// Polls `url` until its text satisfies `done` (what the bus carries takes a moment).
async fn page_until(stack: &Stack, url: &str, done: impl Fn(&str) -> bool) -> anyhow::Result<String> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let page = text_of(stack, url).await?;
        if done(&page) {
            return Ok(page);
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "{url} never showed what was expected:\n{page}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_badge_class_reads_in_the_readers_language_everywhere() -> anyhow::Result<()> {
    let stack = Stack::start().await?;
    let seed = stack.seed().await?;
    let (issuer, host, display) = (
        stack.url(Service::Issuer),
        stack.url(Service::Host),
        stack.url(Service::Display),
    );
    let class: Value = stack
        .admin_json(&format!("{issuer}/admin/badge-classes/{}", seed.badge_class_id))
        .await?;
    assert_eq!(class["language"], "en");
    assert_eq!(class["translations"]["ja"]["name"], JAPANESE_NAME, "{class}");

    // Host: the badge class as written, and its Japanese edition at its own URL.
    let badge_url = format!("{host}/ob2/badges/{}", seed.badge_class_id);
    let english = get_json(&stack, &badge_url).await?;
    assert_eq!(
        (english["id"].as_str(), english["name"].as_str()),
        (Some(badge_url.as_str()), Some(ENGLISH_NAME))
    );
    // The seed added the translation after creating the class: host has it
    // once the republished badge class has crossed the bus.
    let deadline = Instant::now() + Duration::from_secs(20);
    let japanese = loop {
        let edition = get_json(&stack, &format!("{badge_url}?lang=ja")).await?;
        if edition["name"] == JAPANESE_NAME || Instant::now() > deadline {
            break edition;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(
        japanese["id"],
        format!("{badge_url}?lang=ja"),
        "an edition is its own document"
    );
    assert_eq!(japanese["name"], JAPANESE_NAME);
    assert!(japanese["criteria"]["narrative"].as_str().unwrap().contains("DEMO-101"));
    assert_eq!(japanese["image"], english["image"], "one badge, one image");
    let french = get_json(&stack, &format!("{badge_url}?lang=fr")).await?;
    assert_eq!(french["id"], badge_url, "no French edition: the badge class as written");

    // OB 3.0: the achievement names its language and the other edition, and
    // still passes Digital Bazaar's verifier.
    let award = stack
        .complete_course("evt-lang-1", "kaito@example.ac.jp", "DEMO-101")
        .await?;
    let award_id = award["award_id"].as_str().unwrap().to_string();
    let di_url = award["formats"]["ob3_di"]
        .as_str()
        .expect("the demo issues OB 3.0 DI")
        .to_string();
    stack.wait_for_status(&di_url, 200, Duration::from_secs(20)).await?;
    let credential = get_json(&stack, &di_url).await?;
    let achievement = &credential["credentialSubject"]["achievement"];
    assert_eq!(achievement["inLanguage"], "en");
    assert_eq!(
        achievement["related"],
        json!([{"id": format!("{badge_url}?lang=ja"), "type": ["Related"], "inLanguage": "ja"}])
    );
    let verdict = tokio::task::spawn_blocking(move || di_judge(&di_url)).await??;
    assert_eq!(verdict["verified"], true, "{verdict}");

    // The pages, the card and the certificate in each language.
    for (lang, name, other) in [("ja", JAPANESE_NAME, ENGLISH_NAME), ("en", ENGLISH_NAME, JAPANESE_NAME)] {
        let page = text_of(&stack, &format!("{display}/badges/{award_id}?lang={lang}")).await?;
        let title = page
            .split("<h1")
            .nth(1)
            .and_then(|h| h.split("</h1>").next())
            .unwrap_or_default();
        assert!(title.contains(name) && !title.contains(other), "{lang}: {title}");
        let embed = text_of(&stack, &format!("{display}/badges/{award_id}/embed?lang={lang}")).await?;
        assert!(embed.contains(name), "{embed}");
        let pdf = stack
            .http
            .get(format!("{display}/badges/{award_id}/certificate.pdf?lang={lang}"))
            .send()
            .await?
            .bytes()
            .await?;
        let text = tokio::task::spawn_blocking(move || pdf_text(&pdf)).await??;
        assert!(
            text.contains(name) && !text.contains(other),
            "{lang} certificate: {text}"
        );
    }

    // Refusals change nothing.
    let put = |language: &str, body: Value| {
        stack
            .admin(
                Method::PUT,
                format!(
                    "{issuer}/admin/badge-classes/{}/translations/{language}",
                    seed.badge_class_id
                ),
            )
            .json(&body)
            .send()
    };
    let full = json!({"name": "Données", "description": "d", "criteria": "c"});
    for (language, body, field) in [
        ("fr", full.clone(), "language"),
        ("en", full.clone(), "language"),
        (
            "ja",
            json!({"name": " ", "description": "d", "criteria": "c"}),
            "translations.ja.name",
        ),
    ] {
        let r = put(language, body).await?;
        assert_eq!(r.status(), 422, "{language}");
        let error: Value = r.json().await?;
        assert!(
            error["error"]["message"].as_str().unwrap_or_default().contains(field),
            "{error}"
        );
    }
    let r = stack
        .admin(Method::POST, format!("{issuer}/admin/issuers/{}/badge-classes", seed.issuer_id))
        .json(&json!({
            "name": "Another", "description": "d", "criteria": "c",
            "translations": {"en": {"name": "Another", "description": "d", "criteria": "c"}},
            "image_base64": base64::engine::general_purpose::STANDARD.encode(include_bytes!("../../../deploy/demo/badge.svg")),
        }))
        .send()
        .await?;
    assert_eq!(r.status(), 422, "a translation into the class's own language");
    assert_eq!(
        get_json(&stack, &format!("{badge_url}?lang=ja")).await?["name"],
        JAPANESE_NAME
    );

    // Removing the translation: Japanese readers get the badge class as written.
    let r = stack
        .admin(
            Method::DELETE,
            format!("{issuer}/admin/badge-classes/{}/translations/ja", seed.badge_class_id),
        )
        .send()
        .await?;
    assert_eq!(r.status(), 200);
    page_until(&stack, &format!("{display}/badges/{award_id}?lang=ja"), |p| {
        !p.contains(JAPANESE_NAME) && p.contains(ENGLISH_NAME)
    })
    .await?;
    let again = stack
        .admin(
            Method::DELETE,
            format!("{issuer}/admin/badge-classes/{}/translations/ja", seed.badge_class_id),
        )
        .send()
        .await?;
    assert_eq!(again.status(), 404, "nothing left to remove");
    Ok(())
}

/// How people of `lang` write the day `at` falls on in `zone`.
fn long_date(at: chrono::DateTime<chrono::Utc>, zone: chrono_tz::Tz, lang: &str) -> String {
    let day = at.with_timezone(&zone);
    let months = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    match lang {
        "ja" => format!("{}年{}月{}日", day.year(), day.month(), day.day()),
        _ => format!("{} {} {}", day.day(), months[day.month0() as usize], day.year()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_issuers_time_zone_logo_and_signatory_shape_page_and_certificate() -> anyhow::Result<()> {
    let stack = Stack::start().await?;
    let seed = stack.seed().await?;
    let (issuer, display) = (stack.url(Service::Issuer), stack.url(Service::Display));
    let presentation_url = format!("{issuer}/admin/issuers/{}/presentation", seed.issuer_id);
    let before: Value = stack.admin_json(&presentation_url).await?;
    assert_eq!(before["time_zone"], "Asia/Tokyo", "the demo university's: {before}");
    assert_eq!(before["signatory_name"], "Akiko Tanaka");

    // Bad input: a clear 422, nothing changed.
    let logo = base64::engine::general_purpose::STANDARD.encode(include_bytes!("../../../deploy/demo/badge.svg"));
    let signature = base64::engine::general_purpose::STANDARD.encode(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="300" height="80"><path d="M10 60 C 60 10, 90 70, 140 30 S 220 20, 290 50" stroke="#123" stroke-width="4" fill="none"/></svg>"##,
    );
    for body in [
        json!({"time_zone": "Mars/Olympus_Mons"}),
        json!({"time_zone": "UTC", "logo_base64": base64::engine::general_purpose::STANDARD.encode(b"GIF89a")}),
        json!({"time_zone": "UTC", "signatory": {"name": "  "}}),
    ] {
        let r = stack
            .admin(Method::PUT, presentation_url.clone())
            .json(&body)
            .send()
            .await?;
        assert_eq!(r.status(), 422, "{body}");
        let error: Value = r.json().await?;
        assert_eq!(error["error"]["code"], "invalid_field", "{error}");
    }
    let unchanged: Value = stack.admin_json(&presentation_url).await?;
    assert_eq!(unchanged["time_zone"], "Asia/Tokyo");

    let award = stack
        .complete_course("evt-tz-1", "mei@example.ac.jp", "DEMO-101")
        .await?;
    let award_id = award["award_id"].as_str().unwrap().to_string();
    let issued_on: chrono::DateTime<chrono::Utc> = award["issued_on"].as_str().unwrap().parse()?;

    // Kiritimati (UTC+14) and Honolulu (UTC−10) are 24 hours apart: their
    // dates of one instant always differ, so the page must follow the zone.
    for zone in [chrono_tz::Pacific::Kiritimati, chrono_tz::Pacific::Honolulu] {
        let r = stack
            .admin(Method::PUT, presentation_url.clone())
            .json(&json!({
                "time_zone": zone.name(),
                "logo_base64": logo,
                "signatory": {"name": "Hanako Yamada", "title": "Registrar", "signature_base64": signature},
            }))
            .send()
            .await?;
        assert_eq!(r.status(), 200);
        let view: Value = r.json().await?;
        assert_eq!(view["time_zone"], zone.name());
        // The certificate first: it shows the whole presentation (the
        // demo's Tokyo date may equal this zone's, its signatory does not).
        let expected = long_date(issued_on, zone, "en");
        let deadline = Instant::now() + Duration::from_secs(20);
        let (pdf, text) = loop {
            let response = stack
                .http
                .get(format!("{display}/badges/{award_id}/certificate.pdf?lang=en"))
                .send()
                .await?;
            // display hears of the award over the bus: 404 until then.
            if response.status() != 200 {
                anyhow::ensure!(Instant::now() < deadline, "certificate answered {}", response.status());
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
            let pdf = response.bytes().await?;
            let text = {
                let pdf = pdf.clone();
                tokio::task::spawn_blocking(move || pdf_text(&pdf)).await??
            };
            if text.contains(&expected) && text.contains("Hanako Yamada") {
                break (pdf, text);
            }
            anyhow::ensure!(Instant::now() < deadline, "certificate in {zone}: {text}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        assert!(text.contains("Registrar, Akashi Demo University"), "{text}");
        for lang in ["ja", "en"] {
            let expected = long_date(issued_on, zone, lang);
            let page = text_of(&stack, &format!("{display}/badges/{award_id}?lang={lang}")).await?;
            assert!(page.contains(&expected), "{lang} page in {zone}: {page}");
            let embed = text_of(&stack, &format!("{display}/badges/{award_id}/embed?lang={lang}")).await?;
            assert!(embed.contains(&expected), "{embed}");
        }
        // The badge, the logo and the signature are three images on the page.
        let images = tokio::task::spawn_blocking(move || pdf_image_count(&pdf)).await??;
        assert_eq!(images, 3, "badge, logo and signature");
    }
    Ok(())
}

/// How many images `pdfimages -list` finds in a PDF.
fn pdf_image_count(pdf: &[u8]) -> anyhow::Result<usize> {
    let path = std::env::temp_dir().join(format!("akashi-images-{}.pdf", uuid::Uuid::new_v4()));
    std::fs::write(&path, pdf)?;
    let out = std::process::Command::new("pdfimages").arg("-list").arg(&path).output();
    let _ = std::fs::remove_file(&path);
    let listing = String::from_utf8_lossy(&out?.stdout).into_owned();
    // Two header lines, then one line per image; a soft mask (alpha) is listed as its own "smask" line.
    Ok(listing
        .lines()
        .skip(2)
        .filter(|l| l.split_whitespace().nth(2) == Some("image"))
        .count())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_edits_translations_and_the_presentation() -> anyhow::Result<()> {
    let stack = Stack::start().await?;
    let seed = stack.seed().await?;
    let (issuer, display) = (stack.url(Service::Issuer), stack.url(Service::Display));
    let browser = akashi_e2e::no_redirects();
    let cookie = stack.console_session().await?;
    let home = browser
        .get(format!("{display}/console?lang=ja"))
        .header("Cookie", &cookie)
        .send()
        .await?
        .text()
        .await?;
    assert!(
        home.contains(&format!("value=\"{JAPANESE_NAME}\"")),
        "the form shows the translation"
    );
    assert!(home.contains("value=\"Asia/Tokyo\""), "and the demo's time zone");
    let csrf = home
        .split("csrf=")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("forms carry the CSRF token")
        .to_string();

    let r = browser
        .post(format!(
            "{display}/console/badge-classes/{}/translation?csrf={csrf}",
            seed.badge_class_id
        ))
        .header("Cookie", &cookie)
        .header("Origin", &display)
        .form(&[
            ("language", "ja"),
            ("name", "データサイエンス入門（改訂）"),
            ("description", "説明"),
            ("criteria", "基準"),
        ])
        .send()
        .await?;
    assert_eq!(r.status(), 303, "{}", r.text().await?);
    let class: Value = stack
        .admin_json(&format!("{issuer}/admin/badge-classes/{}", seed.badge_class_id))
        .await?;
    assert_eq!(class["translations"]["ja"]["name"], "データサイエンス入門（改訂）");

    let post_presentation = |form: reqwest::multipart::Form| {
        browser
            .post(format!(
                "{display}/console/issuers/{}/presentation?csrf={csrf}",
                seed.issuer_id
            ))
            .header("Cookie", &cookie)
            .header("Origin", &display)
            .multipart(form)
            .send()
    };
    let presentation_url = format!("{issuer}/admin/issuers/{}/presentation", seed.issuer_id);
    // A new time zone and signatory; no file chosen: logo and signature stay.
    let form = reqwest::multipart::Form::new()
        .text("time_zone", "Asia/Seoul")
        .part("logo", reqwest::multipart::Part::bytes(Vec::new()).file_name(""))
        .text("signatory_name", "Kim Min-jun")
        .text("signatory_title", "Dean")
        .part("signature", reqwest::multipart::Part::bytes(Vec::new()).file_name(""));
    let r = post_presentation(form).await?;
    assert_eq!(r.status(), 303, "{}", r.text().await?);
    let presentation: Value = stack.admin_json(&presentation_url).await?;
    assert_eq!(presentation["time_zone"], "Asia/Seoul");
    assert_eq!(presentation["signatory_name"], "Kim Min-jun");
    assert_eq!(presentation["signatory_title"], "Dean");
    assert!(presentation["logo_bytes"].as_u64().unwrap_or(0) > 0, "{presentation}");
    assert!(
        presentation["signature_bytes"].as_u64().unwrap_or(0) > 0,
        "{presentation}"
    );

    // A zone the issuer does not know: the console says why, nothing changes.
    let form = reqwest::multipart::Form::new().text("time_zone", "Tokyo");
    let r = post_presentation(form).await?;
    assert_eq!(r.status(), 422);
    assert!(r.text().await?.contains("Tokyo"));
    let unchanged: Value = stack.admin_json(&presentation_url).await?;
    assert_eq!(unchanged["time_zone"], "Asia/Seoul");
    Ok(())
}
