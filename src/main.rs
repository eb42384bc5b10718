//! Bootstrap only: JSON logs, configuration, AWS clients, and the Lambda runtime loop: each
//! event passes the guard, then lambda_http's adapter (request conversion, response
//! serialisation) around the handler.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use lambda_http::{Adapter, Request, Service as _};
use lambda_runtime::{service_fn, Error, LambdaEvent};
use salesloft_webhooks::config::{Config, SecretSource};
use salesloft_webhooks::dedup::DynamoDbDedupStore;
use salesloft_webhooks::destinations::SqsPublisher;
use salesloft_webhooks::http::{guard, handle_request, reject, Limits, Rejection};
use salesloft_webhooks::secrets::{Keyring, RefreshPolicy, SecretsManagerSecretStore};
use salesloft_webhooks::service::{Invocation, Service};
use salesloft_webhooks::spool::S3Spool;

#[tokio::main]
async fn main() -> Result<(), Error> {
    salesloft_webhooks::logging::init_json_logs();

    let config = match Config::from_env() {
        Ok(c) => c,
        Err(err) => {
            // Fail the cold start with a message that names the variable.
            tracing::error!(error = %err, "invalid configuration");
            std::process::exit(1);
        }
    };

    // A connection that cannot be made within a second is not going to help a 6 s
    // invocation; the service bounds every call by the invocation's deadline on top of this.
    let timeouts = aws_config::timeout::TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(1))
        .build();
    let aws = aws_config::from_env().timeout_config(timeouts).load().await;
    let ddb = aws_sdk_dynamodb::Client::new(&aws);
    let sqs = aws_sdk_sqs::Client::new(&aws);
    if std::env::var("PREWARM_CONNECTIONS").is_ok_and(|v| v == "true") {
        prewarm(&ddb, &sqs, &config).await;
    }
    let dedup = DynamoDbDedupStore::new(ddb, &config.table_name);
    let publisher = SqsPublisher::new(sqs);
    let limits = Limits {
        max_body_bytes: config.max_body_bytes,
    };
    let keys = match &config.secrets {
        SecretSource::Environment(secrets) => Keyring::fixed(secrets.verifier(&config.settings)),
        SecretSource::SecretsManager { secret_id, refresh } => {
            let store = SecretsManagerSecretStore::new(
                aws_sdk_secretsmanager::Client::new(&aws),
                secret_id.clone(),
            );
            let policy = RefreshPolicy {
                refresh_after_ms: refresh.as_millis() as u64,
                ..RefreshPolicy::default()
            };
            Keyring::from_store(Box::new(store), config.settings.clone(), policy, now_ms()).await
        }
    };
    let mut service =
        Service::with_keyring(dedup, publisher, keys, config.routes, config.dedup_ttl);
    if let Some(bucket) = &config.spool_bucket {
        service = service.with_spool(Arc::new(S3Spool::new(
            salesloft_webhooks::spool::s3::client(&aws),
            bucket,
        )));
    }
    let service = &service;

    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<serde_json::Value>| async move {
            let LambdaEvent { payload, context } = event;
            let inv = Invocation {
                now_ms: now_ms(),
                deadline_ms: context.deadline,
                claim_token: format!("{:032x}", rand::random::<u128>()),
            };
            let request = match guard::lambda_request(payload, limits) {
                Ok(request) => request,
                // lambda_http would panic on it or fail to read it: answer 400/413 here.
                Err(rejection) => return Ok(guard::to_function_url_response(reject(rejection))),
            };
            let inv = &inv;
            let mut adapter = Adapter::from(service_fn(move |request: Request| async move {
                Ok::<_, Infallible>(handle_request(service, limits, request, inv).await)
            }));
            // The adapter converts the request inside `call`, before the handler runs: a panic
            // there (a case the guard misses) is caught and answered like a malformed event.
            let call = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                adapter.call(LambdaEvent::new(request, context))
            }));
            let Ok(call) = call else {
                tracing::error!(
                    "lambda_http's request conversion panicked on an input the guard let through"
                );
                return Ok(guard::to_function_url_response(reject(
                    Rejection::MalformedEvent,
                )));
            };
            let response = match call.await {
                Ok(response) => response,
                Err(never) => match never {},
            };
            // lambda_http's response type is not nameable; as JSON it is the same document.
            Ok::<_, Error>(serde_json::to_value(response)?)
        },
    ))
    .await
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// A benchmark lever, off unless `PREWARM_CONNECTIONS=true` (BENCHMARKS.md, "levers"): opens
/// the DynamoDB and SQS connections during INIT (one `DescribeTable`, one
/// `GetQueueAttributes` per SQS destination, concurrently), so the first request does not pay
/// the TLS handshakes. The answers are ignored: even a refused call (the template grants
/// neither action) leaves its connection in the pool.
async fn prewarm(ddb: &aws_sdk_dynamodb::Client, sqs: &aws_sdk_sqs::Client, config: &Config) {
    use salesloft_webhooks::destinations::Target;
    let table = ddb.describe_table().table_name(&config.table_name).send();
    let queues = config.routes.all().map(|d| {
        let Target::Sqs(queue) = &d.target;
        sqs.get_queue_attributes().queue_url(&queue.url).send()
    });
    let (table, queues) = tokio::join!(table, futures::future::join_all(queues));
    let failed = usize::from(table.is_err()) + queues.iter().filter(|r| r.is_err()).count();
    tracing::info!(failed, "prewarmed the AWS connections");
}
