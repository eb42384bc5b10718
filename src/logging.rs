//! The JSON log format of the webhook binary: one flat JSON object per line, no timestamp (Lambda
//! adds its own), level from `RUST_LOG` (default `info`).

/// Installs the global subscriber. Call once, first thing in `main`.
pub fn init_json_logs() {
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .flatten_event(true)
        .with_current_span(false)
        .with_span_list(false)
        .with_target(false)
        .without_time()
        .init();
}
