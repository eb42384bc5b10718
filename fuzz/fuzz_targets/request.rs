//! Fuzzes the whole request-to-response path (router, limits, base64, verifier, parser,
//! service, status table) with the in-memory ports. The input is either a whole Function URL
//! event (when it parses as JSON) or a body that is signed correctly and posted to a path the
//! first byte picks. Must never panic and never answer 5xx (the in-memory stores never fail).
#![no_main]

use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use salesloft_webhooks::dedup::MemoryDedupStore;
use salesloft_webhooks::http::{handle, Limits};
use salesloft_webhooks::destinations::{MemoryPublisher, RouteTable};
use salesloft_webhooks::senders::{Provider, SenderSettings};
use salesloft_webhooks::service::{Invocation, Service};
use salesloft_webhooks::signature::{Secret, Verifier};

const KEY: &str = "fuzz-key";
const NOW_S: i64 = 1_795_442_400;

fuzz_target!(|data: &[u8]| {
    let event = match serde_json::from_slice::<serde_json::Value>(data) {
        Ok(v) => v,
        Err(_) => {
            let (control, body) = match data.split_first() {
                Some((c, b)) => (*c, b),
                None => (0, &data[..0]),
            };
            let text = String::from_utf8_lossy(body).to_string();
            // Every sender, generically, signed as it signs.
            let provider = Provider::ALL[control as usize % Provider::ALL.len()];
            let event_type = ["person_updated", "", "bad type", "x\ny"][(control as usize / 4) % 4];
            let signed = SenderSettings::default().sign(
                provider,
                &Secret::new(KEY),
                text.as_bytes(),
                event_type,
                "msg_fuzz",
                NOW_S,
            );
            let headers: serde_json::Map<String, serde_json::Value> =
                signed.into_iter().map(|(k, v)| (k.to_string(), v.into())).collect();
            let path = provider.paths().last().copied().unwrap_or("/");
            serde_json::json!({
                "rawPath": path,
                "headers": headers,
                "requestContext": {"http": {"method": "POST"}},
                "body": text,
                "isBase64Encoded": false,
            })
        }
    };
    let verifier = Provider::ALL
        .iter()
        .fold(Verifier::default(), |v, p| v.with_keys(*p, vec![Secret::new(KEY)]));
    let service = Service::new(
        MemoryDedupStore::new(),
        MemoryPublisher::new(),
        verifier,
        RouteTable::new(
            Some("http://127.0.0.1:1/123456789012/q".into()),
            vec![],
            Provider::ALL,
        )
        .unwrap(),
        Duration::from_secs(604_800),
    );
    let inv = Invocation {
        now_ms: NOW_S as u64 * 1000,
        deadline_ms: NOW_S as u64 * 1000 + 6_000,
        claim_token: "fuzz".into(),
    };
    let runtime = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
    let response = runtime.block_on(handle(&service, Limits { max_body_bytes: 64 * 1024 }, event, &inv));
    assert!(response.status_code < 500, "{} {}", response.status_code, response.body);
    if response.status_code == 202 {
        assert_eq!(service.publisher().total(), 1);
    }
});
