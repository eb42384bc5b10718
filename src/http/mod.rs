//! The Function URL adapter on `lambda_http`: the [`guard`] turns the Lambda event into an
//! `http::Request` (refusing what lambda_http would panic on), [`handle_request`] routes it,
//! runs the service and builds the `http::Response`, and [`classify`] is the one place where
//! every outcome becomes a status, a response code, a log level and a metric outcome
//! (`docs/ARCHITECTURE.md`, "Responses"). No input makes this module panic or return a
//! Lambda error.

pub mod guard;

use std::collections::BTreeMap;
use std::time::Instant;

use lambda_http::{http, Body, RequestExt};

use crate::dedup::DedupStore;
use crate::destinations::{EventPublisher, Unpublishable};
use crate::headers::Headers;
use crate::senders::Provider;
use crate::service::{Invocation, Outcome, Report, Service, ServiceError};

/// A Function URL response as the in-process path ([`handle`]) returns it, for tests, tools
/// and fuzzing. (Under Lambda, lambda_http serialises the `http::Response` itself.)
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FunctionUrlResponse {
    pub status_code: u16,
    pub headers: BTreeMap<String, String>,
    pub body: String,
    pub is_base64_encoded: bool,
    /// Always sent (empty): Function URLs accept it, and emulators such as cargo-lambda's
    /// refuse a response without it.
    #[serde(default)]
    pub cookies: Vec<String>,
}

impl FunctionUrlResponse {
    /// The in-process view of `response`.
    pub fn from_http(response: &http::Response<Body>) -> Self {
        let headers = response
            .headers()
            .iter()
            .map(|(name, value)| {
                (
                    name.as_str().to_string(),
                    String::from_utf8_lossy(value.as_bytes()).into_owned(),
                )
            })
            .collect();
        Self {
            status_code: response.status().as_u16(),
            headers,
            body: String::from_utf8_lossy(response.body().as_ref()).into_owned(),
            is_base64_encoded: false,
            cookies: Vec::new(),
        }
    }

    /// The parsed JSON body (for tests and tools).
    pub fn json_body(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

/// The request-level settings the adapter enforces before the service runs.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_body_bytes: usize,
}

/// Seconds a sender is asked to wait after a 503: short, because Salesloft retries 15 s
/// apart and gives up after three retries.
const UNAVAILABLE_RETRY_AFTER_S: u64 = 5;

/// The whole path in process: the raw Lambda event through the guard and lambda_http's
/// request conversion, the handler, and the response as JSON would carry it. What the tests,
/// the fuzzers and the benchmarks call; under Lambda, `main.rs` runs the same steps with
/// lambda_http's adapter serialising the response.
pub async fn handle<D: DedupStore, P: EventPublisher>(
    service: &Service<D, P>,
    limits: Limits,
    event: serde_json::Value,
    inv: &Invocation,
) -> FunctionUrlResponse {
    let response = match guard::lambda_request(event, limits).and_then(guard::into_http) {
        Ok(request) => handle_request(service, limits, request, inv).await,
        Err(rejection) => reject(rejection),
    };
    FunctionUrlResponse::from_http(&response)
}

/// Answers (and logs) an event the guard refused.
pub fn reject(rejection: Rejection) -> http::Response<Body> {
    let started = Instant::now();
    let request = Request {
        provider: None,
        body_len: 0,
        handled: Handled::Rejected(rejection),
    };
    let class = classify(&request.handled);
    let response = respond(&request.handled, &class);
    log_delivery(&request, &class, started);
    response
}

/// Handles one request. Always returns a response; logs one JSON line.
pub async fn handle_request<D: DedupStore, P: EventPublisher>(
    service: &Service<D, P>,
    limits: Limits,
    request: lambda_http::Request,
    inv: &Invocation,
) -> http::Response<Body> {
    let started = Instant::now();
    let request = route_and_handle(service, limits, request, inv).await;
    let class = classify(&request.handled);
    let response = respond(&request.handled, &class);
    log_delivery(&request, &class, started);
    response
}

/// A request that was refused before the service ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejection {
    /// The Lambda event is not a Function URL request.
    MalformedEvent,
    NotFound,
    /// `GET /health` (answered, not refused, but it never reaches the service).
    Health,
    MethodNotAllowed {
        allow: &'static str,
    },
    InvalidBase64,
    TooLarge,
}

/// How a request ended: refused before the service, or handled by it.
#[derive(Debug)]
pub enum Handled {
    Rejected(Rejection),
    Served(Report),
}

/// What the log line knows of a request besides how it ended.
struct Request {
    provider: Option<Provider>,
    body_len: usize,
    handled: Handled,
}

/// The log level of an outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Info,
    Warn,
    Error,
}

/// The one classification of how a request ended, used by the response, the log line and
/// the metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Classification {
    pub status: u16,
    /// The code in the response body (`status` on success, `error` otherwise).
    pub code: &'static str,
    /// The outcome as the metrics count it (the `outcome` dimension): accepted, duplicate,
    /// in_progress, invalid_signature, bad_request, not_found, too_large or unavailable.
    pub outcome: &'static str,
    /// The finer reason in the log line (e.g. `dedup_unavailable`, `missing_event_type`).
    pub detail: &'static str,
    pub level: Level,
}

const fn class(
    status: u16,
    code: &'static str,
    outcome: &'static str,
    detail: &'static str,
    level: Level,
) -> Classification {
    Classification {
        status,
        code,
        outcome,
        detail,
        level,
    }
}

/// The status table (`docs/ARCHITECTURE.md`, "Responses"): every way a request can end.
pub fn classify(handled: &Handled) -> Classification {
    use Level::{Error, Info, Warn};
    const BAD: &str = "bad_request";
    match handled {
        Handled::Rejected(r) => match r {
            Rejection::MalformedEvent => {
                class(400, "malformed_request", BAD, "malformed_event", Info)
            }
            Rejection::NotFound => class(404, "not_found", "not_found", "not_found", Info),
            Rejection::Health => class(200, "ok", "health", "health", Info),
            Rejection::MethodNotAllowed { .. } => {
                class(405, "method_not_allowed", BAD, "method_not_allowed", Info)
            }
            Rejection::InvalidBase64 => {
                class(400, "invalid_base64_body", BAD, "invalid_base64_body", Info)
            }
            Rejection::TooLarge => class(
                413,
                "payload_too_large",
                "too_large",
                "payload_too_large",
                Info,
            ),
        },
        Handled::Served(report) => match &report.result {
            Ok(Outcome::Accepted) => class(202, "accepted", "accepted", "accepted", Info),
            Ok(Outcome::Duplicate) => class(200, "duplicate", "duplicate", "duplicate", Info),
            Ok(Outcome::InProgress { .. }) => {
                class(409, "in_progress", "in_progress", "in_progress", Info)
            }
            // One body for every signature failure: nothing that helps a forger.
            Err(ServiceError::Signature(_)) => class(
                401,
                "invalid_signature",
                "invalid_signature",
                "invalid_signature",
                Warn,
            ),
            Err(ServiceError::Parse(e)) => class(400, e.code(), BAD, e.code(), Info),
            // The detail of a store failure goes to the log only (never the response).
            Err(ServiceError::Dedup(_)) => class(
                503,
                "unavailable",
                "unavailable",
                "dedup_unavailable",
                Error,
            ),
            Err(ServiceError::Publish(_)) => {
                class(503, "unavailable", "unavailable", "publish_failed", Error)
            }
            Err(ServiceError::SecretsUnavailable) => class(
                503,
                "unavailable",
                "unavailable",
                "secrets_unavailable",
                Error,
            ),
            Err(ServiceError::NoDestination(_)) => {
                class(503, "unavailable", "unavailable", "no_destination", Error)
            }
            // Never deliverable: a 4xx, so the sender stops instead of retrying in vain.
            Err(ServiceError::Unpublishable(Unpublishable::TooLarge { .. })) => class(
                413,
                "payload_too_large",
                "too_large",
                "payload_too_large",
                Info,
            ),
            Err(ServiceError::Unpublishable(Unpublishable::Characters { .. })) => class(
                400,
                "unsupported_characters",
                BAD,
                "unsupported_characters",
                Info,
            ),
            // A derived id the destination would refuse is a bug of ours, not the sender's:
            // refused (no retry could help) but logged as an error.
            Err(ServiceError::Unpublishable(Unpublishable::BadId { .. })) => class(
                400,
                "unsupported_event",
                BAD,
                "invalid_destination_id",
                Error,
            ),
        },
    }
}

/// The response for `handled`, classified as `class`.
fn respond(handled: &Handled, class: &Classification) -> http::Response<Body> {
    let event_id = match handled {
        Handled::Served(report) => report.identity.as_ref().map(|i| i.event_id.as_str()),
        Handled::Rejected(_) => None,
    };
    let body = match (class.status, event_id) {
        (200 | 202, Some(event_id)) => {
            serde_json::json!({"status": class.code, "event_id": event_id})
        }
        (200..=299 | 409, _) => serde_json::json!({ "status": class.code }),
        _ => serde_json::json!({ "error": class.code }),
    };
    let extra = match handled {
        Handled::Rejected(Rejection::MethodNotAllowed { allow }) => {
            Some(("allow", allow.to_string()))
        }
        Handled::Served(Report {
            result: Ok(Outcome::InProgress { retry_after_s }),
            ..
        }) => Some(("retry-after", retry_after_s.to_string())),
        _ if class.status == 503 => Some(("retry-after", UNAVAILABLE_RETRY_AFTER_S.to_string())),
        _ => None,
    };
    let mut response = http::Response::builder()
        .status(class.status)
        .header(http::header::CONTENT_TYPE, "application/json");
    if let Some((name, value)) = extra {
        response = response.header(name, value);
    }
    // Every part is a valid static name, a status from the table and ASCII digits or a
    // method name, so building cannot fail; answer a bare 500 rather than panic if it did.
    response
        .body(Body::Text(body.to_string()))
        .unwrap_or_else(|_| {
            let mut fallback = http::Response::new(Body::Empty);
            *fallback.status_mut() = http::StatusCode::INTERNAL_SERVER_ERROR;
            fallback
        })
}

async fn route_and_handle<D: DedupStore, P: EventPublisher>(
    service: &Service<D, P>,
    limits: Limits,
    request: lambda_http::Request,
    inv: &Invocation,
) -> Request {
    let rejected = |provider, rejection| Request {
        provider,
        body_len: 0,
        handled: Handled::Rejected(rejection),
    };
    // The path as the sender sent it (lambda_http's URI is normalised: `/a/../b` is `/b`).
    let raw_path = request.raw_http_path();
    let path = if raw_path.is_empty() { "/" } else { raw_path };
    let method = request.method().as_str();
    let provider = match route(path, service) {
        None => return rejected(None, Rejection::NotFound),
        Some(Route::Health) if method.eq_ignore_ascii_case("GET") => {
            return rejected(None, Rejection::Health)
        }
        Some(Route::Health) => return rejected(None, Rejection::MethodNotAllowed { allow: "GET" }),
        Some(Route::Webhook(_)) if !method.eq_ignore_ascii_case("POST") => {
            return rejected(None, Rejection::MethodNotAllowed { allow: "POST" })
        }
        Some(Route::Webhook(p)) => p,
    };
    // A base64 body was decoded (and size-checked before decoding) by the guard.
    let body: &[u8] = request.body().as_ref();
    if body.len() > limits.max_body_bytes {
        return rejected(Some(provider), Rejection::TooLarge);
    }
    let headers = Headers::from_header_map(request.headers());
    let report = service.handle(provider, body, &headers, inv).await;
    Request {
        provider: Some(provider),
        body_len: body.len(),
        handled: Handled::Served(report),
    }
}

/// What the router decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route {
    Health,
    Webhook(Provider),
}

/// Maps paths to routes: `/health`, and each sender's paths (`Sender::PATHS`); trailing
/// slashes are ignored. A provider without a configured secret is not served (404).
fn route<D: DedupStore, P: EventPublisher>(path: &str, service: &Service<D, P>) -> Option<Route> {
    if path.trim_end_matches('/') == "/health" {
        return Some(Route::Health);
    }
    Provider::for_path(path)
        .filter(|p| service.serves(*p))
        .map(Route::Webhook)
}

fn log_delivery(request: &Request, class: &Classification, started: Instant) {
    let duration_ms = (started.elapsed().as_secs_f64() * 1_000_000.0).round() / 1000.0;
    let provider = request.provider.map(Provider::as_str).unwrap_or("");
    let (identity, reason, publish_failures, spooled) = match &request.handled {
        Handled::Served(report) => (
            report.identity.as_ref(),
            report.result.as_ref().err().map(ToString::to_string),
            match &report.result {
                Err(ServiceError::Publish(failures)) => failures.len(),
                _ => 0,
            },
            u64::from(report.spooled),
        ),
        Handled::Rejected(_) => (None, None, 0, 0),
    };
    if matches!(request.handled, Handled::Rejected(Rejection::Health)) {
        // Not a delivery: no metrics.
        tracing::info!(status = class.status, duration_ms, "health");
        return;
    }
    let event_type = identity.map(|i| i.event_type.as_str()).unwrap_or("");
    let event_id = identity.map(|i| i.event_id.as_str()).unwrap_or("");
    let reason = reason.unwrap_or_default();
    let (outcome, detail, status, body_bytes) =
        (class.outcome, class.detail, class.status, request.body_len);
    // One line per delivery, with its metrics (`crate::logging` adds the EMF block); the same
    // fields at every level. `reason` is an error's own text, which never holds a secret, a
    // signature or the body.
    macro_rules! line {
        ($level:ident) => {
            tracing::$level!(
                target: "delivery",
                provider,
                event_type,
                event_id,
                outcome,
                detail,
                status,
                body_bytes,
                duration_ms,
                publish_failures,
                spooled,
                reason,
                "delivery"
            )
        };
    }
    match class.level {
        Level::Info => line!(info),
        Level::Warn => line!(warn),
        Level::Error => line!(error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::ServiceError;

    #[test]
    fn every_failure_after_verification_is_a_503_that_asks_for_a_retry() {
        for err in [
            ServiceError::SecretsUnavailable,
            ServiceError::NoDestination("x".into()),
            ServiceError::Publish(vec![]),
        ] {
            let handled = Handled::Served(Report {
                identity: None,
                result: Err(err),
                spooled: false,
            });
            let class = classify(&handled);
            assert_eq!(
                (class.status, class.code, class.outcome, class.level),
                (503, "unavailable", "unavailable", Level::Error)
            );
            let response = FunctionUrlResponse::from_http(&respond(&handled, &class));
            assert_eq!(
                response.headers.get("retry-after").map(String::as_str),
                Some("5")
            );
            assert_eq!(response.json_body()["error"], "unavailable");
        }
    }

    #[test]
    fn a_rejected_method_names_the_allowed_one() {
        let handled = Handled::Rejected(Rejection::MethodNotAllowed { allow: "POST" });
        let response = FunctionUrlResponse::from_http(&respond(&handled, &classify(&handled)));
        assert_eq!(response.status_code, 405);
        assert_eq!(response.headers["allow"], "POST");
    }

    #[test]
    fn health_answers_ok_without_an_event_id() {
        let handled = Handled::Rejected(Rejection::Health);
        let response = FunctionUrlResponse::from_http(&respond(&handled, &classify(&handled)));
        assert_eq!(response.status_code, 200);
        assert_eq!(response.json_body(), serde_json::json!({"status": "ok"}));
    }
}
