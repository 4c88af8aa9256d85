//! The prepared world of a scale: users (registered through the API, argon2 and all), their
//! group chats and seeded history, kept in a data directory (and a PostgreSQL database) that is
//! reused across runs, because registering thousands of users takes minutes.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use anyhow::{Context, bail};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sqlx::Connection;

use crate::server::{ServerProc, Target};
use crate::{Common, Db};

const PASSWORD: &str = "correct horse battery staple";
const STATE_FILE: &str = "bench.json";

/// A registered user and a long-lived access token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct User {
    pub id: String,
    pub name: String,
    pub token: String,
}

/// A group chat; `members[0]` created it and is its sender in the profiles.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Group {
    pub chat_id: String,
    pub members: Vec<usize>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct State {
    users: Vec<User>,
    groups: Vec<Group>,
    /// Messages stored by the history profile's seeding.
    seeded: u64,
    /// Seconds spent registering users so far.
    register_secs: f64,
}

/// The prepared data directory and database of one scale.
pub struct Fixture {
    pub data_dir: PathBuf,
    pub database_url: Option<String>,
    pub users: Vec<User>,
    pub groups: Vec<Group>,
    pub seeded: u64,
    pub register_secs: f64,
    pg_temp: Option<String>,
    temp_dir: Option<PathBuf>,
}

/// How much of the world a profile needs.
pub struct Needs {
    pub users: usize,
    pub groups: usize,
    pub group_size: usize,
}

impl Fixture {
    /// Loads the prepared world of `common.scale`, registering and creating what is missing.
    /// `common.fresh` uses a temporary directory and database instead, removed afterwards.
    pub async fn prepare(common: &Common, needs: &Needs) -> anyhow::Result<Fixture> {
        let (data_dir, temp) = if common.fresh {
            let temp = std::env::temp_dir().join(format!("loadgen-{}", uuid::Uuid::now_v7()));
            (temp.clone(), Some(temp))
        } else {
            let dir =
                common
                    .work_dir()?
                    .join(format!("{}-{}", common.db.name(), common.scale.name()));
            (dir, None)
        };
        std::fs::create_dir_all(&data_dir)?;
        let (database_url, pg_temp) = match common.db {
            Db::Sqlite => (None, None),
            Db::Postgres => {
                let name = if common.fresh {
                    format!("letschat_bench_{}", uuid::Uuid::now_v7().simple())
                } else {
                    format!("letschat_bench_{}", common.scale.name())
                };
                let url = ensure_pg_database(&name).await?;
                (Some(url), common.fresh.then_some(name))
            }
        };
        let mut state: State = match std::fs::read(data_dir.join(STATE_FILE)) {
            Ok(bytes) => serde_json::from_slice(&bytes).context("reading bench.json")?,
            Err(_) => State::default(),
        };
        let mut fixture = Fixture {
            data_dir,
            database_url,
            users: Vec::new(),
            groups: Vec::new(),
            seeded: 0,
            register_secs: 0.0,
            pg_temp,
            temp_dir: temp,
        };
        if state.users.len() < needs.users || state.groups.len() < needs.groups {
            let server = fixture.start(&common.server_bin()?, false).await?;
            let api = Api::new(server.addr);
            if let Some(first) = state.users.first()
                && !api.token_works(&first.token).await
            {
                bail!(
                    "the prepared users in {} no longer match the database: delete that directory",
                    fixture.data_dir.display()
                );
            }
            let started = Instant::now();
            register_users(&api, &mut state, needs.users, &fixture.data_dir).await?;
            state.register_secs += started.elapsed().as_secs_f64();
            create_groups(&api, &mut state, needs, &fixture.data_dir).await?;
            server.stop().await;
        }
        fixture.users = state.users;
        fixture.groups = state.groups;
        fixture.seeded = state.seeded;
        fixture.register_secs = state.register_secs;
        Ok(fixture)
    }

    /// Starts the real server on this fixture.
    pub async fn start(&self, bin: &Path, pin: bool) -> anyhow::Result<ServerProc> {
        let target = Target::Letschat {
            bin,
            data_dir: &self.data_dir,
            database_url: self.database_url.as_deref(),
        };
        ServerProc::start(target, pin).await
    }

    /// Records how many history messages are now seeded.
    pub fn save_seeded(&mut self, seeded: u64) -> anyhow::Result<()> {
        self.seeded = seeded;
        let state = State {
            users: self.users.clone(),
            groups: self.groups.clone(),
            seeded,
            register_secs: self.register_secs,
        };
        save(&self.data_dir, &state)
    }

    /// Removes a temporary data directory and PostgreSQL database.
    pub async fn cleanup(mut self) {
        if let Some(dir) = self.temp_dir.take() {
            let _ = std::fs::remove_dir_all(dir);
        }
        if let Some(name) = self.pg_temp.take()
            && let Ok(mut conn) = sqlx::PgConnection::connect(&postgres_admin_url()).await
        {
            let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
            let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                .execute(&mut conn)
                .await;
            let _ = conn.close().await;
        }
    }
}

fn save(dir: &Path, state: &State) -> anyhow::Result<()> {
    let tmp = dir.join(format!("{STATE_FILE}.tmp"));
    std::fs::write(&tmp, serde_json::to_vec(state)?)?;
    std::fs::rename(tmp, dir.join(STATE_FILE))?;
    Ok(())
}

async fn register_users(
    api: &Api,
    state: &mut State,
    wanted: usize,
    dir: &Path,
) -> anyhow::Result<()> {
    let have = state.users.len();
    if have >= wanted {
        return Ok(());
    }
    eprintln!("registering users {have}..{wanted} (argon2: this takes a while)");
    let done = Arc::new(AtomicUsize::new(0));
    let mut results = futures_util::stream::iter(have..wanted)
        .map(|i| {
            let done = done.clone();
            async move {
                let user = api.register(&format!("lg_{i}")).await;
                let n = done.fetch_add(1, Ordering::Relaxed) + 1;
                if n.is_multiple_of(500) {
                    eprintln!("  {n} registered");
                }
                user
            }
        })
        .buffered(4);
    while let Some(user) = results.next().await {
        state.users.push(user?);
        if state.users.len().is_multiple_of(1000) {
            save(dir, state)?;
        }
    }
    save(dir, state)
}

async fn create_groups(
    api: &Api,
    state: &mut State,
    needs: &Needs,
    dir: &Path,
) -> anyhow::Result<()> {
    let have = state.groups.len();
    if have >= needs.groups {
        return Ok(());
    }
    if let Some(group) = state.groups.first()
        && group.members.len() != needs.group_size
    {
        bail!(
            "the prepared groups have another size: delete {}",
            dir.display()
        );
    }
    let users = &state.users;
    let mut results = futures_util::stream::iter(have..needs.groups)
        .map(|g| {
            let members: Vec<usize> = (g * needs.group_size..(g + 1) * needs.group_size).collect();
            async move {
                let creator = &users[members[0]];
                let others: Vec<&str> = members[1..].iter().map(|&m| &*users[m].id).collect();
                let body =
                    json!({"type": "group", "name": format!("bench {g}"), "memberIds": others});
                let chat = api.post(&creator.token, "/api/chats", body).await?;
                let chat_id = chat["id"].as_str().context("chat id")?.to_owned();
                anyhow::Ok(Group { chat_id, members })
            }
        })
        .buffered(8);
    let mut groups = Vec::new();
    while let Some(group) = results.next().await {
        groups.push(group?);
    }
    state.groups.extend(groups);
    save(dir, state)
}

/// A small REST client for the profiles.
#[derive(Clone)]
pub struct Api {
    client: reqwest::Client,
    base: String,
}

impl Api {
    pub fn new(addr: std::net::SocketAddr) -> Api {
        Api {
            client: reqwest::Client::new(),
            base: format!("http://{addr}"),
        }
    }

    async fn register(&self, name: &str) -> anyhow::Result<User> {
        let body = json!({"username": name, "email": format!("{name}@bench.example"), "password": PASSWORD});
        let resp = self
            .client
            .post(format!("{}/api/auth/register", self.base))
            .json(&body)
            .send()
            .await?;
        let resp = if resp.status().as_u16() == 409 {
            // Registered by an earlier, interrupted preparation: sign in instead.
            let body = json!({"login": name, "password": PASSWORD});
            self.client
                .post(format!("{}/api/auth/login", self.base))
                .json(&body)
                .send()
                .await?
        } else {
            resp
        };
        let status = resp.status();
        let body: Value = resp.json().await?;
        if !status.is_success() {
            bail!("register {name}: {status} {body}");
        }
        Ok(User {
            id: body["user"]["id"].as_str().context("user id")?.to_owned(),
            name: name.to_owned(),
            token: body["accessToken"].as_str().context("token")?.to_owned(),
        })
    }

    async fn token_works(&self, token: &str) -> bool {
        self.get(token, "/api/auth/me").await.is_ok()
    }

    /// A GET with a bearer token; errors on a non-2xx status.
    pub async fn get(&self, token: &str, path: &str) -> anyhow::Result<Value> {
        let resp = self
            .client
            .get(format!("{}{path}", self.base))
            .bearer_auth(token)
            .send()
            .await?;
        decode(resp, path).await
    }

    /// A POST of JSON with a bearer token; errors on a non-2xx status.
    pub async fn post(&self, token: &str, path: &str, body: Value) -> anyhow::Result<Value> {
        let resp = self
            .client
            .post(format!("{}{path}", self.base))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await?;
        decode(resp, path).await
    }
}

async fn decode(resp: reqwest::Response, path: &str) -> anyhow::Result<Value> {
    let status = resp.status();
    let body: Value = resp.json().await.unwrap_or(Value::Null);
    if !status.is_success() {
        bail!("{path}: {status} {body}");
    }
    Ok(body)
}

pub fn postgres_admin_url() -> String {
    std::env::var("TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// Creates the database if it does not exist; returns its URL.
async fn ensure_pg_database(name: &str) -> anyhow::Result<String> {
    let admin = postgres_admin_url();
    let mut conn = sqlx::PgConnection::connect(&admin)
        .await
        .context("PostgreSQL reachable (TEST_POSTGRES_URL)")?;
    let exists: Option<(i32,)> = sqlx::query_as("SELECT 1 FROM pg_database WHERE datname = $1")
        .bind(name)
        .fetch_optional(&mut conn)
        .await?;
    if exists.is_none() {
        let sql = format!("CREATE DATABASE {name}");
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
            .execute(&mut conn)
            .await?;
    }
    let _ = conn.close().await;
    let base = admin.rsplit_once('/').map(|(b, _)| b).unwrap_or(&admin);
    Ok(format!("{base}/{name}"))
}
