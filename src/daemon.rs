//! `driftwatch run`: the long-running service.
//!
//! ```text
//!  schedules (one per collector, retention, report; walked on the clock)
//!      │  (collector, scheduled_for)
//!      ▼
//!  enqueuer ── INSERT … ON CONFLICT DO NOTHING ──► scan_jobs (shared by all replicas)
//!                                                     │ claim (leased, FOR UPDATE SKIP LOCKED)
//!  workers × N ◄──────────────────────────────────────┘
//!      │  scan::scan_job (every scope fenced by the lease) ─► store
//!      ▼
//!  metrics ◄── http: /healthz /readyz /metrics /api/findings /api/drift
//! ```
//!
//! Every replica enqueues every tick; the unique key keeps one job per
//! tick. Whichever replica claims it runs it; a replica that dies loses its
//! jobs to the others when the lease runs out, and a scan it had not yet
//! committed is redone there, never recorded twice.

use crate::alert::{self, plan::AlertPolicy, sinks::Sinks};
use crate::clock::Clock;
use crate::config::{Config, ConfigIssue, ENV_HTTP_TOKEN, parse_schedule};
use crate::events;
use crate::http::{self, ApiState, HttpError};
use crate::metrics::Metrics;
use crate::report;
use crate::retry::{Backoff, retry};
use crate::scan;
use crate::schedule::Cadence;
use crate::store::jobs::{ALL_REGIONS_OF_ENTRY, JobClaim};
use crate::store::{Store, StoreError};
use chrono::Utc;
use std::net::SocketAddr;
use std::ops::ControlFlow;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use thiserror::Error;
use tokio::sync::{Notify, mpsc, watch};
use tokio::task::JoinSet;
use tracing::{Instrument, error, info, warn};

#[derive(Debug, Error)]
pub enum DaemonError {
    #[error(transparent)]
    Http(#[from] HttpError),
    #[error("invalid {field}: {message}")]
    Config { field: String, message: String },
}

/// Something the cron scheduler asks for.
#[derive(Debug, Clone)]
enum Tick {
    Collector {
        collector: &'static str,
        scheduled_for: chrono::DateTime<Utc>,
    },
    Retention,
    /// Build and keep the previous day's report.
    Report,
}

struct Shared {
    /// Swapped whole when SIGHUP reloads the custom controls; every use
    /// takes the current one.
    config: std::sync::RwLock<Arc<Config>>,
    store: Store,
    owner: String,
    metrics: Arc<Metrics>,
    /// Wakes idle workers when this replica enqueued work.
    work: Notify,
    /// Set at shutdown: stop claiming, stop retrying the database.
    stopping: AtomicBool,
    lease: Duration,
    clock: Clock,
}

/// A started daemon.
pub struct RunningDaemon {
    pub http_addr: SocketAddr,
    pub owner: String,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
    shared: Arc<Shared>,
}

impl Shared {
    fn config(&self) -> Arc<Config> {
        match self.config.read() {
            Ok(config) => config.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }
}

impl RunningDaemon {
    /// Reloads the custom controls from the configured paths (SIGHUP):
    /// scans that start afterwards run the new set. A set that does not
    /// load, or that the rest of the config no longer agrees with (a route
    /// naming a control that is gone), is refused whole, each problem
    /// logged, and the running set is kept.
    pub fn reload_custom_controls(&self) -> Result<usize, Vec<ConfigIssue>> {
        let mut next = (*self.shared.config()).clone();
        let mut issues = next.reload_custom_controls();
        if issues.is_empty() {
            issues = next.validate();
        }
        if !issues.is_empty() {
            for issue in &issues {
                warn!(%issue, "custom controls not reloaded; the running ones are kept");
            }
            return Err(issues);
        }
        let count = next.custom.iter().count();
        match self.shared.config.write() {
            Ok(mut config) => *config = Arc::new(next),
            Err(poisoned) => *poisoned.into_inner() = Arc::new(next),
        }
        info!(custom_controls = count, "custom controls reloaded");
        Ok(count)
    }

    /// Graceful stop: no new work, in-flight jobs get the grace period,
    /// then unfinished ones are handed back to the queue.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }

    /// Simulates a crash (tests): everything stops at once, nothing is
    /// handed back; the leases must run out for other replicas to take over.
    pub fn kill(self) {
        self.task.abort();
    }
}

/// A name for this replica, unique enough across hosts and restarts.
pub fn replica_name() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "driftwatch".to_string());
    format!("{host}-{}-{}", std::process::id(), &uuid_suffix()[..8])
}

fn uuid_suffix() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// Starts the HTTP endpoint and the scheduler; returns once both listen.
/// `owner` names this replica in the job table.
pub async fn start(
    config: Arc<Config>,
    store: Store,
    owner: String,
) -> Result<RunningDaemon, DaemonError> {
    start_by(config, store, owner, Clock::system()).await
}

/// [`start`], with every decision timed by `clock`: scans, alert
/// decisions, waivers, leases, retention and the schedules' ticks.
pub async fn start_by(
    config: Arc<Config>,
    store: Store,
    owner: String,
    clock: Clock,
) -> Result<RunningDaemon, DaemonError> {
    let token = http::load_token(
        std::env::var(ENV_HTTP_TOKEN).ok(),
        config.http.token_file.as_deref(),
    )?;
    let addr: SocketAddr = config.http.bind.parse().map_err(|e| DaemonError::Config {
        field: "http.bind".into(),
        message: format!("{e}"),
    })?;
    let listener = http::bind(addr, token.as_deref()).await?;
    let http_addr = listener
        .local_addr()
        .map_err(|source| HttpError::Bind { addr, source })?;
    let sinks = Sinks::load(&config.alerts, |var| std::env::var(var).ok()).map_err(|e| {
        DaemonError::Config {
            field: "alerts.sinks".into(),
            message: e.to_string(),
        }
    })?;
    let alert_sender = if sinks.is_empty() {
        None
    } else {
        let sender = alert::Sender::new(
            store.clone(),
            sinks,
            AlertPolicy::from_config(&config.alerts, &config.custom),
            Duration::from_secs(config.alerts.timeout_seconds),
            Duration::from_secs(config.alerts.max_backoff_seconds),
            owner.clone(),
        )
        .map_err(|message| DaemonError::Config {
            field: "alerts".into(),
            message,
        })?
        .with_clock(clock.clone());
        Some(Arc::new(sender))
    };
    let metrics = Arc::new(Metrics::default());
    let lease = Duration::from_secs(config.daemon.lease_seconds);
    let shared = Arc::new(Shared {
        config: std::sync::RwLock::new(config.clone()),
        store: store.clone(),
        owner: owner.clone(),
        metrics: metrics.clone(),
        work: Notify::new(),
        stopping: AtomicBool::new(false),
        lease,
        clock: clock.clone(),
    });

    let (tick_tx, tick_rx) = mpsc::unbounded_channel();
    let schedules = schedules(&config)?;
    let (stop_tx, stop_rx) = watch::channel(false);

    let api = http::router(ApiState {
        store,
        metrics,
        // A lease expired this long ago with nobody taking over means no
        // replica is working.
        stuck_after: lease * 2 + Duration::from_secs(config.daemon.poll_seconds * 5),
        token: token.map(Arc::from),
        clock,
    });
    let task = tokio::spawn(
        supervise(
            shared.clone(),
            (schedules, tick_tx),
            tick_rx,
            stop_rx,
            listener,
            api,
            alert_sender,
        )
        .instrument(tracing::info_span!("replica", owner = %owner)),
    );
    info!(%http_addr, %owner, "driftwatch running");
    Ok(RunningDaemon {
        http_addr,
        owner,
        stop: stop_tx,
        task,
        shared,
    })
}

/// What the occurrences of one schedule ask for.
#[derive(Debug, Clone, Copy)]
enum Scheduled {
    Collector(&'static str),
    Retention,
    Report,
}

impl Scheduled {
    fn tick(self, at: chrono::DateTime<Utc>) -> Tick {
        match self {
            Scheduled::Collector(collector) => Tick::Collector {
                collector,
                scheduled_for: at,
            },
            Scheduled::Retention => Tick::Retention,
            Scheduled::Report => Tick::Report,
        }
    }
}

/// Every schedule the daemon walks: one per enabled collector, the
/// retention prune and the daily report.
fn schedules(config: &Config) -> Result<Vec<(croner::Cron, Scheduled)>, DaemonError> {
    let parse = |field: String, expression: &str| {
        parse_schedule(expression).map_err(|message| DaemonError::Config { field, message })
    };
    let mut schedules = Vec::new();
    for (collector, collector_config) in config.enabled_collectors() {
        let field = format!("collectors.{}.schedule", collector.name);
        let cron = parse(field, &collector_config.schedule)?;
        schedules.push((cron, Scheduled::Collector(collector.name)));
    }
    let retention = parse("retention.schedule".into(), &config.retention.schedule)?;
    schedules.push((retention, Scheduled::Retention));
    let report = parse("report.schedule".into(), &config.report.schedule)?;
    schedules.push((report, Scheduled::Report));
    Ok(schedules)
}

/// How often a schedule looks at the clock between occurrences, so that a
/// clock moved forward is noticed.
const SCHEDULE_POLL: Duration = Duration::from_millis(250);

/// Fires each occurrence of `cron` once, named by its own time (so that
/// every replica enqueues the same tick under the same key), however late
/// this task gets to run.
async fn walk_schedule(
    cron: croner::Cron,
    scheduled: Scheduled,
    clock: Clock,
    ticks: mpsc::UnboundedSender<Tick>,
    mut stop: watch::Receiver<bool>,
) {
    let mut cadence = Cadence::starting(cron, clock.now());
    loop {
        let due = cadence.due(clock.now());
        if due.skipped {
            warn!(
                ?scheduled,
                kept = due.fire.len(),
                "schedule overdue by more than it replays: older occurrences skipped"
            );
        }
        for at in due.fire {
            if ticks.send(scheduled.tick(at)).is_err() {
                return;
            }
        }
        let Some(next) = cadence.next() else {
            return;
        };
        let wait = (next - clock.now())
            .to_std()
            .unwrap_or(Duration::ZERO)
            .min(SCHEDULE_POLL);
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = stopped(&mut stop) => return,
        }
    }
}

async fn supervise(
    shared: Arc<Shared>,
    (schedules, tick_tx): (Vec<(croner::Cron, Scheduled)>, mpsc::UnboundedSender<Tick>),
    ticks: mpsc::UnboundedReceiver<Tick>,
    mut stop: watch::Receiver<bool>,
    listener: tokio::net::TcpListener,
    api: axum::Router,
    alert_sender: Option<Arc<alert::Sender>>,
) {
    let mut tasks = JoinSet::new();
    let http_stop = {
        let mut stop = stop.clone();
        async move { stopped(&mut stop).await }
    };
    tasks.spawn(async move {
        if let Err(e) = axum::serve(listener, api)
            .with_graceful_shutdown(http_stop)
            .await
        {
            error!(error = %e, "the HTTP endpoint stopped");
        }
    });

    // Migrations first: until the database answers, only /healthz and a
    // not-ready /readyz are served.
    let migrated = retry(
        Backoff::new(Duration::from_millis(500), Duration::from_secs(30)),
        || shared.store.migrate(),
        |e, delay| {
            shared.metrics.store_error();
            warn!(error = %e, retry_in = ?delay, "database not available yet");
            ControlFlow::Continue(())
        },
    );
    tokio::select! {
        _ = migrated => {}
        _ = stopped(&mut stop) => {
            drain(&shared, tasks).await;
            return;
        }
    }

    for (cron, scheduled) in schedules {
        let walk = walk_schedule(
            cron,
            scheduled,
            shared.clock.clone(),
            tick_tx.clone(),
            stop.clone(),
        );
        tasks.spawn(walk);
    }
    drop(tick_tx);
    tasks.spawn(enqueuer(shared.clone(), ticks, stop.clone()));
    let config = shared.config();
    let policy = AlertPolicy::from_config(&config.alerts, &config.custom);
    let sync = crate::waive::sync_config(
        &shared.store,
        &config.waivers,
        shared.clock.now(),
        policy.as_ref(),
    );
    match sync.await {
        Ok((0, 0)) => {}
        Ok((added, revoked)) => info!(added, revoked, "config waivers recorded"),
        Err(e) => warn!(error = %e, "cannot record the config waivers now; next start retries"),
    }
    if let Some(sender) = alert_sender.clone() {
        tasks.spawn(alerting(shared.clone(), sender, stop.clone()));
    }
    let queues = shared.config().events.queues.clone();
    if !queues.is_empty() {
        let current = shared.clone();
        let consumer = Arc::new(events::Consumer::new(
            Arc::new(move || current.config()),
            shared.store.clone(),
            shared.metrics.clone(),
            shared.clock.clone(),
        ));
        for queue in queues {
            let span = tracing::info_span!("events", queue = %queue.url);
            tasks.spawn(
                consumer
                    .clone()
                    .consume(queue, stop.clone())
                    .instrument(span),
            );
        }
    }
    let mut workers = JoinSet::new();
    for n in 0..shared.config().daemon.workers {
        workers.spawn(
            worker(shared.clone(), stop.clone()).instrument(tracing::info_span!("worker", n)),
        );
    }

    stopped(&mut stop).await;
    info!("stopping: no new work; in-flight jobs may finish");
    shared.stopping.store(true, Ordering::Relaxed);
    shared.work.notify_waiters();
    let grace = Duration::from_secs(shared.config().daemon.grace_seconds);
    let finished = tokio::time::timeout(grace, async {
        while workers.join_next().await.is_some() {}
    })
    .await;
    if finished.is_err() {
        warn!(grace = ?grace, "grace period over: unfinished jobs go back to the queue");
        workers.abort_all();
        while workers.join_next().await.is_some() {}
    }
    drain(&shared, tasks).await;
}

/// Resolves once shutdown is requested (or the sender is gone). The guard
/// `wait_for` returns is dropped here, never held across an await.
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

/// Hands back whatever this replica still holds and stops the rest.
async fn drain(shared: &Shared, mut tasks: JoinSet<()>) {
    match shared.store.release_jobs(&shared.owner).await {
        Ok(0) => {}
        Ok(n) => {
            for _ in 0..n {
                shared.metrics.job("released");
            }
            info!(jobs = n, "unfinished jobs handed back to the queue");
        }
        Err(e) => warn!(error = %e, "cannot hand jobs back; their leases will run out"),
    }
    let _ = tokio::time::timeout(Duration::from_secs(5), async {
        while tasks.join_next().await.is_some() {}
    })
    .await;
    tasks.abort_all();
    info!("stopped");
}

/// Turns ticks into shared jobs, retrying through database outages so
/// that no tick is lost.
async fn enqueuer(
    shared: Arc<Shared>,
    mut ticks: mpsc::UnboundedReceiver<Tick>,
    stop: watch::Receiver<bool>,
) {
    while let Some(tick) = ticks.recv().await {
        if *stop.borrow() {
            return;
        }
        let handled = retry(
            Backoff::new(Duration::from_millis(250), Duration::from_secs(15)),
            || handle_tick(&shared, &tick),
            |e, delay| {
                if *stop.borrow() {
                    return ControlFlow::Break(());
                }
                shared.metrics.store_error();
                warn!(error = %e, retry_in = ?delay, "database unavailable: tick kept for retry");
                ControlFlow::Continue(())
            },
        )
        .await;
        if handled.is_err() || *stop.borrow() {
            return;
        }
        shared.work.notify_waiters();
    }
}

async fn handle_tick(shared: &Shared, tick: &Tick) -> Result<(), StoreError> {
    match tick {
        Tick::Collector {
            collector,
            scheduled_for,
        } => {
            let targets = job_targets(&shared.config(), collector);
            let new = shared
                .store
                .enqueue_jobs(collector, &targets, *scheduled_for)
                .await?;
            if new > 0 {
                info!(collector, %scheduled_for, jobs = new, "scan jobs enqueued");
            }
            Ok(())
        }
        Tick::Retention => prune(shared).await,
        Tick::Report => daily_report(shared).await,
    }
}

/// The jobs one tick of `collector` makes: one per account entry and
/// configured region, or one per entry covering all its regions when they
/// are only known at scan time (`["all"]`, organizations) or the collector
/// is account-wide.
fn job_targets(config: &Config, collector: &str) -> Vec<(String, String)> {
    let mut targets = Vec::new();
    for account in config.effective_accounts() {
        let regions = config.regions_of(&account);
        let account_wide = crate::collect::collector(collector)
            .is_some_and(|c| c.scope == crate::collect::CollectorScope::AccountWide);
        let whole_entry = account_wide
            || account.organization.is_some()
            || regions == [crate::config::ALL_REGIONS];
        if whole_entry {
            targets.push((account.key(), ALL_REGIONS_OF_ENTRY.to_string()));
        } else {
            targets.extend(regions.iter().map(|r| (account.key(), r.clone())));
        }
    }
    targets
}

async fn prune(shared: &Shared) -> Result<(), StoreError> {
    let cutoff =
        shared.clock.now() - chrono::Duration::days(i64::from(shared.config().retention.days));
    let report = shared.store.prune(cutoff).await?;
    shared.metrics.prune();
    info!(?report, %cutoff, "retention prune done");
    Ok(())
}

/// Builds (and keeps) yesterday's report and writes its files. Every
/// replica may do it: the first stored model wins and all write the same.
async fn daily_report(shared: &Shared) -> Result<(), StoreError> {
    let now = shared.clock.now();
    let yesterday = now.date_naive() - chrono::Duration::days(1);
    let report =
        match report::report_for(&shared.store, &shared.config().custom, yesterday, now).await {
            Ok(report) => report,
            Err(report::ReportError::Store(e)) => return Err(e),
            Err(e) => {
                error!(error = %e, date = %yesterday, "cannot build the daily report");
                return Ok(());
            }
        };
    let formats: Vec<report::Format> = shared
        .config()
        .report
        .formats
        .iter()
        .filter_map(|f| report::Format::parse(f))
        .collect();
    match report::write_files(&report, &formats, &shared.config().report_dir()) {
        Ok(files) => info!(date = %yesterday, ?files, "daily report written"),
        Err(e) => error!(error = %e, date = %yesterday, "cannot write the daily report"),
    }
    Ok(())
}

/// Decides time-driven alerts and delivers the outbox until shutdown;
/// then hands back what it holds.
async fn alerting(
    shared: Arc<Shared>,
    sender: Arc<alert::Sender>,
    mut stop: watch::Receiver<bool>,
) {
    let poll = Duration::from_secs(shared.config().alerts.poll_seconds);
    loop {
        let config = shared.config();
        let decided = match AlertPolicy::from_config(&config.alerts, &config.custom) {
            Some(policy) => sender.decide_with(&policy).await,
            None => Ok(0),
        };
        if let Err(e) = decided {
            shared.metrics.store_error();
            warn!(error = %e, "cannot decide alerts now; retrying");
        }
        match sender.drain(None).await {
            Ok(round) if round.attempts() > 0 => {
                info!(
                    delivered = round.delivered,
                    retried = round.retried,
                    rejected = round.rejected,
                    "alert delivery round"
                )
            }
            Ok(_) => {}
            Err(e) => {
                shared.metrics.store_error();
                warn!(error = %e, "cannot read the alert outbox now; retrying");
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(poll) => {}
            _ = stopped(&mut stop) => break,
        }
    }
    sender.release().await;
}

async fn worker(shared: Arc<Shared>, stop: watch::Receiver<bool>) {
    let poll = Duration::from_secs(shared.config().daemon.poll_seconds);
    let mut backoff = Backoff::new(Duration::from_millis(500), Duration::from_secs(15));
    loop {
        if *stop.borrow() || shared.stopping.load(Ordering::Relaxed) {
            return;
        }
        match shared
            .store
            .claim_job(&shared.owner, shared.lease, shared.clock.now())
            .await
        {
            Ok(Some(job)) => {
                backoff.reset();
                let span = tracing::info_span!(
                    "job",
                    job_id = job.id,
                    collector = %job.collector,
                    account = %job.account_key,
                    region = %job.region,
                    scheduled_for = %job.scheduled_for,
                    attempt = job.attempts
                );
                run_job(&shared, job).instrument(span).await;
            }
            Ok(None) => {
                let notified = shared.work.notified();
                tokio::select! {
                    _ = notified => {}
                    _ = tokio::time::sleep(poll) => {}
                }
            }
            Err(e) => {
                shared.metrics.store_error();
                let delay = backoff.next_delay();
                warn!(error = %e, retry_in = ?delay, "cannot claim work");
                tokio::time::sleep(delay).await;
            }
        }
    }
}

/// A task stopped when this is dropped.
pub(crate) struct AbortOnDrop(pub(crate) tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

async fn run_job(shared: &Arc<Shared>, job: JobClaim) {
    info!("job started");
    // Aborted when this function ends or its task is aborted (a crash in
    // tests): a dead worker must not keep its lease alive.
    let heartbeat = AbortOnDrop({
        let shared = shared.clone();
        let job = job.clone();
        tokio::spawn(async move {
            let every = shared.lease / 3;
            loop {
                tokio::time::sleep(every).await;
                match shared
                    .store
                    .renew_lease(&job, shared.lease, shared.clock.now())
                    .await
                {
                    Ok(true) => {}
                    Ok(false) => {
                        warn!(job_id = job.id, "lease lost to another replica");
                        return;
                    }
                    Err(e) => {
                        shared.metrics.store_error();
                        warn!(job_id = job.id, error = %e, "cannot renew the lease");
                    }
                }
            }
        })
    });
    let started = Instant::now();
    let outcome = scan::scan_job(
        &shared.config(),
        &shared.store,
        &job,
        &shared.stopping,
        &shared.clock,
    )
    .await;
    drop(heartbeat);
    let reports = match outcome {
        Ok(reports) => reports,
        Err(e) => {
            shared.metrics.job("failed");
            error!(error = %e, "job failed; it will be retried when its lease runs out");
            return;
        }
    };
    let elapsed = started.elapsed().as_secs_f64();
    let finished_at = shared.clock.now().timestamp() as f64;
    for report in &reports {
        // Each scope's own duration is not kept; the job's wall time
        // divided evenly is the honest figure we have.
        shared
            .metrics
            .observe_scan(report, elapsed / reports.len() as f64, finished_at);
    }
    let completed = retry(
        Backoff::new(Duration::from_millis(250), Duration::from_secs(15)),
        || shared.store.complete_job(&job, shared.clock.now()),
        |e, delay| {
            if !e.is_transient() || shared.stopping.load(Ordering::Relaxed) {
                return ControlFlow::Break(());
            }
            shared.metrics.store_error();
            warn!(error = %e, retry_in = ?delay, "cannot mark the job done yet");
            ControlFlow::Continue(())
        },
    )
    .await;
    match completed {
        Ok(true) => {
            shared.metrics.job("completed");
            info!(scopes = reports.len(), seconds = elapsed, "job completed");
        }
        Ok(false) => {
            shared.metrics.job("lost");
            warn!("job was taken over before it completed");
        }
        Err(e) => {
            shared.metrics.job("failed");
            error!(error = %e, "cannot mark the job done; its scans are recorded");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_fan_out_per_account_entry_and_known_region() {
        let config: Config = toml::from_str(
            r#"
            [aws]
            default_regions = ["us-east-1", "eu-west-1"]
            [[accounts]]
            name = "prod"
            [[accounts]]
            name = "everywhere"
            regions = ["all"]
            [[accounts]]
            name = "org"
            organization = { role_name = "audit" }
            "#,
        )
        .expect("config");
        let targets = |collector| {
            job_targets(&config, collector)
                .into_iter()
                .map(|(a, r)| format!("{a}/{r}"))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            targets("ecr"),
            vec!["prod/us-east-1", "prod/eu-west-1", "everywhere/*", "org/*"]
        );
        assert_eq!(targets("s3"), vec!["prod/*", "everywhere/*", "org/*"]);
    }
}
