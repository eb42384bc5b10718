//! The webhook's log lines: one JSON object per line, with an RFC 3339 `timestamp` and a
//! `level` (`TRACE` … `ERROR`) as Lambda's JSON log controls expect, so `ApplicationLogLevel`
//! (`AWS_LAMBDA_LOG_LEVEL`) filters them. The delivery line (target [`DELIVERY`], one per
//! request) also carries the request's metrics in CloudWatch Embedded Metric Format (`_aws`),
//! so metrics cost no API call.
//!
//! What never reaches a log, at any level: a body, a signature or a secret. The function's
//! own events carry none; other crates' events are capped at INFO whatever the configured
//! level, because at DEBUG/TRACE the runtime logs whole invocations (body and headers).

use std::fmt;
use std::io;

use serde_json::{Map, Value};
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::filter::{filter_fn, EnvFilter, FilterExt, LevelFilter};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, MakeWriter};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::{Layer, Registry};

/// The target of the one delivery line per request.
pub const DELIVERY: &str = "delivery";
/// The target of the redrive's summary line, one per pass.
pub const SPOOL_SUMMARY: &str = "spool_summary";
/// The metric namespace when `METRICS_NAMESPACE` is unset.
pub const DEFAULT_NAMESPACE: &str = "SalesloftWebhooks";

/// The metrics of a delivery line, their units, and the fields they are read from.
const METRICS: [(&str, &str, MetricValue); 4] = [
    ("Deliveries", "Count", MetricValue::One),
    (
        "HandlingLatency",
        "Milliseconds",
        MetricValue::Field("duration_ms"),
    ),
    (
        "PublishFailures",
        "Count",
        MetricValue::Field("publish_failures"),
    ),
    ("Spooled", "Count", MetricValue::Field("spooled")),
];
/// The redrive's metrics (no dimensions: one spool per stack and namespace).
const SPOOL_METRICS: [(&str, &str, MetricValue); 5] = [
    ("SpoolDelivered", "Count", MetricValue::Field("delivered")),
    ("SpoolDuplicates", "Count", MetricValue::Field("duplicates")),
    ("SpoolFailed", "Count", MetricValue::Field("failed")),
    ("SpoolRemaining", "Count", MetricValue::Field("remaining")),
    (
        "SpoolOldestAgeSeconds",
        "Seconds",
        MetricValue::Field("oldest_age_s"),
    ),
];
/// The dimension sets: per sender and outcome, and per outcome across senders (what the
/// broken-token alarm watches).
const DIMENSIONS: [&[&str]; 2] = [&["provider", "outcome"], &["outcome"]];

#[derive(Clone, Copy)]
enum MetricValue {
    One,
    Field(&'static str),
}

/// Installs the global subscriber writing to stdout. Call once, first thing in `main`.
pub fn init_json_logs() {
    let lookup = |name: &str| std::env::var(name).ok();
    let namespace = metrics_namespace(&lookup);
    tracing::subscriber::set_global_default(subscriber(std::io::stdout, &lookup, namespace))
        .unwrap_or_else(|_| eprintln!("a global tracing subscriber was already installed"));
}

/// The subscriber `init_json_logs` installs, writing to `writer`, configured through
/// `lookup` (the environment, or a map in tests).
pub fn subscriber<W>(
    writer: W,
    lookup: &dyn Fn(&str) -> Option<String>,
    namespace: String,
) -> impl Subscriber + Send + Sync
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let own = filter_fn(|meta| {
        let target = meta.target();
        target == DELIVERY
            || target.starts_with("salesloft_webhooks")
            || target.starts_with("webhook")
            // Other crates (the runtime, hyper, the AWS SDK): never below INFO.
            || *meta.level() <= Level::INFO
    });
    let layer = tracing_subscriber::fmt::layer()
        .event_format(JsonLines { namespace })
        .with_writer(writer)
        .with_filter(env_filter(lookup).and(own));
    Registry::default().with(layer)
}

/// The level filter: `AWS_LAMBDA_LOG_LEVEL` (what `ApplicationLogLevel` sets) when present,
/// else `RUST_LOG` (any `EnvFilter` directives), else INFO.
pub fn env_filter(lookup: &dyn Fn(&str) -> Option<String>) -> EnvFilter {
    if let Some(level) = lookup("AWS_LAMBDA_LOG_LEVEL").and_then(|l| lambda_level(&l)) {
        return EnvFilter::default().add_directive(level.into());
    }
    lookup("RUST_LOG")
        .and_then(|directives| EnvFilter::try_new(directives).ok())
        .unwrap_or_else(|| EnvFilter::default().add_directive(LevelFilter::INFO.into()))
}

/// Lambda's level names (`TRACE`, `DEBUG`, `INFO`, `WARN`, `ERROR`, `FATAL`), any case.
fn lambda_level(name: &str) -> Option<LevelFilter> {
    match name.trim().to_ascii_uppercase().as_str() {
        "TRACE" => Some(LevelFilter::TRACE),
        "DEBUG" => Some(LevelFilter::DEBUG),
        "INFO" => Some(LevelFilter::INFO),
        "WARN" => Some(LevelFilter::WARN),
        "ERROR" | "FATAL" => Some(LevelFilter::ERROR),
        _ => None,
    }
}

/// `METRICS_NAMESPACE`, else [`DEFAULT_NAMESPACE`].
pub fn metrics_namespace(lookup: &dyn Fn(&str) -> Option<String>) -> String {
    lookup("METRICS_NAMESPACE")
        .filter(|n| !n.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_NAMESPACE.to_string())
}

/// Formats each event as one JSON object: `timestamp`, `level`, `message` and the event's
/// fields, plus the EMF block on delivery lines.
struct JsonLines {
    namespace: String,
}

impl<S, N> FormatEvent<S, N> for JsonLines
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        let mut line = Map::new();
        event.record(&mut Fields(&mut line));
        match event.metadata().target() {
            DELIVERY => add_metrics(&mut line, &self.namespace, now_ms),
            SPOOL_SUMMARY => add_emf(&mut line, &self.namespace, now_ms, &SPOOL_METRICS, &[&[]]),
            _ => {}
        }
        // `timestamp` and `level` first, as readers (and greps) expect; then the fields.
        let rest = Value::Object(line).to_string();
        let fields = rest.strip_prefix('{').unwrap_or("}");
        let separator = if fields == "}" { "" } else { "," };
        writeln!(
            writer,
            "{{\"timestamp\":{},\"level\":{}{separator}{fields}",
            Value::String(crate::service::rfc3339(now_ms)),
            Value::String(event.metadata().level().as_str().to_string()),
        )
    }
}

/// Adds the EMF block and the metric values to a delivery line that has an `outcome`
/// (lines without one, such as health checks, are not deliveries and carry no metrics).
fn add_metrics(line: &mut Map<String, Value>, namespace: &str, now_ms: u64) {
    if !line.get("outcome").is_some_and(Value::is_string) {
        return;
    }
    // A dimension value must not be empty.
    if line
        .get("provider")
        .and_then(Value::as_str)
        .is_none_or(str::is_empty)
    {
        line.insert("provider".into(), Value::String("none".into()));
    }
    add_emf(line, namespace, now_ms, &METRICS, &DIMENSIONS);
}

/// Adds the `_aws` block for the metrics of `spec` whose field is present, with `dimensions`.
fn add_emf(
    line: &mut Map<String, Value>,
    namespace: &str,
    now_ms: u64,
    spec: &[(&str, &str, MetricValue)],
    dimensions: &[&[&str]],
) {
    let mut metrics = Vec::new();
    for &(name, unit, value) in spec {
        let value = match value {
            MetricValue::One => Some(Value::from(1)),
            MetricValue::Field(field) => line.get(field).filter(|v| v.is_number()).cloned(),
        };
        if let Some(value) = value {
            line.insert(name.to_string(), value);
            metrics.push(serde_json::json!({"Name": name, "Unit": unit}));
        }
    }
    line.insert(
        "_aws".into(),
        serde_json::json!({
            "Timestamp": now_ms,
            "CloudWatchMetrics": [{
                "Namespace": namespace,
                "Dimensions": dimensions,
                "Metrics": metrics,
            }],
        }),
    );
}

/// Collects an event's fields as JSON values.
struct Fields<'a>(&'a mut Map<String, Value>);

impl Visit for Fields<'_> {
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.0.insert(field.name().into(), Value::from(value));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().into(), Value::from(value));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().into(), Value::from(value));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().into(), Value::from(value));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().into(), Value::from(value));
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0
            .insert(field.name().into(), Value::String(format!("{value:?}")));
    }
}

/// A `MakeWriter` into a shared buffer, for tests that read the log lines.
#[derive(Clone, Default)]
pub struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl Captured {
    /// Everything written so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(|p| p.into_inner())).into_owned()
    }
}

impl io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'w> MakeWriter<'w> for Captured {
    type Writer = Captured;
    fn make_writer(&'w self) -> Self::Writer {
        self.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn capture(env: &[(&str, &str)], emit: impl FnOnce()) -> Vec<Value> {
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let lookup = move |name: &str| env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
        let out = Captured::default();
        let sub = subscriber(out.clone(), &lookup, metrics_namespace(&lookup));
        tracing::subscriber::with_default(sub, emit);
        out.text()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect()
    }

    /// Checks `line` against the EMF specification: the `_aws` member with an integer
    /// `Timestamp` and `CloudWatchMetrics` directives, each with a `Namespace`, `Dimensions`
    /// (arrays of at most 30 member names, each naming a top-level string member) and
    /// `Metrics` (each `Name` a top-level number, `Unit` one of CloudWatch's units).
    fn assert_valid_emf(line: &Value) {
        let aws = line["_aws"].as_object().expect("_aws object");
        assert!(aws["Timestamp"].is_u64(), "Timestamp: {line}");
        let directives = aws["CloudWatchMetrics"]
            .as_array()
            .expect("CloudWatchMetrics array");
        assert!(!directives.is_empty());
        for d in directives {
            let ns = d["Namespace"].as_str().expect("Namespace");
            assert!(!ns.is_empty() && ns.len() <= 256);
            for set in d["Dimensions"].as_array().expect("Dimensions") {
                let set = set.as_array().expect("a dimension set is an array");
                // An empty set is allowed: the metrics without dimensions.
                assert!(set.len() <= 30);
                for key in set {
                    let key = key.as_str().expect("dimension names are strings");
                    let value = line[key]
                        .as_str()
                        .unwrap_or_else(|| panic!("dimension {key} missing"));
                    assert!(!value.is_empty() && value.len() <= 1024, "{key}={value:?}");
                }
            }
            let metrics = d["Metrics"].as_array().expect("Metrics");
            assert!(!metrics.is_empty() && metrics.len() <= 100);
            for m in metrics {
                let name = m["Name"].as_str().expect("Name");
                assert!(line[name].is_number(), "metric {name} has no numeric value");
                assert!(
                    ["Count", "Milliseconds", "Seconds", "Bytes", "None"]
                        .contains(&m["Unit"].as_str().unwrap()),
                    "{m}"
                );
            }
        }
    }

    #[test]
    fn a_delivery_line_carries_valid_emf_with_the_delivery_metrics() {
        let lines = capture(&[("METRICS_NAMESPACE", "Test/Webhooks")], || {
            tracing::info!(
                target: DELIVERY,
                provider = "salesloft",
                outcome = "accepted",
                detail = "accepted",
                status = 202u64,
                duration_ms = 3.25f64,
                publish_failures = 0u64,
                "delivery"
            );
        });
        assert_eq!(lines.len(), 1);
        let line = &lines[0];
        assert_valid_emf(line);
        assert_eq!(
            line["_aws"]["CloudWatchMetrics"][0]["Namespace"],
            "Test/Webhooks"
        );
        assert_eq!(line["Deliveries"], 1);
        assert_eq!(line["HandlingLatency"], 3.25);
        assert_eq!(line["PublishFailures"], 0);

        assert_eq!(
            line["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            serde_json::json!([["provider", "outcome"], ["outcome"]])
        );
        // Lambda's JSON log controls: an RFC 3339 timestamp and a level.
        let ts = line["timestamp"].as_str().unwrap();
        assert!(
            time::OffsetDateTime::parse(ts, &time::format_description::well_known::Rfc3339).is_ok(),
            "{ts}"
        );
        assert_eq!(line["level"], "INFO");
        assert_eq!(line["message"], "delivery");
    }

    #[test]
    fn every_line_starts_with_its_timestamp_and_level() {
        let out = Captured::default();
        let none = |_: &str| None;
        let sub = subscriber(out.clone(), &none, DEFAULT_NAMESPACE.into());
        tracing::subscriber::with_default(sub, || {
            tracing::info!(target: DELIVERY, provider = "salesloft", outcome = "accepted", duration_ms = 1.0f64, "delivery");
            tracing::info!("no fields");
        });
        for line in out.text().lines() {
            assert!(line.starts_with("{\"timestamp\":\""), "{line}");
            assert!(line.contains("\",\"level\":\"INFO\""), "{line}");
            serde_json::from_str::<Value>(line).unwrap();
        }
    }

    #[test]
    fn the_redrive_summary_carries_the_spool_metrics() {
        let lines = capture(&[], || {
            tracing::info!(target: SPOOL_SUMMARY, delivered = 2u64, duplicates = 1u64, failed = 0u64, remaining = 3u64, oldest_age_s = 120u64, "redrive");
        });
        assert_valid_emf(&lines[0]);
        assert_eq!(lines[0]["SpoolRemaining"], 3);
        assert_eq!(lines[0]["SpoolOldestAgeSeconds"], 120);
        assert_eq!(
            lines[0]["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            serde_json::json!([[]])
        );
    }

    #[test]
    fn an_unknown_provider_is_the_dimension_value_none_and_other_lines_carry_no_metrics() {
        let lines = capture(&[], || {
            tracing::info!(target: DELIVERY, provider = "", outcome = "not_found", duration_ms = 0.1f64, publish_failures = 0u64, "delivery");
            tracing::warn!(error = "x", "something else");
        });
        assert_eq!(lines[0]["provider"], "none");
        assert_valid_emf(&lines[0]);
        assert_eq!(
            lines[0]["_aws"]["CloudWatchMetrics"][0]["Namespace"],
            DEFAULT_NAMESPACE
        );
        assert!(lines[1].get("_aws").is_none());
        assert_eq!(lines[1]["level"], "WARN");
    }

    #[test]
    fn lambda_s_log_level_wins_over_rust_log_and_other_crates_never_go_below_info() {
        let lines = capture(
            &[("AWS_LAMBDA_LOG_LEVEL", "WARN"), ("RUST_LOG", "trace")],
            || {
                tracing::info!("dropped");
                tracing::warn!("kept");
            },
        );
        assert_eq!(lines.len(), 1);
        assert_eq!(lines[0]["message"], "kept");
        let lines = capture(&[("RUST_LOG", "trace")], || {
            tracing::trace!(target: "lambda_runtime::layers", "the raw invocation");
            tracing::trace!(target: "salesloft_webhooks::service", "ours");
        });
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert_eq!(lines[0]["message"], "ours");
        assert_eq!(lines[0]["level"], "TRACE");
    }
}
