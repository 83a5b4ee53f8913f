//! Baked images at the contract's paths, read back by openbadges-bakery and
//! accepted by the 1EdTech validator, from an SVG and from a PNG badge image.

use std::time::Duration;

use akashi_e2e::{Service, Stack, ob2_validator_on_image, unbake};
use reqwest::Method;
use serde_json::{Value, json};

/// A 2×2 RGBA PNG (red and blue pixels; written with Python's zlib and
/// struct, CRCs included), base64.
const PNG_2X2: &str =
    "iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAYAAABytg0kAAAAEUlEQVR4nGP4z8AAQv8ZYAwAQ84H+VjtZqAAAAAASUVORK5CYII=";

async fn baked(stack: &Stack, award: &Value, extension: &str) -> anyhow::Result<(reqwest::header::HeaderMap, Vec<u8>)> {
    let url = format!("{}/image.{extension}", award["badge_page"].as_str().unwrap());
    let response = stack.http.get(&url).send().await?;
    anyhow::ensure!(response.status() == 200, "{url} answered {}", response.status());
    let headers = response.headers().clone();
    Ok((headers, response.bytes().await?.to_vec()))
}

async fn upload(
    stack: &Stack,
    image: Vec<u8>,
    extension: &str,
    recipient: Option<&str>,
) -> anyhow::Result<(u16, Value)> {
    let mut form = reqwest::multipart::Form::new().part(
        "image",
        reqwest::multipart::Part::bytes(image).file_name(format!("badge.{extension}")),
    );
    if let Some(r) = recipient {
        form = form.text("recipient", r.to_string());
    }
    let response = stack
        .http
        .post(format!("{}/verify", stack.url(Service::Verifier)))
        .multipart(form)
        .send()
        .await?;
    Ok((response.status().as_u16(), response.json().await?))
}

async fn judge(image: Vec<u8>, extension: &'static str, recipient: &'static str) -> anyhow::Result<Value> {
    tokio::task::spawn_blocking(move || ob2_validator_on_image(&image, extension, Some(recipient))).await?
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn baked_png_and_svg_unbake_to_the_assertion_and_validate() -> anyhow::Result<()> {
    let stack = Stack::start().await?;
    let seed = stack.seed().await?;
    // The demo badge image is an SVG.
    let award = stack
        .complete_course("evt-bake-1", "riku@example.ac.jp", "DEMO-101")
        .await?;
    let hosted_url = award["formats"]["ob2_hosted"].as_str().unwrap().to_string();
    stack.wait_for_status(&hosted_url, 200, Duration::from_secs(10)).await?;
    // Display learns of the award over the bus too.
    let page = award["badge_page"].as_str().unwrap();
    stack.wait_for_status(page, 200, Duration::from_secs(10)).await?;

    for extension in ["svg", "png"] {
        let (headers, image) = baked(&stack, &award, extension).await?;
        let content_type = if extension == "svg" {
            "image/svg+xml"
        } else {
            "image/png"
        };
        assert_eq!(headers["content-type"], content_type);
        let unbaked = tokio::task::spawn_blocking({
            let image = image.clone();
            move || unbake(&image, extension)
        })
        .await??
        .expect("openbadges-bakery finds a baked assertion");
        // For a hosted badge, bakery reads an SVG's `verify` attribute (the
        // assertion URL) and a PNG's chunk (the assertion JSON).
        let baked_id = match serde_json::from_str::<Value>(&unbaked) {
            Ok(json) => json["id"].as_str().unwrap_or_default().to_string(),
            Err(_) => unbaked.clone(),
        };
        assert_eq!(
            baked_id, hosted_url,
            "{extension}: the baked assertion is the hosted one"
        );
        // Akashi's verifier takes the file as an upload and agrees.
        let ours = upload(&stack, image.clone(), extension, Some("riku@example.ac.jp")).await?;
        assert_eq!(ours.0, 200);
        assert_eq!(
            (ours.1["status"].as_str(), ours.1["format"].as_str()),
            (Some("valid"), Some("ob2-hosted")),
            "{:#}",
            ours.1
        );
        assert_eq!(ours.1["recipient"]["matched"], true);
        let verdict = judge(image, extension, "riku@example.ac.jp").await?;
        assert_eq!(
            verdict["valid"], true,
            "1EdTech validator on the baked {extension}: {verdict:#}"
        );
    }
    // The human page: a link, then an image, in English and Japanese.
    let page_form = format!("{}/verify", stack.url(Service::Display));
    let form = stack
        .http
        .get(format!("{page_form}?lang=ja"))
        .send()
        .await?
        .text()
        .await?;
    assert!(form.contains("バッジを検証する") && form.contains("enctype=\"multipart/form-data\""));
    let by_link = reqwest::multipart::Form::new()
        .text("url", hosted_url.clone())
        .text("recipient", "riku@example.ac.jp");
    let html = stack
        .http
        .post(format!("{page_form}?lang=en"))
        .multipart(by_link)
        .send()
        .await?
        .text()
        .await?;
    assert!(html.contains("data-status=\"valid\""), "link verified on the page");
    assert!(
        html.contains("Introduction to Data Science") && html.contains("The badge was issued to riku@example.ac.jp.")
    );
    let (_, png) = baked(&stack, &award, "png").await?;
    let by_image =
        reqwest::multipart::Form::new().part("image", reqwest::multipart::Part::bytes(png).file_name("b.png"));
    let html = stack
        .http
        .post(format!("{page_form}?lang=ja"))
        .multipart(by_image)
        .send()
        .await?
        .text()
        .await?;
    assert!(
        html.contains("data-status=\"valid\"") && html.contains("検証済み"),
        "image verified on the page, in Japanese"
    );
    let empty = reqwest::multipart::Form::new().text("url", "");
    let html = stack
        .http
        .post(format!("{page_form}?lang=en"))
        .multipart(empty)
        .send()
        .await?
        .text()
        .await?;
    assert!(html.contains("Give a link or an image."));

    // An image with nothing baked in, and a file that is no image: clear 422s.
    use base64::Engine;
    let plain = base64::engine::general_purpose::STANDARD.decode(PNG_2X2)?;
    let (status, body) = upload(&stack, plain, "png", None).await?;
    assert_eq!((status, body["error"]["code"].as_str()), (422, Some("nothing_baked")));
    let (status, body) = upload(&stack, b"GIF89a....".to_vec(), "gif", None).await?;
    assert_eq!((status, body["error"]["code"].as_str()), (422, Some("invalid_image")));

    // A PNG badge image bakes as PNG directly and as SVG around it.
    let issuer = stack.url(Service::Issuer);
    let badge: Value = stack
        .admin(
            Method::POST,
            format!("{issuer}/admin/issuers/{}/badge-classes", seed.issuer_id),
        )
        .json(&json!({"name": "Pixel Badge", "description": "d", "criteria": "c", "image_base64": PNG_2X2}))
        .send()
        .await?
        .json()
        .await?;
    let made: Value = stack
        .admin(Method::POST, format!("{issuer}/admin/awards"))
        .json(&json!({"badge_class_id": badge["id"], "recipient": {"email": "riku@example.ac.jp"}}))
        .send()
        .await?
        .json()
        .await?;
    let award = &made["award"];
    stack
        .wait_for_status(award["badge_page"].as_str().unwrap(), 200, Duration::from_secs(10))
        .await?;
    for extension in ["png", "svg"] {
        let (_, image) = baked(&stack, award, extension).await?;
        let verdict = judge(image, extension, "riku@example.ac.jp").await?;
        assert_eq!(verdict["valid"], true, "PNG-sourced baked {extension}: {verdict:#}");
    }

    // Revoked: nothing is baked any more.
    let award_id = award["award_id"].as_str().unwrap();
    stack
        .admin(Method::POST, format!("{issuer}/admin/awards/{award_id}/revoke"))
        .json(&json!({"reason": "test"}))
        .send()
        .await?;
    stack
        .wait_for_status(
            award["formats"]["ob2_hosted"].as_str().unwrap(),
            410,
            Duration::from_secs(10),
        )
        .await?;
    let gone = stack
        .http
        .get(format!("{}/image.png", award["badge_page"].as_str().unwrap()))
        .send()
        .await?;
    assert_eq!(gone.status(), 410);
    let missing = stack
        .http
        .get(format!(
            "{}/badges/{}/image.png",
            stack.url(Service::Display),
            uuid::Uuid::new_v4()
        ))
        .send()
        .await?;
    assert_eq!(missing.status(), 404);
    Ok(())
}

/// The PNG's text chunks as an independent reader (pypng) sees them.
async fn png_text_chunks(png: Vec<u8>) -> anyhow::Result<Value> {
    tokio::task::spawn_blocking(move || {
        let venv = std::env::var("AKASHI_TEST_VENV").unwrap_or_else(|_| "/var/cache/akashi-venv".into());
        let path = std::env::temp_dir().join(format!("akashi-ob3-{}.png", uuid::Uuid::new_v4()));
        std::fs::write(&path, &png)?;
        let script = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tools/png_text.py");
        let output = std::process::Command::new(format!("{venv}/bin/python"))
            .arg(script)
            .arg(&path)
            .output()?;
        let _ = std::fs::remove_file(&path);
        Ok(serde_json::from_slice(&output.stdout)?)
    })
    .await?
}

/// OB 3.0 baking (`?format=ob3`): PNG `iTXt` `openbadgecredential`
/// (uncompressed) holding the VC-JWT, SVG `openbadges:credential` with it in
/// `verify`; read back by pypng, judged by the VC-JWT judge, and verified by
/// Akashi when uploaded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ob3_baked_images_carry_the_vc_jwt() -> anyhow::Result<()> {
    let stack = Stack::start().await?;
    stack.seed().await?;
    let award = stack
        .complete_course("evt-ob3-bake", "kaito@example.ac.jp", "DEMO-101")
        .await?;
    // Host and display learn of the award over the bus, a moment after the issuer.
    stack
        .wait_for_status(
            award["formats"]["ob2_hosted"].as_str().unwrap(),
            200,
            Duration::from_secs(10),
        )
        .await?;
    let jwt = stack
        .http
        .get(award["formats"]["ob3_vcjwt"].as_str().unwrap())
        .header("accept", "application/jwt")
        .send()
        .await?
        .text()
        .await?;
    let page = award["badge_page"].as_str().unwrap();

    let png = stack
        .wait_for_status(&format!("{page}/image.png?format=ob3"), 200, Duration::from_secs(10))
        .await?;
    assert_eq!(png.status(), 200);
    assert_eq!(png.headers()["content-type"], "image/png");
    let png = png.bytes().await?.to_vec();
    let chunks = png_text_chunks(png.clone()).await?;
    let baked: Vec<&Value> = chunks
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["keyword"] == "openbadgecredential")
        .collect();
    assert_eq!(baked.len(), 1, "one openbadgecredential chunk: {chunks}");
    assert_eq!(baked[0]["type"], "iTXt");
    assert_eq!(baked[0]["compressed"], false);
    assert_eq!(baked[0]["text"], jwt.as_str());
    assert!(
        !chunks.as_array().unwrap().iter().any(|c| c["keyword"] == "openbadges"),
        "no OB 2.0 chunk beside it"
    );
    let verdict = tokio::task::spawn_blocking({
        let jwt = jwt.clone();
        move || akashi_e2e::vcjwt_judge(&["--token", &jwt])
    })
    .await??;
    assert_eq!(verdict["valid"], true, "{verdict:#}");
    let (status, report) = upload(&stack, png, "png", Some("kaito@example.ac.jp")).await?;
    assert_eq!(status, 200);
    assert_eq!(report["format"], "ob3-vcjwt", "{report:#}");
    assert_eq!(report["status"], "valid", "{report:#}");

    let svg = stack
        .http
        .get(format!("{page}/image.svg?format=ob3"))
        .send()
        .await?
        .text()
        .await?;
    assert!(
        svg.contains(r#"xmlns:openbadges="https://purl.imsglobal.org/ob/v3p0""#),
        "{svg}"
    );
    assert!(
        svg.contains(&format!(r#"<openbadges:credential verify="{jwt}">"#)),
        "{svg}"
    );
    let (status, report) = upload(&stack, svg.into_bytes(), "svg", None).await?;
    assert_eq!(status, 200);
    assert_eq!(report["status"], "valid", "{report:#}");

    let unknown = stack.http.get(format!("{page}/image.png?format=ob4")).send().await?;
    assert_eq!(unknown.status(), 422);
    Ok(())
}
