//! The load generator's smoke run: every benchmark profile for a few seconds at tiny scale
//! against the real binary, on this run's database. It keeps the generator from rotting; it
//! asserts zero loss and the shape of the report, never timings.

use std::process::Command;

use serde_json::Value;

use crate::helpers::on_postgres;

fn run_smoke() -> Value {
    let dir = tempfile::tempdir().expect("tempdir");
    let json = dir.path().join("smoke.json");
    let mut command = Command::new(env!("CARGO_BIN_EXE_loadgen"));
    command
        .args([
            "smoke",
            "--no-pin",
            "--server-bin",
            env!("CARGO_BIN_EXE_letschat"),
        ])
        .arg("--json")
        .arg(&json);
    if on_postgres() {
        command.args(["--db", "postgres"]);
    }
    let out = command.output().expect("loadgen runs");
    assert!(
        out.status.success(),
        "loadgen smoke failed ({})\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&std::fs::read(&json).expect("report written")).expect("report is JSON")
}

fn number(value: &Value) -> f64 {
    value
        .as_f64()
        .unwrap_or_else(|| panic!("expected a number, got {value}"))
}

#[test]
fn the_load_generator_runs_every_profile_at_tiny_scale_without_losing_a_message() {
    let report = run_smoke();
    let profiles = &report["profiles"];
    assert_eq!(report["ok"], true, "{report:#}");
    for name in ["idle", "groups", "durable", "history", "catchup"] {
        assert_eq!(profiles[name]["ok"], true, "{name}: {:#}", profiles[name]);
    }
    assert!(report["commit"].is_string() && report["machine"]["nproc"].is_number());

    let idle = &profiles["idle"]["result"]["runs"][0];
    assert_eq!(idle["failed"], 0);
    assert_eq!(idle["connected"], idle["connections"]);
    for key in ["connects_per_s", "rss_kib_per_conn", "server_ready_ms"] {
        number(&idle[key]);
    }

    let groups = &profiles["groups"]["result"]["runs"][0];
    for target in ["relay", "relay_receipts", "server"] {
        let steps = groups[target]["steps"].as_array().expect("steps");
        assert!(!steps.is_empty());
        for step in steps {
            assert_eq!(step["lost"], 0, "{target}: {step:#}");
            assert!(
                number(&step["expected_deliveries"]) > 0.0,
                "{target}: {step:#}"
            );
            assert_eq!(step["delivered"], step["expected_deliveries"]);
            number(&step["latency_ms"]["p99_ms"]);
            number(&step["cpu_us_per_delivery"]);
            // Only the server commits; its messages and receipts must show up as commits.
            let commits = number(&step["commits_per_s"]);
            assert_eq!(commits > 0.0, target == "server", "{target}: {step:#}");
        }
    }
    for ratio in [
        "ratio",
        "receipts_relay_ratio",
        "server_to_receipts_relay_ratio",
    ] {
        number(&profiles["groups"]["result"]["summary"][ratio]);
    }

    for target in ["relay", "server"] {
        let durable = &profiles["durable"]["result"]["runs"][0][target]["steps"][0];
        assert!(
            number(&durable["acked"]) > 0.0,
            "durable {target}: {durable}"
        );
        assert_eq!(durable["acked"], durable["sent"]);
        number(&durable["ack_latency_ms"]["p99_ms"]);
    }
    number(&profiles["durable"]["result"]["summary"]["server_to_relay_ratio"]);

    let history = &profiles["history"]["result"]["runs"][0];
    assert_eq!(history["errors"], 0);
    assert!(number(&history["search_hits"]) > 0.0);
    assert!(number(&history["page_ms"]["count"]) > 0.0);

    let catchup = &profiles["catchup"]["result"]["runs"][0];
    assert!(number(&catchup["offline_clients"]) > 0.0);
    assert!(
        number(&catchup["missed_while_offline"]) > 0.0,
        "{catchup:#}"
    );
    assert_eq!(catchup["still_missing"], 0);
    assert_eq!(catchup["online_lost"], 0);
}
