//! Compliance frameworks as data: one TOML file per framework under
//! `frameworks/`, each requirement listing the controls that evidence it.
//! Controls carry no framework lists; what a control maps to is read from
//! here, and a requirement no control evidences is kept as not covered.

use crate::evaluate::{self, Control};
use serde::{Deserialize, Serialize};
use std::sync::LazyLock;
use thiserror::Error;

/// One framework: SOC 2, PCI DSS, the CIS benchmark.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Framework {
    pub id: String,
    pub title: String,
    pub version: String,
    /// Where the list of requirements comes from.
    pub source: String,
    pub requirements: Vec<Requirement>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Requirement {
    pub id: String,
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub section: Option<String>,
    /// The benchmark's own assessment status (CIS: Automated or Manual).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub automated: Option<bool>,
    /// Controls whose verdicts are evidence for it; empty: not covered,
    /// evidence must come from elsewhere.
    #[serde(default)]
    pub controls: Vec<String>,
}

impl Requirement {
    pub fn covered(&self) -> bool {
        !self.controls.is_empty()
    }
}

#[derive(Debug, Error)]
pub enum FrameworkError {
    #[error("{file}: {message}")]
    Invalid { file: String, message: String },
}

/// The shipped frameworks, one file each (see build.rs).
const BUILT_IN: &[(&str, &str)] = include!(concat!(env!("OUT_DIR"), "/frameworks.rs"));

/// Parses and checks one framework file: every requirement id unique,
/// every control it names a control of the catalog.
pub fn parse(file: &str, text: &str) -> Result<Framework, FrameworkError> {
    parse_with(file, text, |id| evaluate::control(id).is_some())
}

/// [`parse`] against a catalog that `knows` (built-in and custom ids, for
/// a team's own framework file).
pub fn parse_with(
    file: &str,
    text: &str,
    knows: impl Fn(&str) -> bool,
) -> Result<Framework, FrameworkError> {
    let invalid = |message: String| FrameworkError::Invalid {
        file: file.to_string(),
        message,
    };
    let framework: Framework = toml::from_str(text).map_err(|e| invalid(e.to_string()))?;
    let mut seen = std::collections::BTreeSet::new();
    for (i, requirement) in framework.requirements.iter().enumerate() {
        if !seen.insert(requirement.id.as_str()) {
            return Err(invalid(format!(
                "requirements[{i}]: id `{}` appears twice",
                requirement.id
            )));
        }
        for (j, control) in requirement.controls.iter().enumerate() {
            if !knows(control) {
                return Err(invalid(format!(
                    "requirements[{i}].controls[{j}]: `{control}` (under {}) is not a control of the catalog",
                    requirement.id
                )));
            }
        }
    }
    Ok(framework)
}

/// Every shipped framework. They are compiled in and checked by a test,
/// so a broken file fails the build's tests, never a running service.
pub fn all() -> &'static [Framework] {
    static FRAMEWORKS: LazyLock<Vec<Framework>> = LazyLock::new(|| {
        BUILT_IN
            .iter()
            .filter_map(|(file, text)| match parse(file, text) {
                Ok(framework) => Some(framework),
                Err(error) => {
                    tracing::error!(%error, "built-in framework skipped");
                    None
                }
            })
            .collect()
    });
    &FRAMEWORKS
}

/// The framework `id`.
pub fn framework(id: &str) -> Option<&'static Framework> {
    all().iter().find(|f| f.id == id)
}

/// The ids of every shipped framework, for messages.
pub fn ids() -> Vec<&'static str> {
    all().iter().map(|f| f.id.as_str()).collect()
}

/// The requirements of `framework_id` that `control` evidences, in the
/// framework's order.
pub fn requirements_of(framework_id: &str, control: &Control) -> Vec<&'static str> {
    framework(framework_id)
        .map(|f| {
            f.requirements
                .iter()
                .filter(|r| r.controls.iter().any(|c| c == control.id))
                .map(|r| r.id.as_str())
                .collect()
        })
        .unwrap_or_default()
}

/// `framework` with the custom controls that evidence its requirements
/// (each custom control names them in its sidecar) added to them.
pub fn with_custom(framework: &Framework, custom: &crate::evaluate::CustomControls) -> Framework {
    let mut framework = framework.clone();
    for requirement in &mut framework.requirements {
        for control in custom.iter() {
            if control
                .requirements_of(&framework.id)
                .contains(&requirement.id)
            {
                requirement.controls.push(control.id.clone());
            }
        }
    }
    framework
}

/// Every framework the catalog and the report show: the shipped ones,
/// each with the custom controls whose sidecars name its requirements,
/// then the team's own framework files.
pub fn every(custom: &crate::evaluate::CustomControls) -> Vec<Framework> {
    all()
        .iter()
        .map(|f| with_custom(f, custom))
        .chain(custom.frameworks().iter().cloned())
        .collect()
}

/// The requirements of `framework` that the control `id` evidences.
pub fn requirements_in<'f>(framework: &'f Framework, id: &str) -> Vec<&'f str> {
    framework
        .requirements
        .iter()
        .filter(|r| r.controls.iter().any(|c| c == id))
        .map(|r| r.id.as_str())
        .collect()
}

/// The framework ids whose mappings the report shows per control.
pub const SOC2: &str = "soc2";
pub const PCI_DSS: &str = "pci-dss-4.0";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shipped_framework_parses_and_names_only_catalog_controls() {
        for (file, text) in BUILT_IN {
            if let Err(e) = parse(file, text) {
                panic!("{e}");
            }
        }
        assert_eq!(all().len(), BUILT_IN.len());
        let mut ids = ids();
        ids.sort_unstable();
        assert_eq!(ids, ["cis-aws-5.0", "pci-dss-4.0", "soc2"]);
    }

    #[test]
    fn a_misspelt_control_or_a_duplicate_requirement_is_refused() {
        let text = |controls: &str, second: &str| {
            format!(
                "id = \"x\"\ntitle = \"X\"\nversion = \"1\"\nsource = \"s\"\n\
                 [[requirements]]\nid = \"R1\"\ntitle = \"one\"\ncontrols = [{controls}]\n\
                 [[requirements]]\nid = \"{second}\"\ntitle = \"two\"\n"
            )
        };
        assert!(parse("x.toml", &text("\"s3.versioning\"", "R2")).is_ok());
        let e = parse("x.toml", &text("\"s3.versionning\"", "R2")).expect_err("misspelt");
        assert!(e.to_string().contains("requirements[0].controls[0]"), "{e}");
        let e = parse("x.toml", &text("", "R1")).expect_err("duplicate");
        assert!(e.to_string().contains("appears twice"), "{e}");
        let e = parse("x.toml", "id = 3").expect_err("garbage");
        assert!(e.to_string().starts_with("x.toml:"), "{e}");
    }

    #[test]
    fn every_control_evidences_some_requirement_of_soc2_and_pci() {
        for control in evaluate::CONTROLS.iter() {
            assert!(!requirements_of(SOC2, control).is_empty(), "{}", control.id);
            assert!(
                !requirements_of(PCI_DSS, control).is_empty(),
                "{}",
                control.id
            );
        }
    }

    #[test]
    fn the_mappings_reports_show_are_those_of_the_specification() {
        let of = |framework: &str, id: &str| {
            requirements_of(framework, evaluate::control(id).expect("control"))
        };
        assert_eq!(of(SOC2, "s3.tls_only"), ["CC6.1", "CC6.7"]);
        assert_eq!(of(SOC2, "s3.replication"), ["CC9.1", "A1.2"]);
        assert_eq!(of(PCI_DSS, "s3.tls_only"), ["4.2.1"]);
        assert_eq!(of(PCI_DSS, "ec2.imdsv2"), ["2.2.1"]);
    }

    #[test]
    fn the_cis_benchmark_lists_every_recommendation_with_its_assessment_status() {
        let cis = framework("cis-aws-5.0").expect("shipped");
        assert!(cis.requirements.len() >= 60, "{}", cis.requirements.len());
        assert!(cis.requirements.iter().all(|r| r.automated.is_some()));
        let soc2 = framework(SOC2).expect("shipped");
        for id in ["CC1.1", "CC6.1", "CC9.2", "A1.3", "C1.2", "PI1.5", "P8.1"] {
            assert!(soc2.requirements.iter().any(|r| r.id == id), "{id}");
        }
    }
}
