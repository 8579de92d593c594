//! What driftwatch reads from regorus's AST (`Engine::get_ast_as_json`):
//! names, not semantics. Anything of a shape not understood here names
//! nothing, so it is skipped, never guessed at.

use serde_json::Value;

/// `a.b.c` from a `Var` and a chain of `RefDot`s or of brackets holding a
/// string (`a["b"]`, which regorus resolves like `a.b`); `None` for
/// anything else (a computed index names no rule statically).
pub(super) fn dotted(node: &Value) -> Option<Vec<String>> {
    if let Some(var) = node.get("Var") {
        return Some(vec![var["value"].as_str()?.to_string()]);
    }
    if let Some(bracket) = node.get("RefBrack") {
        let mut path = dotted(&bracket["refr"])?;
        path.push(bracket["index"]["String"]["value"].as_str()?.to_string());
        return Some(path);
    }
    let dot = node.get("RefDot")?;
    let mut path = dotted(&dot["refr"])?;
    path.push(dot["field"].get(1)?.as_str()?.to_string());
    Some(path)
}

/// Every rule named `test_*` (as `opa test` runs them), by full path
/// (`data.pkg.test_x`), in file order, with the file it is in.
pub(super) fn test_rules(ast: &Value) -> Vec<(String, String)> {
    let mut tests = Vec::new();
    for module in ast.as_array().into_iter().flatten() {
        let file = module["source"]["file"].as_str().unwrap_or("").to_string();
        let tree = &module["ast"];
        let Some(package) = dotted(&tree["package"]["refr"]) else {
            continue;
        };
        for rule in tree["rules"].as_array().into_iter().flatten() {
            let Some(head) = rule["Spec"]["head"].as_object() else {
                continue;
            };
            // Functions take arguments: a test is a rule without any.
            let Some(name) = head
                .iter()
                .filter(|(kind, _)| kind.as_str() != "Func")
                .find_map(|(_, head)| dotted(&head["refr"]))
            else {
                continue;
            };
            if name.len() == 1 && name[0].starts_with("test_") {
                let path = format!("data.{}.{}", package.join("."), name[0]);
                if !tests.iter().any(|(p, _)| p == &path) {
                    tests.push((path, file.clone()));
                }
            }
        }
    }
    tests
}

/// The line and column regorus gives a node, when it gives one.
fn position(node: &Value) -> Option<(u64, u64)> {
    let span = &node["span"];
    Some((span["line"].as_u64()?, span["col"].as_u64()?))
}

/// The first call of the built-in `name` (`["time", "now_ns"]`) in any
/// module: its file, and the line and column of the nearest enclosing
/// node regorus gives a position.
pub(super) fn first_call_of(ast: &Value, name: &[&str]) -> Option<(String, u64, u64)> {
    fn walk(node: &Value, name: &[&str], at: (u64, u64)) -> Option<(u64, u64)> {
        match node {
            Value::Object(map) => {
                let at = position(node).unwrap_or(at);
                if let Some(call) = map.get("Call")
                    && dotted(&call["fcn"]).is_some_and(|called| called == name)
                {
                    return Some(position(call).unwrap_or(at));
                }
                map.values().find_map(|value| walk(value, name, at))
            }
            Value::Array(items) => items.iter().find_map(|item| walk(item, name, at)),
            _ => None,
        }
    }
    ast.as_array().into_iter().flatten().find_map(|module| {
        let file = module["source"]["file"].as_str().unwrap_or("").to_string();
        walk(&module["ast"], name, (0, 0)).map(|(line, col)| (file, line, col))
    })
}

/// A module's use of `data.resources`, the scope's documents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum DataUse {
    /// `data.resources["<type>"]...`: a literal type.
    Reads(String),
    /// `data.resources` whole, indexed by a computed value, `data` whole,
    /// or imported: what it reads cannot be told from the source.
    Opaque(&'static str),
}

/// Every use of `data.resources` in each module, by file, with the line
/// and column of the nearest positioned node. `with ... as` targets are
/// not reads (tests replace the documents with them).
pub(super) fn data_uses(ast: &Value) -> Vec<(String, u64, u64, DataUse)> {
    fn walk(node: &Value, at: (u64, u64), found: &mut Vec<((u64, u64), DataUse)>) {
        match node {
            Value::Object(map) => {
                let at = position(node).unwrap_or(at);
                if let Some(path) = dotted(node)
                    && path.first().is_some_and(|p| p == "data")
                {
                    match path.get(1).map(String::as_str) {
                        None => return found.push((at, DataUse::Opaque("`data` as a whole"))),
                        Some(super::DATA_ROOT) => {
                            return found.push((
                                at,
                                match path.get(2) {
                                    Some(t) => DataUse::Reads(t.clone()),
                                    None => DataUse::Opaque(
                                        "data.resources without a literal type (write data.resources[\"iam.policy\"])",
                                    ),
                                },
                            ));
                        }
                        // A static path elsewhere under `data` (a library,
                        // a package's rule): nothing of the scope in it.
                        Some(_) => return,
                    }
                }
                for (key, value) in map {
                    if key == "with_mods" {
                        for modifier in value.as_array().into_iter().flatten() {
                            walk(&modifier["as"], at, found);
                        }
                    } else {
                        walk(value, at, found);
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|item| walk(item, at, found)),
            _ => {}
        }
    }
    let mut uses = Vec::new();
    for module in ast.as_array().into_iter().flatten() {
        let file = module["source"]["file"].as_str().unwrap_or("").to_string();
        let tree = &module["ast"];
        for import in tree["imports"].as_array().into_iter().flatten() {
            if let Some(path) = dotted(&import["refr"])
                && path.first().is_some_and(|p| p == "data")
                && path.get(1).is_none_or(|p| p == super::DATA_ROOT)
            {
                let (line, col) = position(import).unwrap_or((0, 0));
                uses.push((
                    file.clone(),
                    line,
                    col,
                    DataUse::Opaque("an import of data.resources"),
                ));
            }
        }
        let mut found = Vec::new();
        walk(&tree["rules"], (0, 0), &mut found);
        uses.extend(
            found
                .into_iter()
                .map(|((line, col), use_)| (file.clone(), line, col, use_)),
        );
    }
    uses
}
