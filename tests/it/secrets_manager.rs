//! The Secrets Manager path against moto: tokens read at start, a rotation picked up by the
//! refresh, and the built binary configured only with `SECRET_ARN`.

use crate::common::now_ms;

use std::time::Duration;

use crate::common::fault_proxy::{Fault, FaultProxy};
use crate::common::{salesloft_event, sdk_config_at, Stack, TABLE};
use salesloft_webhooks::dedup::DynamoDbDedupStore;
use salesloft_webhooks::destinations::RouteTable;
use salesloft_webhooks::destinations::SqsPublisher;
use salesloft_webhooks::http::{handle, FunctionUrlResponse, Limits};
use salesloft_webhooks::secrets::{Keyring, RefreshPolicy, SecretsManagerSecretStore};
use salesloft_webhooks::senders::Provider;
use salesloft_webhooks::senders::SenderSettings;
use salesloft_webhooks::service::{Invocation, Service};

type RealService = Service<DynamoDbDedupStore, SqsPublisher>;

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
    send_as(s, "person_updated", body, token, at_ms).await
}

async fn send_as(
    s: &RealService,
    event_type: &str,
    body: &str,
    token: &str,
    at_ms: u64,
) -> FunctionUrlResponse {
    let inv = Invocation {
        now_ms: at_ms,
        deadline_ms: at_ms + 6_000,
        claim_token: format!("claim-{at_ms}-{token}-{event_type}"),
    };
    let event = salesloft_event(event_type, body, token);
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
    let (sm, arn) = stack
        .create_secret(r#"{"salesloft":["first-token"]}"#)
        .await;
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
    // Within the one-second backoff nothing is read: still 503 (no read per request).
    assert_eq!(
        send(&s, r#"{"id":1}"#, "tok", t0 + 1).await.status_code,
        503
    );
    assert_eq!(
        send(&s, r#"{"id":1}"#, "tok", t0 + 1_000).await.status_code,
        202
    );
}

#[tokio::test]
async fn a_body_signed_with_a_type_bound_token_cannot_be_replayed_under_another_type() {
    // Review defect 2: the same signed body with another x-salesloft-event was a new event.
    let stack = Stack::start().await;
    let (sm, arn) = stack.create_secret(
        r#"{"salesloft":{"person_updated":["updated-token"],"person_deleted":["deleted-token"]}}"#,
    )
    .await;
    let t0 = now_ms();
    let s = service(&stack, &sm, &arn, t0).await;
    let body = r#"{"id":77}"#;
    let r = send_as(&s, "person_updated", body, "updated-token", t0).await;
    assert_eq!(r.status_code, 202, "{}", r.body);
    for other in ["person_deleted", "person_created", "account_updated"] {
        let r = send_as(&s, other, body, "updated-token", t0 + 1).await;
        assert_eq!(r.status_code, 401, "{other}: {}", r.body);
    }
    assert_eq!(stack.drain(&stack.default_queue).await.len(), 1);
}

#[tokio::test]
async fn a_hung_secrets_manager_read_does_not_hold_the_request_and_the_cached_keys_keep_serving() {
    // Review defect 8: a refresh whose GetSecretValue hung stalled the request until the
    // Lambda timeout. The read is now bounded and the cached keys answer.
    let stack = Stack::start().await;
    let (_, arn) = stack
        .create_secret(r#"{"salesloft":["cached-token"]}"#)
        .await;
    let proxy = FaultProxy::start(&stack.moto.endpoint).await;
    let sm = aws_sdk_secretsmanager::Client::new(&sdk_config_at(&proxy.endpoint).await);
    let t0 = now_ms();
    let s = service(&stack, &sm, &arn, t0).await;
    proxy.inject(
        "GetSecretValue",
        None,
        Fault::Hang(Duration::from_secs(60)),
        None,
    );
    // Five minutes later (virtual clock) the keys are due for a refresh, which hangs.
    let r = tokio::time::timeout(
        Duration::from_secs(20),
        send(&s, r#"{"id":5}"#, "cached-token", t0 + 300_000),
    )
    .await
    .expect("answered long before the hung read would have ended");
    assert_eq!(r.status_code, 202, "{}", r.body);
    assert_eq!(
        proxy.count("GetSecretValue"),
        2,
        "the first read and the hung refresh"
    );
}
