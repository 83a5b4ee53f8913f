//! A machine with no font at all: display still prints certificates (in
//! Japanese too) and share images, with the IPAex Gothic it carries — so
//! `./scripts/up` on a fresh machine needs no font package.
//!
//! Display's font lookup is pointed, through fontconfig's own
//! `FONTCONFIG_FILE`, at an empty directory: it sees no system font.

use std::time::Duration;

use akashi_e2e::{Service, Stack, pdf_text};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn certificates_and_share_images_need_no_installed_font() -> anyhow::Result<()> {
    let dir = std::env::temp_dir().join(format!("akashi-no-fonts-{}", uuid::Uuid::new_v4()));
    let empty = dir.join("fonts");
    std::fs::create_dir_all(&empty)?;
    let conf = dir.join("fonts.conf");
    std::fs::write(
        &conf,
        format!(
            "<?xml version=\"1.0\"?>\n<fontconfig><dir>{}</dir></fontconfig>\n",
            empty.display()
        ),
    )?;
    let mut stack = Stack::start().await?;
    stack.set_env(Service::Display, "FONTCONFIG_FILE", conf.to_str().unwrap());
    stack.restart(Service::Display).await?;
    stack.seed().await?;
    let display = stack.url(Service::Display);
    let ready = stack.http.get(format!("{display}/readyz")).send().await?;
    assert_eq!(ready.status(), 200, "nothing to install: {}", ready.text().await?);

    let award = stack
        .complete_course("evt-fresh-1", "yui@example.ac.jp", "DEMO-101")
        .await?;
    let id = award["award_id"].as_str().unwrap().to_string();
    for (lang, title) in [("ja", "修了証"), ("en", "Certificate of Achievement")] {
        let response = stack
            .http
            .get(format!("{display}/badges/{id}/certificate.pdf?lang={lang}"))
            .send()
            .await?;
        assert_eq!(response.status(), 200, "{lang}");
        let pdf = response.bytes().await?.to_vec();
        let fonts = {
            let path = dir.join(format!("certificate-{lang}.pdf"));
            std::fs::write(&path, &pdf)?;
            let out = std::process::Command::new("pdffonts").arg(&path).output()?;
            String::from_utf8_lossy(&out.stdout).into_owned()
        };
        let embedded = fonts.lines().find(|l| l.contains("IPAexGothic")).unwrap_or_default();
        assert!(
            embedded.split_whitespace().filter(|w| *w == "yes").count() >= 2,
            "IPAex Gothic embedded and subset: {fonts}"
        );
        let text = tokio::task::spawn_blocking(move || pdf_text(&pdf)).await??;
        assert!(text.contains(title), "{lang}: {text}");
    }
    // The share image draws its words with the same font.
    let card = stack
        .wait_for_status(
            &format!("{display}/badges/{id}/og.png?lang=ja"),
            200,
            Duration::from_secs(10),
        )
        .await?;
    assert_eq!(card.headers()["content-type"], "image/png");
    assert!(card.bytes().await?.len() > 10_000, "a full share image");
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
