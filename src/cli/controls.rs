//! `driftwatch controls`: the control catalog, or one framework's
//! requirements with the controls that evidence them. Needs no database.

use super::output::{print_json, print_table};
use crate::frameworks;
use crate::report::catalog;
use anyhow::{Result, bail};
use clap::ValueEnum;

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum CatalogFormat {
    Table,
    Json,
    /// The Markdown of `docs/controls.md` (the whole catalog).
    Md,
}

#[derive(clap::Args, Debug)]
pub struct Args {
    /// A framework id: soc2, pci-dss-4.0, cis-aws-5.0.
    #[arg(long)]
    pub framework: Option<String>,
    #[arg(long, value_enum, default_value_t = CatalogFormat::Table)]
    pub format: CatalogFormat,
}

pub(super) fn run(args: &Args) -> Result<()> {
    let framework = match args.framework.as_deref() {
        Some(id) => match frameworks::framework(id) {
            Some(f) => Some(f),
            None => bail!(
                "--framework {id}: no such framework (known: {})",
                frameworks::ids().join(", ")
            ),
        },
        None => None,
    };
    match (framework, args.format) {
        (_, CatalogFormat::Md) => print!("{}", catalog::markdown()),
        (None, CatalogFormat::Json) => print_json(&catalog::controls_json())?,
        (Some(f), CatalogFormat::Json) => print_json(&catalog::framework_json(f))?,
        (None, CatalogFormat::Table) => {
            let (headers, rows) = catalog::controls_rows();
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
            let (headers, mut rows) = catalog::framework_rows(f);
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
