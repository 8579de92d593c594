//! Alert destinations: their secrets, their wire formats, and one HTTP
//! delivery attempt classified into what the sender does next.

use super::fit;
use crate::config::{AlertsConfig, SinkConfig, SinkKind};
use crate::store::alerts::IncidentAction;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use thiserror::Error;
use tracing::warn;

pub const PAGERDUTY_EVENTS_URL: &str = "https://events.pagerduty.com/v2/enqueue";

/// A secret value: never printed, whatever formats it.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(..)")
    }
}

#[derive(Debug, Error)]
pub enum SinkError {
    #[error("alerts.sinks.{sink}.{field}: environment variable {var} is not set or empty")]
    MissingEnv {
        sink: String,
        field: &'static str,
        var: String,
    },
    #[error("alerts.sinks.{sink}.{field}: cannot read {path}: {source}")]
    File {
        sink: String,
        field: &'static str,
        path: String,
        source: std::io::Error,
    },
    #[error("alerts.sinks.{sink}.{field}: {path} is empty")]
    EmptyFile {
        sink: String,
        field: &'static str,
        path: String,
    },
    #[error("alerts.sinks.{sink}.url: the URL from {origin} must start with http:// or https://")]
    BadUrl { sink: String, origin: &'static str },
}

#[derive(Debug, Clone)]
pub struct Sink {
    pub name: String,
    pub kind: SinkKind,
    /// Where events are posted (secret for webhooks whose URL holds a token).
    url: Secret,
    routing_key: Option<Secret>,
    /// Bodies are cut to this many bytes (see `fit`).
    pub max_body_bytes: usize,
}

/// Every configured sink with its secrets loaded, so that a missing key is
/// a start-up error, not a silent loss at 3 a.m.
#[derive(Debug, Clone, Default)]
pub struct Sinks {
    by_name: BTreeMap<String, Sink>,
}

impl Sinks {
    pub fn load(
        config: &AlertsConfig,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Sinks, SinkError> {
        let mut by_name = BTreeMap::new();
        for (name, sink) in &config.sinks {
            by_name.insert(name.clone(), load_sink(name, sink, &env)?);
        }
        Ok(Sinks { by_name })
    }

    pub fn get(&self, name: &str) -> Option<&Sink> {
        self.by_name.get(name)
    }

    pub fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }
}

fn secret_from(
    sink: &str,
    field: &'static str,
    var: Option<&String>,
    file: Option<&Path>,
    env: &impl Fn(&str) -> Option<String>,
) -> Result<Option<Secret>, SinkError> {
    if let Some(var) = var {
        return env(var)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
            .map(|v| Some(Secret(v)))
            .ok_or_else(|| SinkError::MissingEnv {
                sink: sink.to_string(),
                field,
                var: var.clone(),
            });
    }
    let Some(path) = file else {
        return Ok(None);
    };
    let text = std::fs::read_to_string(path).map_err(|source| SinkError::File {
        sink: sink.to_string(),
        field,
        path: path.display().to_string(),
        source,
    })?;
    text.lines()
        .next()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(|t| Some(Secret(t.to_string())))
        .ok_or_else(|| SinkError::EmptyFile {
            sink: sink.to_string(),
            field,
            path: path.display().to_string(),
        })
}

fn load_sink(
    name: &str,
    config: &SinkConfig,
    env: &impl Fn(&str) -> Option<String>,
) -> Result<Sink, SinkError> {
    let secret_url = secret_from(
        name,
        if config.url_env.is_some() {
            "url_env"
        } else {
            "url_file"
        },
        config.url_env.as_ref(),
        config.url_file.as_deref(),
        env,
    )?;
    if let Some(url) = &secret_url
        && !(url.0.starts_with("http://") || url.0.starts_with("https://"))
    {
        return Err(SinkError::BadUrl {
            sink: name.to_string(),
            origin: if config.url_env.is_some() {
                "url_env"
            } else {
                "url_file"
            },
        });
    }
    let url = match (secret_url, &config.url, config.kind) {
        (Some(url), _, _) => url,
        (None, Some(url), _) => Secret(url.clone()),
        (None, None, _) => Secret(PAGERDUTY_EVENTS_URL.to_string()),
    };
    let routing_key = match config.kind {
        SinkKind::Pagerduty => secret_from(
            name,
            if config.routing_key_env.is_some() {
                "routing_key_env"
            } else {
                "routing_key_file"
            },
            config.routing_key_env.as_ref(),
            config.routing_key_file.as_deref(),
            env,
        )?,
        SinkKind::Webhook => None,
    };
    let (default_cap, ceiling) = match config.kind {
        SinkKind::Pagerduty => (
            fit::PAGERDUTY_MAX_EVENT_BYTES,
            fit::PAGERDUTY_MAX_EVENT_BYTES,
        ),
        SinkKind::Webhook => (fit::DEFAULT_WEBHOOK_MAX_BYTES, usize::MAX),
    };
    Ok(Sink {
        name: name.to_string(),
        kind: config.kind,
        url,
        routing_key,
        max_body_bytes: config
            .max_body_bytes
            .map_or(default_cap, |cap| cap.try_into().unwrap_or(usize::MAX))
            .min(ceiling),
    })
}

/// PagerDuty's severities: critical, error, warning, info.
pub fn pagerduty_severity(ours: &str) -> &'static str {
    match ours {
        "critical" => "critical",
        "high" => "error",
        "medium" => "warning",
        _ => "info",
    }
}

fn truncate(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    format!("{}...", fit::prefix(text, max.saturating_sub(3)))
}

/// The Events API v2 body, without the routing key (added at send time so
/// it never sits in the database).
pub fn pagerduty_event(dedup_key: &str, action: IncidentAction, alert: &Value) -> Value {
    if action == IncidentAction::Resolve {
        return json!({ "event_action": "resolve", "dedup_key": dedup_key });
    }
    let text = |v: &Value| v.as_str().unwrap_or("").to_string();
    let resource = &alert["resource"];
    let mut event = json!({
        "event_action": "trigger",
        "dedup_key": dedup_key,
        "client": "driftwatch",
        "payload": {
            // The API refuses summaries over 1024 characters.
            "summary": truncate(&text(&alert["summary"]), 1024),
            "source": text(&resource["arn"]),
            "severity": pagerduty_severity(alert["severity"].as_str().unwrap_or("")),
            "timestamp": alert["decided_at"],
            "component": text(&resource["name"]),
            "group": format!("{}/{}", text(&resource["account_name"]), text(&resource["region"])),
            "class": text(&alert["control_id"]),
            "custom_details": {
                "control": alert["control_id"],
                "control_title": alert["control_title"],
                "soc2": alert["soc2"],
                "pci_dss": alert["pci_dss"],
                "resource": resource,
                "status": alert["status"],
                "status_since": alert["status_since"],
                "evidence": alert["evidence"],
                "drift": alert["drift"],
                "changed_by": alert["changed_by"],
            },
        },
    });
    if let Some(link) = alert["link"].as_str() {
        event["links"] = json!([{ "href": link, "text": "Finding in driftwatch" }]);
        event["client_url"] = json!(link);
    }
    event
}

/// A generic webhook body; `text` makes it readable in Slack as is.
pub fn webhook_event(dedup_key: &str, action: IncidentAction, alert: &Value) -> Value {
    let summary = alert["summary"].as_str().unwrap_or("");
    let marker = match action {
        IncidentAction::Trigger => "[FAIL]",
        IncidentAction::Resolve => "[RESOLVED]",
    };
    json!({
        "text": format!("{marker} {summary}"),
        "event_action": action,
        "dedup_key": dedup_key,
        "alert": alert,
    })
}

/// What one delivery attempt came to.
#[derive(Debug, Clone, PartialEq)]
pub enum Delivery {
    Delivered {
        status: u16,
        body: String,
    },
    /// Worth retrying: 429, 5xx, 408, a timeout or a connection failure.
    Retry {
        error: String,
        status: Option<u16>,
        body: Option<String>,
        retry_after: Option<Duration>,
    },
    /// The receiver refused this event for good (400 and other 4xx).
    Rejected {
        status: u16,
        body: String,
    },
}

type HttpsClient = Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>;

/// One HTTP client for every sink (rustls, the same crypto provider as the
/// AWS SDK and sqlx).
#[derive(Clone)]
pub struct Deliverer {
    client: HttpsClient,
    timeout: Duration,
}

impl Deliverer {
    pub fn new(timeout: Duration) -> Result<Deliverer, String> {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let mut roots = rustls::RootCertStore::empty();
        // A host without system certificates can still page over plain
        // http (tests, a local relay); https then fails per attempt.
        for cert in rustls_native_certs::load_native_certs().certs {
            let _ = roots.add(cert);
        }
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("TLS setup: {e}"))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .build();
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .build(connector);
        Ok(Deliverer { client, timeout })
    }

    /// Posts one outbox entry to its sink, cut to the sink's size cap. A
    /// receiver that refuses a large one with a 4xx that may be about its
    /// size (400, 413, 422) gets it again in its minimal form, so no page
    /// is lost to the size of its evidence.
    pub async fn deliver(
        &self,
        sink: &Sink,
        dedup_key: &str,
        action: IncidentAction,
        alert: &Value,
    ) -> Delivery {
        let (mut body, details) = match sink.kind {
            SinkKind::Pagerduty => (
                pagerduty_event(dedup_key, action, alert),
                "/payload/custom_details",
            ),
            SinkKind::Webhook => (webhook_event(dedup_key, action, alert), "/alert"),
        };
        if let Some(key) = &sink.routing_key {
            body["routing_key"] = json!(key.expose());
        }
        let whole_at = fit::whole_finding_at(alert);
        let fitted = fit::fit(&mut body, details, sink.max_body_bytes, &whole_at);
        if fitted != fit::Fitted::Whole {
            warn!(sink = %sink.name, dedup_key, ?fitted, cap = sink.max_body_bytes, "alert cut to the sink's size limit");
        }
        let sent = body.to_string();
        let sent_bytes = sent.len();
        let delivery = self.post(sink, sent).await;
        // No receiver worth paging refuses 16 KiB for its size: a smaller
        // body's refusal is about its content and is recorded as it is.
        let can_shrink = sent_bytes > fit::SMALLEST_CAP
            && fitted != fit::Fitted::Minimal
            && body.pointer(details).is_some();
        let (status, said) = match delivery {
            Delivery::Rejected {
                status: status @ (400 | 413 | 422),
                body,
            } if can_shrink => (status, body),
            other => return other,
        };
        warn!(sink = %sink.name, dedup_key, status, response = %said, "alert refused; sending it again without evidence");
        fit::minimal(&mut body, details, sink.max_body_bytes, &whole_at);
        match self.post(sink, body.to_string()).await {
            Delivery::Delivered { status: ok, body } => Delivery::Delivered {
                status: ok,
                body: format!("sent without evidence after HTTP {status} ({said}); {body}"),
            },
            other => other,
        }
    }

    async fn post(&self, sink: &Sink, body: String) -> Delivery {
        let request = hyper::Request::post(sink.url.expose())
            .header(hyper::header::CONTENT_TYPE, "application/json")
            .header(
                hyper::header::USER_AGENT,
                concat!("driftwatch/", env!("CARGO_PKG_VERSION")),
            )
            .body(Full::new(Bytes::from(body)));
        let request = match request {
            Ok(request) => request,
            Err(e) => {
                return Delivery::Rejected {
                    status: 0,
                    body: format!("cannot build a request for sink {}: {e}", sink.name),
                };
            }
        };
        let attempt = async {
            let response = self.client.request(request).await.map_err(|e| {
                // The URL may hold a token: describe the failure, not the URL.
                let mut text = e.to_string();
                if let Some(source) = std::error::Error::source(&e) {
                    text = format!("{text}: {source}");
                }
                text
            })?;
            let status = response.status().as_u16();
            let retry_after = response
                .headers()
                .get(hyper::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(parse_retry_after);
            let body = read_capped(response.into_body(), RESPONSE_KEPT_BYTES)
                .await
                .map_err(|e| format!("reading the response: {e}"))?;
            Ok::<_, String>((status, retry_after, body))
        };
        match tokio::time::timeout(self.timeout, attempt).await {
            Err(_) => Delivery::Retry {
                error: format!("no response within {} s", self.timeout.as_secs()),
                status: None,
                body: None,
                retry_after: None,
            },
            Ok(Err(error)) => Delivery::Retry {
                error,
                status: None,
                body: None,
                retry_after: None,
            },
            Ok(Ok((status, retry_after, body))) => classify(status, retry_after, body),
        }
    }
}

/// How much of a receiver's answer is kept with the attempt.
const RESPONSE_KEPT_BYTES: usize = 4096;

/// Reads a response body up to `cap` bytes and stops there: a receiver
/// that answers with gigabytes costs 4 KiB, not the daemon's memory.
async fn read_capped<B>(mut body: B, cap: usize) -> Result<String, B::Error>
where
    B: hyper::body::Body<Data = Bytes> + Unpin,
{
    let mut kept = Vec::new();
    while kept.len() < cap {
        let Some(frame) = body.frame().await else {
            break;
        };
        if let Ok(data) = frame?.into_data() {
            let room = cap - kept.len();
            kept.extend_from_slice(&data[..data.len().min(room)]);
        }
    }
    Ok(String::from_utf8_lossy(&kept).into_owned())
}

fn classify(status: u16, retry_after: Option<Duration>, body: String) -> Delivery {
    match status {
        200..=299 => Delivery::Delivered { status, body },
        408 | 429 | 500..=599 => Delivery::Retry {
            error: format!("HTTP {status}"),
            status: Some(status),
            body: Some(body),
            retry_after,
        },
        _ => Delivery::Rejected { status, body },
    }
}

/// `Retry-After`: delta seconds, or an HTTP date.
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let when = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    // The receiver's date is on the real calendar, not the scan's clock:
    // the wait is measured against the system time it was sent by.
    let wait = when.with_timezone(&chrono::Utc) - chrono::Utc::now();
    Some(wait.to_std().unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alert() -> Value {
        json!({
            "summary": "logs fails s3.tls_only",
            "control_id": "s3.tls_only",
            "severity": "high",
            "resource": {"arn": "arn:aws:s3:::logs", "name": "logs", "account_name": "prod", "region": "us-east-1"},
            "evidence": {"policy": null},
            "decided_at": "2026-11-23T03:12:00Z",
            "link": "https://dw.example/api/findings?arn=x",
        })
    }

    #[test]
    fn pagerduty_trigger_carries_the_required_fields() {
        let event = pagerduty_event("k", IncidentAction::Trigger, &alert());
        assert_eq!(event["event_action"], "trigger");
        assert_eq!(event["payload"]["severity"], "error");
        assert_eq!(event["payload"]["source"], "arn:aws:s3:::logs");
        assert_eq!(event["payload"]["group"], "prod/us-east-1");
        assert_eq!(event["payload"]["class"], "s3.tls_only");
        assert_eq!(
            event["links"][0]["href"],
            "https://dw.example/api/findings?arn=x"
        );
        assert!(event.get("routing_key").is_none());
    }

    #[test]
    fn a_resolve_is_only_the_key() {
        assert_eq!(
            pagerduty_event("k", IncidentAction::Resolve, &alert()),
            json!({"event_action": "resolve", "dedup_key": "k"})
        );
    }

    #[test]
    fn summaries_are_cut_to_the_api_limit_on_a_char_boundary() {
        let mut long = alert();
        long["summary"] = json!("é".repeat(1000));
        let summary = pagerduty_event("k", IncidentAction::Trigger, &long)["payload"]["summary"]
            .as_str()
            .map(str::len);
        assert!(summary.is_some_and(|n| n <= 1024));
    }

    #[test]
    fn statuses_are_classified() {
        assert!(matches!(
            classify(202, None, String::new()),
            Delivery::Delivered { .. }
        ));
        assert!(
            matches!(classify(429, Some(Duration::from_secs(3)), String::new()),
            Delivery::Retry { retry_after: Some(d), .. } if d == Duration::from_secs(3))
        );
        assert!(matches!(
            classify(503, None, String::new()),
            Delivery::Retry { .. }
        ));
        assert!(matches!(
            classify(400, None, "bad".into()),
            Delivery::Rejected { status: 400, .. }
        ));
    }

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        assert_eq!(parse_retry_after("7"), Some(Duration::from_secs(7)));
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon"), None);
    }

    #[test]
    fn secrets_come_from_env_or_file_and_missing_ones_name_the_field() {
        let config: AlertsConfig =
            toml::from_str("[sinks.pd]\nkind = \"pagerduty\"\nrouting_key_env = \"PD_KEY\"\n")
                .unwrap_or_default();
        let error = Sinks::load(&config, |_| None).err().map(|e| e.to_string());
        assert_eq!(
            error.as_deref(),
            Some(
                "alerts.sinks.pd.routing_key_env: environment variable PD_KEY is not set or empty"
            )
        );
        let sinks = Sinks::load(&config, |_| Some("R0UTING".into()));
        let debug = format!("{sinks:?}");
        assert!(!debug.contains("R0UTING"), "{debug}");
    }
}
