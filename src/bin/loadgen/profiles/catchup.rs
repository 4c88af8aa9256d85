//! `catchup`: the groups workload at one rate while 20% of the receiving clients go offline for
//! a while, come back, and call `/api/sync` with the cursor they held. Every acked message must
//! reach every member, live or through sync.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;

use super::traffic::{GroupConns, Kind, auth, connect_all, count_step, drain, send_at_rate};
use super::{Outcome, Params};
use crate::Common;
use crate::fixture::{Api, Fixture};
use crate::report::{Latency, Table, f, median_of};
use crate::sio::{Conn, parse_content};

const STEP: u16 = 1;

pub async fn run(common: &Common, params: &Params, fixture: &Fixture) -> Outcome {
    let mut table = Table::new(
        format!(
            "catch-up: {:.0} msg/s per group for {:.0} s, 20% of clients offline for {:.0} s",
            params.catchup_rate, params.catchup_secs, params.offline_secs
        ),
        vec![
            "run",
            "offline clients",
            "acked",
            "missed while offline",
            "recovered by sync",
            "still missing",
            "online lost",
            "sync p50 ms",
            "sync max ms",
            "live p99 ms",
        ],
    );
    let mut runs = Vec::new();
    let mut ok = true;
    for run in 0..common.runs {
        let result = once(common, params, fixture).await?;
        ok &= result["still_missing"] == 0 && result["online_lost"] == 0;
        let num = |k: &str| result[k].as_f64().unwrap_or(0.0);
        table.row(vec![
            (run + 1).to_string(),
            f(num("offline_clients"), 0),
            f(num("acked"), 0),
            f(num("missed_while_offline"), 0),
            f(num("recovered_by_sync"), 0),
            f(num("still_missing"), 0),
            f(num("online_lost"), 0),
            f(result["sync_ms"]["p50_ms"].as_f64().unwrap_or(0.0), 1),
            f(result["sync_ms"]["max_ms"].as_f64().unwrap_or(0.0), 1),
            f(
                result["live_latency_ms"]["p99_ms"].as_f64().unwrap_or(0.0),
                2,
            ),
        ]);
        runs.push(result);
    }
    let summary = json!({
        "still_missing_total": runs.iter().filter_map(|r| r["still_missing"].as_u64()).sum::<u64>(),
        "recovered_by_sync": median_of(&runs, "recovered_by_sync"),
    });
    Ok((json!({"runs": runs, "summary": summary}), vec![table], ok))
}

async fn once(
    common: &Common,
    params: &Params,
    fixture: &Fixture,
) -> anyhow::Result<serde_json::Value> {
    let server = fixture.start(&common.server_bin()?, common.pin()).await?;
    let api = Api::new(server.addr);
    let groups = &fixture.groups[..params.groups];
    let conns =
        Arc::new(GroupConns::connect(Kind::Server, server.addr, fixture, groups, false).await?);
    let per_group = ((params.group_size as f64 * 0.2).round() as usize).max(1);
    let offline: Vec<usize> = groups
        .iter()
        .flat_map(|g| g.members[1..=per_group].to_vec())
        .collect();
    let mut cursors = HashMap::new();
    for &user in &offline {
        let sync = api.get(&fixture.users[user].token, "/api/sync").await?;
        cursors.insert(
            user,
            sync["nextCursor"].as_str().unwrap_or_default().to_owned(),
        );
    }
    let sending = {
        let conns = conns.clone();
        let (rate, secs, pad) = (params.catchup_rate, params.catchup_secs, params.pad);
        tokio::spawn(async move { send_at_rate(&conns, STEP, rate, secs, pad).await })
    };
    let away = (params.catchup_secs - params.offline_secs).max(0.0) / 2.0;
    tokio::time::sleep(Duration::from_secs_f64(away)).await;
    for user in &offline {
        if let Some(conn) = conns.by_user.get(user) {
            conn.close();
        }
    }
    tokio::time::sleep(Duration::from_secs_f64(params.offline_secs)).await;
    let auths = offline
        .iter()
        .map(|&u| auth(Kind::Server, fixture, u, None))
        .collect();
    let ramp = connect_all(server.addr, auths, true).await;
    if let Some(error) = ramp.first_error {
        anyhow::bail!("reconnecting failed: {error}");
    }
    let reconnected: Vec<(usize, Arc<Conn>)> = offline
        .iter()
        .copied()
        .zip(ramp.conns.into_iter().flatten())
        .collect();
    let mut synced: HashMap<usize, HashSet<(u32, u32)>> = HashMap::new();
    let mut sync_us = Vec::new();
    for &user in &offline {
        let started = Instant::now();
        let got = sync_since(&api, &fixture.users[user].token, &cursors[&user]).await?;
        sync_us.push(started.elapsed().as_micros() as u64);
        synced.insert(user, got);
    }
    let sent = sending.await.unwrap_or(0);
    drain(&conns).await;
    let offline_set: HashSet<usize> = offline.iter().copied().collect();
    let mut count = count_step(&conns, STEP, sent, &offline_set);
    let mut missed = 0u64;
    let mut recovered = 0u64;
    let mut still_missing = 0u64;
    for (user, conn) in &reconnected {
        let live: &mut HashSet<(u32, u32)> = count.got.entry(*user).or_default();
        live.extend(
            conn.stats()
                .received
                .iter()
                .filter(|r| r.step == STEP)
                .map(|r| (r.group, r.seq)),
        );
        let group = groups
            .iter()
            .position(|g| g.members.contains(user))
            .unwrap_or(0) as u32;
        let from_sync = &synced[user];
        for &seq in &count.acked[&group] {
            if !live.contains(&(group, seq)) {
                missed += 1;
                if from_sync.contains(&(group, seq)) {
                    recovered += 1;
                } else {
                    still_missing += 1;
                }
            }
        }
    }
    drop(reconnected);
    drop(conns);
    server.stop().await;
    Ok(json!({
        "offline_clients": offline.len(),
        "sent": count.sent,
        "acked": count.acked_ok,
        "unacked": count.unacked,
        "online_lost": count.lost,
        "missed_while_offline": missed,
        "recovered_by_sync": recovered,
        "still_missing": still_missing,
        "sync_ms": Latency::of(&mut sync_us),
        "live_latency_ms": std::mem::take(&mut count.latency),
    }))
}

/// Follows `/api/sync` from `cursor` until `hasMore` is false; returns our messages found.
async fn sync_since(api: &Api, token: &str, cursor: &str) -> anyhow::Result<HashSet<(u32, u32)>> {
    let mut got = HashSet::new();
    let mut cursor = cursor.to_owned();
    for _ in 0..1000 {
        let page = api
            .get(token, &format!("/api/sync?since={cursor}&limit=1000"))
            .await?;
        for message in page["messages"].as_array().into_iter().flatten() {
            if let Some((step, group, seq, _)) = message["content"].as_str().and_then(parse_content)
                && step == STEP
            {
                got.insert((group, seq));
            }
        }
        cursor = page["nextCursor"].as_str().unwrap_or_default().to_owned();
        if page["hasMore"] != true {
            break;
        }
    }
    Ok(got)
}
