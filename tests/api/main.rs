//! The integration suite: real servers on 127.0.0.1:0, a real HTTP client, a real Socket.IO
//! client. Runs on SQLite by default and on PostgreSQL with `TEST_DATABASE=postgres`.

mod helpers;
mod sio;

mod auth;
mod authz;
mod bad_input;
mod bench_smoke;
mod chats;
mod cli;
mod contacts;
mod durability;
mod files;
mod files_abuse;
mod health;
mod messages;
mod password_reset;
mod realtime;
mod snapshots;
mod users;
mod web;
