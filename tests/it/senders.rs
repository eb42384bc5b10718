//! Each sender end to end through the handler, with the real DynamoDB and SQS adapters on
//! moto: SalesOS, Salesloft's timestamped variant and Standard Webhooks, each with several
//! secrets configured (rotation) and signed the way the sender signs.

use crate::common::now_ms;

use std::time::Duration;

use crate::common::{
    attr, secrets, standard_settings, timestamped_settings, Stack, SALESOS_SECRET, STANDARD_SECRET,
    TABLE, TOKEN,
};
use salesloft_webhooks::dedup::DynamoDbDedupStore;
use salesloft_webhooks::destinations::RouteTable;
use salesloft_webhooks::destinations::SqsPublisher;
use salesloft_webhooks::http::{handle, FunctionUrlResponse, Limits};
use salesloft_webhooks::senders::{salesloft, salesos, standard, Provider};
use salesloft_webhooks::service::{Invocation, Service};
use salesloft_webhooks::signature::{Secret, Verifier};

type RealService = Service<DynamoDbDedupStore, SqsPublisher>;

fn service(stack: &Stack, verifier: Verifier) -> RealService {
    let served = verifier.served();
    Service::new(
        DynamoDbDedupStore::new(stack.ddb.clone(), TABLE),
        SqsPublisher::new(stack.sqs.clone()),
        verifier,
        RouteTable::new(Some(stack.default_queue.clone()), vec![], &served).unwrap(),
        Duration::from_secs(604_800),
    )
}

fn all_senders(timestamped: bool) -> Verifier {
    let settings = if timestamped {
        timestamped_settings(300)
    } else {
        standard_settings(300)
    };
    Verifier::new(settings)
        .with_keys(
            Provider::Salesloft,
            vec![Secret::new("retired-token"), Secret::new(TOKEN)],
        )
        .with_keys(
            Provider::SalesOs,
            vec![Secret::new("so_old"), Secret::new(SALESOS_SECRET)],
        )
        .with_keys(
            Provider::StandardWebhooks,
            secrets(
                Provider::StandardWebhooks,
                &format!("whsec_b2xkLXNlY3JldA==,{STANDARD_SECRET}"),
            ),
        )
}

fn event(path: &str, headers: serde_json::Value, body: &str) -> serde_json::Value {
    serde_json::json!({
        "rawPath": path,
        "headers": headers,
        "requestContext": {"http": {"method": "POST", "path": path}},
        "body": body,
        "isBase64Encoded": false
    })
}

async fn send(s: &RealService, e: &serde_json::Value, at_ms: u64) -> FunctionUrlResponse {
    let inv = Invocation {
        now_ms: at_ms,
        deadline_ms: at_ms + 10_000,
        claim_token: format!("{at_ms}-{}", rand_suffix()),
    };
    handle(
        s,
        Limits {
            max_body_bytes: 1_044_480,
        },
        e.clone(),
        &inv,
    )
    .await
}

fn rand_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::SeqCst)
}

fn salesos_event(body: &str, secret: &str) -> serde_json::Value {
    let sig = salesos::sign(secret.as_bytes(), body.as_bytes());
    event(
        "/salesos",
        serde_json::json!({"x-webhook-signature": sig}),
        body,
    )
}

fn standard_event(id: &str, ts: u64, body: &str, whsec: &str) -> serde_json::Value {
    let key = secrets(Provider::StandardWebhooks, whsec).remove(0);
    let v1 = standard::sign(&key, id, &ts.to_string(), body.as_bytes());
    event(
        "/standard",
        serde_json::json!({
            "webhook-id": id,
            "webhook-timestamp": ts.to_string(),
            "webhook-signature": format!("v2,abc {v1}"),
        }),
        body,
    )
}

fn timestamped_salesloft_event(event_type: &str, ts: u64, body: &str) -> serde_json::Value {
    let sig = salesloft::sign_timestamped(TOKEN.as_bytes(), &ts.to_string(), body.as_bytes());
    event(
        "/salesloft",
        serde_json::json!({
            "x-salesloft-event": event_type,
            "x-salesloft-signature": sig,
            "x-salesloft-timestamp": ts.to_string(),
        }),
        body,
    )
}

#[tokio::test]
async fn a_salesos_delivery_is_published_once_under_its_own_event_id() {
    let stack = Stack::start().await;
    let s = service(&stack, all_senders(false));
    let body = r#"{"id":"evt_abc123","type":"lead.created","timestamp":"2026-11-23T14:00:00Z","organizationId":"org_xyz789","data":{"id":"lead_def456","firstName":"Jane"}}"#;
    let now = now_ms();
    let r = send(&s, &salesos_event(body, SALESOS_SECRET), now).await;
    assert_eq!(r.status_code, 202, "{}", r.body);
    assert_eq!(r.json_body()["event_id"], "evt_abc123");
    // SalesOS retries (minutes apart) are duplicates; so is a retry signed with the older
    // of the two configured secrets.
    assert_eq!(
        send(&s, &salesos_event(body, SALESOS_SECRET), now + 60_000)
            .await
            .status_code,
        200
    );
    assert_eq!(
        send(&s, &salesos_event(body, "so_old"), now + 300_000)
            .await
            .status_code,
        200
    );
    // A forged one is refused before any AWS call.
    assert_eq!(
        send(&s, &salesos_event(body, "guess"), now)
            .await
            .status_code,
        401
    );

    let messages = stack.drain(&stack.default_queue).await;
    assert_eq!(messages.len(), 1);
    assert_eq!(attr(&messages[0], "provider"), "salesos");
    assert_eq!(attr(&messages[0], "event_type"), "lead.created");
    assert_eq!(attr(&messages[0], "event_id"), "evt_abc123");
    let items = stack.table_items().await;
    assert_eq!(items[0]["pk"].as_s().unwrap(), "salesos#evt_abc123");
}

#[tokio::test]
async fn a_standard_webhooks_delivery_is_verified_within_its_window_and_deduplicated_by_webhook_id()
{
    let stack = Stack::start().await;
    let s = service(&stack, all_senders(false));
    let now = now_ms();
    let ts = now / 1000;
    let body = r#"{"type":"contact.created","timestamp":"2026-11-23T14:00:00Z","data":{"id":42}}"#;
    let id = "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W";
    let r = send(&s, &standard_event(id, ts, body, STANDARD_SECRET), now).await;
    assert_eq!(r.status_code, 202, "{}", r.body);
    assert_eq!(r.json_body()["event_id"], id);
    // The retry is re-signed with a new timestamp; the webhook-id makes it a duplicate.
    let retry = standard_event(id, ts + 5, body, "whsec_b2xkLXNlY3JldA==");
    assert_eq!(send(&s, &retry, now + 5_000).await.status_code, 200);
    // Replayed outside the 300 s window: refused.
    let replay = standard_event("msg_other", ts, body, STANDARD_SECRET);
    assert_eq!(send(&s, &replay, now + 301_000).await.status_code, 401);

    let messages = stack.drain(&stack.default_queue).await;
    assert_eq!(messages.len(), 1);
    assert_eq!(attr(&messages[0], "provider"), "standard");
    assert_eq!(attr(&messages[0], "event_id"), id);
}

#[tokio::test]
async fn a_timestamped_salesloft_deployment_accepts_fresh_deliveries_and_refuses_stale_ones() {
    let stack = Stack::start().await;
    let s = service(&stack, all_senders(true));
    let now = now_ms();
    let ts = now / 1000;
    let body = r#"{"id":5,"first_name":"Ada"}"#;
    let r = send(
        &s,
        &timestamped_salesloft_event("person_updated", ts, body),
        now,
    )
    .await;
    assert_eq!(r.status_code, 202, "{}", r.body);
    for skew in [-301i64, 301] {
        let at = (now as i64 + skew * 1000) as u64;
        let r = send(
            &s,
            &timestamped_salesloft_event("person_created", ts, body),
            at,
        )
        .await;
        assert_eq!(r.status_code, 401, "skew {skew}");
    }
    // The plain SHA-1 form is not accepted once the timestamped scheme is switched on.
    let plain = crate::common::salesloft_event("person_deleted", body, TOKEN);
    assert_eq!(send(&s, &plain, now).await.status_code, 401);
    assert_eq!(stack.drain(&stack.default_queue).await.len(), 1);
    assert_eq!(stack.table_items().await.len(), 1);
}

#[tokio::test]
async fn a_sender_without_a_secret_is_not_served() {
    let stack = Stack::start().await;
    let s = service(
        &stack,
        Verifier::default().with_keys(Provider::SalesOs, vec![Secret::new(SALESOS_SECRET)]),
    );
    let now = now_ms();
    let salesloft = crate::common::salesloft_event("person_updated", r#"{"id":1}"#, TOKEN);
    assert_eq!(send(&s, &salesloft, now).await.status_code, 404);
    let standard = standard_event("msg_1", now / 1000, r#"{"type":"a.b"}"#, STANDARD_SECRET);
    assert_eq!(send(&s, &standard, now).await.status_code, 404);
    assert!(stack.table_items().await.is_empty());
}
