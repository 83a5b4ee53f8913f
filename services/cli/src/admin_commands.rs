//! `akashi rules …`, `akashi decisions …`, `akashi learners …`,
//! `akashi badge-classes …`: the admin API from a shell, with progress bars
//! for bulk work.
//! Lists and results print as JSON on stdout (for scripts); progress and
//! summaries go to stderr.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::Subcommand;
use indicatif::{ProgressBar, ProgressStyle};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::{Admin, urlencode};

#[derive(Subcommand)]
pub enum RulesCommand {
    /// Lists the rules the token sees.
    List,
    /// Creates a rule: a course (with an activity and a minimum grade), or
    /// a full definition from a JSON file (`-` for stdin; docs/rules.md).
    Create {
        #[arg(long)]
        badge_class: String,
        #[arg(long)]
        name: Option<String>,
        #[arg(long, conflicts_with = "definition")]
        course: Option<String>,
        #[arg(long, requires = "course")]
        activity: Option<String>,
        #[arg(long, requires = "course")]
        min_grade: Option<f64>,
        #[arg(long)]
        definition: Option<PathBuf>,
    },
    /// A new version of a rule's definition, and/or turning it on or off.
    Update {
        id: String,
        #[arg(long)]
        definition: Option<PathBuf>,
        #[arg(long)]
        active: Option<bool>,
    },
    /// Who the rule would award from events already received, and why not.
    DryRun { id: String },
    /// Awards what the dry run lists (asks for --yes after showing it).
    Apply {
        id: String,
        #[arg(long)]
        yes: bool,
    },
    /// Dry-runs every rule, then applies those that would award someone.
    ApplyAll {
        #[arg(long)]
        yes: bool,
    },
    /// Why a learner has, or has not, the rule's badge.
    Explain {
        id: String,
        #[arg(long)]
        learner: String,
    },
}

#[derive(Subcommand)]
pub enum DecisionsCommand {
    /// The decision log (newest first).
    List {
        #[arg(long)]
        learner: Option<String>,
        #[arg(long)]
        rule: Option<String>,
        /// `requested`, `pending` (the approval queue) or `rejected`.
        #[arg(long)]
        status: Option<String>,
    },
    /// Approves or rejects a pending award.
    Review {
        id: String,
        #[arg(long, conflicts_with = "reject", required_unless_present = "reject")]
        approve: bool,
        #[arg(long)]
        reject: bool,
        #[arg(long)]
        note: Option<String>,
    },
}

#[derive(Subcommand)]
pub enum LearnersCommand {
    /// Sets learners' cohorts, groups, sections and roles from a CSV with
    /// the header `email,cohorts,groups,sections,roles` (lists separated by
    /// `;`), one request per learner, with a progress bar.
    ImportAttributes { csv: PathBuf },
}

#[derive(Subcommand)]
pub enum BadgeClassesCommand {
    /// Creates an issuer's badge classes from a CSV, in Japanese and
    /// English. Header: `name,description,criteria,image` (a PNG or SVG
    /// path, relative to the CSV) and optionally `language` (`en`/`ja`, of
    /// the main texts), `name_ja,description_ja,criteria_ja` (or `…_en`),
    /// `criteria_url`, `tags`, `formats` (lists separated by `;`). A class
    /// that exists (same name) gets its translations brought up to date;
    /// the rest is left as it is. Prints what happened to each row.
    Import {
        #[arg(long)]
        issuer: String,
        csv: PathBuf,
    },
}

/// A CSV cell holding a list: `a; b;c` → `["a", "b", "c"]`.
fn semicolon_list(cell: Option<&str>) -> Vec<String> {
    cell.map(|v| {
        v.split(';')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    })
    .unwrap_or_default()
}

fn read_json(path: &Path) -> anyhow::Result<Value> {
    let text = if path == Path::new("-") {
        std::io::read_to_string(std::io::stdin())?
    } else {
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?
    };
    serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))
}

fn print(value: &Value) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

fn bar(len: u64, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(len);
    bar.set_style(
        ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} ({eta})")
            .expect("a valid progress template")
            .progress_chars("=> "),
    );
    bar.set_message(what.to_string());
    bar
}

fn summary(evaluation: &Value) -> String {
    let n = |k: &str| evaluation[k].as_array().map_or(0, Vec::len);
    format!(
        "would award {}, already awarded {}, would not {}, held events {}",
        n("would_award"),
        n("already_awarded"),
        n("would_not"),
        evaluation["held_events"]
    )
}

/// `POST /admin/rules/{id}/dry-run` or `/apply`: the evaluation.
async fn rule_action(admin: &Admin, rules_url: &str, id: &str, action: &str) -> anyhow::Result<Value> {
    admin
        .expect(
            Method::POST,
            &format!("{rules_url}/{id}/{action}"),
            None,
            &[StatusCode::OK],
        )
        .await
}

pub async fn rules(admin: &Admin, lms: &str, command: &RulesCommand) -> anyhow::Result<()> {
    let rules_url = format!("{lms}/admin/rules");
    match command {
        RulesCommand::List => print(&admin.expect(Method::GET, &rules_url, None, &[StatusCode::OK]).await?),
        RulesCommand::Create {
            badge_class,
            name,
            course,
            activity,
            min_grade,
            definition,
        } => {
            let mut body = json!({"badge_class_id": badge_class, "name": name});
            match (definition, course) {
                (Some(path), _) => body["definition"] = read_json(path)?,
                (None, Some(course)) => {
                    body["course_id"] = json!(course);
                    body["activity_id"] = json!(activity);
                    body["min_grade"] = json!(min_grade);
                }
                (None, None) => bail!("give --course or --definition"),
            }
            print(
                &admin
                    .expect(Method::POST, &rules_url, Some(body), &[StatusCode::CREATED])
                    .await?,
            )
        }
        RulesCommand::Update { id, definition, active } => {
            let mut body = json!({});
            if let Some(path) = definition {
                body["definition"] = read_json(path)?;
            }
            if let Some(active) = active {
                body["active"] = json!(active);
            }
            print(
                &admin
                    .expect(Method::PUT, &format!("{rules_url}/{id}"), Some(body), &[StatusCode::OK])
                    .await?,
            )
        }
        RulesCommand::DryRun { id } => {
            let e = rule_action(admin, &rules_url, id, "dry-run").await?;
            eprintln!("{}", summary(&e));
            print(&e)
        }
        RulesCommand::Apply { id, yes } => {
            let e = rule_action(admin, &rules_url, id, "dry-run").await?;
            eprintln!("{}", summary(&e));
            if !yes {
                bail!("nothing applied: run again with --yes to award what the dry run lists");
            }
            let applied = rule_action(admin, &rules_url, id, "apply").await?;
            eprintln!("awarded {}", applied["awarded"]);
            print(&applied)
        }
        RulesCommand::ApplyAll { yes } => {
            let all = admin.expect(Method::GET, &rules_url, None, &[StatusCode::OK]).await?;
            let all = all.as_array().cloned().unwrap_or_default();
            let progress = bar(all.len() as u64, if *yes { "applying" } else { "dry-running" });
            let mut results = Vec::new();
            for rule in &all {
                let id = rule["id"].as_str().context("rule id")?;
                let e = rule_action(admin, &rules_url, id, "dry-run").await?;
                let would = e["would_award"].as_array().map_or(0, Vec::len);
                let awarded = if *yes && would > 0 {
                    let applied = rule_action(admin, &rules_url, id, "apply").await?;
                    applied["awarded"].as_u64().unwrap_or(0)
                } else {
                    0
                };
                results.push(json!({"rule_id": id, "would_award": would, "awarded": awarded}));
                progress.inc(1);
            }
            progress.finish_and_clear();
            let total: u64 = results.iter().filter_map(|r| r["awarded"].as_u64()).sum();
            eprintln!("{} rules, {total} awarded", results.len());
            print(&Value::Array(results))
        }
        RulesCommand::Explain { id, learner } => print(
            &admin
                .expect(
                    Method::GET,
                    &format!("{rules_url}/{id}/explain?learner={}", urlencode(learner)),
                    None,
                    &[StatusCode::OK],
                )
                .await?,
        ),
    }
}

pub async fn decisions(admin: &Admin, lms: &str, command: &DecisionsCommand) -> anyhow::Result<()> {
    match command {
        DecisionsCommand::List { learner, rule, status } => {
            let mut url = format!("{lms}/admin/decisions?limit=1000");
            for (k, v) in [("learner", learner), ("rule_id", rule), ("status", status)] {
                if let Some(v) = v {
                    url.push_str(&format!("&{k}={}", urlencode(v)));
                }
            }
            print(&admin.expect(Method::GET, &url, None, &[StatusCode::OK]).await?)
        }
        DecisionsCommand::Review { id, approve, note, .. } => print(
            &admin
                .expect(
                    Method::POST,
                    &format!("{lms}/admin/decisions/{id}/review"),
                    Some(json!({"approve": approve, "note": note})),
                    &[StatusCode::OK],
                )
                .await?,
        ),
    }
}

pub async fn learners(admin: &Admin, lms: &str, command: &LearnersCommand) -> anyhow::Result<()> {
    let LearnersCommand::ImportAttributes { csv } = command;
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_path(csv)
        .with_context(|| format!("reading {}", csv.display()))?;
    let headers = reader.headers()?.clone();
    let column = |name: &str| headers.iter().position(|h| h == name);
    let email = column("email").context("the CSV has no email column")?;
    let rows: Vec<csv::StringRecord> = reader.records().collect::<Result<_, _>>()?;
    let progress = bar(rows.len() as u64, "learners");
    let (mut done, mut failed) = (0usize, Vec::new());
    for row in &rows {
        let list = |name: &str| semicolon_list(column(name).and_then(|i| row.get(i)));
        let address = row.get(email).unwrap_or_default();
        let body = json!({"cohorts": list("cohorts"), "groups": list("groups"), "sections": list("sections"), "roles": list("roles")});
        let url = format!("{lms}/admin/learners/{}/attributes", urlencode(address));
        match admin.call(Method::PUT, &url, Some(body)).await? {
            (StatusCode::OK, _) => done += 1,
            (status, answer) => {
                failed.push(json!({"email": address, "status": status.as_u16(), "error": answer["error"]}))
            }
        }
        progress.inc(1);
    }
    progress.finish_and_clear();
    eprintln!("{done} learners updated, {} refused", failed.len());
    print(&json!({"updated": done, "refused": failed}))?;
    if !failed.is_empty() {
        std::process::exit(1);
    }
    Ok(())
}

/// The translations a badge-class CSV row gives: `{"ja": {…}}` for the
/// language that is not the row's own, when any of its texts is there.
fn row_translations(cell: &dyn Fn(&str) -> Option<String>, own: &str) -> anyhow::Result<Value> {
    let mut translations = serde_json::Map::new();
    for language in ["en", "ja"].into_iter().filter(|l| *l != own) {
        let texts: Vec<Option<String>> = ["name", "description", "criteria"]
            .iter()
            .map(|field| cell(&format!("{field}_{language}")))
            .collect();
        match texts.as_slice() {
            [None, None, None] => {}
            [Some(name), Some(description), Some(criteria)] => {
                translations.insert(
                    language.into(),
                    json!({"name": name, "description": description, "criteria": criteria}),
                );
            }
            _ => bail!("give name_{language}, description_{language} and criteria_{language} together"),
        }
    }
    Ok(Value::Object(translations))
}

pub async fn badge_classes(admin: &Admin, issuer_url: &str, command: &BadgeClassesCommand) -> anyhow::Result<()> {
    use base64::Engine;
    let BadgeClassesCommand::Import { issuer, csv } = command;
    let base = csv.parent().map(Path::to_path_buf).unwrap_or_default();
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_path(csv)
        .with_context(|| format!("reading {}", csv.display()))?;
    let headers = reader.headers()?.clone();
    for required in ["name", "description", "criteria", "image"] {
        if !headers.iter().any(|h| h == required) {
            bail!("the CSV has no {required} column");
        }
    }
    let rows: Vec<csv::StringRecord> = reader.records().collect::<Result<_, _>>()?;
    let classes_url = format!("{issuer_url}/admin/issuers/{}/badge-classes", urlencode(issuer));
    let existing = admin.expect(Method::GET, &classes_url, None, &[StatusCode::OK]).await?;
    let progress = bar(rows.len() as u64, "badge classes");
    let mut results = Vec::new();
    let mut refused = 0usize;
    for (n, row) in rows.iter().enumerate() {
        let cell = |name: &str| {
            headers
                .iter()
                .position(|h| h == name)
                .and_then(|i| row.get(i))
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
        };
        let list = |name: &str| semicolon_list(cell(name).as_deref());
        let name = cell("name").unwrap_or_default();
        let language = cell("language").unwrap_or_else(|| "en".into());
        let outcome: anyhow::Result<Value> = async {
            let translations = row_translations(&cell, &language)?;
            let found = existing
                .as_array()
                .into_iter()
                .flatten()
                .find(|b| b["name"].as_str() == Some(name.as_str()));
            if let Some(class) = found {
                // Only the translations are brought up to date: the rest of
                // an issued badge class is what its credentials were signed with.
                let id = class["id"].as_str().unwrap_or_default();
                let mut changed = Vec::new();
                for (lang, texts) in translations.as_object().into_iter().flatten() {
                    if class["translations"][lang] != *texts {
                        let url = format!("{issuer_url}/admin/badge-classes/{id}/translations/{lang}");
                        admin
                            .expect(Method::PUT, &url, Some(texts.clone()), &[StatusCode::OK])
                            .await?;
                        changed.push(lang.clone());
                    }
                }
                let status = if changed.is_empty() { "unchanged" } else { "translated" };
                return Ok(json!({"status": status, "id": id, "languages": changed}));
            }
            let image_path = base.join(cell("image").unwrap_or_default());
            let image = std::fs::read(&image_path).with_context(|| format!("reading {}", image_path.display()))?;
            let mut body = json!({
                "name": name,
                "description": cell("description").unwrap_or_default(),
                "criteria": cell("criteria").unwrap_or_default(),
                "language": language,
                "translations": translations,
                "tags": list("tags"),
                "formats": list("formats"),
                "image_base64": base64::engine::general_purpose::STANDARD.encode(image),
            });
            if let Some(url) = cell("criteria_url") {
                body["criteria_url"] = json!(url);
            }
            match admin.call(Method::POST, &classes_url, Some(body)).await? {
                (StatusCode::CREATED, created) => Ok(json!({"status": "created", "id": created["id"]})),
                (status, answer) => bail!("{status}: {}", answer["error"]["message"].as_str().unwrap_or_default()),
            }
        }
        .await;
        let mut result = match outcome {
            Ok(done) => done,
            Err(e) => {
                refused += 1;
                json!({"status": "refused", "error": format!("{e:#}")})
            }
        };
        result["row"] = json!(n + 2);
        result["name"] = json!(name);
        results.push(result);
        progress.inc(1);
    }
    progress.finish_and_clear();
    eprintln!("{} rows, {refused} refused", rows.len());
    print(&json!({"results": results}))?;
    if refused > 0 {
        std::process::exit(1);
    }
    Ok(())
}
