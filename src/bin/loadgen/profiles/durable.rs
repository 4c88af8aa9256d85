//! `durable`: senders only (recipients offline), at a ladder of total send rates; each ack comes
//! after the commit, so acked messages per second is the persisted rate. Each run first sends the
//! same ladder to the bare relay, which acks at once: the library's own ceiling for acked sends
//! on this machine, so the server is also reported as a ratio of it.

use std::collections::HashSet;

use serde_json::{Value, json};

use super::groups::name;
use super::traffic::{GroupConns, Kind, count_step, drain, send_at_rate, step_secs};
use super::{Outcome, Params};
use crate::Common;
use crate::fixture::{Api, Fixture, Group};
use crate::report::{Table, f, median};
use crate::server::{ServerProc, Target, own_cpu_us};

pub async fn run(common: &Common, params: &Params, fixture: &Fixture) -> Outcome {
    let senders = params.durable_senders.min(fixture.groups.len());
    let mut table = Table::new(
        format!(
            "durable ({}): {senders} senders, acks after commit (relay: acks at once)",
            common.db.name()
        ),
        vec![
            "run",
            "target",
            "offered msg/s",
            "sent",
            "acked",
            "errors",
            "unacked",
            "acked msg/s",
            "ack p50 ms",
            "ack p99 ms",
            "ack max ms",
            "cpu µs/msg",
            "writes/commit",
        ],
    );
    let groups = &fixture.groups[..senders];
    let mut runs = Vec::new();
    let mut ok = true;
    for run in 0..common.runs {
        let mut by_target = serde_json::Map::new();
        for kind in [Kind::Relay, Kind::Server] {
            let (steps, clean) = ladder(common, params, fixture, groups, kind).await?;
            ok &= clean;
            for step in &steps {
                table.row(row(run, kind, step));
            }
            by_target.insert(name(kind).into(), json!({ "steps": steps }));
        }
        let top = |t: &str| top_rate(&by_target[t]["steps"]);
        let (relay, server) = (top("relay"), top("server"));
        by_target.insert(
            "server_to_relay_ratio".into(),
            json!((relay > 0.0).then(|| server / relay)),
        );
        runs.push(Value::Object(by_target));
    }
    let summary = summarize(params, &runs);
    let mut sum_table = Table::new(
        format!(
            "durable summary: medians of {} runs; top = most acked msg/s of any rung",
            common.runs
        ),
        vec!["relay top msg/s", "server top msg/s", "server / relay"],
    );
    sum_table.row(vec![
        f(summary["relay_top"].as_f64().unwrap_or(0.0), 0),
        f(summary["server_top"].as_f64().unwrap_or(0.0), 0),
        f(summary["server_to_relay_ratio"].as_f64().unwrap_or(0.0), 3),
    ]);
    Ok((
        json!({"runs": runs, "summary": summary}),
        vec![table, sum_table],
        ok,
    ))
}

/// The most acked messages per second of any rung.
fn top_rate(steps: &Value) -> f64 {
    steps
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s["persisted_per_s"].as_f64())
        .fold(0.0, f64::max)
}

/// Runs the rate ladder against a fresh process of `kind`: the server (acks after commit) or
/// the bare relay (acks at once: what the library alone costs per acked send on this machine).
/// Returns the steps and whether every send was answered without an error.
async fn ladder(
    common: &Common,
    params: &Params,
    fixture: &Fixture,
    groups: &[Group],
    kind: Kind,
) -> anyhow::Result<(Vec<Value>, bool)> {
    let server = match kind {
        Kind::Server => fixture.start(&common.server_bin()?, common.pin()).await?,
        _ => ServerProc::start(Target::Relay, common.pin()).await?,
    };
    if kind == Kind::Server {
        // Earlier runs leave messages waiting for the search index, which the server indexes
        // while idle; a search first indexes them all, so no rung pays for an earlier one.
        let token = &fixture.users[groups[0].members[0]].token;
        let _ = Api::new(server.addr)
            .get(token, "/api/messages/search?q=ka&limit=1")
            .await;
    }
    let offline: HashSet<usize> = groups.iter().flat_map(|g| g.members.clone()).collect();
    let senders = groups.len();
    let conns = GroupConns::connect(kind, server.addr, fixture, groups, true).await?;
    let mut steps = Vec::new();
    let mut clean = conns.failures == 0;
    for (i, &total) in params.durable_ladder.iter().enumerate() {
        let step = i as u16 + 1;
        let cpu_before = server.cpu_us();
        let commits_before = server.commits().await;
        let started = std::time::Instant::now();
        let own_before = own_cpu_us();
        let sent = send_at_rate(
            &conns,
            step,
            total / senders as f64,
            params.step_secs,
            params.pad,
        )
        .await;
        drain(&conns).await;
        let cpu = server.cpu_us().saturating_sub(cpu_before);
        let own_cpu = own_cpu_us().saturating_sub(own_before);
        let commits = server.commits().await.since(commits_before);
        let count = count_step(&conns, step, sent, &offline);
        // Sending starts 50 ms after `started` (see send_at_rate).
        let secs = step_secs(&count, started, params.step_secs + 0.05) - 0.05;
        clean &= count.ack_errors == 0;
        let saturated = count.unacked > 0 || count.ack_latency.p99_ms > 1000.0;
        let per_message = |us: u64| {
            if count.acked_ok > 0 {
                us as f64 / count.acked_ok as f64
            } else {
                0.0
            }
        };
        steps.push(json!({
            "offered_messages_per_s": total,
            "sent": count.sent,
            "acked": count.acked_ok,
            "ack_errors": count.ack_errors,
            "unacked": count.unacked,
            "persisted_per_s": count.acked_ok as f64 / secs,
            "secs_to_last_ack": secs,
            "ack_latency_ms": count.ack_latency,
            "server_cpu_us": cpu,
            "saturated": saturated,
            "cpu_us_per_message": per_message(cpu),
            "generator_cpu_us_per_message": per_message(own_cpu),
            "writes_per_commit": commits.writes_per_commit(),
        }));
        if saturated {
            // Higher rungs would only measure the backlog of this one.
            break;
        }
    }
    drop(conns);
    server.stop().await;
    Ok((steps, clean))
}

fn summarize(params: &Params, runs: &[Value]) -> Value {
    let pick = |get: &dyn Fn(&Value) -> Option<f64>| {
        median(&runs.iter().filter_map(get).collect::<Vec<_>>())
    };
    let rungs: Vec<Value> = params
        .durable_ladder
        .iter()
        .enumerate()
        .map(|(i, &total)| {
            let at = |field: &'static str, sub: Option<&'static str>| {
                pick(&move |r: &Value| {
                    let step = &r["server"]["steps"][i];
                    match sub {
                        Some(sub) => step[field][sub].as_f64(),
                        None => step[field].as_f64(),
                    }
                })
            };
            json!({
                "offered_messages_per_s": total,
                "persisted_per_s": at("persisted_per_s", None),
                "ack_p50_ms": at("ack_latency_ms", Some("p50_ms")),
                "ack_p99_ms": at("ack_latency_ms", Some("p99_ms")),
            })
        })
        .collect();
    json!({
        "server": rungs,
        "relay_top": pick(&|r| Some(top_rate(&r["relay"]["steps"]))),
        "server_top": pick(&|r| Some(top_rate(&r["server"]["steps"]))),
        "server_to_relay_ratio": pick(&|r| r["server_to_relay_ratio"].as_f64()),
    })
}

fn row(run: usize, kind: Kind, r: &Value) -> Vec<String> {
    let num = |k: &str| r[k].as_f64().unwrap_or(0.0);
    let ack = |k: &str| r["ack_latency_ms"][k].as_f64().unwrap_or(0.0);
    vec![
        (run + 1).to_string(),
        name(kind).into(),
        f(num("offered_messages_per_s"), 0),
        f(num("sent"), 0),
        f(num("acked"), 0),
        f(num("ack_errors"), 0),
        f(num("unacked"), 0),
        f(num("persisted_per_s"), 0),
        f(ack("p50_ms"), 2),
        f(ack("p99_ms"), 2),
        f(ack("max_ms"), 2),
        f(num("cpu_us_per_message"), 1),
        f(num("writes_per_commit"), 1),
    ]
}
