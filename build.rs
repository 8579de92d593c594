//! Picks up what is declared by adding a file, so that nothing else names
//! it: every `frameworks/*.toml` is compiled into the binary, every
//! `src/collect/*.rs` declaring `pub static COLLECTOR` is a registered
//! collector, and every `src/evaluate/*.rs` declaring
//! `pub(super) const CONTROLS` is a module of the control catalog.

use std::fmt::Write;
use std::path::{Path, PathBuf};

fn main() {
    let src = manifest_dir().join("src");
    declared_modules(
        &src.join("collect"),
        "pub static COLLECTOR: super::Collector",
        "collectors.rs",
        |modules| {
            let items: Vec<String> = modules.iter().map(|m| format!("&{m}::COLLECTOR")).collect();
            format!(
                "/// Every collector: each `src/collect/*.rs` declaring `pub static COLLECTOR`, by file name.\n\
                 pub static COLLECTORS: &[&Collector] = &[{}];\n",
                items.join(", ")
            )
        },
    );
    declared_modules(
        &src.join("evaluate"),
        "pub(super) const CONTROLS: &[Control]",
        "rule_modules.rs",
        |modules| {
            let items: Vec<String> = modules.iter().map(|m| format!("{m}::CONTROLS")).collect();
            format!(
                "/// Every rule module's controls: each `src/evaluate/*.rs` declaring `CONTROLS`, by file name.\n\
                 const CONTROL_GROUPS: &[&[Control]] = &[{}];\n",
                items.join(", ")
            )
        },
    );
    frameworks();
}

/// Writes `out` into OUT_DIR: a `mod` for each file of `dir` containing
/// `marker` at the start of a line, then what `list` makes of their names.
fn declared_modules(dir: &Path, marker: &str, out: &str, list: impl Fn(&[String]) -> String) {
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("source directory exists")
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "rs"))
        .filter(|path| {
            std::fs::read_to_string(path)
                .is_ok_and(|text| text.lines().any(|line| line.starts_with(marker)))
        })
        .collect();
    files.sort();
    let mut code = String::new();
    let mut modules = Vec::new();
    for path in files {
        let name = path
            .file_stem()
            .and_then(|n| n.to_str())
            .expect("UTF-8 file name")
            .to_string();
        let _ = writeln!(
            code,
            "#[path = {:?}]\npub mod {name};",
            path.display().to_string()
        );
        modules.push(name);
    }
    code.push_str(&list(&modules));
    let target = Path::new(&std::env::var("OUT_DIR").expect("OUT_DIR")).join(out);
    std::fs::write(target, code).expect("write generated module list");
}

/// The checkout being built, read when the script runs: `env!` would bake
/// in the checkout the script was compiled in, and a build script binary
/// reused from another checkout (a shared target dir, a copied one) would
/// then generate module paths into that other checkout.
fn manifest_dir() -> PathBuf {
    PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"))
}

fn frameworks() {
    println!("cargo:rerun-if-changed=frameworks");
    let dir = manifest_dir().join("frameworks");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("frameworks/ exists")
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "toml"))
        .collect();
    files.sort();
    let mut out = String::from("&[\n");
    for path in files {
        println!("cargo:rerun-if-changed={}", path.display());
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .expect("UTF-8 name");
        let _ = writeln!(
            out,
            "    ({name:?}, include_str!({:?})),",
            path.display().to_string()
        );
    }
    out.push(']');
    let target = Path::new(&std::env::var("OUT_DIR").expect("OUT_DIR")).join("frameworks.rs");
    std::fs::write(target, out).expect("write frameworks.rs");
}
