//! The command line, run as the real binary against the test's database.

use std::process::Command;

use crate::helpers::{PASSWORD, TestApp};

fn letschat(app: &TestApp, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_letschat"))
        .args(args)
        .arg("--data-dir")
        .arg(&app.config.storage.data_dir)
        .arg("--database-url")
        .arg(app.config.database_url())
        .env("LETSCHAT_LOG", "warn")
        .output()
        .expect("the binary runs")
}

#[tokio::test]
async fn admin_create_makes_an_admin_who_can_sign_in_and_promote_upgrades_a_user() {
    let app = TestApp::spawn().await;
    let out = letschat(
        &app,
        &[
            "admin",
            "create",
            "--username",
            "root_admin",
            "--email",
            "root@example.com",
            "--password",
            PASSWORD,
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let login = app
        .post(
            "/api/auth/login",
            serde_json::json!({"login": "root_admin", "password": PASSWORD}),
        )
        .await;
    assert_eq!(login.status, 200, "{}", login.body);
    assert_eq!(login.body["user"]["role"], "admin");

    let bob = app.register("bob").await;
    let out = letschat(&app, &["admin", "promote", "bob"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(bob.get("/api/auth/me").await.body["user"]["role"], "admin");

    let weak = letschat(
        &app,
        &[
            "admin",
            "create",
            "--username",
            "weak",
            "--email",
            "weak@example.com",
            "--password",
            "password",
        ],
    );
    assert!(!weak.status.success(), "a common password must be refused");
}

#[tokio::test]
async fn config_show_prints_the_effective_settings_with_secrets_redacted() {
    let app = TestApp::spawn().await;
    let out = Command::new(env!("CARGO_BIN_EXE_letschat"))
        .args(["config", "show", "--bind", "127.0.0.1:6123"])
        .env("LETSCHAT_AUTH__JWT_SECRET", "very-secret-value")
        .env("LETSCHAT_RATE_LIMIT__REQUESTS_PER_MINUTE", "42")
        .env("LETSCHAT_STORAGE__DATA_DIR", &app.config.storage.data_dir)
        .output()
        .expect("the binary runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("127.0.0.1:6123"), "CLI flag wins: {text}");
    assert!(
        text.contains("requests_per_minute = 42"),
        "env applies: {text}"
    );
    assert!(text.contains("[redacted]"));
    assert!(!text.contains("very-secret-value"));
}

#[tokio::test]
async fn migrate_is_idempotent_and_help_lists_every_command() {
    let app = TestApp::spawn().await;
    let out = letschat(&app, &["migrate"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let help = Command::new(env!("CARGO_BIN_EXE_letschat"))
        .arg("--help")
        .output()
        .expect("runs");
    let text = String::from_utf8_lossy(&help.stdout);
    for command in ["serve", "migrate", "admin", "config"] {
        assert!(text.contains(command), "--help lacks {command}");
    }
}

#[tokio::test]
async fn sigterm_stops_the_server_gracefully() {
    let app = TestApp::spawn().await;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("port");
    let mut child = Command::new(env!("CARGO_BIN_EXE_letschat"))
        .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
        .arg("--data-dir")
        .arg(&app.config.storage.data_dir)
        .arg("--database-url")
        .arg(app.config.database_url())
        .env("LETSCHAT_LOG", "warn")
        .spawn()
        .expect("starts");
    letschat::app::install_crypto_provider();
    let client = reqwest::Client::new();
    let mut ready = false;
    for _ in 0..200 {
        if let Ok(resp) = client
            .get(format!("http://127.0.0.1:{port}/health"))
            .send()
            .await
            && resp.status().is_success()
        {
            ready = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(ready, "server became ready");
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(killed.success());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "server did not stop within 10 s of SIGTERM"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert!(status.success(), "exited cleanly: {status:?}");
}
