//! Refuses Rego functions that call themselves, directly or through other
//! functions. OPA rejects such modules when it compiles them
//! (`rego_recursion_error`); regorus detects recursion between rules while
//! evaluating, but follows a recursive *function* until the thread's stack
//! overflows, which aborts the process. So the cycle is found here, on the
//! parsed modules, before a policy is ever evaluated.
//!
//! The walk reads regorus's AST as JSON (`Engine::get_ast_as_json`), taking
//! only what names a function: each function rule's head, and every call in
//! its head and bodies. A call resolves, as Rego resolves it, to a function
//! of the same package (`f(x)`), to one named from the root
//! (`data.pkg.f(x)`), or through an import (`import data.lib` then
//! `lib.f(x)`). Built-ins resolve to nothing and add no edge.

use super::ast::dotted;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// A cycle of functions, each by its full path (`pkg.f`), with the file
/// and line of the first one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recursion {
    pub file: String,
    pub line: u64,
    pub col: u64,
    pub cycle: Vec<String>,
}

/// The first function cycle among the modules, if any.
pub fn find(ast: &Value) -> Option<Recursion> {
    let functions = functions(ast);
    let mut done = BTreeSet::new();
    for name in functions.keys() {
        let mut path = Vec::new();
        if let Some(cycle) = visit(name, &functions, &mut path, &mut done) {
            let first = &functions[&cycle[0]];
            return Some(Recursion {
                file: first.file.clone(),
                line: first.line,
                col: first.col,
                cycle,
            });
        }
    }
    None
}

struct Function {
    file: String,
    line: u64,
    col: u64,
    calls: BTreeSet<String>,
}

fn visit(
    name: &str,
    functions: &BTreeMap<String, Function>,
    path: &mut Vec<String>,
    done: &mut BTreeSet<String>,
) -> Option<Vec<String>> {
    if let Some(start) = path.iter().position(|p| p == name) {
        let mut cycle = path[start..].to_vec();
        cycle.push(name.to_string());
        return Some(cycle);
    }
    if done.contains(name) {
        return None;
    }
    let function = functions.get(name)?;
    path.push(name.to_string());
    for callee in &function.calls {
        if let Some(cycle) = visit(callee, functions, path, done) {
            return Some(cycle);
        }
    }
    path.pop();
    done.insert(name.to_string());
    None
}

/// Every function of every module, by full path, with the calls its
/// definition makes, resolved to full paths (unresolvable ones dropped
/// once all functions are known).
fn functions(ast: &Value) -> BTreeMap<String, Function> {
    let mut functions = BTreeMap::new();
    for module in ast.as_array().into_iter().flatten() {
        let file = module["source"]["file"].as_str().unwrap_or("").to_string();
        let contents = module["source"]["contents"].as_str().unwrap_or("");
        let tree = &module["ast"];
        let Some(package) = dotted(&tree["package"]["refr"]) else {
            continue;
        };
        let imports = imports(tree, contents);
        for rule in tree["rules"].as_array().into_iter().flatten() {
            // A function's bodies, or its default value (`default f(_) :=
            // g(0)` runs when no body matches).
            let (definition, head) = match (rule.get("Spec"), rule.get("Default")) {
                (Some(spec), _) => (spec, &spec["head"]["Func"]),
                (None, Some(default)) if default.get("args").is_some() => (default, default),
                _ => continue,
            };
            let Some(name) = dotted(&head["refr"]) else {
                continue;
            };
            let mut calls = BTreeSet::new();
            collect_calls(definition, &mut |callee: Vec<String>| {
                calls.extend(resolve(&callee, &package, &imports));
            });
            let span = &head["span"];
            functions
                .entry(format!("{}.{}", package.join("."), name.join(".")))
                .or_insert_with(|| Function {
                    file: file.clone(),
                    line: span["line"].as_u64().unwrap_or(0),
                    col: span["col"].as_u64().unwrap_or(0),
                    calls: BTreeSet::new(),
                })
                .calls
                .extend(calls);
        }
    }
    functions
}

/// `import data.lib` (or `... as l`): the name a module uses for a path.
fn imports(tree: &Value, contents: &str) -> BTreeMap<String, Vec<String>> {
    let mut imports = BTreeMap::new();
    for import in tree["imports"].as_array().into_iter().flatten() {
        let Some(path) = dotted(&import["refr"]) else {
            continue;
        };
        let alias = import["as"]
            .as_object()
            .and_then(|span| {
                let start = span.get("start")?.as_u64()? as usize;
                let end = span.get("end")?.as_u64()? as usize;
                contents.get(start..end)
            })
            .map(str::to_string)
            .or_else(|| path.last().cloned());
        if let Some(alias) = alias {
            imports.insert(alias, path);
        }
    }
    imports
}

/// The full paths (without `data.`) a call may name. Through an import
/// both readings are kept: regorus follows the import only when the
/// function exists there, and otherwise looks in the calling package.
fn resolve(
    callee: &[String],
    package: &[String],
    imports: &BTreeMap<String, Vec<String>>,
) -> Vec<String> {
    let local = || {
        package
            .iter()
            .chain(callee)
            .cloned()
            .collect::<Vec<_>>()
            .join(".")
    };
    match callee.split_first() {
        Some((root, rest)) if root == "data" => vec![rest.join(".")],
        Some((root, rest)) => match imports.get(root) {
            Some(path) => {
                let imported: Vec<String> = path
                    .iter()
                    .skip_while(|p| *p == "data")
                    .chain(rest)
                    .cloned()
                    .collect();
                vec![imported.join("."), local()]
            }
            None => vec![local()],
        },
        None => Vec::new(),
    }
}

/// Calls found anywhere below `node`, each as the dotted name it calls; a
/// `with f as g` counts as a call of `g` (what replaces `f` runs where `f`
/// is called).
fn collect_calls(node: &Value, found: &mut impl FnMut(Vec<String>)) {
    match node {
        Value::Object(map) => {
            if let Some(call) = map.get("Call")
                && let Some(name) = dotted(&call["fcn"])
            {
                found(name);
            }
            for modifier in map
                .get("with_mods")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let Some(name) = dotted(&modifier["as"]) {
                    found(name);
                }
            }
            for value in map.values() {
                collect_calls(value, found);
            }
        }
        Value::Array(items) => items.iter().for_each(|item| collect_calls(item, found)),
        _ => {}
    }
}
