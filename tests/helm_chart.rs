//! `deploy/helm/driftwatch` rendered and checked.
//!
//! No `helm` binary can be installed from this machine's registries (Go
//! modules are not among them), so the templates are rendered here by
//! the rules `helm template` applies: Go's text/template (the `gotmpl`
//! crate, a port of it) with missing keys an error, `.Values` from
//! `values.yaml` merged with the overrides a test sets, `.Release` and
//! `.Chart`, and the Sprig functions the chart uses (`quote`, `default`,
//! `indent`, `toJson`, `sha256sum`, `add`, `int`) with Sprig's semantics.
//! The manifests are then parsed as YAML and checked for what the chart
//! promises: non-root, read-only root filesystem, probes on `/healthz` and
//! `/readyz`, a grace period covering the daemon's own, secrets only by
//! reference, and a config file driftwatch itself accepts.

use driftwatch::config::Config;
use gotmpl::{MissingKey, Template, Value};
use serde_json::{Value as Json, json};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

fn chart_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/helm/driftwatch")
}

fn yaml_file(path: &Path) -> Json {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_yaml_ng::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Helm's coalescing of `--set`-style overrides onto the chart's values.
fn merge(base: &mut Json, overrides: &Json) {
    match (base, overrides) {
        (Json::Object(base), Json::Object(overrides)) => {
            for (key, value) in overrides {
                merge(base.entry(key.clone()).or_insert(Json::Null), value);
            }
        }
        (base, value) => *base = value.clone(),
    }
}

fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.to_string(),
        Value::Nil => String::new(),
        other => other.to_string(),
    }
}

fn number(value: &Value) -> i64 {
    match value {
        Value::Int(n) => *n,
        Value::Uint(n) => i64::try_from(*n).unwrap_or(i64::MAX),
        Value::Float(f) => *f as i64,
        Value::String(s) => s.parse().unwrap_or(0),
        _ => 0,
    }
}

fn to_json(value: &Value) -> Json {
    match value {
        Value::Nil => Json::Null,
        Value::Bool(b) => json!(b),
        Value::Int(n) => json!(n),
        Value::Uint(n) => json!(n),
        Value::Float(f) => json!(f),
        Value::String(s) => json!(s.as_ref()),
        Value::List(items) => Json::Array(items.iter().map(to_json).collect()),
        Value::Map(map) => Json::Object(
            map.iter()
                .map(|(k, v)| (k.to_string(), to_json(v)))
                .collect(),
        ),
        other => json!(other.to_string()),
    }
}

/// The Sprig functions of the chart, as Helm defines them.
fn with_helm_functions(template: Template) -> Template {
    template
        .func("quote", |args| {
            Ok(Value::String(
                format!("{:?}", args.iter().map(text).collect::<Vec<_>>().join(" ")).into(),
            ))
        })
        // `x | default d` calls `default d x`: x unless it is empty.
        .func("default", |args| {
            let given = args.get(1).cloned().unwrap_or(Value::Nil);
            Ok(if given.is_truthy() {
                given
            } else {
                args.first().cloned().unwrap_or(Value::Nil)
            })
        })
        .func("indent", |args| {
            let width = args.first().map(number).unwrap_or(0).max(0) as usize;
            let pad = " ".repeat(width);
            let body = args.get(1).map(text).unwrap_or_default();
            Ok(Value::String(
                format!("{pad}{}", body.replace('\n', &format!("\n{pad}"))).into(),
            ))
        })
        .func("toJson", |args| {
            Ok(Value::String(
                to_json(args.first().unwrap_or(&Value::Nil))
                    .to_string()
                    .into(),
            ))
        })
        .func("sha256sum", |args| {
            let input = args.first().map(text).unwrap_or_default();
            Ok(Value::String(hex::encode(Sha256::digest(input)).into()))
        })
        .func("add", |args| Ok(Value::Int(args.iter().map(number).sum())))
        .func("int", |args| {
            Ok(Value::Int(args.first().map(number).unwrap_or(0)))
        })
}

/// Every manifest `helm template audit deploy/helm/driftwatch` would
/// print with `overrides` set, parsed.
fn render(overrides: Json) -> Vec<Json> {
    let dir = chart_dir();
    let chart = yaml_file(&dir.join("Chart.yaml"));
    let mut values = yaml_file(&dir.join("values.yaml"));
    merge(&mut values, &overrides);
    let context = gotmpl::to_value(&json!({
        "Values": values,
        "Release": {"Name": "audit", "Namespace": "security", "Service": "Helm"},
        "Chart": {"Name": chart["name"], "Version": chart["version"], "AppVersion": chart["appVersion"]},
    }))
    .expect("context");
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir.join("templates"))
        .expect("templates")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    assert!(files.len() >= 6, "{files:?}");
    let mut manifests = Vec::new();
    for file in files {
        let source = std::fs::read_to_string(&file).expect("read template");
        let rendered = with_helm_functions(Template::new("t").missing_key(MissingKey::Error))
            .parse(&source)
            .unwrap_or_else(|e| panic!("{}: {e}", file.display()))
            .execute_to_string(&context)
            .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        for document in rendered.split("\n---") {
            if document.trim().is_empty() {
                continue;
            }
            let manifest: Json = serde_yaml_ng::from_str(document).unwrap_or_else(|e| {
                panic!(
                    "{} renders YAML that does not parse: {e}\n{document}",
                    file.display()
                )
            });
            if !manifest.is_null() {
                manifests.push(manifest);
            }
        }
    }
    manifests
}

fn of_kind<'m>(manifests: &'m [Json], kind: &str) -> Option<&'m Json> {
    manifests.iter().find(|m| m["kind"] == kind)
}

#[test]
fn the_chart_runs_driftwatch_non_root_read_only_with_probes_and_secrets_by_reference() {
    let values = yaml_file(&chart_dir().join("values.yaml"));
    let manifests = render(json!({
        "serviceAccount": {"annotations": {"eks.amazonaws.com/role-arn": "arn:aws:iam::111122223333:role/driftwatch"}},
        "secrets": {"env": [{"name": "DRIFTWATCH_PD_SECURITY_KEY", "secret": "driftwatch-pagerduty", "key": "security"}]},
    }));
    let kinds: Vec<&str> = manifests
        .iter()
        .filter_map(|m| m["kind"].as_str())
        .collect();
    for kind in [
        "ConfigMap",
        "Deployment",
        "PodDisruptionBudget",
        "Service",
        "ServiceAccount",
    ] {
        assert!(kinds.contains(&kind), "{kind} missing: {kinds:?}");
    }
    assert!(
        !kinds.contains(&"ServiceMonitor"),
        "optional, off by default"
    );

    let deployment = of_kind(&manifests, "Deployment").expect("deployment");
    assert_eq!(deployment["spec"]["replicas"], values["replicaCount"]);
    let pod = &deployment["spec"]["template"]["spec"];
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    // The image's own user (Dockerfile), so files it owns stay readable.
    let dockerfile =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("Dockerfile"))
            .expect("Dockerfile");
    let uid = pod["securityContext"]["runAsUser"]
        .as_i64()
        .expect("runAsUser");
    assert!(
        dockerfile.contains(&format!("--uid {uid}")),
        "Dockerfile's user is not {uid}"
    );
    let container = &pod["containers"][0];
    assert_eq!(container["securityContext"]["readOnlyRootFilesystem"], true);
    assert_eq!(
        container["securityContext"]["allowPrivilegeEscalation"],
        false
    );
    assert_eq!(container["livenessProbe"]["httpGet"]["path"], "/healthz");
    assert_eq!(
        container["readinessProbe"]["httpGet"]["path"],
        "/readyz?scope=replica"
    );
    assert_eq!(container["resources"], values["resources"]);
    let port = container["ports"][0]["containerPort"]
        .as_i64()
        .expect("port");
    assert_eq!(Some(port), values["http"]["port"].as_i64());

    // Secrets by reference only.
    let env = container["env"].as_array().expect("env");
    let secret_of = |name: &str| {
        env.iter()
            .find(|e| e["name"] == name)
            .map(|e| e["valueFrom"]["secretKeyRef"].clone())
            .unwrap_or_else(|| panic!("{name} not set: {env:?}"))
    };
    assert_eq!(
        secret_of("DRIFTWATCH_DATABASE_URL"),
        json!({"name": "driftwatch-database", "key": "url"})
    );
    assert_eq!(
        secret_of("DRIFTWATCH_HTTP_TOKEN"),
        json!({"name": "driftwatch-http", "key": "token"})
    );
    assert_eq!(
        secret_of("DRIFTWATCH_PD_SECURITY_KEY"),
        json!({"name": "driftwatch-pagerduty", "key": "security"})
    );
    let plain = ["DRIFTWATCH_CONFIG", "DRIFTWATCH_DATA_DIR"];
    assert!(
        env.iter()
            .all(|e| e.get("value").is_none() || plain.iter().any(|p| e["name"] == *p)),
        "{env:?}"
    );

    // With a read-only root, every place the daemon writes is a volume:
    // the data directory (the daily report's files) and /tmp.
    let value_of = |name: &str| {
        env.iter()
            .find(|e| e["name"] == name)
            .and_then(|e| e["value"].as_str())
            .unwrap_or_else(|| panic!("{name} not set"))
    };
    let mounts = container["volumeMounts"].as_array().expect("mounts");
    for path in [value_of("DRIFTWATCH_DATA_DIR"), "/tmp"] {
        assert!(
            mounts
                .iter()
                .any(|m| m["mountPath"] == path && m["readOnly"] != true),
            "{path} is not writable: {mounts:?}"
        );
    }

    // The config the chart writes is one driftwatch accepts, and the pod's
    // grace period covers the pre-stop pause and the daemon's own grace.
    let config_map = of_kind(&manifests, "ConfigMap").expect("config map");
    let toml = config_map["data"]["driftwatch.toml"]
        .as_str()
        .expect("config file");
    let config =
        Config::parse(toml, Path::new("driftwatch.toml")).expect("the rendered config parses");
    assert_eq!(config.validate(), vec![], "{toml}");
    assert!(
        config.http.bind.ends_with(&format!(":{port}")),
        "{}",
        config.http.bind
    );
    let pre_stop: i64 = container["lifecycle"]["preStop"]["exec"]["command"][1]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("preStop sleep");
    let grace = pod["terminationGracePeriodSeconds"]
        .as_i64()
        .expect("grace");
    assert!(
        grace > pre_stop + config.daemon.grace_seconds as i64,
        "grace {grace}s does not cover {pre_stop}s + {}s",
        config.daemon.grace_seconds
    );

    let account = of_kind(&manifests, "ServiceAccount").expect("service account");
    assert_eq!(pod["serviceAccountName"], account["metadata"]["name"]);
    assert_eq!(
        account["metadata"]["annotations"]["eks.amazonaws.com/role-arn"],
        "arn:aws:iam::111122223333:role/driftwatch"
    );
    let budget = of_kind(&manifests, "PodDisruptionBudget").expect("budget");
    assert_eq!(budget["spec"]["unhealthyPodEvictionPolicy"], "AlwaysAllow");
    assert_eq!(
        budget["spec"]["selector"]["matchLabels"],
        deployment["spec"]["selector"]["matchLabels"]
    );
}

#[test]
fn the_grace_period_follows_the_daemon_and_optional_parts_switch() {
    let manifests = render(json!({
        "daemon": {"graceSeconds": 120},
        "replicaCount": 1,
        "serviceMonitor": {"enabled": true, "labels": {"release": "prometheus"}},
    }));
    let deployment = of_kind(&manifests, "Deployment").expect("deployment");
    let config_map = of_kind(&manifests, "ConfigMap").expect("config map");
    let config = Config::parse(
        config_map["data"]["driftwatch.toml"]
            .as_str()
            .expect("config"),
        Path::new("driftwatch.toml"),
    )
    .expect("parses");
    assert_eq!(config.daemon.grace_seconds, 120);
    let grace = deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
        .as_i64()
        .expect("grace");
    assert!(grace > 120, "{grace}");
    let volumes = deployment["spec"]["template"]["spec"]["volumes"]
        .as_array()
        .expect("volumes");
    assert!(
        volumes
            .iter()
            .all(|v| v["name"] != "data" || v["emptyDir"]["sizeLimit"] == "1Gi"),
        "{volumes:?}"
    );
    // One replica cannot stay available through a drain: no budget.
    assert!(of_kind(&manifests, "PodDisruptionBudget").is_none());
    let monitor = of_kind(&manifests, "ServiceMonitor").expect("enabled");
    assert_eq!(monitor["metadata"]["labels"]["release"], "prometheus");
    let endpoint = &monitor["spec"]["endpoints"][0];
    assert_eq!(endpoint["path"], "/metrics");
    assert_eq!(
        endpoint["bearerTokenSecret"],
        json!({"name": "driftwatch-http", "key": "token"})
    );
    let service = of_kind(&manifests, "Service").expect("service");
    assert_eq!(
        monitor["spec"]["selector"]["matchLabels"],
        service["metadata"]["labels"]
    );
    // A config change rolls the pods.
    let annotation = |manifests: &[Json]| {
        of_kind(manifests, "Deployment").expect("deployment")["spec"]["template"]["metadata"]
            ["annotations"]["checksum/config"]
            .clone()
    };
    assert_ne!(annotation(&manifests), annotation(&render(json!({}))));
}
