//! The embedded web client: its page, modules and vendored libraries, their types, caching and
//! security headers, and that API paths keep their JSON 404.

use crate::helpers::TestApp;

async fn fetch(app: &TestApp, path: &str) -> reqwest::Response {
    app.client
        .get(format!("{}{path}", app.base))
        .header("accept", "text/html,*/*")
        .send()
        .await
        .expect("request")
}

fn header<'a>(res: &'a reqwest::Response, name: &str) -> &'a str {
    res.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

#[tokio::test]
async fn the_index_page_is_served_with_a_strict_policy_and_no_cache() {
    let app = TestApp::spawn().await;
    let res = fetch(&app, "/").await;
    assert_eq!(res.status(), 200);
    assert_eq!(header(&res, "content-type"), "text/html; charset=utf-8");
    assert_eq!(header(&res, "cache-control"), "no-cache");
    assert_eq!(header(&res, "x-content-type-options"), "nosniff");
    assert!(!header(&res, "referrer-policy").is_empty());
    let csp = header(&res, "content-security-policy").to_owned();
    for directive in [
        "default-src 'self'",
        "script-src 'self';",
        "style-src 'self';",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    ] {
        assert!(csp.contains(directive), "{directive} missing from {csp}");
    }
    assert!(!csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"));
    let html = res.text().await.expect("body");
    assert!(html.contains("/app/app.js"));
    assert!(!html.contains("https://"), "nothing may come from a CDN");
}

#[tokio::test]
async fn modules_styles_and_the_service_worker_have_their_types() {
    let app = TestApp::spawn().await;
    let module = fetch(&app, "/app/app.js").await;
    assert_eq!(module.status(), 200);
    assert_eq!(
        header(&module, "content-type"),
        "text/javascript; charset=utf-8"
    );
    let etag = header(&module, "etag").to_owned();
    assert!(!etag.is_empty());
    let again = app
        .client
        .get(format!("{}/app/app.js", app.base))
        .header("if-none-match", &etag)
        .send()
        .await
        .expect("request");
    assert_eq!(again.status(), 304);
    let css = fetch(&app, "/app/styles.css").await;
    assert_eq!(header(&css, "content-type"), "text/css; charset=utf-8");
    let sw = fetch(&app, "/sw.js").await;
    assert_eq!(sw.status(), 200);
    assert_eq!(header(&sw, "cache-control"), "no-cache");
    let manifest = fetch(&app, "/manifest.webmanifest").await;
    assert_eq!(
        header(&manifest, "content-type"),
        "application/manifest+json"
    );
    let icon = fetch(&app, "/app/icons/icon.svg").await;
    assert_eq!(header(&icon, "content-type"), "image/svg+xml");
}

#[tokio::test]
async fn vendored_libraries_are_cached_for_long() {
    let app = TestApp::spawn().await;
    let sio = fetch(&app, "/vendor/socket.io-client/socket.io.esm.min.js").await;
    assert_eq!(sio.status(), 200);
    assert_eq!(
        header(&sio, "content-type"),
        "text/javascript; charset=utf-8"
    );
    assert!(header(&sio, "cache-control").contains("max-age=604800"));
    let htm = fetch(&app, "/vendor/htm/standalone.module.js").await;
    assert_eq!(htm.status(), 200);
    fetch(&app, "/vendor/swagger-ui/LICENSE").await;
    let missing = fetch(&app, "/vendor/nothing/x.js").await;
    assert_eq!(missing.status(), 404);
}

#[tokio::test]
async fn api_paths_and_unknown_pages_stay_json_404s() {
    let app = TestApp::spawn().await;
    for path in ["/api/nope", "/app/nope.js", "/chats/123"] {
        let res = fetch(&app, path).await;
        assert_eq!(res.status(), 404, "{path}");
        assert!(header(&res, "content-type").starts_with("application/json"));
        let body: serde_json::Value = res.json().await.expect("json");
        assert_eq!(body["code"], "not_found");
    }
}
