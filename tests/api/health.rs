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
