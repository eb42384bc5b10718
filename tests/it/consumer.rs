//! The consumer side: the envelope API, the batch processor on in-memory ports, the DynamoDB
//! idempotency store on moto, and end to end: a signed webhook through the `webhook` binary,
//! the message from moto's SQS turned into an `SqsEvent`, and the `consumer` binary, both
//! under the Lambda Runtime Interface Emulator.

use crate::common::now_ms;

use std::collections::BTreeSet;
use std::sync::Mutex;
use std::time::Duration;

use crate::common::emulator::{consumer_binary, Emulator};
use crate::common::{repo_path, Stack, TOKEN};
use aws_lambda_events::sqs::{SqsEvent, SqsMessage};
use aws_sdk_dynamodb::types::AttributeValue;
use salesloft_webhooks_consumer::example::Person;
use salesloft_webhooks_consumer::{
    idempotency_key, process_batch, BatchContext, Claim, DynamoDbIdempotencyStore, Envelope,
    EnvelopeError, ExampleHandler, HandlerError, IdempotencyStore, MemoryIdempotencyStore,
    RecordAttributes, RecordHandler, RecordOutcome, SalesloftEvent, VERSION,
};
use serde_json::{json, Value};

const CONSUMER_TABLE: &str = "salesloft-webhooks-consumer";
const POISON_ID: &str = "6634190f-e854-5cd9-bc8f-468ab490a3da";

/// The queue the test records come from (the consumer's name in the idempotency keys).
const QUEUE_ARN: &str = "arn:aws:sqs:us-east-1:123456789012:salesloft-webhooks-events";

fn ctx() -> BatchContext {
    let now = now_ms();
    BatchContext {
        now_ms: now,
        deadline_ms: now + 30_000,
        consumer: None,
    }
}

fn envelope_body(event_type: &str, event_id: &str, payload: &str) -> String {
    format!(
        r#"{{"version":1,"provider":"salesloft","event_type":"{event_type}","event_id":"{event_id}","received_at":"2026-11-23T14:00:00.000Z","payload":{payload}}}"#
    )
}

/// An SQS record as Lambda delivers it, with the attributes the webhook sets.
fn record(message_id: &str, body: &str, attributes: &[(&str, &str)]) -> Value {
    let message_attributes: serde_json::Map<String, Value> = attributes
        .iter()
        .map(|(name, value)| {
            (
                name.to_string(),
                json!({"stringValue": value, "stringListValues": [], "binaryListValues": [], "dataType": "String"}),
            )
        })
        .collect();
    json!({
        "messageId": message_id,
        "receiptHandle": format!("AQEB-{message_id}"),
        "body": body,
        "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1795442400040"},
        "messageAttributes": message_attributes,
        "eventSource": "aws:sqs",
        "eventSourceARN": QUEUE_ARN,
        "awsRegion": "us-east-1"
    })
}

fn envelope_record(message_id: &str, event_type: &str, event_id: &str, payload: &str) -> Value {
    record(
        message_id,
        &envelope_body(event_type, event_id, payload),
        &[
            ("provider", "salesloft"),
            ("event_type", event_type),
            ("event_id", event_id),
        ],
    )
}

fn batch(records: Vec<Value>) -> SqsEvent {
    serde_json::from_value(json!({ "Records": records })).expect("an SqsEvent")
}

fn sqs_sample(name: &str) -> SqsEvent {
    let text = std::fs::read_to_string(repo_path(&format!("events/sqs/{name}"))).unwrap();
    serde_json::from_str(&text).expect("the sample is an SqsEvent")
}

fn failed_ids(response: &aws_lambda_events::sqs::SqsBatchResponse) -> Vec<String> {
    response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.clone())
        .collect()
}

/// A handler that records the event ids it is given and fails as told.
#[derive(Default)]
struct RecordingHandler {
    seen: Mutex<Vec<String>>,
    /// Event ids to fail with a transient error (once each).
    fail_once: Mutex<BTreeSet<String>>,
}

impl RecordingHandler {
    fn seen(&self) -> Vec<String> {
        self.seen.lock().unwrap().clone()
    }
}

impl RecordHandler for RecordingHandler {
    async fn handle(&self, envelope: &Envelope) -> Result<&'static str, HandlerError> {
        self.seen.lock().unwrap().push(envelope.event_id.clone());
        if self.fail_once.lock().unwrap().remove(&envelope.event_id) {
            return Err(HandlerError::Transient("downstream unavailable".into()));
        }
        Ok("recorded")
    }
}

// --- the envelope ------------------------------------------------------------------------

#[test]
fn the_payload_is_kept_byte_for_byte() {
    let payload = "{ \"id\" : 1.50, \"big\": 12345678901234567890123, \"s\":\"caf\\u00e9 \\/ \u{e9}\" ,\"n\":null }";
    let env = Envelope::parse(&envelope_body("person_updated", "abc", payload)).unwrap();
    assert_eq!(env.raw_payload(), payload);
    assert_eq!(env.version, VERSION);
    assert_eq!(env.provider, "salesloft");
    assert_eq!(env.event_type, "person_updated");
    assert_eq!(env.event_id, "abc");
    assert_eq!(env.received_at, "2026-11-23T14:00:00.000Z");
    // Serialising the envelope again writes the payload unchanged, too.
    let again = serde_json::to_string(&env).unwrap();
    assert!(
        again.ends_with(&format!("\"payload\":{payload}}}")),
        "{again}"
    );
}

#[test]
fn the_payload_of_a_real_delivery_decodes_into_a_typed_struct() {
    let event = sqs_sample("batch.json");
    let body = event.records[0].body.as_deref().unwrap();
    let env = Envelope::parse(body).unwrap();
    let person: Person = env.payload_as().unwrap();
    assert_eq!(person.id, 2_000_002);
    assert_eq!(
        person.email_address.as_deref(),
        Some("jose.muller@northwind.example")
    );
    assert_eq!(person.do_not_contact, Some(false));
    // The same in one pass, and by converting the raw envelope.
    let typed: Envelope<Person> = Envelope::parse_typed(body).unwrap();
    assert_eq!(typed.payload, person);
    assert_eq!(env.clone().into_typed::<Person>().unwrap().payload, person);
    assert_eq!(env.salesloft_event(), Some(SalesloftEvent::PersonUpdated));
}

#[test]
fn an_unknown_envelope_version_is_rejected_with_a_clear_error() {
    let body = r#"{"version":2,"provider":"salesloft","kind":"person_updated","data":{}}"#;
    let err = Envelope::parse(body).unwrap_err();
    assert!(
        matches!(err, EnvelopeError::UnsupportedVersion { found: 2 }),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "unsupported envelope version 2: this consumer reads version 1 only"
    );
    assert_eq!(err.code(), "unsupported_version");
}

#[test]
fn a_body_that_is_not_an_envelope_is_malformed() {
    for body in [
        "not json",
        r#"{"id":2000002}"#,
        r#"{"version":"1"}"#,
        r#"{"version":1,"provider":"salesloft"}"#,
    ] {
        let err = Envelope::parse(body).unwrap_err();
        assert_eq!(err.code(), "malformed_envelope", "{body}: {err}");
    }
}

#[test]
fn error_messages_do_not_quote_the_payload() {
    let env = Envelope::parse(&envelope_body(
        "person_updated",
        "abc",
        r#"{"id":"jose.muller@northwind.example"}"#,
    ))
    .unwrap();
    let err = env.payload_as::<Person>().unwrap_err();
    assert_eq!(err.code(), "unexpected_payload");
    assert!(!err.to_string().contains("jose"), "{err}");
    let missing = env.payload_as::<Vec<u8>>().unwrap_err().to_string();
    assert!(!missing.contains("jose"), "{missing}");
    let no_id = Envelope::parse(&envelope_body("person_updated", "abc", r#"{"name":"x"}"#))
        .unwrap()
        .payload_as::<Person>()
        .unwrap_err();
    assert!(no_id.to_string().contains("missing field `id`"), "{no_id}");
}

#[test]
fn an_unknown_event_type_falls_back_to_other() {
    let event: SalesloftEvent = "opportunity_created".parse().unwrap();
    assert_eq!(
        event,
        SalesloftEvent::Other("opportunity_created".to_string())
    );
    assert!(!event.is_known());
    assert_eq!(event.as_str(), "opportunity_created");
    assert_eq!(event.to_string(), "opportunity_created");
    let json: SalesloftEvent = serde_json::from_str("\"opportunity_created\"").unwrap();
    assert_eq!(json, event);
    assert_eq!(
        serde_json::to_string(&event).unwrap(),
        "\"opportunity_created\""
    );
}

#[test]
fn every_salesloft_event_type_round_trips_through_its_name() {
    let names: BTreeSet<String> = SalesloftEvent::ALL
        .iter()
        .map(|e| e.as_str().to_string())
        .collect();
    assert_eq!(SalesloftEvent::ALL.len(), 37);
    assert_eq!(names.len(), 37);
    // One sample per type in events/salesloft, named after it.
    let samples: BTreeSet<String> = std::fs::read_dir(repo_path("events/salesloft"))
        .unwrap()
        .map(|e| {
            e.unwrap()
                .path()
                .file_stem()
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    assert_eq!(names, samples);
    for event in SalesloftEvent::ALL {
        assert!(event.is_known());
        let name = event.as_str();
        assert_eq!(&name.parse::<SalesloftEvent>().unwrap(), event);
        assert_eq!(event.to_string(), name);
        let json = serde_json::to_string(event).unwrap();
        assert_eq!(json, format!("\"{name}\""));
        assert_eq!(
            &serde_json::from_str::<SalesloftEvent>(&json).unwrap(),
            event
        );
    }
    assert_eq!(
        SalesloftEvent::parse("email_with_body_and_subject_updated"),
        SalesloftEvent::EmailWithBodyAndSubjectUpdated
    );
}

#[test]
fn record_attributes_are_read_without_parsing_the_body() {
    let event = sqs_sample("batch_with_poison.json");
    let first = RecordAttributes::of(&event.records[0]);
    assert_eq!(first.provider, Some("salesloft"));
    assert_eq!(first.event_type, Some("person_updated"));
    let body = Envelope::parse(event.records[0].body.as_deref().unwrap()).unwrap();
    assert_eq!(first.event_id, Some(body.event_id.as_str()));
    assert_eq!(first.salesloft_event(), Some(SalesloftEvent::PersonUpdated));
    // The poison record has no attributes at all.
    assert_eq!(
        RecordAttributes::of(&event.records[1]),
        RecordAttributes::default()
    );
}

// --- the batch processor -----------------------------------------------------------------

#[tokio::test]
async fn two_consumers_sharing_an_idempotency_table_each_process_the_same_event() {
    // Review defect 3: fan-out puts one event id on several queues; with a key that had no
    // consumer identity the second consumer acknowledged it without processing.
    let store = MemoryIdempotencyStore::default();
    let payload = r#"{"id":1}"#;
    let on_queue = |arn: &str| {
        let mut r = envelope_record("m1", "person_updated", "evt-shared", payload);
        r["eventSourceARN"] = json!(arn);
        batch(vec![r])
    };
    let crm = RecordingHandler::default();
    let search = RecordingHandler::default();
    let a = process_batch(
        &store,
        &crm,
        &on_queue("arn:aws:sqs:us-east-1:123456789012:crm"),
        &ctx(),
    )
    .await;
    let b = process_batch(
        &store,
        &search,
        &on_queue("arn:aws:sqs:us-east-1:123456789012:search"),
        &ctx(),
    )
    .await;
    assert_eq!(a.records[0].outcome, RecordOutcome::Processed);
    assert_eq!(b.records[0].outcome, RecordOutcome::Processed);
    assert_eq!(crm.seen(), ["evt-shared"]);
    assert_eq!(search.seen(), ["evt-shared"]);
    // A configured consumer name takes precedence over the queue: two functions on one queue
    // with different names are two consumers; one name on two queues is one consumer.
    let named = |name: &str| BatchContext {
        consumer: Some(name.to_string()),
        ..ctx()
    };
    let billing = RecordingHandler::default();
    process_batch(
        &store,
        &billing,
        &on_queue("arn:aws:sqs:us-east-1:123456789012:crm"),
        &named("billing"),
    )
    .await;
    process_batch(
        &store,
        &billing,
        &on_queue("arn:aws:sqs:us-east-1:123456789012:search"),
        &named("billing"),
    )
    .await;
    assert_eq!(billing.seen(), ["evt-shared"]);
}

#[tokio::test]
async fn the_same_record_twice_is_processed_once() {
    let store = MemoryIdempotencyStore::default();
    let handler = RecordingHandler::default();
    let payload = r#"{"id":1}"#;
    // The same event in two messages of one batch (SQS at-least-once), then redelivered.
    let event = batch(vec![
        envelope_record("m1", "person_updated", "evt-1", payload),
        envelope_record("m2", "person_updated", "evt-1", payload),
    ]);
    let first = process_batch(&store, &handler, &event, &ctx()).await;
    let second = process_batch(&store, &handler, &event, &ctx()).await;
    assert_eq!(handler.seen(), vec!["evt-1".to_string()]);
    assert!(first.response().batch_item_failures.is_empty());
    assert!(second.response().batch_item_failures.is_empty());
    let outcomes: Vec<_> = first
        .records
        .iter()
        .chain(&second.records)
        .map(|r| r.outcome)
        .collect();
    assert_eq!(
        outcomes,
        [
            RecordOutcome::Processed,
            RecordOutcome::Duplicate,
            RecordOutcome::Duplicate,
            RecordOutcome::Duplicate
        ]
    );
    assert!(store.is_completed(&idempotency_key(QUEUE_ARN, "salesloft", "evt-1"), now_ms()));
}

#[tokio::test]
async fn a_poison_message_is_reported_as_a_batch_item_failure_while_the_others_succeed() {
    let store = MemoryIdempotencyStore::default();
    let event = sqs_sample("batch_with_poison.json");
    let report = process_batch(&store, &ExampleHandler, &event, &ctx()).await;
    assert_eq!(failed_ids(&report.response()), vec![POISON_ID.to_string()]);
    let outcomes: Vec<_> = report.records.iter().map(|r| r.outcome).collect();
    assert_eq!(
        outcomes,
        [
            RecordOutcome::Processed,
            RecordOutcome::Poison,
            RecordOutcome::Processed
        ]
    );
    let reason = report.records[1].reason.as_deref().unwrap();
    assert!(
        reason.starts_with("malformed_envelope: the body is not an envelope: missing field `version` at line 1 column "),
        "{reason}"
    );
    assert_eq!(report.records[0].action, Some("person_upserted"));
}

#[tokio::test]
async fn a_payload_the_handler_cannot_process_is_poison_and_is_tried_again_when_redelivered() {
    let store = MemoryIdempotencyStore::default();
    let event = batch(vec![
        envelope_record("m1", "person_updated", "evt-1", r#"{"id":"not a number"}"#),
        envelope_record("m2", "account_updated", "evt-2", r#"{"id":7}"#),
        envelope_record("m3", "lead_scored", "evt-3", r#"{"score":1}"#),
    ]);
    let report = process_batch(&store, &ExampleHandler, &event, &ctx()).await;
    assert_eq!(failed_ids(&report.response()), vec!["m1".to_string()]);
    assert_eq!(report.records[0].outcome, RecordOutcome::Poison);
    assert_eq!(report.records[1].action, Some("acknowledged"));
    // A type this build does not know is acknowledged, not failed.
    assert_eq!(report.records[2].action, Some("ignored_unknown_type"));
    // The claim was released: the redelivery is tried again (and fails again, on its way to
    // the dead-letter queue), never skipped as a duplicate.
    let again = process_batch(&store, &ExampleHandler, &event, &ctx()).await;
    assert_eq!(again.records[0].outcome, RecordOutcome::Poison);
    assert_eq!(again.records[1].outcome, RecordOutcome::Duplicate);
}

#[tokio::test]
async fn a_transient_failure_is_retried_and_then_processed() {
    let store = MemoryIdempotencyStore::default();
    let handler = RecordingHandler::default();
    handler.fail_once.lock().unwrap().insert("evt-1".into());
    let event = batch(vec![envelope_record(
        "m1",
        "person_updated",
        "evt-1",
        r#"{"id":1}"#,
    )]);
    let first = process_batch(&store, &handler, &event, &ctx()).await;
    assert_eq!(first.records[0].outcome, RecordOutcome::Failed);
    assert_eq!(
        first.records[0].reason.as_deref(),
        Some("downstream unavailable")
    );
    let second = process_batch(&store, &handler, &event, &ctx()).await;
    assert_eq!(second.records[0].outcome, RecordOutcome::Processed);
    assert_eq!(handler.seen().len(), 2);
}

#[tokio::test]
async fn an_event_another_invocation_is_processing_is_left_for_a_later_receive() {
    let store = MemoryIdempotencyStore::default();
    let now = now_ms();
    store
        .claim(
            &idempotency_key(QUEUE_ARN, "salesloft", "evt-1"),
            now,
            now + 60_000,
        )
        .await
        .unwrap();
    let handler = RecordingHandler::default();
    let event = batch(vec![envelope_record(
        "m1",
        "person_updated",
        "evt-1",
        r#"{"id":1}"#,
    )]);
    let report = process_batch(&store, &handler, &event, &ctx()).await;
    assert_eq!(report.records[0].outcome, RecordOutcome::InProgress);
    assert_eq!(failed_ids(&report.response()), vec!["m1".to_string()]);
    assert!(handler.seen().is_empty());
    // Once the other invocation's lease has passed (it crashed), the event is claimable.
    let later = BatchContext {
        now_ms: now + 60_001,
        deadline_ms: now + 90_000,
        consumer: None,
    };
    let report = process_batch(&store, &handler, &event, &later).await;
    assert_eq!(report.records[0].outcome, RecordOutcome::Processed);
}

#[tokio::test]
async fn records_after_a_failure_in_a_fifo_batch_are_not_attempted() {
    let store = MemoryIdempotencyStore::default();
    let handler = RecordingHandler::default();
    let mut records = vec![
        envelope_record("m1", "person_updated", "evt-1", r#"{"id":1}"#),
        record("m2", "garbage", &[]),
        envelope_record("m3", "person_updated", "evt-3", r#"{"id":1}"#),
    ];
    for r in &mut records {
        r["eventSourceARN"] = json!("arn:aws:sqs:us-east-1:123456789012:events.fifo");
    }
    let report = process_batch(&store, &handler, &batch(records), &ctx()).await;
    assert_eq!(
        failed_ids(&report.response()),
        vec!["m2".to_string(), "m3".to_string()]
    );
    assert_eq!(report.records[2].outcome, RecordOutcome::NotAttempted);
    assert_eq!(handler.seen(), vec!["evt-1".to_string()]);
}

#[tokio::test]
async fn the_sample_batches_hold_the_envelopes_the_webhook_writes() {
    use salesloft_webhooks::dedup::MemoryDedupStore;
    use salesloft_webhooks::destinations::MemoryPublisher;
    use salesloft_webhooks::destinations::{RouteTable, DEFAULT_DESTINATION};
    use salesloft_webhooks::http::{handle, Limits};
    use salesloft_webhooks::senders::Provider;
    use salesloft_webhooks::service::{Invocation, Service};
    use salesloft_webhooks::signature::{Secret, Verifier};

    let service = Service::new(
        MemoryDedupStore::new(),
        MemoryPublisher::new(),
        Verifier::default().with_keys(Provider::Salesloft, vec![Secret::new(TOKEN)]),
        RouteTable::new(
            Some("https://sqs.us-east-1.amazonaws.com/123456789012/events".into()),
            vec![],
            &[Provider::Salesloft],
        )
        .unwrap(),
        Duration::from_secs(604_800),
    );
    let event = sqs_sample("batch.json");
    for (i, record) in event.records.iter().enumerate() {
        let attributes = RecordAttributes::of(record);
        let event_type = attributes.event_type.unwrap();
        let sample = crate::common::sample(&format!("events/salesloft/{event_type}.json"));
        let now_ms = sample["requestContext"]["timeEpoch"].as_u64().unwrap();
        let inv = Invocation {
            now_ms,
            deadline_ms: now_ms + 6_000,
            claim_token: format!("token-{i}"),
        };
        let response = handle(
            &service,
            Limits {
                max_body_bytes: 1_044_480,
            },
            sample,
            &inv,
        )
        .await;
        assert_eq!(response.status_code, 202, "{event_type}");
        let sent = service.publisher().sent_to(DEFAULT_DESTINATION);
        let message = sent.last().unwrap();
        assert_eq!(record.body.as_deref(), Some(message.body.as_str()));
        assert_eq!(attributes.provider, Some(message.provider.as_str()));
        assert_eq!(
            attributes.event_type,
            Some(message.identity.event_type.as_str())
        );
        assert_eq!(
            attributes.event_id,
            Some(message.identity.event_id.as_str())
        );
    }
    // The poison batch reuses two of them around the poison record.
    let poison = sqs_sample("batch_with_poison.json");
    assert_eq!(poison.records[0], event.records[0]);
    assert_eq!(poison.records[2], event.records[1]);
    assert_eq!(poison.records[1].message_id.as_deref(), Some(POISON_ID));
}

// --- the DynamoDB store on moto ----------------------------------------------------------

async fn consumer_items(stack: &Stack) -> Vec<std::collections::HashMap<String, AttributeValue>> {
    stack
        .ddb
        .scan()
        .table_name(CONSUMER_TABLE)
        .send()
        .await
        .expect("scan")
        .items()
        .to_vec()
}

fn s(item: &std::collections::HashMap<String, AttributeValue>, name: &str) -> String {
    item.get(name)
        .and_then(|v| v.as_s().ok())
        .cloned()
        .unwrap_or_default()
}

#[tokio::test]
async fn the_dynamodb_store_claims_each_event_once_and_frees_released_or_abandoned_claims() {
    let stack = Stack::start().await;
    stack.create_table(CONSUMER_TABLE).await;
    let store = DynamoDbIdempotencyStore::new(stack.ddb.clone(), CONSUMER_TABLE);
    let now = now_ms();
    let key = idempotency_key("crm", "salesloft", "evt-1");
    assert_eq!(
        store.claim(&key, now, now + 1_000).await.unwrap(),
        Claim::Claimed
    );
    assert_eq!(
        store.claim(&key, now, now + 1_000).await.unwrap(),
        Claim::InProgress
    );
    // A crashed attempt's lease passes: the key is claimable again.
    assert_eq!(
        store.claim(&key, now + 1_001, now + 2_000).await.unwrap(),
        Claim::Claimed
    );
    store.release(&key, now + 1_002).await.unwrap();
    assert_eq!(
        store.claim(&key, now + 1_003, now + 2_000).await.unwrap(),
        Claim::Claimed
    );
    store.complete(&key, now + 1_004).await.unwrap();
    assert_eq!(
        store.claim(&key, now + 1_005, now + 2_000).await.unwrap(),
        Claim::Processed
    );
    // Long after the time to live, the event counts as new.
    let much_later = now + 15 * 24 * 3_600 * 1_000;
    assert_eq!(
        store
            .claim(&key, much_later, much_later + 1_000)
            .await
            .unwrap(),
        Claim::Claimed
    );
    let items = consumer_items(&stack).await;
    assert_eq!(items.len(), 1);
    assert_eq!(s(&items[0], "pk"), "consumer#crm#salesloft#evt-1");
    assert!(items[0].contains_key("expires_at"));
}

#[tokio::test]
async fn a_dynamodb_store_that_cannot_be_reached_fails_the_record_for_a_retry() {
    let stack = Stack::start().await;
    // No table: every claim fails.
    let store = DynamoDbIdempotencyStore::new(stack.ddb.clone(), "no-such-table");
    let event = sqs_sample("batch.json");
    let report = process_batch(&store, &ExampleHandler, &event, &ctx()).await;
    assert_eq!(report.response().batch_item_failures.len(), 3);
    assert!(report
        .records
        .iter()
        .all(|r| r.outcome == RecordOutcome::Failed));
}

// --- end to end: both binaries under the Runtime Interface Emulator ----------------------

/// The example consumer under the emulator (`table`: its idempotency table, else in memory).
fn consumer_emulator(stack: &Stack, table: Option<&str>) -> Emulator {
    let env: Vec<(&str, &str)> = table
        .map(|t| vec![("CONSUMER_TABLE_NAME", t)])
        .unwrap_or_default();
    Emulator::start(&consumer_binary(), stack, "30", &env)
}

/// The record Lambda's SQS event source would build from a received message.
fn lambda_record(m: &aws_sdk_sqs::types::Message) -> Value {
    let attributes: serde_json::Map<String, Value> = m
        .attributes()
        .map(|a| {
            a.iter()
                .map(|(k, v)| (k.as_str().to_string(), json!(v)))
                .collect()
        })
        .unwrap_or_default();
    let message_attributes: serde_json::Map<String, Value> = m
        .message_attributes()
        .map(|a| {
            a.iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        json!({
                            "stringValue": v.string_value(),
                            "stringListValues": [],
                            "binaryListValues": [],
                            "dataType": v.data_type(),
                        }),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    json!({
        "messageId": m.message_id(),
        "receiptHandle": m.receipt_handle(),
        "body": m.body(),
        "attributes": attributes,
        "messageAttributes": message_attributes,
        "md5OfBody": m.md5_of_body(),
        "md5OfMessageAttributes": m.md5_of_message_attributes(),
        "eventSource": "aws:sqs",
        "eventSourceARN": QUEUE_ARN,
        "awsRegion": "us-east-1"
    })
}

fn failures(response: &Value) -> Vec<String> {
    response["batchItemFailures"]
        .as_array()
        .unwrap_or_else(|| panic!("not a batch response: {response}"))
        .iter()
        .map(|f| f["itemIdentifier"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[tokio::test]
async fn a_signed_webhook_reaches_the_consumer_binary_and_a_poison_message_is_the_only_failure() {
    let stack = Stack::start().await;
    stack.create_table(CONSUMER_TABLE).await;

    // A signed Salesloft delivery through the webhook binary, to moto's SQS.
    let webhook = Emulator::webhook(&stack, &[]);
    for sample in [
        "events/salesloft/person_updated.json",
        "events/salesloft/person_created.json",
    ] {
        let response = webhook.invoke(&crate::common::sample(sample)).await;
        assert_eq!(
            response["statusCode"],
            202,
            "{sample}: {response}\n{}",
            webhook.log()
        );
    }
    let messages = stack.drain(&stack.default_queue).await;
    assert_eq!(messages.len(), 2);
    for m in &messages {
        assert_eq!(crate::common::attr(m, "provider"), "salesloft");
        assert!(crate::common::attr(m, "event_type").starts_with("person_"));
        assert_eq!(crate::common::attr(m, "event_id").len(), 64);
    }

    // The messages as Lambda's SQS event source hands them over.
    let records: Vec<Value> = messages.iter().map(lambda_record).collect();
    let event = json!({ "Records": records });
    let typed: SqsEvent = serde_json::from_value(event.clone()).expect("an SqsEvent");
    let event_ids: BTreeSet<String> = typed
        .records
        .iter()
        .map(|r: &SqsMessage| RecordAttributes::of(r).event_id.unwrap().to_string())
        .collect();

    let consumer = consumer_emulator(&stack, Some(CONSUMER_TABLE));
    let response = consumer.invoke(&event).await;
    assert_eq!(
        failures(&response),
        Vec::<String>::new(),
        "{response}\n{}",
        consumer.log()
    );
    let items = consumer_items(&stack).await;
    let keys: BTreeSet<String> = items.iter().map(|i| s(i, "pk")).collect();
    let expected: BTreeSet<String> = event_ids
        .iter()
        .map(|id| idempotency_key(QUEUE_ARN, "salesloft", id))
        .collect();
    assert_eq!(keys, expected);
    assert!(items.iter().all(|i| s(i, "status") == "COMPLETED"));

    // Redelivered: acknowledged as duplicates, not processed again.
    let again = consumer.invoke(&event).await;
    assert_eq!(failures(&again), Vec::<String>::new(), "{again}");

    // A batch with a poison message among the real ones: only it is reported.
    let mut with_poison = records.clone();
    with_poison.insert(
        1,
        record(
            "poison-message",
            "{\"id\":2000002,\"first_name\":\"José\"}",
            &[],
        ),
    );
    let response = consumer.invoke(&json!({ "Records": with_poison })).await;
    assert_eq!(failures(&response), vec!["poison-message".to_string()]);

    let log = consumer.log();
    let lines: Vec<Value> = log
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|l| l["message"] == "record")
        .collect();
    let count = |outcome: &str| lines.iter().filter(|l| l["outcome"] == outcome).count();
    assert_eq!(count("processed"), 2, "{log}");
    assert_eq!(count("duplicate"), 4, "{log}");
    assert_eq!(count("poison"), 1, "{log}");
    assert_eq!(lines.len(), 7, "one JSON line per record:\n{log}");
    for secret in ["jose.muller@northwind.example", "Müller", "José", "Zürich"] {
        assert!(!log.contains(secret), "payload contents in the log:\n{log}");
    }
}

#[tokio::test]
async fn the_consumer_binary_without_a_table_reports_only_the_poison_message_of_the_sample_batch() {
    let stack = Stack::start().await;
    let consumer = consumer_emulator(&stack, None);
    let text = std::fs::read_to_string(repo_path("events/sqs/batch_with_poison.json")).unwrap();
    let event: Value = serde_json::from_str(&text).unwrap();
    let response = consumer.invoke(&event).await;
    assert_eq!(
        failures(&response),
        vec![POISON_ID.to_string()],
        "{response}\n{}",
        consumer.log()
    );
    // In memory, per execution environment: the same batch again is a duplicate there.
    let again = consumer.invoke(&event).await;
    assert_eq!(failures(&again), vec![POISON_ID.to_string()]);
    let log = consumer.log();
    assert!(log.contains("\"store\":\"memory\""), "{log}");
    assert_eq!(log.matches("\"outcome\":\"duplicate\"").count(), 2, "{log}");
    let clean = std::fs::read_to_string(repo_path("events/sqs/batch.json")).unwrap();
    let response = consumer
        .invoke(&serde_json::from_str::<Value>(&clean).unwrap())
        .await;
    assert_eq!(failures(&response), Vec::<String>::new());
}
