//! Crashes and broker restarts: nothing lost, nothing doubled.
//!
//! These tests stop processes and restart the machine's RabbitMQ, so
//! `./scripts/test` runs this binary on its own, one test at a time.

use std::process::Command;
use std::time::Duration;

use akashi_e2e::{Service, Stack};

const CRASH_ENV: &str = "AKASHI_TEST_CRASH_BEFORE_ACK";

async fn assert_exactly_one_each(stack: &Stack, emails: &[String]) -> anyhow::Result<()> {
    for email in emails {
        stack.wait_for_awards(email, 1, Duration::from_secs(60)).await?;
    }
    // Redeliveries would come within this margin.
    tokio::time::sleep(Duration::from_secs(3)).await;
    for email in emails {
        assert_eq!(stack.awards(email).await?.len(), 1, "{email}: exactly one award");
    }
    let n = emails.len() as i64;
    assert_eq!(
        stack.count(Service::Issuer, "SELECT count(*) AS n FROM awards").await?,
        n
    );
    let hosted = "SELECT count(*) AS n FROM hosted_assertions";
    for _ in 0..200 {
        if stack.count(Service::Host, hosted).await? == n {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(stack.count(Service::Host, hosted).await?, n, "every award hosted once");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issuer_killed_before_consuming_issues_exactly_once_after_restart() -> anyhow::Result<()> {
    let mut stack = Stack::start().await?;
    stack.seed().await?;
    stack.kill(Service::Issuer);
    let emails: Vec<String> = (0..5).map(|i| format!("killed{i}@example.ac.jp")).collect();
    for (i, email) in emails.iter().enumerate() {
        let r = stack
            .post_completion(&Stack::completion(&format!("evt-kill-{i}"), email, "DEMO-101"))
            .await?;
        assert_eq!(r.status(), 202, "the adapter accepts while the issuer is down");
    }
    // The requests wait, durable, in the issuer's queue.
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        stack
            .count(
                Service::LmsAdapter,
                "SELECT count(*) AS n FROM bus_outbox WHERE published_at IS NULL"
            )
            .await?,
        0,
        "published while the issuer was down"
    );
    stack.restart(Service::Issuer).await?;
    assert_exactly_one_each(&stack, &emails).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issuer_crashing_after_commit_before_ack_does_not_double_the_badge() -> anyhow::Result<()> {
    let mut stack = Stack::start().await?;
    stack.seed().await?;
    // The issuer aborts right after its transaction commits, before the ack.
    stack.set_env(Service::Issuer, CRASH_ENV, "issue.requested");
    stack.restart(Service::Issuer).await?;
    let email = "crash@example.ac.jp".to_string();
    let r = stack
        .post_completion(&Stack::completion("evt-crash-1", &email, "DEMO-101"))
        .await?;
    assert_eq!(r.status(), 202);
    stack.wait_exit(Service::Issuer, Duration::from_secs(20)).await?;
    assert_eq!(
        stack.count(Service::Issuer, "SELECT count(*) AS n FROM awards").await?,
        1,
        "the award committed before the crash"
    );
    // Restarted normally, the issuer receives the unacked message again and
    // must recognise it.
    stack.clear_env(Service::Issuer);
    stack.restart(Service::Issuer).await?;
    assert_exactly_one_each(&stack, std::slice::from_ref(&email)).await?;
    let log = std::fs::read_to_string(stack.log_path(Service::Issuer))?;
    assert!(
        log.contains("redelivered message ignored (inbox)"),
        "the redelivery was seen and ignored"
    );
    Ok(())
}

fn rabbitmqctl(args: &[&str]) -> anyhow::Result<()> {
    let status = Command::new("rabbitmqctl").args(args).status()?;
    anyhow::ensure!(status.success(), "rabbitmqctl {args:?} failed: {status}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rabbitmq_restart_mid_flow_loses_nothing() -> anyhow::Result<()> {
    let mut stack = Stack::start().await?;
    stack.seed().await?;
    let before: Vec<String> = (0..10).map(|i| format!("before{i}@example.ac.jp")).collect();
    let during: Vec<String> = (0..5).map(|i| format!("during{i}@example.ac.jp")).collect();
    let after: Vec<String> = (0..5).map(|i| format!("after{i}@example.ac.jp")).collect();
    for (i, email) in before.iter().enumerate() {
        assert_eq!(
            stack
                .post_completion(&Stack::completion(&format!("evt-b{i}"), email, "DEMO-101"))
                .await?
                .status(),
            202
        );
    }
    // Stop the broker while those are in flight.
    tokio::task::spawn_blocking(|| rabbitmqctl(&["stop_app"])).await??;
    // With the broker down, completions are still accepted: they wait in the outbox.
    for (i, email) in during.iter().enumerate() {
        assert_eq!(
            stack
                .post_completion(&Stack::completion(&format!("evt-d{i}"), email, "DEMO-101"))
                .await?
                .status(),
            202
        );
    }
    tokio::task::spawn_blocking(|| rabbitmqctl(&["start_app"])).await??;
    tokio::task::spawn_blocking(|| rabbitmqctl(&["await_startup"])).await??;
    for service in Service::ALL {
        stack.wait_ready(service, Duration::from_secs(60)).await?;
    }
    for (i, email) in after.iter().enumerate() {
        assert_eq!(
            stack
                .post_completion(&Stack::completion(&format!("evt-a{i}"), email, "DEMO-101"))
                .await?
                .status(),
            202
        );
    }
    let all: Vec<String> = before.into_iter().chain(during).chain(after).collect();
    assert_exactly_one_each(&stack, &all).await
}
