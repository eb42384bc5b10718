//! Fault injection: the function's AWS clients talk to moto through a fault-injecting proxy
//! on loopback ([`crate::common::fault_proxy`]), on a deterministic schedule per AWS operation.
//! Each scenario asserts the exact responses and the exact SQS contents. RELIABILITY.md
//! names the guarantee each one proves.

use crate::common::now_ms;

use std::collections::HashMap;
use std::time::Duration;

use crate::common::emulator::Emulator;
use crate::common::fault_proxy::{Fault, FaultProxy};
use crate::common::{sample, sdk_config_at, Stack, TABLE};
use aws_sdk_dynamodb::types::AttributeValue;
use salesloft_webhooks::dedup::DynamoDbDedupStore;
use salesloft_webhooks::destinations::SqsPublisher;
use salesloft_webhooks::destinations::{RouteSpec, RouteTable};
use salesloft_webhooks::http::{handle, FunctionUrlResponse, Limits};
use salesloft_webhooks::senders::Provider;
use salesloft_webhooks::service::{Invocation, Service};
use salesloft_webhooks::signature::{Secret, Verifier};

type RealService = Service<DynamoDbDedupStore, SqsPublisher>;

/// moto, the proxy in front of it, and a service whose clients go through the proxy.
struct Rig {
    stack: Stack,
    proxy: FaultProxy,
    service: RealService,
}

impl Rig {
    async fn new(routes: &[(&str, &[&str])]) -> Self {
        let stack = Stack::start().await;
        let proxy = FaultProxy::start(&stack.moto.endpoint).await;
        let mut specs = Vec::new();
        for (name, events) in routes {
            let url = stack.create_queue(name).await;
            specs.push(RouteSpec {
                name: name.to_string(),
                queue_url: url,
                events: events.iter().map(|e| e.to_string()).collect(),
                providers: None,
                copy: false,
            });
        }
        let config = sdk_config_at(&proxy.endpoint).await;
        let service = Service::new(
            DynamoDbDedupStore::new(aws_sdk_dynamodb::Client::new(&config), TABLE),
            SqsPublisher::new(aws_sdk_sqs::Client::new(&config)),
            Verifier::default()
                .with_keys(Provider::Salesloft, vec![Secret::new(crate::common::TOKEN)]),
            RouteTable::new(
                Some(stack.default_queue.clone()),
                specs,
                &[Provider::Salesloft],
            )
            .unwrap(),
            Duration::from_secs(604_800),
        );
        Rig {
            stack,
            proxy,
            service,
        }
    }

    async fn send(&self, file: &str, at_ms: u64, token: &str) -> FunctionUrlResponse {
        let inv = Invocation {
            now_ms: at_ms,
            deadline_ms: at_ms + 6_000,
            claim_token: token.to_string(),
        };
        handle(
            &self.service,
            Limits {
                max_body_bytes: 1_044_480,
            },
            sample(file),
            &inv,
        )
        .await
    }

    async fn record(&self) -> HashMap<String, AttributeValue> {
        let items = self.stack.table_items().await;
        assert_eq!(items.len(), 1, "{items:?}");
        items[0].clone()
    }

    async fn queue(&self, name: &str) -> usize {
        let url = if name == "default" {
            self.stack.default_queue.clone()
        } else {
            self.stack.queue_url(name)
        };
        self.stack.drain(&url).await.len()
    }
}

const PERSON: &str = "events/salesloft/person_updated.json";

fn status(r: &HashMap<String, AttributeValue>) -> String {
    r["status"].as_s().unwrap().clone()
}

#[tokio::test]
async fn dynamodb_throttling_is_absorbed_by_the_sdk_retries() {
    let rig = Rig::new(&[]).await;
    rig.proxy.inject("PutItem", None, Fault::Throttle, Some(2));
    let r = rig.send(PERSON, now_ms(), "a").await;
    assert_eq!(r.status_code, 202, "{}", r.body);
    assert_eq!(
        rig.proxy.count("PutItem"),
        3,
        "two throttled attempts, then success"
    );
    assert_eq!(rig.queue("default").await, 1);
    assert_eq!(status(&rig.record().await), "COMPLETED");
}

#[tokio::test]
async fn dynamodb_down_answers_503_and_publishes_nothing() {
    let rig = Rig::new(&[]).await;
    rig.proxy.inject("PutItem", None, Fault::ServerError, None);
    let r = rig.send(PERSON, now_ms(), "a").await;
    assert_eq!(r.status_code, 503, "{}", r.body);
    assert_eq!(r.json_body(), serde_json::json!({"error": "unavailable"}));
    assert_eq!(rig.proxy.count("SendMessage"), 0);
    assert_eq!(rig.queue("default").await, 0);
    assert!(rig.stack.table_items().await.is_empty());
}

#[tokio::test]
async fn sqs_down_after_the_claim_releases_it_and_the_retry_delivers_exactly_once() {
    let rig = Rig::new(&[]).await;
    rig.proxy
        .inject("SendMessage", None, Fault::ServerError, None);
    let t = now_ms();
    assert_eq!(rig.send(PERSON, t, "a").await.status_code, 503);
    assert_eq!(status(&rig.record().await), "RELEASED");
    assert_eq!(rig.queue("default").await, 0);
    rig.proxy.heal();
    // Salesloft's retry, 15 s later.
    assert_eq!(rig.send(PERSON, t + 15_000, "b").await.status_code, 202);
    assert_eq!(rig.send(PERSON, t + 30_000, "c").await.status_code, 200);
    assert_eq!(rig.queue("default").await, 1);
}

#[tokio::test]
async fn when_the_release_fails_too_the_claim_waits_for_its_lease_then_the_retry_delivers_once() {
    let rig = Rig::new(&[]).await;
    rig.proxy
        .inject("SendMessage", None, Fault::ServerError, None);
    rig.proxy
        .inject("UpdateItem", None, Fault::ServerError, None);
    let t = now_ms();
    assert_eq!(rig.send(PERSON, t, "a").await.status_code, 503);
    assert_eq!(status(&rig.record().await), "IN_PROGRESS");
    rig.proxy.heal();
    // Within the lease (the invocation deadline, 6 s here): told to come back.
    let r = rig.send(PERSON, t + 3_000, "b").await;
    assert_eq!(r.status_code, 409, "{}", r.body);
    // After it: claimed again and delivered once.
    assert_eq!(rig.send(PERSON, t + 15_000, "c").await.status_code, 202);
    assert_eq!(rig.queue("default").await, 1);
    assert_eq!(status(&rig.record().await), "COMPLETED");
}

#[tokio::test]
async fn a_failed_completion_after_a_publish_still_acknowledges_and_stays_at_least_once() {
    let rig = Rig::new(&[]).await;
    rig.proxy
        .inject("UpdateItem", None, Fault::ServerError, None);
    let t = now_ms();
    // Published: the sender is told so, even though the record could not be completed.
    assert_eq!(rig.send(PERSON, t, "a").await.status_code, 202);
    assert_eq!(status(&rig.record().await), "IN_PROGRESS");
    rig.proxy.heal();
    // A duplicate delivery within the lease is asked to retry later...
    assert_eq!(rig.send(PERSON, t + 2_000, "b").await.status_code, 409);
    // ...and after the lease it is published again: at-least-once, never lost. (A FIFO
    // destination would drop this resend within SQS's 5-minute deduplication window.)
    assert_eq!(rig.send(PERSON, t + 15_000, "c").await.status_code, 202);
    assert_eq!(rig.queue("default").await, 2);
    assert_eq!(rig.send(PERSON, t + 30_000, "d").await.status_code, 200);
}

#[tokio::test]
async fn one_failing_destination_of_three_is_the_only_one_retried() {
    let rig = Rig::new(&[("crm", &["*"]), ("audit", &["*"]), ("search", &["*"])]).await;
    rig.proxy
        .inject("SendMessage", Some("/audit"), Fault::ServerError, None);
    let t = now_ms();
    assert_eq!(rig.send(PERSON, t, "a").await.status_code, 503);
    let record = rig.record().await;
    assert_eq!(status(&record), "RELEASED");
    let mut delivered = record["delivered"].as_ss().unwrap().clone();
    delivered.sort();
    assert_eq!(delivered, ["crm", "search"]);
    rig.proxy.heal();
    let before = rig.proxy.count("SendMessage");
    assert_eq!(rig.send(PERSON, t + 15_000, "b").await.status_code, 202);
    assert_eq!(
        rig.proxy.count("SendMessage") - before,
        1,
        "only audit is sent again"
    );
    for q in ["crm", "audit", "search"] {
        assert_eq!(rig.queue(q).await, 1, "{q}");
    }
    assert_eq!(rig.queue("default").await, 0);
}

#[tokio::test]
async fn a_dropped_connection_before_sqs_is_retried_by_the_sdk_and_delivered_once() {
    let rig = Rig::new(&[]).await;
    rig.proxy.inject("SendMessage", None, Fault::Drop, Some(1));
    assert_eq!(rig.send(PERSON, now_ms(), "a").await.status_code, 202);
    assert_eq!(rig.proxy.count("SendMessage"), 2);
    assert_eq!(rig.queue("default").await, 1);
}

#[tokio::test]
async fn a_hung_publish_is_cut_off_before_the_lambda_timeout_and_answered_503_with_the_claim_released(
) {
    // Review defect 8: a hung SendMessage held the request until Lambda's timeout (no answer,
    // the claim left IN_PROGRESS until its lease). Now the service's own deadline cuts it
    // off, releases the claim and answers 503, and the sender's next retry delivers once.
    let stack = Stack::start().await;
    let proxy = FaultProxy::start(&stack.moto.endpoint).await;
    // The request never reaches SQS: held far longer than the 2 s function timeout.
    proxy.inject(
        "SendMessage",
        None,
        Fault::Hang(Duration::from_secs(30)),
        Some(1),
    );
    let rie = Emulator::start(
        env!("CARGO_BIN_EXE_webhook"),
        &stack,
        "2",
        &[("AWS_ENDPOINT_URL", proxy.endpoint.as_str())],
    );
    let event = sample(PERSON);
    let first = rie.invoke(&event).await;
    assert_eq!(first["statusCode"], 503, "{first}\n{}", rie.log());
    assert!(
        !rie.log().contains("Reset initiated: Timeout"),
        "the invocation must answer before Lambda's timeout: {}",
        rie.log()
    );
    let items = stack.table_items().await;
    assert_eq!(items[0]["status"].as_s().unwrap(), "RELEASED");
    // The retry needs no wait for a lease.
    let retry = rie.invoke(&event).await;
    assert_eq!(retry["statusCode"], 202, "{retry}\n{}", rie.log());
    assert_eq!(rie.invoke(&event).await["statusCode"], 200);
    assert_eq!(stack.drain(&stack.default_queue).await.len(), 1);
}
