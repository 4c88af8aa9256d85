//! `idle`: ramp authenticated connections (one per user, source addresses over 127.0.0.x) and
//! report connects per second and the server's user-space and kernel memory per connection.

use std::time::Duration;

use serde_json::{Value, json};

use super::traffic::{Kind, auth, connect_all};
use super::{Outcome, Params};
use crate::Common;
use crate::fixture::Fixture;
use crate::report::{Table, f, median_of};
use crate::server::Memory;

pub async fn run(common: &Common, params: &Params, fixture: &Fixture) -> Outcome {
    let mut table = Table::new(
        format!("idle: {} authenticated connections", params.idle_conns),
        vec![
            "run",
            "connected",
            "failed",
            "connects/s",
            "ready ms",
            "idle RSS MiB",
            "RSS KiB/conn",
            "anon KiB/conn",
            "kernel TCP buf KiB/conn",
            "kernel slab KiB/conn",
            "generator KiB/conn",
        ],
    );
    let mut runs = Vec::new();
    let mut ok = true;
    for run in 0..common.runs {
        let server = fixture.start(&common.server_bin()?, common.pin()).await?;
        tokio::time::sleep(Duration::from_millis(500)).await;
        let before = server.memory();
        let own_before = Memory::of(std::process::id());
        let auths = (0..params.idle_conns)
            .map(|i| auth(Kind::Server, fixture, i % fixture.users.len(), None))
            .collect();
        let ramp = connect_all(server.addr, auths, true).await;
        tokio::time::sleep(Duration::from_secs(2)).await;
        let alive = ramp
            .conns
            .iter()
            .flatten()
            .filter(|c| c.is_connected())
            .count();
        let after = server.memory();
        let own_after = Memory::of(std::process::id());
        let n = alive.max(1) as f64;
        let per = |a: u64, b: u64| a.saturating_sub(b) as f64 / n;
        let result = json!({
            "connections": params.idle_conns,
            "connected": alive,
            "failed": ramp.failures,
            "first_error": ramp.first_error,
            "ramp_secs": ramp.secs,
            "connects_per_s": alive as f64 / ramp.secs,
            "server_ready_ms": server.ready_ms,
            "server_idle_rss_kib": before.rss_kib,
            "server_rss_kib": after.rss_kib,
            "rss_kib_per_conn": per(after.rss_kib, before.rss_kib),
            "rss_anon_kib_per_conn": per(after.rss_anon_kib, before.rss_anon_kib),
            // Loopback: both ends' sockets (server and generator) are in this figure.
            "kernel_tcp_kib_per_conn": per(after.tcp_mem_kib, before.tcp_mem_kib),
            "kernel_socket_slab_kib_per_conn": per(after.socket_slab_kib, before.socket_slab_kib),
            "tcp_sockets_added": after.tcp_inuse.saturating_sub(before.tcp_inuse),
            "generator_rss_kib_per_conn": per(own_after.rss_kib, own_before.rss_kib),
            "users_distinct": params.idle_conns.min(fixture.users.len()),
        });
        ok &= ramp.failures == 0 && alive == params.idle_conns;
        table.row(row(run, &result));
        runs.push(result);
        drop(ramp);
        server.stop().await;
    }
    let keys = [
        "connects_per_s",
        "server_ready_ms",
        "server_idle_rss_kib",
        "rss_kib_per_conn",
        "rss_anon_kib_per_conn",
        "kernel_tcp_kib_per_conn",
        "kernel_socket_slab_kib_per_conn",
        "generator_rss_kib_per_conn",
    ];
    let summary: serde_json::Map<String, Value> = keys
        .iter()
        .map(|k| ((*k).to_owned(), json!(median_of(&runs, k))))
        .collect();
    Ok((json!({"runs": runs, "summary": summary}), vec![table], ok))
}

fn row(run: usize, r: &Value) -> Vec<String> {
    let num = |k: &str| r[k].as_f64().unwrap_or(0.0);
    vec![
        (run + 1).to_string(),
        f(num("connected"), 0),
        f(num("failed"), 0),
        f(num("connects_per_s"), 0),
        f(num("server_ready_ms"), 0),
        f(num("server_idle_rss_kib") / 1024.0, 1),
        f(num("rss_kib_per_conn"), 1),
        f(num("rss_anon_kib_per_conn"), 1),
        f(num("kernel_tcp_kib_per_conn"), 1),
        f(num("kernel_socket_slab_kib_per_conn"), 1),
        f(num("generator_rss_kib_per_conn"), 1),
    ]
}
