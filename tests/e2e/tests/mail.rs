//! E-mail to earners through a real SMTP server (PyPI aiosmtpd): the award
//! mail arrives once — although the SMTP server is down at first and
//! display crashes after recording the award, before acknowledging it, so
//! the message is delivered to it twice — with the badge page's link in
//! Japanese and English; the revocation mail follows with the reason.

use std::time::{Duration, Instant};

use akashi_e2e::smtp::{mails, readable, start_sink, wait_for_mails};
use akashi_e2e::{Service, Stack};
use reqwest::Method;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_earner_gets_one_mail_on_award_and_one_on_revocation() -> anyhow::Result<()> {
    let mut stack = Stack::start().await?;
    stack.seed().await?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let dir = std::env::temp_dir().join(format!("akashi-mail-{}", uuid::Uuid::new_v4()));
    let smtp = format!("smtp://127.0.0.1:{port}");
    // Display crashes after its transaction commits and before it acks
    // badge.issued: the broker delivers the message again after the restart.
    stack.set_env(Service::Display, "AKASHI_DISPLAY_MAIL__SMTP_URL", &smtp);
    stack.set_env(Service::Display, "AKASHI_TEST_CRASH_BEFORE_ACK", "badge.issued");
    stack.restart(Service::Display).await?;

    let email = "mei@example.ac.jp";
    let response = stack
        .post_completion(&Stack::completion("evt-mail-1", email, "DEMO-101"))
        .await?;
    assert_eq!(response.status(), 202);
    stack.wait_exit(Service::Display, Duration::from_secs(20)).await?;
    stack.clear_env(Service::Display);
    stack.set_env(Service::Display, "AKASHI_DISPLAY_MAIL__SMTP_URL", &smtp);
    stack.restart(Service::Display).await?;
    let award = stack
        .wait_for_awards(email, 1, Duration::from_secs(10))
        .await?
        .remove(0);
    // The SMTP server is down until now: the mail waits and is retried.
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let tried = stack
            .count(
                Service::Display,
                "SELECT count(*) AS n FROM mail_outbox WHERE sent_at IS NULL AND attempts > 0",
            )
            .await?;
        if tried == 1 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the mail was never tried while SMTP was down"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _sink = start_sink(port, &dir)?;

    let found = wait_for_mails(&dir, 1, Duration::from_secs(30)).await?;
    let mail = readable(&found[0]);
    let page = award["badge_page"].as_str().unwrap();
    assert!(
        mail.contains(&format!("To: {email}")) || mail.contains(&format!("<{email}>")),
        "{mail}"
    );
    assert!(mail.contains(&format!("{page}?lang=ja")), "{mail}");
    assert!(mail.contains(&format!("{page}?lang=en")), "{mail}");
    assert!(
        mail.contains(&format!(
            "X-Akashi-Mail: {}.issued",
            award["award_id"].as_str().unwrap()
        )),
        "{mail}"
    );
    // Still exactly one a while later (the redelivery queued nothing more).
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(mails(&dir).len(), 1, "exactly one award mail");
    assert_eq!(
        stack
            .count(Service::Display, "SELECT count(*) AS n FROM mail_outbox")
            .await?,
        1
    );
    // An admin asks for the mail again (the console's "resend"): one more.
    let award_id = award["award_id"].as_str().unwrap();
    let resend = stack
        .admin(
            Method::POST,
            format!("{}/admin/awards/{award_id}/resend-mail", stack.url(Service::Issuer)),
        )
        .send()
        .await?;
    assert_eq!(resend.status(), 202);
    let found = wait_for_mails(&dir, 2, Duration::from_secs(20)).await?;
    assert!(readable(&found[1]).contains(&format!("X-Akashi-Mail: {award_id}.issued")));
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(mails(&dir).len(), 2, "one resend, one more mail");

    stack.revoke(&award, "Issued in error").await?;
    let found = wait_for_mails(&dir, 3, Duration::from_secs(20)).await?;
    let revoked = readable(&found[2]);
    assert!(revoked.contains(".revoked"), "{revoked}");
    assert!(revoked.contains(&format!("{page}?lang=en")), "{revoked}");
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(mails(&dir).len(), 3, "two award mails, one revocation mail");
    let again = stack
        .admin(
            Method::POST,
            format!("{}/admin/awards/{award_id}/resend-mail", stack.url(Service::Issuer)),
        )
        .send()
        .await?;
    assert_eq!(again.status(), 409, "a revoked award's mail is not resent");
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
