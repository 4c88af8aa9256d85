//! Durable before acknowledged: the real binary is killed with SIGKILL while clients send, and
//! every message that was acknowledged must be stored exactly once, in order per sender.

use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::{
    PASSWORD, create_pg_database, drop_pg_database, on_postgres, postgres_admin_url,
};

/// The database of one test: a SQLite file in a temp dir, or a fresh PostgreSQL database.
pub(crate) struct TestDatabase {
    dir: tempfile::TempDir,
    url: String,
    pg_name: Option<String>,
}

impl TestDatabase {
    pub(crate) async fn new() -> TestDatabase {
        let dir = tempfile::tempdir().expect("tempdir");
        if on_postgres() {
            let name = format!("letschat_test_{}", uuid::Uuid::new_v4().simple());
            create_pg_database(&name).await;
            let base = postgres_admin_url();
            let url = format!(
                "{}/{name}",
                base.rsplit_once('/').map(|(b, _)| b).unwrap_or(&base)
            );
            return TestDatabase {
                dir,
                url,
                pg_name: Some(name),
            };
        }
        let url = format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("letschat.db").display()
        );
        TestDatabase {
            dir,
            url,
            pg_name: None,
        }
    }

    pub(crate) async fn drop_database(&mut self) {
        if let Some(name) = self.pg_name.take() {
            drop_pg_database(&name).await;
        }
    }
}

/// The real `letschat` binary as a child process on a fixed port.
pub(crate) struct ServerProcess {
    child: Option<Child>,
    port: u16,
}

impl ServerProcess {
    pub(crate) async fn start(db: &TestDatabase, port: u16) -> ServerProcess {
        let child = Command::new(env!("CARGO_BIN_EXE_letschat"))
            .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
            .arg("--data-dir")
            .arg(db.dir.path())
            .arg("--database-url")
            .arg(&db.url)
            .env("LETSCHAT_LOG", "warn")
            .env("LETSCHAT_RATE_LIMIT__REQUESTS_PER_MINUTE", "0")
            .env("LETSCHAT_RATE_LIMIT__AUTH_REQUESTS_PER_MINUTE", "0")
            .env("LETSCHAT_MESSAGES__SENDS_PER_MINUTE", "0")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("the binary starts");
        let server = ServerProcess {
            child: Some(child),
            port,
        };
        server.wait_ready().await;
        server
    }

    async fn wait_ready(&self) {
        letschat::app::install_crypto_provider();
        let client = reqwest::Client::new();
        let url = format!("http://127.0.0.1:{}/health", self.port);
        for _ in 0..200 {
            if let Ok(resp) = client.get(&url).send().await
                && resp.status().is_success()
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("server did not become ready within 10 s");
    }

    pub(crate) fn port(&self) -> u16 {
        self.port
    }

    /// The process id, to read its memory use from /proc.
    pub(crate) fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// SIGKILL: no shutdown handler runs, nothing is flushed.
    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A free port for a server that is restarted on the same port. It is taken below the kernel's
/// ephemeral range (32768 and up here), where neither an outgoing connection nor a `bind` to port
/// 0 by another test running alongside can take it while the server is down between a kill and
/// its restart (that race once left a restart unable to listen).
pub(crate) fn free_port() -> u16 {
    for _ in 0..1000 {
        let port = rand::random_range(20_000..32_000);
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free port below the ephemeral range");
}

async fn call(
    client: &reqwest::Client,
    url: String,
    token: Option<&str>,
    body: Value,
) -> Option<(u16, Value)> {
    let mut request = client.post(url).json(&body).timeout(Duration::from_secs(5));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.ok()?;
    let status = response.status().as_u16();
    let body = response.json::<Value>().await.ok()?;
    Some((status, body))
}

/// The (clientId, message id) pairs a sender got acknowledged, in order.
type Acked = Arc<Mutex<Vec<(String, String)>>>;

/// Sends `count` messages one after the other, each retried until acknowledged.
async fn send_all(
    base: String,
    token: String,
    chat: String,
    sender: String,
    count: usize,
    acked: Acked,
) {
    letschat::app::install_crypto_provider();
    let client = reqwest::Client::new();
    for i in 0..count {
        let client_id = format!("{sender}-{i:03}");
        let body = json!({"content": format!("message {i} from {sender}"), "clientId": client_id});
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            assert!(
                tokio::time::Instant::now() < deadline,
                "{client_id} never acknowledged"
            );
            let url = format!("{base}/api/chats/{chat}/messages");
            match call(&client, url, Some(&token), body.clone()).await {
                Some((201 | 200, message)) => {
                    let id = message["id"].as_str().expect("message id").to_owned();
                    acked.lock().expect("lock").push((client_id.clone(), id));
                    break;
                }
                Some((status, body)) if status < 500 => panic!("{client_id}: {status} {body}"),
                _ => tokio::time::sleep(Duration::from_millis(20)).await,
            }
        }
    }
}

#[tokio::test]
async fn every_acknowledged_message_survives_repeated_sigkills_exactly_once_and_in_order() {
    let mut db = TestDatabase::new().await;
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut server = ServerProcess::start(&db, port).await;
    letschat::app::install_crypto_provider();
    let client = reqwest::Client::new();

    let mut tokens = Vec::new();
    let mut ids = Vec::new();
    for name in ["alice", "bob", "carol"] {
        let body =
            json!({"username": name, "email": format!("{name}@example.com"), "password": PASSWORD});
        let (status, auth) = call(&client, format!("{base}/api/auth/register"), None, body)
            .await
            .expect("register");
        assert_eq!(status, 201, "{auth}");
        tokens.push(auth["accessToken"].as_str().expect("token").to_owned());
        ids.push(auth["user"]["id"].as_str().expect("id").to_owned());
    }
    let body = json!({"type": "group", "name": "durable", "memberIds": [ids[1], ids[2]]});
    let (status, chat) = call(&client, format!("{base}/api/chats"), Some(&tokens[0]), body)
        .await
        .expect("chat");
    assert_eq!(status, 201, "{chat}");
    let chat_id = chat["id"].as_str().expect("chat id").to_owned();

    const PER_SENDER: usize = 40;
    let acked: Vec<Acked> = (0..3).map(|_| Arc::default()).collect();
    let senders: Vec<_> = ["alice", "bob", "carol"]
        .iter()
        .enumerate()
        .map(|(i, name)| {
            tokio::spawn(send_all(
                base.clone(),
                tokens[i].clone(),
                chat_id.clone(),
                name.to_string(),
                PER_SENDER,
                acked[i].clone(),
            ))
        })
        .collect();

    for _ in 0..4 {
        tokio::time::sleep(Duration::from_millis(250)).await;
        server.kill();
        tokio::time::sleep(Duration::from_millis(50)).await;
        server = ServerProcess::start(&db, port).await;
    }
    for sender in senders {
        tokio::time::timeout(Duration::from_secs(120), sender)
            .await
            .expect("senders finish")
            .expect("sender ok");
    }
    // One last kill after everything was acknowledged, then read back from a fresh process.
    server.kill();
    let server = ServerProcess::start(&db, port).await;

    let mut stored: Vec<Value> = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut url = format!("{base}/api/chats/{chat_id}/messages?limit=100");
        if let Some(c) = &cursor {
            url.push_str(&format!("&cursor={c}"));
        }
        let page: Value = client
            .get(url)
            .bearer_auth(&tokens[0])
            .send()
            .await
            .expect("history")
            .json()
            .await
            .expect("json");
        stored.extend(
            page["messages"]
                .as_array()
                .expect("messages")
                .iter()
                .cloned(),
        );
        match page["nextCursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    stored.reverse(); // oldest first
    let mut by_client_id: HashMap<String, usize> = HashMap::new();
    for message in &stored {
        if let Some(client_id) = message["clientId"].as_str() {
            *by_client_id.entry(client_id.to_owned()).or_default() += 1;
        }
    }
    for (i, name) in ["alice", "bob", "carol"].iter().enumerate() {
        let acked = acked[i].lock().expect("lock").clone();
        assert_eq!(
            acked.len(),
            PER_SENDER,
            "{name} got every send acknowledged"
        );
        for (client_id, id) in &acked {
            assert_eq!(
                by_client_id.get(client_id),
                Some(&1),
                "{client_id} stored exactly once"
            );
            assert!(
                stored.iter().any(|m| m["id"] == id.as_str()),
                "acked id {id} of {client_id} is stored"
            );
        }
        let order: Vec<&str> = stored
            .iter()
            .filter_map(|m| m["clientId"].as_str())
            .filter(|c| c.starts_with(&format!("{name}-")))
            .collect();
        let mut sorted = order.clone();
        sorted.sort();
        assert_eq!(
            order, sorted,
            "{name}'s messages are stored in the order they were sent"
        );
    }
    drop(server);
    db.drop_database().await;
}
