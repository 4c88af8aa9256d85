//! `/api/openapi.json` and `/api/docs` (Swagger UI, vendored, so it works offline).

use std::sync::LazyLock;

use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use rust_embed::RustEmbed;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::extract::ApiPath;
use crate::app::AppState;

/// The OpenAPI document of every endpoint.
#[derive(OpenApi)]
#[openapi(
    info(title = "letschat", description = "REST API of letschat. Real-time events are described in docs/PROTOCOL.md."),
    paths(
        super::health::health, super::health::ping, super::health::metrics,
        super::auth::register, super::auth::login, super::auth::refresh, super::auth::logout,
        super::auth::me, super::auth::update_profile, super::auth::change_password,
        super::auth::forgot_password, super::auth::reset_password, super::auth::list_sessions,
        super::auth::revoke_session,
        super::users::search, super::users::get_user, super::users::update_settings,
        super::contacts::list, super::contacts::pending, super::contacts::sent,
        super::contacts::request, super::contacts::decide, super::contacts::remove,
        super::contacts::list_blocks, super::contacts::block, super::contacts::unblock,
        super::chats::list, super::chats::create, super::chats::get_chat, super::chats::update,
        super::chats::remove, super::chats::add_members, super::chats::remove_member,
        super::chats::set_role, super::chats::update_settings, super::chats::mark_read,
        super::chats::list_pins, super::chats::pin, super::chats::unpin, super::chats::history,
        super::chats::send,
        super::messages::edit, super::messages::remove, super::messages::read,
        super::messages::delivered, super::messages::receipts, super::messages::react,
        super::messages::unreact, super::messages::forward, super::messages::star,
        super::messages::unstar, super::messages::starred, super::messages::search,
        super::messages::sync,
        super::files::upload, super::files::download, super::files::thumbnail,
        super::files::remove, super::files::user_avatar, super::files::group_avatar,
        super::files::media,
    ),
    components(schemas(crate::error::ErrorBody, crate::error::FieldError)),
    modifiers(&BearerAuth)
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

static SPEC: LazyLock<String> =
    LazyLock::new(|| ApiDoc::openapi().to_json().unwrap_or_else(|_| "{}".into()));

#[derive(RustEmbed)]
#[folder = "web/docs/"]
struct DocsPage;

#[derive(RustEmbed)]
#[folder = "web/vendor/swagger-ui/"]
struct SwaggerUi;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/openapi.json", get(spec))
        .route("/api/docs", get(|| async { page("index.html") }))
        .route("/api/docs/init.js", get(|| async { page("init.js") }))
        .route("/api/docs/vendor/{file}", get(vendor))
}

async fn spec() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], SPEC.as_str())
}

fn page(name: &str) -> Response {
    asset(DocsPage::get(name), name)
}

async fn vendor(ApiPath(file): ApiPath<String>) -> Response {
    asset(SwaggerUi::get(&file), &file)
}

fn asset(file: Option<rust_embed::EmbeddedFile>, name: &str) -> Response {
    let Some(file) = file else {
        return crate::error::AppError::not_found("File").into_response();
    };
    let mime = match name.rsplit('.').next() {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        _ => "application/octet-stream",
    };
    let mut response = (StatusCode::OK, file.data.into_owned()).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(mime));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; object-src 'none'; frame-ancestors 'none'",
        ),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    response
}
