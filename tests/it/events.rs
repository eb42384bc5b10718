//! The sample events under `events/` (written by `tools/gen_events.py`) run through the real
//! Function URL adapter on the in-memory ports, each under the deployment (`config`) and the
//! clock (`now`) its manifest entry names: each gets the status its entry names, every
//! accepted one is published once with its body embedded byte for byte, and the generator's
//! Python HMACs (Salesloft SHA-1 and timestamped SHA-256, SalesOS, Standard Webhooks) agree
//! with the crate's.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine;
use serde::Deserialize;
use serde_json::Value;

use salesloft_webhooks::dedup::MemoryDedupStore;
use salesloft_webhooks::destinations::MemoryPublisher;
use salesloft_webhooks::destinations::RouteTable;
use salesloft_webhooks::http::{handle, FunctionUrlResponse, Limits};
use salesloft_webhooks::senders::salesloft::derived_event_id;
use salesloft_webhooks::senders::{salesloft, salesos, standard, Provider};
use salesloft_webhooks::service::{Invocation, Service};
use salesloft_webhooks::signature::{Secret, Verifier};
use salesloft_webhooks_wire::SalesloftEvent;

use crate::common::{secrets, standard_settings, test_verifier, timestamped_settings};

// The documented test-only secrets the generator signs with (README), shared with the other
// suites.
use crate::common::{SALESOS_SECRET, STANDARD_SECRET, TOKEN as TEST_TOKEN};
const STANDARD_KEY: &[u8] = b"sw_test_secret_0123456789abcdef";
/// Replay window of both timestamped schemes in the test deployments.
const TOLERANCE_S: u64 = 300;
const QUEUE_URL: &str = "http://127.0.0.1:5000/123456789012/salesloft-events";
/// 2026-11-23T14:00:00Z: the clock of a sample whose entry names no `now`.
const NOW_MS: u64 = 1_795_442_400_000;
/// The signing time of every timestamped sample (the generator's `SIGNING_TIME`).
const SIGNING_TIME_S: u64 = 1_795_442_400;
const LIMITS: Limits = Limits {
    max_body_bytes: 1_044_480,
};
/// SalesOS's event types as its published reference lists them (one per line).
const SALESOS_EVENT_TYPES: &str = "tests/data/salesos_event_types.txt";

type TestService = Service<MemoryDedupStore, MemoryPublisher>;

/// The deployment a sample is meant for (the manifest's `config`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Config {
    /// Salesloft HMAC-SHA1, SalesOS and Standard Webhooks, all with the test secrets.
    #[default]
    Default,
    /// As `Default`, but Salesloft uses the timestamped HMAC-SHA256 variant.
    SalesloftTimestamped,
    /// Only the Salesloft token: SalesOS and Standard Webhooks are not served.
    SalesloftOnly,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    file: String,
    expect_status: u16,
    description: String,
    /// For a refusal: the `error` code its JSON response body carries.
    #[serde(default)]
    expect_error: Option<String>,
    /// The sender the request claims to be (`null` for path/method cases).
    #[serde(default)]
    provider: Option<String>,
    #[serde(default)]
    config: Config,
    /// The current time the sample must be run at, unix seconds.
    #[serde(default)]
    now: Option<u64>,
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

    /// The body as JSON (every accepted body is a JSON object).
    fn body_json(&self) -> Value {
        serde_json::from_slice(&self.body_bytes())
            .unwrap_or_else(|e| panic!("{}: body is not JSON: {e}", self.entry.file))
    }

    fn provider(&self) -> Option<Provider> {
        self.entry.provider.as_deref().map(|name| {
            Provider::parse(name)
                .unwrap_or_else(|| panic!("{}: unknown provider {name:?}", self.entry.file))
        })
    }

    fn now_ms(&self) -> u64 {
        self.entry.now.map_or(NOW_MS, |s| s * 1000)
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

fn standard_secret() -> Secret {
    secrets(Provider::StandardWebhooks, STANDARD_SECRET).remove(0)
}

/// The verifier of the deployment `config` names.
fn verifier(config: Config) -> Verifier {
    let all = Provider::ALL;
    match config {
        Config::SalesloftOnly => {
            test_verifier(standard_settings(TOLERANCE_S), &[Provider::Salesloft])
        }
        Config::Default => test_verifier(standard_settings(TOLERANCE_S), all),
        Config::SalesloftTimestamped => test_verifier(timestamped_settings(TOLERANCE_S), all),
    }
}

fn service(config: Config) -> TestService {
    let verifier = verifier(config);
    let routes = RouteTable::new(Some(QUEUE_URL.into()), vec![], &verifier.served())
        .expect("a default queue serves every event");
    Service::new(
        MemoryDedupStore::new(),
        MemoryPublisher::new(),
        verifier,
        routes,
        Duration::from_secs(604_800),
    )
}

fn invocation(now_ms: u64) -> Invocation {
    Invocation {
        now_ms,
        deadline_ms: now_ms + 10_000,
        claim_token: "claim-token-events-test".into(),
    }
}

/// Runs one sample through the adapter on a fresh service of its deployment, at its clock
/// (so samples cannot see each other's dedup records) and returns the response with the
/// service.
async fn run(sample: &Sample) -> (FunctionUrlResponse, TestService) {
    let service = service(sample.entry.config);
    let inv = invocation(sample.now_ms());
    let response = handle(&service, LIMITS, sample.event.clone(), &inv).await;
    (response, service)
}

fn salesloft_sample_types() -> BTreeSet<String> {
    sample_stems("events/salesloft")
}

/// The file stems of the `*.json` files in `folder` (relative to the crate root).
fn sample_stems(folder: &str) -> BTreeSet<String> {
    let dir: PathBuf = root().join(folder);
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

        let provider = sample
            .provider()
            .unwrap_or_else(|| panic!("{file}: an accepted sample names its provider"));
        let payload: Value = serde_json::from_str(&body).expect("an accepted body is JSON");
        let (event_type, event_id) = expected_identity(&sample, provider, &payload);
        assert_eq!(message.provider, provider, "{file}");
        assert_eq!(message.identity.event_type, event_type, "{file}");
        assert_eq!(message.identity.event_id, event_id, "{file}");
        assert_eq!(
            response.json_body()["event_id"].as_str(),
            Some(message.identity.event_id.as_str()),
            "{file}: the response names the published event"
        );
        let envelope: Value = serde_json::from_str(&message.body)
            .unwrap_or_else(|e| panic!("{file}: the envelope is not JSON: {e}"));
        assert_eq!(envelope["payload"], payload, "{file}");
        assert_eq!(envelope["provider"], provider.as_str(), "{file}");
        assert_eq!(envelope["event_type"], event_type, "{file}");
        assert_eq!(envelope["event_id"], event_id, "{file}");
    }
}

/// The event type and id the design table gives an accepted sample: Salesloft's type from
/// `x-salesloft-event` and a derived id; SalesOS's from the body's `type` and `id`; Standard
/// Webhooks' from the body's `type` and the `webhook-id` header.
fn expected_identity(sample: &Sample, provider: Provider, payload: &Value) -> (String, String) {
    let file = &sample.entry.file;
    let body_type = || {
        payload["type"]
            .as_str()
            .unwrap_or_else(|| panic!("{file}: no string \"type\" in the body"))
            .to_string()
    };
    match provider {
        Provider::Salesloft => {
            let event_type = sample
                .header("x-salesloft-event")
                .unwrap_or_else(|| panic!("{file}: no x-salesloft-event header"))
                .to_string();
            let id = derived_event_id(&event_type, &sample.body_bytes());
            (event_type, id)
        }
        Provider::SalesOs => {
            let id = payload["id"]
                .as_str()
                .unwrap_or_else(|| panic!("{file}: no string \"id\" in the body"));
            (body_type(), id.to_string())
        }
        Provider::StandardWebhooks => {
            let id = sample
                .header("webhook-id")
                .unwrap_or_else(|| panic!("{file}: no webhook-id header"));
            (body_type(), id.to_string())
        }
    }
}

/// Recomputes, with the crate's HMAC functions, the signature the sample presents, following
/// the scheme of its provider and deployment.
fn check_signature_like_the_crate(sample: &Sample) {
    let file = &sample.entry.file;
    let body = sample.body_bytes();
    let header = |name: &str| {
        sample
            .header(name)
            .unwrap_or_else(|| panic!("{file}: no {name} header"))
    };
    let provider = sample
        .provider()
        .unwrap_or_else(|| panic!("{file}: an accepted sample names its provider"));
    match (provider, sample.entry.config) {
        (Provider::Salesloft, Config::Default | Config::SalesloftOnly) => {
            let computed = salesloft::sign(TEST_TOKEN.as_bytes(), &body);
            assert_eq!(header("x-salesloft-signature"), computed, "{file}");
        }
        (Provider::Salesloft, Config::SalesloftTimestamped) => {
            let ts = header("x-salesloft-timestamp");
            assert_eq!(ts, SIGNING_TIME_S.to_string(), "{file}: signing time");
            let computed = salesloft::sign_timestamped(TEST_TOKEN.as_bytes(), ts, &body);
            assert_eq!(header("x-salesloft-signature"), computed, "{file}");
        }
        (Provider::SalesOs, _) => {
            let computed = salesos::sign(SALESOS_SECRET.as_bytes(), &body);
            assert_eq!(header("x-webhook-signature"), computed, "{file}");
        }
        (Provider::StandardWebhooks, _) => {
            let (id, ts) = (header("webhook-id"), header("webhook-timestamp"));
            assert_eq!(ts, SIGNING_TIME_S.to_string(), "{file}: signing time");
            let expected = standard::sign(&standard_secret(), id, ts, &body);
            let entries: Vec<&str> = header("webhook-signature").split(' ').collect();
            assert!(
                entries.contains(&expected.as_str()),
                "{file}: no entry of {entries:?} is {expected}"
            );
        }
    }
}

#[test]
fn the_generators_signature_matches_the_crates_hmac_for_every_accepted_sample() {
    let mut checked = BTreeSet::new();
    for sample in accepted_samples() {
        check_signature_like_the_crate(&sample);
        checked.insert((sample.entry.provider.clone(), sample.entry.config));
    }
    // Every scheme is covered by at least one accepted sample.
    for (provider, config) in [
        ("salesloft", Config::Default),
        ("salesloft", Config::SalesloftTimestamped),
        ("salesos", Config::Default),
        ("standard", Config::Default),
    ] {
        assert!(
            checked.contains(&(Some(provider.to_string()), config)),
            "no accepted {provider} sample for {config:?}"
        );
    }
}

#[test]
fn the_standard_webhooks_test_secret_is_whsec_and_the_base64_of_the_documented_key() {
    assert_eq!(standard_secret().expose(), STANDARD_KEY);
    assert_eq!(
        STANDARD_SECRET,
        format!(
            "whsec_{}",
            base64::engine::general_purpose::STANDARD.encode(STANDARD_KEY)
        )
    );
}

#[test]
fn every_salesloft_event_type_has_exactly_one_sample() {
    // The wire crate's enum is the list consumers program against (taken from Salesloft's
    // published event-type reference); the samples must match it one to one.
    let expected: BTreeSet<String> = SalesloftEvent::ALL
        .iter()
        .map(|e| e.as_str().to_string())
        .collect();
    assert_eq!(expected.len(), 37, "Salesloft documents 37 event types");
    let have = salesloft_sample_types();
    let missing: Vec<&String> = expected.difference(&have).collect();
    assert!(
        missing.is_empty(),
        "no sample in events/salesloft/ for {missing:?}: add them to tools/gen_events.py and rerun it"
    );
    let unknown: Vec<&String> = have.difference(&expected).collect();
    assert!(
        unknown.is_empty(),
        "samples for types SalesloftEvent does not know: {unknown:?}"
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
fn every_salesos_event_type_has_exactly_one_sample() {
    let expected: BTreeSet<String> = read(&root().join(SALESOS_EVENT_TYPES))
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_string)
        .collect();
    assert_eq!(expected.len(), 20, "SalesOS documents 20 event types");
    assert_eq!(
        sample_stems("events/salesos"),
        expected,
        "events/salesos/ must hold one sample per SalesOS event type: edit tools/gen_events.py and rerun it"
    );
}

#[test]
fn every_salesos_and_standard_sample_is_in_the_manifest_and_names_its_own_event_type() {
    let samples = samples();
    let mut salesos_ids = BTreeSet::new();
    let mut webhook_ids = BTreeSet::new();
    for (folder, provider) in [
        ("events/salesos", Provider::SalesOs),
        ("events/standard", Provider::StandardWebhooks),
    ] {
        let stems = sample_stems(folder);
        assert!(!stems.is_empty(), "no samples in {folder}/");
        for event_type in stems {
            let file = format!("{folder}/{event_type}.json");
            let sample = samples
                .iter()
                .find(|s| s.entry.file == file)
                .unwrap_or_else(|| panic!("{file} is not in events/manifest.json"));
            assert_eq!(sample.provider(), Some(provider), "{file}");
            assert_eq!(sample.entry.config, Config::Default, "{file}");
            assert_eq!(sample.entry.expect_status, 202, "{file}");
            let body = sample.body_json();
            assert_eq!(body["type"].as_str(), Some(event_type.as_str()), "{file}");
            assert!(body["data"].is_object(), "{file}: no \"data\" object");
            assert!(body["data"]["id"].is_string(), "{file}: no data.id");
        }
    }
    // Ids must be unique across all samples of a sender, or a replay through one store
    // (the emulator test) would answer a later sample as a duplicate.
    for sample in samples.iter().filter(|s| s.is_accepted()) {
        let file = &sample.entry.file;
        match sample.provider() {
            Some(Provider::SalesOs) => {
                let id = sample.body_json()["id"].as_str().map(str::to_string);
                let id = id.unwrap_or_else(|| panic!("{file}: no string id"));
                assert!(id.starts_with("evt_"), "{file}: {id}");
                assert!(salesos_ids.insert(id.clone()), "{file}: id {id} used twice");
            }
            Some(Provider::StandardWebhooks) => {
                let id = sample
                    .header("webhook-id")
                    .expect("a webhook-id")
                    .to_string();
                assert!(id.starts_with("msg_"), "{file}: {id}");
                assert!(
                    webhook_ids.insert(id.clone()),
                    "{file}: webhook-id {id} used twice"
                );
            }
            _ => {}
        }
    }
}

/// `tests/it/emulator.rs` replays the manifest against a deployment with the real clock and
/// skips entries by `config`, `now` and `provider`, so those fields must be right.
#[test]
fn every_manifest_entry_names_its_provider_and_timestamped_ones_their_clock() {
    let raw: Vec<Value> =
        serde_json::from_str(&read(&root().join("events/manifest.json"))).expect("JSON");
    let samples = samples();
    assert_eq!(raw.len(), samples.len());
    for (entry, sample) in raw.iter().zip(&samples) {
        let file = &sample.entry.file;
        assert!(
            entry.get("provider").is_some(),
            "{file}: no \"provider\" field (use null for path/method cases)"
        );
        // The provider named is the one the path routes to.
        let path = sample.event["rawPath"].as_str().unwrap_or("/");
        match sample.provider() {
            Some(Provider::Salesloft) => assert!(matches!(path, "/" | "/salesloft"), "{file}"),
            Some(Provider::SalesOs) => assert_eq!(path, "/salesos", "{file}"),
            Some(Provider::StandardWebhooks) => assert_eq!(path, "/standard", "{file}"),
            None => assert_ne!(sample.entry.expect_status, 202, "{file}"),
        }
        // A sample whose signature covers a timestamp is only valid at its signing time.
        let timestamped = match sample.provider() {
            Some(Provider::StandardWebhooks) => true,
            Some(Provider::Salesloft) => sample.entry.config == Config::SalesloftTimestamped,
            _ => false,
        };
        if timestamped {
            assert_eq!(sample.entry.now, Some(SIGNING_TIME_S), "{file}: \"now\"");
        } else {
            assert_eq!(
                sample.entry.now, None,
                "{file}: \"now\" on an untimestamped sample"
            );
        }
    }
    // The deployment without SalesOS and Standard Webhooks answers them 404.
    assert!(samples
        .iter()
        .any(|s| s.entry.config == Config::SalesloftOnly
            && s.provider() == Some(Provider::SalesOs)
            && s.entry.expect_status == 404));
}
