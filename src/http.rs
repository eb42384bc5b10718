//! The Lambda Function URL adapter: an event in, an HTTP response out, and the one place
//! where every outcome and error is classified ([`classify`]: status, code, log level) for
//! both the response and the log line (`docs/ARCHITECTURE.md`, "Responses").
//!
//! The event is read from plain JSON into [`FunctionUrlRequest`] here rather than through
//! `lambda_http`, because `lambda_http` panics on a body flagged `isBase64Encoded` that is
//! not valid base64 (it `expect`s the decode); here such a body is a 400 like any other bad
//! input. No input makes this module panic or return a Lambda error.

use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

use base64::Engine;
use serde::{Deserialize, Serialize};

use crate::dedup::DedupStore;
use crate::destinations::{EventPublisher, Unpublishable};
use crate::headers::Headers;
use crate::senders::Provider;
use crate::service::{Invocation, Outcome, Report, Service, ServiceError};

/// The parts of a Function URL request event this function reads. Every field is optional
/// so that an odd event is answered (400), not a deserialisation failure.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FunctionUrlRequest {
    #[serde(default)]
    pub raw_path: Option<String>,
    #[serde(default)]
    pub headers: HashMap<String, String>,
    #[serde(default)]
    pub body: Option<String>,
    #[serde(default)]
    pub is_base64_encoded: bool,
    #[serde(default)]
    pub request_context: RequestContext,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct RequestContext {
    #[serde(default)]
    pub http: HttpContext,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct HttpContext {
    #[serde(default)]
    pub method: Option<String>,
    #[serde(default)]
    pub path: Option<String>,
}

/// A Function URL response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
    fn json(status: u16, body: serde_json::Value) -> Self {
        Self {
            status_code: status,
            headers: BTreeMap::from([("content-type".into(), "application/json".into())]),
            body: body.to_string(),
            is_base64_encoded: false,
            cookies: Vec::new(),
        }
    }

    fn with_header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.insert(name.into(), value.into());
        self
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

/// Handles one Function URL event. Always returns a response; logs one JSON line.
pub async fn handle<D: DedupStore, P: EventPublisher>(
    service: &Service<D, P>,
    limits: Limits,
    event: serde_json::Value,
    inv: &Invocation,
) -> FunctionUrlResponse {
    let started = Instant::now();
    let request = route_and_handle(service, limits, event, inv).await;
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

/// The one classification of how a request ended, used by the response and the log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Classification {
    pub status: u16,
    /// The code in the response body (`status` on success, `error` otherwise).
    pub code: &'static str,
    /// The outcome in the log line (finer than `code` for failures that share a response).
    pub outcome: &'static str,
    pub level: Level,
}

const fn class(
    status: u16,
    code: &'static str,
    outcome: &'static str,
    level: Level,
) -> Classification {
    Classification {
        status,
        code,
        outcome,
        level,
    }
}

/// The status table (`docs/ARCHITECTURE.md`, "Responses"): every way a request can end.
pub fn classify(handled: &Handled) -> Classification {
    use Level::{Error, Info, Warn};
    match handled {
        Handled::Rejected(r) => match r {
            Rejection::MalformedEvent => class(400, "malformed_request", "malformed_event", Info),
            Rejection::NotFound => class(404, "not_found", "not_found", Info),
            Rejection::Health => class(200, "ok", "health", Info),
            Rejection::MethodNotAllowed { .. } => {
                class(405, "method_not_allowed", "method_not_allowed", Info)
            }
            Rejection::InvalidBase64 => {
                class(400, "invalid_base64_body", "invalid_base64_body", Info)
            }
            Rejection::TooLarge => class(413, "payload_too_large", "payload_too_large", Info),
        },
        Handled::Served(report) => match &report.result {
            Ok(Outcome::Accepted) => class(202, "accepted", "accepted", Info),
            Ok(Outcome::Duplicate) => class(200, "duplicate", "duplicate", Info),
            Ok(Outcome::InProgress { .. }) => class(409, "in_progress", "in_progress", Info),
            // One body for every signature failure: nothing that helps a forger.
            Err(ServiceError::Signature(_)) => {
                class(401, "invalid_signature", "invalid_signature", Warn)
            }
            Err(ServiceError::Parse(e)) => class(400, e.code(), e.code(), Info),
            // The detail of a store failure goes to the log only (never the response).
            Err(ServiceError::Dedup(_)) => class(503, "unavailable", "dedup_unavailable", Error),
            Err(ServiceError::Publish(_)) => class(503, "unavailable", "publish_failed", Error),
            Err(ServiceError::SecretsUnavailable) => {
                class(503, "unavailable", "secrets_unavailable", Error)
            }
            Err(ServiceError::NoDestination(_)) => {
                class(503, "unavailable", "no_destination", Error)
            }
            // Never deliverable: a 4xx, so the sender stops instead of retrying in vain.
            Err(ServiceError::Unpublishable(Unpublishable::TooLarge { .. })) => {
                class(413, "payload_too_large", "payload_too_large", Info)
            }
            Err(ServiceError::Unpublishable(_)) => class(
                400,
                "unsupported_characters",
                "unsupported_characters",
                Info,
            ),
        },
    }
}

/// The response for `handled`, classified as `class`.
fn respond(handled: &Handled, class: &Classification) -> FunctionUrlResponse {
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
    let response = FunctionUrlResponse::json(class.status, body);
    match handled {
        Handled::Rejected(Rejection::MethodNotAllowed { allow }) => {
            response.with_header("allow", *allow)
        }
        Handled::Served(Report {
            result: Ok(Outcome::InProgress { retry_after_s }),
            ..
        }) => response.with_header("retry-after", retry_after_s.to_string()),
        _ if class.status == 503 => {
            response.with_header("retry-after", UNAVAILABLE_RETRY_AFTER_S.to_string())
        }
        _ => response,
    }
}

async fn route_and_handle<D: DedupStore, P: EventPublisher>(
    service: &Service<D, P>,
    limits: Limits,
    event: serde_json::Value,
    inv: &Invocation,
) -> Request {
    let rejected = |provider, rejection| Request {
        provider,
        body_len: 0,
        handled: Handled::Rejected(rejection),
    };
    // serde reads a struct from a JSON array too; a request event is always an object.
    let parsed = if event.is_object() {
        serde_json::from_value::<FunctionUrlRequest>(event).ok()
    } else {
        None
    };
    let Some(request) = parsed else {
        return rejected(None, Rejection::MalformedEvent);
    };
    let method = request
        .request_context
        .http
        .method
        .as_deref()
        .unwrap_or("")
        .to_ascii_uppercase();
    let path = request
        .raw_path
        .as_deref()
        .or(request.request_context.http.path.as_deref())
        .unwrap_or("/");

    let provider = match route(path, service) {
        None => return rejected(None, Rejection::NotFound),
        Some(Route::Health) if method == "GET" => return rejected(None, Rejection::Health),
        Some(Route::Health) => return rejected(None, Rejection::MethodNotAllowed { allow: "GET" }),
        Some(Route::Webhook(_)) if method != "POST" => {
            return rejected(None, Rejection::MethodNotAllowed { allow: "POST" })
        }
        Some(Route::Webhook(p)) => p,
    };

    let body = match decode_body(
        request.body.as_deref(),
        request.is_base64_encoded,
        limits.max_body_bytes,
    ) {
        Ok(b) => b,
        Err(rejection) => return rejected(Some(provider), rejection),
    };
    let headers = Headers::from_pairs(request.headers);
    let report = service.handle(provider, &body, &headers, inv).await;
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

/// The raw body bytes, base64-decoded when flagged, within the size limit.
/// Borrows the body when it is plain text (the common case: no copy), decodes it when flagged
/// as base64.
fn decode_body(
    body: Option<&str>,
    is_base64_encoded: bool,
    max: usize,
) -> Result<std::borrow::Cow<'_, [u8]>, Rejection> {
    let text = body.unwrap_or("");
    if is_base64_encoded {
        // Refuse by the encoded length first, so a huge body is never decoded.
        if text.len() / 4 * 3 > max + 3 {
            return Err(Rejection::TooLarge);
        }
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(text.trim())
            .map_err(|_| Rejection::InvalidBase64)?;
        if bytes.len() > max {
            return Err(Rejection::TooLarge);
        }
        Ok(bytes.into())
    } else if text.len() > max {
        Err(Rejection::TooLarge)
    } else {
        Ok(text.as_bytes().into())
    }
}

fn log_delivery(request: &Request, class: &Classification, started: Instant) {
    let duration_ms = (started.elapsed().as_secs_f64() * 1_000_000.0).round() / 1000.0;
    let provider = request.provider.map(Provider::as_str).unwrap_or("");
    let (identity, reason) = match &request.handled {
        Handled::Served(report) => (
            report.identity.as_ref(),
            report.result.as_ref().err().map(ToString::to_string),
        ),
        Handled::Rejected(_) => (None, None),
    };
    let event_type = identity.map(|i| i.event_type.as_str()).unwrap_or("");
    let event_id = identity.map(|i| i.event_id.as_str()).unwrap_or("");
    let reason = reason.unwrap_or_default();
    let (outcome, status, body_bytes) = (class.outcome, class.status, request.body_len);
    // One line per delivery; the same fields at every level. `reason` is an error's own text,
    // which never holds a secret, a signature or the body.
    macro_rules! line {
        ($level:ident) => {
            tracing::$level!(
                provider,
                event_type,
                event_id,
                outcome,
                status,
                body_bytes,
                duration_ms,
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
            });
            let class = classify(&handled);
            assert_eq!(
                (class.status, class.code, class.level),
                (503, "unavailable", Level::Error)
            );
            let response = respond(&handled, &class);
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
        let response = respond(&handled, &classify(&handled));
        assert_eq!(response.status_code, 405);
        assert_eq!(response.headers["allow"], "POST");
    }

    #[test]
    fn health_answers_ok_without_an_event_id() {
        let handled = Handled::Rejected(Rejection::Health);
        let response = respond(&handled, &classify(&handled));
        assert_eq!(response.status_code, 200);
        assert_eq!(response.json_body(), serde_json::json!({"status": "ok"}));
    }
}
