//! The Secrets Manager path against moto: tokens read at start, a rotation picked up by the
//! refresh, and the built binary configured only with `SECRET_ARN`.

use crate::common::now_ms;

use std::time::Duration;

use crate::common::{salesloft_event, Stack, TABLE};
use salesloft_webhooks::dedup::DynamoDbDedupStore;
use salesloft_webhooks::destinations::RouteTable;
use salesloft_webhooks::destinations::SqsPublisher;
use salesloft_webhooks::http::{handle, FunctionUrlResponse, Limits};
use salesloft_webhooks::secrets::{Keyring, RefreshPolicy, SecretsManagerSecretStore};
use salesloft_webhooks::senders::Provider;
use salesloft_webhooks::senders::SenderSettings;
use salesloft_webhooks::service::{Invocation, Service};

type RealService = Service<DynamoDbDedupStore, SqsPublisher>;

async fn create_secret(stack: &Stack, value: &str) -> (aws_sdk_secretsmanager::Client, String) {
    let sm = aws_sdk_secretsmanager::Client::new(&stack.moto.sdk_config().await);
    let arn = sm
        .create_secret()
        .name("salesloft-webhooks/senders")
        .secret_string(value)
        .send()
        .await
        .expect("create secret")
        .arn()
        .unwrap()
        .to_string();
    (sm, arn)
}

/// The real service, its secrets read from `secret_id` in Secrets Manager (first at `t0`).
async fn service(
    stack: &Stack,
    sm: &aws_sdk_secretsmanager::Client,
    secret_id: &str,
    t0: u64,
) -> RealService {
    let keys = Keyring::from_store(
        Box::new(SecretsManagerSecretStore::new(sm.clone(), secret_id)),
        SenderSettings::default(),
        RefreshPolicy::default(),
        t0,
    )
    .await;
    Service::with_keyring(
        DynamoDbDedupStore::new(stack.ddb.clone(), TABLE),
        SqsPublisher::new(stack.sqs.clone()),
        keys,
        RouteTable::new(Some(stack.default_queue.clone()), vec![], Provider::ALL).unwrap(),
        Duration::from_secs(604_800),
    )
}

async fn send(s: &RealService, body: &str, token: &str, at_ms: u64) -> FunctionUrlResponse {
    let inv = Invocation {
        now_ms: at_ms,
        deadline_ms: at_ms + 6_000,
        claim_token: format!("claim-{at_ms}-{token}"),
    };
    let event = salesloft_event("person_updated", body, token);
    handle(
        s,
        Limits {
            max_body_bytes: 1_044_480,
        },
        event,
        &inv,
    )
    .await
}

#[tokio::test]
async fn tokens_are_read_from_secrets_manager_and_a_rotation_is_picked_up() {
    let stack = Stack::start().await;
    let (sm, arn) = create_secret(&stack, r#"{"salesloft":["first-token"]}"#).await;
    let t0 = now_ms();
    let s = service(&stack, &sm, &arn, t0).await;
    assert_eq!(
        send(&s, r#"{"id":1}"#, "first-token", t0).await.status_code,
        202
    );

    // Rotation, step 1: add the new token next to the old one.
    sm.put_secret_value()
        .secret_id(&arn)
        .secret_string(r#"{"salesloft":["first-token","second-token"]}"#)
        .send()
        .await
        .unwrap();
    // Within a minute of the last read the keys are not re-read: still refused.
    assert_eq!(
        send(&s, r#"{"id":2}"#, "second-token", t0 + 30_000)
            .await
            .status_code,
        401
    );
    // Over a minute old: the first failure re-reads the secret and the delivery verifies.
    assert_eq!(
        send(&s, r#"{"id":2}"#, "second-token", t0 + 61_000)
            .await
            .status_code,
        202
    );

    // Step 2: retire the old token; after the refresh interval it no longer verifies.
    sm.put_secret_value()
        .secret_id(&arn)
        .secret_string(r#"{"salesloft":["second-token"]}"#)
        .send()
        .await
        .unwrap();
    let later = t0 + 61_000 + 300_000;
    assert_eq!(
        send(&s, r#"{"id":3}"#, "first-token", later)
            .await
            .status_code,
        401
    );
    assert_eq!(
        send(&s, r#"{"id":3}"#, "second-token", later)
            .await
            .status_code,
        202
    );
    assert_eq!(stack.drain(&stack.default_queue).await.len(), 3);
}

#[tokio::test]
async fn an_unreachable_secret_answers_503_until_it_can_be_read() {
    let stack = Stack::start().await;
    let sm = aws_sdk_secretsmanager::Client::new(&stack.moto.sdk_config().await);
    let t0 = now_ms();
    let s = service(&stack, &sm, "salesloft-webhooks/missing", t0).await;
    let r = send(&s, r#"{"id":1}"#, "tok", t0).await;
    assert_eq!(r.status_code, 503, "{}", r.body);
    assert!(r.headers.contains_key("retry-after"));
    sm.create_secret()
        .name("salesloft-webhooks/missing")
        .secret_string("tok")
        .send()
        .await
        .unwrap();
    assert_eq!(
        send(&s, r#"{"id":1}"#, "tok", t0 + 1).await.status_code,
        202
    );
}
