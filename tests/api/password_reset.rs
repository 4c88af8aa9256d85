//! Password reset by email: a real (tiny) SMTP server on loopback, and the outbox folder.

use std::time::Duration;

use base64::Engine as _;
use serde_json::json;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

use crate::helpers::{PASSWORD, Resp, TestApp, TestUser};
use crate::sio::WAIT;

const NEW_PASSWORD: &str = "a freshly reset passphrase";

/// A minimal SMTP server: accepts every mail and hands its raw text (headers and body, with
/// dot-stuffing undone) to the test.
struct MailServer {
    port: u16,
    mails: mpsc::UnboundedReceiver<String>,
}

impl MailServer {
    async fn start() -> MailServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind smtp");
        let port = listener.local_addr().expect("smtp addr").port();
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve_smtp(stream, tx.clone()));
            }
        });
        MailServer { port, mails: rx }
    }

    /// The next mail, failing the test after [`WAIT`].
    async fn next_mail(&mut self) -> String {
        tokio::time::timeout(WAIT, self.mails.recv())
            .await
            .unwrap_or_else(|_| panic!("no mail within {WAIT:?}"))
            .expect("mail server stopped")
    }

    /// Asserts that no mail arrives within `wait`.
    async fn expect_no_mail(&mut self, wait: Duration) {
        if let Ok(Some(mail)) = tokio::time::timeout(wait, self.mails.recv()).await {
            panic!("unexpected mail:\n{mail}");
        }
    }
}

/// One SMTP conversation; just enough of RFC 5321 for lettre without STARTTLS or AUTH.
async fn serve_smtp(stream: tokio::net::TcpStream, mails: mpsc::UnboundedSender<String>) {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read).lines();
    if write
        .write_all(b"220 localhost test SMTP ready\r\n")
        .await
        .is_err()
    {
        return;
    }
    while let Ok(Some(line)) = lines.next_line().await {
        let verb = line
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_ascii_uppercase();
        let reply: &[u8] = match verb.as_str() {
            "EHLO" => b"250-localhost greets you\r\n250 HELP\r\n",
            "HELO" | "MAIL" | "RCPT" | "RSET" | "NOOP" => b"250 OK\r\n",
            "DATA" => {
                if write
                    .write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                    .await
                    .is_err()
                {
                    return;
                }
                let mut message = String::new();
                loop {
                    match lines.next_line().await {
                        Ok(Some(data)) if data == "." => break,
                        Ok(Some(data)) => {
                            // Undo dot-stuffing.
                            message.push_str(data.strip_prefix('.').unwrap_or(&data));
                            message.push_str("\r\n");
                        }
                        _ => return,
                    }
                }
                let _ = mails.send(message);
                b"250 OK: queued\r\n"
            }
            "QUIT" => {
                let _ = write.write_all(b"221 Bye\r\n").await;
                return;
            }
            _ => b"502 Command not implemented\r\n",
        };
        if write.write_all(reply).await.is_err() {
            return;
        }
    }
}

/// The value of header `name` (unfolded), if present.
fn header(raw: &str, name: &str) -> Option<String> {
    let (headers, _) = raw.split_once("\r\n\r\n")?;
    let unfolded = headers.replace("\r\n ", " ").replace("\r\n\t", " ");
    unfolded.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.trim()
            .eq_ignore_ascii_case(name)
            .then(|| value.trim().to_owned())
    })
}

/// The text body of a raw mail, with its transfer encoding undone.
fn mail_body(raw: &str) -> String {
    let body = raw
        .split_once("\r\n\r\n")
        .map(|(_, b)| b)
        .unwrap_or_default();
    let encoding = header(raw, "content-transfer-encoding")
        .unwrap_or_default()
        .to_ascii_lowercase();
    match encoding.as_str() {
        "base64" => {
            let compact: String = body.chars().filter(|c| !c.is_whitespace()).collect();
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(compact)
                .expect("base64 body");
            String::from_utf8(bytes).expect("utf-8 body")
        }
        "quoted-printable" => decode_quoted_printable(body),
        _ => body.to_owned(),
    }
}

fn decode_quoted_printable(body: &str) -> String {
    let joined = body.replace("=\r\n", "").replace("=\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'='
            && let Some(hex) = joined.get(i + 1..i + 3)
            && let Ok(byte) = u8::from_str_radix(hex, 16)
        {
            out.push(byte);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).expect("utf-8 body")
}

/// The token on the mail's `Reset code:` line, once the mail is complete.
fn reset_code(raw: &str) -> Option<String> {
    let body = mail_body(raw);
    if !body.contains("If it was not you") {
        return None;
    }
    let token = body
        .lines()
        .find_map(|line| line.trim().strip_prefix("Reset code:"))?
        .trim()
        .to_owned();
    assert!(
        !token.is_empty()
            && token
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'),
        "odd reset code {token:?} in:\n{body}"
    );
    Some(token)
}

/// The reset code of a mail that must hold one.
#[track_caller]
fn code_of(raw: &str) -> String {
    reset_code(raw).unwrap_or_else(|| panic!("no reset code in:\n{raw}"))
}

/// Waits (bounded) for a complete mail in the outbox folder; returns (file count, raw mail).
async fn outbox_mail(app: &TestApp) -> (usize, String) {
    let dir = app.config.storage.data_dir.join("outbox");
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let mut files = Vec::new();
        if let Ok(mut entries) = tokio::fs::read_dir(&dir).await {
            while let Ok(Some(entry)) = entries.next_entry().await {
                files.push(entry.path());
            }
        }
        if let Some(path) = files.first() {
            let raw = tokio::fs::read_to_string(path).await.unwrap_or_default();
            if reset_code(&raw).is_some() {
                return (files.len(), raw);
            }
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no complete mail in {} within {WAIT:?}",
            dir.display()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn spawn_with_smtp() -> (TestApp, MailServer) {
    let server = MailServer::start().await;
    let port = server.port;
    let app = TestApp::spawn_with(move |c| {
        c.mail.smtp_host = "127.0.0.1".into();
        c.mail.smtp_port = port;
        c.mail.smtp_security = "none".into();
    })
    .await;
    (app, server)
}

async fn forgot(app: &TestApp, email: &str) -> Resp {
    app.post("/api/auth/password/forgot", json!({"email": email}))
        .await
}

async fn reset(app: &TestApp, token: &str, new_password: &str) -> Resp {
    app.post(
        "/api/auth/password/reset",
        json!({"token": token, "newPassword": new_password}),
    )
    .await
}

async fn login_with(app: &TestApp, user: &TestUser, password: &str) -> Resp {
    app.post(
        "/api/auth/login",
        json!({"email": user.email, "password": password}),
    )
    .await
}

#[track_caller]
fn assert_invalid(resp: &Resp, field: &str) {
    resp.assert_error(400, "validation_failed");
    let details = resp.body["details"].as_array().cloned().unwrap_or_default();
    assert!(
        details.iter().any(|d| d["field"] == field),
        "no detail for {field}: {}",
        resp.body
    );
}

#[tokio::test]
async fn forgot_password_answers_202_alike_but_mails_only_an_existing_account() {
    let (app, mut smtp) = spawn_with_smtp().await;
    let alice = app.register("alice").await;

    let unknown = forgot(&app, "nobody@example.com").await;
    assert_eq!(unknown.status, 202, "{}", unknown.body);
    let known = forgot(&app, "Alice@Example.com").await;
    assert_eq!(known.status, 202, "{}", known.body);
    assert!(known.body["message"].is_string(), "{}", known.body);
    assert_eq!(unknown.body, known.body);

    let mail = smtp.next_mail().await;
    let to = header(&mail, "to").expect("To header");
    assert!(to.contains(&alice.email), "mail to {to}:\n{mail}");
    let code = code_of(&mail);
    assert_eq!(code.len(), 43, "{code}");
    smtp.expect_no_mail(Duration::from_secs(1)).await;
    assert_eq!(
        app.count("SELECT count(*) FROM password_resets").await,
        1,
        "one reset token, for alice only"
    );
}

#[tokio::test]
async fn a_reset_code_sets_the_new_password_once_and_revokes_every_session() {
    let (app, mut smtp) = spawn_with_smtp().await;
    let alice = app.register("alice").await;
    let other_device = app.login(&alice).await;
    let mut socket = other_device.connect().await;
    socket.next_event("presence_initial").await;

    assert_eq!(forgot(&app, &alice.email).await.status, 202);
    let code = code_of(&smtp.next_mail().await);

    // A weak new password is refused without spending the code.
    assert_invalid(&reset(&app, &code, "password123").await, "newPassword");
    assert_eq!(alice.get("/api/auth/me").await.status, 200);

    let done = reset(&app, &code, NEW_PASSWORD).await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert!(done.body["message"].is_string(), "{}", done.body);

    for session in [&alice, &other_device] {
        session
            .get("/api/auth/me")
            .await
            .assert_error(401, "unauthorized");
        app.post(
            "/api/auth/refresh",
            json!({"refreshToken": session.refresh_token}),
        )
        .await
        .assert_error(401, "unauthorized");
    }
    let revoked = socket.next_event("session_revoked").await;
    assert!(revoked.data["reason"].is_string(), "{}", revoked.data);
    assert!(socket.wait_disconnected().await, "socket still connected");

    login_with(&app, &alice, PASSWORD)
        .await
        .assert_error(401, "unauthorized");
    let login = login_with(&app, &alice, NEW_PASSWORD).await;
    assert_eq!(login.status, 200, "{}", login.body);

    // Single use; and nonsense is no code at all.
    reset(&app, &code, "yet another passphrase")
        .await
        .assert_error(400, "validation_failed");
    reset(&app, "garbage-token", "yet another passphrase")
        .await
        .assert_error(400, "validation_failed");
    reset(&app, "", "yet another passphrase")
        .await
        .assert_error(400, "validation_failed");
    assert_eq!(login_with(&app, &alice, NEW_PASSWORD).await.status, 200);
}

#[tokio::test]
async fn using_one_reset_code_spends_every_other_open_code_of_the_account() {
    let (app, mut smtp) = spawn_with_smtp().await;
    let alice = app.register("alice").await;
    assert_eq!(forgot(&app, &alice.email).await.status, 202);
    let first = code_of(&smtp.next_mail().await);
    assert_eq!(forgot(&app, &alice.email).await.status, 202);
    let second = code_of(&smtp.next_mail().await);
    assert_ne!(first, second);

    assert_eq!(reset(&app, &second, NEW_PASSWORD).await.status, 200);
    reset(&app, &first, "yet another passphrase")
        .await
        .assert_error(400, "validation_failed");
    assert_eq!(login_with(&app, &alice, NEW_PASSWORD).await.status, 200);
}

#[tokio::test]
async fn without_an_smtp_host_the_reset_mail_is_written_to_the_outbox() {
    let app = TestApp::spawn().await;
    assert!(app.config.mail.smtp_host.is_empty());
    let alice = app.register("alice").await;
    assert_eq!(forgot(&app, "nobody@example.com").await.status, 202);
    assert_eq!(forgot(&app, &alice.email).await.status, 202);

    let (files, mail) = outbox_mail(&app).await;
    assert_eq!(files, 1, "only the existing account gets a mail");
    let to = header(&mail, "to").expect("To header");
    assert!(to.contains(&alice.email), "mail to {to}:\n{mail}");

    let done = reset(&app, &code_of(&mail), NEW_PASSWORD).await;
    assert_eq!(done.status, 200, "{}", done.body);
    alice
        .get("/api/auth/me")
        .await
        .assert_error(401, "unauthorized");
    assert_eq!(login_with(&app, &alice, NEW_PASSWORD).await.status, 200);
}

#[tokio::test]
async fn an_expired_reset_code_is_refused() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    assert_eq!(forgot(&app, &alice.email).await.status, 202);
    let (_, mail) = outbox_mail(&app).await;
    let code = code_of(&mail);

    let aged = app
        .execute("UPDATE password_resets SET expires_at = 0")
        .await;
    assert_eq!(aged, 1);
    assert_invalid(&reset(&app, &code, NEW_PASSWORD).await, "token");

    assert_eq!(alice.get("/api/auth/me").await.status, 200);
    assert_eq!(login_with(&app, &alice, PASSWORD).await.status, 200);
    login_with(&app, &alice, NEW_PASSWORD)
        .await
        .assert_error(401, "unauthorized");
}

#[tokio::test]
async fn forgot_password_needs_a_valid_email_address() {
    let app = TestApp::spawn().await;
    assert_invalid(&forgot(&app, "not-an-email").await, "email");
    let missing = app.post("/api/auth/password/forgot", json!({})).await;
    assert_eq!(missing.status, 400, "{}", missing.body);
}
