//! The web client: `/` (the single page), `/app/*` (its modules, styles, icons), `/vendor/*`
//! (vendored browser libraries), `/sw.js` and `/manifest.webmanifest`, all embedded in the binary.
//!
//! The client routes with the URL fragment (`/#/chats/…`), so there is no HTML fallback: every
//! other path, `/api/*` included, still ends in the JSON 404.

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use rust_embed::{EmbeddedFile, RustEmbed};

use crate::app::AppState;
use crate::error::AppError;

/// No inline script or style, nothing from other origins; sockets only to this host.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
    img-src 'self' data: blob:; media-src 'self' blob:; connect-src 'self'; font-src 'self'; \
    manifest-src 'self'; worker-src 'self'; object-src 'none'; base-uri 'none'; \
    form-action 'self'; frame-ancestors 'none'";

/// Pages and modules change with each release and have no version in their name: revalidate.
const REVALIDATE: &str = "no-cache";
/// Vendored libraries change only when the repository upgrades them.
const LONG: &str = "public, max-age=604800";

#[derive(RustEmbed)]
#[folder = "web/app/"]
struct AppFiles;

#[derive(RustEmbed)]
#[folder = "web/vendor/socket.io-client/"]
struct SocketIoClient;

#[derive(RustEmbed)]
#[folder = "web/vendor/htm/"]
struct Htm;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/",
            get(|h: HeaderMap| async move { app_file("index.html", &h) }),
        )
        .route(
            "/sw.js",
            get(|h: HeaderMap| async move { app_file("sw.js", &h) }),
        )
        .route(
            "/manifest.webmanifest",
            get(|h: HeaderMap| async move { app_file("manifest.webmanifest", &h) }),
        )
        .route("/app/{*path}", get(app_asset))
        .route("/vendor/{lib}/{file}", get(vendor_asset))
}

async fn app_asset(Path(path): Path<String>, headers: HeaderMap) -> Response {
    app_file(&path, &headers)
}

fn app_file(path: &str, headers: &HeaderMap) -> Response {
    serve(AppFiles::get(path), path, REVALIDATE, headers)
}

async fn vendor_asset(Path((lib, file)): Path<(String, String)>, headers: HeaderMap) -> Response {
    let embedded = match lib.as_str() {
        "socket.io-client" => SocketIoClient::get(&file),
        "htm" => Htm::get(&file),
        _ => None,
    };
    serve(embedded, &file, LONG, &headers)
}

/// One embedded file with its type, caching and security headers; `304` when the ETag matches.
fn serve(file: Option<EmbeddedFile>, name: &str, cache: &'static str, req: &HeaderMap) -> Response {
    let Some(file) = file else {
        return AppError::not_found("File").into_response();
    };
    let etag = format!("\"{}\"", hex::encode(&file.metadata.sha256_hash()[..16]));
    let fresh = req
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag));
    let mut response = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        (StatusCode::OK, file.data.into_owned()).into_response()
    };
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(mime(name)));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    if let Ok(value) = HeaderValue::from_str(&etag) {
        headers.insert(header::ETAG, value);
    }
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if name == "sw.js" {
        headers.insert("service-worker-allowed", HeaderValue::from_static("/"));
    }
    response
}

/// The Content-Type of an embedded file, by extension.
fn mime(name: &str) -> &'static str {
    match name.rsplit('.').next() {
        Some("html") => "text/html; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("json") => "application/json",
        Some("webmanifest") => "application/manifest+json",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        Some("txt") | None => "text/plain; charset=utf-8",
        Some(_) => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::mime;

    #[test]
    fn types_follow_the_extension() {
        assert_eq!(mime("app.js"), "text/javascript; charset=utf-8");
        assert_eq!(mime("icons/icon.svg"), "image/svg+xml");
        assert_eq!(mime("manifest.webmanifest"), "application/manifest+json");
        assert_eq!(mime("LICENSE.bin"), "application/octet-stream");
    }
}
