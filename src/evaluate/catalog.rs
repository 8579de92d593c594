//! The control catalog: each control declared once, beside its rule, with
//! what a person needs to act on it (rationale, remediation) and its typed
//! settings. Config validation, the docs and the rule dispatch all read
//! these declarations; nothing else lists control ids.

use super::{Severity, Subject, Verdict};
use crate::model::ResourceType;
use ipnet::IpNet;
use std::collections::BTreeMap;
use std::sync::LazyLock;

/// One control: what it checks, on what, how bad a failure is by default,
/// why it matters, how to fix it, and the rule that decides it.
pub struct Control {
    pub id: &'static str,
    pub title: &'static str,
    pub resource_types: &'static [ResourceType],
    pub default_severity: Severity,
    /// Why an auditor cares: the risk a failure leaves open.
    pub rationale: &'static str,
    pub remediation: Remediation,
    /// Settings a user may give under `[rules."<id>"]`, besides `enabled`
    /// and `severity`.
    pub settings: &'static [Setting],
    /// Decides the control for one resource of one of `resource_types`;
    /// `None` when it does not apply to that resource (an Aurora member's
    /// availability is its cluster's).
    pub rule: Rule,
}

pub type Rule = fn(&Subject, &ControlSettings) -> Option<Verdict>;

impl std::fmt::Debug for Control {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Control")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// What to change, three ways.
#[derive(Debug, Clone, Copy)]
pub struct Remediation {
    pub console: &'static str,
    pub cli: &'static str,
    pub terraform: &'static str,
}

/// A setting a control declares.
#[derive(Debug, Clone, Copy)]
pub enum Setting {
    Days(&'static DaysSetting),
    Cidrs(&'static CidrsSetting),
    Patterns(&'static PatternsSetting),
    Ports(&'static PortsSetting),
}

impl Setting {
    pub fn name(&self) -> &'static str {
        match self {
            Setting::Days(s) => s.name,
            Setting::Cidrs(s) => s.name,
            Setting::Patterns(s) => s.name,
            Setting::Ports(s) => s.name,
        }
    }

    pub fn help(&self) -> &'static str {
        match self {
            Setting::Days(s) => s.help,
            Setting::Cidrs(s) => s.help,
            Setting::Patterns(s) => s.help,
            Setting::Ports(s) => s.help,
        }
    }

    /// The default, as a person would write it in the config file.
    pub fn default_text(&self) -> String {
        match self {
            Setting::Days(s) => s.default.to_string(),
            Setting::Cidrs(_) | Setting::Patterns(_) => "[]".to_string(),
            Setting::Ports(s) => format!("{:?}", s.default),
        }
    }

    /// Parses the value given in config, or says what is wrong with it:
    /// `(path suffix, message)` pairs, the suffix naming a list element.
    fn parse(&self, value: &toml::Value) -> Result<SettingValue, Vec<(String, String)>> {
        match self {
            Setting::Days(s) => s.parse(value).map(SettingValue::Days),
            Setting::Cidrs(s) => s.parse(value).map(SettingValue::Cidrs),
            Setting::Patterns(_) => parse_strings(value).map(SettingValue::Patterns),
            Setting::Ports(_) => parse_ports(value).map(SettingValue::Ports),
        }
    }
}

/// A whole number (of days, mostly) with an allowed range.
#[derive(Debug)]
pub struct DaysSetting {
    /// What it counts, for the error on a value that is not a number.
    pub unit: &'static str,
    pub name: &'static str,
    pub help: &'static str,
    pub default: i32,
    pub min: i32,
    pub max: i32,
    /// Why the range ends where it does (shown with a value outside it).
    pub range_reason: &'static str,
}

impl DaysSetting {
    /// The configured value, or the default.
    pub fn get(&self, settings: &ControlSettings) -> i32 {
        match settings.values.get(self.name) {
            Some(SettingValue::Days(days)) => *days,
            _ => self.default,
        }
    }

    fn parse(&self, value: &toml::Value) -> Result<i32, Vec<(String, String)>> {
        let out_of_range = || {
            vec![(
                String::new(),
                format!(
                    "must be between {} and {} ({})",
                    self.min, self.max, self.range_reason
                ),
            )]
        };
        let number = value.as_integer().ok_or_else(|| {
            vec![(
                String::new(),
                format!("must be a whole number of {}", self.unit),
            )]
        })?;
        let days = i32::try_from(number).map_err(|_| out_of_range())?;
        if (self.min..=self.max).contains(&days) {
            Ok(days)
        } else {
            Err(out_of_range())
        }
    }
}

/// A list of CIDR blocks; the whole internet (`0.0.0.0/0`, `::/0`) is
/// refused, since allowing it would make the control meaningless.
#[derive(Debug)]
pub struct CidrsSetting {
    pub name: &'static str,
    pub help: &'static str,
}

impl CidrsSetting {
    /// The configured blocks (none by default).
    pub fn get<'s>(&self, settings: &'s ControlSettings) -> &'s [IpNet] {
        match settings.values.get(self.name) {
            Some(SettingValue::Cidrs(cidrs)) => cidrs,
            _ => &[],
        }
    }

    fn parse(&self, value: &toml::Value) -> Result<Vec<IpNet>, Vec<(String, String)>> {
        let texts = parse_strings(value)?;
        let mut cidrs = Vec::new();
        let mut problems = Vec::new();
        for (i, text) in texts.iter().enumerate() {
            match text.parse::<IpNet>() {
                Ok(net) if net.prefix_len() == 0 => problems.push((
                    format!("[{i}]"),
                    format!("`{text}` allows the whole internet"),
                )),
                Ok(net) => cidrs.push(net),
                Err(_) => problems.push((
                    format!("[{i}]"),
                    format!("`{text}` is not a CIDR (like 10.0.0.0/8)"),
                )),
            }
        }
        if problems.is_empty() {
            Ok(cidrs)
        } else {
            Err(problems)
        }
    }
}

/// A list of `*`/`?` name patterns.
#[derive(Debug)]
pub struct PatternsSetting {
    pub name: &'static str,
    pub help: &'static str,
}

impl PatternsSetting {
    /// The configured patterns (none by default).
    pub fn get<'s>(&self, settings: &'s ControlSettings) -> &'s [String] {
        match settings.values.get(self.name) {
            Some(SettingValue::Patterns(patterns)) => patterns,
            _ => &[],
        }
    }
}

/// A non-empty list of TCP/UDP port numbers.
#[derive(Debug)]
pub struct PortsSetting {
    pub name: &'static str,
    pub help: &'static str,
    pub default: &'static [u16],
}

impl PortsSetting {
    /// The configured ports, or the default.
    pub fn get<'s>(&'s self, settings: &'s ControlSettings) -> &'s [u16] {
        match settings.values.get(self.name) {
            Some(SettingValue::Ports(ports)) => ports,
            _ => self.default,
        }
    }
}

/// Ports 1-65535, at least one (an empty list would make the control pass
/// everything), sorted and deduplicated.
fn parse_ports(value: &toml::Value) -> Result<Vec<u16>, Vec<(String, String)>> {
    let list = value
        .as_array()
        .ok_or_else(|| vec![(String::new(), "must be a list of port numbers".to_string())])?;
    if list.is_empty() {
        return Err(vec![(
            String::new(),
            "must name at least one port".to_string(),
        )]);
    }
    let mut ports = Vec::new();
    let mut problems = Vec::new();
    for (i, item) in list.iter().enumerate() {
        match item
            .as_integer()
            .and_then(|n| u16::try_from(n).ok())
            .filter(|p| *p > 0)
        {
            Some(port) => ports.push(port),
            None => problems.push((
                format!("[{i}]"),
                format!("`{item}` is not a port number (1 to 65535)"),
            )),
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    ports.sort_unstable();
    ports.dedup();
    Ok(ports)
}

fn parse_strings(value: &toml::Value) -> Result<Vec<String>, Vec<(String, String)>> {
    let list = value
        .as_array()
        .ok_or_else(|| vec![(String::new(), "must be a list of strings".to_string())])?;
    let mut strings = Vec::new();
    let mut problems = Vec::new();
    for (i, item) in list.iter().enumerate() {
        match item.as_str() {
            Some(text) => strings.push(text.to_string()),
            None => problems.push((format!("[{i}]"), "must be a string".to_string())),
        }
    }
    if problems.is_empty() {
        Ok(strings)
    } else {
        Err(problems)
    }
}

#[derive(Debug, Clone, PartialEq)]
enum SettingValue {
    Days(i32),
    Cidrs(Vec<IpNet>),
    Patterns(Vec<String>),
    Ports(Vec<u16>),
}

/// The settings one control runs with: what the config gave, the
/// declared defaults for the rest.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ControlSettings {
    values: BTreeMap<&'static str, SettingValue>,
}

/// What `[rules."<id>"]` may say about every control.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ControlConfig {
    pub enabled: Option<bool>,
    pub severity: Option<Severity>,
    pub settings: ControlSettings,
}

/// One problem in a `[rules."<id>"]` table: the field path below
/// `rules."<id>"` (empty for the table itself) and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingsIssue {
    pub field: String,
    pub message: String,
}

impl Control {
    /// Reads a `[rules."<id>"]` table: `enabled`, `severity`, and the
    /// control's declared settings, each validated.
    pub fn configure(&self, table: &toml::Table) -> Result<ControlConfig, Vec<SettingsIssue>> {
        configure(self.id, self.settings, table)
    }
}

/// Reads a `[rules."<id>"]` table for the control `id` declaring
/// `settings` (a custom control declares none).
pub fn configure(
    id: &str,
    settings: &[Setting],
    table: &toml::Table,
) -> Result<ControlConfig, Vec<SettingsIssue>> {
    let mut config = ControlConfig::default();
    let mut issues = Vec::new();
    for (key, value) in table {
        let mut problem = |suffix: &str, message: String| {
            issues.push(SettingsIssue {
                field: format!(".{key}{suffix}"),
                message,
            })
        };
        match key.as_str() {
            "enabled" => match value.as_bool() {
                Some(enabled) => config.enabled = Some(enabled),
                None => problem("", "must be true or false".into()),
            },
            "severity" => match value.as_str().map(str::parse::<Severity>) {
                Some(Ok(severity)) => config.severity = Some(severity),
                Some(Err(message)) => problem("", message),
                None => problem("", "must be a string".into()),
            },
            _ => match settings.iter().find(|s| s.name() == key) {
                Some(setting) => match setting.parse(value) {
                    Ok(parsed) => {
                        config.settings.values.insert(setting.name(), parsed);
                    }
                    Err(problems) => {
                        for (suffix, message) in problems {
                            problem(&suffix, message);
                        }
                    }
                },
                None => problem("", unknown_setting_message(id, settings)),
            },
        }
    }
    if issues.is_empty() {
        Ok(config)
    } else {
        Err(issues)
    }
}

fn unknown_setting_message(id: &str, settings: &[Setting]) -> String {
    let names: Vec<&str> = ["enabled", "severity"]
        .into_iter()
        .chain(settings.iter().map(Setting::name))
        .collect();
    format!("not a setting of {id} (it takes {})", names.join(", "))
}

/// Every control, grouped by service (rule module), in the order reports
/// list them.
pub static CONTROLS: LazyLock<Vec<&'static Control>> =
    LazyLock::new(|| super::CONTROL_GROUPS.iter().copied().flatten().collect());

/// The control `id`.
pub fn control(id: &str) -> Option<&'static Control> {
    CONTROLS.iter().copied().find(|c| c.id == id)
}

/// The controls that apply to `resource_type`.
pub fn controls_for(resource_type: ResourceType) -> impl Iterator<Item = &'static Control> {
    CONTROLS
        .iter()
        .copied()
        .filter(move |c| c.resource_types.contains(&resource_type))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_ids_are_unique_and_shaped_service_dot_name() {
        let mut ids: Vec<&str> = CONTROLS.iter().map(|c| c.id).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), CONTROLS.len());
        for id in ids {
            let (service, name) = id.split_once('.').expect("service.name");
            assert!(!service.is_empty() && !name.is_empty(), "{id}");
            assert!(
                id.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '_'),
                "{id}"
            );
        }
    }

    #[test]
    fn every_control_explains_itself_and_applies_to_something() {
        for c in CONTROLS.iter() {
            assert!(!c.resource_types.is_empty(), "{}", c.id);
            for (what, text) in [
                ("title", c.title),
                ("rationale", c.rationale),
                ("console", c.remediation.console),
                ("cli", c.remediation.cli),
                ("terraform", c.remediation.terraform),
            ] {
                assert!(text.trim().len() > 10, "{}: {what} is empty", c.id);
            }
            assert!(c.remediation.cli.starts_with("aws "), "{}", c.id);
        }
    }

    #[test]
    fn settings_are_validated_with_their_path() {
        let backups = control("rds.backups").expect("declared");
        let table: toml::Table = toml::from_str(
            "min_retention_days = 90\nseverity = \"urgent\"\nallowed_cidrs = []\nenabled = 1",
        )
        .expect("toml");
        let mut fields: Vec<String> = backups
            .configure(&table)
            .expect_err("invalid")
            .into_iter()
            .map(|i| i.field)
            .collect();
        fields.sort();
        assert_eq!(
            fields,
            [
                ".allowed_cidrs",
                ".enabled",
                ".min_retention_days",
                ".severity"
            ]
        );
        let table: toml::Table = toml::from_str("min_retention_days = 14").expect("toml");
        let config = backups.configure(&table).expect("valid");
        assert_eq!(super::super::rds::MIN_BACKUP_DAYS.get(&config.settings), 14);
        assert_eq!(
            super::super::rds::MIN_BACKUP_DAYS.get(&ControlSettings::default()),
            7
        );
    }

    #[test]
    fn cidr_settings_refuse_the_internet_and_garbage() {
        let public = control("rds.not_public").expect("declared");
        let table: toml::Table =
            toml::from_str("allowed_cidrs = [\"10.0.0.0/8\", \"::/0\", \"ten\", \"10.1.2.3/16\"]")
                .expect("toml");
        let issues = public.configure(&table).expect_err("invalid");
        let fields: Vec<&str> = issues.iter().map(|i| i.field.as_str()).collect();
        assert_eq!(fields, [".allowed_cidrs[1]", ".allowed_cidrs[2]"]);
        let table: toml::Table = toml::from_str("allowed_cidrs = [\"10.1.2.3/16\"]").expect("toml");
        let config = public.configure(&table).expect("valid");
        let cidrs = super::super::rds::ALLOWED_CIDRS.get(&config.settings);
        assert_eq!(cidrs, ["10.1.2.3/16".parse::<IpNet>().expect("net")]);
    }
}
