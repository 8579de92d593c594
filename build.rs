//! Compiles every `frameworks/*.toml` into the binary: a framework is one
//! data file, picked up without naming it anywhere else.

use std::fmt::Write;
use std::path::Path;

fn main() {
    println!("cargo:rerun-if-changed=frameworks");
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("frameworks");
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
