//! The daemon's HTTP endpoint: liveness, readiness, Prometheus metrics and a
//! read-only JSON API over findings and drift.
//!
//! Loopback by default. Bound anywhere else it refuses to start without a
//! bearer token, and then every route but `/healthz` and `/readyz`
//! requires it: orchestrators' probes (Kubernetes `httpGet`) cannot send
//! a secret, and readiness says only whether this replica can work.

use crate::clock::Clock;
use crate::evaluate::FindingStatus;
use crate::metrics::Metrics;
use crate::store::{DriftCursor, DriftFilter, FindingCursor, FindingFilter, Store, encode_cursor};
use axum::extract::{Query, Request, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::json;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum HttpError {
    #[error(
        "http.bind {addr} is not a loopback address: set a bearer token in DRIFTWATCH_HTTP_TOKEN or http.token_file"
    )]
    TokenRequired { addr: SocketAddr },
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot read the bearer token from {path}: {source}")]
    TokenFile {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

#[derive(Clone)]
pub struct ApiState {
    pub store: Store,
    pub metrics: Arc<Metrics>,
    /// Jobs waiting this long with no replica taking them make us not ready.
    pub stuck_after: Duration,
    pub token: Option<Arc<str>>,
    /// Stuck leases and the outbox's age are judged by this clock.
    pub clock: Clock,
}

/// The bearer token: the environment first, then the file.
pub fn load_token(
    from_env: Option<String>,
    file: Option<&std::path::Path>,
) -> Result<Option<String>, HttpError> {
    if let Some(token) = from_env
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
    {
        return Ok(Some(token));
    }
    let Some(path) = file else {
        return Ok(None);
    };
    let text = std::fs::read_to_string(path).map_err(|source| HttpError::TokenFile {
        path: path.display().to_string(),
        source,
    })?;
    Ok(text
        .lines()
        .next()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_string))
}

pub fn router(state: ApiState) -> Router {
    let protected = Router::new()
        .route("/metrics", get(metrics))
        .route("/api/findings", get(findings))
        .route("/api/drift", get(drift))
        .route_layer(middleware::from_fn_with_state(state.clone(), require_token));
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .merge(protected)
        .with_state(state)
}

/// Binds `addr` (refusing a non-loopback address without a token) and
/// returns the listener, so that the caller knows the port before serving.
pub async fn bind(
    addr: SocketAddr,
    token: Option<&str>,
) -> Result<tokio::net::TcpListener, HttpError> {
    if !addr.ip().is_loopback() && token.is_none() {
        return Err(HttpError::TokenRequired { addr });
    }
    tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| HttpError::Bind { addr, source })
}

async fn require_token(
    State(state): State<ApiState>,
    headers: HeaderMap,
    request: Request,
    next: Next,
) -> Response {
    let Some(expected) = &state.token else {
        return next.run(request).await;
    };
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    if presented.is_some_and(|p| constant_time_eq(p.as_bytes(), expected.as_bytes())) {
        next.run(request).await
    } else {
        (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
            "a bearer token is required\n",
        )
            .into_response()
    }
}

/// Compares without an early exit, so response time says nothing about how
/// much of a guess was right.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// `?scope=replica`: only what this replica needs to work (the database,
/// its migrations), for orchestrators' readiness probes.
#[derive(Debug, Deserialize)]
struct ReadyQuery {
    scope: Option<String>,
}

async fn readyz(State(state): State<ApiState>, Query(query): Query<ReadyQuery>) -> Response {
    let fleet = match query.scope.as_deref() {
        None | Some("fleet") => true,
        Some("replica") => false,
        Some(other) => {
            return (
                StatusCode::BAD_REQUEST,
                format!("scope={other}: expected replica or fleet\n"),
            )
                .into_response();
        }
    };
    match state
        .store
        .readiness(state.stuck_after, state.clock.now(), fleet)
        .await
    {
        Ok(problems) if problems.is_empty() => (StatusCode::OK, "ready\n").into_response(),
        Ok(problems) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("not ready: {}\n", problems.join("; ")),
        )
            .into_response(),
        Err(error) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("not ready: {error}\n"),
        )
            .into_response(),
    }
}

async fn metrics(State(state): State<ApiState>) -> Response {
    let stored = state.store.stored_figures(state.clock.now()).await.ok();
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics.render(stored.as_ref()),
    )
        .into_response()
}

/// A page of a listing: rows in the body (a JSON array, as before paging),
/// the next page in `Link: <…>; rel="next"` and `X-Next-Cursor` when the
/// page is full.
const DEFAULT_PAGE: i64 = 1000;
const MAX_PAGE: i64 = 10_000;

/// `limit` and `cursor` of a listing's query, or what is wrong with them.
fn paging<T: serde::de::DeserializeOwned>(
    limit: Option<i64>,
    cursor: Option<&str>,
) -> Result<(i64, Option<T>), String> {
    let limit = match limit {
        None => DEFAULT_PAGE,
        Some(limit) if (1..=MAX_PAGE).contains(&limit) => limit,
        Some(_) => return Err(format!("limit: must be between 1 and {MAX_PAGE}")),
    };
    let after = cursor
        .map(crate::store::decode_cursor)
        .transpose()
        .map_err(|message| format!("cursor: {message}"))?;
    Ok((limit, after))
}

fn page<T: serde::Serialize>(uri: &Uri, rows: &[T], limit: i64, next: Option<String>) -> Response {
    let mut response = Json(rows).into_response();
    let Some(next) = next.filter(|_| rows.len() as i64 == limit) else {
        return response;
    };
    let kept: Vec<&str> = uri
        .query()
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty() && !p.starts_with("cursor="))
        .collect();
    let mut query = kept.join("&");
    if !query.is_empty() {
        query.push('&');
    }
    let link = format!("<{}?{query}cursor={next}>; rel=\"next\"", uri.path());
    for (name, value) in [("link", link), ("x-next-cursor", next)] {
        if let Ok(value) = header::HeaderValue::from_str(&value) {
            response.headers_mut().insert(name, value);
        }
    }
    response
}

#[derive(Debug, Deserialize)]
struct FindingsQuery {
    status: Option<String>,
    control: Option<String>,
    account: Option<String>,
    arn: Option<String>,
    limit: Option<i64>,
    cursor: Option<String>,
}

async fn findings(
    State(state): State<ApiState>,
    uri: Uri,
    Query(q): Query<FindingsQuery>,
) -> Response {
    let status = match q.status.as_deref().map(str::parse::<FindingStatus>) {
        None => None,
        Some(Ok(status)) => Some(status),
        Some(Err(message)) => return bad_request(format!("status: {message}")),
    };
    let (limit, after) = match paging(q.limit, q.cursor.as_deref()) {
        Ok(paging) => paging,
        Err(message) => return bad_request(message),
    };
    let filter = FindingFilter {
        status,
        control_id: q.control,
        account_id: q.account,
        arn: q.arn,
        after,
        limit: Some(limit),
        as_of: Some(state.clock.now()),
    };
    match state.store.findings(&filter).await {
        Ok(rows) => {
            let next = rows.last().map(|r| encode_cursor(&FindingCursor::after(r)));
            page(&uri, &rows, limit, next)
        }
        Err(error) => unavailable(&error),
    }
}

#[derive(Debug, Deserialize)]
struct DriftQuery {
    since: Option<DateTime<Utc>>,
    arn: Option<String>,
    limit: Option<i64>,
    cursor: Option<String>,
}

async fn drift(State(state): State<ApiState>, uri: Uri, Query(q): Query<DriftQuery>) -> Response {
    let (limit, after) = match paging(q.limit, q.cursor.as_deref()) {
        Ok(paging) => paging,
        Err(message) => return bad_request(message),
    };
    let filter = DriftFilter {
        since: q.since,
        arn: q.arn,
        limit,
        after,
    };
    match state.store.drift_events(&filter).await {
        Ok(rows) => {
            let next = rows.last().map(|r| encode_cursor(&DriftCursor::after(r)));
            page(&uri, &rows, limit, next)
        }
        Err(error) => unavailable(&error),
    }
}

fn bad_request(message: String) -> Response {
    (StatusCode::BAD_REQUEST, Json(json!({ "error": message }))).into_response()
}

fn unavailable(error: &crate::store::StoreError) -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        Json(json!({ "error": error.to_string() })),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_compare_exactly() {
        assert!(constant_time_eq(b"secret", b"secret"));
        assert!(!constant_time_eq(b"secret", b"secreT"));
        assert!(!constant_time_eq(b"secret", b"secret-longer"));
    }

    #[test]
    fn the_environment_token_wins_over_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("token");
        std::fs::write(&path, "from-file\nsecond line\n").expect("write");
        assert_eq!(
            load_token(Some("from-env".into()), Some(&path)).expect("token"),
            Some("from-env".into())
        );
        assert_eq!(
            load_token(None, Some(&path)).expect("token"),
            Some("from-file".into())
        );
        assert_eq!(load_token(Some("  ".into()), None).expect("token"), None);
        let missing = load_token(None, Some(&dir.path().join("nope")));
        assert!(matches!(missing, Err(HttpError::TokenFile { .. })));
    }
}
