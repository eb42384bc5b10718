//! Unit tests of the pipeline on the in-memory ports.

use std::collections::BTreeSet;
use std::sync::atomic::Ordering;
use std::time::Duration;

use sha2::{Digest, Sha256};

use super::*;
use crate::dedup::{MemoryDedupStore, RecordState, COMPLETED, IN_PROGRESS, RELEASED};
use crate::destinations::{sqs, MemoryPublisher};
use crate::destinations::{RouteSpec, DEFAULT_DESTINATION};
use crate::senders::salesloft::{
    sign as salesloft_signature, SALESLOFT_EVENT, SALESLOFT_SIGNATURE,
};
use crate::signature::Secret;
use crate::spool::MemorySpool;

const TOKEN: &str = "test-token";
const Q: &str = "http://127.0.0.1:5000/123456789012/events";
const NOW: u64 = 1_795_442_400_000;

type TestService = Service<MemoryDedupStore, MemoryPublisher>;

fn service_with_routes(specs: Vec<RouteSpec>) -> TestService {
    Service::new(
        MemoryDedupStore::new(),
        MemoryPublisher::new(),
        Verifier::default().with_keys(Provider::Salesloft, vec![Secret::new(TOKEN)]),
        RouteTable::new(Some(Q.into()), specs, &[Provider::Salesloft]).unwrap(),
        Duration::from_secs(604_800),
    )
}

fn service() -> TestService {
    service_with_routes(vec![])
}

fn three_routes() -> TestService {
    three_routes_for("person_*")
}

/// Routes "crm", "audit" (FIFO) and "search", each for events matching `pattern`.
fn three_routes_for(pattern: &str) -> TestService {
    let spec = |name: &str, url: &str| RouteSpec {
        name: name.into(),
        queue_url: url.into(),
        events: vec![pattern.into()],
        providers: None,
        copy: false,
    };
    service_with_routes(vec![
        spec("crm", &format!("{Q}-crm")),
        spec("audit", &format!("{Q}-audit.fifo")),
        spec("search", &format!("{Q}-search")),
    ])
}

fn signed(event_type: &str, body: &str) -> Headers {
    Headers::from_pairs([
        (
            SALESLOFT_SIGNATURE.to_string(),
            salesloft_signature(TOKEN.as_bytes(), body.as_bytes()),
        ),
        (SALESLOFT_EVENT.to_string(), event_type.to_string()),
    ])
}

fn inv(now_ms: u64, token: &str) -> Invocation {
    Invocation {
        now_ms,
        deadline_ms: now_ms + 10_000,
        claim_token: token.into(),
    }
}

async fn deliver(s: &TestService, body: &str, at: u64, token: &str) -> Report {
    s.handle(
        Provider::Salesloft,
        body.as_bytes(),
        &signed("person_updated", body),
        &inv(at, token),
    )
    .await
}

fn key_of(report: &Report) -> String {
    format!("salesloft#{}", report.identity.as_ref().unwrap().event_id)
}

const BODY: &str = r#"{"id":7,"first_name":"Ada"}"#;

#[tokio::test]
async fn a_new_delivery_is_accepted_and_published_once_with_its_attributes() {
    let s = service();
    let r = deliver(&s, BODY, NOW, "t1").await;
    assert!(matches!(r.result, Ok(Outcome::Accepted)), "{r:?}");
    let sent = s.publisher().sent_to(DEFAULT_DESTINATION);
    assert_eq!(sent.len(), 1);
    let m = &sent[0];
    assert_eq!(m.provider, Provider::Salesloft);
    assert_eq!(m.identity.event_type, "person_updated");
    assert_eq!(m.identity.event_id, r.identity.as_ref().unwrap().event_id);
    assert_eq!(m.identity.resource_id.as_deref(), Some("7"));
    assert_eq!(m.dedup_key, key_of(&r));
    let env: serde_json::Value = serde_json::from_str(&m.body).unwrap();
    assert_eq!(env["received_at"], "2026-11-23T14:00:00.000Z");
    assert_eq!(env["payload"]["first_name"], "Ada");
    let state = s.dedup().state(&key_of(&r)).unwrap();
    assert_eq!(state.status, COMPLETED);
    assert_eq!(state.expires_at_s, NOW / 1000 + 604_800);
    assert_eq!(
        state.delivered,
        BTreeSet::from([DEFAULT_DESTINATION.to_string()])
    );
}

#[tokio::test]
async fn duplicate_delivery_is_acknowledged_without_republishing() {
    let s = service();
    deliver(&s, BODY, NOW, "t1").await;
    for i in 0..4 {
        let r = deliver(&s, BODY, NOW + 15_000 * (i + 1), "t2").await;
        assert!(matches!(r.result, Ok(Outcome::Duplicate)), "{r:?}");
    }
    assert_eq!(s.publisher().total(), 1);
}

#[tokio::test]
async fn a_forged_delivery_touches_neither_store() {
    let s = service();
    s.dedup().fail_claim.store(true, Ordering::SeqCst);
    let mut headers = signed("person_updated", BODY);
    headers = Headers::from_pairs([
        (
            SALESLOFT_SIGNATURE.to_string(),
            salesloft_signature(b"wrong", BODY.as_bytes()),
        ),
        (
            SALESLOFT_EVENT.to_string(),
            headers.get(SALESLOFT_EVENT).unwrap().to_string(),
        ),
    ]);
    let r = s
        .handle(
            Provider::Salesloft,
            BODY.as_bytes(),
            &headers,
            &inv(NOW, "t"),
        )
        .await;
    // fail_claim would turn any claim into Dedup(Unavailable): a Signature error proves the
    // store was never asked.
    assert!(
        matches!(
            r.result,
            Err(ServiceError::Signature(SignatureError::Mismatch))
        ),
        "{r:?}"
    );
    assert!(r.identity.is_none());
    assert_eq!(s.publisher().total(), 0);
}

#[tokio::test]
async fn a_store_outage_is_unavailable_and_publishes_nothing() {
    let s = service();
    s.dedup().fail_claim.store(true, Ordering::SeqCst);
    let r = deliver(&s, BODY, NOW, "t").await;
    assert!(matches!(r.result, Err(ServiceError::Dedup(_))), "{r:?}");
    assert_eq!(s.publisher().total(), 0);
}

#[tokio::test]
async fn a_failed_publish_releases_the_claim_and_the_retry_delivers_exactly_once() {
    let s = service();
    s.publisher().set_failing(DEFAULT_DESTINATION, true);
    let r = deliver(&s, BODY, NOW, "t1").await;
    assert!(matches!(r.result, Err(ServiceError::Publish(_))), "{r:?}");
    let state = s.dedup().state(&key_of(&r)).unwrap();
    assert_eq!(state.status, RELEASED);
    assert!(state.delivered.is_empty());

    s.publisher().set_failing(DEFAULT_DESTINATION, false);
    let r = deliver(&s, BODY, NOW + 15_000, "t2").await;
    assert!(matches!(r.result, Ok(Outcome::Accepted)), "{r:?}");
    let r = deliver(&s, BODY, NOW + 30_000, "t3").await;
    assert!(matches!(r.result, Ok(Outcome::Duplicate)), "{r:?}");
    assert_eq!(s.publisher().sent_to(DEFAULT_DESTINATION).len(), 1);
}

#[tokio::test]
async fn a_partial_fan_out_failure_resends_only_the_missing_destination() {
    let s = three_routes();
    s.publisher().set_failing("audit", true);
    let r = deliver(&s, BODY, NOW, "t1").await;
    match &r.result {
        Err(ServiceError::Publish(failures)) => {
            assert_eq!(failures.len(), 1);
            assert_eq!(failures[0].destination, "audit");
        }
        other => panic!("expected a publish failure, got {other:?}"),
    }
    let state = s.dedup().state(&key_of(&r)).unwrap();
    assert_eq!(state.status, RELEASED);
    assert_eq!(
        state.delivered,
        BTreeSet::from(["crm".to_string(), "search".to_string()])
    );

    s.publisher().set_failing("audit", false);
    let r = deliver(&s, BODY, NOW + 15_000, "t2").await;
    assert!(matches!(r.result, Ok(Outcome::Accepted)), "{r:?}");
    for name in ["crm", "audit", "search"] {
        assert_eq!(s.publisher().sent_to(name).len(), 1, "{name}");
    }
    assert_eq!(s.publisher().sent_to(DEFAULT_DESTINATION).len(), 0);
    assert_eq!(s.dedup().state(&key_of(&r)).unwrap().delivered.len(), 3);
}

#[tokio::test]
async fn a_claim_within_its_lease_answers_in_progress_with_a_retry_after() {
    let s = service();
    let key = key_of(&deliver(&service(), BODY, NOW, "probe").await);
    s.dedup().put_state(
        &key,
        "other",
        RecordState {
            status: IN_PROGRESS.into(),
            lease_until_ms: NOW + 4_200,
            expires_at_s: NOW / 1000 + 604_800,
            delivered: BTreeSet::new(),
        },
    );
    let r = deliver(&s, BODY, NOW, "t").await;
    assert!(
        matches!(r.result, Ok(Outcome::InProgress { retry_after_s: 5 })),
        "{r:?}"
    );
    assert_eq!(s.publisher().total(), 0);
}

#[tokio::test]
async fn a_claim_past_its_lease_is_taken_over_and_delivered() {
    let s = service();
    let key = key_of(&deliver(&service(), BODY, NOW, "probe").await);
    s.dedup().put_state(
        &key,
        "crashed",
        RecordState {
            status: IN_PROGRESS.into(),
            lease_until_ms: NOW - 1,
            expires_at_s: NOW / 1000 + 604_800,
            delivered: BTreeSet::new(),
        },
    );
    let r = deliver(&s, BODY, NOW, "t").await;
    assert!(matches!(r.result, Ok(Outcome::Accepted)), "{r:?}");
    assert_eq!(s.publisher().total(), 1);
}

#[tokio::test]
async fn an_expired_completed_record_counts_as_a_new_event() {
    let s = service();
    let first = deliver(&s, BODY, NOW, "t1").await;
    assert!(matches!(first.result, Ok(Outcome::Accepted)));
    // One second past the TTL: DynamoDB may not have deleted it yet, the condition decides.
    let later = NOW + (604_800 + 1) * 1000 + 1000;
    let r = deliver(&s, BODY, later, "t2").await;
    assert!(matches!(r.result, Ok(Outcome::Accepted)), "{r:?}");
    assert_eq!(s.publisher().total(), 2);
}

#[tokio::test]
async fn a_completion_failure_still_acknowledges_the_published_event() {
    let s = service();
    s.dedup().fail_complete.store(true, Ordering::SeqCst);
    let r = deliver(&s, BODY, NOW, "t1").await;
    assert!(matches!(r.result, Ok(Outcome::Accepted)), "{r:?}");
    assert_eq!(s.dedup().state(&key_of(&r)).unwrap().status, IN_PROGRESS);
    // Within the lease a retry is told to wait; after it, the event is republished
    // (at-least-once: never lost).
    let r = deliver(&s, BODY, NOW + 1_000, "t2").await;
    assert!(matches!(r.result, Ok(Outcome::InProgress { .. })), "{r:?}");
    s.dedup().fail_complete.store(false, Ordering::SeqCst);
    let r = deliver(&s, BODY, NOW + 20_000, "t3").await;
    assert!(matches!(r.result, Ok(Outcome::Accepted)), "{r:?}");
    assert_eq!(s.publisher().total(), 2);
}

#[tokio::test]
async fn a_failed_release_leaves_the_claim_until_its_lease_then_the_retry_delivers() {
    let s = service();
    s.publisher().set_failing(DEFAULT_DESTINATION, true);
    s.dedup().fail_release.store(true, Ordering::SeqCst);
    let r = deliver(&s, BODY, NOW, "t1").await;
    assert!(matches!(r.result, Err(ServiceError::Publish(_))));
    assert_eq!(s.dedup().state(&key_of(&r)).unwrap().status, IN_PROGRESS);
    s.publisher().set_failing(DEFAULT_DESTINATION, false);
    let r = deliver(&s, BODY, NOW + 5_000, "t2").await;
    assert!(matches!(r.result, Ok(Outcome::InProgress { .. })), "{r:?}");
    let r = deliver(&s, BODY, NOW + 15_000, "t3").await;
    assert!(matches!(r.result, Ok(Outcome::Accepted)), "{r:?}");
    assert_eq!(s.publisher().total(), 1);
}

#[tokio::test]
async fn fifo_destinations_get_a_group_id_per_record_and_a_dedup_id_from_the_key() {
    let s = three_routes();
    let r = deliver(&s, BODY, NOW, "t").await;
    let m = &s.publisher().sent_to("audit")[0];
    assert_eq!(sqs::group_id(&m.as_message()), "salesloft:7");
    let expected = hex::encode(Sha256::digest(key_of(&r).as_bytes()));
    assert_eq!(sqs::deduplication_id(&m.as_message()), expected);

    let r = s
        .handle(
            Provider::Salesloft,
            br#"{"name":"no id"}"#,
            &signed("bulk_job_completed", r#"{"name":"no id"}"#),
            &inv(NOW, "t2"),
        )
        .await;
    assert!(matches!(r.result, Ok(Outcome::Accepted)));
    assert_eq!(
        sqs::group_id(&s.publisher().sent_to(DEFAULT_DESTINATION)[0].as_message()),
        "salesloft:bulk_job_completed"
    );
}

#[test]
fn received_at_is_rfc3339_utc_with_milliseconds() {
    assert_eq!(rfc3339(NOW + 7), "2026-11-23T14:00:00.007Z");
    assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000Z");
}

// ---- Refused before the claim: what a destination would never accept ----

#[tokio::test]
async fn a_long_event_type_without_a_resource_id_keeps_its_fifo_group_id_within_128_characters() {
    // Review defect 1: "{provider}:{event_type}" reached 138 characters, which SQS refuses
    // forever (moto accepts it).
    let s = three_routes_for("*");
    let event_type = "x".repeat(128);
    let body = r#"{"name":"no id"}"#;
    let r = s
        .handle(
            Provider::Salesloft,
            body.as_bytes(),
            &signed(&event_type, body),
            &inv(NOW, "t"),
        )
        .await;
    assert!(matches!(r.result, Ok(Outcome::Accepted)), "{r:?}");
    let m = &s.publisher().sent_to("audit")[0];
    let group = sqs::group_id(&m.as_message());
    assert!(group.len() <= 128, "{} characters", group.len());
    assert!(group.bytes().all(|b| (33..=126).contains(&b)), "{group}");
    assert!(group.starts_with("salesloft:"), "{group}");
}

#[tokio::test]
async fn characters_sqs_refuses_are_a_400_before_any_store_is_touched() {
    // Review defect 5: raw U+FFFE / U+FFFF pass JSON validation but SQS refuses the message.
    for bad in ["\u{FFFE}", "\u{FFFF}"] {
        let s = service();
        let body = format!(r#"{{"id":9,"note":"{bad}"}}"#);
        s.dedup().fail_claim.store(true, Ordering::SeqCst);
        let r = deliver(&s, &body, NOW, "t").await;
        assert!(
            matches!(r.result, Err(ServiceError::Unpublishable(_))),
            "{r:?}"
        );
        // fail_claim is set: had a claim been attempted, the error would be Dedup.
        assert_eq!(s.publisher().total(), 0);
    }
}

#[tokio::test]
async fn an_event_with_no_destination_is_refused_with_503_and_nothing_is_recorded() {
    // Review defect 7: with an empty destination list the event was completed and lost.
    let only_salesos = RouteSpec {
        name: "salesos-only".into(),
        queue_url: format!("{Q}-so"),
        events: vec!["*".into()],
        providers: Some(vec!["salesos".into()]),
        copy: false,
    };
    let s = Service::new(
        MemoryDedupStore::new(),
        MemoryPublisher::new(),
        Verifier::default().with_keys(Provider::Salesloft, vec![Secret::new(TOKEN)]),
        // Built for SalesOS only, while the keys serve Salesloft: a secret added after start.
        RouteTable::new(None, vec![only_salesos], &[Provider::SalesOs]).unwrap(),
        Duration::from_secs(604_800),
    );
    let r = deliver(&s, BODY, NOW, "t").await;
    assert!(
        matches!(r.result, Err(ServiceError::NoDestination(_))),
        "{r:?}"
    );
    assert_eq!(s.publisher().total(), 0);
    assert_eq!(
        s.dedup().state(&key_of(&r)),
        None,
        "nothing claimed or completed"
    );
}

// ---- The spool ----

fn spooling(spool: &Arc<MemorySpool>) -> TestService {
    service().with_spool(spool.clone())
}

#[tokio::test]
async fn an_ordinary_delivery_never_touches_the_spool() {
    let spool = Arc::new(MemorySpool::default());
    let s = spooling(&spool);
    assert!(matches!(
        deliver(&s, BODY, NOW, "t1").await.result,
        Ok(Outcome::Accepted)
    ));
    assert!(matches!(
        deliver(&s, BODY, NOW + 1, "t2").await.result,
        Ok(Outcome::Duplicate)
    ));
    assert_eq!(spool.calls.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_failed_claim_is_spooled_and_the_redrive_delivers_it_with_its_latest_receipt_time() {
    let spool = Arc::new(MemorySpool::default());
    let s = spooling(&spool);
    s.dedup().fail_claim.store(true, Ordering::SeqCst);
    let r = deliver(&s, BODY, NOW, "t1").await;
    assert!(matches!(r.result, Err(ServiceError::Dedup(_))), "{r:?}");
    assert!(r.spooled);
    let keys = spool.keys();
    assert_eq!(keys.len(), 1);
    // A retry overwrites the same object.
    deliver(&s, BODY, NOW + 15_000, "t2").await;
    assert_eq!(spool.keys(), keys);

    s.dedup().fail_claim.store(false, Ordering::SeqCst);
    let summary = crate::spool::redrive::redrive(
        &s,
        spool.as_ref(),
        crate::spool::redrive::RedrivePolicy::default(),
        || NOW + 600_000,
        || false,
        || "redrive".to_string(),
    )
    .await
    .unwrap();
    assert_eq!(summary.delivered, 1);
    assert!(spool.keys().is_empty());
    let sent = s.publisher().sent_to(DEFAULT_DESTINATION);
    assert_eq!(sent.len(), 1);
    let env: serde_json::Value = serde_json::from_str(&sent[0].body).unwrap();
    // The retry at NOW + 15 s overwrote the object, so that is the receipt it keeps.
    assert_eq!(env["received_at"], "2026-11-23T14:00:15.000Z");
}

#[tokio::test]
async fn a_failed_completion_is_spooled_with_what_was_delivered_so_the_redrive_sends_nothing_again()
{
    let spool = Arc::new(MemorySpool::default());
    let s = spooling(&spool);
    s.dedup().fail_complete.store(true, Ordering::SeqCst);
    let r = deliver(&s, BODY, NOW, "t1").await;
    assert!(matches!(r.result, Ok(Outcome::Accepted)), "{r:?}");
    assert!(
        r.spooled,
        "completion failed: the redrive must finish the record"
    );
    s.dedup().fail_complete.store(false, Ordering::SeqCst);
    // After the lease of the first attempt, the redrive completes without publishing again.
    let summary = crate::spool::redrive::redrive(
        &s,
        spool.as_ref(),
        crate::spool::redrive::RedrivePolicy::default(),
        || NOW + 60_000,
        || false,
        || "redrive".to_string(),
    )
    .await
    .unwrap();
    assert_eq!(summary.delivered, 1, "{summary:?}");
    assert_eq!(
        s.publisher().total(),
        1,
        "published once, by the first attempt"
    );
    assert_eq!(s.dedup().state(&key_of(&r)).unwrap().status, COMPLETED);
}
