//! Load: 2,000 deliveries through 16 Lambda execution environments (16 Runtime Interface
//! Emulators, each running the built binary, all against one moto), mixing new events,
//! Salesloft-style retries (each event four more times), bursts of identical deliveries at
//! once, and forged signatures. Asserts every verified event is on the queue exactly once
//! and no forged one anywhere; prints throughput and latency percentiles (not asserted:
//! timing is measured in benchmarks, never asserted in tests).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::common::emulator::Emulator;
use crate::common::{attr, salesloft_event, Stack, TOKEN};
use salesloft_webhooks::senders::salesloft::derived_event_id;

const ENVIRONMENTS: usize = 16;
const RETRIED_EVENTS: usize = 250; // x5 deliveries = 1,250
const BURST_EVENTS: usize = 50; // x6 at once = 300
const FORGED: usize = 450;

#[derive(Clone)]
struct Job {
    event: serde_json::Value,
    event_id: String,
    forged: bool,
}

fn body(kind: &str, i: usize) -> String {
    format!(
        r#"{{"id":{i},"kind":"{kind}","first_name":"Load","last_name":"Test {i}","email_address":"load{i}@example.com","updated_at":"2026-11-23T14:00:00.000000-05:00"}}"#
    )
}

fn job(kind: &str, i: usize, token: &str) -> Job {
    let b = body(kind, i);
    Job {
        event: salesloft_event("person_updated", &b, token),
        event_id: derived_event_id("person_updated", b.as_bytes()),
        forged: token != TOKEN,
    }
}

/// A deterministic interleaving: first deliveries, their retries spread through the run,
/// bursts kept adjacent so that several environments take them at the same moment.
fn workload() -> Vec<Job> {
    let mut jobs = Vec::new();
    for round in 0..5 {
        for i in 0..RETRIED_EVENTS {
            jobs.push(job("retried", i, TOKEN));
            if round == 0 && i < BURST_EVENTS {
                for _ in 0..6 {
                    jobs.push(job("burst", i, TOKEN));
                }
            }
            if (round * RETRIED_EVENTS + i) % 25 < 9
                && jobs.iter().filter(|j| j.forged).count() < FORGED
            {
                // Forged: a real body signed with a guessed key, or a tampered copy.
                let n = jobs.len();
                jobs.push(job(
                    "forged",
                    n,
                    if n % 2 == 0 {
                        "guessed-key"
                    } else {
                        "tampered"
                    },
                ));
            }
        }
    }
    while jobs.iter().filter(|j| j.forged).count() < FORGED {
        let n = jobs.len();
        jobs.push(job("forged", n, "guessed-key"));
    }
    jobs
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_thousand_mixed_deliveries_land_exactly_once_and_no_forgery_gets_through() {
    let stack = Stack::start().await;
    let emulators: Vec<Emulator> = (0..ENVIRONMENTS)
        .map(|_| Emulator::webhook(&stack, &[("RUST_LOG", "warn")]))
        .collect();
    let jobs = workload();
    assert_eq!(jobs.len(), 2_000, "workload size");

    let queue = Arc::new(Mutex::new(
        jobs.clone()
            .into_iter()
            .enumerate()
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect::<Vec<_>>(),
    ));
    let results: Arc<Mutex<Vec<(usize, u64, Duration)>>> = Arc::default();
    let started = Instant::now();
    let mut workers = Vec::new();
    for rie in emulators.iter() {
        let (queue, results, url) = (queue.clone(), results.clone(), rie.url.clone());
        workers.push(tokio::spawn(async move {
            let client = reqwest::Client::new();
            loop {
                let Some((index, job)) = queue.lock().unwrap().pop() else {
                    return;
                };
                let t = Instant::now();
                let response: serde_json::Value = client
                    .post(&url)
                    .json(&job.event)
                    .send()
                    .await
                    .expect("invoke")
                    .json()
                    .await
                    .expect("JSON");
                let status = response["statusCode"].as_u64().unwrap_or(0);
                results.lock().unwrap().push((index, status, t.elapsed()));
            }
        }));
    }
    for w in workers {
        w.await.unwrap();
    }
    let elapsed = started.elapsed();

    let results = results.lock().unwrap().clone();
    assert_eq!(results.len(), jobs.len());
    let mut by_status: HashMap<u64, usize> = HashMap::new();
    for (index, status, _) in &results {
        *by_status.entry(*status).or_default() += 1;
        let job = &jobs[*index];
        if job.forged {
            assert_eq!(*status, 401, "a forged delivery got {status}");
        } else {
            assert!(
                [200, 202, 409].contains(status),
                "a verified delivery got {status}"
            );
        }
    }
    // Exactly one 202 per verified event.
    let verified: HashSet<&str> = jobs
        .iter()
        .filter(|j| !j.forged)
        .map(|j| j.event_id.as_str())
        .collect();
    assert_eq!(verified.len(), RETRIED_EVENTS + BURST_EVENTS);
    assert_eq!(
        by_status.get(&202).copied().unwrap_or(0),
        verified.len(),
        "{by_status:?}"
    );

    let messages = stack.drain(&stack.default_queue).await;
    let mut seen: HashMap<String, usize> = HashMap::new();
    for m in &messages {
        *seen.entry(attr(m, "event_id")).or_default() += 1;
    }
    for id in &verified {
        assert_eq!(
            seen.get(*id).copied(),
            Some(1),
            "event {id} not on the queue exactly once"
        );
    }
    let forged: HashSet<&str> = jobs
        .iter()
        .filter(|j| j.forged)
        .map(|j| j.event_id.as_str())
        .collect();
    assert!(
        seen.keys().all(|id| !forged.contains(id.as_str())),
        "a forged event was published"
    );
    assert_eq!(messages.len(), verified.len());

    let mut latencies: Vec<Duration> = results.iter().map(|(_, _, d)| *d).collect();
    latencies.sort();
    println!(
        "load: {} deliveries through {ENVIRONMENTS} emulated environments in {:.2?} = {:.0}/s; statuses {:?}; latency p50 {:.2?} p90 {:.2?} p99 {:.2?} max {:.2?} (debug build, moto backend)",
        results.len(),
        elapsed,
        results.len() as f64 / elapsed.as_secs_f64(),
        by_status,
        percentile(&latencies, 0.50),
        percentile(&latencies, 0.90),
        percentile(&latencies, 0.99),
        latencies[latencies.len() - 1],
    );
}
