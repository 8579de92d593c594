//! A PagerDuty Events API v2 receiver on loopback: validates every event
//! against the API's rules (what PagerDuty answers 400 for), keeps the
//! accepted ones in arrival order, and can be told to fail: 429 with
//! Retry-After, 500, or hang without answering.

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// 429 with `Retry-After: <seconds>`.
    RateLimited(u64),
    ServerError,
    /// Accept the connection and never answer.
    Hang,
    /// Answer 202 with a body that never ends (the event is not kept).
    EndlessAnswer,
}

#[derive(Debug, Clone)]
pub struct Received {
    pub event: Value,
    /// The headers that came with it.
    pub content_type: Option<String>,
}

#[derive(Default)]
struct Inner {
    /// Faults for the next requests, in order; then `always` if set.
    next: VecDeque<Fault>,
    always: Option<Fault>,
    accepted: Vec<Received>,
    rejected: Vec<(Value, String)>,
    attempts: usize,
    hanging: usize,
    /// Bodies over this many bytes are refused (PagerDuty: 400; webhook:
    /// 413), as a receiver with a smaller limit than ours would.
    max_body: Option<usize>,
}

#[derive(Clone, Default)]
pub struct Receiver {
    inner: Arc<Mutex<Inner>>,
}

pub struct Running {
    pub receiver: Receiver,
    pub addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Running {
    pub fn url(&self) -> String {
        format!("http://{}/v2/enqueue", self.addr)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Receiver {
    pub async fn start() -> Running {
        let receiver = Receiver::default();
        let app = Router::new()
            .route("/v2/enqueue", post(enqueue))
            .route("/hook", post(webhook))
            .layer(axum::extract::DefaultBodyLimit::disable())
            .with_state(receiver.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("binding the receiver on loopback");
        let addr = listener.local_addr().expect("receiver address");
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Running {
            receiver,
            addr,
            task,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn fail_next(&self, faults: &[Fault]) {
        self.lock().next.extend(faults.iter().copied());
    }

    pub fn fail_always(&self, fault: Option<Fault>) {
        self.lock().always = fault;
    }

    /// Refuses bodies over `bytes`; without a call, PagerDuty's 512 KB.
    pub fn limit_body(&self, bytes: usize) {
        self.lock().max_body = Some(bytes);
    }

    fn too_large(&self, body: &Bytes) -> bool {
        body.len() > self.lock().max_body.unwrap_or(PAGERDUTY_MAX_EVENT_BYTES)
    }

    pub fn accepted(&self) -> Vec<Value> {
        self.lock()
            .accepted
            .iter()
            .map(|r| r.event.clone())
            .collect()
    }

    pub fn received(&self) -> Vec<Received> {
        self.lock().accepted.clone()
    }

    pub fn rejected(&self) -> Vec<(Value, String)> {
        self.lock().rejected.clone()
    }

    pub fn attempts(&self) -> usize {
        self.lock().attempts
    }

    pub fn hanging(&self) -> usize {
        self.lock().hanging
    }

    /// (event_action, dedup_key) of every accepted event, in order.
    pub fn actions(&self) -> Vec<(String, String)> {
        self.accepted()
            .iter()
            .map(|e| {
                (
                    e["event_action"].as_str().unwrap_or("").to_string(),
                    e["dedup_key"].as_str().unwrap_or("").to_string(),
                )
            })
            .collect()
    }

    /// Waits until `n` events were accepted.
    pub async fn wait_for(&self, n: usize, within: Duration) -> Vec<Value> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let accepted = self.accepted();
            if accepted.len() >= n || tokio::time::Instant::now() > deadline {
                return accepted;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn accept(&self, event: Value, headers: &HeaderMap) {
        let content_type = headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        self.lock().accepted.push(Received {
            event,
            content_type,
        });
    }

    fn take_fault(&self) -> Option<Fault> {
        let mut inner = self.lock();
        inner.attempts += 1;
        inner.next.pop_front().or(inner.always)
    }
}

/// PagerDuty's documented event size limit.
pub const PAGERDUTY_MAX_EVENT_BYTES: usize = 512_000;

/// What PagerDuty's Events API v2 refuses with 400.
pub fn validate_event(event: &Value) -> Result<(), String> {
    let key = event["routing_key"].as_str().unwrap_or("");
    if key.len() != 32 {
        return Err(format!(
            "routing_key must be 32 characters, got {}",
            key.len()
        ));
    }
    let action = event["event_action"].as_str().unwrap_or("");
    if !["trigger", "acknowledge", "resolve"].contains(&action) {
        return Err(format!("event_action `{action}` is invalid"));
    }
    let dedup = event["dedup_key"].as_str();
    if dedup.is_some_and(|d| d.len() > 255) {
        return Err("dedup_key is longer than 255 characters".into());
    }
    if action != "trigger" {
        return match dedup {
            Some(d) if !d.is_empty() => Ok(()),
            _ => Err(format!("{action} requires a dedup_key")),
        };
    }
    let payload = &event["payload"];
    let summary = payload["summary"].as_str().unwrap_or("");
    if summary.is_empty() || summary.chars().count() > 1024 {
        return Err("payload.summary must be 1..1024 characters".into());
    }
    if payload["source"].as_str().is_none_or(str::is_empty) {
        return Err("payload.source is required".into());
    }
    let severity = payload["severity"].as_str().unwrap_or("");
    if !["critical", "error", "warning", "info"].contains(&severity) {
        return Err(format!("payload.severity `{severity}` is invalid"));
    }
    if let Some(ts) = payload.get("timestamp").and_then(Value::as_str)
        && chrono::DateTime::parse_from_rfc3339(ts).is_err()
    {
        return Err(format!("payload.timestamp `{ts}` is not ISO 8601"));
    }
    for field in ["component", "group", "class"] {
        if payload.get(field).is_some_and(|v| !v.is_string()) {
            return Err(format!("payload.{field} must be a string"));
        }
    }
    if let Some(links) = event.get("links") {
        let ok = links
            .as_array()
            .is_some_and(|l| l.iter().all(|l| l["href"].is_string()));
        if !ok {
            return Err("links must be [{href, text}]".into());
        }
    }
    Ok(())
}

async fn faulted(receiver: &Receiver) -> Option<Response> {
    match receiver.take_fault()? {
        Fault::RateLimited(seconds) => Some(
            (
                StatusCode::TOO_MANY_REQUESTS,
                [("retry-after", seconds.to_string())],
                "{\"status\":\"throttle event\"}",
            )
                .into_response(),
        ),
        Fault::ServerError => {
            Some((StatusCode::INTERNAL_SERVER_ERROR, "upstream failure").into_response())
        }
        Fault::Hang => {
            receiver.lock().hanging += 1;
            tokio::time::sleep(Duration::from_secs(3600)).await;
            Some(StatusCode::GATEWAY_TIMEOUT.into_response())
        }
        Fault::EndlessAnswer => {
            let chunk = axum::body::Bytes::from(vec![b'x'; 64 * 1024]);
            let endless =
                futures_util::stream::repeat_with(move || Ok::<_, std::io::Error>(chunk.clone()));
            Some((StatusCode::ACCEPTED, axum::body::Body::from_stream(endless)).into_response())
        }
    }
}

async fn enqueue(State(receiver): State<Receiver>, headers: HeaderMap, body: Bytes) -> Response {
    if let Some(response) = faulted(&receiver).await {
        return response;
    }
    if receiver.too_large(&body) {
        receiver
            .lock()
            .rejected
            .push((Value::Null, format!("{} bytes", body.len())));
        return (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({"status": "invalid event", "message": "Event object is invalid", "errors": ["Event is too large"]})),
        )
            .into_response();
    }
    let event: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => {
            return (StatusCode::BAD_REQUEST, format!("invalid JSON: {e}")).into_response();
        }
    };
    if let Err(message) = validate_event(&event) {
        receiver.lock().rejected.push((event, message.clone()));
        return (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({"status": "invalid event", "message": "Event object is invalid", "errors": [message]})),
        )
            .into_response();
    }
    let dedup_key = event["dedup_key"].clone();
    receiver.accept(event, &headers);
    (
        StatusCode::ACCEPTED,
        axum::Json(
            json!({"status": "success", "message": "Event processed", "dedup_key": dedup_key}),
        ),
    )
        .into_response()
}

/// A generic JSON webhook (Slack-like): accepts any object with `text`.
async fn webhook(State(receiver): State<Receiver>, headers: HeaderMap, body: Bytes) -> Response {
    if let Some(response) = faulted(&receiver).await {
        return response;
    }
    if receiver.too_large(&body) {
        receiver
            .lock()
            .rejected
            .push((Value::Null, format!("{} bytes", body.len())));
        return (StatusCode::PAYLOAD_TOO_LARGE, "payload too large").into_response();
    }
    match serde_json::from_slice::<Value>(&body) {
        Ok(event) if event["text"].is_string() => {
            receiver.accept(event, &headers);
            (StatusCode::OK, "ok").into_response()
        }
        _ => (StatusCode::BAD_REQUEST, "invalid_payload").into_response(),
    }
}
