//! `groups` (and `baseline`): every member of every group connected, one sender per group at a
//! rate ladder; end-to-end latency, deliveries per second, losses and server CPU per delivery.
//! Each run measures the bare relay first, then the relay doing the contract's receipt traffic
//! (every recipient acks, every ack sends the sender a `message_delivered`), then the real server
//! on the same workload, so the server is reported as a ratio of the library's own ceiling on
//! this machine, and that ceiling's share left once the contract's frames alone are paid.

use std::collections::HashSet;

use serde_json::{Value, json};

use super::traffic::{GroupConns, Kind, count_step, drain, send_at_rate, step_secs};
use super::{Outcome, Params};
use crate::Common;
use crate::fixture::Fixture;
use crate::report::{Table, f, median};
use crate::server::{ServerProc, Target, own_cpu_us};

/// The latency bound of the capacity figure.
const P99_BOUND_MS: f64 = 50.0;
/// A rung whose p99 passes this, or that leaves sends unacked, ends the ladder.
const SATURATED_P99_MS: f64 = 1000.0;

pub async fn run(
    common: &Common,
    params: &Params,
    fixture: &Fixture,
    with_server: bool,
) -> Outcome {
    let mut table = Table::new(
        format!(
            "groups: {} groups of {}, one sender each",
            params.groups, params.group_size
        ),
        vec![
            "run",
            "target",
            "msg/s/sender",
            "sent",
            "acked",
            "delivered",
            "lost",
            "deliveries/s",
            "p50 ms",
            "p90 ms",
            "p99 ms",
            "max ms",
            "cpu µs/delivery",
            "commits/s",
        ],
    );
    let mut runs = Vec::new();
    let mut ok = true;
    for run in 0..common.runs {
        let mut by_target = serde_json::Map::new();
        let mut capacity = Vec::new();
        for kind in targets(with_server, common.server_only) {
            let (steps, cap, clean) = ladder(common, params, fixture, kind).await?;
            ok &= clean;
            for step in &steps {
                table.row(row(run, kind, step));
            }
            capacity.push((kind, cap));
            by_target.insert(
                name(kind).into(),
                json!({"steps": steps, "capacity_deliveries_per_s": cap}),
            );
        }
        let ratio = |of: Kind, to: Kind| {
            let cap = |kind| capacity.iter().find(|(k, _)| *k == kind).map(|(_, c)| *c);
            cap(of)
                .zip(cap(to).filter(|c| *c > 0.0))
                .map(|(of, to)| of / to)
        };
        by_target.insert(
            "receipts_relay_to_relay_capacity_ratio".into(),
            json!(ratio(Kind::RelayReceipts, Kind::Relay)),
        );
        by_target.insert(
            "server_to_relay_capacity_ratio".into(),
            json!(ratio(Kind::Server, Kind::Relay)),
        );
        by_target.insert(
            "server_to_receipts_relay_capacity_ratio".into(),
            json!(ratio(Kind::Server, Kind::RelayReceipts)),
        );
        runs.push(Value::Object(by_target));
    }
    let summary = summarize(&runs);
    let mut sum_table = Table::new(
        format!(
            "groups summary: medians of {} runs; capacity = most deliveries/s with p99 ≤ {P99_BOUND_MS} ms and no loss",
            common.runs
        ),
        vec![
            "relay capacity/s",
            "relay+receipts capacity/s",
            "server capacity/s",
            "relay+receipts / relay",
            "server / relay",
            "server / relay+receipts",
        ],
    );
    let num = |k: &str, digits| f(summary[k].as_f64().unwrap_or(0.0), digits);
    sum_table.row(vec![
        num("relay_capacity", 0),
        num("receipts_relay_capacity", 0),
        num("server_capacity", 0),
        num("receipts_relay_ratio", 3),
        num("ratio", 3),
        num("server_to_receipts_relay_ratio", 3),
    ]);
    Ok((
        json!({"runs": runs, "summary": summary}),
        vec![table, sum_table],
        ok,
    ))
}

/// What a run measures: the two relays, then the server (`groups`), or the server alone
/// (`groups --server-only`, to compare builds of the server without the relays' minutes).
fn targets(with_server: bool, server_only: bool) -> Vec<Kind> {
    let mut targets = Vec::new();
    if !(with_server && server_only) {
        targets.extend([Kind::Relay, Kind::RelayReceipts]);
    }
    if with_server {
        targets.push(Kind::Server);
    }
    targets
}

/// A target's name in reports.
pub(super) fn name(kind: Kind) -> &'static str {
    match kind {
        Kind::Server => "server",
        Kind::Relay => "relay",
        Kind::RelayReceipts => "relay_receipts",
    }
}

/// Runs the rate ladder against a fresh process of `kind`; returns the steps, the capacity and
/// whether nothing was lost.
async fn ladder(
    common: &Common,
    params: &Params,
    fixture: &Fixture,
    kind: Kind,
) -> anyhow::Result<(Vec<Value>, f64, bool)> {
    let server = match kind {
        Kind::Server => fixture.start(&common.server_bin()?, common.pin()).await?,
        Kind::Relay | Kind::RelayReceipts => ServerProc::start(Target::Relay, common.pin()).await?,
    };
    let groups = &fixture.groups[..params.groups];
    let conns = GroupConns::connect(kind, server.addr, fixture, groups, false).await?;
    let mut steps = Vec::new();
    let mut capacity: f64 = 0.0;
    let mut clean = conns.failures == 0;
    for (i, &rate) in params.ladder.iter().enumerate() {
        let step = i as u16 + 1;
        let cpu_before = server.cpu_us();
        let commits_before = server.commits().await;
        let started = std::time::Instant::now();
        let own_before = own_cpu_us();
        let sent = send_at_rate(&conns, step, rate, params.step_secs, params.pad).await;
        drain(&conns).await;
        let cpu = server.cpu_us().saturating_sub(cpu_before);
        let commits = server.commits().await.since(commits_before);
        let own_cpu = own_cpu_us().saturating_sub(own_before);
        let count = count_step(&conns, step, sent, &HashSet::new());
        // Sending starts 50 ms after `started` (see send_at_rate).
        let secs = step_secs(&count, started, params.step_secs + 0.05) - 0.05;
        let per_s = count.delivered as f64 / secs;
        // Lost: an acked message that a connected member never received. Unacked sends are
        // saturation (the server fell behind), reported but not counted as loss.
        clean &= count.lost == 0 && count.ack_errors == 0 && count.duplicates == 0;
        let lossless = count.lost == 0 && count.unacked == 0 && count.ack_errors == 0;
        if lossless && count.latency.p99_ms <= P99_BOUND_MS {
            capacity = capacity.max(per_s);
        }
        let saturated = count.unacked > 0 || count.latency.p99_ms > SATURATED_P99_MS;
        steps.push(json!({
            "rate_per_sender": rate,
            "offered_messages_per_s": rate * conns.groups.len() as f64,
            "sent": count.sent,
            "acked": count.acked_ok,
            "ack_errors": count.ack_errors,
            "unacked": count.unacked,
            "expected_deliveries": count.expected,
            "delivered": count.delivered,
            "lost": count.lost,
            "duplicates": count.duplicates,
            "deliveries_per_s": per_s,
            "secs_to_last_delivery": secs,
            "latency_ms": count.latency,
            "ack_latency_ms": count.ack_latency,
            "server_cpu_us": cpu,
            "cpu_us_per_delivery": if count.delivered > 0 { cpu as f64 / count.delivered as f64 } else { 0.0 },
            "generator_cpu_us": own_cpu,
            // Stored messages and delivery watermarks share the group commit.
            "commits_per_s": commits.commits / secs,
            "writes_per_commit": commits.writes_per_commit(),
            "server_rss_kib": server.memory().rss_kib,
            "server_pinned": server.pinned,
            "server_cores": server.cores,
            "connect_secs": conns.ramp_secs,
            "saturated": saturated,
        }));
        if saturated {
            // Higher rungs would only measure the backlog of this one.
            break;
        }
    }
    drop(conns);
    server.stop().await;
    Ok((steps, capacity, clean))
}

fn row(run: usize, kind: Kind, step: &Value) -> Vec<String> {
    let num = |k: &str| step[k].as_f64().unwrap_or(0.0);
    let lat = |k: &str| step["latency_ms"][k].as_f64().unwrap_or(0.0);
    vec![
        (run + 1).to_string(),
        name(kind).into(),
        f(num("rate_per_sender"), 2),
        f(num("sent"), 0),
        f(num("acked"), 0),
        f(num("delivered"), 0),
        f(num("lost"), 0),
        f(num("deliveries_per_s"), 0),
        f(lat("p50_ms"), 2),
        f(lat("p90_ms"), 2),
        f(lat("p99_ms"), 2),
        f(lat("max_ms"), 2),
        f(num("cpu_us_per_delivery"), 1),
        f(num("commits_per_s"), 0),
    ]
}

fn summarize(runs: &[Value]) -> Value {
    let pick = |path: &dyn Fn(&Value) -> Option<f64>| -> f64 {
        median(&runs.iter().filter_map(path).collect::<Vec<_>>())
    };
    json!({
        "relay_capacity": pick(&|r| r["relay"]["capacity_deliveries_per_s"].as_f64()),
        "receipts_relay_capacity": pick(&|r| r["relay_receipts"]["capacity_deliveries_per_s"].as_f64()),
        "server_capacity": pick(&|r| r["server"]["capacity_deliveries_per_s"].as_f64()),
        "receipts_relay_ratio": pick(&|r| r["receipts_relay_to_relay_capacity_ratio"].as_f64()),
        "ratio": pick(&|r| r["server_to_relay_capacity_ratio"].as_f64()),
        "server_to_receipts_relay_ratio": pick(&|r| r["server_to_receipts_relay_capacity_ratio"].as_f64()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_only_leaves_out_the_relays_but_never_from_baseline() {
        let all = vec![Kind::Relay, Kind::RelayReceipts, Kind::Server];
        let relays = vec![Kind::Relay, Kind::RelayReceipts];
        assert!(targets(true, false) == all);
        assert!(targets(true, true) == vec![Kind::Server]);
        assert!(targets(false, false) == relays);
        assert!(targets(false, true) == relays);
    }
}
