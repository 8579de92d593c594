use super::*;
use crate::evaluate::FindingStatus;

const TAGS_REGO: &str = r#"package team.bucket_tags

required := ["owner", "data-classification"]

deny contains msg if {
    some tag in required
    not input.tags[tag]
    msg := sprintf("bucket %s has no `%s` tag", [input.name, tag])
}
"#;

fn sidecar(id: &str, types: &str) -> String {
    format!(
        "id = \"{id}\"\ntitle = \"Buckets carry ownership tags\"\nresource_types = [{types}]\n\
         severity = \"medium\"\nrationale = \"An untagged bucket has no owner to ask.\"\n\
         remediation = \"aws s3api put-bucket-tagging --bucket NAME --tagging ...\"\n"
    )
}

struct Dir(tempfile::TempDir);

impl Dir {
    fn new() -> Dir {
        Dir(tempfile::tempdir().expect("temp dir"))
    }

    fn file(&self, name: &str, text: &str) -> &Dir {
        let path = self.0.path().join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("dir");
        }
        std::fs::write(path, text).expect("write");
        self
    }

    fn control(&self, stem: &str, id: &str, rego: &str) -> &Dir {
        self.file(&format!("{stem}.rego"), rego)
            .file(&format!("{stem}.toml"), &sidecar(id, "\"s3.bucket\""))
    }

    fn load(&self) -> Result<CustomControls, Vec<LoadIssue>> {
        self.load_with(Duration::from_millis(500))
    }

    fn load_with(&self, timeout: Duration) -> Result<CustomControls, Vec<LoadIssue>> {
        CustomControls::load(&[self.0.path().to_path_buf()], timeout, |id| {
            crate::evaluate::control(id).is_some()
        })
    }

    fn issues(&self) -> Vec<String> {
        match self.load() {
            Ok(_) => panic!("expected the load to fail"),
            Err(issues) => issues
                .iter()
                .map(|i| {
                    i.to_string()
                        .replace(&self.0.path().display().to_string(), "")
                })
                .collect(),
        }
    }
}

fn decide(controls: &CustomControls, id: &str, document: Value) -> Option<Verdict> {
    let control = controls.get(id).expect("loaded");
    let input = CustomControls::input(&document.to_string()).expect("json");
    controls.decide(control, &input, &super::ScopeData::none())
}

#[test]
fn a_deny_rule_decides_pass_and_fail_with_the_messages_and_the_version() {
    let dir = Dir::new();
    dir.control("tags", "team.bucket_tags", TAGS_REGO);
    let controls = dir.load().expect("loads");
    let control = controls.get("team.bucket_tags").expect("loaded");
    assert_eq!(control.resource_types, [ResourceType::S3Bucket]);
    assert_eq!(control.default_severity, Severity::Medium);
    assert_eq!(control.version.len(), 16);

    let tagged = json!({"name": "a", "tags": {"owner": "x", "data-classification": "internal"}});
    let verdict = decide(&controls, "team.bucket_tags", tagged).expect("applies");
    assert_eq!(verdict.status, FindingStatus::Pass);
    assert_eq!(
        verdict.evidence["control_version"],
        control.version.as_str()
    );

    let verdict = decide(
        &controls,
        "team.bucket_tags",
        json!({"name": "b", "tags": {"owner": "x"}}),
    )
    .expect("applies");
    assert_eq!(verdict.status, FindingStatus::Fail);
    assert_eq!(
        verdict.evidence["message"],
        "bucket b has no `data-classification` tag"
    );
    let verdict = decide(&controls, "team.bucket_tags", json!({"name": "c"})).expect("applies");
    assert_eq!(
        verdict.evidence["violations"].as_array().map(Vec::len),
        Some(2)
    );
}

#[test]
fn objects_in_deny_carry_their_own_evidence() {
    let dir = Dir::new();
    dir.control(
        "ports",
        "team.no_postgres_port",
        "package team.ports\n\ndeny contains {\"msg\": \"5432 is open\", \"rule\": r} if {\n    some r in input.rules\n    r.port == 5432\n}\n",
    );
    let controls = dir.load().expect("loads");
    let verdict = decide(
        &controls,
        "team.no_postgres_port",
        json!({"rules": [{"port": 22}, {"port": 5432, "cidr": "0.0.0.0/0"}]}),
    )
    .expect("applies");
    assert_eq!(verdict.status, FindingStatus::Fail);
    assert_eq!(verdict.evidence["message"], "5432 is open");
    assert_eq!(
        verdict.evidence["violations"][0]["rule"]["cidr"],
        "0.0.0.0/0"
    );
}

#[test]
fn applicable_when_declared_must_be_true() {
    let dir = Dir::new();
    dir.control(
        "prod",
        "team.prod_versioned",
        "package team.prod\n\napplicable if input.tags.env == \"prod\"\n\ndeny contains \"not versioned\" if not input.versioning.enabled\n",
    );
    let controls = dir.load().expect("loads");
    let id = "team.prod_versioned";
    assert_eq!(decide(&controls, id, json!({"tags": {"env": "dev"}})), None);
    assert_eq!(decide(&controls, id, json!({})), None);
    let verdict = decide(&controls, id, json!({"tags": {"env": "prod"}})).expect("applies");
    assert_eq!(verdict.status, FindingStatus::Fail);
}

#[test]
fn a_parse_error_names_the_file_line_and_column() {
    let dir = Dir::new();
    dir.control(
        "bad",
        "team.bad",
        "package team.bad\n\ndeny contains msg if {\n  input.a ==\n}\n",
    );
    let issues = dir.issues();
    assert_eq!(issues.len(), 1, "{issues:?}");
    assert!(issues[0].starts_with("/bad.rego:5:1: "), "{issues:?}");
}

#[test]
fn an_unsafe_variable_is_refused_at_load_with_its_file() {
    let dir = Dir::new();
    dir.control(
        "unsafe",
        "team.unsafe",
        "package team.unsafe\n\ndeny contains msg if {\n  x == 1\n  msg := \"x\"\n}\n",
    );
    let issues = dir.issues();
    assert_eq!(issues.len(), 1, "{issues:?}");
    assert!(issues[0].starts_with("/unsafe.rego:"), "{issues:?}");
}

#[test]
fn sidecar_mistakes_are_named_with_their_field() {
    let cases = [
        (sidecar("team.x", "\"s3.bukket\""), "resource_types: "),
        (sidecar("team.x", ""), "resource_types: name at least one"),
        (
            sidecar("s3.versioning", "\"s3.bucket\""),
            "is the id of a built-in control",
        ),
        (
            sidecar("Team X", "\"s3.bucket\""),
            "must look like `team.control_name`",
        ),
        (
            sidecar("team.x", "\"s3.bucket\"").replace("medium", "urgent"),
            "severity: unknown severity `urgent`",
        ),
        (
            format!("{}owner = \"me\"\n", sidecar("team.x", "\"s3.bucket\"")),
            "unknown field `owner`",
        ),
        (
            format!(
                "{}[requirements]\nsoc2 = [\"CC99.9\"]\n",
                sidecar("team.x", "\"s3.bucket\"")
            ),
            "requirements.soc2: `CC99.9` is not a requirement",
        ),
        (
            format!(
                "{}[requirements]\nnist = [\"AC-1\"]\n",
                sidecar("team.x", "\"s3.bucket\"")
            ),
            "requirements: `nist` is not a framework",
        ),
    ];
    for (text, expected) in cases {
        let dir = Dir::new();
        dir.file("x.rego", TAGS_REGO).file("x.toml", &text);
        let issues = dir.issues();
        assert_eq!(issues.len(), 1, "{issues:?}");
        assert!(issues[0].starts_with("/x.toml"), "{issues:?}");
        assert!(issues[0].contains(expected), "{expected}: {issues:?}");
    }
}

#[test]
fn two_controls_with_one_id_and_a_module_without_deny_are_refused() {
    let dir = Dir::new();
    dir.control("a", "team.same", TAGS_REGO)
        .control(
            "b",
            "team.same",
            &TAGS_REGO.replace("team.bucket_tags", "team.other"),
        )
        .control("c", "team.nodeny", "package team.nodeny\n\nallow := true\n");
    let issues = dir.issues();
    assert_eq!(issues.len(), 2, "{issues:?}");
    assert!(
        issues.iter().any(|i| i.contains("is already the id of")),
        "{issues:?}"
    );
    assert!(
        issues
            .iter()
            .any(|i| i.starts_with("/c.rego") && i.contains("no `deny` rule")),
        "{issues:?}"
    );
}

#[test]
fn recursive_functions_are_refused_at_load_instead_of_overflowing_the_stack() {
    let shapes = [
        "package team.r\n\nf(x) := y if { y := f(x) }\ndeny contains m if { m := f(1) }\n",
        "package team.r\n\nf(x) := g(x)\ng(x) := y if { y := data.team.r.f(x) }\ndeny contains m if { m := f(1) }\n",
        "package team.r\n\nimport data.team.r as me\n\nf(x) := me.f(x)\ndeny contains m if { m := f(1) }\n",
        // A bracketed name is resolved like a dotted one.
        "package team.r\n\nf(x) := data.team.r[\"f\"](x)\ndeny contains m if { m := f(1) }\n",
        // `with h as f` runs f wherever g calls h.
        "package team.r\n\nf(x) := g(x)\ng(x) := y if { y := h(x) with h as f }\nh(x) := x\ndeny contains m if { m := f(1) }\n",
        // A default value runs when no body matches.
        "package team.r\n\nf(x) := 1 if { x == 0 }\ndefault f(_) := g(0)\ng(x) := f(x)\ndeny contains m if { m := f(1) }\n",
    ];
    for rego in shapes {
        let dir = Dir::new();
        dir.control("r", "team.r", rego);
        let issues = dir.issues();
        assert_eq!(issues.len(), 1, "{rego}: {issues:?}");
        assert!(
            issues[0].contains("function recursion is not allowed"),
            "{issues:?}"
        );
        assert!(issues[0].starts_with("/r.rego:"), "{issues:?}");
    }
}

#[test]
fn recursion_between_rules_is_unknown_never_a_crash() {
    let dir = Dir::new();
    dir.control(
        "r",
        "team.r",
        "package team.r\n\na if b\nb if a\ndeny contains \"x\" if a\n",
    );
    match dir.load() {
        Ok(controls) => {
            let verdict = decide(&controls, "team.r", json!({})).expect("applies");
            assert_eq!(verdict.status, FindingStatus::Unknown);
        }
        Err(issues) => assert!(issues[0].to_string().contains("/r.rego"), "{issues:?}"),
    }
}

#[test]
fn a_slow_policy_times_out_as_unknown_then_is_skipped() {
    let dir = Dir::new();
    dir.control(
        "slow",
        "team.slow",
        // Iterations the timer can interrupt: a single built-in call that
        // builds a huge value (numbers.range(1, 1e9)) runs to completion.
        "package team.slow\n\nn := numbers.range(1, 3000)\n\ndeny contains \"never\" if {\n  some i in n\n  some j in n\n  some k in n\n  i * j * k == 0\n}\n",
    );
    let mut controls = dir.load_with(Duration::from_millis(50)).expect("loads");
    controls.pause = Duration::from_millis(300);
    for _ in 0..TIMEOUTS_BEFORE_SKIPPING {
        let verdict = decide(&controls, "team.slow", json!({})).expect("applies");
        assert_eq!(verdict.status, FindingStatus::Unknown);
        let error = verdict.evidence["error"].as_str().unwrap_or_default();
        assert!(error.contains("time limit"), "{error}");
    }
    // Skipped: decided without running (no timer error in the evidence).
    let skipped = |controls: &CustomControls| {
        let verdict = decide(controls, "team.slow", json!({})).expect("applies");
        assert_eq!(verdict.status, FindingStatus::Unknown);
        let message = verdict.evidence["message"].as_str().unwrap_or_default();
        let error = verdict.evidence["error"].as_str().unwrap_or_default();
        assert_eq!(
            message.contains("not evaluated"),
            !error.contains("time limit")
        );
        message.contains("not evaluated")
    };
    assert!(skipped(&controls));
    // After the pause one evaluation is tried again; it times out, so the
    // control is skipped again at once.
    std::thread::sleep(Duration::from_millis(350));
    assert!(!skipped(&controls), "tried again after the pause");
    assert!(skipped(&controls), "skipped again after another timeout");
}

#[test]
fn a_success_after_timeouts_resumes_the_control() {
    let breaker = Breaker::default();
    let now = Instant::now();
    let pause = Duration::from_secs(60);
    for _ in 0..TIMEOUTS_BEFORE_SKIPPING - 1 {
        breaker.record(true, now, pause);
    }
    assert!(breaker.allows(now), "two timeouts do not skip");
    breaker.record(true, now, pause);
    assert!(!breaker.allows(now + Duration::from_secs(59)));
    assert!(breaker.allows(now + pause));
    breaker.record(false, now + pause, pause);
    breaker.record(true, now + pause, pause);
    assert!(
        breaker.allows(now + pause),
        "one timeout after a success does not skip"
    );
}

#[test]
fn a_deny_that_is_not_a_set_or_a_runtime_error_is_unknown() {
    let dir = Dir::new();
    dir.control("num", "team.num", "package team.num\n\ndeny := 3\n")
        .control(
            "div",
            "team.div",
            "package team.div\n\ndeny contains m if { m := sprintf(\"%d\", [1 / input.zero]) }\n",
        );
    let controls = dir.load().expect("loads");
    let verdict = decide(&controls, "team.num", json!({})).expect("applies");
    assert_eq!(verdict.status, FindingStatus::Unknown);
    assert!(
        verdict.evidence["error"]
            .as_str()
            .unwrap_or_default()
            .contains("set of messages")
    );
    let verdict = decide(&controls, "team.div", json!({"zero": 0})).expect("applies");
    assert_ne!(verdict.status, FindingStatus::Pass, "{verdict:?}");
}

#[test]
fn a_library_module_is_importable_and_part_of_every_version() {
    let lib = "package team.lib\n\nmissing(tags, name) if not tags[name]\n";
    let rego = "package team.tags\n\nimport data.team.lib\n\ndeny contains \"no owner\" if lib.missing(input.tags, \"owner\")\n";
    let dir = Dir::new();
    dir.file("lib/tags.rego", lib)
        .control("tags", "team.tags", rego);
    let controls = dir.load().expect("loads");
    assert_eq!(controls.iter().count(), 1);
    let before = controls.get("team.tags").expect("loaded").version.clone();
    let verdict = decide(&controls, "team.tags", json!({"tags": {}})).expect("applies");
    assert_eq!(verdict.status, FindingStatus::Fail);

    dir.file(
        "lib/tags.rego",
        &lib.replace("not tags[name]", "not tags[name] == \"\""),
    );
    let after = dir.load().expect("loads");
    assert_ne!(after.get("team.tags").expect("loaded").version, before);
}

#[test]
fn a_missing_path_is_named() {
    let issues = match CustomControls::load(
        &[PathBuf::from("/nonexistent/controls")],
        Duration::from_millis(100),
        |_| false,
    ) {
        Ok(_) => panic!("must fail"),
        Err(issues) => issues,
    };
    assert_eq!(issues.len(), 1);
    assert!(
        issues[0]
            .to_string()
            .starts_with("/nonexistent/controls: cannot read")
    );
}

#[test]
fn engines_are_reused_across_evaluations_and_threads() {
    let dir = Dir::new();
    dir.control("tags", "team.bucket_tags", TAGS_REGO);
    let controls = dir.load().expect("loads");
    std::thread::scope(|scope| {
        for i in 0..4 {
            let controls = &controls;
            scope.spawn(move || {
                for _ in 0..50 {
                    let verdict = decide(
                        controls,
                        "team.bucket_tags",
                        json!({"name": format!("b{i}")}),
                    )
                    .expect("applies");
                    assert_eq!(verdict.status, FindingStatus::Fail);
                }
            });
        }
    });
    assert!(controls.idle.lock().map(|idle| idle.len()).unwrap_or(0) <= 4);
}

#[test]
fn an_unknown_reason_without_a_denial_is_unknown_and_a_denial_wins() {
    let dir = Dir::new();
    dir.control(
        "pl",
        "team.pl",
        "package team.pl\n\ndeny contains \"open\" if input.open\n\n\
         unknown contains sprintf(\"prefix list %s unreadable\", [p.id]) if {\n  some p in input.lists\n  p.unreadable\n}\n",
    );
    let controls = dir.load().expect("loads");
    let unreadable = json!({"lists": [{"id": "pl-1", "unreadable": "AccessDenied"}]});
    let verdict = decide(&controls, "team.pl", unreadable.clone()).expect("applies");
    assert_eq!(verdict.status, FindingStatus::Unknown);
    assert_eq!(verdict.evidence["message"], "prefix list pl-1 unreadable");
    let mut open = unreadable;
    open["open"] = json!(true);
    let verdict = decide(&controls, "team.pl", open).expect("applies");
    assert_eq!(verdict.status, FindingStatus::Fail);
    let verdict = decide(&controls, "team.pl", json!({"lists": []})).expect("applies");
    assert_eq!(verdict.status, FindingStatus::Pass);
}

#[test]
fn an_undefined_deny_or_a_non_boolean_applicable_is_unknown_not_pass() {
    let dir = Dir::new();
    dir.control(
        "complete",
        "team.complete",
        "package team.complete\n\ndeny := {\"open\"} if input.open\n",
    )
    .control(
        "yes",
        "team.yes",
        "package team.yes\n\napplicable := \"yes\"\n\ndeny contains \"x\" if input.x\n",
    );
    let controls = dir.load().expect("loads");
    let verdict = decide(&controls, "team.complete", json!({})).expect("applies");
    assert_eq!(verdict.status, FindingStatus::Unknown, "{verdict:?}");
    assert!(
        verdict.evidence["error"]
            .as_str()
            .unwrap_or("")
            .contains("`deny` is undefined")
    );
    let verdict = decide(&controls, "team.yes", json!({})).expect("decided");
    assert_eq!(verdict.status, FindingStatus::Unknown, "{verdict:?}");
}

#[test]
fn two_controls_in_one_package_are_refused() {
    let dir = Dir::new();
    dir.control("a", "team.a", TAGS_REGO)
        .control("b", "team.b", TAGS_REGO);
    let issues = dir.issues();
    assert_eq!(issues.len(), 1, "{issues:?}");
    assert!(
        issues[0].contains("each control needs its own package"),
        "{issues:?}"
    );
}

#[test]
fn a_timeout_inside_a_function_counts_toward_skipping() {
    let dir = Dir::new();
    dir.control(
        "slow",
        "team.slow",
        "package team.slow\n\nn := numbers.range(1, 3000)\n\nslow(x) if {\n  some i in n\n  some j in n\n  some k in n\n  i * j * k == x\n}\n\ndeny contains \"never\" if slow(0)\n",
    );
    let controls = dir.load_with(Duration::from_millis(50)).expect("loads");
    for _ in 0..TIMEOUTS_BEFORE_SKIPPING {
        let verdict = decide(&controls, "team.slow", json!({})).expect("applies");
        assert_eq!(verdict.status, FindingStatus::Unknown, "{verdict:?}");
    }
    let verdict = decide(&controls, "team.slow", json!({})).expect("applies");
    assert!(
        verdict.evidence["message"]
            .as_str()
            .unwrap_or("")
            .contains("not evaluated"),
        "{verdict:?}"
    );
}

/// A user rule that reads the scope's policies: fail when an attached
/// policy's document says `"Effect": "Allow"` on `*`.
const ADMIN_REGO: &str = r#"package team.no_admin

deny contains arn if {
    some arn in input.attached_policies
    some statement in data.resources["iam.policy"][arn].document.Statement
    statement.Action == "*"
}
"#;

fn admin_control(dir: &Dir) -> CustomControls {
    dir.file("no_admin.rego", ADMIN_REGO).file(
        "no_admin.toml",
        &format!(
            "{}data = [\"iam.policy\", \"iam.policy\"]\n",
            sidecar("team.no_admin", "\"iam.user\"")
        ),
    );
    dir.load().expect("loads")
}

fn user_with(policy: &str) -> Value {
    json!({"name": "u", "attached_policies": [policy], "inline_policies": [], "groups": []})
}

fn policy_document(arn: &str, action: &str) -> String {
    json!({"name": "p", "arn": arn, "attachment_count": 1, "default_version": "v1",
           "document": {"Statement": [{"Effect": "Allow", "Action": action, "Resource": "*"}]}})
    .to_string()
}

fn decide_in(controls: &CustomControls, document: Value, data: &ScopeData) -> Option<Verdict> {
    let control = controls.get("team.no_admin").expect("loaded");
    let input = CustomControls::input(&document.to_string()).expect("json");
    controls.decide(control, &input, data)
}

#[test]
fn declared_data_is_the_scopes_documents_of_those_types_and_nothing_else() {
    let dir = Dir::new();
    let controls = admin_control(&dir);
    let control = controls.get("team.no_admin").expect("loaded");
    assert_eq!(
        control.data,
        vec![ResourceType::IamPolicy],
        "sorted, distinct"
    );
    assert_eq!(
        controls.declared_data().into_iter().collect::<Vec<_>>(),
        vec![ResourceType::IamPolicy]
    );
    let (admin, reader) = ("arn:aws:iam::1:policy/admin", "arn:aws:iam::1:policy/read");
    let admin_doc = policy_document(admin, "*");
    let reader_doc = policy_document(reader, "s3:GetObject");
    let wanted = controls.declared_data();
    let scope = ScopeData::of(
        &wanted,
        [
            ScopeDocument {
                resource_type: ResourceType::IamPolicy,
                arn: admin,
                document: Ok(&admin_doc),
            },
            ScopeDocument {
                resource_type: ResourceType::IamPolicy,
                arn: reader,
                document: Ok(&reader_doc),
            },
            // Another type of the scope is not given to the control.
            ScopeDocument {
                resource_type: ResourceType::IamRole,
                arn: "arn:aws:iam::1:role/r",
                document: Err("AccessDenied"),
            },
        ],
        None,
    );
    let verdict = decide_in(&controls, user_with(admin), &scope).expect("applies");
    assert_eq!(verdict.status, FindingStatus::Fail, "{verdict:?}");
    assert_eq!(verdict.evidence["message"], admin);
    // The prepared engine is reused: the next user sees the same data.
    let verdict = decide_in(&controls, user_with(reader), &scope).expect("applies");
    assert_eq!(verdict.status, FindingStatus::Pass, "{verdict:?}");
}

#[test]
fn data_that_is_not_all_known_is_unknown_never_pass() {
    let dir = Dir::new();
    let controls = admin_control(&dir);
    let wanted = controls.declared_data();
    let admin = "arn:aws:iam::1:policy/admin";
    let unknown_because = |scope: &ScopeData, why: &str| {
        let verdict = decide_in(&controls, user_with(admin), scope).expect("applies");
        assert_eq!(verdict.status, FindingStatus::Unknown, "{verdict:?}");
        let message = verdict.evidence["message"].as_str().unwrap_or_default();
        assert!(message.contains(why), "{message}");
    };
    // One policy failed to describe: it may be the one that decides.
    let failed = ScopeData::of(
        &wanted,
        [ScopeDocument {
            resource_type: ResourceType::IamPolicy,
            arn: admin,
            document: Err("Throttling: rate exceeded"),
        }],
        None,
    );
    unknown_because(&failed, "could not be described: Throttling");
    // The scope's listing stopped early.
    let incomplete = ScopeData::of(&wanted, [], Some("ListPolicies: Throttling"));
    unknown_because(&incomplete, "not listed completely: ListPolicies");
    // Evaluated without its scope (as `evaluate` does).
    unknown_because(
        &ScopeData::none(),
        "data.resources[\"iam.policy\"] is not known",
    );
    // A scope with none of the type is known, and empty.
    let empty = ScopeData::of(&wanted, [], None);
    let verdict = decide_in(&controls, user_with(admin), &empty).expect("applies");
    assert_eq!(verdict.status, FindingStatus::Pass);
}

#[test]
fn the_data_package_is_reserved_and_data_types_are_checked() {
    let dir = Dir::new();
    dir.file("shadow.rego", "package resources\n\nx := 1\n");
    let issues = dir.issues();
    assert!(
        issues
            .iter()
            .any(|i| i.contains("package resources is reserved")),
        "{issues:?}"
    );
    let dir = Dir::new();
    dir.file("no_admin.rego", ADMIN_REGO).file(
        "no_admin.toml",
        &format!(
            "{}data = [\"iam.polcy\"]\n",
            sidecar("team.no_admin", "\"iam.user\"")
        ),
    );
    let issues = dir.issues();
    assert!(
        issues
            .iter()
            .any(|i| i.contains("no_admin.toml: data: unknown resource type `iam.polcy`")),
        "{issues:?}"
    );
}

fn framework_file(id: &str, controls: &str) -> String {
    format!(
        "id = \"{id}\"\ntitle = \"Team baseline\"\nversion = \"1\"\nsource = \"internal\"\n\
         [[requirements]]\nid = \"TB-1\"\ntitle = \"Buckets are tagged\"\ncontrols = [{controls}]\n"
    )
}

#[test]
fn a_teams_framework_may_name_custom_and_built_in_controls() {
    let dir = Dir::new();
    dir.control("tags", "team.bucket_tags", TAGS_REGO).file(
        "frameworks/baseline.toml",
        &framework_file("team-baseline", "\"team.bucket_tags\", \"s3.versioning\""),
    );
    let mut controls = dir.load().expect("loads");
    let issues = controls.load_frameworks(&[dir.0.path().join("frameworks")]);
    assert_eq!(issues, vec![]);
    let every = crate::frameworks::every(&controls);
    let baseline = every
        .iter()
        .find(|f| f.id == "team-baseline")
        .expect("listed after the shipped ones");
    assert_eq!(
        crate::frameworks::requirements_in(baseline, "team.bucket_tags"),
        ["TB-1"]
    );
    assert_eq!(
        crate::frameworks::requirements_in(baseline, "s3.versioning"),
        ["TB-1"]
    );
}

#[test]
fn a_framework_naming_an_unknown_control_or_a_shipped_id_is_refused_whole() {
    let dir = Dir::new();
    dir.control("tags", "team.bucket_tags", TAGS_REGO)
        .file(
            "frameworks/good.toml",
            &framework_file("team-good", "\"team.bucket_tags\""),
        )
        .file(
            "frameworks/typo.toml",
            &framework_file("team-typo", "\"team.bucket_tagz\""),
        )
        .file(
            "frameworks/shadow.toml",
            &framework_file("soc2", "\"s3.versioning\""),
        );
    let mut controls = dir.load().expect("loads");
    let issues: Vec<String> = controls
        .load_frameworks(&[dir.0.path().join("frameworks")])
        .iter()
        .map(|i| {
            i.to_string()
                .replace(&dir.0.path().display().to_string(), "")
        })
        .collect();
    assert_eq!(issues.len(), 2, "{issues:?}");
    assert!(
        issues.iter().any(|i| i
            .starts_with("/frameworks/typo.toml: requirements[0].controls[0]: `team.bucket_tagz`")),
        "{issues:?}"
    );
    assert!(
        issues
            .iter()
            .any(|i| i == "/frameworks/shadow.toml: id `soc2` is a shipped framework's"),
        "{issues:?}"
    );
    assert!(
        controls.frameworks().is_empty(),
        "none kept unless all are good"
    );
}

#[test]
fn the_wall_clock_is_refused_at_load_with_its_line() {
    let dir = Dir::new();
    dir.control(
        "fresh",
        "team.fresh",
        "package team.fresh\n\ndeny contains \"old\" if {\n    time.now_ns() > 0\n}\n",
    );
    let issues = dir.issues();
    assert_eq!(issues.len(), 1, "{issues:?}");
    assert!(
        issues[0].starts_with("/fresh.rego:4:") && issues[0].contains("time.now_ns is not allowed"),
        "{issues:?}"
    );
    // Parsing a document's own timestamps is what a control should do.
    let dir = Dir::new();
    dir.control(
        "dated",
        "team.dated",
        "package team.dated\n\ndeny contains \"early\" if {\n    time.parse_rfc3339_ns(input.created) < 0\n}\n",
    );
    let controls = dir.load().expect("loads");
    let verdict = decide(
        &controls,
        "team.dated",
        json!({"created": "2026-03-04T10:00:00Z"}),
    );
    assert_eq!(verdict.map(|v| v.status), Some(FindingStatus::Pass));
}

#[test]
fn reading_data_a_control_did_not_declare_is_refused_at_load() {
    let issues_of = |rego: &str, data: &str, library: Option<&str>| {
        let dir = Dir::new();
        dir.file("no_admin.rego", rego).file(
            "no_admin.toml",
            &format!("{}{data}", sidecar("team.no_admin", "\"iam.user\"")),
        );
        if let Some(library) = library {
            dir.file("lib.rego", library);
        }
        dir.issues()
    };
    // Undeclared, it would be undefined and `deny` would pass.
    let issues = issues_of(ADMIN_REGO, "", None);
    assert!(
        issues.iter().any(|i| i.starts_with("/no_admin.rego:")
            && i.contains(
                "reads data.resources[\"iam.policy\"], which team.no_admin does not declare"
            )),
        "{issues:?}"
    );
    let computed =
        "package team.no_admin\n\ndeny contains t if {\n    some t, _ in data.resources\n}\n";
    let issues = issues_of(computed, "data = [\"iam.policy\"]\n", None);
    assert!(
        issues.iter().any(|i| i.contains("without a literal type")),
        "{issues:?}"
    );
    let library = "package team.lib\n\npolicies := data.resources[\"iam.policy\"]\n";
    let issues = issues_of(ADMIN_REGO, "data = [\"iam.policy\"]\n", Some(library));
    assert!(
        issues
            .iter()
            .any(|i| i.starts_with("/lib.rego:") && i.contains("cannot read data.resources")),
        "{issues:?}"
    );
    let whole = "package team.no_admin\n\ndeny contains k if {\n    some k, _ in data\n}\n";
    let issues = issues_of(whole, "data = [\"iam.policy\"]\n", None);
    assert!(
        issues.iter().any(|i| i.contains("`data` as a whole")),
        "{issues:?}"
    );
}
