//! Logging: `OSPREY_LOG` (or `RUST_LOG`) filters, `OSPREY_LOG_FORMAT=json` for machines.

use tracing_subscriber::EnvFilter;

const DEFAULT_FILTER: &str = "info,rdkafka=warn,sqlx=warn,tower_http=warn";

pub fn init() {
    let filter = std::env::var("OSPREY_LOG")
        .or_else(|_| std::env::var("RUST_LOG"))
        .ok()
        .and_then(|f| EnvFilter::try_new(f).ok())
        .unwrap_or_else(|| EnvFilter::new(DEFAULT_FILTER));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let result = if std::env::var("OSPREY_LOG_FORMAT").is_ok_and(|f| f == "json") {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
    // A subscriber already installed (tests) is fine.
    drop(result);
}

/// The error and its causes on one line: lettre and reqwest keep the useful part in sources.
pub fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}
