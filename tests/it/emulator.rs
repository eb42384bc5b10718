//! End to end: the built `webhook` binary under the Lambda Runtime Interface Emulator (from
//! the SAM CLI package), against moto, driven by real HTTP requests built from `events/`.

use crate::common::emulator::Emulator;
use crate::common::{attr, repo_path, Stack, SALESOS_SECRET, STANDARD_SECRET, TOKEN};

#[tokio::test]
async fn every_sample_gets_its_expected_status_through_the_runtime_emulator() {
    let stack = Stack::start().await;
    let rie = Emulator::webhook(&stack, &[]);
    let manifest: Vec<serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string(repo_path("events/manifest.json")).unwrap())
            .unwrap();
    let mut accepted = 0;
    let mut bodies = Vec::new();
    for entry in &manifest {
        // Samples signed for a fixed moment (timestamped schemes) or for another deployment
        // are covered by tests/it/events.rs, which controls the clock and the configuration.
        let default_config = entry["config"].as_str().is_none_or(|c| c == "default");
        if !default_config || entry.get("now").is_some_and(|n| !n.is_null()) {
            continue;
        }
        let file = entry["file"].as_str().unwrap();
        let event = crate::common::sample(file);
        let response = rie.invoke(&event).await;
        let expected = entry["expect_status"].as_u64().unwrap();
        assert_eq!(response["statusCode"], expected, "{file}: {response}");
        if expected == 202 {
            accepted += 1;
            // The same delivery again is a duplicate through the whole stack too.
            let again = rie.invoke(&event).await;
            assert_eq!(again["statusCode"], 200, "{file} retried: {again}");
        }
        if let Some(b) = event["body"].as_str() {
            bodies.push(b.to_string());
        }
    }
    let messages = stack.drain(&stack.default_queue).await;
    assert_eq!(messages.len(), accepted);
    assert!(messages
        .iter()
        .all(|m| ["salesloft", "salesos", "standard"].contains(&attr(m, "provider").as_str())));

    let log = rie.log();
    assert!(
        log.contains("\"outcome\":\"accepted\""),
        "one JSON line per delivery:\n{log}"
    );
    for secret in [TOKEN, SALESOS_SECRET, STANDARD_SECRET] {
        assert!(!log.contains(secret), "a secret leaked into the logs");
    }
    for body in bodies.iter().filter(|b| b.len() > 20) {
        assert!(
            !log.contains(body.as_str()),
            "a request body leaked into the logs"
        );
    }
}

#[tokio::test]
async fn a_bad_configuration_fails_the_cold_start_with_a_message_naming_the_variable() {
    let stack = Stack::start().await;
    let rie = Emulator::webhook(&stack, &[("DEDUP_TTL_SECONDS", "a week")]);
    let response = rie
        .invoke(&crate::common::sample(
            "events/salesloft/person_updated.json",
        ))
        .await;
    // The runtime never started, so the emulator answers with an error, not a status code.
    assert!(response.get("statusCode").is_none(), "{response}");
    assert!(log_has_init_error(&rie.log()), "{}", rie.log());
    let log = rie.log();
    assert!(log.contains("DEDUP_TTL_SECONDS is invalid"), "{log}");
    assert!(stack.drain(&stack.default_queue).await.is_empty());
}

fn log_has_init_error(log: &str) -> bool {
    log.contains("invalid configuration")
}

#[tokio::test]
async fn the_binary_reads_its_tokens_from_secrets_manager_when_given_a_secret_arn() {
    let stack = Stack::start().await;
    let (_, arn) = stack
        .create_secret(&format!(r#"{{"salesloft":["{TOKEN}"]}}"#))
        .await;
    let rie = Emulator::webhook(
        &stack,
        &[
            ("SECRET_ARN", arn.as_str()),
            ("SALESLOFT_SECRETS", ""),
            ("SALESOS_SECRETS", ""),
            ("STANDARD_WEBHOOKS_SECRETS", ""),
        ],
    );
    let ok = rie
        .invoke(&crate::common::sample(
            "events/salesloft/person_created.json",
        ))
        .await;
    assert_eq!(ok["statusCode"], 202, "{ok}\n{}", rie.log());
    let forged = rie
        .invoke(&crate::common::sample(
            "events/cases/wrong_key_signature.json",
        ))
        .await;
    assert_eq!(forged["statusCode"], 401, "{forged}");
    assert_eq!(stack.drain(&stack.default_queue).await.len(), 1);
    assert!(!rie.log().contains(TOKEN));
}

/// A Function URL event that lambda_http 1.x would panic on while building its request,
/// made from a valid signed sample with `change` applied.
fn broken(change: impl FnOnce(&mut serde_json::Value)) -> serde_json::Value {
    let mut event = crate::common::sample("events/salesloft/person_updated.json");
    change(&mut event);
    event
}

#[tokio::test]
async fn inputs_lambda_http_would_panic_on_get_a_400_and_the_process_keeps_serving() {
    let stack = Stack::start().await;
    let rie = Emulator::webhook(&stack, &[]);
    let cases: Vec<(&str, serde_json::Value, &str)> = vec![
        (
            "a body flagged base64 that does not decode",
            broken(|e| {
                e["isBase64Encoded"] = true.into();
                e["body"] = "not base64!".into();
            }),
            "invalid_base64_body",
        ),
        (
            "a Host header that makes the URL invalid",
            broken(|e| e["headers"]["host"] = "a b".into()),
            "malformed_request",
        ),
        (
            "an x-forwarded-proto that is not a URL scheme",
            broken(|e| e["headers"]["x-forwarded-proto"] = "1 bad".into()),
            "malformed_request",
        ),
        (
            "a Host with a port out of range",
            broken(|e| e["headers"]["host"] = "example.com:99999".into()),
            "malformed_request",
        ),
        (
            "a query string that is not a valid URI",
            broken(|e| e["rawQueryString"] = "a b".into()),
            "malformed_request",
        ),
        (
            "no Host and a path that is not a valid URL",
            broken(|e| {
                e["headers"].as_object_mut().unwrap().remove("host");
                e["requestContext"]
                    .as_object_mut()
                    .unwrap()
                    .remove("domainName");
                e["rawPath"] = "@".into();
            }),
            "malformed_request",
        ),
        (
            "an event lambda_http cannot read (a method that is not one)",
            broken(|e| e["requestContext"]["http"]["method"] = "NOT A METHOD".into()),
            "malformed_request",
        ),
    ];
    for (name, event, code) in cases {
        let response = rie.invoke(&event).await;
        assert_eq!(
            response["statusCode"],
            400,
            "{name}: {response}\n{}",
            rie.log()
        );
        let body: serde_json::Value =
            serde_json::from_str(response["body"].as_str().unwrap_or("null")).unwrap();
        assert_eq!(body["error"], code, "{name}");
    }
    let log = rie.log();
    assert!(!log.contains("panicked"), "{log}");
    // Still serving, through lambda_http's adapter.
    let ok = rie
        .invoke(&crate::common::sample(
            "events/salesloft/person_updated.json",
        ))
        .await;
    assert_eq!(ok["statusCode"], 202, "{ok}");
    assert_eq!(stack.drain(&stack.default_queue).await.len(), 1);
}

#[tokio::test]
async fn at_trace_level_no_body_signature_or_secret_is_logged_and_deliveries_carry_emf() {
    let stack = Stack::start().await;
    let rie = Emulator::webhook(&stack, &[("RUST_LOG", "trace")]);
    let accepted = crate::common::sample("events/salesloft/person_updated.json");
    let forged = crate::common::sample("events/cases/wrong_key_signature.json");
    assert_eq!(rie.invoke(&accepted).await["statusCode"], 202);
    assert_eq!(rie.invoke(&forged).await["statusCode"], 401);
    let log = rie.log();
    for secret in [TOKEN, SALESOS_SECRET, STANDARD_SECRET] {
        assert!(!log.contains(secret), "a secret was logged");
    }
    for event in [&accepted, &forged] {
        let body = event["body"].as_str().unwrap();
        assert!(!log.contains(body), "a body was logged");
        let signature = event["headers"]["x-salesloft-signature"].as_str().unwrap();
        assert!(!log.contains(signature), "a signature was logged");
        // Nor any recognisable part of the body.
        let first_name = serde_json::from_str::<serde_json::Value>(body).unwrap()["first_name"]
            .as_str()
            .map(str::to_string);
        if let Some(name) = first_name.filter(|n| n.len() > 3) {
            assert!(
                !log.contains(&format!("\"{name}\"")),
                "a body field was logged"
            );
        }
    }
    // Each delivery line is valid EMF with the delivery metrics.
    let deliveries: Vec<serde_json::Value> = log
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|l| l["message"] == "delivery")
        .collect();
    assert_eq!(deliveries.len(), 2, "{log}");
    let outcomes: Vec<&str> = deliveries
        .iter()
        .map(|l| l["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, ["accepted", "invalid_signature"]);
    for line in &deliveries {
        let directive = &line["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], "SalesloftWebhooks", "{line}");
        assert!(line["_aws"]["Timestamp"].is_u64());
        assert_eq!(line["Deliveries"], 1);
        assert!(line["HandlingLatency"].is_number());
        assert_eq!(line["provider"], "salesloft");
        assert!(line["timestamp"].is_string() && line["level"].is_string());
    }
}

#[tokio::test]
async fn the_prewarming_lever_opens_the_connections_during_init_and_the_function_serves() {
    let stack = Stack::start().await;
    let rie = Emulator::webhook(&stack, &[("PREWARM_CONNECTIONS", "true")]);
    let ok = rie
        .invoke(&crate::common::sample(
            "events/salesloft/person_updated.json",
        ))
        .await;
    assert_eq!(ok["statusCode"], 202, "{ok}");
    let log = rie.log();
    let prewarm: serde_json::Value = log
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|l| l["message"] == "prewarmed the AWS connections")
        .unwrap_or_else(|| panic!("no prewarm line:\n{log}"));
    // moto answers DescribeTable and GetQueueAttributes: nothing failed.
    assert_eq!(prewarm["failed"], 0, "{prewarm}");
    // Off by default: no prewarm line without the switch.
    let plain = Emulator::webhook(&stack, &[]);
    plain
        .invoke(&crate::common::sample(
            "events/salesloft/person_created.json",
        ))
        .await;
    assert!(!plain.log().contains("prewarmed"), "{}", plain.log());
}
