//! Integration tests: the real handler with the real DynamoDB and SQS adapters (AWS SDK for
//! Rust) against a moto server on loopback.

use crate::common::now_ms;

use std::sync::Arc;
use std::time::Duration;

use crate::common::{attr, salesloft_event, sample, secrets, Stack, TABLE, TOKEN};
use aws_sdk_dynamodb::types::AttributeValue;
use salesloft_webhooks::dedup::DynamoDbDedupStore;
use salesloft_webhooks::destinations::SqsPublisher;
use salesloft_webhooks::destinations::{RouteSpec, RouteTable};
use salesloft_webhooks::http::{handle, FunctionUrlResponse, Limits};
use salesloft_webhooks::senders::Provider;
use salesloft_webhooks::service::{Invocation, Service};
use salesloft_webhooks::signature::Verifier;

type RealService = Service<DynamoDbDedupStore, SqsPublisher>;

const LIMITS: Limits = Limits {
    max_body_bytes: 1_044_480,
};

fn service(stack: &Stack, routes: Vec<RouteSpec>) -> RealService {
    Service::new(
        DynamoDbDedupStore::new(stack.ddb.clone(), TABLE),
        SqsPublisher::new(stack.sqs.clone()),
        Verifier::default().with_keys(
            Provider::Salesloft,
            secrets(Provider::Salesloft, &format!("rotated-out-token,{TOKEN}")),
        ),
        RouteTable::new(
            Some(stack.default_queue.clone()),
            routes,
            &[Provider::Salesloft],
        )
        .unwrap(),
        Duration::from_secs(604_800),
    )
}

fn inv(token: &str) -> Invocation {
    let now = now_ms();
    Invocation {
        now_ms: now,
        deadline_ms: now + 10_000,
        claim_token: token.to_string(),
    }
}

async fn send(s: &RealService, event: &serde_json::Value, token: &str) -> FunctionUrlResponse {
    handle(s, LIMITS, event.clone(), &inv(token)).await
}

fn route(name: &str, queue_url: &str, events: &[&str]) -> RouteSpec {
    RouteSpec {
        name: name.into(),
        queue_url: queue_url.into(),
        events: events.iter().map(|e| e.to_string()).collect(),
        providers: None,
        copy: false,
    }
}

fn event_id(r: &FunctionUrlResponse) -> String {
    r.json_body()["event_id"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

async fn record(stack: &Stack, key: &str) -> std::collections::HashMap<String, AttributeValue> {
    stack
        .ddb
        .get_item()
        .table_name(TABLE)
        .key("pk", AttributeValue::S(key.into()))
        .consistent_read(true)
        .send()
        .await
        .unwrap()
        .item()
        .cloned()
        .expect("record exists")
}

#[tokio::test]
async fn a_new_delivery_is_accepted_and_lands_once_on_each_matching_queue_with_attributes() {
    let stack = Stack::start().await;
    let people = stack.create_queue("people").await;
    let s = service(&stack, vec![route("people", &people, &["person_*"])]);

    let r = send(&s, &sample("events/salesloft/person_updated.json"), "a").await;
    assert_eq!(r.status_code, 202, "{}", r.body);
    assert_eq!(r.json_body()["status"], "accepted");
    let id = event_id(&r);

    let on_people = stack.drain(&people).await;
    assert_eq!(on_people.len(), 1);
    let m = &on_people[0];
    assert_eq!(attr(m, "provider"), "salesloft");
    assert_eq!(attr(m, "event_type"), "person_updated");
    assert_eq!(attr(m, "event_id"), id);
    let env: serde_json::Value = serde_json::from_str(m.body().unwrap()).unwrap();
    assert_eq!(env["version"], 1);
    assert_eq!(env["event_id"], id.as_str());
    // A person event matched a route, so the default queue gets nothing.
    assert!(stack.drain(&stack.default_queue).await.is_empty());

    // An event no route matches goes to the default queue.
    let r = send(&s, &sample("events/salesloft/account_created.json"), "b").await;
    assert_eq!(r.status_code, 202);
    assert_eq!(stack.drain(&stack.default_queue).await.len(), 1);

    let item = record(&stack, &format!("salesloft#{id}")).await;
    assert_eq!(item["status"].as_s().unwrap(), "COMPLETED");
    assert_eq!(item["event_type"].as_s().unwrap(), "person_updated");
    let expires: u64 = item["expires_at"].as_n().unwrap().parse().unwrap();
    let ttl = expires - now_ms() / 1000;
    assert!((604_700..=604_800).contains(&ttl), "ttl {ttl}");
    assert_eq!(item["delivered"].as_ss().unwrap(), &["people".to_string()]);
}

#[tokio::test]
async fn salesloft_retries_of_a_delivered_event_are_duplicates_and_publish_nothing() {
    let stack = Stack::start().await;
    let s = service(&stack, vec![]);
    let event = sample("events/salesloft/task_completed.json");
    assert_eq!(send(&s, &event, "first").await.status_code, 202);
    for attempt in 0..4 {
        let r = send(&s, &event, &format!("retry{attempt}")).await;
        assert_eq!(r.status_code, 200, "{}", r.body);
        assert_eq!(r.json_body()["status"], "duplicate");
    }
    assert_eq!(stack.drain(&stack.default_queue).await.len(), 1);
}

#[tokio::test]
async fn twenty_concurrent_identical_deliveries_publish_exactly_one_message() {
    let stack = Stack::start().await;
    let s = Arc::new(service(&stack, vec![]));
    let event = Arc::new(sample("events/salesloft/call_created.json"));
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let (s, event) = (s.clone(), event.clone());
            tokio::spawn(async move { send(&s, &event, &format!("c{i}")).await.status_code })
        })
        .collect();
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 202).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| [200, 202, 409].contains(s)),
        "{statuses:?}"
    );
    assert_eq!(stack.drain(&stack.default_queue).await.len(), 1);
}

#[tokio::test]
async fn a_bad_signature_leaves_dynamodb_and_sqs_untouched() {
    let stack = Stack::start().await;
    let s = service(&stack, vec![]);
    for case in [
        "events/cases/bad_signature.json",
        "events/cases/missing_signature.json",
        "events/cases/wrong_key_signature.json",
    ] {
        let r = send(&s, &sample(case), "x").await;
        assert_eq!(r.status_code, 401, "{case}");
        assert_eq!(
            r.json_body(),
            serde_json::json!({"error": "invalid_signature"})
        );
    }
    assert!(stack.table_items().await.is_empty());
    assert!(stack.drain(&stack.default_queue).await.is_empty());
}

#[tokio::test]
async fn an_sqs_failure_after_the_claim_releases_it_and_the_retry_delivers_exactly_once() {
    let stack = Stack::start().await;
    // The route's queue does not exist yet: SQS refuses the send after the claim.
    let late = stack.queue_url("late");
    let s = service(&stack, vec![route("late", &late, &["*"])]);
    let event = sample("events/salesloft/note_created.json");

    let r = send(&s, &event, "first").await;
    assert_eq!(r.status_code, 503, "{}", r.body);
    assert_eq!(r.json_body(), serde_json::json!({"error": "unavailable"}));
    assert!(r.headers.contains_key("retry-after"));
    let items = stack.table_items().await;
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["status"].as_s().unwrap(), "RELEASED");
    assert!(!items[0].contains_key("delivered"));

    stack.create_queue("late").await;
    let r = send(&s, &event, "retry").await;
    assert_eq!(r.status_code, 202, "{}", r.body);
    assert_eq!(send(&s, &event, "again").await.status_code, 200);
    assert_eq!(stack.drain(&late).await.len(), 1);
}

#[tokio::test]
async fn a_partial_fan_out_failure_resends_only_the_missing_destination() {
    let stack = Stack::start().await;
    let crm = stack.create_queue("crm").await;
    let search = stack.create_queue("search").await;
    let audit = stack.queue_url("audit");
    let s = service(
        &stack,
        vec![
            route("crm", &crm, &["person_*"]),
            route("audit", &audit, &["*"]),
            route("search", &search, &["*_updated"]),
        ],
    );
    let event = sample("events/salesloft/person_updated.json");
    let r = send(&s, &event, "first").await;
    assert_eq!(r.status_code, 503);
    let items = stack.table_items().await;
    let mut delivered = items[0]["delivered"].as_ss().unwrap().to_vec();
    delivered.sort();
    assert_eq!(delivered, ["crm", "search"]);

    stack.create_queue("audit").await;
    assert_eq!(send(&s, &event, "retry").await.status_code, 202);
    assert_eq!(stack.drain(&crm).await.len(), 1);
    assert_eq!(stack.drain(&search).await.len(), 1);
    assert_eq!(stack.drain(&audit).await.len(), 1);
    assert!(stack.drain(&stack.default_queue).await.is_empty());
}

async fn put_record(
    stack: &Stack,
    key: &str,
    status: &str,
    lease_until_ms: u64,
    expires_at_s: u64,
) {
    stack
        .ddb
        .put_item()
        .table_name(TABLE)
        .item("pk", AttributeValue::S(key.into()))
        .item("status", AttributeValue::S(status.into()))
        .item("claim", AttributeValue::S("someone-else".into()))
        .item("lease_until", AttributeValue::N(lease_until_ms.to_string()))
        .item("expires_at", AttributeValue::N(expires_at_s.to_string()))
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn expired_and_abandoned_records_are_claimable_and_a_held_lease_answers_409() {
    let stack = Stack::start().await;
    let s = service(&stack, vec![]);
    let now = now_ms();
    let day = 86_400;

    // Expired but not yet swept by DynamoDB's TTL: the condition treats it as absent.
    let e1 = salesloft_event("person_updated", r#"{"id":1}"#, TOKEN);
    let k1 = format!(
        "salesloft#{}",
        salesloft_webhooks::senders::salesloft::derived_event_id("person_updated", br#"{"id":1}"#)
    );
    put_record(&stack, &k1, "COMPLETED", 0, now / 1000 - day).await;
    assert_eq!(send(&s, &e1, "t1").await.status_code, 202);

    // IN_PROGRESS past its lease (a crashed invocation): taken over.
    let e2 = salesloft_event("person_updated", r#"{"id":2}"#, TOKEN);
    let k2 = format!(
        "salesloft#{}",
        salesloft_webhooks::senders::salesloft::derived_event_id("person_updated", br#"{"id":2}"#)
    );
    put_record(&stack, &k2, "IN_PROGRESS", now - 1_000, now / 1000 + day).await;
    assert_eq!(send(&s, &e2, "t2").await.status_code, 202);

    // IN_PROGRESS within its lease: 409 with Retry-After, nothing published.
    let e3 = salesloft_event("person_updated", r#"{"id":3}"#, TOKEN);
    let k3 = format!(
        "salesloft#{}",
        salesloft_webhooks::senders::salesloft::derived_event_id("person_updated", br#"{"id":3}"#)
    );
    put_record(&stack, &k3, "IN_PROGRESS", now + 8_000, now / 1000 + day).await;
    let r = send(&s, &e3, "t3").await;
    assert_eq!(r.status_code, 409, "{}", r.body);
    assert_eq!(r.json_body(), serde_json::json!({"status": "in_progress"}));
    let retry_after: u64 = r.headers["retry-after"].parse().unwrap();
    assert!((1..=9).contains(&retry_after), "{retry_after}");

    // Completed and unexpired: a duplicate.
    let e4 = salesloft_event("person_updated", r#"{"id":4}"#, TOKEN);
    let k4 = format!(
        "salesloft#{}",
        salesloft_webhooks::senders::salesloft::derived_event_id("person_updated", br#"{"id":4}"#)
    );
    put_record(&stack, &k4, "COMPLETED", 0, now / 1000 + day).await;
    assert_eq!(send(&s, &e4, "t4").await.status_code, 200);

    assert_eq!(stack.drain(&stack.default_queue).await.len(), 2);
    assert_eq!(
        record(&stack, &k3).await["claim"].as_s().unwrap(),
        "someone-else"
    );
}

#[tokio::test]
async fn a_fifo_destination_receives_group_and_deduplication_ids() {
    let stack = Stack::start().await;
    let audit = stack.create_queue("audit.fifo").await;
    let s = service(&stack, vec![route("audit", &audit, &["*"])]);
    let r = send(&s, &sample("events/salesloft/person_updated.json"), "f").await;
    assert_eq!(r.status_code, 202, "{}", r.body);
    let messages = stack.drain(&audit).await;
    assert_eq!(messages.len(), 1);
    let system = messages[0].attributes().unwrap();
    use aws_sdk_sqs::types::MessageSystemAttributeName as A;
    let body: serde_json::Value = serde_json::from_str(messages[0].body().unwrap()).unwrap();
    let resource_id = body["payload"]["id"].to_string();
    assert_eq!(
        system[&A::MessageGroupId],
        format!("salesloft:{resource_id}")
    );
    assert_eq!(system[&A::MessageDeduplicationId].len(), 64);
}

#[tokio::test]
async fn a_128_character_event_type_reaches_a_fifo_queue_with_a_group_id_sqs_accepts() {
    // moto accepts a 138-character group id; real SQS refuses it. The group id must stay
    // within 128 characters whatever the event type.
    let stack = Stack::start().await;
    let audit = stack.create_queue("audit.fifo").await;
    let s = service(&stack, vec![route("audit", &audit, &["*"])]);
    let event_type = "t".repeat(128);
    let event = crate::common::salesloft_event(&event_type, r#"{"name":"no id"}"#, TOKEN);
    let r = send(&s, &event, "long").await;
    assert_eq!(r.status_code, 202, "{}", r.body);
    let messages = stack.drain(&audit).await;
    assert_eq!(messages.len(), 1);
    use aws_sdk_sqs::types::MessageSystemAttributeName as A;
    let group = &messages[0].attributes().unwrap()[&A::MessageGroupId];
    assert!(group.len() <= 128, "{} characters: {group}", group.len());
}

#[tokio::test]
async fn a_body_with_characters_sqs_refuses_is_a_400_and_touches_neither_store() {
    let stack = Stack::start().await;
    let s = service(&stack, vec![]);
    for (i, bad) in ["\u{FFFE}", "\u{FFFF}"].into_iter().enumerate() {
        let body = format!(r#"{{"id":{i},"note":"{bad}"}}"#);
        let event = crate::common::salesloft_event("person_updated", &body, TOKEN);
        let r = send(&s, &event, "chars").await;
        assert_eq!(r.status_code, 400, "{}", r.body);
        assert_eq!(r.json_body()["error"], "unsupported_characters");
    }
    assert!(stack.table_items().await.is_empty(), "nothing claimed");
    assert!(stack.drain(&stack.default_queue).await.is_empty());
}

#[tokio::test]
async fn a_base64_encoded_body_is_verified_over_the_decoded_bytes() {
    let stack = Stack::start().await;
    let s = service(&stack, vec![]);
    let r = send(&s, &sample("events/cases/base64_body.json"), "b").await;
    assert_eq!(r.status_code, 202, "{}", r.body);
    let m = stack.drain(&stack.default_queue).await;
    let env: serde_json::Value = serde_json::from_str(m[0].body().unwrap()).unwrap();
    assert!(env["payload"].is_object());
}

#[tokio::test]
async fn a_dynamodb_outage_answers_503_and_publishes_nothing() {
    let stack = Stack::start().await;
    let s = service(&stack, vec![]);
    stack
        .ddb
        .delete_table()
        .table_name(TABLE)
        .send()
        .await
        .unwrap();
    let r = send(&s, &sample("events/salesloft/user_created.json"), "d").await;
    assert_eq!(r.status_code, 503, "{}", r.body);
    assert_eq!(r.json_body(), serde_json::json!({"error": "unavailable"}));
    assert!(stack.drain(&stack.default_queue).await.is_empty());
}
