//! Static assets compiled into the binary (one file to deploy), served with a long cache life
//! under a versioned path. `[server] static_dir` serves them from disk instead, for UI work.

use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

/// Part of every asset URL, so a new release never meets a stale cached file.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
/// The cache life of a versioned asset.
pub const CACHE_FOREVER: &str = "public, max-age=31536000, immutable";

const FILES: &[(&str, &str, &[u8])] = &[
    ("app.css", "text/css; charset=utf-8", include_bytes!("../../static/app.css")),
    ("app.js", "text/javascript; charset=utf-8", include_bytes!("../../static/app.js")),
    (
        "vendor/uPlot.iife.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../static/vendor/uPlot.iife.min.js"),
    ),
    (
        "vendor/uPlot.min.css",
        "text/css; charset=utf-8",
        include_bytes!("../../static/vendor/uPlot.min.css"),
    ),
];

pub async fn serve(Path((_version, file)): Path<(String, String)>) -> Response {
    match FILES.iter().find(|(name, _, _)| *name == file) {
        Some((_, content_type, body)) => {
            ([(header::CONTENT_TYPE, *content_type), (header::CACHE_CONTROL, CACHE_FOREVER)], *body)
                .into_response()
        }
        None => StatusCode::NOT_FOUND.into_response(),
    }
}
