//! Shared harness for the integration tests: a moto server on loopback (the real local
//! DynamoDB and SQS), real AWS SDK clients pointed at it, and signed Function URL events.

pub mod emulator;
pub mod fault_proxy;

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    TimeToLiveSpecification,
};
use aws_sdk_sqs::types::{MessageSystemAttributeName, QueueAttributeName};
use salesloft_webhooks::secrets::parse_entries;
use salesloft_webhooks::senders::{salesloft, standard, Provider, SenderSettings};
use salesloft_webhooks::signature::{Secret, Verifier};

/// The test token documented in the README (the events/ samples are signed with it).
pub const TOKEN: &str = "sl_test_callback_token_0123456789";
/// The SalesOS and Standard Webhooks test secrets (README; events/ is signed with them).
pub const SALESOS_SECRET: &str = "so_test_secret_0123456789";
/// `whsec_` + base64("sw_test_secret_0123456789abcdef").
pub const STANDARD_SECRET: &str = "whsec_c3dfdGVzdF9zZWNyZXRfMDEyMzQ1Njc4OWFiY2RlZg==";
pub const TABLE: &str = "salesloft-webhooks-dedup";

pub fn repo_path(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// The current time, epoch milliseconds.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// A loopback port nobody is listening on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// Waits until something accepts TCP connections on `port`.
pub fn wait_for_port(port: u16, timeout: Duration) {
    let start = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            start.elapsed() < timeout,
            "nothing listened on 127.0.0.1:{port} within {timeout:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A child process killed when dropped (also when a test panics).
pub struct ChildGuard(pub Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The project venv's Python (`MOTO_PYTHON` overrides), which has moto and boto3.
pub fn venv_python() -> PathBuf {
    let python = std::env::var("MOTO_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|_| repo_path(".venv/bin/python"));
    assert!(
        python.exists(),
        "{} not found: run `make setup` (or `make test`, which does it)",
        python.display()
    );
    python
}

/// One moto server per test, so tests are isolated and can run in parallel.
pub struct Moto {
    pub endpoint: String,
    _child: ChildGuard,
}

impl Moto {
    /// Starts `tools/moto_serial.py` (moto with serialised request handling, so conditional
    /// writes are atomic as in DynamoDB; see that file) with the venv's Python.
    pub fn start() -> Self {
        let python = venv_python();
        let port = free_port();
        let child = Command::new(&python)
            .arg(repo_path("tools/moto_serial.py"))
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start moto");
        let guard = ChildGuard(child);
        wait_for_port(port, Duration::from_secs(60));
        Moto {
            endpoint: format!("http://127.0.0.1:{port}"),
            _child: guard,
        }
    }

    /// The environment a function process needs to reach this moto.
    pub fn aws_env(&self) -> Vec<(String, String)> {
        [
            ("AWS_ENDPOINT_URL", self.endpoint.as_str()),
            ("AWS_ACCESS_KEY_ID", "test"),
            ("AWS_SECRET_ACCESS_KEY", "test"),
            ("AWS_REGION", "us-east-1"),
            ("AWS_EC2_METADATA_DISABLED", "true"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    pub async fn sdk_config(&self) -> aws_config::SdkConfig {
        sdk_config_at(&self.endpoint).await
    }
}

/// SDK configuration for an endpoint on loopback (moto, or the fault proxy in front of it).
pub async fn sdk_config_at(endpoint: &str) -> aws_config::SdkConfig {
    {
        aws_config::defaults(aws_config::BehaviorVersion::latest())
            .endpoint_url(endpoint)
            .region(aws_config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
                "test", "test", None, None, "static",
            ))
            .load()
            .await
    }
}

/// Real SDK clients plus the resources the function uses.
pub struct Stack {
    pub moto: Moto,
    pub ddb: aws_sdk_dynamodb::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub default_queue: String,
    /// The spool's bucket (created with the stack; used only where a test sets SPOOL_BUCKET).
    pub spool_bucket: String,
}

impl Stack {
    pub async fn start() -> Self {
        let moto = Moto::start();
        let config = moto.sdk_config().await;
        let ddb = aws_sdk_dynamodb::Client::new(&config);
        let sqs = aws_sdk_sqs::Client::new(&config);
        // The one definition of the local resources, shared with `make dev`, the SAM scripts
        // and the benchmark harness.
        let out = Command::new(venv_python())
            .arg(repo_path("tools/local_stack.py"))
            .args(["--endpoint", &moto.endpoint, "--json"])
            .stderr(Stdio::inherit())
            .output()
            .expect("run tools/local_stack.py");
        assert!(out.status.success(), "tools/local_stack.py failed: {out:?}");
        let created: serde_json::Value =
            serde_json::from_slice(&out.stdout).expect("local_stack.py --json prints JSON");
        assert_eq!(created["table"], TABLE);
        let default_queue = created["queues"]["default"]
            .as_str()
            .expect("the default queue URL")
            .to_string();
        let spool_bucket = created["spool_bucket"]
            .as_str()
            .expect("the spool bucket")
            .to_string();
        Stack {
            moto,
            ddb,
            sqs,
            default_queue,
            spool_bucket,
        }
    }

    /// Creates another table shaped like the function's (string key `pk`, TTL on
    /// `expires_at`), e.g. a consumer's idempotency table.
    pub async fn create_table(&self, name: &str) {
        self.ddb
            .create_table()
            .table_name(name)
            .billing_mode(BillingMode::PayPerRequest)
            .attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name("pk")
                    .attribute_type(ScalarAttributeType::S)
                    .build()
                    .unwrap(),
            )
            .key_schema(
                KeySchemaElement::builder()
                    .attribute_name("pk")
                    .key_type(KeyType::Hash)
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .expect("create table");
        self.ddb
            .update_time_to_live()
            .table_name(name)
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .attribute_name("expires_at")
                    .enabled(true)
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .expect("enable TTL");
    }

    /// Creates a queue (FIFO when the name ends in `.fifo`) and returns its URL.
    pub async fn create_queue(&self, name: &str) -> String {
        let mut create = self.sqs.create_queue().queue_name(name);
        if name.ends_with(".fifo") {
            create = create.attributes(QueueAttributeName::FifoQueue, "true");
        }
        create
            .send()
            .await
            .expect("create queue")
            .queue_url()
            .expect("queue url")
            .to_string()
    }

    /// The URL a queue would have, without creating it (to make a destination fail).
    pub fn queue_url(&self, name: &str) -> String {
        format!("{}/123456789012/{name}", self.moto.endpoint)
    }

    /// Receives (and deletes) every message currently on `queue_url`.
    pub async fn drain(&self, queue_url: &str) -> Vec<aws_sdk_sqs::types::Message> {
        let mut all = Vec::new();
        loop {
            let out = self
                .sqs
                .receive_message()
                .queue_url(queue_url)
                .max_number_of_messages(10)
                .message_attribute_names("All")
                .message_system_attribute_names(MessageSystemAttributeName::All)
                .wait_time_seconds(0)
                .send()
                .await
                .expect("receive");
            let batch = out.messages().to_vec();
            if batch.is_empty() {
                return all;
            }
            for m in &batch {
                self.sqs
                    .delete_message()
                    .queue_url(queue_url)
                    .receipt_handle(m.receipt_handle().unwrap())
                    .send()
                    .await
                    .expect("delete");
            }
            all.extend(batch);
        }
    }

    /// Creates the function's secret (`salesloft-webhooks/senders`) holding `value` in this
    /// moto's Secrets Manager; returns a client for it and the secret's ARN.
    pub async fn create_secret(&self, value: &str) -> (aws_sdk_secretsmanager::Client, String) {
        let sm = aws_sdk_secretsmanager::Client::new(&self.moto.sdk_config().await);
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

    /// Number of items in the dedup table.
    pub async fn table_items(
        &self,
    ) -> Vec<std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>> {
        self.ddb
            .scan()
            .table_name(TABLE)
            .send()
            .await
            .expect("scan")
            .items()
            .to_vec()
    }
}

/// Secrets of `provider` from a comma-separated list, parsed as the function parses them.
pub fn secrets(provider: Provider, list: &str) -> Vec<Secret> {
    parse_entries(provider, &list.split(',').collect::<Vec<_>>()).expect("valid test secrets")
}

/// Sender settings with the Salesloft timestamped variant on, both windows `tolerance_s`.
pub fn timestamped_settings(tolerance_s: u64) -> SenderSettings {
    let mut settings = standard_settings(tolerance_s);
    settings.salesloft = salesloft::Settings {
        timestamped: true,
        tolerance_s,
    };
    settings
}

/// Default sender settings with the Standard Webhooks window `tolerance_s`.
pub fn standard_settings(tolerance_s: u64) -> SenderSettings {
    SenderSettings {
        standard: standard::Settings { tolerance_s },
        ..SenderSettings::default()
    }
}

/// The documented test secret of each sender (the samples under `events/` are signed with
/// them).
pub fn test_secret(provider: Provider) -> &'static str {
    match provider {
        Provider::Salesloft => TOKEN,
        Provider::SalesOs => SALESOS_SECRET,
        Provider::StandardWebhooks => STANDARD_SECRET,
    }
}

/// A verifier holding the test secrets of every sender in `providers`, with `settings`.
pub fn test_verifier(settings: SenderSettings, providers: &[Provider]) -> Verifier {
    providers.iter().fold(Verifier::new(settings), |v, p| {
        let list = match p {
            Provider::Salesloft => TOKEN,
            Provider::SalesOs => SALESOS_SECRET,
            Provider::StandardWebhooks => STANDARD_SECRET,
        };
        v.with_keys(*p, secrets(*p, list))
    })
}

/// A Function URL event for a Salesloft delivery of `body`, signed with `token`.
pub fn salesloft_event(event_type: &str, body: &str, token: &str) -> serde_json::Value {
    serde_json::json!({
        "version": "2.0",
        "rawPath": "/salesloft",
        "rawQueryString": "",
        "headers": {
            "content-type": "application/json",
            "x-salesloft-event": event_type,
            "x-salesloft-signature": salesloft::sign(token.as_bytes(), body.as_bytes()),
        },
        "requestContext": {"http": {"method": "POST", "path": "/salesloft"}, "timeEpoch": 0},
        "body": body,
        "isBase64Encoded": false
    })
}

/// Reads a sample from `events/`.
pub fn sample(rel: &str) -> serde_json::Value {
    let text = std::fs::read_to_string(repo_path(rel)).expect("read sample");
    serde_json::from_str(&text).expect("sample is JSON")
}

/// The string value of a message attribute.
pub fn attr(m: &aws_sdk_sqs::types::Message, name: &str) -> String {
    m.message_attributes()
        .and_then(|a| a.get(name))
        .and_then(|v| v.string_value())
        .unwrap_or_default()
        .to_string()
}
