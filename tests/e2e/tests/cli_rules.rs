//! The `akashi` command line over the rule API: learner attributes from a
//! CSV (one bad row refused, the rest applied), a rule from a JSON file,
//! a dry run, an apply that needs --yes, apply-all (idempotent), and the
//! decision log — against the real stack.

use std::time::Duration;

use akashi_e2e::{Service, Stack, bin_dir};
use serde_json::{Value, json};

struct Run {
    ok: bool,
    stdout: Value,
    stderr: String,
}

async fn akashi(stack: &Stack, args: &[&str]) -> anyhow::Result<Run> {
    let output = tokio::process::Command::new(bin_dir().join("akashi"))
        .args(args)
        .env("AKASHI_ISSUER_URL", stack.url(Service::Issuer))
        .env("AKASHI_LMS_ADAPTER_URL", stack.url(Service::LmsAdapter))
        .env("AKASHI_ADMIN_TOKEN", &stack.admin_token)
        .output()
        .await?;
    Ok(Run {
        ok: output.status.success(),
        stdout: serde_json::from_slice(&output.stdout).unwrap_or(Value::Null),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rules_from_the_command_line() -> anyhow::Result<()> {
    let stack = Stack::start().await?;
    let seed = stack.seed().await?;
    for (i, (email, grade)) in [
        ("aki@cli.example.ac.jp", 0.9),
        ("ben@cli.example.ac.jp", 0.9),
        ("chika@cli.example.ac.jp", 0.5),
    ]
    .iter()
    .enumerate()
    {
        let mut body = Stack::completion(&format!("evt-cli-{i}"), email, "CLI-101");
        body["grade"] = json!(grade);
        assert_eq!(stack.post_completion(&body).await?.status(), 202);
    }
    let dir = std::env::temp_dir().join(format!("akashi-cli-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir)?;
    let csv = dir.join("learners.csv");
    std::fs::write(
        &csv,
        "email,cohorts,groups,sections,roles\n\
         aki@cli.example.ac.jp,2026;honours,g1,,Learner\n\
         ben@cli.example.ac.jp,2025,g1,,Learner\n\
         chika@cli.example.ac.jp,2026,,,\n\
         not-an-address,2026,,,\n",
    )?;
    let imported = akashi(&stack, &["learners", "import-attributes", csv.to_str().unwrap()]).await?;
    assert!(!imported.ok, "a refused row fails the command");
    assert_eq!(imported.stdout["updated"], 3, "{}", imported.stderr);
    assert_eq!(imported.stdout["refused"][0]["email"], "not-an-address");
    assert!(
        imported.stderr.contains("3 learners updated, 1 refused"),
        "{}",
        imported.stderr
    );

    let definition = dir.join("rule.json");
    std::fs::write(
        &definition,
        json!({"criteria": {"grade": {"course": "CLI-101", "min": 0.8}}, "filters": {"cohorts": ["2026"]}}).to_string(),
    )?;
    let created = akashi(
        &stack,
        &[
            "rules",
            "create",
            "--badge-class",
            &seed.badge_class_id,
            "--name",
            "CLI honours",
            "--definition",
            definition.to_str().unwrap(),
        ],
    )
    .await?;
    assert!(created.ok, "{}", created.stderr);
    let rule_id = created.stdout["id"].as_str().unwrap().to_string();

    let dry = akashi(&stack, &["rules", "dry-run", &rule_id]).await?;
    assert!(dry.ok, "{}", dry.stderr);
    assert_eq!(dry.stdout["would_award"][0]["learner"], "aki@cli.example.ac.jp");
    assert_eq!(dry.stdout["would_award"].as_array().map(Vec::len), Some(1));
    assert!(
        dry.stderr.contains("would award 1, already awarded 0, would not 2"),
        "{}",
        dry.stderr
    );

    let unconfirmed = akashi(&stack, &["rules", "apply", &rule_id]).await?;
    assert!(
        !unconfirmed.ok && unconfirmed.stderr.contains("--yes"),
        "{}",
        unconfirmed.stderr
    );
    assert!(
        stack.awards("aki@cli.example.ac.jp").await?.is_empty(),
        "nothing applied without --yes"
    );
    let applied = akashi(&stack, &["rules", "apply", &rule_id, "--yes"]).await?;
    assert!(applied.ok, "{}", applied.stderr);
    assert_eq!(applied.stdout["awarded"], 1);
    stack
        .wait_for_awards("aki@cli.example.ac.jp", 1, Duration::from_secs(60))
        .await?;

    let all = akashi(&stack, &["rules", "apply-all", "--yes"]).await?;
    assert!(all.ok, "{}", all.stderr);
    assert!(
        all.stdout.as_array().unwrap().iter().all(|r| r["awarded"] == 0),
        "applying again awards nothing: {}",
        all.stdout
    );
    let log = akashi(&stack, &["decisions", "list", "--rule", &rule_id]).await?;
    assert_eq!(log.stdout.as_array().map(Vec::len), Some(1), "{}", log.stdout);
    assert_eq!(log.stdout[0]["decided_by"], "retroactive");
    let why = akashi(
        &stack,
        &["rules", "explain", &rule_id, "--learner", "ben@cli.example.ac.jp"],
    )
    .await?;
    assert_eq!(
        why.stdout["verdict"]["failed"][0],
        r#"the learner is in no cohort of ["2026"]"#
    );
    assert!(stack.awards("ben@cli.example.ac.jp").await?.is_empty());
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn badge_classes_in_two_languages_from_a_csv() -> anyhow::Result<()> {
    let stack = Stack::start().await?;
    let seed = stack.seed().await?;
    let dir = std::env::temp_dir().join(format!("akashi-cli-classes-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(dir.join("images"))?;
    std::fs::write(
        dir.join("images/stats.svg"),
        include_bytes!("../../../deploy/demo/badge.svg"),
    )?;
    let csv = dir.join("classes.csv");
    let write = |body: &str| std::fs::write(&csv, body);
    let csv_path = csv.to_str().unwrap().to_string();
    let import_args = ["badge-classes", "import", "--issuer", &seed.issuer_id, &csv_path];
    let import = || akashi(&stack, &import_args);
    write(
        "name,description,criteria,image,language,name_ja,description_ja,criteria_ja,tags,formats\n\
         Statistics I,Awarded for Statistics I.,Pass STAT-101.,images/stats.svg,en,統計学 I,統計学 I の修了により授与。,STAT-101 に合格すること。,stats;year-1,ob2_hosted;ob3_vcjwt\n\
         機械学習入門,機械学習入門の修了により授与。,ML-101 を修了すること。,images/stats.svg,ja,,,,,\n\
         Half translated,d,c,images/stats.svg,en,半分,,,,\n\
         No image,d,c,images/missing.svg,en,,,,,\n",
    )?;
    let run = import().await?;
    assert!(!run.ok, "refused rows fail the command: {}", run.stderr);
    let results = run.stdout["results"].as_array().cloned().unwrap_or_default();
    let statuses: Vec<&str> = results.iter().filter_map(|r| r["status"].as_str()).collect();
    assert_eq!(statuses, ["created", "created", "refused", "refused"], "{}", run.stdout);
    assert!(
        results[2]["error"].as_str().unwrap().contains("together"),
        "{}",
        results[2]
    );
    assert_eq!(results[3]["row"], 5, "rows are numbered as in the file, header = 1");

    let issuer = stack.url(Service::Issuer);
    let class_url = |n: usize| format!("{issuer}/admin/badge-classes/{}", results[n]["id"].as_str().unwrap());
    let stats: Value = stack.admin_json(&class_url(0)).await?;
    assert_eq!(stats["translations"]["ja"]["name"], "統計学 I");
    assert_eq!(stats["tags"], json!(["stats", "year-1"]));
    assert_eq!(stats["formats"], json!(["ob2_hosted", "ob3_vcjwt"]));
    let ml: Value = stack.admin_json(&class_url(1)).await?;
    assert_eq!(
        (ml["language"].as_str(), ml["translations"].as_object().map(|t| t.len())),
        (Some("ja"), Some(0))
    );

    // Again, with an English translation added to the Japanese class: the
    // existing classes are kept, only that translation changes.
    write(
        "name,description,criteria,image,language,name_ja,description_ja,criteria_ja,name_en,description_en,criteria_en\n\
         Statistics I,Awarded for Statistics I.,Pass STAT-101.,images/stats.svg,en,統計学 I,統計学 I の修了により授与。,STAT-101 に合格すること。,,,\n\
         機械学習入門,機械学習入門の修了により授与。,ML-101 を修了すること。,images/stats.svg,ja,,,,Introduction to Machine Learning,Awarded for ML-101.,Complete ML-101.\n",
    )?;
    let again = import().await?;
    assert!(again.ok, "{}", again.stderr);
    let statuses: Vec<&str> = again.stdout["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["status"].as_str())
        .collect();
    assert_eq!(statuses, ["unchanged", "translated"], "{}", again.stdout);
    let ml: Value = stack.admin_json(&class_url(1)).await?;
    assert_eq!(ml["translations"]["en"]["name"], "Introduction to Machine Learning");
    let listed: Value = stack
        .admin_json(&format!("{issuer}/admin/issuers/{}/badge-classes", seed.issuer_id))
        .await?;
    assert_eq!(
        listed.as_array().map(Vec::len),
        Some(3),
        "the demo class and two imported: {listed}"
    );
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
