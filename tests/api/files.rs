//! Files: uploads, downloads with signed URLs and ranges, file messages and who may read them,
//! avatars, the media gallery, cleanup, S3 storage, and memory during a large upload.

use std::io::Cursor;
use std::path::Path;
use std::time::Duration;

use reqwest::Method;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};

use crate::helpers::{Resp, TestApp, TestUser, group, id};

/// A multipart body with one `file` field; returns (content type, body).
pub fn multipart(name: &str, bytes: &[u8]) -> (String, Vec<u8>) {
    let boundary = "----letschat-test-boundary-7d93";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n\
         Content-Type: application/octet-stream\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// `POST path` with a multipart `file` as `user`.
pub async fn upload_to(
    app: &TestApp,
    user: &TestUser,
    path: &str,
    name: &str,
    bytes: &[u8],
) -> Resp {
    let (content_type, body) = multipart(name, bytes);
    app.raw(
        Method::POST,
        path,
        Some(&user.access_token),
        Some(&content_type),
        body,
    )
    .await
}

pub async fn upload(app: &TestApp, user: &TestUser, name: &str, bytes: &[u8]) -> Resp {
    upload_to(app, user, "/api/upload", name, bytes).await
}

/// Uploads and asserts 201; returns the FileInfo.
pub async fn uploaded(app: &TestApp, user: &TestUser, name: &str, bytes: &[u8]) -> Value {
    let resp = upload(app, user, name, bytes).await;
    assert_eq!(resp.status, 201, "upload {name}: {}", resp.body);
    resp.body
}

/// A GET of `path` (a signed URL or a plain path), with a bearer token when given.
pub async fn fetch(app: &TestApp, path: &str, token: Option<&str>) -> (u16, HeaderMap, Vec<u8>) {
    fetch_with(app, path, token, &[]).await
}

pub async fn fetch_with(
    app: &TestApp,
    path: &str,
    token: Option<&str>,
    headers: &[(&str, &str)],
) -> (u16, HeaderMap, Vec<u8>) {
    let mut request = app.client.get(format!("{}{path}", app.base));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.expect("download sent");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let bytes = response.bytes().await.expect("body").to_vec();
    (status, headers, bytes)
}

/// A PNG of `w` × `h` with a gradient, generated here (no binary fixtures).
pub fn png(w: u32, h: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(w, h, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, 90])
    });
    let mut out = Vec::new();
    image::DynamicImage::ImageRgb8(img)
        .write_to(&mut Cursor::new(&mut out), image::ImageFormat::Png)
        .expect("png encodes");
    out
}

/// A JPEG of `w` × `h` carrying an EXIF block with the given orientation and a camera "Make".
pub fn jpeg_with_exif(w: u32, h: u32, orientation: u16) -> Vec<u8> {
    let img = image::RgbImage::from_fn(w, h, |x, _| image::Rgb([(x * 7 % 256) as u8, 20, 200]));
    let mut plain = Vec::new();
    image::DynamicImage::ImageRgb8(img)
        .write_to(&mut Cursor::new(&mut plain), image::ImageFormat::Jpeg)
        .expect("jpeg encodes");
    // TIFF, little endian: an IFD with Orientation (0x0112) and Make (0x010F, "SECRETCAM").
    let mut tiff = b"II\x2a\x00\x08\x00\x00\x00\x02\x00".to_vec();
    tiff.extend_from_slice(&[0x0f, 0x01, 0x02, 0x00, 0x0a, 0, 0, 0, 0x26, 0, 0, 0]);
    tiff.extend_from_slice(&[0x12, 0x01, 0x03, 0x00, 0x01, 0, 0, 0]);
    tiff.extend_from_slice(&orientation.to_le_bytes());
    tiff.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
    tiff.extend_from_slice(b"SECRETCAM\0");
    let mut app1 = b"Exif\0\0".to_vec();
    app1.extend_from_slice(&tiff);
    let len = (app1.len() + 2) as u16;
    let mut out = plain[..2].to_vec();
    out.extend_from_slice(&[0xff, 0xe1]);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&app1);
    out.extend_from_slice(&plain[2..]);
    out
}

/// Deterministic bytes that no sniffer recognises.
pub fn noise(len: usize) -> Vec<u8> {
    let mut state = 0x2545_f491_4f6c_dd1du64;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect()
}

/// Rows in `files`, objects in blob storage, and temporary files: what an upload leaves.
pub async fn leftovers(app: &TestApp) -> (i64, usize, usize) {
    let rows = app.count("SELECT count(*) FROM files").await;
    let data = &app.config.storage.data_dir;
    (
        rows,
        count_files(&data.join("files")),
        count_files(&data.join("tmp")),
    )
}

fn count_files(dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| {
            let path = e.path();
            if path.is_dir() { count_files(&path) } else { 1 }
        })
        .sum()
}

async fn send_file(user: &TestUser, chat: &str, file: &Value, extra: Value) -> Resp {
    let mut body = json!({"fileId": file["id"]});
    if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
        body.extend(extra.clone());
    }
    user.post(&format!("/api/chats/{chat}/messages"), body)
        .await
}

#[tokio::test]
async fn uploads_come_back_byte_identical_with_their_detected_type() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    for (name, bytes) in [
        ("blob.bin", noise(300_000)),
        ("notes.txt", b"shopping list\n- milk\n".to_vec()),
    ] {
        let info = uploaded(&app, &alice, name, &bytes).await;
        assert_eq!(info["name"], name);
        assert_eq!(info["size"], bytes.len());
        assert_eq!(info["kind"], "file");
        let (status, _, body) = fetch(
            &app,
            &format!("/api/files/{}", id(&info)),
            Some(&alice.access_token),
        )
        .await;
        assert_eq!(status, 200);
        assert!(body == bytes, "{name} differs after the round trip");
        let (status, _, body) = fetch(&app, info["url"].as_str().expect("url"), None).await;
        assert_eq!(status, 200, "the signed URL works without a token");
        assert!(body == bytes);
    }
    let text = uploaded(&app, &alice, "notes2.txt", b"plain").await;
    assert_eq!(text["mimeType"], "text/plain");
    // A WAV's header tells its duration: 16000 bytes a second, 24000 bytes of sound.
    let mut wav = b"RIFF\0\0\0\0WAVEfmt \x10\0\0\0\x01\0\x01\0".to_vec();
    wav.extend_from_slice(&8000u32.to_le_bytes());
    wav.extend_from_slice(&16000u32.to_le_bytes());
    wav.extend_from_slice(&[2, 0, 16, 0]);
    wav.extend_from_slice(b"data");
    wav.extend_from_slice(&24000u32.to_le_bytes());
    wav.extend_from_slice(&noise(24000));
    let audio = uploaded(&app, &alice, "voice.wav", &wav).await;
    assert_eq!(audio["kind"], "audio");
    assert_eq!(audio["durationMs"], 1500);
    assert!(audio["thumbnailUrl"].is_null());
}

#[tokio::test]
async fn images_get_dimensions_a_decodable_thumbnail_and_lose_their_exif() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let info = uploaded(&app, &alice, "wide.png", &png(800, 600)).await;
    assert_eq!(
        (
            info["kind"].as_str(),
            info["width"].as_i64(),
            info["height"].as_i64()
        ),
        (Some("image"), Some(800), Some(600))
    );
    assert_eq!(info["mimeType"], "image/png");
    let (status, headers, thumb) = fetch(
        &app,
        info["thumbnailUrl"].as_str().expect("thumbnail url"),
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "image/jpeg");
    let thumb = image::load_from_memory(&thumb).expect("the thumbnail decodes");
    assert_eq!((thumb.width(), thumb.height()), (320, 240));

    // Orientation 6 (rotate 90°): stored upright, dimensions swapped, no EXIF left.
    let original = jpeg_with_exif(40, 20, 6);
    assert!(original.windows(9).any(|w| w == b"SECRETCAM"));
    let info = uploaded(&app, &alice, "photo.jpg", &original).await;
    assert_eq!(
        (info["width"].as_i64(), info["height"].as_i64()),
        (Some(20), Some(40))
    );
    let (_, _, stored) = fetch(&app, info["url"].as_str().expect("url"), None).await;
    assert!(
        !stored.windows(9).any(|w| w == b"SECRETCAM"),
        "EXIF survived"
    );
    assert!(!stored.windows(4).any(|w| w == b"Exif"), "EXIF survived");
    let decoded = image::load_from_memory(&stored).expect("the stored image decodes");
    assert_eq!((decoded.width(), decoded.height()), (20, 40));
    assert_eq!(info["size"], stored.len());
}

#[tokio::test]
async fn downloads_are_sandboxed_and_name_the_file_safely() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let doc = uploaded(
        &app,
        &alice,
        "Résumé (final).pdf",
        b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\n%%EOF\n",
    )
    .await;
    assert_eq!(doc["mimeType"], "application/pdf");
    let (status, headers, _) = fetch(&app, doc["url"].as_str().expect("url"), None).await;
    assert_eq!(status, 200);
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert!(
        headers["content-security-policy"]
            .to_str()
            .expect("csp")
            .starts_with("sandbox")
    );
    assert_eq!(
        headers["content-disposition"],
        "attachment; filename=\"R_sum_ (final).pdf\"; filename*=UTF-8''R%C3%A9sum%C3%A9%20%28final%29%2Epdf"
    );
    let img = uploaded(&app, &alice, "cat.png", &png(10, 10)).await;
    let (_, headers, _) = fetch(&app, img["url"].as_str().expect("url"), None).await;
    assert!(
        headers["content-disposition"]
            .to_str()
            .expect("cd")
            .starts_with("inline;")
    );
    // SVG is accepted as a document but never shown inline.
    let svg = uploaded(
        &app,
        &alice,
        "logo.svg",
        b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>",
    )
    .await;
    assert_eq!(svg["kind"], "file");
    let (_, headers, _) = fetch(&app, svg["url"].as_str().expect("url"), None).await;
    assert!(
        headers["content-disposition"]
            .to_str()
            .expect("cd")
            .starts_with("attachment;")
    );
    assert!(
        headers["content-security-policy"]
            .to_str()
            .expect("csp")
            .contains("sandbox")
    );
}

#[tokio::test]
async fn range_requests_return_the_asked_bytes_or_416() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let bytes = noise(10_000);
    let info = uploaded(&app, &alice, "data.bin", &bytes).await;
    let url = info["url"].as_str().expect("url");
    let (status, headers, body) = fetch_with(&app, url, None, &[("range", "bytes=100-199")]).await;
    assert_eq!(status, 206);
    assert_eq!(headers["content-range"], "bytes 100-199/10000");
    assert!(body == bytes[100..200]);
    let (status, _, body) = fetch_with(&app, url, None, &[("range", "bytes=9990-")]).await;
    assert_eq!(status, 206);
    assert!(body == bytes[9990..]);
    let (status, _, body) = fetch_with(&app, url, None, &[("range", "bytes=-16")]).await;
    assert_eq!(status, 206);
    assert!(body == bytes[10_000 - 16..]);
    let (status, headers, body) = fetch_with(&app, url, None, &[("range", "bytes=20000-")]).await;
    assert_eq!(status, 416);
    assert_eq!(headers["content-range"], "bytes */10000");
    let error: Value = serde_json::from_slice(&body).expect("json error");
    assert_eq!(error["code"], "range_not_satisfiable");
}

#[tokio::test]
async fn file_messages_are_readable_by_members_only_and_removed_members_lose_access() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let carol = app.register("carol").await;
    let mallory = app.register("mallory").await;
    let chat = group(&alice, "trip", &[&bob, &carol]).await;
    let file = uploaded(&app, &alice, "beach.png", &png(64, 48)).await;
    let file_path = format!("/api/files/{}", id(&file));

    // Before it is sent, only the uploader can read it.
    assert_eq!(
        fetch(&app, &file_path, Some(&bob.access_token)).await.0,
        404
    );
    let sent = send_file(&alice, &chat, &file, json!({"content": "look"})).await;
    assert_eq!(sent.status, 201, "{}", sent.body);
    assert_eq!(sent.body["type"], "image");
    assert_eq!(sent.body["content"], "look");
    assert_eq!(sent.body["file"]["id"], file["id"]);
    assert_eq!(sent.body["fileUrl"], sent.body["file"]["url"]);

    let history = carol.get(&format!("/api/chats/{chat}/messages")).await;
    let message = &history.body["messages"][0];
    let carol_url = message["file"]["url"]
        .as_str()
        .expect("carol's url")
        .to_owned();
    assert!(
        carol_url.contains(&format!("uid={}", carol.id)),
        "minted for the viewer"
    );
    assert!(!carol_url.contains(&carol.access_token));
    assert_eq!(fetch(&app, &carol_url, None).await.0, 200);
    assert_eq!(
        fetch(&app, &file_path, Some(&bob.access_token)).await.0,
        200
    );
    assert_eq!(
        fetch(&app, &file_path, Some(&mallory.access_token)).await.0,
        404
    );
    let thumb = message["file"]["thumbnailUrl"].as_str().expect("thumbnail");
    assert_eq!(fetch(&app, thumb, None).await.0, 200);

    // Only the uploader may send it; others get a 400 and nothing is stored.
    let stolen = send_file(&bob, &chat, &file, json!({})).await;
    stolen.assert_error(400, "validation_failed");

    let removed = alice
        .delete(&format!("/api/chats/{chat}/members/{}", carol.id))
        .await;
    assert_eq!(removed.status, 200, "{}", removed.body);
    assert_eq!(
        fetch(&app, &carol_url, None).await.0,
        404,
        "a removed member loses access"
    );
    assert_eq!(fetch(&app, thumb, None).await.0, 404);
}

#[tokio::test]
async fn deleting_for_everyone_removes_access_and_forwarding_reuses_the_file() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let dave = app.register("dave").await;
    let chat = group(&alice, "one", &[&bob]).await;
    let other = group(&bob, "two", &[&dave]).await;
    let file = uploaded(&app, &alice, "song.bin", &noise(5000)).await;
    let sent = send_file(&alice, &chat, &file, json!({})).await;
    assert_eq!(sent.body["type"], "file");
    assert_eq!(sent.body["content"], "");
    let message_id = id(&sent.body);

    let forwarded = bob
        .post(
            &format!("/api/messages/{message_id}/forward"),
            json!({"chatIds": [other]}),
        )
        .await;
    assert_eq!(forwarded.status, 201, "{}", forwarded.body);
    let copy = &forwarded.body["messages"][0];
    assert_eq!(copy["file"]["id"], file["id"], "the same file, not a copy");
    let dave_view = dave.get(&format!("/api/chats/{other}/messages")).await;
    let dave_url = dave_view.body["messages"][0]["fileUrl"]
        .as_str()
        .expect("url")
        .to_owned();
    assert_eq!(fetch(&app, &dave_url, None).await.0, 200);

    let bob_view = bob.get(&format!("/api/chats/{chat}/messages")).await;
    let bob_url = bob_view.body["messages"][0]["fileUrl"]
        .as_str()
        .expect("url")
        .to_owned();
    let deleted = alice
        .delete(&format!("/api/messages/{message_id}?scope=everyone"))
        .await;
    assert_eq!(deleted.status, 200, "{}", deleted.body);
    let tomb = bob.get(&format!("/api/chats/{chat}/messages")).await;
    assert!(tomb.body["messages"][0]["file"].is_null());
    assert!(tomb.body["messages"][0]["fileUrl"].is_null());
    // Bob still sees it through the forwarded copy in the other chat; Dave too.
    assert_eq!(fetch(&app, &bob_url, None).await.0, 200);
    let forwarded_id = id(copy);
    assert_eq!(
        bob.delete(&format!("/api/messages/{forwarded_id}?scope=everyone"))
            .await
            .status,
        200
    );
    assert_eq!(fetch(&app, &bob_url, None).await.0, 404);
    assert_eq!(fetch(&app, &dave_url, None).await.0, 404);
    let (status, _, _) = fetch(
        &app,
        &format!("/api/files/{}", id(&file)),
        Some(&alice.access_token),
    )
    .await;
    assert_eq!(
        status, 200,
        "the uploader keeps access until the file is cleaned up"
    );
}

#[tokio::test]
async fn message_types_must_match_the_file() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let chat = group(&alice, "g", &[&bob]).await;
    let doc = uploaded(&app, &alice, "a.txt", b"text").await;
    send_file(&alice, &chat, &doc, json!({"type": "image"}))
        .await
        .assert_error(400, "validation_failed");
    let img = uploaded(&app, &alice, "b.png", &png(4, 4)).await;
    let as_doc = send_file(&alice, &chat, &img, json!({"type": "file"})).await;
    assert_eq!(as_doc.status, 201, "an image may be sent as a document");
    let no_file = alice
        .post(
            &format!("/api/chats/{chat}/messages"),
            json!({"type": "image"}),
        )
        .await;
    no_file.assert_error(400, "validation_failed");
    let unknown = alice
        .post(
            &format!("/api/chats/{chat}/messages"),
            json!({"fileId": uuid::Uuid::new_v4().to_string()}),
        )
        .await;
    unknown.assert_error(400, "validation_failed");
}

#[tokio::test]
async fn the_media_gallery_lists_files_newest_first_by_kind() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let chat = group(&alice, "g", &[&bob]).await;
    let mut sent = Vec::new();
    for (name, bytes) in [
        ("1.png", png(8, 8)),
        ("2.bin", noise(100)),
        ("3.png", png(9, 9)),
    ] {
        let file = uploaded(&app, &alice, name, &bytes).await;
        sent.push(id(&send_file(&alice, &chat, &file, json!({})).await.body));
    }
    crate::chats::send(&alice, &chat, "just text").await;
    let all = bob.get(&format!("/api/chats/{chat}/media")).await;
    assert_eq!(all.status, 200, "{}", all.body);
    let ids: Vec<String> = all.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(id)
        .collect();
    assert_eq!(ids, vec![sent[2].clone(), sent[1].clone(), sent[0].clone()]);
    assert_eq!(all.body["hasMore"], false);
    let images = bob
        .get(&format!("/api/chats/{chat}/media?kind=image&limit=1"))
        .await;
    assert_eq!(id(&images.body["items"][0]), sent[2]);
    assert_eq!(images.body["hasMore"], true);
    let cursor = images.body["nextCursor"].as_str().expect("cursor");
    let next = bob
        .get(&format!(
            "/api/chats/{chat}/media?kind=image&limit=1&cursor={cursor}"
        ))
        .await;
    assert_eq!(id(&next.body["items"][0]), sent[0]);
    bob.get(&format!("/api/chats/{chat}/media?kind=exe"))
        .await
        .assert_error(400, "validation_failed");
    let outsider = app.register("eve").await;
    assert_eq!(
        outsider
            .get(&format!("/api/chats/{chat}/media"))
            .await
            .status,
        404
    );
}

#[tokio::test]
async fn avatars_are_square_thumbnails_for_users_and_for_groups_by_their_admins() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let resp = upload_to(
        &app,
        &alice,
        "/api/users/me/avatar",
        "me.png",
        &png(300, 200),
    )
    .await;
    assert_eq!(resp.status, 200, "{}", resp.body);
    let url = resp.body["user"]["avatarUrl"]
        .as_str()
        .expect("avatar url")
        .to_owned();
    let seen = bob.get(&format!("/api/users/{}", alice.id)).await;
    assert_eq!(seen.body["avatarUrl"], url.as_str());
    let (status, _, bytes) = fetch(&app, &url, None).await;
    assert_eq!(status, 200);
    let avatar = image::load_from_memory(&bytes).expect("decodes");
    assert_eq!((avatar.width(), avatar.height()), (256, 256));
    // The avatar URL opens the thumbnail only, not the original.
    let original = url.replace("/thumbnail?", "?");
    assert_eq!(fetch(&app, &original, None).await.0, 404);
    upload_to(
        &app,
        &alice,
        "/api/users/me/avatar",
        "me.txt",
        b"not an image",
    )
    .await
    .assert_error(415, "unsupported_media_type");

    let chat = group(&alice, "club", &[&bob]).await;
    let path = format!("/api/chats/{chat}/avatar");
    upload_to(&app, &bob, &path, "g.png", &png(50, 50))
        .await
        .assert_error(403, "forbidden");
    let before = leftovers(&app).await;
    let resp = upload_to(&app, &alice, &path, "g.png", &png(50, 80)).await;
    assert_eq!(resp.status, 200, "{}", resp.body);
    let group_url = resp.body["avatarUrl"].as_str().expect("group avatar");
    assert_eq!(fetch(&app, group_url, None).await.0, 200);
    assert_eq!(leftovers(&app).await.0, before.0 + 1);
}

#[tokio::test]
async fn the_uploader_deletes_unused_files_but_not_ones_in_use() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let chat = group(&alice, "g", &[&bob]).await;
    let used = uploaded(&app, &alice, "used.bin", &noise(10)).await;
    send_file(&alice, &chat, &used, json!({})).await;
    alice
        .delete(&format!("/api/files/{}", id(&used)))
        .await
        .assert_error(409, "conflict");
    bob.delete(&format!("/api/files/{}", id(&used)))
        .await
        .assert_error(404, "not_found");
    let unused = uploaded(&app, &alice, "unused.bin", &noise(10)).await;
    let before = leftovers(&app).await;
    assert_eq!(
        alice
            .delete(&format!("/api/files/{}", id(&unused)))
            .await
            .status,
        200
    );
    assert_eq!(leftovers(&app).await, (before.0 - 1, before.1 - 1, 0));
    assert_eq!(
        fetch(
            &app,
            &format!("/api/files/{}", id(&unused)),
            Some(&alice.access_token)
        )
        .await
        .0,
        404
    );
}

#[tokio::test]
async fn files_nothing_uses_are_swept_after_the_grace_period() {
    let app = spawn_sweeping().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let chat = group(&alice, "g", &[&bob]).await;
    let orphan = uploaded(&app, &alice, "orphan.bin", &noise(10)).await;
    let kept = uploaded(&app, &alice, "kept.png", &png(5, 5)).await;
    let message = send_file(&alice, &chat, &kept, json!({})).await;
    assert_eq!(message.status, 201, "{}", message.body);
    let orphan_query = format!("SELECT count(*) FROM files WHERE id = '{}'", id(&orphan));
    wait_until(&app, &orphan_query, 0).await;
    let kept_query = format!("SELECT count(*) FROM files WHERE id = '{}'", id(&kept));
    assert_eq!(app.count(&kept_query).await, 1);
    assert_eq!(
        leftovers(&app).await,
        (1, 2, 0),
        "the kept file and its thumbnail remain"
    );
    assert_eq!(
        alice
            .delete(&format!(
                "/api/messages/{}?scope=everyone",
                id(&message.body)
            ))
            .await
            .status,
        200
    );
    wait_until(&app, &kept_query, 0).await;
    assert_eq!(leftovers(&app).await, (0, 0, 0));
}

/// A server that sweeps every second files unused for two.
async fn spawn_sweeping() -> TestApp {
    TestApp::spawn_with(|c| {
        c.files.cleanup_interval_secs = 1;
        c.files.orphan_grace_secs = 2;
    })
    .await
}

/// Polls a count until it equals `want`, for at most 15 s.
async fn wait_until(app: &TestApp, sql: &str, want: i64) {
    for _ in 0..150 {
        if app.count(sql).await == want {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{sql} never reached {want}");
}

/// A box of an MP4: 32-bit size, type, body.
fn mp4_box(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
    let mut out = ((body.len() + 8) as u32).to_be_bytes().to_vec();
    out.extend_from_slice(kind);
    out.extend_from_slice(body);
    out
}

/// An MP4 whose `moov` (with a version 0 `mvhd`) follows 200 KB of media, as cameras write it.
fn mp4_moov_last(timescale: u32, duration: u32) -> Vec<u8> {
    let mut file = mp4_box(b"ftyp", b"isom\0\0\x02\0isommp41");
    file.extend(mp4_box(b"mdat", &noise(200_000)));
    let mut mvhd = vec![0; 12];
    mvhd.extend_from_slice(&timescale.to_be_bytes());
    mvhd.extend_from_slice(&duration.to_be_bytes());
    mvhd.resize(100, 0);
    file.extend(mp4_box(b"moov", &mp4_box(b"mvhd", &mvhd)));
    file
}

/// An EBML element with an 8-byte size.
fn ebml(id: &[u8], body: &[u8]) -> Vec<u8> {
    let mut out = id.to_vec();
    out.push(0x01);
    out.extend_from_slice(&(body.len() as u64).to_be_bytes()[1..]);
    out.extend_from_slice(body);
    out
}

/// A WebM: EBML header, a segment of unknown size (as recorders write it), `Info` with
/// `Duration` in the default 1 ms ticks, and a cluster.
fn webm(duration_ms: f64) -> Vec<u8> {
    let mut file = ebml(b"\x1a\x45\xdf\xa3", b"\x42\x86\x81\x01\x42\x82\x84webm");
    file.extend_from_slice(b"\x18\x53\x80\x67\x01\xff\xff\xff\xff\xff\xff\xff");
    file.extend(ebml(
        b"\x15\x49\xa9\x66",
        &ebml(b"\x44\x89", &duration_ms.to_be_bytes()),
    ));
    file.extend(ebml(b"\x1f\x43\xb6\x75", &noise(5000)));
    file
}

/// One Ogg page holding one packet (of at most 255 bytes); the checksum is left zero.
fn ogg_page(granule: u64, packet: &[u8]) -> Vec<u8> {
    let mut page = b"OggS\0\x02".to_vec();
    page.extend_from_slice(&granule.to_le_bytes());
    page.extend_from_slice(&[1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, packet.len() as u8]);
    page.extend_from_slice(packet);
    page
}

/// An Ogg Opus stream of `pages` audio pages whose last granule is `granule` (48 kHz, after a
/// pre-skip of 312).
fn ogg_opus(pages: u64, granule: u64) -> Vec<u8> {
    let mut file = ogg_page(0, b"OpusHead\x01\x02\x38\x01\x80\xbb\0\0\0\0\0");
    for n in 1..pages {
        file.extend(ogg_page(n * 960, &noise(250)));
    }
    file.extend(ogg_page(granule, &noise(100)));
    file
}

#[tokio::test]
async fn mp4_webm_and_ogg_uploads_record_the_duration_their_container_states() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let video = uploaded(&app, &alice, "clip.mp4", &mp4_moov_last(600, 1500)).await;
    assert_eq!(
        (&video["kind"], &video["mimeType"]),
        (&json!("video"), &json!("video/mp4"))
    );
    assert_eq!(video["durationMs"], 2500);
    let call = uploaded(&app, &alice, "call.webm", &webm(4321.0)).await;
    assert_eq!(
        (&call["kind"], &call["durationMs"]),
        (&json!("video"), &json!(4321))
    );
    let opus = uploaded(&app, &alice, "voice.ogg", &ogg_opus(400, 312 + 48_000 * 8)).await;
    assert_eq!(
        (&opus["kind"], &opus["durationMs"]),
        (&json!("audio"), &json!(8000))
    );
    // A stream whose container states nothing: null.
    let silent = uploaded(&app, &alice, "live.webm", &webm(f64::NAN)).await;
    assert_eq!(silent["kind"], "video");
    assert!(silent["durationMs"].is_null());

    let chat = group(&alice, "g", &[&bob]).await;
    let sent = send_file(&alice, &chat, &video, json!({})).await;
    assert_eq!(sent.status, 201, "{}", sent.body);
    assert_eq!(sent.body["type"], "video");
    assert_eq!(sent.body["file"]["durationMs"], 2500);
    let history = bob.get(&format!("/api/chats/{chat}/messages")).await;
    assert_eq!(history.body["messages"][0]["file"]["durationMs"], 2500);
}

/// The file id in an avatar URL (`/api/files/<id>/thumbnail?…`).
fn avatar_file(url: &str) -> String {
    url.trim_start_matches("/api/files/")
        .split('/')
        .next()
        .expect("an id")
        .to_owned()
}

#[tokio::test]
async fn a_link_that_merely_names_a_file_does_not_keep_its_uploader_from_deleting_it() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let resp = upload_to(&app, &alice, "/api/users/me/avatar", "me.png", &png(40, 40)).await;
    assert_eq!(resp.status, 200, "{}", resp.body);
    let avatar = avatar_file(resp.body["user"]["avatarUrl"].as_str().expect("url"));
    alice
        .delete(&format!("/api/files/{avatar}"))
        .await
        .assert_error(409, "conflict");
    // Bob's profile and a group's picture link to Alice's files without being their avatar URLs.
    let named = uploaded(&app, &alice, "named.bin", &noise(10)).await;
    let forged = uploaded(&app, &alice, "forged.bin", &noise(10)).await;
    let link = format!("https://img.example/{}.png", id(&named));
    let resp = bob
        .put("/api/auth/profile", json!({"avatarUrl": link}))
        .await;
    assert_eq!(resp.status, 200, "{}", resp.body);
    let chat = group(&bob, "g", &[&alice]).await;
    let fake = format!("/api/files/{}/thumbnail?avatar=1&sig=00", id(&forged));
    let resp = bob
        .put(&format!("/api/chats/{chat}"), json!({"avatarUrl": fake}))
        .await;
    assert_eq!(resp.status, 200, "{}", resp.body);
    for file in [&named, &forged] {
        let resp = alice.delete(&format!("/api/files/{}", id(file))).await;
        assert_eq!(resp.status, 200, "{}", resp.body);
    }
}

#[tokio::test]
async fn the_sweep_keeps_avatars_but_not_files_a_profile_link_merely_names() {
    let app = spawn_sweeping().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let resp = upload_to(&app, &alice, "/api/users/me/avatar", "me.png", &png(40, 40)).await;
    assert_eq!(resp.status, 200, "{}", resp.body);
    let avatar_url = resp.body["user"]["avatarUrl"]
        .as_str()
        .expect("url")
        .to_owned();
    let named = uploaded(&app, &alice, "named.bin", &noise(10)).await;
    let fake = format!("/api/files/{}/thumbnail?avatar=1&sig=00", id(&named));
    let resp = bob
        .put("/api/auth/profile", json!({"avatarUrl": fake}))
        .await;
    assert_eq!(resp.status, 200, "{}", resp.body);
    let named_query = format!("SELECT count(*) FROM files WHERE id = '{}'", id(&named));
    wait_until(&app, &named_query, 0).await;
    // The avatar is older than the swept file, so the same sweeps looked at it.
    let avatar_query = format!(
        "SELECT count(*) FROM files WHERE id = '{}'",
        avatar_file(&avatar_url)
    );
    assert_eq!(app.count(&avatar_query).await, 1);
    assert_eq!(fetch(&app, &avatar_url, None).await.0, 200);
}

#[tokio::test]
async fn the_storage_quota_is_enforced_per_user() {
    let app = TestApp::spawn_with(|c| c.files.user_quota_bytes = 25_000).await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    uploaded(&app, &alice, "a.bin", &noise(20_000)).await;
    upload(&app, &alice, "b.bin", &noise(10_000))
        .await
        .assert_error(413, "payload_too_large");
    uploaded(&app, &bob, "b.bin", &noise(10_000)).await;
    assert_eq!(leftovers(&app).await, (2, 2, 0));
}

#[tokio::test]
async fn memory_stays_flat_while_a_50_mb_file_streams_in() {
    use crate::durability::{ServerProcess, TestDatabase, free_port};
    let mut db = TestDatabase::new().await;
    let server = ServerProcess::start(&db, free_port()).await;
    let base = format!("http://127.0.0.1:{}", server.port());
    let pid = server.pid().expect("pid");
    letschat::app::install_crypto_provider();
    let client = reqwest::Client::new();
    let register = client
        .post(format!("{base}/api/auth/register"))
        .json(&json!({"username": "big", "email": "big@example.com", "password": crate::helpers::PASSWORD}))
        .send()
        .await
        .expect("register");
    let auth: Value = register.json().await.expect("json");
    let token = auth["accessToken"].as_str().expect("token").to_owned();
    // Sampled while the upload runs: the high-water mark would still hold argon2's 19 MiB.
    let before = vm_kib(pid, "VmRSS");
    let sampling = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let sampler = {
        let sampling = sampling.clone();
        tokio::spawn(async move {
            let mut peak = 0;
            while sampling.load(std::sync::atomic::Ordering::Relaxed) {
                peak = peak.max(vm_kib(pid, "VmRSS"));
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            peak
        })
    };

    const SIZE: usize = 50 * 1024 * 1024;
    let boundary = "----bigboundary";
    let head = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.bin\"\r\n\r\n"
    );
    let tail = format!("\r\n--{boundary}--\r\n");
    let chunk = noise(64 * 1024);
    let body_chunks = SIZE / chunk.len();
    let stream = futures_util::stream::iter(
        std::iter::once(head.into_bytes())
            .chain((0..body_chunks).map(move |_| chunk.clone()))
            .chain(std::iter::once(tail.into_bytes()))
            .map(Ok::<_, std::io::Error>),
    );
    let response = client
        .post(format!("{base}/api/upload"))
        .bearer_auth(&token)
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(reqwest::Body::wrap_stream(stream))
        .send()
        .await
        .expect("upload");
    let status = response.status().as_u16();
    let info: Value = response.json().await.expect("json");
    assert_eq!(status, 201, "{info}");
    assert_eq!(info["size"], SIZE);
    sampling.store(false, std::sync::atomic::Ordering::Relaxed);
    let after = sampler.await.expect("sampler").max(vm_kib(pid, "VmRSS"));
    let growth_mib = (after.saturating_sub(before)) as f64 / 1024.0;
    println!(
        "peak RSS of the server grew by {growth_mib:.1} MiB during a 50 MiB upload ({before} KiB -> {after} KiB)"
    );
    assert!(growth_mib < 32.0, "peak RSS grew by {growth_mib:.1} MiB");
    drop(server);
    db.drop_database().await;
}

/// A `Vm…` line of /proc/<pid>/status, in KiB.
fn vm_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    status
        .lines()
        .find_map(|line| line.strip_prefix(&format!("{field}:")))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("field present")
}

/// A moto S3 server on a free loopback port, killed when dropped.
struct Moto {
    child: std::process::Child,
    port: u16,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts moto, or says why it cannot.
async fn start_moto() -> Result<Moto, String> {
    let port = crate::durability::free_port();
    let child = std::process::Command::new("python3")
        .args([
            "-m",
            "moto.server",
            "-H",
            "127.0.0.1",
            "-p",
            &port.to_string(),
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map_err(|e| format!("python3 cannot be started: {e}"))?;
    let mut moto = Moto { child, port };
    letschat::app::install_crypto_provider();
    let client = reqwest::Client::new();
    for _ in 0..200 {
        if let Ok(Some(status)) = moto.child.try_wait() {
            return Err(format!(
                "moto exited with {status} (pip install 'moto[server]')"
            ));
        }
        if client
            .get(format!("http://127.0.0.1:{port}/"))
            .send()
            .await
            .is_ok()
        {
            let created = client
                .put(format!("http://127.0.0.1:{port}/letschat-test"))
                .send()
                .await
                .map_err(|e| e.to_string())?;
            if !created.status().is_success() {
                return Err(format!("creating the bucket failed: {}", created.status()));
            }
            return Ok(moto);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    moto.child.kill().ok();
    Err("moto did not answer within 20 s".into())
}

#[tokio::test]
async fn files_round_trip_through_s3_compatible_storage() {
    let moto = match start_moto().await {
        Ok(moto) => moto,
        Err(why) => {
            println!("SKIPPED the S3 test: {why}");
            return;
        }
    };
    let port = moto.port;
    let app = TestApp::spawn_with(move |c| {
        c.files.s3.endpoint = format!("http://127.0.0.1:{port}");
        c.files.s3.bucket = "letschat-test".into();
        c.files.s3.access_key_id = "test".into();
        c.files.s3.secret_access_key = letschat::config::Secret::new("test");
        c.files.s3.allow_http = true;
    })
    .await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    // Larger than one multipart part, to exercise the part upload.
    let bytes = noise(9 * 1024 * 1024);
    let info = uploaded(&app, &alice, "big.bin", &bytes).await;
    let (status, _, body) = fetch(&app, info["url"].as_str().expect("url"), None).await;
    assert_eq!(status, 200);
    assert!(body == bytes, "S3 round trip differs");
    let (status, _, body) = fetch_with(
        &app,
        info["url"].as_str().expect("url"),
        None,
        &[("range", "bytes=5-9")],
    )
    .await;
    assert_eq!(status, 206);
    assert!(body == bytes[5..10]);
    let image = uploaded(&app, &alice, "pic.png", &png(640, 640)).await;
    let (status, _, thumb) =
        fetch(&app, image["thumbnailUrl"].as_str().expect("thumb"), None).await;
    assert_eq!(status, 200);
    let thumb = image::load_from_memory(&thumb).expect("thumbnail decodes");
    assert_eq!((thumb.width(), thumb.height()), (320, 320));
    assert_eq!(
        fetch(
            &app,
            &format!("/api/files/{}", id(&image)),
            Some(&bob.access_token)
        )
        .await
        .0,
        404
    );
    // Nothing lands on the local disk, and deleting removes the objects.
    assert_eq!(leftovers(&app).await.1, 0);
    assert_eq!(
        alice
            .delete(&format!("/api/files/{}", id(&info)))
            .await
            .status,
        200
    );
    let listing = app
        .client
        .get(format!("http://127.0.0.1:{port}/letschat-test?list-type=2"))
        .send()
        .await
        .expect("list")
        .text()
        .await
        .expect("text");
    assert!(
        !listing.contains(&id(&info)),
        "the object is gone from the bucket"
    );
    assert!(listing.contains(&id(&image)));
}

#[tokio::test]
async fn each_member_gets_file_urls_signed_for_them_in_new_message() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let chat = group(&alice, "g", &[&bob]).await;
    let mut bob_socket = bob.connect().await;
    let file = uploaded(&app, &alice, "p.png", &png(20, 20)).await;
    // Over Socket.IO too: `send_message` takes the same fileId.
    let mut alice_socket = alice.connect().await;
    let ack = alice_socket
        .emit_with_ack(
            "send_message",
            json!({"chatId": chat, "fileId": file["id"], "content": "via socket"}),
        )
        .await;
    assert_eq!(ack["message"]["type"], "image", "{ack}");
    let event = bob_socket.next_event("new_message").await;
    let message = &event.data;
    let url = message["file"]["url"].as_str().expect("url");
    assert!(url.contains(&format!("uid={}", bob.id)), "{url}");
    assert_eq!(message["fileUrl"], message["file"]["url"]);
    let thumb = message["file"]["thumbnailUrl"].as_str().expect("thumb");
    assert!(thumb.contains(&format!("uid={}", bob.id)));
    assert_eq!(fetch(&app, url, None).await.0, 200);
}
