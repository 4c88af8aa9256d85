//! People: public profiles, search, profile edits and privacy settings.

use serde_json::{Value, json};

use crate::helpers::{TestApp, TestUser};

/// `GET /api/users/search?q=…` as `user`: the hits, after checking the shape of each.
async fn search(user: &TestUser, q: &str) -> Vec<Value> {
    let resp = user
        .get(&format!("/api/users/search?q={}", encode(q)))
        .await;
    assert_eq!(resp.status, 200, "search {q:?}: {}", resp.body);
    let hits = resp.body["users"].as_array().expect("users").clone();
    for hit in &hits {
        assert!(hit.get("email").is_none(), "email leaked in {hit}");
        assert!(hit["contactStatus"].is_string(), "{hit}");
        assert!(hit.get("contactId").is_some(), "{hit}");
    }
    hits
}

fn usernames(hits: &[Value]) -> Vec<&str> {
    hits.iter()
        .map(|h| h["username"].as_str().unwrap_or_default())
        .collect()
}

/// Percent-encodes a query value.
fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test]
async fn a_public_profile_has_no_email_and_an_unknown_id_is_not_found() {
    let app = TestApp::spawn().await;
    let (alice, bob) = (app.register("alice").await, app.register("bob").await);

    let resp = alice.get(&format!("/api/users/{}", bob.id)).await;
    assert_eq!(resp.status, 200, "{}", resp.body);
    let user = &resp.body;
    assert_eq!(user["id"], bob.id.as_str());
    assert_eq!(user["username"], "bob");
    assert!(user["displayName"].is_string());
    assert!(user["avatarUrl"].is_null());
    assert!(user["bio"].is_string());
    assert_eq!(user["status"], "offline");
    assert!(user["lastSeen"].is_null());
    for private in ["email", "settings", "role", "passwordHash"] {
        assert!(user.get(private).is_none(), "{private} leaked: {user}");
    }

    alice
        .get(&format!("/api/users/{}", uuid::Uuid::new_v4()))
        .await
        .assert_error(404, "not_found");
}

#[tokio::test]
async fn search_matches_part_of_a_username_or_display_name_ignoring_case() {
    let app = TestApp::spawn().await;
    let (alice, _bob, carol) = (
        app.register("alice").await,
        app.register("bob").await,
        app.register("carol").await,
    );
    let resp = carol
        .put(
            "/api/auth/profile",
            json!({"displayName": "Caroline Wonderland"}),
        )
        .await;
    assert_eq!(resp.status, 200, "{}", resp.body);

    assert_eq!(usernames(&search(&alice, "BO").await), ["bob"]);
    assert_eq!(usernames(&search(&alice, "aRo").await), ["carol"]);
    assert_eq!(usernames(&search(&alice, "wONDER").await), ["carol"]);
    let hit = &search(&alice, "derla").await[0];
    assert_eq!(hit["displayName"], "Caroline Wonderland");
    assert_eq!(hit["contactStatus"], "none");
    assert!(hit["contactId"].is_null());
    assert!(search(&alice, "zzz").await.is_empty());
    assert!(search(&alice, "  ").await.is_empty());
}

#[tokio::test]
async fn search_ignores_the_case_of_accented_display_names_too() {
    let app = TestApp::spawn().await;
    let (alice, carol) = (app.register("alice").await, app.register("carol").await);
    let resp = carol
        .put("/api/auth/profile", json!({"displayName": "Élodie Ünal"}))
        .await;
    assert_eq!(resp.status, 200, "{}", resp.body);

    for q in ["Élodie", "élodie", "ÉLODIE", "ünal", "die Ü"] {
        assert_eq!(usernames(&search(&alice, q).await), ["carol"], "{q}");
    }
    let resp = carol
        .put("/api/auth/profile", json!({"displayName": "Zoë"}))
        .await;
    assert_eq!(resp.status, 200, "{}", resp.body);
    assert_eq!(usernames(&search(&alice, "ZOË").await), ["carol"]);
    assert!(search(&alice, "élodie").await.is_empty());
}

#[tokio::test]
async fn search_leaves_out_the_searcher() {
    let app = TestApp::spawn().await;
    let (alice, _alina) = (app.register("alice").await, app.register("alina").await);
    assert_eq!(usernames(&search(&alice, "ali").await), ["alina"]);
    assert!(search(&alice, "alice").await.is_empty());
    assert!(search(&alice, "alice@example.com").await.is_empty());
}

#[tokio::test]
async fn search_finds_an_email_only_on_an_exact_match_and_still_hides_it() {
    let app = TestApp::spawn().await;
    let (alice, bob) = (app.register("alice").await, app.register("bob").await);

    let hits = search(&alice, &bob.email).await;
    assert_eq!(usernames(&hits), ["bob"]);
    assert_eq!(hits[0]["id"], bob.id.as_str());
    assert_eq!(usernames(&search(&alice, "BOB@Example.COM").await), ["bob"]);
    for part in [
        "bob@example",
        "@example.com",
        "example.com",
        "b@example.com",
    ] {
        assert!(search(&alice, part).await.is_empty(), "{part} matched");
    }
}

#[tokio::test]
async fn search_tells_how_each_person_relates_to_the_searcher() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let (bob, carol, dave, erin, frank) = (
        app.register("bob").await,
        app.register("carol").await,
        app.register("dave").await,
        app.register("erin").await,
        app.register("frank").await,
    );
    let outgoing = alice.ask_contact(&bob).await;
    let incoming = carol.ask_contact(&alice).await;
    let accepted = alice.befriend(&dave).await;
    erin.ask_contact(&alice).await;
    alice.block(&erin).await;

    let expected = [
        (&bob, "pending_outgoing", Some(outgoing)),
        (&carol, "pending_incoming", Some(incoming)),
        (&dave, "accepted", Some(accepted)),
        (&erin, "blocked", None),
        (&frank, "none", None),
    ];
    for (user, status, contact_id) in expected {
        let hits = search(&alice, &user.username).await;
        assert_eq!(hits.len(), 1, "{}: {hits:?}", user.username);
        assert_eq!(hits[0]["id"], user.id.as_str());
        assert_eq!(hits[0]["contactStatus"], status, "{}", user.username);
        assert_eq!(
            hits[0]["contactId"],
            contact_id.map_or(Value::Null, Value::from),
            "{}",
            user.username
        );
    }
    // From the other side.
    assert_eq!(
        search(&bob, "alice").await[0]["contactStatus"],
        "pending_incoming"
    );
    assert_eq!(
        search(&carol, "alice").await[0]["contactStatus"],
        "pending_outgoing"
    );
    assert_eq!(search(&dave, "alice").await[0]["contactStatus"], "accepted");
}

#[tokio::test]
async fn nobody_finds_someone_who_blocked_them() {
    let app = TestApp::spawn().await;
    let (alice, bob, carol) = (
        app.register("alice").await,
        app.register("bob").await,
        app.register("carol").await,
    );
    bob.block(&alice).await;

    assert!(search(&alice, "bob").await.is_empty());
    assert!(search(&alice, &bob.email).await.is_empty());
    assert_eq!(usernames(&search(&carol, "bob").await), ["bob"]);
    // The blocker still finds the person they blocked, marked as such.
    let hits = search(&bob, "alice").await;
    assert_eq!(usernames(&hits), ["alice"]);
    assert_eq!(hits[0]["contactStatus"], "blocked");

    let unblock = bob.delete(&format!("/api/blocks/{}", alice.id)).await;
    assert_eq!(unblock.status, 200, "{}", unblock.body);
    assert_eq!(usernames(&search(&alice, "bob").await), ["bob"]);
}

#[tokio::test]
async fn percent_and_underscore_in_a_search_are_literal_characters() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let _underscored = app.register("bob_smith").await;
    let _plain = app.register("bobxsmith").await;
    let carol = app.register("carol").await;
    let resp = carol
        .put(
            "/api/auth/profile",
            json!({"displayName": "Carol 100% real"}),
        )
        .await;
    assert_eq!(resp.status, 200, "{}", resp.body);

    assert_eq!(usernames(&search(&alice, "bob_s").await), ["bob_smith"]);
    assert_eq!(usernames(&search(&alice, "_").await), ["bob_smith"]);
    assert_eq!(usernames(&search(&alice, "%").await), ["carol"]);
    assert_eq!(usernames(&search(&alice, "0% r").await), ["carol"]);
    assert!(search(&alice, "b%h").await.is_empty());
    assert!(search(&alice, "\\").await.is_empty());
    assert!(search(&alice, "'").await.is_empty());
}

#[tokio::test]
async fn the_profile_can_be_edited_and_the_avatar_removed_with_null() {
    let app = TestApp::spawn().await;
    let (alice, bob) = (app.register("alice").await, app.register("bob").await);

    let resp = alice
        .put(
            "/api/auth/profile",
            json!({"displayName": "Alice A.", "bio": "Hi there", "avatarUrl": "https://img.example/a.png"}),
        )
        .await;
    assert_eq!(resp.status, 200, "{}", resp.body);
    let me = &resp.body["user"];
    assert_eq!(me["displayName"], "Alice A.");
    assert_eq!(me["bio"], "Hi there");
    assert_eq!(me["avatarUrl"], "https://img.example/a.png");
    assert_eq!(me["email"], "alice@example.com");

    let seen = bob.get(&format!("/api/users/{}", alice.id)).await;
    assert_eq!(seen.body["displayName"], "Alice A.");
    assert_eq!(seen.body["bio"], "Hi there");
    assert_eq!(seen.body["avatarUrl"], "https://img.example/a.png");

    // Only the fields sent change; null removes the avatar.
    let resp = alice
        .put("/api/auth/profile", json!({"avatarUrl": null}))
        .await;
    assert_eq!(resp.status, 200, "{}", resp.body);
    assert!(resp.body["user"]["avatarUrl"].is_null(), "{}", resp.body);
    assert_eq!(resp.body["user"]["displayName"], "Alice A.");
    assert_eq!(resp.body["user"]["bio"], "Hi there");

    let resp = alice
        .put("/api/auth/profile", json!({"bio": "New bio"}))
        .await;
    assert_eq!(resp.status, 200, "{}", resp.body);
    assert_eq!(resp.body["user"]["bio"], "New bio");
    assert_eq!(resp.body["user"]["displayName"], "Alice A.");
    assert!(resp.body["user"]["avatarUrl"].is_null());

    for url in [
        "javascript:alert(1)",
        "JavaScript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "http://img.example/a.png",
    ] {
        alice
            .put("/api/auth/profile", json!({"avatarUrl": url}))
            .await
            .assert_error(400, "validation_failed");
    }
    let me = alice.get("/api/auth/me").await;
    assert!(me.body["user"]["avatarUrl"].is_null(), "{}", me.body);
}

#[tokio::test]
async fn settings_change_only_the_fields_sent() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let settings = |resp: &crate::helpers::Resp| resp.body["user"]["settings"].clone();

    let me = alice.get("/api/auth/me").await;
    assert_eq!(
        settings(&me),
        json!({"readReceipts": true, "lastSeenVisibility": "everyone", "notifications": true})
    );

    let resp = alice
        .put(
            "/api/users/me/settings",
            json!({"lastSeenVisibility": "contacts"}),
        )
        .await;
    assert_eq!(resp.status, 200, "{}", resp.body);
    assert_eq!(resp.body["user"]["id"], alice.id.as_str());
    assert_eq!(resp.body["user"]["email"], "alice@example.com");
    assert_eq!(
        settings(&resp),
        json!({"readReceipts": true, "lastSeenVisibility": "contacts", "notifications": true})
    );

    let resp = alice
        .put("/api/users/me/settings", json!({"readReceipts": false}))
        .await;
    assert_eq!(
        settings(&resp),
        json!({"readReceipts": false, "lastSeenVisibility": "contacts", "notifications": true})
    );

    let resp = alice
        .put(
            "/api/users/me/settings",
            json!({"notifications": false, "lastSeenVisibility": "nobody"}),
        )
        .await;
    assert_eq!(
        settings(&resp),
        json!({"readReceipts": false, "lastSeenVisibility": "nobody", "notifications": false})
    );
    assert_eq!(settings(&alice.get("/api/auth/me").await), settings(&resp));

    alice
        .put(
            "/api/users/me/settings",
            json!({"lastSeenVisibility": "friends"}),
        )
        .await
        .assert_error(400, "validation_failed");
    assert_eq!(settings(&alice.get("/api/auth/me").await), settings(&resp));
}
