//! Hostile uploads and downloads: each gets the right 4xx and leaves nothing stored behind.

use std::io::Cursor;

use reqwest::Method;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::files::{fetch, leftovers, multipart, noise, png, upload, upload_to, uploaded};
use crate::helpers::{Resp, TestApp, TestUser, id};

const MAX_IMAGE: usize = 64 * 1024;
const MAX_FILE: usize = 128 * 1024;

async fn spawn() -> TestApp {
    TestApp::spawn_with(|c| {
        c.files.max_image_bytes = MAX_IMAGE as u64;
        c.files.max_file_bytes = MAX_FILE as u64;
        c.files.max_image_pixels = 1_000_000;
    })
    .await
}

/// Asserts the error and that storage holds exactly what it held before.
#[track_caller]
fn refused(resp: &Resp, status: u16, code: &str, case: &str) {
    assert_eq!(resp.status, status, "{case}: {}", resp.body);
    assert_eq!(resp.code(), code, "{case}: {}", resp.body);
}

async fn assert_clean(app: &TestApp, baseline: (i64, usize, usize), case: &str) {
    assert_eq!(
        leftovers(app).await,
        baseline,
        "{case} left something behind"
    );
}

/// A PNG that declares `w` × `h` pixels but holds no image data.
fn png_header(w: u32, h: u32) -> Vec<u8> {
    let mut ihdr = b"IHDR".to_vec();
    ihdr.extend_from_slice(&w.to_be_bytes());
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    out.extend_from_slice(&13u32.to_be_bytes());
    out.extend_from_slice(&ihdr);
    out.extend_from_slice(&crc32(&ihdr).to_be_bytes());
    let mut idat = b"IDAT".to_vec();
    idat.extend_from_slice(&noise(64));
    out.extend_from_slice(&64u32.to_be_bytes());
    out.extend_from_slice(&idat);
    out.extend_from_slice(&crc32(&idat).to_be_bytes());
    out
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xffff_ffffu32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// A small file that decodes to many pixels: 2000 × 1000 black.
fn png_bomb() -> Vec<u8> {
    let img = image::RgbImage::new(2000, 1000);
    let mut out = Vec::new();
    image::DynamicImage::ImageRgb8(img)
        .write_to(&mut Cursor::new(&mut out), image::ImageFormat::Png)
        .expect("png encodes");
    out
}

/// A multipart body whose file name is given as raw bytes.
fn multipart_raw_name(name: &[u8], bytes: &[u8]) -> (String, Vec<u8>) {
    let boundary = "----abuse";
    let mut body =
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"")
            .into_bytes();
    body.extend_from_slice(name);
    body.extend_from_slice(b"\"\r\n\r\n");
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// Sends a hand-written HTTP/1.1 request and returns the status of the first response.
async fn raw_http(app: &TestApp, head: &str, body: &[u8], close_write: bool) -> u16 {
    let mut stream = tokio::net::TcpStream::connect(app.addr)
        .await
        .expect("connect");
    stream.write_all(head.as_bytes()).await.expect("head");
    // The server may answer and close before reading everything; that is the point.
    let _ = stream.write_all(body).await;
    if close_write {
        let _ = stream.shutdown().await;
    }
    let mut response = Vec::new();
    let mut buf = [0u8; 4096];
    let read = async {
        while !response.windows(4).any(|w| w == b"\r\n\r\n") {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => response.extend_from_slice(&buf[..n]),
            }
        }
    };
    tokio::time::timeout(std::time::Duration::from_secs(10), read)
        .await
        .expect("the server answers");
    let text = String::from_utf8_lossy(&response);
    text.split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {text:?}"))
}

fn upload_head(user: &TestUser, content_type: &str, length: usize) -> String {
    format!(
        "POST /api/upload HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {}\r\n\
         Content-Type: {content_type}\r\nContent-Length: {length}\r\n\r\n",
        user.access_token
    )
}

async fn raw_upload(app: &TestApp, user: &TestUser, content_type: &str, body: Vec<u8>) -> Resp {
    app.raw(
        Method::POST,
        "/api/upload",
        Some(&user.access_token),
        Some(content_type),
        body,
    )
    .await
}

#[tokio::test]
async fn hostile_uploads_are_refused_and_leave_nothing_behind() {
    let app = spawn().await;
    let alice = app.register("alice").await;
    let clean = leftovers(&app).await;
    assert_eq!(clean, (0, 0, 0));

    // Limits, counted on the bytes: one over is refused, exactly at the limit is accepted.
    let resp = upload(&app, &alice, "big.bin", &noise(MAX_FILE + 1)).await;
    refused(&resp, 413, "payload_too_large", "file one byte over");
    assert_clean(&app, clean, "file one byte over").await;
    let at_limit = uploaded(&app, &alice, "edge.bin", &noise(MAX_FILE)).await;
    assert_eq!(
        alice
            .delete(&format!("/api/files/{}", id(&at_limit)))
            .await
            .status,
        200
    );
    let mut image = png(16, 16);
    image.resize(MAX_IMAGE + 1, 0);
    let resp = upload(&app, &alice, "big.png", &image).await;
    refused(&resp, 413, "payload_too_large", "image one byte over");
    assert_clean(&app, clean, "image one byte over").await;

    // A declared length past every limit is refused before the body is read.
    let status = raw_http(
        &app,
        &upload_head(&alice, "multipart/form-data; boundary=x", 1 << 30),
        b"",
        false,
    )
    .await;
    assert_eq!(status, 413, "declared Content-Length over the limit");
    // A Content-Length shorter than the body: the multipart body ends early.
    let (content_type, body) = multipart("short.bin", &noise(4000));
    let status = raw_http(&app, &upload_head(&alice, &content_type, 300), &body, false).await;
    assert_eq!(status, 400, "Content-Length shorter than the body");
    // A Content-Length longer than what comes: half the body, then the client stops sending.
    let status = raw_http(
        &app,
        &upload_head(&alice, &content_type, body.len()),
        &body[..body.len() / 2],
        true,
    )
    .await;
    assert_eq!(status, 400, "Content-Length longer than the body");
    assert_clean(&app, clean, "lying Content-Length").await;

    // Chunked, with no length at all, past the limit.
    let (content_type, body) = multipart("chunked.bin", &noise(MAX_FILE * 2));
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        body.chunks(8192).map(|c| Ok(c.to_vec())).collect();
    let response = app
        .client
        .post(format!("{}/api/upload", app.base))
        .bearer_auth(&alice.access_token)
        .header("content-type", content_type)
        .body(reqwest::Body::wrap_stream(futures_util::stream::iter(
            chunks,
        )))
        .send()
        .await
        .expect("chunked upload");
    assert_eq!(response.status().as_u16(), 413, "chunked over the limit");
    assert_clean(&app, clean, "chunked over the limit").await;

    // Types that contradict their names.
    let html = b"<!DOCTYPE html><html><body><script>fetch('/api/auth/me')</script></body></html>";
    let svg = b"<svg xmlns=\"http://www.w3.org/2000/svg\" onload=\"alert(1)\"><script>alert(2)</script></svg>";
    let jpeg = crate::files::jpeg_with_exif(8, 8, 1);
    let pdf = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\n%%EOF";
    for (case, name, bytes) in [
        ("polyglot HTML labelled PNG", "cat.png", &html[..]),
        ("HTML without an extension", "index", &html[..]),
        ("SVG with script labelled PNG", "logo.png", &svg[..]),
        ("SVG with script labelled JPEG", "logo.jpg", &svg[..]),
        ("JPEG labelled PNG", "photo.png", &jpeg[..]),
        ("PDF labelled PNG", "doc.png", &pdf[..]),
        ("text labelled as a video", "clip.mp4", &b"just words"[..]),
    ] {
        let resp = upload(&app, &alice, name, bytes).await;
        refused(&resp, 415, "unsupported_media_type", case);
        assert_clean(&app, clean, case).await;
    }

    // File names that try to leave their place.
    for (case, name) in [
        ("path traversal", &b"../../etc/passwd"[..]),
        ("Windows path traversal", &b"..\\..\\boot.ini"[..]),
        ("absolute path", &b"/etc/passwd"[..]),
        ("NUL in the name", &b"report\x00.txt"[..]),
        ("escape character in the name", &b"a\x1b[31mred.txt"[..]),
        (
            "right-to-left override",
            "invoice\u{202e}fdp.exe".as_bytes(),
        ),
    ] {
        let (content_type, body) = multipart_raw_name(name, b"harmless text");
        let resp = raw_upload(&app, &alice, &content_type, body).await;
        refused(&resp, 400, "validation_failed", case);
        assert_clean(&app, clean, case).await;
    }

    // Images that would exhaust memory, or are broken.
    let resp = upload(&app, &alice, "huge.png", &png_header(100_000, 100_000)).await;
    refused(
        &resp,
        413,
        "payload_too_large",
        "100000 x 100000 pixel header",
    );
    let resp = upload(&app, &alice, "bomb.png", &png_bomb()).await;
    refused(
        &resp,
        413,
        "payload_too_large",
        "small file decoding to 2 Mpx",
    );
    let mut truncated = png(200, 200);
    truncated.truncate(truncated.len() / 2);
    let resp = upload(&app, &alice, "cut.png", &truncated).await;
    refused(&resp, 400, "validation_failed", "truncated image");
    assert_clean(&app, clean, "image attacks").await;

    // Malformed requests.
    refused(
        &upload(&app, &alice, "empty.txt", b"").await,
        400,
        "validation_failed",
        "empty file",
    );
    let (content_type, body) = multipart("x.txt", b"hello");
    let body = String::from_utf8(body)
        .expect("utf8")
        .replace("name=\"file\"", "name=\"other\"");
    refused(
        &raw_upload(&app, &alice, &content_type, body.into_bytes()).await,
        400,
        "validation_failed",
        "no file field",
    );
    let resp = alice.post("/api/upload", json!({"file": "aGVsbG8="})).await;
    refused(&resp, 400, "validation_failed", "JSON instead of multipart");
    let (content_type, body) = multipart("x.txt", b"hello");
    let resp = app
        .raw(Method::POST, "/api/upload", None, Some(&content_type), body)
        .await;
    refused(&resp, 401, "unauthorized", "no token");
    let resp = upload_to(&app, &alice, "/api/users/me/avatar", "me.png", html).await;
    refused(&resp, 415, "unsupported_media_type", "HTML as an avatar");
    assert_clean(&app, clean, "malformed requests").await;
}

#[tokio::test]
async fn downloads_refuse_strangers_guessed_ids_and_forged_signatures() {
    let app = spawn().await;
    let alice = app.register("alice").await;
    let mallory = app.register("mallory").await;
    let file = uploaded(&app, &alice, "private.png", &png(32, 32)).await;
    let path = format!("/api/files/{}", id(&file));
    let url = file["url"].as_str().expect("url").to_owned();
    let thumb = file["thumbnailUrl"].as_str().expect("thumb").to_owned();

    assert_eq!(
        fetch(&app, &path, Some(&mallory.access_token)).await.0,
        404,
        "non-member"
    );
    assert_eq!(
        fetch(&app, &path, None).await.0,
        404,
        "no credential at all"
    );
    assert_eq!(
        fetch(&app, &path, Some("not-a-token")).await.0,
        401,
        "bad token"
    );
    let guessed = format!("/api/files/{}", uuid::Uuid::now_v7());
    assert_eq!(
        fetch(&app, &guessed, Some(&alice.access_token)).await.0,
        404,
        "guessed id"
    );
    assert_eq!(
        fetch(
            &app,
            &format!("{guessed}/thumbnail"),
            Some(&alice.access_token)
        )
        .await
        .0,
        404
    );
    assert_eq!(
        fetch(&app, "/api/files/1", Some(&alice.access_token))
            .await
            .0,
        400,
        "non-UUID id"
    );
    assert_eq!(
        fetch(&app, "/api/files/..%2F..%2Fletschat.db", None)
            .await
            .0,
        400,
        "path in the id"
    );

    let forged = url.replace(&url[url.len() - 6..], "000000");
    assert_eq!(fetch(&app, &forged, None).await.0, 404, "forged signature");
    let other_viewer = url.replace(&alice.id, &mallory.id);
    assert_eq!(
        fetch(&app, &other_viewer, None).await.0,
        404,
        "signature for someone else"
    );
    let later = url.replacen("exp=", "exp=9", 1);
    assert_eq!(fetch(&app, &later, None).await.0, 404, "extended expiry");
    let swapped = thumb.replace("/thumbnail?", "?");
    assert_eq!(
        fetch(&app, &swapped, None).await.0,
        404,
        "thumbnail signature on the original"
    );
    let other_file = url.replace(&id(&file), &uuid::Uuid::now_v7().to_string());
    assert_eq!(
        fetch(&app, &other_file, None).await.0,
        404,
        "signature moved to another id"
    );
    let mallory_file = uploaded(&app, &mallory, "m.txt", b"mine").await;
    assert_eq!(
        alice
            .delete(&format!("/api/files/{}", id(&mallory_file)))
            .await
            .status,
        404,
        "deleting another's file"
    );
    assert_eq!(
        fetch(&app, &url, None).await.0,
        200,
        "the genuine URL still works"
    );
    let _: Value = file;
}
