//! The `salesloft-webhooks subscriptions` commands, run as the built binary against a local
//! Salesloft API (`support/fake_salesloft.rs`) and moto's Secrets Manager (the project
//! venv's `tools/moto_serial.py`, one per test). Every secret the CLI writes is read back
//! with the function's own parser and checked with the function's own `Verifier`.

#[path = "support/fake_salesloft.rs"]
mod fake_salesloft;

use std::collections::BTreeSet;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use fake_salesloft::{Change, FakeSalesloft};
use salesloft_webhooks::headers::Headers;
use salesloft_webhooks::secrets::parse_secret_document;
use salesloft_webhooks::senders::salesloft::{sign, SALESLOFT_EVENT, SALESLOFT_SIGNATURE};
use salesloft_webhooks::senders::{Provider, SenderSettings};
use salesloft_webhooks_wire::SalesloftEvent;
use serde_json::Value;

const URL: &str = "https://webhooks.test/salesloft";
/// The function's other Salesloft path: the same secret serves it.
const OTHER_URL: &str = "https://webhooks.test/";
const API_KEY: &str = "test-api-key-0123456789abcdef";
/// What the stack's secret holds after `sam deploy` (a generated token, as a string).
const DEPLOYED_SECRET: &str = r#"{"salesloft":"GeneratedByCloudFormation0123456789abcdef"}"#;
const DEPLOYED_TOKEN: &str = "GeneratedByCloudFormation0123456789abcdef";

fn workspace_path(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(rel)
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// A child process killed when dropped (also when a test panics).
struct ChildGuard(Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// moto's server (serialised, as the root package's integration tests run it).
struct Moto {
    endpoint: String,
    _child: ChildGuard,
}

impl Moto {
    async fn start() -> Self {
        let python = std::env::var("MOTO_PYTHON")
            .map(PathBuf::from)
            .unwrap_or_else(|_| workspace_path(".venv/bin/python"));
        assert!(
            python.exists(),
            "{} not found: run `make setup`",
            python.display()
        );
        let port = free_port();
        let child = std::process::Command::new(python)
            .arg(workspace_path("tools/moto_serial.py"))
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start moto");
        let guard = ChildGuard(child);
        let start = Instant::now();
        while tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
        {
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "moto did not start"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Moto {
            endpoint: format!("http://127.0.0.1:{port}"),
            _child: guard,
        }
    }
}

/// One command's result.
#[derive(Debug)]
struct Run {
    status: i32,
    stdout: String,
    stderr: String,
    took: Duration,
}

impl Run {
    fn json(&self) -> Value {
        serde_json::from_str(self.stdout.trim())
            .unwrap_or_else(|e| panic!("stdout is not one JSON object ({e}): {self:?}"))
    }

    /// Exit status non-zero and exactly one line, `error: …`, on stderr.
    fn assert_one_line_failure(&self, status: i32, contains: &str) {
        assert_eq!(self.status, status, "{self:?}");
        let lines: Vec<&str> = self.stderr.lines().collect();
        assert_eq!(lines.len(), 1, "{self:?}");
        assert!(lines[0].starts_with("error: "), "{self:?}");
        assert!(lines[0].contains(contains), "{contains:?} not in {self:?}");
    }
}

/// moto with the stack's secret, the fake Salesloft, and the CLI between them.
struct World {
    _moto: Moto,
    endpoint: String,
    sm: aws_sdk_secretsmanager::Client,
    secret_arn: String,
    api: FakeSalesloft,
    /// Every whole token and key that must never be printed.
    never_printed: Mutex<BTreeSet<String>>,
}

impl World {
    async fn start(secret: &str) -> Self {
        let moto = Moto::start().await;
        let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .endpoint_url(&moto.endpoint)
            .region(aws_config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_secretsmanager::config::Credentials::new(
                "test", "test", None, None, "static",
            ))
            .load()
            .await;
        let sm = aws_sdk_secretsmanager::Client::new(&config);
        let secret_arn = sm
            .create_secret()
            .name("salesloft-webhooks/senders")
            .secret_string(secret)
            .send()
            .await
            .expect("create the secret")
            .arn()
            .unwrap()
            .to_string();
        World {
            endpoint: moto.endpoint.clone(),
            _moto: moto,
            sm,
            secret_arn,
            api: FakeSalesloft::start(API_KEY).await,
            never_printed: Mutex::new([API_KEY.to_string(), DEPLOYED_TOKEN.to_string()].into()),
        }
    }

    fn env(&self) -> Vec<(String, String)> {
        [
            ("SALESLOFT_API_KEY", API_KEY),
            ("SALESLOFT_API_URL", self.api.base.as_str()),
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

    /// `salesloft-webhooks subscriptions <args>` with the callback URL and secret added.
    async fn cli(&self, args: &[&str]) -> Run {
        let mut full: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        // The waits for the function's refresh are tested where a test sets them; elsewhere
        // there is no function to wait for.
        let waits = matches!(args.first(), Some(&"sync") | Some(&"rotate"));
        if waits && !args.contains(&"--refresh-seconds") {
            full.extend(["--refresh-seconds".into(), "0".into()]);
        }
        full.extend([
            "--callback-url".into(),
            URL.into(),
            "--secret-id".into(),
            self.secret_arn.clone(),
        ]);
        self.run(&full, &[]).await
    }

    /// The binary with exactly these arguments (after `subscriptions`) and the world's
    /// environment with `overrides` (an empty value unsets).
    async fn run(&self, args: &[String], overrides: &[(&str, &str)]) -> Run {
        let mut env = self.env();
        for (k, v) in overrides {
            env.retain(|(name, _)| name != k);
            if !v.is_empty() {
                env.push((k.to_string(), v.to_string()));
            }
        }
        let started = Instant::now();
        let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_salesloft-webhooks"))
            .arg("subscriptions")
            .args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", std::env::temp_dir())
            .envs(env)
            .stdin(Stdio::null())
            .output()
            .await
            .expect("run salesloft-webhooks");
        let run = Run {
            status: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            took: started.elapsed(),
        };
        self.assert_nothing_secret_printed(&run).await;
        run
    }

    /// Neither the API key nor any token (in the secret or at Salesloft, now or before) is
    /// in the output.
    async fn assert_nothing_secret_printed(&self, run: &Run) {
        let mut now: Vec<String> = self
            .api
            .subscriptions()
            .into_iter()
            .map(|s| s.callback_token)
            .collect();
        if let Ok(text) = self.try_secret_text().await {
            now.extend(tokens_in(&text));
        }
        let mut never = self.never_printed.lock().unwrap();
        // Remembered: a token removed later must not be printed later either.
        never.extend(now);
        for secret in never.iter() {
            assert!(
                !run.stdout.contains(secret) && !run.stderr.contains(secret),
                "a secret ({}…) was printed: {run:?}",
                &secret[..4]
            );
        }
    }

    async fn try_secret_text(&self) -> Result<String, String> {
        self.sm
            .get_secret_value()
            .secret_id(&self.secret_arn)
            .send()
            .await
            .map(|o| o.secret_string().unwrap().to_string())
            .map_err(|e| e.to_string())
    }

    async fn secret_text(&self) -> String {
        self.try_secret_text().await.expect("read the secret")
    }

    async fn secret_version(&self) -> String {
        self.sm
            .get_secret_value()
            .secret_id(&self.secret_arn)
            .send()
            .await
            .unwrap()
            .version_id()
            .unwrap()
            .to_string()
    }

    async fn put_secret(&self, text: &str) {
        self.sm
            .put_secret_value()
            .secret_id(&self.secret_arn)
            .secret_string(text)
            .send()
            .await
            .expect("put the secret");
        self.never_printed.lock().unwrap().extend(tokens_in(text));
    }

    /// Records, for each change Salesloft is about to apply, whether the function (having
    /// read the secret at that very moment) would verify a delivery signed with the token
    /// Salesloft signs with from then on, and with the one before.
    fn record_changes(&self) -> Arc<Mutex<Vec<Seen>>> {
        let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
        let (sm, arn, out) = (self.sm.clone(), self.secret_arn.clone(), seen.clone());
        self.api.on_change(Arc::new(move |change: Change| {
            let (sm, arn, out) = (sm.clone(), arn.clone(), out.clone());
            Box::pin(async move {
                let text = sm
                    .get_secret_value()
                    .secret_id(&arn)
                    .send()
                    .await
                    .unwrap()
                    .secret_string()
                    .unwrap()
                    .to_string();
                let t = &change.event_type;
                let new_ok = change.new_token.as_ref().map(|k| verifies(&text, t, k));
                let new_elsewhere = change
                    .new_token
                    .as_ref()
                    .map(|k| verifies(&text, other_type(t), k));
                let old_ok = change
                    .before
                    .as_ref()
                    .map(|b| verifies(&text, t, &b.callback_token));
                out.lock().unwrap().push(Seen {
                    change,
                    new_ok,
                    new_elsewhere,
                    old_ok,
                });
            })
        }));
        seen
    }
}

#[derive(Debug, Clone)]
struct Seen {
    change: Change,
    /// The new token verifies for its type when Salesloft starts signing with it.
    new_ok: Option<bool>,
    /// The new token verifies for another type (must never).
    new_elsewhere: Option<bool>,
    /// The token being replaced still verifies at that moment.
    old_ok: Option<bool>,
}

/// Some other event type than `t`.
fn other_type(t: &str) -> &'static str {
    if t == "person_deleted" {
        "person_updated"
    } else {
        "person_deleted"
    }
}

/// Every token in a secret document.
fn tokens_in(text: &str) -> Vec<String> {
    fn walk(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::String(s) => out.extend(s.split(',').map(|t| t.trim().to_string())),
            Value::Array(a) => a.iter().for_each(|x| walk(x, out)),
            Value::Object(o) => o.values().for_each(|x| walk(x, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    if let Ok(v) = serde_json::from_str::<Value>(text) {
        walk(&v, &mut out);
    }
    out.retain(|t| t.len() > 4);
    out
}

/// Whether the function, having read `secret`, verifies a Salesloft delivery of
/// `event_type` signed with `token`.
fn verifies(secret: &str, event_type: &str, token: &str) -> bool {
    let keys = parse_secret_document(secret).expect("the function reads the secret");
    let verifier = keys.verifier(&SenderSettings::default());
    let body = br#"{"id":2000002,"first_name":"Ada"}"#;
    let headers = Headers::from_pairs([
        (
            SALESLOFT_SIGNATURE.to_string(),
            sign(token.as_bytes(), body),
        ),
        (SALESLOFT_EVENT.to_string(), event_type.to_string()),
    ]);
    verifier
        .verify(Provider::Salesloft, body, &headers, 0)
        .is_ok()
}

fn all_types() -> BTreeSet<String> {
    SalesloftEvent::ALL
        .iter()
        .map(|e| e.as_str().to_string())
        .collect()
}

fn ids(subs: &[fake_salesloft::Sub]) -> BTreeSet<u64> {
    subs.iter().map(|s| s.id).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_on_an_empty_account_creates_37_subscriptions_with_37_tokens_and_a_second_sync_changes_nothing(
) {
    let w = World::start(DEPLOYED_SECRET).await;
    let seen = w.record_changes();
    // Salesloft rate-limits the very first call: it is retried after its Retry-After.
    w.api.throttle_next(1);

    let run = w.cli(&["sync"]).await;
    assert_eq!(run.status, 0, "{run:?}");
    assert!(run.stdout.contains("37 created"), "{run:?}");
    let calls = w.api.calls();
    assert_eq!(calls[0].status, 429);
    assert_eq!((calls[1].method.as_str(), calls[1].status), ("GET", 200));
    assert_eq!(
        calls[1].query.get("callback_url").map(String::as_str),
        Some(URL)
    );

    let subs = w.api.subscriptions_to(URL);
    assert_eq!(subs.len(), 37);
    let types: BTreeSet<String> = subs.iter().map(|s| s.event_type.clone()).collect();
    assert_eq!(types, all_types());
    let tokens: BTreeSet<&str> = subs.iter().map(|s| s.callback_token.as_str()).collect();
    assert_eq!(tokens.len(), 37, "37 distinct tokens");
    assert!(subs.iter().all(|s| s.enabled));
    for t in &tokens {
        // 32 random bytes, hex.
        assert_eq!(t.len(), 64);
        assert!(t.bytes().all(|b| b.is_ascii_hexdigit()));
    }

    // The secret holds each token bound to its type, and only to it; the deployed token is
    // kept (serving every type, as before).
    let secret = w.secret_text().await;
    for s in &subs {
        assert!(
            verifies(&secret, &s.event_type, &s.callback_token),
            "{}",
            s.event_type
        );
        assert!(!verifies(
            &secret,
            other_type(&s.event_type),
            &s.callback_token
        ));
    }
    assert!(verifies(&secret, "note_created", DEPLOYED_TOKEN));
    let doc: Value = serde_json::from_str(&secret).unwrap();
    assert_eq!(doc.as_object().unwrap().len(), 1, "{secret}");
    assert_eq!(
        doc["salesloft"].as_object().unwrap().len(),
        38,
        "37 types and \"*\""
    );

    // Each token was in the secret before its subscription was created.
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 37);
    for s in &seen {
        assert_eq!(s.change.method, "POST");
        assert_eq!(s.new_ok, Some(true), "{s:?}");
        assert_eq!(s.new_elsewhere, Some(false), "{s:?}");
    }

    // Again, now with bare (unwrapped) answers: no call that changes anything, the secret
    // untouched, and it says so.
    w.api.set_wrapped(false);
    let changing = w.api.changing_calls();
    let version = w.secret_version().await;
    let run = w.cli(&["sync"]).await;
    assert_eq!(run.status, 0, "{run:?}");
    assert!(
        run.stdout.starts_with("Nothing to change: 37 event types"),
        "{run:?}"
    );
    let run = w.cli(&["sync", "--json"]).await;
    assert_eq!(run.status, 0, "{run:?}");
    let report = run.json();
    assert_eq!(report["changed"], false);
    assert_eq!(report["in_step"], 37);
    assert_eq!(w.api.changing_calls(), changing);
    assert_eq!(w.secret_version().await, version);

    // `list` shows every type in step.
    let run = w.cli(&["list", "--json"]).await;
    assert_eq!(run.status, 0, "{run:?}");
    let rows = run.json()["subscriptions"].as_array().unwrap().clone();
    assert_eq!(rows.len(), 37);
    assert!(rows
        .iter()
        .all(|r| r["secret"] == "ok" && r["enabled"] == true));
    assert!(rows
        .iter()
        .all(|r| r["token"].as_str().unwrap().chars().count() == 5));
    let run = w.cli(&["list"]).await;
    assert_eq!(run.status, 0, "{run:?}");
    assert_eq!(run.stdout.lines().count(), 2 + 37 + 1, "{}", run.stdout);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prune_with_narrowed_events_deletes_exactly_the_others_and_their_tokens() {
    let w = World::start("{}").await;
    assert_eq!(w.cli(&["sync"]).await.status, 0);
    let before = w.api.subscriptions_to(URL);
    // A subscription to the function's other path, its token bound in the same secret.
    let elsewhere = "elsewhere-token-0123456789abcdef";
    let elsewhere_id = w.api.insert("note_created", OTHER_URL, elsewhere, true);
    let mut doc: Value = serde_json::from_str(&w.secret_text().await).unwrap();
    doc["salesloft"]["note_created"]
        .as_array_mut()
        .unwrap()
        .push(elsewhere.into());
    w.put_secret(&doc.to_string()).await;

    // Narrowed without --prune: the others are left alone, and it says so.
    let changing = w.api.changing_calls();
    let run = w.cli(&["sync", "--events", "person_*"]).await;
    assert_eq!(run.status, 0, "{run:?}");
    assert!(run.stdout.contains("--prune deletes them"), "{run:?}");
    assert_eq!(w.api.changing_calls(), changing);

    let seen = w.record_changes();
    let run = w.cli(&["sync", "--events", "person_*", "--prune"]).await;
    assert_eq!(run.status, 0, "{run:?}");
    let kept: Vec<_> = before
        .iter()
        .filter(|s| s.event_type.starts_with("person_"))
        .cloned()
        .collect();
    assert_eq!(kept.len(), 3);
    assert_eq!(
        w.api.subscriptions_to(URL),
        kept,
        "the person_* ones, unchanged"
    );
    let deleted: BTreeSet<u64> = seen
        .lock()
        .unwrap()
        .iter()
        .map(|s| {
            assert_eq!(s.change.method, "DELETE");
            s.change.before.as_ref().unwrap().id
        })
        .collect();
    let expected: BTreeSet<u64> = ids(&before).difference(&ids(&kept)).copied().collect();
    assert_eq!(deleted.len(), 34);
    assert_eq!(deleted, expected);
    // The other URL's subscription is untouched.
    assert!(w.api.subscriptions().iter().any(|s| s.id == elsewhere_id));

    let secret = w.secret_text().await;
    for s in &kept {
        assert!(verifies(&secret, &s.event_type, &s.callback_token));
    }
    for s in before
        .iter()
        .filter(|s| !s.event_type.starts_with("person_"))
    {
        assert!(
            !verifies(&secret, &s.event_type, &s.callback_token),
            "{}",
            s.event_type
        );
    }
    // Still used by the other URL's subscription: kept.
    assert!(verifies(&secret, "note_created", elsewhere));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_repairs_drift_re_enables_and_removes_duplicates_with_bare_answers() {
    let shared = "shared-token-for-every-type-0123456789";
    let bound = "bound-token-person-updated-0123456789";
    let dup = "duplicate-token-0123456789";
    let w = World::start(&format!(
        r#"{{"salesloft":{{"person_updated":["{bound}","{dup}"],"*":["{shared}"]}},"salesos":"so_secret_0123456789"}}"#
    ))
    .await;
    w.api.set_wrapped(false);
    // Two disabled subscriptions for one type, both tokens in the secret: the older is kept
    // and enabled, the other deleted.
    let disabled = w.api.insert("person_updated", URL, bound, false);
    let duplicate = w.api.insert("person_updated", URL, dup, false);
    let on_shared = w.api.insert("person_created", URL, shared, true);
    let lost = w
        .api
        .insert("person_deleted", URL, "lost-token-0123456789abc", true);
    let seen = w.record_changes();

    let run = w
        .cli(&["sync", "--events", "person_*", "--refresh-seconds", "1"])
        .await;
    assert_eq!(run.status, 0, "{run:?}");
    // A token in use (the shared one) is replaced: the CLI waited for the function.
    assert!(run.stderr.starts_with("waiting 1 s"), "{run:?}");
    assert!(run.took >= Duration::from_secs(1));

    let subs = w.api.subscriptions_to(URL);
    assert_eq!(ids(&subs), [disabled, on_shared, lost].into());
    assert!(subs.iter().all(|s| s.enabled));
    let secret = w.secret_text().await;
    for s in &subs {
        assert!(verifies(&secret, &s.event_type, &s.callback_token), "{s:?}");
        assert!(!verifies(
            &secret,
            other_type(&s.event_type),
            &s.callback_token
        ));
    }
    let by_id = |id| subs.iter().find(|s| s.id == id).unwrap();
    assert_eq!(
        by_id(disabled).callback_token,
        bound,
        "re-enabled, same token"
    );
    assert_ne!(
        by_id(on_shared).callback_token,
        shared,
        "a token of its own"
    );
    // The other senders' members and the shared token are kept.
    let doc: Value = serde_json::from_str(&secret).unwrap();
    assert_eq!(doc["salesos"], "so_secret_0123456789");
    assert!(verifies(&secret, "note_created", shared));

    let seen = seen.lock().unwrap().clone();
    let retokens: Vec<&Seen> = seen
        .iter()
        .filter(|s| s.change.method == "PUT" && s.change.new_token.is_some())
        .collect();
    assert_eq!(retokens.len(), 2);
    for s in retokens {
        assert_eq!(s.new_ok, Some(true), "{s:?}");
    }
    assert!(seen
        .iter()
        .any(|s| s.change.method == "DELETE" && s.change.before.as_ref().unwrap().id == duplicate));

    // The deleted duplicate's token is left for `rotate --finish`, which removes exactly it
    // (the shared token, which serves every type, is never touched).
    let run = w.cli(&["sync", "--events", "person_*"]).await;
    assert!(run.stdout.starts_with("Nothing to change"), "{run:?}");
    assert!(run.stdout.contains("rotate --finish"), "{run:?}");
    let run = w
        .cli(&["rotate", "--finish", "--events", "person_*", "--json"])
        .await;
    assert_eq!(run.status, 0, "{run:?}");
    assert_eq!(
        run.json()["removed"],
        serde_json::json!([{"event_type": "person_updated", "token": "dupl…"}])
    );
    let secret = w.secret_text().await;
    assert!(!verifies(&secret, "person_updated", dup));
    assert!(verifies(&secret, "person_updated", bound));
    assert!(verifies(&secret, "person_updated", shared));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotate_keeps_every_moment_verifiable() {
    let w = World::start(DEPLOYED_SECRET).await;
    assert_eq!(w.cli(&["sync", "--events", "person_*"]).await.status, 0);
    let old = w.api.subscriptions_to(URL);
    assert_eq!(old.len(), 3);
    let secret = w.secret_text().await;
    assert!(old
        .iter()
        .all(|s| verifies(&secret, &s.event_type, &s.callback_token)));

    // Rotate: at the moment of each switch, both the old and the new token verify.
    let seen = w.record_changes();
    let run = w
        .cli(&["rotate", "--events", "person_*", "--refresh-seconds", "1"])
        .await;
    assert_eq!(run.status, 0, "{run:?}");
    assert!(run.stdout.contains("rotate --finish"), "{run:?}");
    assert!(
        run.took >= Duration::from_secs(1),
        "waited for the function"
    );
    let switched = w.api.subscriptions_to(URL);
    assert_eq!(ids(&switched), ids(&old));
    let secret = w.secret_text().await;
    for (o, n) in old.iter().zip(&switched) {
        assert_ne!(o.callback_token, n.callback_token);
        // After the switch: the new one verifies, the old one still does (deliveries signed
        // before the switch), neither for another type.
        assert!(verifies(&secret, &n.event_type, &n.callback_token));
        assert!(verifies(&secret, &o.event_type, &o.callback_token));
        assert!(!verifies(
            &secret,
            other_type(&n.event_type),
            &n.callback_token
        ));
    }
    let seen_now = seen.lock().unwrap().clone();
    assert_eq!(seen_now.len(), 3);
    for s in &seen_now {
        assert_eq!(s.change.method, "PUT");
        assert_eq!((s.old_ok, s.new_ok), (Some(true), Some(true)), "{s:?}");
        assert_eq!(s.new_elsewhere, Some(false));
    }

    // Finish: the old tokens go, the new ones stay; the deployed "*" token is not touched.
    let run = w.cli(&["rotate", "--finish", "--events", "person_*"]).await;
    assert_eq!(run.status, 0, "{run:?}");
    assert!(run.stdout.starts_with("Removed 3 token(s)"), "{run:?}");
    let secret = w.secret_text().await;
    for (o, n) in old.iter().zip(&switched) {
        assert!(!verifies(&secret, &o.event_type, &o.callback_token));
        assert!(verifies(&secret, &n.event_type, &n.callback_token));
    }
    assert!(verifies(&secret, "person_updated", DEPLOYED_TOKEN));
    let run = w.cli(&["rotate", "--finish"]).await;
    assert!(run.stdout.starts_with("Nothing to remove"), "{run:?}");

    // `--wait` does all of it in one run: the switch a refresh interval after the new token
    // is written, the removal a refresh interval after the switch.
    seen.lock().unwrap().clear();
    let before = w.api.subscriptions_to(URL);
    let run = w
        .cli(&[
            "rotate",
            "--events",
            "person_updated",
            "--wait",
            "--refresh-seconds",
            "1",
        ])
        .await;
    assert_eq!(run.status, 0, "{run:?}");
    assert!(run.took >= Duration::from_secs(2), "{run:?}");
    assert_eq!(
        run.stderr.lines().count(),
        2,
        "two waits announced: {run:?}"
    );
    let after = w.api.subscriptions_to(URL);
    let secret = w.secret_text().await;
    for (b, a) in before.iter().zip(&after) {
        if a.event_type == "person_updated" {
            assert_ne!(b.callback_token, a.callback_token);
            assert!(!verifies(&secret, &b.event_type, &b.callback_token));
        } else {
            assert_eq!(b, a, "other types untouched");
        }
        assert!(verifies(&secret, &a.event_type, &a.callback_token));
    }
    let seen_now = seen.lock().unwrap().clone();
    assert_eq!(seen_now.len(), 1);
    assert_eq!(
        (seen_now[0].old_ok, seen_now[0].new_ok),
        (Some(true), Some(true))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_failure_exits_non_zero_with_one_clear_line() {
    let w = World::start(DEPLOYED_SECRET).await;
    let base = |cmd: &str| -> Vec<String> {
        vec![
            cmd.into(),
            "--callback-url".into(),
            URL.into(),
            "--secret-id".into(),
            w.secret_arn.clone(),
        ]
    };

    // A bad API key.
    let run = w
        .run(
            &base("sync"),
            &[("SALESLOFT_API_KEY", "wrong-key-0123456789")],
        )
        .await;
    run.assert_one_line_failure(1, "Salesloft refused the API key (HTTP 401");
    assert!(!run.stderr.contains("wrong-key-0123456789"));
    // No API key at all.
    let run = w.run(&base("list"), &[("SALESLOFT_API_KEY", "")]).await;
    run.assert_one_line_failure(2, "SALESLOFT_API_KEY is not set");
    // An unknown event pattern: nothing is called.
    let calls = w.api.calls().len();
    let mut args = base("sync");
    args.extend(["--events".into(), "person_*,persn_*".into()]);
    let run = w.run(&args, &[]).await;
    run.assert_one_line_failure(2, "unknown event pattern \"persn_*\"");
    assert_eq!(w.api.calls().len(), calls);
    // A missing secret.
    let mut args = base("sync");
    args[4] = "salesloft-webhooks/does-not-exist".into();
    let run = w.run(&args, &[]).await;
    run.assert_one_line_failure(1, "not found in Secrets Manager");
    // Salesloft unreachable.
    let closed = format!("http://127.0.0.1:{}", free_port());
    let run = w
        .run(&base("sync"), &[("SALESLOFT_API_URL", &closed)])
        .await;
    run.assert_one_line_failure(1, "cannot reach Salesloft's API");
    // AWS unreachable.
    let run = w.run(&base("sync"), &[("AWS_ENDPOINT_URL", &closed)]).await;
    run.assert_one_line_failure(1, "cannot reach Secrets Manager");
    // Missing arguments, and a callback URL that is not one.
    let run = w.run(&["sync".to_string()], &[]).await;
    run.assert_one_line_failure(2, "--callback-url");
    let mut args = base("sync");
    args[2] = "webhooks.test/salesloft".into();
    let run = w.run(&args, &[]).await;
    run.assert_one_line_failure(2, "is not an http(s) URL");
    // A secret the function would refuse is never overwritten.
    w.put_secret(r#"{"salesloft":["tok_0123456789"],"extra":"x"}"#)
        .await;
    let version = w.secret_version().await;
    let run = w.run(&base("sync"), &[]).await;
    run.assert_one_line_failure(1, "not a document the function accepts");
    assert_eq!(w.secret_version().await, version);
    // Rotating with nothing subscribed.
    w.put_secret("{}").await;
    let run = w.run(&base("rotate"), &[]).await;
    run.assert_one_line_failure(1, "run `subscriptions sync` first");
    // Nothing at all changed at Salesloft through all this.
    assert_eq!(w.api.changing_calls(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_changes_nothing_and_delete_removes_subscriptions_then_tokens() {
    let w = World::start("{}").await;
    let version = w.secret_version().await;
    let run = w.cli(&["sync", "--dry-run"]).await;
    assert_eq!(run.status, 0, "{run:?}");
    assert_eq!(run.stdout.matches("\n  create ").count(), 37, "{run:?}");
    assert!(run.stdout.contains("Dry run: nothing was changed."));
    assert_eq!(w.api.changing_calls(), 0);
    assert_eq!(w.secret_version().await, version);

    assert_eq!(w.cli(&["sync"]).await.status, 0);
    let before = w.api.subscriptions_to(URL);
    let run = w
        .cli(&["delete", "--events", "person_*", "--dry-run", "--json"])
        .await;
    assert_eq!(run.status, 0, "{run:?}");
    assert_eq!(run.json()["actions"].as_array().unwrap().len(), 3);
    assert_eq!(run.json()["removed"].as_array().unwrap().len(), 3);
    assert_eq!(w.api.subscriptions_to(URL), before);

    let seen = w.record_changes();
    let run = w.cli(&["delete", "--events", "person_*"]).await;
    assert_eq!(run.status, 0, "{run:?}");
    assert_eq!(w.api.subscriptions_to(URL).len(), 34);
    // Each subscription was deleted while its token still verified (Salesloft stops first).
    for s in seen.lock().unwrap().iter() {
        assert_eq!(s.old_ok, Some(true), "{s:?}");
    }
    let secret = w.secret_text().await;
    for s in &before {
        let gone = s.event_type.starts_with("person_");
        assert_eq!(verifies(&secret, &s.event_type, &s.callback_token), !gone);
    }

    let run = w.cli(&["delete"]).await;
    assert_eq!(run.status, 0, "{run:?}");
    assert!(w.api.subscriptions_to(URL).is_empty());
    assert_eq!(w.secret_text().await, "{}");
    let run = w.cli(&["delete"]).await;
    assert_eq!(run.status, 0, "{run:?}");
    assert!(run.stdout.starts_with("Nothing to delete"), "{run:?}");
}

/// The stand-in itself keeps the documented contract the CLI relies on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_local_salesloft_keeps_the_documented_contract() {
    let api = FakeSalesloft::start(API_KEY).await;
    let a = api.insert("person_updated", URL, "tok-a", true);
    api.insert("person_updated", OTHER_URL, "tok-b", false);
    let http = reqwest::Client::new();
    let get = |path: String, key: &'static str| {
        let http = http.clone();
        let url = format!("{}{path}", api.base);
        async move {
            let r = http.get(url).bearer_auth(key).send().await.unwrap();
            let status = r.status().as_u16();
            let retry = r
                .headers()
                .get("retry-after")
                .map(|v| v.to_str().unwrap().to_string());
            let body: Value = serde_json::from_str(&r.text().await.unwrap()).unwrap_or(Value::Null);
            (status, retry, body)
        }
    };
    let list = "/v2/webhook_subscriptions".to_string();
    let (status, _, body) = get(list.clone(), API_KEY).await;
    assert_eq!((status, body["data"].as_array().unwrap().len()), (200, 2));
    let filtered = format!("{list}?callback_url=https%3A%2F%2Fwebhooks.test%2Fsalesloft");
    let (_, _, body) = get(filtered, API_KEY).await;
    assert_eq!(body["data"][0]["id"], a);
    assert_eq!(body["data"].as_array().unwrap().len(), 1);
    let (_, _, body) = get(format!("{list}?enabled=false"), API_KEY).await;
    assert_eq!(body["data"][0]["callback_url"], OTHER_URL);
    api.set_wrapped(false);
    let (_, _, body) = get(format!("{list}/{a}"), API_KEY).await;
    assert_eq!(body["event_type"], "person_updated");
    assert_eq!(get(format!("{list}/999999"), API_KEY).await.0, 404);
    assert_eq!(get(list.clone(), "bad-key").await.0, 401);
    api.throttle_next(1);
    let (status, retry, _) = get(list.clone(), API_KEY).await;
    assert_eq!((status, retry.as_deref()), (429, Some("1")));
    assert_eq!(get(list, API_KEY).await.0, 200);
    assert_eq!(api.changing_calls(), 0);
}

#[tokio::test]
async fn creating_subscriptions_waits_for_the_functions_re_read_age_between_the_secret_and_salesloft(
) {
    // A running instance that read the secret just before the write refuses a new type's
    // first delivery until its keys are a minute old; the wait (capped by --refresh-seconds)
    // sits between writing the tokens and creating the subscriptions.
    let w = World::start(DEPLOYED_SECRET).await;
    let run = w
        .cli(&[
            "sync",
            "--events",
            "person_updated",
            "--refresh-seconds",
            "1",
        ])
        .await;
    assert_eq!(run.status, 0, "{}{}", run.stdout, run.stderr);
    assert!(run.stderr.contains("waiting 1 s"), "{}", run.stderr);
    assert!(run.took >= Duration::from_secs(1), "{:?}", run.took);
    // Nothing new to create: no wait.
    let again = w
        .cli(&[
            "sync",
            "--events",
            "person_updated",
            "--refresh-seconds",
            "1",
        ])
        .await;
    assert_eq!(again.status, 0);
    assert!(!again.stderr.contains("waiting"), "{}", again.stderr);
}
