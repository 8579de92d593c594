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
