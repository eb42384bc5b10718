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
    let sm = aws_sdk_secretsmanager::Client::new(&stack.moto.sdk_config().await);
    let arn = sm
        .create_secret()
        .name("salesloft-webhooks/senders")
        .secret_string(format!(r#"{{"salesloft":["{TOKEN}"]}}"#))
        .send()
        .await
        .unwrap()
        .arn()
        .unwrap()
        .to_string();
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
