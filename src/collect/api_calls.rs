//! Every AWS API attempt the collectors make, counted per service and
//! outcome by an SDK interceptor: the throttles and errors the SDK retried
//! away are visible here, not only the ones that reached a scan record.

use aws_sdk_s3::config::interceptors::FinalizerInterceptorContextRef;
use aws_sdk_s3::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_s3::error::BoxError;
use std::collections::BTreeMap;
use std::sync::{Mutex, OnceLock};

/// (service, outcome) → attempts, for the whole process.
fn counts() -> &'static Mutex<BTreeMap<(&'static str, &'static str), u64>> {
    static COUNTS: OnceLock<Mutex<BTreeMap<(&'static str, &'static str), u64>>> = OnceLock::new();
    COUNTS.get_or_init(Mutex::default)
}

type OperationKey = (&'static str, String, &'static str);

/// (service, operation, outcome) → attempts: which calls a scan needs.
fn operation_counts() -> &'static Mutex<BTreeMap<OperationKey, u64>> {
    static COUNTS: OnceLock<Mutex<BTreeMap<OperationKey, u64>>> = OnceLock::new();
    COUNTS.get_or_init(Mutex::default)
}

/// Attempts so far per operation: (service, operation, outcome, count).
pub fn operations() -> Vec<(&'static str, String, &'static str, u64)> {
    operation_counts()
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .iter()
        .map(|((service, operation, outcome), n)| (*service, operation.clone(), *outcome, *n))
        .collect()
}

/// Attempts so far: (service, outcome, count), sorted. Outcomes: `ok`,
/// `not_found` (the documented "no such configuration" answers),
/// `throttle`, `access_denied`, `client_error`, `server_error`,
/// `transport_error` (no HTTP response: timeout, connection refused).
pub fn snapshot() -> Vec<(&'static str, &'static str, u64)> {
    counts()
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .iter()
        .map(|((service, outcome), n)| (*service, *outcome, *n))
        .collect()
}

/// The interceptor a collector's client carries; `service` labels it.
#[derive(Debug, Clone, Copy)]
pub struct CountCalls(pub &'static str);

/// Error codes (and message phrases) AWS uses for throttling and for a
/// refusal, across its protocols. Substrings: `Throttling` also matches
/// `ThrottlingException`.
const THROTTLING: [&str; 6] = [
    "Throttling",
    "TooManyRequests",
    "RequestLimitExceeded",
    "SlowDown",
    "ProvisionedThroughputExceeded",
    "Rate exceeded",
];

const DENIED: [&str; 4] = [
    "AccessDenied",
    "UnauthorizedOperation",
    "AuthorizationError",
    "not authorized",
];

/// `throttle` or `access_denied` when `text` (an error code, body or
/// recorded message) names one; the one classification the interceptor and
/// the scan metrics share.
pub(crate) fn error_text_kind(text: &str) -> Option<&'static str> {
    if THROTTLING.iter().any(|t| text.contains(t)) {
        Some("throttle")
    } else if DENIED.iter().any(|t| text.contains(t)) {
        Some("access_denied")
    } else {
        None
    }
}

/// Classifies one HTTP answer. Query and XML protocols name the error only
/// in the body, which the SDK has read in full for these operations.
fn classify(status: u16, error_type: Option<&str>, body: Option<&[u8]>) -> &'static str {
    if status < 300 {
        return "ok";
    }
    let body = body.map(String::from_utf8_lossy).unwrap_or_default();
    let named = error_type
        .and_then(error_text_kind)
        .or_else(|| error_text_kind(&body));
    if status == 429 || named == Some("throttle") {
        "throttle"
    } else if status == 403 || named == Some("access_denied") {
        "access_denied"
    } else if status == 404 || names_not_found(error_type, &body) {
        // JSON protocols answer "no such configuration" with a 400 and a
        // `...NotFoundException` type (ECR's LifecyclePolicyNotFound).
        "not_found"
    } else if status >= 500 {
        "server_error"
    } else {
        "client_error"
    }
}

fn names_not_found(error_type: Option<&str>, body: &str) -> bool {
    let not_found = |text: &str| text.contains("NotFoundException") || text.contains("NoSuch");
    error_type.is_some_and(not_found) || not_found(body)
}

impl Intercept for CountCalls {
    fn name(&self) -> &'static str {
        "driftwatch::CountCalls"
    }

    fn read_after_attempt(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let outcome = match context.response() {
            Some(response) => classify(
                response.status().as_u16(),
                response.headers().get("x-amzn-errortype"),
                response.body().bytes(),
            ),
            None => "transport_error",
        };
        *counts()
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry((self.0, outcome))
            .or_default() += 1;
        let operation = cfg
            .load::<aws_smithy_runtime_api::client::orchestrator::Metadata>()
            .map(|m| m.name().to_string())
            .unwrap_or_else(|| "unknown".to_string());
        *operation_counts()
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry((self.0, operation, outcome))
            .or_default() += 1;
        Ok(())
    }
}

/// A client of `$krate` for `$config`, counting its calls as `$service`.
#[macro_export]
#[doc(hidden)]
macro_rules! counted_client {
    ($krate:ident, $service:literal, $config:expr) => {
        $krate::Client::from_conf(
            $krate::config::Builder::from($config)
                .interceptor($crate::collect::api_calls::CountCalls($service))
                .build(),
        )
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_classified_as_aws_reports_them() {
        assert_eq!(classify(200, None, None), "ok");
        assert_eq!(classify(429, None, None), "throttle");
        assert_eq!(
            classify(400, Some("ThrottlingException:"), Some(b"{}")),
            "throttle"
        );
        assert_eq!(
            classify(
                400,
                None,
                Some(b"<ErrorResponse><Error><Code>Throttling</Code></Error></ErrorResponse>")
            ),
            "throttle"
        );
        assert_eq!(
            classify(503, None, Some(b"<Error><Code>SlowDown</Code></Error>")),
            "throttle"
        );
        assert_eq!(
            classify(
                403,
                None,
                Some(b"<Response><Errors><Error><Code>UnauthorizedOperation</Code>")
            ),
            "access_denied"
        );
        assert_eq!(
            classify(404, None, Some(b"<Error><Code>NoSuchBucketPolicy</Code>")),
            "not_found"
        );
        assert_eq!(
            classify(
                400,
                Some("LifecyclePolicyNotFoundException"),
                Some(b"{\"__type\":\"LifecyclePolicyNotFoundException\"}")
            ),
            "not_found"
        );
        assert_eq!(classify(500, None, None), "server_error");
        assert_eq!(
            classify(400, None, Some(b"ValidationError")),
            "client_error"
        );
    }
}
