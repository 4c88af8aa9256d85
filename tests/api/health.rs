//! Health, docs and the JSON fallbacks.

use crate::helpers::TestApp;

#[tokio::test]
async fn health_checks_the_database_and_ping_pongs() {
    let app = TestApp::spawn().await;
    let health = app.get("/health").await;
    assert_eq!(health.status, 200);
    assert_eq!(health.body["status"], "ok");
    assert!(
        health.body["timestamp"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z'))
    );
    let ping = app.get("/ping").await;
    assert_eq!(ping.body["message"], "pong");
}

#[tokio::test]
async fn unknown_routes_are_json_404_and_wrong_methods_json_405() {
    let app = TestApp::spawn().await;
    app.get("/api/nothing-here")
        .await
        .assert_error(404, "not_found");
    app.post("/ping", serde_json::json!({}))
        .await
        .assert_error(405, "method_not_allowed");
}

#[tokio::test]
async fn the_openapi_document_lists_every_route_and_the_docs_page_works_offline() {
    let app = TestApp::spawn().await;
    let spec = app.get("/api/openapi.json").await;
    assert_eq!(spec.status, 200);
    let paths = spec.body["paths"].as_object().expect("paths");
    for path in [
        "/api/auth/register",
        "/api/auth/login",
        "/api/contacts",
        "/api/users/search",
        "/health",
    ] {
        assert!(
            paths.contains_key(path),
            "{path} missing from the OpenAPI document"
        );
    }
    let page = app.get("/api/docs").await;
    assert_eq!(page.status, 200);
    let html = page.body.as_str().expect("html");
    assert!(html.contains("/api/docs/vendor/swagger-ui-bundle.js"));
    assert!(
        !html.contains("https://"),
        "the docs page must not load anything from the internet"
    );
    let bundle = app
        .client
        .get(format!("{}/api/docs/vendor/swagger-ui-bundle.js", app.base))
        .send()
        .await
        .expect("bundle");
    assert_eq!(bundle.status(), 200);
}

#[tokio::test]
async fn metrics_are_for_admins_and_the_metrics_token_and_count_requests_by_route() {
    let app =
        TestApp::spawn_with(|c| c.metrics.token = letschat::config::Secret::new("scrape-me")).await;
    let alice = app.register("alice").await;
    let _socket = alice.connect().await;
    app.get("/metrics").await.assert_error(401, "unauthorized");
    let denied = alice.get("/metrics").await;
    denied.assert_error(403, "forbidden");
    app.execute(&format!(
        "UPDATE users SET role = 'admin' WHERE id = '{}'",
        alice.id
    ))
    .await;
    let as_admin = alice.get("/metrics").await;
    assert_eq!(as_admin.status, 200);
    let text = as_admin.body.as_str().expect("text");
    for metric in [
        "http_requests_total",
        "http_request_duration_seconds",
        "socketio_connected_sockets",
        "db_pool_connections",
    ] {
        assert!(text.contains(metric), "{metric} missing from /metrics");
    }
    assert!(
        text.contains("route=\"/api/auth/register\""),
        "requests are labelled by route template"
    );
    let with_token = app
        .request(reqwest::Method::GET, "/metrics", Some("scrape-me"), None)
        .await;
    assert_eq!(with_token.status, 200);
}

#[tokio::test]
async fn every_response_carries_a_request_id_and_keeps_the_callers() {
    let app = TestApp::spawn().await;
    let generated = app.get("/ping").await;
    assert!(generated.headers.get("x-request-id").is_some());
    let response = app
        .client
        .get(format!("{}/ping", app.base))
        .header("x-request-id", "trace-me-123")
        .send()
        .await
        .expect("ping");
    assert_eq!(response.headers()["x-request-id"], "trace-me-123");
}

/// Every route the server answers, as `METHOD path` in OpenAPI form. A new route must be added
/// here and to the OpenAPI document (src/http/docs.rs).
const ROUTES: &[&str] = &[
    "GET /health",
    "GET /ping",
    "GET /metrics",
    "POST /api/auth/register",
    "POST /api/auth/login",
    "POST /api/auth/refresh",
    "POST /api/auth/logout",
    "GET /api/auth/me",
    "PUT /api/auth/profile",
    "PUT /api/auth/password",
    "POST /api/auth/password/forgot",
    "POST /api/auth/password/reset",
    "GET /api/auth/sessions",
    "DELETE /api/auth/sessions/{id}",
    "GET /api/users/search",
    "GET /api/users/{id}",
    "PUT /api/users/me/settings",
    "GET /api/contacts",
    "POST /api/contacts",
    "GET /api/contacts/pending",
    "GET /api/contacts/sent",
    "PUT /api/contacts/{id}",
    "DELETE /api/contacts/{id}",
    "GET /api/blocks",
    "POST /api/blocks",
    "DELETE /api/blocks/{userId}",
    "GET /api/chats",
    "POST /api/chats",
    "GET /api/chats/{id}",
    "PUT /api/chats/{id}",
    "DELETE /api/chats/{id}",
    "POST /api/chats/{id}/members",
    "DELETE /api/chats/{id}/members/{userId}",
    "PUT /api/chats/{id}/members/{userId}",
    "PUT /api/chats/{id}/settings",
    "POST /api/chats/{id}/read",
    "GET /api/chats/{id}/pins",
    "POST /api/chats/{id}/pins",
    "DELETE /api/chats/{id}/pins/{messageId}",
    "GET /api/chats/{id}/messages",
    "POST /api/chats/{id}/messages",
    "PUT /api/messages/{id}",
    "DELETE /api/messages/{id}",
    "POST /api/messages/{id}/read",
    "POST /api/messages/delivered",
    "GET /api/messages/{id}/receipts",
    "GET /api/messages/search",
    "POST /api/messages/{id}/reactions",
    "DELETE /api/messages/{id}/reactions",
    "POST /api/messages/{id}/forward",
    "POST /api/messages/{id}/star",
    "DELETE /api/messages/{id}/star",
    "GET /api/messages/starred",
    "GET /api/sync",
];

#[tokio::test]
async fn every_route_is_in_the_openapi_document_and_answers_without_a_5xx() {
    let app = TestApp::spawn().await;
    let spec = app.get("/api/openapi.json").await;
    let paths = spec.body["paths"].as_object().expect("paths");
    let id = uuid::Uuid::new_v4().to_string();
    for route in ROUTES {
        let (method, path) = route.split_once(' ').expect("METHOD path");
        let operation = &paths
            .get(path)
            .unwrap_or_else(|| panic!("{path} is not documented"))[method.to_lowercase()];
        assert!(operation.is_object(), "{route} is not documented");
        let concrete = path
            .replace("{id}", &id)
            .replace("{userId}", &id)
            .replace("{messageId}", &id);
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let resp = app.request(method, &concrete, None, None).await;
        assert!(
            resp.status < 500,
            "{route} answered {} {}",
            resp.status,
            resp.body
        );
        assert_ne!(resp.status, 405, "{route} is not routed");
        if path.starts_with("/api/") {
            assert_ne!(
                resp.code(),
                "not_found",
                "{route} is not routed: {}",
                resp.body
            );
        }
    }
}
