//! The spool on the local stack (moto's S3, DynamoDB and SQS through the fault proxy): a
//! delivery that verified but could not finish is written to the bucket before the 503, and
//! the redrive delivers it exactly once after the outage, however long it lasted.

use std::sync::Arc;
use std::time::Duration;

use crate::common::fault_proxy::{Fault, FaultProxy};
use crate::common::{now_ms, salesloft_event, sdk_config_at, Stack, TABLE, TOKEN};
use salesloft_webhooks::dedup::DynamoDbDedupStore;
use salesloft_webhooks::destinations::{RouteSpec, RouteTable, SqsPublisher};
use salesloft_webhooks::http::{handle, FunctionUrlResponse, Limits};
use salesloft_webhooks::senders::Provider;
use salesloft_webhooks::service::{Invocation, Service};
use salesloft_webhooks::signature::{Secret, Verifier};
use salesloft_webhooks::spool::redrive::{redrive, RedrivePolicy, Summary};
use salesloft_webhooks::spool::{S3Spool, SpoolStore, FAILED, PENDING};

type RealService = Service<DynamoDbDedupStore, SqsPublisher>;

/// moto, the proxy in front of it, a service with a spool whose clients all go through the
/// proxy, and the spool seen directly (for the assertions).
struct Rig {
    stack: Stack,
    proxy: FaultProxy,
    service: RealService,
    spool: Arc<S3Spool>,
}

impl Rig {
    async fn new(extra_routes: &[&str]) -> Self {
        let stack = Stack::start().await;
        let proxy = FaultProxy::start(&stack.moto.endpoint).await;
        let mut routes = Vec::new();
        for name in extra_routes {
            routes.push(RouteSpec {
                name: name.to_string(),
                queue_url: stack.create_queue(name).await,
                events: vec!["*".into()],
                providers: None,
                copy: true,
            });
        }
        let config = sdk_config_at(&proxy.endpoint).await;
        let spool = Arc::new(S3Spool::new(
            salesloft_webhooks::spool::s3::client(&config),
            &stack.spool_bucket,
        ));
        let service = Service::new(
            DynamoDbDedupStore::new(aws_sdk_dynamodb::Client::new(&config), TABLE),
            SqsPublisher::new(aws_sdk_sqs::Client::new(&config)),
            Verifier::default().with_keys(Provider::Salesloft, vec![Secret::new(TOKEN)]),
            RouteTable::new(
                Some(stack.default_queue.clone()),
                routes,
                &[Provider::Salesloft],
            )
            .unwrap(),
            Duration::from_secs(604_800),
        )
        .with_spool(spool.clone());
        Rig {
            stack,
            proxy,
            service,
            spool,
        }
    }

    async fn send(&self, event_type: &str, body: &str, at_ms: u64) -> FunctionUrlResponse {
        let inv = Invocation {
            now_ms: at_ms,
            deadline_ms: at_ms + 6_000,
            claim_token: format!("claim-{at_ms}"),
        };
        let event = salesloft_event(event_type, body, TOKEN);
        handle(
            &self.service,
            Limits {
                max_body_bytes: 1_044_480,
            },
            event,
            &inv,
        )
        .await
    }

    async fn redrive(&self, max_attempts: u32) -> Summary {
        let policy = RedrivePolicy {
            max_attempts,
            ..RedrivePolicy::default()
        };
        let token = || format!("redrive-{}", now_ms());
        redrive(
            &self.service,
            self.spool.as_ref(),
            policy,
            now_ms,
            || false,
            token,
        )
        .await
        .expect("the spool answers")
    }

    async fn keys(&self, prefix: &str) -> Vec<String> {
        self.spool.list(prefix).await.unwrap()
    }

    async fn queue(&self, name: &str) -> Vec<aws_sdk_sqs::types::Message> {
        let url = if name == "default" {
            self.stack.default_queue.clone()
        } else {
            self.stack.queue_url(name)
        };
        self.stack.drain(&url).await
    }
}

/// Salesloft's schedule: the delivery, then three retries 15 s apart.
const ATTEMPTS_MS: [u64; 4] = [0, 15_000, 30_000, 45_000];

#[tokio::test]
async fn a_dynamodb_outage_longer_than_the_senders_retries_is_spooled_once_and_redriven_exactly_once(
) {
    let rig = Rig::new(&[]).await;
    rig.proxy.inject("PutItem", None, Fault::ServerError, None);
    let t0 = now_ms();
    let bodies = [r#"{"id":1,"n":"a"}"#, r#"{"id":2,"n":"b"}"#];
    for body in bodies {
        for offset in ATTEMPTS_MS {
            let r = rig.send("person_updated", body, t0 + offset).await;
            assert_eq!(r.status_code, 503, "{}", r.body);
        }
    }
    // One object per event: each retry overwrote its own.
    assert_eq!(rig.keys(PENDING).await.len(), 2);
    assert!(rig.queue("default").await.is_empty());

    rig.proxy.heal();
    let summary = rig.redrive(5).await;
    assert_eq!(
        (
            summary.delivered,
            summary.duplicates,
            summary.failed,
            summary.remaining
        ),
        (2, 0, 0, 0)
    );
    assert!(rig.keys(PENDING).await.is_empty());
    let messages = rig.queue("default").await;
    assert_eq!(messages.len(), 2);
    // The envelope keeps the time of the first receipt.
    let first: serde_json::Value = serde_json::from_str(messages[0].body().unwrap()).unwrap();
    assert!(first["received_at"].as_str().unwrap().starts_with("20"));
    // A later retry by the sender is a duplicate.
    let r = rig.send("person_updated", bodies[0], now_ms()).await;
    assert_eq!(r.status_code, 200, "{}", r.body);
    assert!(rig.queue("default").await.is_empty());
}

#[tokio::test]
async fn sqs_down_after_the_claim_is_spooled_and_the_redrive_sends_only_what_is_missing() {
    let rig = Rig::new(&["audit"]).await;
    // Only the audit queue fails: the default queue gets the event on the first attempt.
    rig.proxy
        .inject("SendMessage", Some("audit"), Fault::ServerError, None);
    let t0 = now_ms();
    for offset in ATTEMPTS_MS {
        let r = rig.send("person_updated", r#"{"id":3}"#, t0 + offset).await;
        assert_eq!(r.status_code, 503, "{}", r.body);
    }
    assert_eq!(rig.keys(PENDING).await.len(), 1);
    rig.proxy.heal();
    let summary = rig.redrive(5).await;
    assert_eq!(summary.delivered, 1, "{summary:?}");
    assert!(rig.keys(PENDING).await.is_empty());
    // Exactly once on each destination: the release/claim state machine kept "default" out.
    assert_eq!(rig.queue("default").await.len(), 1);
    assert_eq!(rig.queue("audit").await.len(), 1);
    let items = rig.stack.table_items().await;
    assert_eq!(items[0]["status"].as_s().unwrap(), "COMPLETED");
}

#[tokio::test]
async fn when_the_senders_retry_gets_through_first_the_redrive_only_removes_a_duplicate() {
    let rig = Rig::new(&[]).await;
    rig.proxy
        .inject("PutItem", None, Fault::ServerError, Some(4));
    let t0 = now_ms();
    let r = rig.send("person_updated", r#"{"id":4}"#, t0).await;
    assert_eq!(r.status_code, 503, "{}", r.body);
    assert_eq!(rig.keys(PENDING).await.len(), 1);
    // Recovered: the sender's retry delivers.
    let r = rig.send("person_updated", r#"{"id":4}"#, t0 + 15_000).await;
    assert_eq!(r.status_code, 202, "{}", r.body);
    let summary = rig.redrive(5).await;
    assert_eq!(
        (summary.delivered, summary.duplicates),
        (0, 1),
        "{summary:?}"
    );
    assert!(rig.keys(PENDING).await.is_empty());
    assert_eq!(rig.queue("default").await.len(), 1);
}

#[tokio::test]
async fn when_the_spool_write_fails_too_the_answer_is_still_503_and_nothing_else_changes() {
    let rig = Rig::new(&[]).await;
    rig.proxy.inject("PutItem", None, Fault::ServerError, None);
    rig.proxy.inject("S3:PUT", None, Fault::ServerError, None);
    let r = rig.send("person_updated", r#"{"id":5}"#, now_ms()).await;
    assert_eq!(r.status_code, 503, "{}", r.body);
    assert!(r.headers.contains_key("retry-after"));
    rig.proxy.heal();
    assert!(rig.keys(PENDING).await.is_empty());
    assert!(rig.queue("default").await.is_empty());
    assert!(rig.stack.table_items().await.is_empty());
}

#[tokio::test]
async fn a_spooled_delivery_that_keeps_failing_moves_to_failed_after_the_configured_attempts() {
    let rig = Rig::new(&[]).await;
    rig.proxy
        .inject("SendMessage", None, Fault::ServerError, None);
    let r = rig.send("person_updated", r#"{"id":6}"#, now_ms()).await;
    assert_eq!(r.status_code, 503, "{}", r.body);
    let first = rig.redrive(2).await;
    assert_eq!((first.failed, first.remaining), (0, 1), "{first:?}");
    let second = rig.redrive(2).await;
    assert_eq!((second.failed, second.remaining), (1, 0), "{second:?}");
    assert!(rig.keys(PENDING).await.is_empty());
    let failed = rig.keys(FAILED).await;
    assert_eq!(failed.len(), 1);
    let object: serde_json::Value =
        serde_json::from_slice(&rig.spool.get(&failed[0]).await.unwrap().unwrap()).unwrap();
    assert_eq!(object["attempts"], 2);
    assert!(object["reason"]
        .as_str()
        .unwrap()
        .contains("destinations failed"));
    assert!(rig.queue("default").await.is_empty());
}

#[tokio::test]
async fn an_ordinary_delivery_makes_no_s3_call() {
    let rig = Rig::new(&[]).await;
    let r = rig.send("person_updated", r#"{"id":7}"#, now_ms()).await;
    assert_eq!(r.status_code, 202, "{}", r.body);
    let r = rig.send("person_updated", r#"{"id":7}"#, now_ms()).await;
    assert_eq!(r.status_code, 200, "{}", r.body);
    let s3_calls: Vec<String> = rig
        .proxy
        .seen()
        .into_iter()
        .filter(|op| op.starts_with("S3:"))
        .collect();
    assert!(s3_calls.is_empty(), "{s3_calls:?}");
}

#[tokio::test]
async fn the_spool_redrive_binary_delivers_what_the_function_spooled() {
    let rig = Rig::new(&[]).await;
    rig.proxy.inject("PutItem", None, Fault::ServerError, None);
    let r = rig.send("person_updated", r#"{"id":8}"#, now_ms()).await;
    assert_eq!(r.status_code, 503, "{}", r.body);
    rig.proxy.heal();
    assert_eq!(rig.keys(PENDING).await.len(), 1);
    // The binary, run once as `make redrive-spool` runs it, straight against moto.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_spool-redrive"))
        .arg("--once")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(rig.stack.moto.aws_env())
        .env("TABLE_NAME", TABLE)
        .env("QUEUE_URL", &rig.stack.default_queue)
        .env("SPOOL_BUCKET", &rig.stack.spool_bucket)
        .output()
        .expect("run spool-redrive");
    assert!(out.status.success(), "{out:?}");
    let summary: serde_json::Value =
        serde_json::from_slice(out.stdout.lines_last()).expect("a JSON summary on stdout");
    assert_eq!(summary["delivered"], 1, "{summary}");
    assert_eq!(summary["remaining"], 0);
    assert!(rig.keys(PENDING).await.is_empty());
    assert_eq!(rig.queue("default").await.len(), 1);
}

/// The last line of a process's output.
trait LastLine {
    fn lines_last(&self) -> &[u8];
}

impl LastLine for Vec<u8> {
    fn lines_last(&self) -> &[u8] {
        self.trim_ascii_end()
            .rsplit(|b| *b == b'\n')
            .next()
            .unwrap_or_default()
    }
}
