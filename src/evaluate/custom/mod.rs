//! A team's own controls, written in Rego over the stored documents.
//!
//! Each control is a `.rego` module (Rego v1) with a sidecar `.toml` of the
//! same name holding what the catalog shows (id, title, resource types,
//! severity, rationale, remediation, the framework requirements it
//! evidences). A `.rego` file without a sidecar is a library or test
//! module: loaded, importable, not a control.
//!
//! The module decides one resource, its stored document as `input`:
//! - `deny` — a set of messages (strings, or objects with `msg` and any
//!   evidence): empty is pass, anything in it is fail;
//! - `applicable` (optional) — when declared and not true, the control
//!   does not apply to this resource;
//! - `unknown` (optional) — a set of reasons the control cannot be
//!   decided (a prefix list whose entries could not be read): with nothing
//!   in `deny`, any reason here is `unknown`, never pass.
//!
//! An error, a timeout or a malformed `deny` is `unknown` with the error as
//! evidence, never pass. Every verdict carries the control's version (a
//! hash of its sources), so a finding says which version decided it.

mod ast;
mod data;
mod recursion;
mod team_frameworks;
mod testing;

pub use data::{DATA_ROOT, ScopeData, ScopeDocument};
pub use testing::TestOutcome;

use super::{Severity, Verdict};
use crate::model::ResourceType;
use regorus::{Engine, Value as RegoValue};
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Evaluations of one control that time out in a row before the control is
/// decided `unknown` without running for [`PAUSE_AFTER_TIMEOUTS`]: a
/// looping policy costs a scan a few timeouts, not one per resource.
const TIMEOUTS_BEFORE_SKIPPING: u32 = 3;

/// How long a control that keeps timing out is skipped before one
/// evaluation is tried again (a success resumes it, a timeout skips again).
const PAUSE_AFTER_TIMEOUTS: Duration = Duration::from_secs(60);

/// Whether a control runs, given how its last evaluations ended.
#[derive(Debug, Default)]
struct Breaker {
    state: Mutex<BreakerState>,
}

#[derive(Debug, Default)]
struct BreakerState {
    timeouts_in_a_row: u32,
    skipping_until: Option<Instant>,
}

impl Breaker {
    fn allows(&self, now: Instant) -> bool {
        self.state
            .lock()
            .map(|s| s.skipping_until.is_none_or(|until| now >= until))
            .unwrap_or(true)
    }

    fn record(&self, timed_out: bool, now: Instant, pause: Duration) {
        let Ok(mut state) = self.state.lock() else {
            return;
        };
        if !timed_out {
            *state = BreakerState::default();
            return;
        }
        state.timeouts_in_a_row = state.timeouts_in_a_row.saturating_add(1);
        if state.timeouts_in_a_row >= TIMEOUTS_BEFORE_SKIPPING {
            state.skipping_until = Some(now + pause);
        }
    }
}

/// One custom control, as the catalog shows it.
#[derive(Debug)]
pub struct CustomControl {
    pub id: String,
    pub title: String,
    pub resource_types: Vec<ResourceType>,
    pub default_severity: Severity,
    pub rationale: String,
    pub remediation: String,
    /// Framework id → the requirements of it this control evidences.
    pub requirements: BTreeMap<String, Vec<String>>,
    /// The types of the scope's other documents it reads, as
    /// `data.resources[<type>]` (sorted, distinct).
    pub data: Vec<ResourceType>,
    /// The `.rego` module, as found under the configured paths.
    pub source: PathBuf,
    /// A hash of the module, its sidecar and every library module: changes
    /// whenever anything that could change a verdict does.
    pub version: String,
    /// `data.<package>`: where `deny` and `applicable` live.
    package: String,
    declares_applicable: bool,
    declares_unknown: bool,
    breaker: Breaker,
}

/// The sidecar: what a person writes beside the module.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Metadata {
    id: String,
    title: String,
    resource_types: Vec<String>,
    severity: String,
    rationale: String,
    remediation: String,
    #[serde(default)]
    requirements: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    data: Vec<String>,
}

/// One evaluation, shown whole (`driftwatch controls eval`).
#[derive(Debug)]
pub struct Explanation {
    /// `None`: the control does not apply to this resource.
    pub verdict: Option<Verdict>,
    /// `applicable`, `deny`, `unknown` (those declared) and their values.
    pub rules: Vec<(String, Value)>,
    /// What the module's `print` calls wrote, in order.
    pub prints: Vec<String>,
}

/// A problem with one file, at a line and column when one is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadIssue {
    pub file: PathBuf,
    pub position: Option<(u64, u64)>,
    pub message: String,
}

impl fmt::Display for LoadIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.position {
            Some((line, col)) => {
                write!(f, "{}:{line}:{col}: {}", self.file.display(), self.message)
            }
            None => write!(f, "{}: {}", self.file.display(), self.message),
        }
    }
}

/// Every custom control of the configured paths, ready to evaluate.
pub struct CustomControls {
    controls: Vec<CustomControl>,
    /// The team's own framework files (`custom_controls.frameworks`).
    frameworks: Vec<crate::frameworks::Framework>,
    /// Every module loaded; evaluations run on clones of it.
    engine: Engine,
    idle: Mutex<Vec<Engine>>,
    /// [`PAUSE_AFTER_TIMEOUTS`], shorter in tests.
    pause: Duration,
}

impl fmt::Debug for CustomControls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CustomControls")
            .field("controls", &self.controls)
            .finish_non_exhaustive()
    }
}

impl Default for CustomControls {
    fn default() -> Self {
        CustomControls::new(Vec::new(), Engine::new())
    }
}

impl CustomControls {
    fn new(controls: Vec<CustomControl>, engine: Engine) -> Self {
        CustomControls {
            controls,
            frameworks: Vec::new(),
            engine,
            idle: Mutex::new(Vec::new()),
            pause: PAUSE_AFTER_TIMEOUTS,
        }
    }

    /// Loads every `.rego` module under `paths` (files or folders, read
    /// recursively). `timeout` bounds one evaluation. Returns every problem
    /// found rather than the first, each naming its file (and line).
    pub fn load(
        paths: &[PathBuf],
        timeout: Duration,
        is_built_in: impl Fn(&str) -> bool,
    ) -> Result<CustomControls, Vec<LoadIssue>> {
        let mut files = Vec::new();
        let mut issues = Vec::new();
        for path in paths {
            collect_rego_files(path, &mut files, &mut issues);
        }
        files.sort();
        files.dedup();
        let mut engine = new_engine(timeout);
        let mut modules = Vec::new();
        for file in &files {
            match load_module(&mut engine, file) {
                Ok(module) if reserved_package(&module.package) => issues.push(LoadIssue {
                    file: module.path.clone(),
                    position: None,
                    message: format!(
                        "package {} is reserved: data.{DATA_ROOT} holds the scope's documents",
                        module.package.trim_start_matches("data.")
                    ),
                }),
                Ok(module) => modules.push(module),
                Err(issue) => issues.push(issue),
            }
        }
        // Fails closed: modules that cannot be checked are not loaded.
        let mut data_uses = Vec::new();
        match syntax_tree(&engine) {
            Ok(ast) => {
                data_uses = ast::data_uses(&ast);
                // A verdict is a function of the snapshot: rules judge ages
                // against the collection time, never the evaluation's.
                for (builtin, why) in [
                    (
                        ["time", "now_ns"],
                        "a verdict must not change with the hour it is evaluated at \
                         (compare with a timestamp of the document)",
                    ),
                    (
                        ["rand", "intn"],
                        "a verdict must not change from one evaluation to the next",
                    ),
                ] {
                    if let Some((file, line, col)) = ast::first_call_of(&ast, &builtin) {
                        issues.push(LoadIssue {
                            file: PathBuf::from(file),
                            position: Some((line, col)),
                            message: format!("{} is not allowed: {why}", builtin.join(".")),
                        });
                    }
                }
                if let Some(cycle) = recursion::find(&ast) {
                    issues.push(LoadIssue {
                        file: PathBuf::from(cycle.file),
                        position: Some((cycle.line, cycle.col)),
                        message: format!(
                            "function recursion is not allowed in Rego: {}",
                            cycle.cycle.join(" -> ")
                        ),
                    });
                }
            }
            Err(message) => issues.push(LoadIssue {
                file: paths.first().cloned().unwrap_or_default(),
                position: None,
                message: format!("cannot check the modules for recursive functions: {message}"),
            }),
        }
        if issues.is_empty()
            && let Err(error) = engine.eval_query("true".to_string(), false)
        {
            issues.push(analysis_issue(&error.to_string()));
        }
        let libraries = library_digest(&modules);
        let mut controls: Vec<CustomControl> = Vec::new();
        for module in &modules {
            let Some(sidecar) = &module.sidecar else {
                continue;
            };
            match control_of(module, sidecar, &libraries, &engine, &is_built_in) {
                Ok(control) => {
                    if let Some(other) = controls.iter().find(|c| c.package == control.package) {
                        issues.push(LoadIssue {
                            file: module.path.clone(),
                            position: None,
                            message: format!(
                                "package {} is also the package of the control {}: each control needs its own package",
                                control.package.trim_start_matches("data."),
                                other.source.display()
                            ),
                        });
                    } else if let Some(other) = controls.iter().find(|c| c.id == control.id) {
                        issues.push(LoadIssue {
                            file: sidecar.path.clone(),
                            position: None,
                            message: format!(
                                "id `{}` is already the id of {}",
                                control.id,
                                other.source.display()
                            ),
                        });
                    } else {
                        controls.push(control);
                    }
                }
                Err(issue) => issues.push(issue),
            }
        }
        issues.extend(undeclared_data(&data_uses, &modules, &controls));
        if issues.is_empty() {
            Ok(CustomControls::new(controls, engine))
        } else {
            Err(issues)
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = &CustomControl> {
        self.controls.iter()
    }

    pub fn get(&self, id: &str) -> Option<&CustomControl> {
        self.controls.iter().find(|c| c.id == id)
    }

    pub fn is_empty(&self) -> bool {
        self.controls.is_empty()
    }

    /// The controls that apply to `resource_type`.
    pub fn for_type(&self, resource_type: ResourceType) -> impl Iterator<Item = &CustomControl> {
        self.controls
            .iter()
            .filter(move |c| c.resource_types.contains(&resource_type))
    }

    /// A document read as Rego input, once for every control of it.
    pub fn input(document: &str) -> Result<RegoValue, String> {
        RegoValue::from_json_str(document).map_err(|e| format!("document is not JSON: {e}"))
    }

    /// Decides `control` for one resource; `None` when the control
    /// declares `applicable` and it is not true for this input.
    pub fn decide(
        &self,
        control: &CustomControl,
        input: &RegoValue,
        data: &ScopeData,
    ) -> Option<Verdict> {
        if !control.breaker.allows(Instant::now()) {
            return Some(control.unknown(
                format!(
                    "not evaluated: {} timed out {TIMEOUTS_BEFORE_SKIPPING} times in a row; \
                     it is tried again {} s after the last",
                    control.id,
                    self.pause.as_secs()
                ),
                "timed out",
            ));
        }
        let (verdict, timed_out) = self.run_once(control, input, data);
        // A control that did not run (its data unknown) neither timed out
        // nor finished: the count of timeouts in a row stands.
        if let Some(timed_out) = timed_out {
            control
                .breaker
                .record(timed_out, Instant::now(), self.pause);
        }
        verdict
    }

    /// One evaluation, whatever the breaker says (fixtures are all run),
    /// and whether it ran out of time (`None`: it could not run).
    fn run_once(
        &self,
        control: &CustomControl,
        input: &RegoValue,
        data: &ScopeData,
    ) -> (Option<Verdict>, Option<bool>) {
        let mut engine = match self.engine_for(control, data) {
            Ok(engine) => engine,
            Err(why) => {
                let message = format!("{} cannot be evaluated: {why}", control.id);
                return (Some(control.unknown(message, &why)), None);
            }
        };
        engine.set_input(input.clone());
        let outcome = run(&mut engine, control);
        let _ = engine.take_prints();
        self.return_engine(control, data, engine);
        match outcome {
            Ok(verdict) => (verdict, Some(false)),
            Err(error) => (
                Some(control.unknown(
                    format!("{} could not be evaluated: {}", control.id, error.message),
                    &error.message,
                )),
                Some(error.timed_out),
            ),
        }
    }

    /// [`CustomControls::decide`] for a person writing the control: the
    /// verdict, the value of each of its rules, and what `print` wrote.
    /// Runs even a control skipped for timeouts.
    pub fn explain(
        &self,
        control: &CustomControl,
        input: &RegoValue,
        data: &ScopeData,
    ) -> Explanation {
        let mut engine = match self.engine_for(control, data) {
            Ok(engine) => engine,
            Err(why) => {
                let message = format!("{} cannot be evaluated: {why}", control.id);
                return Explanation {
                    verdict: Some(control.unknown(message, &why)),
                    rules: Vec::new(),
                    prints: Vec::new(),
                };
            }
        };
        let _ = engine.take_prints();
        engine.set_input(input.clone());
        let verdict = match run(&mut engine, control) {
            Ok(verdict) => verdict,
            Err(error) => Some(control.unknown(
                format!("{} could not be evaluated: {}", control.id, error.message),
                &error.message,
            )),
        };
        let rules = ["applicable", "deny", "unknown"]
            .into_iter()
            .filter(|rule| match *rule {
                "applicable" => control.declares_applicable,
                "unknown" => control.declares_unknown,
                _ => true,
            })
            .map(|rule| {
                let value = engine
                    .eval_rule(format!("{}.{rule}", control.package))
                    .map_err(|e| one_line(&e.to_string()))
                    .and_then(|v| match v {
                        RegoValue::Undefined => Ok(json!("undefined")),
                        v => serde_json::to_value(&v).map_err(|e| e.to_string()),
                    });
                (
                    rule.to_string(),
                    value.unwrap_or_else(|e| json!({ "error": e })),
                )
            })
            .collect();
        Explanation {
            verdict,
            rules,
            prints: engine.take_prints().unwrap_or_default(),
        }
    }

    fn checkout(&self) -> Engine {
        let reused = self.idle.lock().ok().and_then(|mut idle| idle.pop());
        reused.unwrap_or_else(|| self.engine.clone())
    }

    fn checkin(&self, engine: Engine) {
        if let Ok(mut idle) = self.idle.lock() {
            idle.push(engine);
        }
    }
}

/// The parsed modules as JSON (what `ast` and `recursion` read).
fn syntax_tree(engine: &Engine) -> Result<Value, String> {
    let text = engine
        .get_ast_as_json()
        .map_err(|e| one_line(&e.to_string()))?;
    serde_json::from_str(&text).map_err(|e| e.to_string())
}

fn new_engine(timeout: Duration) -> Engine {
    let mut engine = Engine::new();
    engine.set_rego_v0(false);
    // `print` in a module must not write to the daemon's stderr (it would
    // copy documents into the logs); `controls eval` shows it instead.
    engine.set_gather_prints(true);
    engine.set_execution_timer_config(regorus::utils::limits::ExecutionTimerConfig {
        limit: timeout,
        check_interval: std::num::NonZeroU32::MIN.saturating_add(63),
    });
    engine
}

/// Why an evaluation gave no verdict.
struct EvalError {
    message: String,
    timed_out: bool,
}

impl EvalError {
    fn of(error: &anyhow::Error) -> Self {
        let message = one_line(&error.to_string());
        // regorus re-wraps an error raised inside a function as text, so
        // the limit is also recognised by its message.
        let timed_out = matches!(
            error.downcast_ref::<regorus::LimitError>(),
            Some(regorus::LimitError::TimeLimitExceeded { .. })
        ) || message.contains("exceeded time limit");
        EvalError { message, timed_out }
    }

    fn malformed(message: String) -> Self {
        EvalError {
            message,
            timed_out: false,
        }
    }
}

/// `deny` and `applicable` of the control's package, read into a verdict.
fn run(engine: &mut Engine, control: &CustomControl) -> Result<Option<Verdict>, EvalError> {
    let eval = |engine: &mut Engine, rule: &str| {
        engine
            .eval_rule(format!("{}.{rule}", control.package))
            .map_err(|e| EvalError::of(&e))
    };
    if control.declares_applicable {
        // `applicable if ...` is undefined when its body does not hold;
        // a value that is not a boolean is a mistake, not "does not apply".
        match eval(engine, "applicable")? {
            RegoValue::Bool(true) => {}
            RegoValue::Bool(false) | RegoValue::Undefined => return Ok(None),
            other => {
                return Err(EvalError::malformed(format!(
                    "`applicable` must be true or false, not {}",
                    to_json(&other)?
                )));
            }
        }
    }
    let violations = messages(&eval(engine, "deny")?, "deny")?;
    if !violations.is_empty() || !control.declares_unknown {
        return Ok(Some(control.verdict(violations)));
    }
    let reasons = messages(&eval(engine, "unknown")?, "unknown")?;
    if reasons.is_empty() {
        return Ok(Some(control.verdict(Vec::new())));
    }
    Ok(Some(control.undecided(reasons)))
}

/// The entries of a set rule (`deny`, `unknown`). A partial set
/// (`deny contains ...`) is empty, never undefined, when nothing matches;
/// undefined comes from a complete rule whose body did not hold (data
/// missing, say), which decides nothing.
fn messages(value: &RegoValue, rule: &str) -> Result<Vec<Value>, EvalError> {
    match value {
        RegoValue::Set(items) => items.iter().map(to_json).collect(),
        RegoValue::Array(items) => items.iter().map(to_json).collect(),
        RegoValue::Undefined => Err(EvalError::malformed(format!(
            "`{rule}` is undefined (write it as `{rule} contains msg if {{ ... }}`)"
        ))),
        other => Err(EvalError::malformed(format!(
            "`{rule}` must be a set of messages, not {}",
            to_json(other)?
        ))),
    }
}

fn to_json(value: &RegoValue) -> Result<Value, EvalError> {
    serde_json::to_value(value)
        .map_err(|e| EvalError::malformed(format!("a rule's value is not JSON: {e}")))
}

impl CustomControl {
    /// The requirements of `framework_id` this control evidences.
    pub fn requirements_of(&self, framework_id: &str) -> &[String] {
        self.requirements
            .get(framework_id)
            .map(Vec::as_slice)
            .unwrap_or_default()
    }

    fn verdict(&self, violations: Vec<Value>) -> Verdict {
        let details = |extra: Value| {
            let mut details = json!({
                "control_version": self.version,
                "control_source": self.source.display().to_string(),
            });
            if let (Value::Object(target), Value::Object(extra)) = (&mut details, extra) {
                target.extend(extra);
            }
            details
        };
        if violations.is_empty() {
            return Verdict::pass("no deny rule matched", details(json!({})));
        }
        let messages: Vec<String> = violations.iter().map(message_of).collect();
        Verdict::fail(
            messages.join("; "),
            details(json!({ "violations": violations })),
        )
    }

    /// Nothing denied, but the module says why it cannot decide.
    fn undecided(&self, reasons: Vec<Value>) -> Verdict {
        let messages: Vec<String> = reasons.iter().map(message_of).collect();
        Verdict::unknown(
            messages.join("; "),
            json!({
                "reasons": reasons,
                "control_version": self.version,
                "control_source": self.source.display().to_string(),
            }),
        )
    }

    fn unknown(&self, message: String, error: &str) -> Verdict {
        Verdict::unknown(
            message,
            json!({
                "error": error,
                "control_version": self.version,
                "control_source": self.source.display().to_string(),
            }),
        )
    }
}

/// What a `deny` entry says: itself when a string, its `msg` when an object.
fn message_of(violation: &Value) -> String {
    match violation {
        Value::String(text) => text.clone(),
        Value::Object(map) => match map.get("msg") {
            Some(Value::String(text)) => text.clone(),
            _ => violation.to_string(),
        },
        other => other.to_string(),
    }
}

/// A loaded module and, when it is a control, its sidecar.
struct Module {
    path: PathBuf,
    text: String,
    package: String,
    sidecar: Option<Sidecar>,
}

struct Sidecar {
    path: PathBuf,
    text: String,
}

fn collect_rego_files(path: &Path, files: &mut Vec<PathBuf>, issues: &mut Vec<LoadIssue>) {
    let unreadable = |e: std::io::Error| LoadIssue {
        file: path.to_path_buf(),
        position: None,
        message: format!("cannot read: {e}"),
    };
    let metadata = match std::fs::metadata(path) {
        Ok(metadata) => metadata,
        Err(e) => return issues.push(unreadable(e)),
    };
    if metadata.is_file() {
        files.push(path.to_path_buf());
        return;
    }
    let entries = match std::fs::read_dir(path) {
        Ok(entries) => entries,
        Err(e) => return issues.push(unreadable(e)),
    };
    for entry in entries {
        let child = match entry {
            Ok(entry) => entry.path(),
            Err(e) => {
                issues.push(LoadIssue {
                    file: path.to_path_buf(),
                    position: None,
                    message: format!("cannot read an entry: {e}"),
                });
                continue;
            }
        };
        if child.is_dir() {
            collect_rego_files(&child, files, issues);
        } else if child.extension().is_some_and(|e| e == "rego") {
            files.push(child);
        }
    }
}

fn load_module(engine: &mut Engine, path: &Path) -> Result<Module, LoadIssue> {
    let issue = |position, message: String| LoadIssue {
        file: path.to_path_buf(),
        position,
        message,
    };
    let text =
        std::fs::read_to_string(path).map_err(|e| issue(None, format!("cannot read: {e}")))?;
    let package = engine
        .add_policy(path.display().to_string(), text.clone())
        .map_err(|e| {
            let (position, message) = parse_error(&e.to_string());
            issue(position, message)
        })?;
    let sidecar_path = path.with_extension("toml");
    let sidecar = match std::fs::read_to_string(&sidecar_path) {
        Ok(text) => Some(Sidecar {
            path: sidecar_path,
            text,
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => {
            return Err(LoadIssue {
                file: sidecar_path,
                position: None,
                message: format!("cannot read: {e}"),
            });
        }
    };
    Ok(Module {
        path: path.to_path_buf(),
        text,
        package,
        sidecar,
    })
}

/// regorus reports `--> file:line:col`, the source line, then
/// `error: message`; the position and the message are what a person needs.
fn parse_error(text: &str) -> (Option<(u64, u64)>, String) {
    let position = text
        .lines()
        .find_map(|line| line.trim_start().strip_prefix("--> "))
        .and_then(|location| {
            let mut parts = location.rsplitn(3, ':');
            let col = parts.next()?.trim().parse().ok()?;
            let line = parts.next()?.trim().parse().ok()?;
            Some((line, col))
        });
    let message = text
        .lines()
        .find_map(|line| line.trim_start().strip_prefix("error: "))
        .map(str::to_string)
        .unwrap_or_else(|| one_line(text));
    (position, message)
}

/// What the analysis of all modules together refused (an unsafe variable,
/// an unknown function), at the file and line regorus names.
fn analysis_issue(text: &str) -> LoadIssue {
    let file = text
        .lines()
        .find_map(|line| line.trim_start().strip_prefix("--> "))
        .and_then(|location| location.rsplitn(3, ':').nth(2))
        .unwrap_or("(custom controls)");
    let (position, message) = parse_error(text);
    LoadIssue {
        file: PathBuf::from(file),
        position,
        message,
    }
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// One hash over every module that is not a control: a library change may
/// change any control's verdicts.
fn library_digest(modules: &[Module]) -> Vec<u8> {
    let mut hasher = Sha256::new();
    for module in modules.iter().filter(|m| m.sidecar.is_none()) {
        hasher.update(module.path.display().to_string().as_bytes());
        hasher.update([0]);
        hasher.update(module.text.as_bytes());
        hasher.update([0]);
    }
    hasher.finalize().to_vec()
}

fn control_of(
    module: &Module,
    sidecar: &Sidecar,
    libraries: &[u8],
    engine: &Engine,
    is_built_in: &impl Fn(&str) -> bool,
) -> Result<CustomControl, LoadIssue> {
    let issue = |message: String| LoadIssue {
        file: sidecar.path.clone(),
        position: None,
        message,
    };
    let metadata: Metadata = toml::from_str(&sidecar.text).map_err(|e| {
        let message = one_line(e.message());
        let position = e.span().map(|span| line_col(&sidecar.text, span.start));
        LoadIssue {
            file: sidecar.path.clone(),
            position,
            message,
        }
    })?;
    check_id(&metadata.id, is_built_in).map_err(issue)?;
    let resource_types = metadata
        .resource_types
        .iter()
        .map(|name| {
            name.parse::<ResourceType>()
                .map_err(|e| issue(format!("resource_types: {e}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    if resource_types.is_empty() {
        return Err(issue(
            "resource_types: name at least one resource type".into(),
        ));
    }
    let default_severity = metadata
        .severity
        .parse::<Severity>()
        .map_err(|e| issue(format!("severity: {e}")))?;
    check_requirements(&metadata.requirements).map_err(issue)?;
    let mut data = metadata
        .data
        .iter()
        .map(|name| {
            name.parse::<ResourceType>()
                .map_err(|e| issue(format!("data: {e}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    data.sort();
    data.dedup();
    for (field, text) in [
        ("title", &metadata.title),
        ("rationale", &metadata.rationale),
        ("remediation", &metadata.remediation),
    ] {
        if text.trim().is_empty() {
            return Err(issue(format!("{field}: must not be empty")));
        }
    }
    let package = format!("data.{}", module.package.trim_start_matches("data."));
    let declares = |rule: &str| {
        engine
            .has_declared_rule_rooted_at(&module.path.display().to_string(), rule)
            .unwrap_or(false)
    };
    if !declares("deny") {
        return Err(LoadIssue {
            file: module.path.clone(),
            position: None,
            message: format!(
                "{package} declares no `deny` rule (a control is `deny contains msg if {{ ... }}`)"
            ),
        });
    }
    let mut hasher = Sha256::new();
    hasher.update(module.text.as_bytes());
    hasher.update([0]);
    hasher.update(sidecar.text.as_bytes());
    hasher.update([0]);
    hasher.update(libraries);
    let version = hex::encode(&hasher.finalize()[..8]);
    Ok(CustomControl {
        id: metadata.id,
        title: metadata.title,
        resource_types,
        default_severity,
        rationale: metadata.rationale,
        remediation: metadata.remediation,
        requirements: metadata.requirements,
        data,
        source: module.path.clone(),
        version,
        package,
        declares_applicable: declares("applicable"),
        declares_unknown: declares("unknown"),
        breaker: Breaker::default(),
    })
}

/// A read of `data.resources` that the reading module's control did not
/// declare would see nothing (undefined), and a `deny` built on it would
/// pass: each read must name a type its control declares, and libraries
/// (shared by controls with different declarations) read none.
fn undeclared_data(
    uses: &[(String, u64, u64, ast::DataUse)],
    modules: &[Module],
    controls: &[CustomControl],
) -> Vec<LoadIssue> {
    let mut issues = Vec::new();
    for (file, line, col, use_) in uses {
        let control = modules
            .iter()
            .find(|m| m.path.display().to_string() == *file)
            .and_then(|m| m.sidecar.as_ref().map(|_| &m.path))
            .and_then(|path| controls.iter().find(|c| &c.source == path));
        let problem = match (use_, control) {
            (ast::DataUse::Opaque(what), _) => Some(format!(
                "{what}: a control reads data.resources[\"<type>\"] for the types its sidecar declares"
            )),
            (ast::DataUse::Reads(_), None) => Some(
                "a library or test module cannot read data.resources: pass the documents to \
                 its functions as arguments"
                    .to_string(),
            ),
            (ast::DataUse::Reads(name), Some(control)) => {
                let declared = name
                    .parse::<ResourceType>()
                    .is_ok_and(|t| control.data.contains(&t));
                (!declared).then(|| {
                    format!(
                        "reads data.resources[\"{name}\"], which {} does not declare (add it to `data` in its sidecar)",
                        control.id
                    )
                })
            }
        };
        if let Some(message) = problem {
            issues.push(LoadIssue {
                file: PathBuf::from(file),
                position: (*line > 0).then_some((*line, *col)),
                message,
            });
        }
    }
    issues
}

fn reserved_package(package: &str) -> bool {
    let package = package.trim_start_matches("data.");
    package == DATA_ROOT
        || package
            .strip_prefix(DATA_ROOT)
            .is_some_and(|rest| rest.starts_with('.'))
}

/// The shape of built-in ids (`service.name`, lower case), and none of them.
fn check_id(id: &str, is_built_in: &impl Fn(&str) -> bool) -> Result<(), String> {
    let shaped = id
        .split_once('.')
        .is_some_and(|(service, name)| !service.is_empty() && !name.is_empty())
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '_');
    if !shaped {
        return Err(format!(
            "id: `{id}` must look like `team.control_name` (lower case, digits, `_`, one or more dots)"
        ));
    }
    if is_built_in(id) {
        return Err(format!("id: `{id}` is the id of a built-in control"));
    }
    Ok(())
}

/// Every framework and requirement named exists.
fn check_requirements(requirements: &BTreeMap<String, Vec<String>>) -> Result<(), String> {
    for (framework_id, ids) in requirements {
        let Some(framework) = crate::frameworks::framework(framework_id) else {
            return Err(format!(
                "requirements: `{framework_id}` is not a framework (known: {})",
                crate::frameworks::ids().join(", ")
            ));
        };
        for id in ids {
            if !framework.requirements.iter().any(|r| &r.id == id) {
                return Err(format!(
                    "requirements.{framework_id}: `{id}` is not a requirement of {}",
                    framework.title
                ));
            }
        }
    }
    Ok(())
}

fn line_col(text: &str, offset: usize) -> (u64, u64) {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line as u64, col as u64)
}

#[cfg(test)]
mod tests;
