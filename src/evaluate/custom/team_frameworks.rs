//! A team's own frameworks: files shaped like `frameworks/` whose
//! requirements list built-in and custom controls alike ("ACME baseline
//! 4.2: payments buckets replicate to the recovery region").

use super::{CustomControls, LoadIssue};
use crate::frameworks::{self, Framework};
use std::path::{Path, PathBuf};

impl CustomControls {
    /// The team's frameworks, in file order.
    pub fn frameworks(&self) -> &[Framework] {
        &self.frameworks
    }

    /// Reads the framework files under `paths` (files, or folders of
    /// `.toml`), each checked as a shipped one is against the catalog
    /// with these custom controls in it. Keeps none unless all are good.
    pub fn load_frameworks(&mut self, paths: &[PathBuf]) -> Vec<LoadIssue> {
        let mut issues = Vec::new();
        let mut files = Vec::new();
        for path in paths {
            toml_files(path, &mut files, &mut issues);
        }
        files.sort();
        files.dedup();
        let knows = |id: &str| crate::evaluate::control(id).is_some() || self.get(id).is_some();
        let mut loaded: Vec<Framework> = Vec::new();
        for file in &files {
            let issue = |message: String| LoadIssue {
                file: file.clone(),
                position: None,
                message,
            };
            let text = match std::fs::read_to_string(file) {
                Ok(text) => text,
                Err(e) => {
                    issues.push(issue(format!("cannot read: {e}")));
                    continue;
                }
            };
            match frameworks::parse_with(&file.display().to_string(), &text, knows) {
                Ok(framework) if frameworks::framework(&framework.id).is_some() => issues.push(
                    issue(format!("id `{}` is a shipped framework's", framework.id)),
                ),
                Ok(framework) if loaded.iter().any(|f| f.id == framework.id) => issues.push(issue(
                    format!("id `{}` is also another file's", framework.id),
                )),
                Ok(framework) => loaded.push(framework),
                Err(frameworks::FrameworkError::Invalid { message, .. }) => {
                    issues.push(issue(message))
                }
            }
        }
        if issues.is_empty() {
            self.frameworks = loaded;
        }
        issues
    }
}

fn toml_files(path: &Path, files: &mut Vec<PathBuf>, issues: &mut Vec<LoadIssue>) {
    let unreadable = |e: std::io::Error| LoadIssue {
        file: path.to_path_buf(),
        position: None,
        message: format!("cannot read: {e}"),
    };
    match std::fs::metadata(path) {
        Ok(metadata) if metadata.is_file() => files.push(path.to_path_buf()),
        Ok(_) => match std::fs::read_dir(path) {
            Ok(entries) => {
                for entry in entries {
                    match entry {
                        Ok(entry) if entry.path().extension().is_some_and(|e| e == "toml") => {
                            files.push(entry.path())
                        }
                        Ok(_) => {}
                        Err(e) => issues.push(unreadable(e)),
                    }
                }
            }
            Err(e) => issues.push(unreadable(e)),
        },
        Err(e) => issues.push(unreadable(e)),
    }
}
