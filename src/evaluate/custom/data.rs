//! `data.resources`: the other documents of a resource's scope that a
//! control declares it reads (`data = ["iam.policy", "iam.group"]` in its
//! sidecar), so an IAM user rule can look up the policies attached to it.
//!
//! A scope is one collection (one collector in one account, and region for
//! regional collectors): its documents were read together, so a control
//! sees the user and its policies as of the same moment. A declared type
//! whose documents are not all known (the listing was incomplete, one
//! failed to describe) makes the control `unknown`, never pass: a policy
//! that could not be read might be the one that decides.

use super::{CustomControl, CustomControls};
use crate::model::ResourceType;
use regorus::{Engine, Value as RegoValue};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

/// Where the documents sit under `data`: `data.resources["iam.policy"]` is
/// an object of ARN → document. No module may use this package.
pub const DATA_ROOT: &str = "resources";

/// One document of the scope, as collected or as stored.
pub struct ScopeDocument<'a> {
    pub resource_type: ResourceType,
    pub arn: &'a str,
    /// The document's JSON, or why describing it failed.
    pub document: Result<&'a str, &'a str>,
}

/// The documents of one scope that controls declared, by type, and the
/// engines prepared with them (one per declared set, built when first used).
pub struct ScopeData {
    /// The JSON object (ARN → document) of each type, or why it is not known.
    by_type: BTreeMap<ResourceType, Result<String, String>>,
    /// Why a type this scope was not given is not known.
    otherwise: String,
    pools: Mutex<BTreeMap<Vec<ResourceType>, Pool>>,
}

struct Pool {
    prototype: Result<Engine, String>,
    idle: Vec<Engine>,
}

impl ScopeData {
    /// No documents: a control that declares `data` is `unknown`.
    pub fn none() -> ScopeData {
        ScopeData::unavailable("the documents of the resource's scope were not given")
    }

    /// No documents, for `reason`.
    pub fn unavailable(reason: &str) -> ScopeData {
        ScopeData {
            by_type: BTreeMap::new(),
            otherwise: reason.to_string(),
            pools: Mutex::new(BTreeMap::new()),
        }
    }

    /// The `wanted` types' documents among `documents`, every document of
    /// the scope. `incomplete` says why the scope was not listed whole,
    /// when it was not: then no type of it is known.
    pub fn of<'a>(
        wanted: &BTreeSet<ResourceType>,
        documents: impl IntoIterator<Item = ScopeDocument<'a>>,
        incomplete: Option<&str>,
    ) -> ScopeData {
        let mut objects: BTreeMap<ResourceType, Result<Vec<String>, String>> =
            wanted.iter().map(|t| (*t, Ok(Vec::new()))).collect();
        for document in documents {
            let Some(Ok(entries)) = objects.get_mut(&document.resource_type) else {
                continue;
            };
            match document.document {
                Ok(text) => entries.push(format!("{}:{text}", json_string(document.arn))),
                Err(error) => {
                    let reason = format!("{} could not be described: {error}", document.arn);
                    objects.insert(document.resource_type, Err(reason));
                }
            }
        }
        let by_type = objects
            .into_iter()
            .map(|(resource_type, entries)| {
                let object = match incomplete {
                    Some(why) => Err(format!("the scope was not listed completely: {why}")),
                    None => entries.map(|e| format!("{{{}}}", e.join(","))),
                };
                (resource_type, object)
            })
            .collect();
        ScopeData {
            by_type,
            otherwise: "not declared by any control when the scope was read".into(),
            pools: Mutex::new(BTreeMap::new()),
        }
    }

    /// Why `types` are not all known, if they are not.
    fn missing(&self, types: &[ResourceType]) -> Option<String> {
        types.iter().find_map(|t| match self.by_type.get(t) {
            Some(Ok(_)) => None,
            Some(Err(why)) => Some(format!("data.{DATA_ROOT}[\"{t}\"] is not known: {why}")),
            None => Some(format!(
                "data.{DATA_ROOT}[\"{t}\"] is not known: {}",
                self.otherwise
            )),
        })
    }

    /// `{"resources": {<type>: {<arn>: <document>}}}` for `types`.
    fn document_of(&self, types: &[ResourceType]) -> Result<RegoValue, String> {
        let mut members = Vec::new();
        for resource_type in types {
            match self.by_type.get(resource_type) {
                Some(Ok(object)) => {
                    members.push(format!("{}:{object}", json_string(resource_type.as_str())))
                }
                _ => return Err(self.missing(&[*resource_type]).unwrap_or_default()),
            }
        }
        let text = format!("{{{}:{{{}}}}}", json_string(DATA_ROOT), members.join(","));
        RegoValue::from_json_str(&text).map_err(|e| format!("the scope's documents: {e}"))
    }

    /// An engine whose `data` holds `types`' documents, prepared once per
    /// set and cloned (a clone keeps the preparation).
    fn checkout(&self, base: &Engine, types: &[ResourceType]) -> Result<Engine, String> {
        let mut pools = self
            .pools
            .lock()
            .map_err(|_| "an evaluation panicked while holding the scope's engines".to_string())?;
        let pool = pools.entry(types.to_vec()).or_insert_with(|| Pool {
            prototype: self.prepared(base, types),
            idle: Vec::new(),
        });
        if let Some(engine) = pool.idle.pop() {
            return Ok(engine);
        }
        pool.prototype.clone()
    }

    fn checkin(&self, types: &[ResourceType], engine: Engine) {
        if let Ok(mut pools) = self.pools.lock()
            && let Some(pool) = pools.get_mut(types)
        {
            pool.idle.push(engine);
        }
    }

    fn prepared(&self, base: &Engine, types: &[ResourceType]) -> Result<Engine, String> {
        let mut engine = base.clone();
        engine
            .add_data(self.document_of(types)?)
            .map_err(|e| format!("the scope's documents: {}", super::one_line(&e.to_string())))?;
        // Prepares the engine (analysis, rule index) for its clones.
        engine
            .eval_query("true".to_string(), false)
            .map_err(|e| super::one_line(&e.to_string()))?;
        Ok(engine)
    }
}

fn json_string(text: &str) -> String {
    serde_json::Value::from(text).to_string()
}

impl CustomControls {
    /// An engine for `control`: the shared pool when it declares no data,
    /// the scope's engines for its declared set otherwise; `Err` with why
    /// its data is not known.
    pub(super) fn engine_for(
        &self,
        control: &CustomControl,
        data: &ScopeData,
    ) -> Result<Engine, String> {
        if control.data.is_empty() {
            return Ok(self.checkout());
        }
        if let Some(why) = data.missing(&control.data) {
            return Err(why);
        }
        data.checkout(&self.engine, &control.data)
    }

    pub(super) fn return_engine(&self, control: &CustomControl, data: &ScopeData, engine: Engine) {
        if control.data.is_empty() {
            self.checkin(engine);
        } else {
            data.checkin(&control.data, engine);
        }
    }

    /// Every type some control declares as `data`.
    pub fn declared_data(&self) -> BTreeSet<ResourceType> {
        self.controls
            .iter()
            .flat_map(|c| c.data.iter().copied())
            .collect()
    }
}
