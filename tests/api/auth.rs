//! Registration, login, tokens and sessions.

use serde_json::json;

use crate::helpers::{PASSWORD, TestApp};

#[tokio::test]
async fn register_returns_me_and_tokens_and_login_finds_the_account_by_any_name() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let me = alice.get("/api/auth/me").await;
    assert_eq!(me.status, 200);
    assert_eq!(me.body["user"]["username"], "alice");
    assert_eq!(me.body["user"]["email"], "alice@example.com");
    assert_eq!(me.body["user"]["role"], "user");
    for login in [
        json!({"email": "ALICE@example.com"}),
        json!({"username": "Alice"}),
        json!({"login": "alice"}),
    ] {
        let mut body = login.clone();
        body["password"] = json!(PASSWORD);
        let resp = app.post("/api/auth/login", body).await;
        assert_eq!(resp.status, 200, "{login}: {}", resp.body);
    }
}
