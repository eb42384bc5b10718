//! The guard in front of `lambda_http`: turns the raw Lambda event into lambda_http's
//! `LambdaRequest`, refusing with a [`Rejection`] (400 or 413) every input that lambda_http
//! would fail to deserialize (a Lambda error) or would panic on while building the
//! `http::Request`, so that no input becomes a panic or a Lambda error.
//!
//! The checks follow the request conversion of lambda_http 1.3.2 (`into_api_gateway_v2_request`
//! and `build_request_uri` in its `request.rs`), which is why that version is pinned:
//! - a body flagged `isBase64Encoded` that base64's standard engine does not decode (it
//!   `expect`s the decode);
//! - a URL that `url` cannot parse from `{x-forwarded-proto}://{host}{path}` (or
//!   `http://localhost{path}` without a host): a `Host` or `x-forwarded-proto` header, or a
//!   path, that makes it invalid (it `unwrap`s the parse);
//! - that URL plus `?{rawQueryString}` not being a valid `http::Uri` (it `expect`s the build).
//!
//! A conversion that panics anyway (a case this list misses) is caught and refused too.

use base64::Engine;
use lambda_http::aws_lambda_events::apigw::ApiGatewayV2httpRequest;
use lambda_http::http;
use lambda_http::request::LambdaRequest;

use super::{Limits, Rejection};

/// Checks `event` and converts it into lambda_http's request type, or says why not.
pub fn lambda_request(
    event: serde_json::Value,
    limits: Limits,
) -> Result<LambdaRequest, Rejection> {
    // serde reads a struct from a JSON array too; a request event is always an object.
    if !event.is_object() {
        return Err(Rejection::MalformedEvent);
    }
    let request: ApiGatewayV2httpRequest =
        serde_json::from_value(event).map_err(|_| Rejection::MalformedEvent)?;
    check_body(&request, limits)?;
    check_uri(&request)?;
    Ok(LambdaRequest::ApiGatewayV2(request))
}

/// Converts a checked request into an `http::Request`; a panic inside lambda_http (a case the
/// checks above miss) is caught and answered like a malformed event.
pub fn into_http(request: LambdaRequest) -> Result<lambda_http::Request, Rejection> {
    std::panic::catch_unwind(move || lambda_http::Request::from(request)).map_err(|_| {
        tracing::error!(
            "lambda_http's request conversion panicked on an input the guard let through"
        );
        Rejection::MalformedEvent
    })
}

/// The Lambda response for a refused event, in the shape lambda_http's adapter gives its own
/// responses (an API Gateway v2 / Function URL response), so both paths answer alike.
pub fn to_function_url_response(response: http::Response<lambda_http::Body>) -> serde_json::Value {
    let (parts, body) = response.into_parts();
    let mut out = lambda_http::aws_lambda_events::apigw::ApiGatewayV2httpResponse::default();
    out.status_code = i64::from(parts.status.as_u16());
    out.headers = parts.headers;
    out.body = Some(body);
    serde_json::to_value(out).unwrap_or_else(
        |_| serde_json::json!({"statusCode": 400, "headers": {}, "body": "", "cookies": []}),
    )
}

/// A base64 body that decodes, refused by its encoded size first so a huge one is never
/// decoded. (A plain body's size is checked by the handler.)
fn check_body(request: &ApiGatewayV2httpRequest, limits: Limits) -> Result<(), Rejection> {
    let Some(body) = request.body.as_deref() else {
        return Ok(());
    };
    if !request.is_base64_encoded {
        return Ok(());
    }
    if body.len() / 4 * 3 > limits.max_body_bytes + 3 {
        return Err(Rejection::TooLarge);
    }
    // Exactly the engine lambda_http uses (`Body::from_maybe_encoded`): standard, padded,
    // no surrounding whitespace.
    base64::engine::general_purpose::STANDARD
        .decode(body)
        .map(|_| ())
        .map_err(|_| Rejection::InvalidBase64)
}

/// The request URI lambda_http builds must parse, both as a `url::Url` and as an `http::Uri`.
fn check_uri(request: &ApiGatewayV2httpRequest) -> Result<(), Rejection> {
    let host = request
        .headers
        .get(http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .or(request.request_context.domain_name.as_deref());
    let raw_path = request.raw_path.as_deref().unwrap_or_default();
    let path = path_with_stage(request.request_context.stage.as_deref(), raw_path);
    let mut uri = match host {
        None => {
            url::Url::parse(&format!("http://localhost{path}")).map(|url| url.path().to_string())
        }
        Some(host) => {
            let scheme = request
                .headers
                .get("x-forwarded-proto")
                .and_then(|s| s.to_str().ok())
                .unwrap_or("https");
            url::Url::parse(&format!("{scheme}://{host}{path}")).map(|url| url.to_string())
        }
    }
    .map_err(|_| Rejection::MalformedEvent)?;
    if let Some(query) = request
        .raw_query_string
        .as_deref()
        .filter(|q| !q.is_empty())
    {
        uri.push('?');
        uri.push_str(query);
    }
    uri.parse::<http::Uri>()
        .map(|_| ())
        .map_err(|_| Rejection::MalformedEvent)
}

/// lambda_http's `apigw_path_with_stage`: the stage is prefixed unless it is `$default`
/// (always so for a Function URL) or the path already starts with it.
fn path_with_stage(stage: Option<&str>, path: &str) -> String {
    if std::env::var_os("AWS_LAMBDA_HTTP_IGNORE_STAGE_IN_PATH").is_some() {
        return path.to_string();
    }
    match stage {
        None | Some("$default") => path.to_string(),
        Some(stage) if path.starts_with(&format!("/{stage}/")) => path.to_string(),
        Some(stage) => format!("/{stage}{path}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: Limits = Limits {
        max_body_bytes: 1024,
    };

    fn event(overrides: serde_json::Value) -> serde_json::Value {
        let mut e = serde_json::json!({
            "version": "2.0",
            "rawPath": "/salesloft",
            "rawQueryString": "",
            "headers": {"host": "abc.lambda-url.us-east-1.on.aws", "x-forwarded-proto": "https"},
            "requestContext": {"http": {"method": "POST", "path": "/salesloft"}, "stage": "$default", "timeEpoch": 0},
            "body": "{}",
            "isBase64Encoded": false
        });
        for (k, v) in overrides.as_object().unwrap() {
            e[k] = v.clone();
        }
        e
    }

    /// Whether lambda_http's own conversion panics on `event` (what the guard prevents).
    fn lambda_http_panics(event: &serde_json::Value) -> bool {
        let Ok(request) = serde_json::from_value::<ApiGatewayV2httpRequest>(event.clone()) else {
            return false;
        };
        let hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(|_| {}));
        let panicked = std::panic::catch_unwind(|| {
            lambda_http::Request::from(LambdaRequest::ApiGatewayV2(request))
        })
        .is_err();
        std::panic::set_hook(hook);
        panicked
    }

    #[test]
    fn every_input_lambda_http_panics_on_is_refused_before_the_conversion() {
        let cases = [
            (
                serde_json::json!({"isBase64Encoded": true, "body": "not base64!"}),
                Rejection::InvalidBase64,
            ),
            (
                serde_json::json!({"isBase64Encoded": true, "body": " e30= "}),
                Rejection::InvalidBase64,
            ),
            (
                serde_json::json!({"headers": {"host": "a b"}}),
                Rejection::MalformedEvent,
            ),
            (
                serde_json::json!({"headers": {"host": "x", "x-forwarded-proto": "1nvalid scheme"}}),
                Rejection::MalformedEvent,
            ),
            (
                serde_json::json!({"headers": {"host": "x:99999"}}),
                Rejection::MalformedEvent,
            ),
            (
                serde_json::json!({"headers": {}, "rawPath": "@"}),
                Rejection::MalformedEvent,
            ),
            (
                serde_json::json!({"rawQueryString": "a b"}),
                Rejection::MalformedEvent,
            ),
            (
                serde_json::json!({"rawQueryString": "x=\"<>\""}),
                Rejection::MalformedEvent,
            ),
        ];
        for (overrides, expected) in cases {
            let e = event(overrides.clone());
            assert!(
                lambda_http_panics(&e),
                "lambda_http does not panic on {overrides}: drop the case"
            );
            assert_eq!(
                lambda_request(e, LIMITS).unwrap_err(),
                expected,
                "{overrides}"
            );
        }
    }

    #[test]
    fn what_lambda_http_cannot_deserialize_is_a_malformed_event() {
        for e in [
            serde_json::json!([]),
            serde_json::json!("text"),
            serde_json::json!({}),
            event(serde_json::json!({"requestContext": {"http": {"method": "NOT A METHOD"}}})),
            event(serde_json::json!({"headers": {"bad name": "x"}})),
            event(serde_json::json!({"headers": {"x": 1}})),
            event(serde_json::json!({"body": 12})),
        ] {
            assert_eq!(
                lambda_request(e.clone(), LIMITS).unwrap_err(),
                Rejection::MalformedEvent,
                "{e}"
            );
        }
    }

    #[test]
    fn a_base64_body_over_the_limit_is_refused_before_it_is_decoded() {
        let big = "A".repeat(4 * 1024);
        let e = event(serde_json::json!({"isBase64Encoded": true, "body": big}));
        assert_eq!(lambda_request(e, LIMITS).unwrap_err(), Rejection::TooLarge);
    }

    #[test]
    fn ordinary_function_url_events_pass_and_convert() {
        for overrides in [
            serde_json::json!({}),
            serde_json::json!({"isBase64Encoded": true, "body": "e30="}),
            serde_json::json!({"headers": {}}),
            serde_json::json!({"rawQueryString": "a=1&b=%20"}),
            serde_json::json!({"rawPath": "/salesloft/"}),
        ] {
            let e = event(overrides.clone());
            let request =
                lambda_request(e, LIMITS).unwrap_or_else(|r| panic!("{overrides}: {r:?}"));
            assert!(into_http(request).is_ok(), "{overrides}");
        }
    }
}
