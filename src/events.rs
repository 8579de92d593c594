//! The change-event consumer of `driftwatch run`: CloudTrail write events
//! that EventBridge put on SQS queues (`deploy/events/`), each turned into
//! a targeted scan of only the resources it changed, with who changed them.
//!
//! ```text
//!  queue ── ReceiveMessage (long poll, ≤ events.max_in_flight in flight)
//!    │  ChangeEvent::parse ─► disposition (read, refused, not collected:
//!    │                        counted and deleted)
//!    ▼
//!  change_events row (unique eventID: a duplicate is deleted unprocessed)
//!    ─► describe(arn) of each named resource ─► scan::record_targeted
//!       (a named scope: its collection ─► scan::record_collection_caused)
//!    ─► processed_at ─► DeleteMessage
//! ```
//!
//! A message is deleted only after what it caused is committed: a crash
//! before that redelivers it, and describing again records nothing twice
//! (an unchanged document makes no drift). A message that cannot be read
//! is left to the queue's redrive policy (the dead-letter queue), never
//! dropped.

use crate::alert::plan::AlertPolicy;
use crate::clock::Clock;
use crate::collect::change_events::{ChangeEvent, Disposition, Target};
use crate::collect::organizations::MemberAccount;
use crate::collect::{self, AwsAccount, GLOBAL_SCOPE};
use crate::config::{ALL_REGIONS, AccountConfig, Config, EventQueueConfig};
use crate::metrics::Metrics;
use crate::model::partition_for_region;
use crate::retry::Backoff;
use crate::scan::{self, TargetedCollection};
use crate::store::change_events::NewChangeEvent;
use crate::store::{Scope, Store, StoreError};
use chrono::Utc;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;
use tracing::{Instrument, info, warn};

/// The current configuration (swapped on SIGHUP).
pub type ConfigSource = Arc<dyn Fn() -> Arc<Config> + Send + Sync>;

/// What one replica's queues share: the database, the bound on events in
/// flight, and the connections to the accounts events come from.
pub struct Consumer {
    config: ConfigSource,
    store: Store,
    metrics: Arc<Metrics>,
    clock: Clock,
    in_flight: Arc<Semaphore>,
    /// Member accounts reached through an organization entry, by id.
    members: tokio::sync::Mutex<HashMap<String, AwsAccount>>,
}

/// What became of one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// Handled (or nothing to do): the message is deleted.
    Done(&'static str),
    /// Not handled: left for redelivery (and, in the end, the DLQ).
    Kept(&'static str),
}

impl Consumer {
    pub fn new(
        config: ConfigSource,
        store: Store,
        metrics: Arc<Metrics>,
        clock: Clock,
    ) -> Consumer {
        let max = config().events.max_in_flight;
        Consumer {
            config,
            store,
            metrics,
            clock,
            in_flight: Arc::new(Semaphore::new(max)),
            members: tokio::sync::Mutex::new(HashMap::new()),
        }
    }

    /// Long-polls one queue until `stop`: an unreachable queue is retried
    /// with backoff (scans go on meanwhile).
    pub async fn consume(
        self: Arc<Self>,
        queue: EventQueueConfig,
        mut stop: watch::Receiver<bool>,
    ) {
        let mut backoff = Backoff::new(Duration::from_millis(500), Duration::from_secs(30));
        let mut tasks = JoinSet::new();
        let reader = loop {
            match self.queue_reader(&queue).await {
                Ok(reader) => break reader,
                Err(error) => {
                    self.metrics.event_receive_error();
                    let delay = backoff.next_delay();
                    warn!(queue = %queue.url, %error, retry_in = ?delay, "cannot reach the event queue's account");
                    tokio::select! {
                        _ = tokio::time::sleep(delay) => continue,
                        _ = stop.wait_for(|s| *s) => return,
                    }
                }
            }
        };
        backoff.reset();
        let reader = Arc::new(reader);
        info!(queue = %queue.url, account = %reader.account.account_id, "consuming change events");
        loop {
            // Permits are taken per message received, not held through the
            // long poll: an idle queue never starves the others.
            let free = tokio::select! {
                free = self.free_permits() => free,
                _ = stop.wait_for(|s| *s) => break,
            };
            let config = self.config();
            let received = tokio::select! {
                received = reader.receive(&config.events, free) => received,
                _ = stop.wait_for(|s| *s) => break,
            };
            let messages = match received {
                Ok(messages) => {
                    backoff.reset();
                    messages
                }
                Err(error) => {
                    self.metrics.event_receive_error();
                    let delay = backoff.next_delay();
                    warn!(queue = %queue.url, %error, retry_in = ?delay, "cannot receive change events");
                    tokio::select! {
                        _ = tokio::time::sleep(delay) => continue,
                        _ = stop.wait_for(|s| *s) => break,
                    }
                }
            };
            for message in messages {
                let permit = tokio::select! {
                    permit = self.in_flight.clone().acquire_owned() => permit,
                    _ = stop.wait_for(|s| *s) => break,
                };
                let Ok(permit) = permit else { break };
                let consumer = self.clone();
                let reader = reader.clone();
                let span = tracing::info_span!("change_event", message_id = message.id.as_str());
                tasks.spawn(
                    async move {
                        consumer.handle(&reader, message).await;
                        drop(permit);
                    }
                    .instrument(span),
                );
            }
            while tasks.try_join_next().is_some() {}
        }
        // In flight at shutdown: finished, or redelivered to a replica that
        // is still running once their visibility timeout ends (the daemon
        // waits 5 s for its tasks).
        let _ = tokio::time::timeout(Duration::from_secs(4), async {
            while tasks.join_next().await.is_some() {}
        })
        .await;
        tasks.abort_all();
    }

    /// How many messages to ask for: waits until one can be handled, then
    /// as many as are free, up to the ten one receive can return.
    async fn free_permits(&self) -> usize {
        if let Ok(permit) = self.in_flight.acquire().await {
            drop(permit);
        }
        self.in_flight.available_permits().clamp(1, 10)
    }

    async fn queue_reader(&self, queue: &EventQueueConfig) -> Result<QueueReader, String> {
        let config = self.config();
        let entry = config.event_queue_account(queue)?;
        let region = queue
            .queue_region()
            .ok_or_else(|| format!("{}: the queue's region is not known", queue.url))?;
        let account = collect::connect_account(&config.aws, &entry, &config.home_region(&entry))
            .await
            .map_err(|e| e.to_string())?;
        let account = AwsAccount {
            clock: self.clock.clone(),
            ..account
        };
        let client = crate::counted_client!(aws_sdk_sqs, "sqs", &account.in_region(&region));
        Ok(QueueReader {
            url: queue.url.clone(),
            client,
            entry,
            account,
        })
    }

    async fn handle(&self, reader: &QueueReader, message: Message) {
        let received_at = self.clock.now();
        // Kept hidden from other consumers while it is handled, however
        // long a scope's lock or a collection takes.
        let _hidden = reader.keep_hidden(&message.receipt_handle, &self.config().events);
        let outcome = match ChangeEvent::parse(&message.body) {
            Ok(event) => self.process(reader, &event, received_at).await,
            Err(error) => {
                // Left for the dead-letter queue, where it can be read.
                warn!(queue = %reader.url, %error, "not a CloudTrail event: left for the dead-letter queue");
                Outcome::Kept("malformed")
            }
        };
        match outcome {
            Outcome::Done(what) => {
                self.metrics.change_event(what);
                if let Err(error) = reader.delete(&message.receipt_handle).await {
                    // Redelivered later and found processed: no loss.
                    warn!(queue = %reader.url, %error, "cannot delete a handled message");
                }
            }
            Outcome::Kept(what) => self.metrics.change_event(what),
        }
    }

    async fn process(
        &self,
        reader: &QueueReader,
        event: &ChangeEvent,
        received_at: chrono::DateTime<Utc>,
    ) -> Outcome {
        let targets = match event.disposition() {
            Disposition::Changed(targets) => targets,
            Disposition::ReadOnly => return Outcome::Done("read_only"),
            Disposition::Refused(_) => return Outcome::Done("refused"),
            Disposition::NotCollected => return Outcome::Done("not_collected"),
        };
        match self.apply(reader, event, targets, received_at).await {
            Ok(outcome) => outcome,
            Err(error) => {
                self.metrics.store_error();
                warn!(event_id = %event.event_id, %error, "change event not recorded; it will be redelivered");
                Outcome::Kept("failed")
            }
        }
    }

    async fn apply(
        &self,
        reader: &QueueReader,
        event: &ChangeEvent,
        targets: Vec<Target>,
        received_at: chrono::DateTime<Utc>,
    ) -> Result<Outcome, StoreError> {
        let actor = event.actor.describe();
        let detail = event.evidence();
        let recorded = self
            .store
            .record_change_event(
                &NewChangeEvent {
                    event_id: &event.event_id,
                    event_time: event.event_time,
                    account_id: &event.account_id,
                    region: &event.region,
                    event_source: &event.event_source,
                    event_name: &event.event_name,
                    actor: &actor,
                    actor_detail: &detail,
                },
                received_at,
            )
            .await?;
        if recorded.processed {
            return Ok(Outcome::Done("duplicate"));
        }
        let aws = match self.account_of(reader, &event.account_id).await {
            Ok(Some(aws)) => aws,
            Ok(None) => {
                warn!(account = %event.account_id, queue = %reader.url, "an event of an account this queue's entry does not cover");
                self.store
                    .change_event_processed(recorded.id, self.clock.now())
                    .await?;
                return Ok(Outcome::Done("other_account"));
            }
            Err(error) => {
                warn!(account = %event.account_id, %error, "cannot reach the event's account; it will be redelivered");
                return Ok(Outcome::Kept("failed"));
            }
        };
        let config = self.config();
        let work = EventWork {
            event,
            change_event_id: recorded.id,
            aws,
            entry: &reader.entry,
            settings: config.rule_settings(),
            alerting: AlertPolicy::from_config(&config.alerts, &config.custom),
            config,
        };
        let mut resources = Vec::new();
        let mut scopes = Vec::new();
        for target in targets {
            match target {
                Target::Resource(arn) => resources.push(arn),
                Target::Scope { collector, region } => scopes.push((collector, region)),
            }
        }
        let described = match self.describe_again(&work, &resources).await? {
            Step::Undescribed => return Ok(Outcome::Kept("describe_failed")),
            Step::Recorded => true,
            Step::Skipped => false,
        };
        let collected = self.collect_scopes(&work, scopes).await?;
        self.store
            .change_event_processed(recorded.id, self.clock.now())
            .await?;
        info!(
            event_id = %event.event_id,
            event = %event.event_name,
            actor = %actor,
            "change event processed"
        );
        Ok(Outcome::Done(if described || collected {
            "changed"
        } else {
            "not_collected"
        }))
    }

    /// Describes the resources the event names into a targeted scan.
    async fn describe_again(
        &self,
        work: &EventWork<'_>,
        resources: &[String],
    ) -> Result<Step, StoreError> {
        let Some((name, region)) = work.event.resource_scope() else {
            return Ok(Step::Skipped);
        };
        let Some(collector) = collect::collector(name) else {
            return Ok(Step::Skipped);
        };
        if resources.is_empty() || !work.scanned(name, &region) {
            return Ok(Step::Skipped);
        }
        let started_at = self.clock.now();
        let mut described = BTreeMap::new();
        for arn in resources {
            let answer = (collector.describe)(&work.aws, arn).await;
            // Not known now (throttled, refused, 5xx): redelivered and
            // described again, rather than left to the next scan.
            let unknown = match &answer {
                Err(reason) => Some(reason.clone()),
                Ok(Some(record)) => record.document.as_ref().err().cloned(),
                Ok(None) => None,
            };
            if let Some(reason) = unknown {
                warn!(%arn, %reason, "cannot describe what the event changed; it will be redelivered");
                return Ok(Step::Undescribed);
            }
            described.insert(arn.clone(), answer);
        }
        let targeted = TargetedCollection {
            started_at,
            finished_at: self.clock.now(),
            described,
            change_event_id: work.change_event_id,
        };
        let report = scan::record_targeted(
            &self.store,
            work.scope(name, region),
            &targeted,
            &work.settings,
            work.alerting.as_ref(),
        )
        .await?;
        // An event that arrives after a scan recorded its change explains
        // that drift.
        let unchanged: Vec<String> = resources
            .iter()
            .filter(|arn| !report.drift.iter().any(|d| &d.arn == *arn))
            .cloned()
            .collect();
        if !unchanged.is_empty() {
            self.store
                .attribute_recorded_drift(work.change_event_id, &unchanged, self.clock.now())
                .await?;
        }
        Ok(Step::Recorded)
    }

    /// Collects the scopes the event names only indirectly; whether any
    /// was collected.
    async fn collect_scopes(
        &self,
        work: &EventWork<'_>,
        scopes: Vec<(&'static str, String)>,
    ) -> Result<bool, StoreError> {
        let mut collected = false;
        for (name, region) in scopes {
            let Some(collector) = collect::collector(name) else {
                continue;
            };
            if !work.scanned(name, &region) {
                continue;
            }
            let scope = work.scope(name, region);
            // A burst of such events costs one collection: a listing begun
            // after this event (CloudTrail times are whole seconds) saw it.
            let since = work.event.event_time + chrono::Duration::seconds(1);
            if self.store.scope_listed_since(&scope, since).await? {
                continue;
            }
            let concurrency = work.config.collectors.get(name).concurrency;
            let collection = (collector.collect)(&work.aws, &scope.region, concurrency).await;
            scan::record_collection_caused(
                &self.store,
                scope,
                &collection,
                &work.settings,
                work.alerting.as_ref(),
                None,
                Some(work.change_event_id),
            )
            .await?;
            collected = true;
        }
        Ok(collected)
    }

    /// The connection that describes `account_id`'s resources: the queue's
    /// own account, or a member of its organization entry (not excluded).
    async fn account_of(
        &self,
        reader: &QueueReader,
        account_id: &str,
    ) -> Result<Option<AwsAccount>, String> {
        if account_id == reader.account.account_id {
            return Ok(Some(reader.account.clone()));
        }
        let Some(organization) = &reader.entry.organization else {
            return Ok(None);
        };
        if organization.exclude.iter().any(|x| x == account_id) {
            return Ok(None);
        }
        if let Some(member) = self.members.lock().await.get(account_id) {
            return Ok(Some(member.clone()));
        }
        let config = self.config();
        let home_region = config.home_region(&reader.entry);
        // Named as its scans name it (the organization's name for it).
        let name = match self.store.account_name(account_id).await {
            Ok(name) => name.unwrap_or_else(|| account_id.to_string()),
            Err(error) => return Err(error.to_string()),
        };
        let member = MemberAccount::reached_by(
            account_id,
            &name,
            organization,
            partition_for_region(&home_region),
        );
        let connected =
            collect::connect_member(&config.aws, &reader.account, &member, &home_region)
                .await
                .map_err(|e| e.to_string())?;
        let connected = AwsAccount {
            clock: self.clock.clone(),
            ..connected
        };
        // Connected outside the lock: a slow AssumeRole stalls only its
        // own events.
        self.members
            .lock()
            .await
            .insert(account_id.to_string(), connected.clone());
        Ok(Some(connected))
    }

    fn config(&self) -> Arc<Config> {
        (self.config)()
    }
}

/// What one event's work needs: the account it is described in, the
/// config it is scanned and recorded by.
struct EventWork<'a> {
    event: &'a ChangeEvent,
    change_event_id: i64,
    aws: AwsAccount,
    config: Arc<Config>,
    entry: &'a AccountConfig,
    settings: crate::evaluate::RuleSettings,
    alerting: Option<AlertPolicy>,
}

impl EventWork<'_> {
    /// Whether scans cover `collector` in `region` of the queue's entry.
    fn scanned(&self, collector: &str, region: &str) -> bool {
        let regions = self.config.regions_of(self.entry);
        let in_regions = region == GLOBAL_SCOPE
            || regions == [ALL_REGIONS]
            || regions.iter().any(|r| r == region);
        self.config.collectors.get(collector).enabled && in_regions
    }

    fn scope(&self, collector: &str, region: String) -> Scope {
        Scope {
            collector: collector.to_string(),
            account_id: self.aws.account_id.clone(),
            account_name: self.aws.name.clone(),
            region,
        }
    }
}

/// What describing an event's resources came to.
enum Step {
    Recorded,
    /// Nothing it names is collected here.
    Skipped,
    /// AWS could not say now: left for redelivery.
    Undescribed,
}

/// One message as received.
struct Message {
    id: String,
    body: String,
    receipt_handle: String,
}

/// A queue and the account entry whose credentials read it.
struct QueueReader {
    url: String,
    client: aws_sdk_sqs::Client,
    entry: AccountConfig,
    account: AwsAccount,
}

impl QueueReader {
    async fn receive(
        &self,
        events: &crate::config::EventsConfig,
        at_most: usize,
    ) -> Result<Vec<Message>, String> {
        let answer = self
            .client
            .receive_message()
            .queue_url(&self.url)
            .max_number_of_messages(at_most.clamp(1, 10) as i32)
            .wait_time_seconds(events.wait_seconds as i32)
            .visibility_timeout(events.visibility_timeout_seconds as i32)
            .send()
            .await
            .map_err(|e| {
                format!(
                    "ReceiveMessage {}: {}",
                    self.url,
                    collect::describe_error(&e)
                )
            })?;
        Ok(answer
            .messages()
            .iter()
            .filter_map(|m| {
                Some(Message {
                    id: m.message_id().unwrap_or_default().to_string(),
                    body: m.body()?.to_string(),
                    receipt_handle: m.receipt_handle()?.to_string(),
                })
            })
            .collect())
    }

    /// Extends the message's visibility every third of its timeout until
    /// the returned guard is dropped.
    fn keep_hidden(
        &self,
        receipt_handle: &str,
        events: &crate::config::EventsConfig,
    ) -> crate::daemon::AbortOnDrop {
        let client = self.client.clone();
        let url = self.url.clone();
        let receipt_handle = receipt_handle.to_string();
        let timeout = events.visibility_timeout_seconds;
        crate::daemon::AbortOnDrop(tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_secs(timeout / 3)).await;
                let extended = client
                    .change_message_visibility()
                    .queue_url(&url)
                    .receipt_handle(&receipt_handle)
                    .visibility_timeout(timeout as i32)
                    .send()
                    .await;
                if let Err(e) = extended {
                    warn!(queue = %url, error = %collect::describe_error(&e), "cannot extend a message's visibility; it may be redelivered");
                }
            }
        }))
    }

    async fn delete(&self, receipt_handle: &str) -> Result<(), String> {
        self.client
            .delete_message()
            .queue_url(&self.url)
            .receipt_handle(receipt_handle)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| {
                format!(
                    "DeleteMessage {}: {}",
                    self.url,
                    collect::describe_error(&e)
                )
            })
    }
}
