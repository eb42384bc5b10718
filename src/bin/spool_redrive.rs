//! `spool-redrive`: the spool's redrive as a Lambda function on a schedule (its event is
//! ignored), or once from the command line with `--once` (`make redrive-spool`). Answers
//! `{"delivered": n, "duplicates": n, "failed": n, "remaining": n}` and logs the same as a
//! line with metrics (EMF), which the spool alarms watch.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use lambda_runtime::{service_fn, Error, LambdaEvent};
use salesloft_webhooks::config::Config;
use salesloft_webhooks::dedup::DynamoDbDedupStore;
use salesloft_webhooks::destinations::SqsPublisher;
use salesloft_webhooks::secrets::Keyring;
use salesloft_webhooks::service::Service;
use salesloft_webhooks::signature::Verifier;
use salesloft_webhooks::spool::redrive::{redrive, Summary};
use salesloft_webhooks::spool::{S3Spool, SpoolStore};

/// Time kept back from the invocation's deadline: no new delivery is started after it.
const STOP_MARGIN: Duration = Duration::from_secs(10);

#[tokio::main]
async fn main() -> Result<(), Error> {
    salesloft_webhooks::logging::init_json_logs();
    let config = match Config::for_redrive_from_env() {
        Ok(c) => c,
        Err(err) => {
            tracing::error!(error = %err, "invalid configuration");
            std::process::exit(1);
        }
    };
    let aws = aws_config::load_from_env().await;
    let bucket = config.spool_bucket.clone().unwrap_or_default();
    let spool: Arc<dyn SpoolStore> = Arc::new(S3Spool::new(
        salesloft_webhooks::spool::s3::client(&aws),
        bucket,
    ));
    // The redrive verifies nothing (the spool holds verified deliveries only): no keys.
    let service = Service::with_keyring(
        DynamoDbDedupStore::new(aws_sdk_dynamodb::Client::new(&aws), &config.table_name),
        SqsPublisher::new(aws_sdk_sqs::Client::new(&aws)),
        Keyring::fixed(Verifier::default()),
        config.routes.clone(),
        config.dedup_ttl,
    );
    let policy = config.redrive;
    let run = |deadline_ms: u64| {
        let service = &service;
        let spool = spool.clone();
        async move {
            let stop = move || now_ms() + STOP_MARGIN.as_millis() as u64 >= deadline_ms;
            let token = || format!("{:032x}", rand::random::<u128>());
            let summary = redrive(service, spool.as_ref(), policy, now_ms, stop, token).await?;
            log_summary(&summary);
            Ok::<Summary, Error>(summary)
        }
    };

    if std::env::args().any(|a| a == "--once") {
        let summary = run(now_ms() + 15 * 60 * 1000).await?;
        println!("{}", serde_json::to_string(&summary)?);
        return Ok(());
    }
    lambda_runtime::run(service_fn(|event: LambdaEvent<serde_json::Value>| {
        run(event.context.deadline)
    }))
    .await
}

fn log_summary(summary: &Summary) {
    tracing::info!(
        target: "spool_summary",
        delivered = summary.delivered,
        duplicates = summary.duplicates,
        failed = summary.failed,
        remaining = summary.remaining,
        oldest_age_s = summary.oldest_age_s,
        "redrive"
    );
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}
