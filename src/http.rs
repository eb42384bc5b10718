//! The Lambda Function URL adapter: an event in, an HTTP response out, and the one place
//! where every outcome and error becomes a status (DESIGN.md section 2).
//!
//! The event is read from plain JSON into [`FunctionUrlRequest`] here rather than through
//! `lambda_http`, because `lambda_http` panics on a body flagged `isBase64Encoded` that is
//! not valid base64 (it `expect`s the decode); here such a body is a 400 like any other bad
//! input. No input makes this module panic or return a Lambda error.

use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

use base64::Engine;
use serde::{Deserialize, Serialize};

use crate::dedup::{DedupError, DedupStore};
use crate::headers::Headers;
use crate::publish::EventPublisher;
use crate::service::{Invocation, Outcome, Report, Service, ServiceError};
use crate::signature::Provider;

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

/// What the router decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route {
    Health,
    Webhook(Provider),
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
    let (provider, body_len, report, response) =
        route_and_handle(service, limits, event, inv).await;
    log_delivery(provider, body_len, &report, &response, started);
    response
}

/// What happened before and inside the service, for the log line.
enum Stage {
    Rejected(&'static str),
    Served(Report),
}

async fn route_and_handle<D: DedupStore, P: EventPublisher>(
    service: &Service<D, P>,
    limits: Limits,
    event: serde_json::Value,
    inv: &Invocation,
) -> (Option<Provider>, usize, Stage, FunctionUrlResponse) {
    // serde reads a struct from a JSON array too; a request event is always an object.
    let parsed = if event.is_object() {
        serde_json::from_value::<FunctionUrlRequest>(event).ok()
    } else {
        None
    };
    let request = match parsed {
        Some(r) => r,
        None => {
            return (
                None,
                0,
                Stage::Rejected("malformed_event"),
                error(400, "malformed_request"),
            )
        }
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

    let route = match route(path, service) {
        Some(r) => r,
        None => {
            return (
                None,
                0,
                Stage::Rejected("not_found"),
                error(404, "not_found"),
            )
        }
    };
    let provider = match route {
        Route::Health if method == "GET" => {
            return (
                None,
                0,
                Stage::Rejected("health"),
                FunctionUrlResponse::json(200, serde_json::json!({"status": "ok"})),
            )
        }
        Route::Health => {
            return (
                None,
                0,
                Stage::Rejected("method_not_allowed"),
                error(405, "method_not_allowed").with_header("allow", "GET"),
            )
        }
        Route::Webhook(_) if method != "POST" => {
            return (
                None,
                0,
                Stage::Rejected("method_not_allowed"),
                error(405, "method_not_allowed").with_header("allow", "POST"),
            )
        }
        Route::Webhook(p) => p,
    };

    let body = match decode_body(
        request.body.as_deref(),
        request.is_base64_encoded,
        limits.max_body_bytes,
    ) {
        Ok(b) => b,
        Err(rejection) => {
            let (status, code) = rejection;
            return (
                Some(provider),
                0,
                Stage::Rejected(code),
                error(status, code),
            );
        }
    };
    let headers = Headers::from_pairs(request.headers);
    let report = service.handle(provider, &body, &headers, inv).await;
    let response = respond(&report);
    (Some(provider), body.len(), Stage::Served(report), response)
}

/// Maps paths to routes. `/` and `/salesloft` are Salesloft's, `/salesos` SalesOS's and
/// `/standard` Standard Webhooks'; a trailing slash is ignored.
/// A provider without a configured secret is not served (404).
fn route<D: DedupStore, P: EventPublisher>(path: &str, service: &Service<D, P>) -> Option<Route> {
    let trimmed = if path.len() > 1 {
        path.trim_end_matches('/')
    } else {
        path
    };
    let route = match trimmed {
        "/health" => Route::Health,
        "/" | "" | "/salesloft" => Route::Webhook(Provider::Salesloft),
        "/salesos" => Route::Webhook(Provider::SalesOs),
        "/standard" => Route::Webhook(Provider::StandardWebhooks),
        _ => return None,
    };
    match route {
        Route::Webhook(p) if !service.serves(p) => None,
        r => Some(r),
    }
}

/// The raw body bytes, base64-decoded when flagged, within the size limit.
/// Borrows the body when it is plain text (the common case: no copy), decodes it when flagged
/// as base64.
fn decode_body(
    body: Option<&str>,
    is_base64_encoded: bool,
    max: usize,
) -> Result<std::borrow::Cow<'_, [u8]>, (u16, &'static str)> {
    let text = body.unwrap_or("");
    if is_base64_encoded {
        // Refuse by the encoded length first, so a huge body is never decoded.
        if text.len() / 4 * 3 > max + 3 {
            return Err((413, "payload_too_large"));
        }
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(text.trim())
            .map_err(|_| (400, "invalid_base64_body"))?;
        if bytes.len() > max {
            return Err((413, "payload_too_large"));
        }
        Ok(bytes.into())
    } else if text.len() > max {
        Err((413, "payload_too_large"))
    } else {
        Ok(text.as_bytes().into())
    }
}

fn error(status: u16, code: &str) -> FunctionUrlResponse {
    FunctionUrlResponse::json(status, serde_json::json!({ "error": code }))
}

/// The status table of DESIGN.md section 2.
fn respond(report: &Report) -> FunctionUrlResponse {
    let event_id = report
        .meta
        .as_ref()
        .map(|m| m.event_id.as_str())
        .unwrap_or("");
    match &report.result {
        Ok(Outcome::Accepted) => FunctionUrlResponse::json(
            202,
            serde_json::json!({"status": "accepted", "event_id": event_id}),
        ),
        Ok(Outcome::Duplicate) => FunctionUrlResponse::json(
            200,
            serde_json::json!({"status": "duplicate", "event_id": event_id}),
        ),
        Ok(Outcome::InProgress { retry_after_s }) => {
            FunctionUrlResponse::json(409, serde_json::json!({"status": "in_progress"}))
                .with_header("retry-after", retry_after_s.to_string())
        }
        // One body for every signature failure: nothing that helps a forger.
        Err(ServiceError::Signature(_)) => error(401, "invalid_signature"),
        Err(ServiceError::Parse(e)) => error(400, e.code()),
        Err(ServiceError::Dedup(DedupError::Unavailable(_) | DedupError::ClaimLost))
        | Err(ServiceError::Publish(_))
        | Err(ServiceError::SecretsUnavailable)
        | Err(ServiceError::NoDestination(_)) => error(503, "unavailable")
            .with_header("retry-after", UNAVAILABLE_RETRY_AFTER_S.to_string()),
    }
}

fn log_delivery(
    provider: Option<Provider>,
    body_len: usize,
    stage: &Stage,
    response: &FunctionUrlResponse,
    started: Instant,
) {
    let duration_ms = (started.elapsed().as_secs_f64() * 1_000_000.0).round() / 1000.0;
    let provider = provider.map(Provider::as_str).unwrap_or("");
    let status = response.status_code;
    match stage {
        Stage::Rejected(outcome) => tracing::info!(
            provider,
            outcome,
            status,
            body_bytes = body_len,
            duration_ms,
            "delivery"
        ),
        Stage::Served(report) => {
            let (event_type, event_id) = report
                .meta
                .as_ref()
                .map(|m| (m.event_type.as_str(), m.event_id.as_str()))
                .unwrap_or(("", ""));
            let outcome = match &report.result {
                Ok(Outcome::Accepted) => "accepted",
                Ok(Outcome::Duplicate) => "duplicate",
                Ok(Outcome::InProgress { .. }) => "in_progress",
                Err(ServiceError::Signature(_)) => "invalid_signature",
                Err(ServiceError::Parse(e)) => e.code(),
                Err(ServiceError::Dedup(_)) => "dedup_unavailable",
                Err(ServiceError::Publish(_)) => "publish_failed",
                Err(ServiceError::SecretsUnavailable) => "secrets_unavailable",
                Err(ServiceError::NoDestination(_)) => "no_destination",
            };
            match &report.result {
                // The detail of a store failure goes to the log only (never the response).
                Err(
                    err @ (ServiceError::Dedup(_)
                    | ServiceError::Publish(_)
                    | ServiceError::SecretsUnavailable
                    | ServiceError::NoDestination(_)),
                ) => tracing::error!(
                    provider,
                    event_type,
                    event_id,
                    outcome,
                    status,
                    body_bytes = body_len,
                    duration_ms,
                    error = %err,
                    "delivery"
                ),
                Err(ServiceError::Signature(reason)) => tracing::warn!(
                    provider,
                    outcome,
                    status,
                    body_bytes = body_len,
                    duration_ms,
                    reason = %reason,
                    "delivery"
                ),
                _ => tracing::info!(
                    provider,
                    event_type,
                    event_id,
                    outcome,
                    status,
                    body_bytes = body_len,
                    duration_ms,
                    "delivery"
                ),
            }
        }
    }
}
