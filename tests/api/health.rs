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
