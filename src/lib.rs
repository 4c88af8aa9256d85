//! letschat: a self-hostable messaging server. One binary serves the REST API, the Socket.IO
//! endpoint and (later) the web client, on SQLite by default or PostgreSQL.
//!
//! A tour, in the order a request travels:
//!
//! - [`cli`]: the command line (`serve`, `migrate`, `admin`, `config show`); `main` only calls it.
//! - [`config`]: one typed `Config`, layered defaults → TOML → `LETSCHAT_*` env → flags.
//! - [`app`]: builds the [`app::AppState`] from a config and serves on a given listener.
//! - [`http`]: the route table, extractors and middleware; one file per resource.
//! - [`realtime`]: Socket.IO handshake, the event table, presence, and the [`realtime::Notifier`]
//!   through which every event leaves.
//! - [`service`]: the use cases shared by HTTP and sockets: authorize, validate, persist, notify.
//! - [`store`]: the only place with SQL, over SQLite or PostgreSQL.
//! - [`files`]: blob storage (local disk or S3-compatible) and the pure parts of handling an
//!   upload: sniffing its type, processing images, signing download URLs.
//! - [`domain`]: pure types and rules (ids, times, usernames, passwords).
//! - [`wire`]: the JSON objects of the contract.
//! - [`error`]: the one error type and its mapping to status codes.
//! - [`mail`]: outgoing mail over SMTP, or into the outbox folder.

pub mod app;
pub mod cli;
pub mod config;
pub mod domain;
pub mod error;
pub mod files;
pub mod http;
pub mod mail;
pub mod realtime;
pub mod service;
pub mod store;
pub mod wire;
