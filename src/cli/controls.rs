//! `driftwatch controls`: the control catalog (built-in, then the custom
//! controls the config loads), or one framework's requirements with the
//! controls that evidence them. Needs no database.

use super::output::{print_json, print_table};
use crate::config::Config;
use crate::evaluate::{CustomControl, CustomControls, ScopeData, Verdict};
use crate::frameworks;
use crate::model::{Document, ResourceRecord, ResourceType};
use crate::report::catalog;
use crate::store::Store;
use anyhow::Context;
use anyhow::{Result, bail};
use clap::ValueEnum;
use serde_json::json;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum CatalogFormat {
    Table,
    Json,
    /// The Markdown of `docs/controls.md` (the whole catalog).
    Md,
}

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    pub action: Option<Action>,
    /// A framework id: soc2, pci-dss-4.0, cis-aws-5.0.
    #[arg(long)]
    pub framework: Option<String>,
    #[arg(long, value_enum, default_value_t = CatalogFormat::Table)]
    pub format: CatalogFormat,
}

#[derive(clap::Subcommand, Debug)]
pub enum Action {
    /// Run the custom controls' tests: each module's `test_*` rules and
    /// each control's fixtures (`tests/<module>/*.json` beside it). Exits
    /// 1 when any fails, for a team's CI.
    Test {
        /// Files or folders of `.rego` modules; default: the config's
        /// `custom_controls.paths`.
        paths: Vec<PathBuf>,
    },
    /// Evaluate one control against a resource's stored document and
    /// print the verdict with its trace (each rule's value, what `print`
    /// wrote), as JSON: for writing and debugging controls.
    Eval {
        /// A custom control of the config (or a built-in one).
        #[arg(long)]
        control: String,
        /// The resource's ARN, as `driftwatch findings` lists it.
        #[arg(long)]
        resource: String,
    },
}

/// `controls eval`: one control on the stored document of one resource.
pub(super) async fn eval(
    control: &str,
    arn: &str,
    config: &Config,
    store: &Store,
) -> Result<ExitCode> {
    let snapshot = store
        .current_snapshot(arn)
        .await
        .context("reading the resource")?
        .with_context(|| format!("--resource {arn}: no such resource has been collected"))?;
    let resource_type: ResourceType = snapshot
        .resource_type
        .parse()
        .map_err(|e| anyhow::anyhow!("the stored resource's type: {e}"))?;
    let mut out = json!({
        "control": control,
        "resource": arn,
        "resource_type": resource_type.as_str(),
        "recorded_at": snapshot.observed_at,
        "deleted_at": snapshot.deleted_at,
    });
    if let Some(custom) = config.custom.get(control) {
        out["control_version"] = json!(custom.version);
        out["control_source"] = json!(custom.source.display().to_string());
        if !custom.resource_types.contains(&resource_type) {
            bail!(
                "{control} applies to {}, not to {resource_type}",
                types_text(&custom.resource_types)
            );
        }
        let input = snapshot
            .document
            .as_deref()
            .map_err(|e| {
                anyhow::anyhow!(
                    "{arn}: its last description failed ({e}); the control would be unknown"
                )
            })
            .and_then(|text| CustomControls::input(text).map_err(anyhow::Error::msg))?;
        let data = stored_scope_data(store, arn, custom).await?;
        let explained = config.custom.explain(custom, &input, &data);
        out["verdict"] = verdict_json(explained.verdict.as_ref());
        out["rules"] = explained
            .rules
            .into_iter()
            .collect::<serde_json::Map<_, _>>()
            .into();
        out["prints"] = json!(explained.prints);
    } else if let Some(built_in) = crate::evaluate::control(control) {
        if !built_in.resource_types.contains(&resource_type) {
            bail!(
                "{control} applies to {}, not to {resource_type}",
                types_text(built_in.resource_types)
            );
        }
        let record = ResourceRecord {
            arn: arn.to_string(),
            resource_type,
            name: String::new(),
            region: String::new(),
            document: snapshot.document.and_then(|text| {
                serde_json::from_str(&text)
                    .map(|value| Document::from_value(&value))
                    .map_err(|e| format!("stored document is not JSON: {e}"))
            }),
        };
        let verdict =
            crate::evaluate::evaluate(&record, &config.rule_settings(), snapshot.observed_at)
                .into_iter()
                .find(|e| e.control_id == control)
                .map(|e| Verdict {
                    status: e.status,
                    evidence: e.evidence,
                });
        out["verdict"] = verdict_json(verdict.as_ref());
    } else {
        bail!("--control {control}: not a control (see `driftwatch controls`)");
    }
    print_json(&out)?;
    Ok(ExitCode::SUCCESS)
}

/// The documents `custom` declares as `data`, as stored for the scope of
/// `arn`; a type stored in an unknown form or a scope whose latest scan was
/// not whole is unknown to the control, as it would be in a scan.
async fn stored_scope_data(store: &Store, arn: &str, custom: &CustomControl) -> Result<ScopeData> {
    if custom.data.is_empty() {
        return Ok(ScopeData::none());
    }
    let types: Vec<&str> = custom.data.iter().map(|t| t.as_str()).collect();
    let stored = store
        .scope_documents(arn, &types)
        .await
        .context("reading the documents the control declares as data")?;
    let wanted = custom.data.iter().copied().collect();
    crate::scan::stored_scope_data(&stored, &wanted).map_err(|e| anyhow::anyhow!(e))
}

fn verdict_json(verdict: Option<&Verdict>) -> serde_json::Value {
    match verdict {
        None => json!({ "status": "not_applicable" }),
        Some(v) => json!({ "status": v.status, "evidence": v.evidence }),
    }
}

fn types_text(types: &[ResourceType]) -> String {
    types
        .iter()
        .map(|t| t.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// `controls test`: loads the modules (a load problem fails the run, each
/// named), runs every test, prints one line each and a summary.
pub(super) fn test(paths: &[PathBuf], config: &Config) -> Result<ExitCode> {
    let paths = if paths.is_empty() {
        config.custom_controls.paths.clone()
    } else {
        paths.to_vec()
    };
    if paths.is_empty() {
        bail!("no custom controls to test: give a path, or set custom_controls.paths");
    }
    let timeout = std::time::Duration::from_millis(config.custom_controls.timeout_ms);
    let custom =
        match CustomControls::load(&paths, timeout, |id| crate::evaluate::control(id).is_some()) {
            Ok(custom) => custom,
            Err(issues) => {
                for issue in &issues {
                    eprintln!("error: {issue}");
                }
                bail!("{} problem(s) loading the custom controls", issues.len());
            }
        };
    // What `config check` refuses is not tested as if it would run.
    let refused = crate::config::data_outside_scope(&custom);
    if !refused.is_empty() {
        for issue in &refused {
            eprintln!("error: {}", issue.message);
        }
        bail!("{} problem(s) with the custom controls", refused.len());
    }
    let outcomes = custom.run_tests();
    let failed = outcomes.iter().filter(|o| o.failure.is_some()).count();
    for outcome in &outcomes {
        match &outcome.failure {
            None => println!("PASS {}", outcome.name),
            Some(why) => println!("FAIL {} ({}): {why}", outcome.name, outcome.file.display()),
        }
    }
    println!(
        "{} controls, {} tests: {} passed, {failed} failed",
        custom.iter().count(),
        outcomes.len(),
        outcomes.len() - failed
    );
    Ok(if failed == 0 && !outcomes.is_empty() {
        ExitCode::SUCCESS
    } else {
        if outcomes.is_empty() {
            eprintln!("error: no tests found (no test_ rules, no fixtures)");
        }
        ExitCode::FAILURE
    })
}

pub(super) fn run(args: &Args, config: &Config) -> Result<()> {
    let custom = &config.custom;
    let framework = match args.framework.as_deref() {
        Some(id) => {
            let every = frameworks::every(custom);
            let known: Vec<String> = every.iter().map(|f| f.id.clone()).collect();
            match every.into_iter().find(|f| f.id == id) {
                Some(f) => Some(f),
                None => bail!(
                    "--framework {id}: no such framework (known: {})",
                    known.join(", ")
                ),
            }
        }
        None => None,
    };
    match (framework, args.format) {
        (_, CatalogFormat::Md) => print!("{}", catalog::markdown()),
        (None, CatalogFormat::Json) => print_json(&catalog::controls_json(custom))?,
        (Some(f), CatalogFormat::Json) => print_json(&catalog::framework_json(&f))?,
        (None, CatalogFormat::Table) => {
            let (headers, rows) = catalog::controls_rows(custom);
            let headers: Vec<&str> = headers.iter().map(String::as_str).collect();
            print_table(&headers, rows);
        }
        (Some(f), CatalogFormat::Table) => {
            let covered = f.requirements.iter().filter(|r| r.covered()).count();
            println!(
                "{} — {covered} of {} requirements evidenced by a control",
                f.title,
                f.requirements.len()
            );
            let (headers, mut rows) = catalog::framework_rows(&f);
            let headers: Vec<&str> = headers.iter().map(String::as_str).collect();
            // Requirement texts run to paragraphs: a terminal line shows
            // their start (the JSON and Markdown keep them whole).
            for row in &mut rows {
                if let Some(title) = row.get_mut(1) {
                    *title = shortened(title, 72);
                }
            }
            print_table(&headers, rows);
        }
    }
    Ok(())
}

fn shortened(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut short: String = text.chars().take(max - 1).collect();
    short.push('…');
    short
}
