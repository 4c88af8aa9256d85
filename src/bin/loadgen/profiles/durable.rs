//! `durable`: senders only (recipients offline), at a ladder of total send rates; each ack comes
//! after the commit, so acked messages per second is the persisted rate.

use std::collections::HashSet;

use serde_json::{Value, json};

use super::traffic::{GroupConns, Kind, count_step, drain, send_at_rate, step_secs};
use super::{Outcome, Params};
use crate::Common;
use crate::fixture::Fixture;
use crate::report::{Table, f, median};

pub async fn run(common: &Common, params: &Params, fixture: &Fixture) -> Outcome {
    let senders = params.durable_senders.min(fixture.groups.len());
    let mut table = Table::new(
        format!(
            "durable ({}): {senders} senders, acks after commit",
            common.db.name()
        ),
        vec![
            "run",
            "offered msg/s",
            "sent",
            "acked",
            "errors",
            "unacked",
            "persisted msg/s",
            "ack p50 ms",
            "ack p99 ms",
            "ack max ms",
            "cpu µs/msg",
            "writes/commit",
        ],
    );
    let groups = &fixture.groups[..senders];
    let offline: HashSet<usize> = groups.iter().flat_map(|g| g.members.clone()).collect();
    let mut runs = Vec::new();
    let mut ok = true;
    for run in 0..common.runs {
        let server = fixture.start(&common.server_bin()?, common.pin()).await?;
        let conns = GroupConns::connect(Kind::Server, server.addr, fixture, groups, true).await?;
        let mut steps = Vec::new();
        for (i, &total) in params.durable_ladder.iter().enumerate() {
            let step = i as u16 + 1;
            let cpu_before = server.cpu_us();
            let commits_before = server.counter("db_group_commits_total").await;
            let writes_before = server.counter("db_group_commit_writes_total").await;
            let started = std::time::Instant::now();
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
            let commits = server.counter("db_group_commits_total").await - commits_before;
            let writes = server.counter("db_group_commit_writes_total").await - writes_before;
            let count = count_step(&conns, step, sent, &offline);
            // Sending starts 50 ms after `started` (see send_at_rate).
            let secs = step_secs(&count, started, params.step_secs + 0.05) - 0.05;
            ok &= count.ack_errors == 0;
            let saturated = count.unacked > 0 || count.ack_latency.p99_ms > 1000.0;
            let result = json!({
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
                "cpu_us_per_message": if count.acked_ok > 0 { cpu as f64 / count.acked_ok as f64 } else { 0.0 },
                "writes_per_commit": if commits > 0.0 { writes / commits } else { 0.0 },
            });
            table.row(row(run, &result));
            steps.push(result);
            if saturated {
                // Higher rungs would only measure the backlog of this one.
                break;
            }
        }
        runs.push(json!({"steps": steps}));
        drop(conns);
        server.stop().await;
    }
    let summary: Vec<Value> = params
        .durable_ladder
        .iter()
        .enumerate()
        .map(|(i, &total)| {
            let pick = |get: &dyn Fn(&Value) -> Option<f64>| {
                median(
                    &runs
                        .iter()
                        .filter_map(|r| get(&r["steps"][i]))
                        .collect::<Vec<_>>(),
                )
            };
            json!({
                "offered_messages_per_s": total,
                "persisted_per_s": pick(&|s| s["persisted_per_s"].as_f64()),
                "ack_p50_ms": pick(&|s| s["ack_latency_ms"]["p50_ms"].as_f64()),
                "ack_p99_ms": pick(&|s| s["ack_latency_ms"]["p99_ms"].as_f64()),
            })
        })
        .collect();
    Ok((json!({"runs": runs, "summary": summary}), vec![table], ok))
}

fn row(run: usize, r: &Value) -> Vec<String> {
    let num = |k: &str| r[k].as_f64().unwrap_or(0.0);
    let ack = |k: &str| r["ack_latency_ms"][k].as_f64().unwrap_or(0.0);
    vec![
        (run + 1).to_string(),
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
