//! Bad input: a corpus of hostile and malformed requests, each with its expected 4xx. None
//! may produce a 5xx, a panic or an AWS call; the log lines they produce hold no secret and
//! no request body. The corpus runs in-process (with stores that fail if touched) and again
//! through the built binary under the Runtime Interface Emulator, whose AWS clients point at
//! a proxy that records every call.

use std::sync::atomic::Ordering;
use std::time::Duration;

use crate::common::emulator::Emulator;
use crate::common::fault_proxy::FaultProxy;
use crate::common::{
    standard_settings, test_verifier, Stack, SALESOS_SECRET, STANDARD_SECRET, TOKEN,
};
use base64::Engine;
use salesloft_webhooks::dedup::MemoryDedupStore;
use salesloft_webhooks::destinations::MemoryPublisher;
use salesloft_webhooks::destinations::RouteTable;
use salesloft_webhooks::http::{handle, Limits};
use salesloft_webhooks::logging::{self, Captured};
use salesloft_webhooks::senders::{salesloft, salesos, Provider};
use salesloft_webhooks::service::{Invocation, Service};
use salesloft_webhooks::signature::Verifier;

const MAX_BODY: usize = 1_044_480;

fn sig(body: &[u8]) -> String {
    salesloft::sign(TOKEN.as_bytes(), body)
}

fn request(
    method: &str,
    path: &str,
    headers: serde_json::Value,
    body: &str,
    b64: bool,
) -> serde_json::Value {
    serde_json::json!({
        "rawPath": path,
        "headers": headers,
        "requestContext": {"http": {"method": method, "path": path}},
        "body": body,
        "isBase64Encoded": b64
    })
}

fn post(headers: serde_json::Value, body: &str) -> serde_json::Value {
    request("POST", "/salesloft", headers, body, false)
}

/// A validly signed Salesloft request with the given event header and body bytes (sent as
/// base64 when they are not UTF-8).
fn signed(event_type: &str, body: &[u8]) -> serde_json::Value {
    let headers =
        serde_json::json!({"x-salesloft-event": event_type, "x-salesloft-signature": sig(body)});
    match std::str::from_utf8(body) {
        Ok(text) => post(headers, text),
        Err(_) => request(
            "POST",
            "/salesloft",
            headers,
            &base64::engine::general_purpose::STANDARD.encode(body),
            true,
        ),
    }
}

fn with_sig(signature: &str) -> serde_json::Value {
    post(
        serde_json::json!({"x-salesloft-event": "person_updated", "x-salesloft-signature": signature}),
        r#"{"id":1}"#,
    )
}

/// The corpus: (name, event, expected status).
fn corpus() -> Vec<(&'static str, serde_json::Value, u16)> {
    let good_body = br#"{"id":1}"#;
    let good = sig(good_body);
    let nested = format!("{{\"a\":{}{}}}", "[".repeat(5000), "]".repeat(5000));
    let huge = "x".repeat(MAX_BODY + 1);
    let huge_b64 = base64::engine::general_purpose::STANDARD.encode(vec![b'{'; MAX_BODY + 10]);
    let ten_kb = "e".repeat(10 * 1024);
    let so_body = r#"{"id":"evt_1"}"#;
    let so_sig = salesos::sign(SALESOS_SECRET.as_bytes(), so_body.as_bytes());
    let so_numeric_id = r#"{"id":17,"type":"lead.created"}"#;
    let so_numeric_sig = salesos::sign(SALESOS_SECRET.as_bytes(), so_numeric_id.as_bytes());
    let b64 = base64::engine::general_purpose::STANDARD;
    vec![
        // Event shapes that are not Function URL requests at all.
        ("event is an array", serde_json::json!([]), 400),
        (
            "event is a string",
            serde_json::json!("POST /salesloft"),
            400,
        ),
        ("event is null", serde_json::Value::Null, 400),
        (
            "a header value is not a string",
            serde_json::json!({"rawPath": "/salesloft", "headers": {"x": 1}, "requestContext": {"http": {"method": "POST"}}}),
            400,
        ),
        (
            "body is a number",
            serde_json::json!({"rawPath": "/salesloft", "body": 5, "requestContext": {"http": {"method": "POST"}}}),
            400,
        ),
        // Methods and paths.
        (
            "GET on the webhook path",
            request("GET", "/salesloft", serde_json::json!({}), "", false),
            405,
        ),
        (
            "PUT on the webhook path",
            request("PUT", "/salesloft", serde_json::json!({}), "{}", false),
            405,
        ),
        (
            "DELETE on the root",
            request("DELETE", "/", serde_json::json!({}), "", false),
            405,
        ),
        (
            "HEAD on the webhook path",
            request("HEAD", "/salesloft", serde_json::json!({}), "", false),
            405,
        ),
        (
            "OPTIONS preflight",
            request(
                "OPTIONS",
                "/salesloft",
                serde_json::json!({"origin": "https://evil.example"}),
                "",
                false,
            ),
            405,
        ),
        (
            // lambda_http's event types refuse a method that is not an HTTP token and an
            // event without a request context: 400 malformed_request (no longer 405).
            "lowercase or odd method name",
            request(
                "post\u{0}",
                "/salesloft",
                serde_json::json!({}),
                "{}",
                false,
            ),
            400,
        ),
        (
            "no method at all",
            serde_json::json!({"rawPath": "/salesloft", "body": "{}"}),
            400,
        ),
        (
            "a lowercase but valid method name",
            request("post", "/salesloft", serde_json::json!({}), "{}", false),
            401,
        ),
        (
            "POST on health",
            request("POST", "/health", serde_json::json!({}), "{}", false),
            405,
        ),
        (
            "unknown path",
            request("POST", "/nope", serde_json::json!({}), "{}", false),
            404,
        ),
        (
            "path traversal",
            request(
                "POST",
                "/salesloft/../admin",
                serde_json::json!({}),
                "{}",
                false,
            ),
            404,
        ),
        (
            "path in another case",
            request("POST", "/SALESLOFT", serde_json::json!({}), "{}", false),
            404,
        ),
        (
            "double slash",
            request("POST", "//salesloft", serde_json::json!({}), "{}", false),
            404,
        ),
        (
            "encoded path",
            request("POST", "/sales%6coft", serde_json::json!({}), "{}", false),
            404,
        ),
        (
            "10 KB path",
            request(
                "POST",
                &format!("/{ten_kb}"),
                serde_json::json!({}),
                "{}",
                false,
            ),
            404,
        ),
        // Sizes and encodings.
        (
            "body over the limit",
            post(serde_json::json!({"x-salesloft-signature": good}), &huge),
            413,
        ),
        (
            "base64 body over the limit",
            request("POST", "/salesloft", serde_json::json!({}), &huge_b64, true),
            413,
        ),
        (
            "invalid base64 flagged as base64",
            request(
                "POST",
                "/salesloft",
                serde_json::json!({}),
                "%%%not-base64%%%",
                true,
            ),
            400,
        ),
        (
            "base64 with embedded newlines",
            request(
                "POST",
                "/salesloft",
                serde_json::json!({}),
                "eyJp\nZCI6MX0=",
                true,
            ),
            400,
        ),
        // Signature shapes (all 401, with one body).
        (
            "no signature",
            post(
                serde_json::json!({"x-salesloft-event": "person_updated"}),
                r#"{"id":1}"#,
            ),
            401,
        ),
        (
            "empty body and no signature",
            post(serde_json::json!({}), ""),
            401,
        ),
        ("empty signature", with_sig(""), 401),
        ("signature one hex digit short", with_sig(&good[..39]), 401),
        (
            "signature one hex digit long",
            with_sig(&format!("{good}0")),
            401,
        ),
        (
            "signature of non-hex characters",
            with_sig(&"g".repeat(40)),
            401,
        ),
        (
            "signature in base64",
            with_sig(&b64.encode(hex::decode(&good).unwrap())),
            401,
        ),
        (
            "signature with an algorithm prefix",
            with_sig(&format!("sha1={good}")),
            401,
        ),
        (
            "two signatures in a repeated header",
            with_sig(&format!("{good},{good}")),
            401,
        ),
        (
            "signature made with another key",
            with_sig(&salesloft::sign(b"guess", good_body)),
            401,
        ),
        (
            "signature of the body plus a newline",
            with_sig(&salesloft::sign(TOKEN.as_bytes(), b"{\"id\":1}\n")),
            401,
        ),
        ("10 KB signature", with_sig(&ten_kb), 401),
        ("non-ASCII signature", with_sig(&"\u{e9}".repeat(20)), 401),
        (
            "SHA-256 signature on the SHA-1 scheme",
            with_sig(&salesos::sign(TOKEN.as_bytes(), good_body)),
            401,
        ),
        // Verified bodies that are not acceptable events.
        ("signed empty body", signed("person_updated", b""), 400),
        (
            "signed invalid UTF-8",
            signed("person_updated", b"{\"a\":\"\xff\xfe\"}"),
            400,
        ),
        (
            "signed deeply nested JSON",
            signed("person_updated", nested.as_bytes()),
            400,
        ),
        (
            "signed JSON array",
            signed("person_updated", b"[{\"id\":1}]"),
            400,
        ),
        ("signed JSON number", signed("person_updated", b"42"), 400),
        (
            "signed JSON with trailing bytes",
            signed("person_updated", b"{\"id\":1}{\"id\":2}"),
            400,
        ),
        (
            "signed JSON with a duplicate id",
            signed("person_updated", b"{\"id\":1,\"id\":2}"),
            400,
        ),
        (
            "signed body without an event header",
            post(
                serde_json::json!({"x-salesloft-signature": good}),
                r#"{"id":1}"#,
            ),
            400,
        ),
        // Event-type headers.
        (
            "event type with a control character",
            signed("person\u{1}updated", good_body),
            400,
        ),
        (
            "event type with a newline",
            signed("person_updated\nx-admin: true", good_body),
            400,
        ),
        ("10 KB event type", signed(&ten_kb, good_body), 400),
        (
            "non-ASCII event type",
            signed("pers\u{f6}n_updated", good_body),
            400,
        ),
        ("blank event type", signed("   ", good_body), 400),
        (
            "event type with spaces",
            signed("person updated", good_body),
            400,
        ),
        (
            "repeated event header",
            signed("person_updated,person_created", good_body),
            400,
        ),
        (
            "event type with a key separator",
            signed("person#updated", good_body),
            400,
        ),
        // Other senders.
        (
            "SalesOS without a signature",
            request("POST", "/salesos", serde_json::json!({}), so_body, false),
            401,
        ),
        (
            "SalesOS signed, without a type",
            request(
                "POST",
                "/salesos",
                serde_json::json!({"x-webhook-signature": so_sig}),
                so_body,
                false,
            ),
            400,
        ),
        (
            "SalesOS signed, numeric id",
            request(
                "POST",
                "/salesos",
                serde_json::json!({"x-webhook-signature": so_numeric_sig}),
                so_numeric_id,
                false,
            ),
            400,
        ),
        (
            "Standard Webhooks without webhook-id",
            request(
                "POST",
                "/standard",
                serde_json::json!({"webhook-timestamp": "1", "webhook-signature": "v1,AAAA"}),
                "{}",
                false,
            ),
            401,
        ),
        (
            "Standard Webhooks with a 10 KB timestamp",
            request(
                "POST",
                "/standard",
                serde_json::json!({"webhook-id": "m", "webhook-timestamp": ten_kb, "webhook-signature": "v1,AAAA"}),
                "{}",
                false,
            ),
            401,
        ),
        (
            "Standard Webhooks with 1000 signature entries",
            request(
                "POST",
                "/standard",
                serde_json::json!({"webhook-id": "m", "webhook-timestamp": "1", "webhook-signature": vec!["v1,AAAA"; 1000].join(" ")}),
                "{}",
                false,
            ),
            401,
        ),
    ]
}

fn verifier() -> Verifier {
    test_verifier(
        standard_settings(300),
        &[
            Provider::Salesloft,
            Provider::SalesOs,
            Provider::StandardWebhooks,
        ],
    )
}

#[test]
fn the_corpus_is_large_enough_and_every_name_is_unique() {
    let c = corpus();
    println!("hostile corpus: {} requests", c.len());
    assert!(c.len() >= 40, "{}", c.len());
    let mut names: Vec<_> = c.iter().map(|(n, _, _)| *n).collect();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), c.len());
}

#[tokio::test]
async fn every_hostile_request_gets_its_4xx_without_touching_a_store_or_logging_secrets() {
    // The function's own log format, at its most verbose.
    let captured = Captured::default();
    let trace = |name: &str| (name == "RUST_LOG").then(|| "trace".to_string());
    let subscriber = logging::subscriber(captured.clone(), &trace, "Test".into());
    let _guard = tracing::subscriber::set_default(subscriber);

    let dedup = MemoryDedupStore::new();
    // Any claim would fail (and answer 503), so a 4xx proves no store was asked.
    dedup.fail_claim.store(true, Ordering::SeqCst);
    let verifier = verifier();
    let served = verifier.served();
    let service = Service::new(
        dedup,
        MemoryPublisher::new(),
        verifier,
        RouteTable::new(
            Some("http://127.0.0.1:1/123456789012/q".into()),
            vec![],
            &served,
        )
        .unwrap(),
        Duration::from_secs(604_800),
    );
    let inv = Invocation {
        now_ms: 1_795_442_400_000,
        deadline_ms: 1_795_442_406_000,
        claim_token: "t".into(),
    };
    let mut wrong = Vec::new();
    for (name, event, expected) in corpus() {
        let r = handle(
            &service,
            Limits {
                max_body_bytes: MAX_BODY,
            },
            event,
            &inv,
        )
        .await;
        if r.status_code != expected {
            wrong.push(format!(
                "{name}: expected {expected}, got {} {}",
                r.status_code, r.body
            ));
        }
        assert!(
            (400..500).contains(&r.status_code),
            "{name}: {}",
            r.status_code
        );
        assert!(r.json_body().get("error").is_some(), "{name}: {}", r.body);
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    assert_eq!(service.publisher().total(), 0);

    let logs = captured.text();
    assert_eq!(
        logs.lines().count(),
        corpus().len(),
        "one log line per request"
    );
    for line in logs.lines() {
        let line: serde_json::Value = serde_json::from_str(line).expect("each line is JSON");
        assert!(
            line["timestamp"].is_string() && line["level"].is_string(),
            "{line}"
        );
    }
    for secret in [TOKEN, SALESOS_SECRET, STANDARD_SECRET] {
        assert!(!logs.contains(secret), "a secret was logged");
    }
    assert!(!logs.contains("\"id\":1"), "a request body was logged");
    assert!(
        !logs.contains("x-admin"),
        "an unverified header value was logged"
    );
}

#[tokio::test]
async fn the_binary_answers_the_corpus_under_the_emulator_without_any_aws_call() {
    let stack = Stack::start().await;
    let proxy = FaultProxy::start(&stack.moto.endpoint).await;
    let rie = Emulator::webhook(&stack, &[("AWS_ENDPOINT_URL", proxy.endpoint.as_str())]);
    for (name, event, expected) in corpus() {
        let r = rie.invoke(&event).await;
        assert_eq!(r["statusCode"], expected, "{name}: {r}");
    }
    assert!(
        proxy.seen().is_empty(),
        "AWS calls were made: {:?}",
        proxy.seen()
    );
    assert!(!rie.log().contains("panicked"), "{}", rie.log());
    // The emulator is still serving: no request crashed the runtime.
    let ok = rie
        .invoke(&crate::common::sample(
            "events/salesloft/person_updated.json",
        ))
        .await;
    assert_eq!(ok["statusCode"], 202);
    assert!(!proxy.seen().is_empty());
}
