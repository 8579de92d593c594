//! What the listing commands print with: the `--format` choice, aligned
//! tables, JSON, and the one-cell forms of evidence, changes and errors.

use anyhow::Result;
use clap::ValueEnum;
use std::io::Write;

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Table,
    Json,
}

pub(super) fn evidence_message(evidence: &serde_json::Value) -> String {
    evidence
        .get("message")
        .and_then(|m| m.as_str())
        .unwrap_or_default()
        .to_string()
}

pub(super) fn describe_changes(changes: &serde_json::Value) -> String {
    let Some(changes) = changes.as_array() else {
        return String::new();
    };
    let short = |v: Option<&serde_json::Value>| match v {
        None => "(absent)".to_string(),
        Some(v) => {
            let text = v.to_string();
            if text.chars().count() > 40 {
                format!("{}…", text.chars().take(39).collect::<String>())
            } else {
                text
            }
        }
    };
    changes
        .iter()
        .map(|c| {
            format!(
                "{}: {} → {}",
                c.get("path").and_then(|p| p.as_str()).unwrap_or("?"),
                short(c.get("old")),
                short(c.get("new")),
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

pub(super) fn first_line(text: &str) -> String {
    let mut lines = text.lines();
    let first = lines.next().unwrap_or_default().to_string();
    match lines.count() {
        0 => first,
        more => format!("{first} (+{more} more)"),
    }
}

/// A JSON array written to stdout one element at a time, so a listing of
/// any length is never held whole.
pub(super) struct JsonArray {
    out: std::io::BufWriter<std::io::StdoutLock<'static>>,
    written: usize,
}

impl JsonArray {
    pub(super) fn start() -> Result<JsonArray> {
        let mut out = std::io::BufWriter::new(std::io::stdout().lock());
        out.write_all(b"[")?;
        Ok(JsonArray { out, written: 0 })
    }

    pub(super) fn push<T: serde::Serialize>(&mut self, value: &T) -> Result<()> {
        self.out
            .write_all(if self.written == 0 { b"\n" } else { b",\n" })?;
        serde_json::to_writer_pretty(&mut self.out, value)?;
        self.written += 1;
        Ok(())
    }

    pub(super) fn finish(mut self) -> Result<()> {
        self.out.write_all(b"\n]\n")?;
        self.out.flush()?;
        Ok(())
    }
}

pub(super) fn print_json<T: serde::Serialize>(value: &T) -> Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

/// Column-aligned text; control characters in values (which come from AWS
/// and could be hostile) are escaped so they cannot rewrite the terminal.
pub(super) fn print_table(headers: &[&str], rows: Vec<Vec<String>>) {
    if rows.is_empty() {
        println!("  (none)");
        return;
    }
    let rows: Vec<Vec<String>> = rows
        .into_iter()
        .map(|row| {
            row.into_iter()
                .map(|cell| {
                    cell.escape_debug()
                        .to_string()
                        .replace("\\\"", "\"")
                        .replace("\\'", "'")
                })
                .collect()
        })
        .collect();
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (i, cell) in row.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(cell.chars().count());
            }
        }
    }
    let line = |cells: Vec<&str>| {
        let last = cells.len().saturating_sub(1);
        cells
            .iter()
            .enumerate()
            .map(|(i, c)| {
                if i == last {
                    c.to_string()
                } else {
                    format!("{c:<width$}", width = widths[i])
                }
            })
            .collect::<Vec<_>>()
            .join("  ")
    };
    println!("{}", line(headers.to_vec()));
    for row in &rows {
        println!("{}", line(row.iter().map(String::as_str).collect()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_are_summarised_per_path() {
        let changes =
            serde_json::json!([{"path": "policy", "old": {"Statement": []}, "new": null}]);
        assert_eq!(
            describe_changes(&changes),
            "policy: {\"Statement\":[]} → null"
        );
    }
}
