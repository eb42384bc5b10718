//! The sample events under `events/` (written by `tools/gen_events.py`) run through the real
//! Function URL adapter on the in-memory ports: each gets the status its manifest entry names,
//! every accepted one is published once with its body embedded byte for byte, and the
//! generator's Python HMAC agrees with the crate's.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine;
use serde::Deserialize;
use serde_json::Value;

use salesloft_webhooks::config::parse_secret_list;
use salesloft_webhooks::dedup::MemoryDedupStore;
use salesloft_webhooks::http::{handle, FunctionUrlResponse, Limits};
use salesloft_webhooks::publish::MemoryPublisher;
use salesloft_webhooks::routing::RouteTable;
use salesloft_webhooks::service::{Invocation, Service};
use salesloft_webhooks::signature::{salesloft_signature, Provider, Verifier};

/// The documented test-only callback token the generator signs with.
const TEST_TOKEN: &str = "sl_test_callback_token_0123456789";
const QUEUE_URL: &str = "http://127.0.0.1:5000/123456789012/salesloft-events";
const NOW_MS: u64 = 1_795_442_400_000;
const LIMITS: Limits = Limits {
    max_body_bytes: 1_044_480,
};
/// Relative to the crate root; present in the shared workspace, absent in a clean clone.
const REFERENCE: &str = "../shared/reference/salesloft-webhooks-asyncapi.txt";

type TestService = Service<MemoryDedupStore, MemoryPublisher>;

#[derive(Debug, Deserialize)]
struct Entry {
    file: String,
    expect_status: u16,
    description: String,
    /// For a refusal: the `error` code its JSON response body carries.
    #[serde(default)]
    expect_error: Option<String>,
}

/// One manifest entry with its event loaded.
struct Sample {
    entry: Entry,
    event: Value,
}

impl Sample {
    fn header(&self, name: &str) -> Option<&str> {
        self.event["headers"][name].as_str()
    }

    /// The raw body bytes the sender signed (base64-decoded when flagged).
    fn body_bytes(&self) -> Vec<u8> {
        let text = self.event["body"].as_str().unwrap_or("");
        if self.event["isBase64Encoded"].as_bool().unwrap_or(false) {
            base64::engine::general_purpose::STANDARD
                .decode(text)
                .unwrap_or_else(|e| panic!("{}: body is not base64: {e}", self.entry.file))
        } else {
            text.as_bytes().to_vec()
        }
    }

    fn is_accepted(&self) -> bool {
        self.entry.expect_status == 202
    }
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

fn samples() -> Vec<Sample> {
    let manifest = root().join("events/manifest.json");
    let entries: Vec<Entry> = serde_json::from_str(&read(&manifest))
        .unwrap_or_else(|e| panic!("{}: {e}", manifest.display()));
    assert!(!entries.is_empty(), "the manifest lists no samples");
    entries
        .into_iter()
        .map(|entry| {
            let path = root().join(&entry.file);
            let event = serde_json::from_str(&read(&path))
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            Sample { entry, event }
        })
        .collect()
}

fn accepted_samples() -> Vec<Sample> {
    let accepted: Vec<Sample> = samples().into_iter().filter(Sample::is_accepted).collect();
    assert!(!accepted.is_empty(), "the manifest has no accepted samples");
    accepted
}

fn service() -> TestService {
    Service::new(
        MemoryDedupStore::new(),
        MemoryPublisher::new(),
        Verifier::new(parse_secret_list(TEST_TOKEN)),
        RouteTable::new(Some(QUEUE_URL.into()), vec![], &[Provider::Salesloft])
            .expect("a default queue serves every event"),
        Duration::from_secs(604_800),
    )
}

fn invocation() -> Invocation {
    Invocation {
        now_ms: NOW_MS,
        deadline_ms: NOW_MS + 10_000,
        claim_token: "claim-token-events-test".into(),
    }
}

/// Runs one sample through the adapter on a fresh service (so samples cannot see each
/// other's dedup records) and returns the response with the service.
async fn run(sample: &Sample) -> (FunctionUrlResponse, TestService) {
    let service = service();
    let response = handle(&service, LIMITS, sample.event.clone(), &invocation()).await;
    (response, service)
}

/// The Salesloft event types named in the reference document: between the `channels:` and
/// `components:` lines, every line matching `^[a-z_]+:$` except `subscribe:` and `message:`
/// (the document is stored without YAML indentation).
fn reference_event_types(text: &str) -> Vec<String> {
    text.lines()
        .skip_while(|line| line.trim_end() != "channels:")
        .skip(1)
        .take_while(|line| line.trim_end() != "components:")
        .map(str::trim_end)
        .filter_map(|line| line.strip_suffix(':'))
        .filter(|name| {
            !name.is_empty() && name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
        })
        .filter(|name| !matches!(*name, "subscribe" | "message"))
        .map(str::to_string)
        .collect()
}

fn salesloft_sample_types() -> BTreeSet<String> {
    let dir: PathBuf = root().join("events/salesloft");
    std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect()
}

#[tokio::test]
async fn every_sample_in_the_manifest_gets_its_expected_status() {
    let mut failures = Vec::new();
    let samples = samples();
    for sample in &samples {
        let (response, _) = run(sample).await;
        let error = response.json_body()["error"].as_str().map(str::to_string);
        let status_ok = response.status_code == sample.entry.expect_status;
        let error_ok = sample.entry.expect_error.is_none() || error == sample.entry.expect_error;
        if !(status_ok && error_ok) {
            failures.push(format!(
                "{} ({}): expected {} {}, got {} {}",
                sample.entry.file,
                sample.entry.description,
                sample.entry.expect_status,
                sample.entry.expect_error.as_deref().unwrap_or(""),
                response.status_code,
                response.body
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} samples got the wrong status:\n{}",
        failures.len(),
        samples.len(),
        failures.join("\n")
    );
}

#[tokio::test]
async fn each_accepted_sample_is_published_once_with_its_body_embedded_byte_for_byte() {
    for sample in accepted_samples() {
        let file = &sample.entry.file;
        let (response, service) = run(&sample).await;
        assert_eq!(response.status_code, 202, "{file}: {}", response.body);

        let sent = service.publisher().sent_to("default");
        assert_eq!(sent.len(), 1, "{file}: messages on the default queue");
        assert_eq!(service.publisher().total(), 1, "{file}: messages anywhere");
        let message = &sent[0];

        let body = String::from_utf8(sample.body_bytes())
            .unwrap_or_else(|e| panic!("{file}: body is not UTF-8: {e}"));
        let embedded = format!("\"payload\":{body}");
        assert!(
            message.body.contains(&embedded),
            "{file}: the envelope does not embed the body verbatim:\n{}",
            message.body
        );

        let event_type = sample.header("x-salesloft-event").expect("an event type");
        assert_eq!(message.provider, "salesloft", "{file}");
        assert_eq!(message.event_type, event_type, "{file}");
        assert_eq!(
            response.json_body()["event_id"].as_str(),
            Some(message.event_id.as_str()),
            "{file}: the response names the published event"
        );
        let envelope: Value = serde_json::from_str(&message.body)
            .unwrap_or_else(|e| panic!("{file}: the envelope is not JSON: {e}"));
        let payload: Value = serde_json::from_str(&body).expect("an accepted body is JSON");
        assert_eq!(envelope["payload"], payload, "{file}");
        assert_eq!(envelope["event_type"], event_type, "{file}");
    }
}

#[test]
fn the_generators_signature_matches_the_crates_hmac_for_every_accepted_sample() {
    for sample in accepted_samples() {
        let file = &sample.entry.file;
        let presented = sample
            .header("x-salesloft-signature")
            .unwrap_or_else(|| panic!("{file}: no x-salesloft-signature header"));
        let computed = salesloft_signature(TEST_TOKEN.as_bytes(), &sample.body_bytes());
        assert_eq!(presented, computed, "{file}");
    }
}

#[test]
fn every_salesloft_event_type_in_the_reference_document_has_a_sample() {
    let path = root().join(REFERENCE);
    if !path.exists() {
        println!(
            "note: {} is absent; skipping the check against the reference document",
            path.display()
        );
        return;
    }
    let expected = reference_event_types(&read(&path));
    assert_eq!(
        expected.len(),
        expected.iter().collect::<BTreeSet<_>>().len(),
        "the reference lists an event type twice: {expected:?}"
    );
    assert!(
        expected.len() >= 30,
        "parsed only {} event types from the reference; has its layout changed? {expected:?}",
        expected.len()
    );
    let have = salesloft_sample_types();
    let missing: Vec<&String> = expected.iter().filter(|t| !have.contains(*t)).collect();
    assert!(
        missing.is_empty(),
        "no sample in events/salesloft/ for {missing:?}: add them to tools/gen_events.py and rerun it"
    );
}

#[test]
fn every_salesloft_sample_is_in_the_manifest_and_names_its_own_event_type() {
    let samples = samples();
    let listed: BTreeSet<&str> = samples.iter().map(|s| s.entry.file.as_str()).collect();
    assert_eq!(listed.len(), samples.len(), "a file is listed twice");
    for event_type in salesloft_sample_types() {
        let file = format!("events/salesloft/{event_type}.json");
        let sample = samples
            .iter()
            .find(|s| s.entry.file == file)
            .unwrap_or_else(|| panic!("{file} is not in events/manifest.json"));
        assert_eq!(
            sample.header("x-salesloft-event"),
            Some(event_type.as_str()),
            "{file}"
        );
        assert_eq!(sample.entry.expect_status, 202, "{file}");
        let body: Value = serde_json::from_slice(&sample.body_bytes())
            .unwrap_or_else(|e| panic!("{file}: body is not JSON: {e}"));
        assert!(
            body["id"].is_u64(),
            "{file}: the body has no integer top-level id"
        );
    }
}

#[test]
fn the_reference_parser_reads_channel_names_only() {
    let text = "info:\ntitle: x\nchannels:\n# Accounts\naccount_created:\ndescription: y\nsubscribe:\nmessage:\n$ref: '#/a'\nlink_swap:\nsubscribe:\ncomponents:\nmessages:\n";
    assert_eq!(
        reference_event_types(text),
        ["account_created", "link_swap"]
    );
}
