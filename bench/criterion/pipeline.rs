//! In-process benchmarks (`make bench`), each next to its floor measured in the same run: the
//! bare HMAC of the same bytes, computed with the same crates and no framing at all.
//!
//! - `verify/*`: the Salesloft (HMAC-SHA1) and SalesOS (HMAC-SHA256) verifiers at 1, 4 and
//!   16 KB and 1 MiB, against `floor-hmac-*` of the same body.
//! - `parse`: `Event::parse` (JSON validation, type, derived id) and the id alone, 2 KB.
//! - `service/*`: verify -> claim -> publish -> complete on the in-memory ports, for a new and a
//!   duplicate 2 KB delivery, and the whole request path (`http::handle`: event JSON in,
//!   response out), against `floor-hmac-sha1/2KB`.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, Throughput};
use hmac::{Hmac, Mac};
use salesloft_webhooks::dedup::MemoryDedupStore;
use salesloft_webhooks::destinations::{MemoryPublisher, RouteTable};
use salesloft_webhooks::event::Event;
use salesloft_webhooks::headers::Headers;
use salesloft_webhooks::http::{handle, Limits};
use salesloft_webhooks::senders::salesloft::{
    derived_event_id, sign as salesloft_signature, SALESLOFT_EVENT, SALESLOFT_SIGNATURE,
};
use salesloft_webhooks::senders::salesos::{sign as salesos_signature, SALESOS_SIGNATURE};
use salesloft_webhooks::senders::Provider;
use salesloft_webhooks::service::{Invocation, Service};
use salesloft_webhooks::signature::{Secret, Verifier};

const TOKEN: &[u8] = b"sl_test_callback_token_0123456789";

/// A Salesloft-like person body of about `size` bytes (valid JSON object).
fn body(size: usize) -> Vec<u8> {
    let head = r#"{"id":2000002,"first_name":"Jos\u00e9","last_name":"M\u00fcller","email_address":"jose@example.com","title":"VP Sales","notes":""#;
    let tail = r#"","account":{"id":4010002},"owner":{"id":1001}}"#;
    let fill = size.saturating_sub(head.len() + tail.len());
    let mut b = head.as_bytes().to_vec();
    b.extend(std::iter::repeat_n(b'x', fill));
    b.extend_from_slice(tail.as_bytes());
    b
}

fn floor_sha1(body: &[u8]) -> [u8; 20] {
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(TOKEN).unwrap();
    mac.update(body);
    mac.finalize().into_bytes().into()
}

fn floor_sha256(body: &[u8]) -> [u8; 32] {
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(TOKEN).unwrap();
    mac.update(body);
    mac.finalize().into_bytes().into()
}

fn salesloft_headers(body: &[u8]) -> Headers {
    Headers::from_pairs([
        (
            SALESLOFT_SIGNATURE.to_string(),
            salesloft_signature(TOKEN, body),
        ),
        (SALESLOFT_EVENT.to_string(), "person_updated".to_string()),
    ])
}

fn sizes() -> [(usize, &'static str); 4] {
    [
        (1024, "1KB"),
        (4096, "4KB"),
        (16_384, "16KB"),
        (1_048_576, "1MiB"),
    ]
}

fn verify(c: &mut Criterion) {
    let mut g = c.benchmark_group("verify");
    let sl = Verifier::default().with_keys(Provider::Salesloft, vec![Secret::new(TOKEN)]);
    let so = Verifier::default().with_keys(Provider::SalesOs, vec![Secret::new(TOKEN)]);
    for (size, label) in sizes() {
        let b = body(size);
        g.throughput(Throughput::Bytes(b.len() as u64));
        let h1 = salesloft_headers(&b);
        let h256 =
            Headers::from_pairs([(SALESOS_SIGNATURE.to_string(), salesos_signature(TOKEN, &b))]);
        g.bench_with_input(
            BenchmarkId::new("floor-hmac-sha1", label),
            &b,
            |bench, b| bench.iter(|| floor_sha1(black_box(b))),
        );
        g.bench_with_input(BenchmarkId::new("salesloft-sha1", label), &b, |bench, b| {
            bench.iter(|| sl.verify(Provider::Salesloft, black_box(b), &h1, 0).is_ok())
        });
        g.bench_with_input(
            BenchmarkId::new("floor-hmac-sha256", label),
            &b,
            |bench, b| bench.iter(|| floor_sha256(black_box(b))),
        );
        g.bench_with_input(BenchmarkId::new("salesos-sha256", label), &b, |bench, b| {
            bench.iter(|| so.verify(Provider::SalesOs, black_box(b), &h256, 0).is_ok())
        });
    }
    g.finish();
}

fn parse(c: &mut Criterion) {
    let mut g = c.benchmark_group("parse");
    let b = body(2048);
    let h = salesloft_headers(&b);
    let v = Verifier::default().with_keys(Provider::Salesloft, vec![Secret::new(TOKEN)]);
    g.bench_function("event-parse/2KB", |bench| {
        bench.iter(|| {
            let verified = v.verify(Provider::Salesloft, black_box(&b), &h, 0).unwrap();
            Event::parse(verified).unwrap().event_id().len()
        })
    });
    g.bench_function("event-id/2KB", |bench| {
        bench.iter(|| derived_event_id("person_updated", black_box(&b)))
    });
    g.bench_function("floor-hmac-sha1/2KB", |bench| {
        bench.iter(|| floor_sha1(black_box(&b)))
    });
    g.finish();
}

fn new_service() -> Service<MemoryDedupStore, MemoryPublisher> {
    Service::new(
        MemoryDedupStore::new(),
        MemoryPublisher::new(),
        Verifier::default().with_keys(Provider::Salesloft, vec![Secret::new(TOKEN)]),
        RouteTable::new(
            Some("http://127.0.0.1:1/123456789012/q".into()),
            vec![],
            &[Provider::Salesloft],
        )
        .unwrap(),
        Duration::from_secs(604_800),
    )
}

const INV: Invocation = Invocation {
    now_ms: 1_795_442_400_000,
    deadline_ms: 1_795_442_406_000,
    claim_token: String::new(),
};

fn service(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let mut g = c.benchmark_group("service");
    let b = body(2048);
    let h = salesloft_headers(&b);
    g.bench_function("floor-hmac-sha1/2KB", |bench| {
        bench.iter(|| floor_sha1(black_box(&b)))
    });
    g.bench_function("new/2KB", |bench| {
        bench.iter_batched(
            new_service,
            |s| rt.block_on(s.handle(Provider::Salesloft, black_box(&b), &h, &INV)),
            BatchSize::SmallInput,
        )
    });
    let dup = new_service();
    rt.block_on(dup.handle(Provider::Salesloft, &b, &h, &INV));
    g.bench_function("duplicate/2KB", |bench| {
        bench.iter(|| rt.block_on(dup.handle(Provider::Salesloft, black_box(&b), &h, &INV)))
    });
    let event = serde_json::json!({
        "rawPath": "/salesloft",
        "headers": {
            "x-salesloft-signature": salesloft_signature(TOKEN, &b),
            "x-salesloft-event": "person_updated",
            "content-type": "application/json",
        },
        "requestContext": {"http": {"method": "POST"}},
        "body": String::from_utf8(b.clone()).unwrap(),
        "isBase64Encoded": false,
    });
    let limits = Limits {
        max_body_bytes: 1_044_480,
    };
    g.bench_function("request-new/2KB", |bench| {
        bench.iter_batched(
            || (new_service(), event.clone()),
            |(s, e)| rt.block_on(handle(&s, limits, e, &INV)).status_code,
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

criterion_group!(benches, verify, parse, service);
criterion_main!(benches);
