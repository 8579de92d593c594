//! One scan of everything configured: collect → (previous state from the
//! store) → drift and evaluation → record, one transaction per scope.

use crate::alert::{self, plan::AlertPolicy};
use crate::clock::Clock;
use crate::collect::{self, Collection, CollectorScope};
use crate::config::{ALL_REGIONS, AccountConfig, Config};
use crate::drift::{self, DriftEvent, Observation};
use crate::evaluate::lifecycle::Transition;
use crate::evaluate::{self, Evaluation, RuleSettings, ScopeData, ScopeDocument};
use crate::model::ResourceRecord;
use crate::retry::{Backoff, retry};
use crate::store::jobs::{ALL_REGIONS_OF_ENTRY, JobClaim};
use crate::store::{
    ChunkRecord, ScanHeader, ScanStatus, Scope, ScopeTransaction, Store, StoreError, document_hash,
    postgres_safe_record, postgres_safe_text,
};
use chrono::Utc;
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::ops::ControlFlow;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tracing::{Instrument, info, warn};

/// What one scope's scan did, for the summary a person reads.
#[derive(Debug)]
pub struct ScopeReport {
    pub scope: Scope,
    pub scan_id: i64,
    pub status: ScanStatus,
    pub error: Option<String>,
    pub resources: usize,
    pub failed_resources: usize,
    pub drift: Vec<DriftEvent>,
    pub transitions: Vec<Transition>,
}

/// Runs every enabled collector for every configured account once.
///
/// Collection failures (credentials, API errors) are recorded as failed or
/// partial scans and do not stop the others. Only a database failure is an
/// error: then the results could not be kept.
pub async fn scan_once(config: &Config, store: &Store) -> Result<Vec<ScopeReport>, StoreError> {
    scan_once_by(config, store, &Clock::system()).await
}

/// [`scan_once`], timed by `clock`.
pub async fn scan_once_by(
    config: &Config,
    store: &Store,
    clock: &Clock,
) -> Result<Vec<ScopeReport>, StoreError> {
    let scanner = Scanner::new(config, store, clock);
    let mut reports = Vec::new();
    for account in config.effective_accounts() {
        scanner.scan_entry(&account, &mut reports).await?;
    }
    Ok(reports)
}

/// Runs one scheduled job: one collector for one `[[accounts]]` entry
/// (with its organization's members), every scope tied to the job. Scopes
/// the job already recorded (before a takeover) are skipped; transient
/// database errors are retried until `stop` is set, so that a Postgres
/// restart neither loses nor duplicates a scope's results.
pub async fn scan_job(
    config: &Config,
    store: &Store,
    job: &JobClaim,
    stop: &AtomicBool,
    clock: &Clock,
) -> Result<Vec<ScopeReport>, StoreError> {
    let Some(account) = config
        .effective_accounts()
        .into_iter()
        .find(|a| a.key() == job.account_key)
    else {
        warn!(account = %job.account_key, "job for an account no longer configured: nothing to scan");
        return Ok(Vec::new());
    };
    let mut scanner = Scanner::new(config, store, clock);
    scanner.only_collector = Some(&job.collector);
    if job.region != ALL_REGIONS_OF_ENTRY {
        scanner.only_region = Some(&job.region);
    }
    scanner.job = Some(job);
    scanner.done = store.recorded_scopes(job.id).await?;
    scanner.retry_until = Some(stop);
    let mut reports = Vec::new();
    scanner.scan_entry(&account, &mut reports).await?;
    Ok(reports)
}

/// The collector name under which a failed organization listing is
/// recorded: not a collector, but a scope whose coverage failed.
pub const ORGANIZATION_SCOPE: &str = "organizations";

/// One scan run: what to scan and how results are written.
struct Scanner<'a> {
    config: &'a Config,
    store: &'a Store,
    clock: &'a Clock,
    settings: RuleSettings,
    alerting: Option<AlertPolicy>,
    only_collector: Option<&'a str>,
    /// Only this region (a regional job); account-wide scopes are not
    /// regional and run under the entry's `*` job.
    only_region: Option<&'a str>,
    job: Option<&'a JobClaim>,
    /// (collector, account id, region) already recorded for the job.
    done: BTreeSet<(String, String, String)>,
    /// Retry transient database errors until this is set (daemon); `None`
    /// fails at the first one (one-shot scans report it and exit).
    retry_until: Option<&'a AtomicBool>,
}

impl<'a> Scanner<'a> {
    fn new(config: &'a Config, store: &'a Store, clock: &'a Clock) -> Scanner<'a> {
        Scanner {
            config,
            store,
            clock,
            settings: config.rule_settings(),
            alerting: AlertPolicy::from_config(&config.alerts, &config.custom),
            only_collector: None,
            only_region: None,
            job: None,
            done: BTreeSet::new(),
            retry_until: None,
        }
    }

    /// One `[[accounts]]` entry: the account, then its organization's
    /// members when it is a management account.
    async fn scan_entry(
        &self,
        account: &AccountConfig,
        reports: &mut Vec<ScopeReport>,
    ) -> Result<(), StoreError> {
        let config = self.config;
        let home_region = config.home_region(account);
        let configured: Vec<String> = config.regions_of(account).to_vec();
        let connected = collect::connect_account(&config.aws, account, &home_region)
            .await
            .map(|aws| self.timed(aws));
        let organization = account.organization.as_ref();
        let excluded = |id: &str| organization.is_some_and(|o| o.exclude.iter().any(|x| x == id));
        if !matches!(&connected, Ok(aws) if excluded(&aws.account_id)) {
            self.scan_account(account, &connected, &configured, reports)
                .await?;
        }
        let (Some(organization), Ok(management)) = (organization, &connected) else {
            return Ok(());
        };
        let members =
            collect::organizations::member_accounts(management, organization, &home_region).await;
        let members = match members {
            Ok(members) => members,
            Err(error) => {
                // Coverage is evidence: an organization that could not be
                // listed is a failed scan, not an organization of one.
                warn!(%error, account = %management.account_id, "organization accounts unavailable");
                let scope = Scope {
                    collector: ORGANIZATION_SCOPE.to_string(),
                    account_id: management.account_id.clone(),
                    account_name: management.name.clone(),
                    region: collect::GLOBAL_SCOPE.to_string(),
                };
                let now = self.clock.now();
                reports.extend(self.record_failed(scope, now, now, &error).await?);
                return Ok(());
            }
        };
        info!(
            account = %management.account_id,
            members = members.len(),
            "organization accounts discovered"
        );
        for member in members {
            let connected = collect::connect_member(&config.aws, management, &member, &home_region)
                .await
                .map(|aws| self.timed(aws));
            // Stands for the member where its identity is needed before (or
            // without) a connection: its name and the role ARN's account id.
            let identity = AccountConfig {
                name: Some(member.name.clone()),
                role_arn: Some(member.role_arn.clone()),
                regions: account.regions.clone(),
                ..AccountConfig::default()
            };
            self.scan_account(&identity, &connected, &configured, reports)
                .await?;
        }
        Ok(())
    }

    /// Every selected collector in every region of one account.
    async fn scan_account(
        &self,
        account: &AccountConfig,
        connected: &Result<collect::AwsAccount, collect::CollectError>,
        configured: &[String],
        reports: &mut Vec<ScopeReport>,
    ) -> Result<(), StoreError> {
        let config = self.config;
        // `["all"]` is resolved per scan: a region enabled later is picked up.
        let regions: Result<Vec<String>, String> = match connected {
            Ok(aws) if configured == [ALL_REGIONS] => collect::enabled_regions(aws).await,
            _ => Ok(configured.to_vec()),
        };
        if let Err(error) = connected {
            warn!(%error, "account unavailable");
        }
        for (collector, collector_config) in config.enabled_collectors() {
            if self.only_collector.is_some_and(|c| c != collector.name) {
                continue;
            }
            let name = collector.name;
            let Ok(aws) = connected else {
                if let Err(error) = connected {
                    for region in self.selected(collector.scope_regions(configured)) {
                        let scope = unreachable_account_scope(account, name, &region);
                        let now = self.clock.now();
                        reports.extend(
                            self.record_failed(scope, now, now, &error.to_string())
                                .await?,
                        );
                    }
                }
                continue;
            };
            let regions: &[String] = match (&regions, collector.scope) {
                (Ok(regions), _) => regions,
                // An account-wide scope needs no region list.
                (Err(_), CollectorScope::AccountWide) => configured,
                (Err(error), CollectorScope::Regional) => {
                    // The regional scopes cannot even be named: record the
                    // failure once for the collector.
                    warn!(%error, "regions unavailable");
                    let scope = Scope {
                        collector: name.to_string(),
                        account_id: aws.account_id.clone(),
                        account_name: aws.name.clone(),
                        region: ALL_REGIONS.to_string(),
                    };
                    let now = self.clock.now();
                    reports.extend(self.record_failed(scope, now, now, error).await?);
                    continue;
                }
            };
            for region in self.selected(collector.scope_regions(regions)) {
                let key = (name.to_string(), aws.account_id.clone(), region.clone());
                if self.done.contains(&key) {
                    info!(collector = name, account = %aws.account_id, %region, "already recorded by this job");
                    continue;
                }
                let span = tracing::info_span!("scan", collector = name, account = %aws.account_id, region = %region);
                let collection = (collector.collect)(aws, &region, collector_config.concurrency)
                    .instrument(span.clone())
                    .await;
                let scope = Scope {
                    collector: name.to_string(),
                    account_id: aws.account_id.clone(),
                    account_name: aws.name.clone(),
                    region: collection.scope_region.clone(),
                };
                reports.extend(self.record(scope, &collection).instrument(span).await?);
            }
        }
        Ok(())
    }

    /// `aws`, its collections timed by this scan's clock.
    fn timed(&self, aws: collect::AwsAccount) -> collect::AwsAccount {
        collect::AwsAccount {
            clock: self.clock.clone(),
            ..aws
        }
    }

    /// The regions this run covers out of `regions`.
    fn selected(&self, regions: Vec<String>) -> Vec<String> {
        match self.only_region {
            Some(only) => regions.into_iter().filter(|r| r == only).collect(),
            None => regions,
        }
    }

    /// Records a collection, retrying transient database errors when this
    /// run may wait for the database. `None` when another replica took the
    /// job over meanwhile: its results count, not these.
    async fn record(
        &self,
        scope: Scope,
        collection: &Collection,
    ) -> Result<Option<ScopeReport>, StoreError> {
        self.persist(scope, Outcome::Collected(collection)).await
    }

    async fn record_failed(
        &self,
        scope: Scope,
        started_at: chrono::DateTime<Utc>,
        finished_at: chrono::DateTime<Utc>,
        error: &str,
    ) -> Result<Option<ScopeReport>, StoreError> {
        self.persist(
            scope,
            Outcome::Failed {
                started_at,
                finished_at,
                error,
            },
        )
        .await
    }

    async fn persist(
        &self,
        scope: Scope,
        outcome: Outcome<'_>,
    ) -> Result<Option<ScopeReport>, StoreError> {
        let key = (
            scope.collector.clone(),
            scope.account_id.clone(),
            scope.region.clone(),
        );
        if self.done.contains(&key) {
            return Ok(None);
        }
        let written = retry(
            Backoff::new(Duration::from_millis(500), Duration::from_secs(15)),
            || self.write(&scope, &outcome),
            |error, delay| {
                let may_wait = error.is_transient()
                    && self.retry_until.is_some_and(|stop| !stop.load(Ordering::Relaxed));
                if !may_wait {
                    return ControlFlow::Break(());
                }
                warn!(%error, retry_in = ?delay, "database unavailable: keeping the scan and retrying");
                ControlFlow::Continue(())
            },
        )
        .await;
        match written {
            Ok(report) => Ok(Some(report)),
            Err(StoreError::LeaseLost { job_id, owner }) => {
                warn!(job_id, %owner, "job taken over by another replica: result dropped");
                Ok(None)
            }
            Err(error) => Err(error),
        }
    }

    async fn write(&self, scope: &Scope, outcome: &Outcome<'_>) -> Result<ScopeReport, StoreError> {
        match outcome {
            Outcome::Collected(collection) => {
                record_collection(
                    self.store,
                    scope.clone(),
                    collection,
                    &self.settings,
                    self.alerting.as_ref(),
                    self.job,
                )
                .await
            }
            Outcome::Failed {
                started_at,
                finished_at,
                error,
            } => {
                record_failed_scope(
                    self.store,
                    scope.clone(),
                    *started_at,
                    *finished_at,
                    error,
                    self.job,
                )
                .await
            }
        }
    }
}

/// What a scope's scan came to, to be recorded.
enum Outcome<'c> {
    Collected(&'c Collection),
    Failed {
        started_at: chrono::DateTime<Utc>,
        finished_at: chrono::DateTime<Utc>,
        error: &'c str,
    },
}

/// An account whose credentials failed has no verified id; the role ARN
/// carries it when configured, otherwise the label stands in.
fn unreachable_account_scope(account: &AccountConfig, collector: &str, region: &str) -> Scope {
    let label = account
        .name
        .clone()
        .or_else(|| account.profile.clone())
        .unwrap_or_else(|| "default".into());
    let account_id = account
        .role_arn
        .as_deref()
        .and_then(|arn| arn.split(':').nth(4))
        .map(str::to_string)
        .unwrap_or_else(|| label.clone());
    Scope {
        collector: collector.to_string(),
        account_id,
        account_name: label,
        region: region.to_string(),
    }
}

fn postgres_safe_scope(scope: &Scope) -> Scope {
    Scope {
        collector: postgres_safe_text(&scope.collector).into_owned(),
        account_id: postgres_safe_text(&scope.account_id).into_owned(),
        account_name: postgres_safe_text(&scope.account_name).into_owned(),
        region: postgres_safe_text(&scope.region).into_owned(),
    }
}

/// A copy of `collection` PostgreSQL can store, when it cannot as is.
fn postgres_safe_collection(collection: &Collection) -> Option<Collection> {
    let records: Vec<Option<ResourceRecord>> = collection
        .resources
        .iter()
        .map(postgres_safe_record)
        .collect();
    let messages_unsafe = collection.warnings.iter().any(|w| w.contains('\0'))
        || collection.listing.as_ref().is_err_and(|e| e.contains('\0'));
    if !messages_unsafe && records.iter().all(Option::is_none) {
        return None;
    }
    Some(Collection {
        collector: collection.collector,
        scope_region: collection.scope_region.clone(),
        started_at: collection.started_at,
        finished_at: collection.finished_at,
        listing: collection
            .listing
            .clone()
            .map_err(|e| postgres_safe_text(&e).into_owned()),
        resources: records
            .into_iter()
            .zip(&collection.resources)
            .map(|(safe, original)| safe.unwrap_or_else(|| original.clone()))
            .collect(),
        warnings: collection
            .warnings
            .iter()
            .map(|w| postgres_safe_text(w).into_owned())
            .collect(),
    })
}

/// Records a scan of `scope` that could not enumerate anything: no
/// snapshots, no drift, findings untouched.
async fn record_failed_scope(
    store: &Store,
    scope: Scope,
    started_at: chrono::DateTime<Utc>,
    finished_at: chrono::DateTime<Utc>,
    error: &str,
    job: Option<&JobClaim>,
) -> Result<ScopeReport, StoreError> {
    let error = postgres_safe_text(error);
    let error = error.as_ref();
    let scope = postgres_safe_scope(&scope);
    let scan_id = store
        .begin_scope_for_job(&scope, job)
        .await?
        .record_failure(started_at, finished_at, error)
        .await?;
    Ok(ScopeReport {
        scope,
        scan_id,
        status: ScanStatus::Failed,
        error: Some(error.to_string()),
        resources: 0,
        failed_resources: 0,
        drift: Vec::new(),
        transitions: Vec::new(),
    })
}

/// Stores one collection: diffs it against the scope's previous state,
/// evaluates it, and writes everything in one transaction.
pub async fn record_collection(
    store: &Store,
    scope: Scope,
    collection: &Collection,
    settings: &RuleSettings,
    alerting: Option<&AlertPolicy>,
    job: Option<&JobClaim>,
) -> Result<ScopeReport, StoreError> {
    record_collection_caused(store, scope, collection, settings, alerting, job, None).await
}

/// [`record_collection`] of a scan a change event caused (its drift is
/// attributed to the event).
pub async fn record_collection_caused(
    store: &Store,
    scope: Scope,
    collection: &Collection,
    settings: &RuleSettings,
    alerting: Option<&AlertPolicy>,
    job: Option<&JobClaim>,
    change_event_id: Option<i64>,
) -> Result<ScopeReport, StoreError> {
    // What PostgreSQL cannot hold (U+0000) is replaced before anything is
    // derived from it, so findings, drift and snapshots agree.
    let sanitized;
    let collection = match postgres_safe_collection(collection) {
        Some(safe) => {
            warn!("U+0000 in collected data replaced by U+FFFD: PostgreSQL cannot store it");
            sanitized = safe;
            &sanitized
        }
        None => collection,
    };
    let scope = postgres_safe_scope(&scope);
    if let Err(error) = &collection.listing {
        warn!(%error, "collection failed: nothing listed, nothing diffed");
        return record_failed_scope(
            store,
            scope,
            collection.started_at,
            collection.finished_at,
            error,
            job,
        )
        .await;
    }
    let mut tx = store.begin_scope_for_job(&scope, job).await?;
    // One record per ARN: should a listing repeat one, the last is kept,
    // and what is counted and reported is what is recorded.
    let resources = distinct_by_arn(&collection.resources);
    let failed: Vec<String> = resources
        .iter()
        .filter_map(|r| r.document.as_ref().err().map(|e| format!("{}: {e}", r.arn)))
        .collect();
    let complete = collection.listed_completely() && failed.is_empty();
    let mut problems = collection.warnings.clone();
    problems.extend(failed.iter().cloned());
    let status = if complete {
        ScanStatus::Ok
    } else {
        ScanStatus::Partial
    };
    let error = (!problems.is_empty()).then(|| problems.join("\n"));
    let scan_id = tx
        .begin_scan(&ScanHeader {
            started_at: collection.started_at,
            finished_at: collection.finished_at,
            status,
            error: error.as_deref(),
            resource_count: resources.len(),
            failed_count: failed.len(),
            listed_completely: collection.listed_completely(),
            targeted: false,
            change_event_id,
        })
        .await?;

    // A scope is recorded a batch at a time inside its one transaction, so
    // that what is derived from the resources (documents bound for the
    // database, evaluations, drift) is held for one batch, not for them all.
    let live_before = tx.live_resource_ids().await?;
    let mut seen = HashSet::with_capacity(live_before.len());
    let scope_data = scope_data(&resources, settings, collection);
    // A change event's scan that began after this collection did has
    // recorded those resources as AWS had them later than this saw them.
    let fresher = tx.observed_since(collection.started_at).await?;
    seen.extend(fresher.values().copied());
    let resources: Vec<&ResourceRecord> = if fresher.is_empty() {
        resources
    } else {
        resources
            .into_iter()
            .filter(|r| !fresher.contains_key(&r.arn))
            .collect()
    };
    let mut drift_events = Vec::new();
    let mut transitions = Vec::new();
    for chunk in resources.chunks(RECORD_BATCH) {
        let batch = record_batch(
            &mut tx,
            scan_id,
            chunk,
            settings,
            &scope_data,
            collection.finished_at,
        )
        .await?;
        drift_events.extend(batch.drift);
        transitions.extend(batch.transitions);
        seen.extend(batch.previous_ids);
    }
    if complete {
        let unseen: Vec<i64> = live_before
            .into_iter()
            .filter(|id| !seen.contains(id))
            .collect();
        let gone = tx.previous_by_id(&unseen).await?;
        let (deletions, ended) =
            record_gone(&mut tx, scan_id, &gone, collection.finished_at).await?;
        transitions.extend(ended);
        drift_events.extend(deletions);
    }
    // An event that names a scope only indirectly made one change in it
    // at most: with more, which one was its own cannot be told.
    if let Some(id) = change_event_id
        && drift_events.len() == 1
    {
        tx.attribute_drift(scan_id, id).await?;
    }
    decide_alerts_and_commit(tx, alerting, collection.finished_at).await?;
    info!(
        scan_id,
        status = status.as_str(),
        resources = resources.len(),
        failed = failed.len(),
        drift = drift_events.len(),
        "scan recorded"
    );
    Ok(ScopeReport {
        scope,
        scan_id,
        status,
        error,
        resources: resources.len(),
        failed_resources: failed.len(),
        drift: drift_events,
        transitions,
    })
}

/// Records `gone` (live before, absent now) as deleted: their drift and
/// the transitions that ends their findings with.
async fn record_gone(
    tx: &mut ScopeTransaction<'_>,
    scan_id: i64,
    gone: &std::collections::HashMap<String, crate::store::PreviousResource>,
    at: chrono::DateTime<Utc>,
) -> Result<(Vec<DriftEvent>, Vec<Transition>), StoreError> {
    let mut arns: Vec<&String> = gone.keys().collect();
    arns.sort();
    let deletions = drift::deletions(arns);
    let ended = tx.record_deletions(scan_id, &deletions, gone, at).await?;
    Ok((deletions, ended))
}

/// Decides the scope's alerts in the scan's transaction (what follows from
/// its findings is written with them), then commits it all.
async fn decide_alerts_and_commit(
    mut tx: ScopeTransaction<'_>,
    alerting: Option<&AlertPolicy>,
    at: chrono::DateTime<Utc>,
) -> Result<(), StoreError> {
    if let Some(policy) = alerting {
        let scope_findings = tx.findings_of_scope();
        alert::decide_in(tx.transaction(), &scope_findings, policy, at, false).await?;
    }
    tx.commit().await
}

/// Resources recorded per batch of a scope's transaction.
const RECORD_BATCH: usize = 1000;

/// The resources of a collection in ARN order, one per ARN (the last one
/// listed, should a listing repeat one).
fn distinct_by_arn(resources: &[ResourceRecord]) -> Vec<&ResourceRecord> {
    let by_arn: BTreeMap<&str, &ResourceRecord> =
        resources.iter().map(|r| (r.arn.as_str(), r)).collect();
    by_arn.into_values().collect()
}

/// The documents of the collection that custom controls read as `data`.
fn scope_data(
    resources: &[&ResourceRecord],
    settings: &RuleSettings,
    collection: &Collection,
) -> ScopeData {
    let wanted = settings.custom().declared_data();
    if wanted.is_empty() {
        return ScopeData::none();
    }
    let documents = resources.iter().map(|r| ScopeDocument {
        resource_type: r.resource_type,
        arn: &r.arn,
        document: r
            .document
            .as_ref()
            .map(|d| d.as_str())
            .map_err(String::as_str),
    });
    let incomplete = (!collection.listed_completely()).then(|| {
        if collection.warnings.is_empty() {
            "the listing stopped early".to_string()
        } else {
            collection.warnings.join("; ")
        }
    });
    ScopeData::of(&wanted, documents, incomplete.as_deref())
}

/// What recording one batch of a scope came to.
struct BatchRecorded {
    drift: Vec<DriftEvent>,
    transitions: Vec<Transition>,
    /// The resources of the batch that were live before the scan.
    previous_ids: Vec<i64>,
}

/// One batch of a scope: its drift against the stored state, its
/// evaluations, written.
async fn record_batch(
    tx: &mut ScopeTransaction<'_>,
    scan_id: i64,
    resources: &[&ResourceRecord],
    settings: &RuleSettings,
    scope_data: &ScopeData,
    observed_at: chrono::DateTime<Utc>,
) -> Result<BatchRecorded, StoreError> {
    let arns: Vec<&str> = resources.iter().map(|r| r.arn.as_str()).collect();
    let previous = tx.previous_of(&arns).await?;
    let hashes: Vec<Option<String>> = resources
        .iter()
        .map(|r| r.document.as_ref().ok().map(|d| document_hash(d.as_str())))
        .collect();
    // Only a resource whose document hash changed is compared, against
    // the previous document read back for it.
    let stored_hash = |arn: &str| {
        previous
            .get(arn)
            .and_then(|p| p.collected.as_ref())
            .map(|(hash, _)| hash.as_str())
    };
    let maybe_changed: Vec<(&ResourceRecord, Option<&str>)> = resources
        .iter()
        .zip(&hashes)
        .filter(|(r, hash)| hash.is_none() || stored_hash(&r.arn) != hash.as_deref())
        .map(|(r, _)| (*r, stored_hash(&r.arn)))
        .collect();
    // A failed description is never diffed: its previous body is not needed.
    let wanted: Vec<&str> = maybe_changed
        .iter()
        .filter(|(r, _)| r.document.is_ok())
        .filter_map(|(_, h)| *h)
        .collect();
    let bodies = tx.document_bodies(&wanted).await?;
    let mut before: BTreeMap<String, Option<&serde_json::Value>> = BTreeMap::new();
    let mut observed: BTreeMap<String, Observation<'_>> = BTreeMap::new();
    for (resource, stored) in &maybe_changed {
        let observation = match &resource.document {
            Ok(document) => Observation::Collected(document),
            Err(_) => Observation::Failed,
        };
        observed.insert(resource.arn.clone(), observation);
        if previous.contains_key(&resource.arn) {
            before.insert(resource.arn.clone(), stored.and_then(|h| bodies.get(h)));
        }
    }
    let events = drift::changes(&before, &observed);
    let evaluations: Vec<Vec<Evaluation>> = resources
        .iter()
        .map(|r| evaluate::evaluate_in(r, settings, scope_data, observed_at))
        .collect();
    let transitions = tx
        .record_chunk(
            scan_id,
            ChunkRecord {
                resources,
                hashes: &hashes,
                drift: &events,
                evaluations: &evaluations,
            },
            &previous,
            observed_at,
        )
        .await?;
    Ok(BatchRecorded {
        drift: events,
        transitions,
        previous_ids: previous.values().map(|p| p.resource_id).collect(),
    })
}

/// The documents of `wanted` types as stored for a scope, as custom
/// controls read them (`data`): a type stored in an unknown form, or a
/// scope whose latest listing was not whole, is unknown to the control, as
/// it would be in a scan.
pub fn stored_scope_data(
    stored: &crate::store::StoredScope,
    wanted: &BTreeSet<crate::model::ResourceType>,
) -> Result<ScopeData, String> {
    let incomplete = match &stored.latest_scan {
        None => Some("the scope has no recorded scan".to_string()),
        Some(scan) if scan.status == "ok" || scan.listed_completely == Some(true) => None,
        Some(scan) => Some(format!(
            "its latest scan was {}: {}",
            scan.status,
            scan.error.as_deref().unwrap_or("no error recorded")
        )),
    };
    let mut documents = Vec::new();
    for row in &stored.documents {
        let resource_type: crate::model::ResourceType = row
            .resource_type
            .parse()
            .map_err(|e| format!("{}: the stored resource's type: {e}", row.arn))?;
        documents.push(ScopeDocument {
            resource_type,
            arn: &row.arn,
            document: row.document.as_deref().map_err(String::as_str),
        });
    }
    Ok(ScopeData::of(wanted, documents, incomplete.as_deref()))
}

/// What a change event asked of one scope: each resource it named,
/// described again just now.
pub struct TargetedCollection {
    pub started_at: chrono::DateTime<Utc>,
    pub finished_at: chrono::DateTime<Utc>,
    /// ARN → what describing it answered.
    pub described: BTreeMap<String, collect::Described>,
    pub change_event_id: i64,
}

/// Records a targeted scan: only the resources a change event named, as
/// AWS describes them now. It creates, modifies or deletes those and never
/// touches another resource of the scope; it is not a listing, so it never
/// counts as the scope's latest scan. A resource a scan begun later has
/// already recorded is left as that scan saw it (an event late or out of
/// order never rewinds state).
pub async fn record_targeted(
    store: &Store,
    scope: Scope,
    targeted: &TargetedCollection,
    settings: &RuleSettings,
    alerting: Option<&AlertPolicy>,
) -> Result<ScopeReport, StoreError> {
    let scope = postgres_safe_scope(&scope);
    let collector = collect::collector(&scope.collector);
    let mut present: Vec<ResourceRecord> = Vec::new();
    let mut absent: Vec<String> = Vec::new();
    let mut problems: Vec<String> = Vec::new();
    for (arn, answer) in &targeted.described {
        match answer {
            Ok(Some(record)) => {
                let record = postgres_safe_record(record).unwrap_or_else(|| record.clone());
                if let Err(error) = &record.document {
                    problems.push(format!("{arn}: {error}"));
                }
                present.push(record);
            }
            Ok(None) => absent.push(arn.clone()),
            // Not known whether it exists: nothing recorded of it.
            Err(error) => problems.push(format!("{arn}: {error}")),
        }
    }
    let data = targeted_scope_data(store, &scope, settings, &present).await?;
    let mut tx = store.begin_scope(&scope).await?;
    let status = if problems.is_empty() {
        ScanStatus::Ok
    } else {
        ScanStatus::Partial
    };
    let error =
        (!problems.is_empty()).then(|| postgres_safe_text(&problems.join("\n")).into_owned());
    let failed = present.iter().filter(|r| r.document.is_err()).count();
    let scan_id = tx
        .begin_scan(&ScanHeader {
            started_at: targeted.started_at,
            finished_at: targeted.finished_at,
            status,
            error: error.as_deref(),
            resource_count: present.len(),
            failed_count: failed,
            listed_completely: false,
            targeted: true,
            change_event_id: Some(targeted.change_event_id),
        })
        .await?;
    let fresher = tx.observed_since(targeted.started_at).await?;
    present.retain(|r| !fresher.contains_key(&r.arn));
    absent.retain(|arn| !fresher.contains_key(arn));
    if let Some(collector) = collector {
        carry_scope_derived_fields(&mut tx, collector.scope_derived_fields, &mut present).await?;
    }
    let mut drift_events = Vec::new();
    let mut transitions = Vec::new();
    let records: Vec<&ResourceRecord> = present.iter().collect();
    if !records.is_empty() {
        let batch = record_batch(
            &mut tx,
            scan_id,
            &records,
            settings,
            &data,
            targeted.finished_at,
        )
        .await?;
        drift_events.extend(batch.drift);
        transitions.extend(batch.transitions);
    }
    let absent: Vec<&str> = absent.iter().map(String::as_str).collect();
    let gone = tx.previous_of(&absent).await?;
    if !gone.is_empty() {
        let (deletions, ended) = record_gone(&mut tx, scan_id, &gone, targeted.finished_at).await?;
        transitions.extend(ended);
        drift_events.extend(deletions);
    }
    tx.attribute_drift(scan_id, targeted.change_event_id)
        .await?;
    decide_alerts_and_commit(tx, alerting, targeted.finished_at).await?;
    info!(
        scan_id,
        resources = present.len(),
        deleted = gone.len(),
        drift = drift_events.len(),
        "targeted scan recorded"
    );
    Ok(ScopeReport {
        scope,
        scan_id,
        status,
        error,
        resources: present.len(),
        failed_resources: failed,
        drift: drift_events,
        transitions,
    })
}

/// The scope's documents that custom controls declare as `data`: as
/// stored, with the resources just described as they are now.
async fn targeted_scope_data(
    store: &Store,
    scope: &Scope,
    settings: &RuleSettings,
    described: &[ResourceRecord],
) -> Result<ScopeData, StoreError> {
    let wanted = settings.custom().declared_data();
    if wanted.is_empty() {
        return Ok(ScopeData::none());
    }
    let types: Vec<&str> = wanted.iter().map(|t| t.as_str()).collect();
    let mut stored = store
        .documents_of_scope(&scope.collector, &scope.account_id, &scope.region, &types)
        .await?;
    stored
        .documents
        .retain(|d| !described.iter().any(|r| r.arn == d.arn));
    stored.documents.extend(described.iter().map(|r| {
        crate::store::StoredDocument {
            resource_type: r.resource_type.as_str().to_string(),
            arn: r.arn.clone(),
            document: r
                .document
                .as_ref()
                .map(|d| d.as_str().to_string())
                .map_err(Clone::clone),
        }
    }));
    Ok(
        stored_scope_data(&stored, &wanted)
            .unwrap_or_else(|reason| ScopeData::unavailable(&reason)),
    )
}

/// Fields a describe cannot recompute (derived from the scope's other
/// resources), copied from each resource's stored document.
async fn carry_scope_derived_fields(
    tx: &mut ScopeTransaction<'_>,
    fields: &[&str],
    records: &mut [ResourceRecord],
) -> Result<(), StoreError> {
    if fields.is_empty() || records.is_empty() {
        return Ok(());
    }
    let arns: Vec<&str> = records.iter().map(|r| r.arn.as_str()).collect();
    let previous = tx.previous_of(&arns).await?;
    let hashes: Vec<&str> = previous
        .values()
        .filter_map(|p| p.collected.as_ref().map(|(hash, _)| hash.as_str()))
        .collect();
    let bodies = tx.document_bodies(&hashes).await?;
    for record in records {
        let Some(stored) = previous
            .get(&record.arn)
            .and_then(|p| p.collected.as_ref())
            .and_then(|(hash, _)| bodies.get(hash))
        else {
            continue;
        };
        let Ok(document) = &record.document else {
            continue;
        };
        let Ok(mut value) = serde_json::from_str::<serde_json::Value>(document.as_str()) else {
            continue;
        };
        for field in fields {
            if let (Some(object), Some(kept)) = (value.as_object_mut(), stored.get(*field)) {
                object.insert((*field).to_string(), kept.clone());
            }
        }
        record.document = Ok(crate::model::Document::from_value(&value));
    }
    Ok(())
}
