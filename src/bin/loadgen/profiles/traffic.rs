//! The moving parts the profiles share: connecting many users, sending at a rate, waiting for
//! the traffic to drain, and counting what arrived.

use std::collections::{HashMap, HashSet};
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde_json::json;

use crate::fixture::{Fixture, Group};
use crate::report::Latency;
use crate::sio::{AckRecord, Conn, ConnectOptions, Received};

/// Handshakes in flight at once while ramping up.
const CONNECT_CONCURRENCY: usize = 64;
/// Longest wait for acks and deliveries after a step's senders stopped.
const DRAIN: Duration = Duration::from_secs(10);

/// What the connections authenticate against.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The real server: `{token}`.
    Server,
    /// The bare relay: `{rooms: [chatId]}`.
    Relay,
    /// The relay doing the contract's receipt traffic as well: members ack `new_message` and
    /// each ack sends the sender a `message_delivered` (`{rooms, receipts: true}`).
    RelayReceipts,
}

/// The source address of the `i`-th connection: spread over 127.0.0.1-250.
pub fn source(i: usize) -> Ipv4Addr {
    Ipv4Addr::new(127, 0, 0, 1 + (i % 250) as u8)
}

/// The CONNECT payload of user `user` (member of `group`, if any).
pub fn auth(kind: Kind, fixture: &Fixture, user: usize, group: Option<&Group>) -> String {
    match kind {
        Kind::Server => json!({ "token": fixture.users[user].token }).to_string(),
        Kind::Relay | Kind::RelayReceipts => {
            let rooms: Vec<&str> = group.map(|g| g.chat_id.as_str()).into_iter().collect();
            let receipts = kind == Kind::RelayReceipts;
            json!({ "rooms": rooms, "receipts": receipts }).to_string()
        }
    }
}

/// Result of a ramp: connections in order (None where the handshake failed), and timing.
pub struct Ramp {
    pub conns: Vec<Option<Arc<Conn>>>,
    pub secs: f64,
    pub failures: usize,
    pub first_error: Option<String>,
}

/// Opens one connection per auth payload, `CONNECT_CONCURRENCY` handshakes at a time.
pub async fn connect_all(addr: SocketAddr, auths: Vec<String>, ack_messages: bool) -> Ramp {
    let started = Instant::now();
    let results: Vec<Result<Conn, String>> =
        futures_util::stream::iter(auths.into_iter().enumerate())
            .map(|(i, auth)| async move {
                let options = ConnectOptions {
                    server: addr,
                    source: source(i),
                    auth,
                    ack_messages,
                };
                Conn::connect(&options).await
            })
            .buffered(CONNECT_CONCURRENCY)
            .collect()
            .await;
    let secs = started.elapsed().as_secs_f64();
    let mut failures = 0;
    let mut first_error = None;
    let conns = results
        .into_iter()
        .map(|r| match r {
            Ok(conn) => Some(Arc::new(conn)),
            Err(e) => {
                failures += 1;
                first_error.get_or_insert(e);
                None
            }
        })
        .collect();
    Ramp {
        conns,
        secs,
        failures,
        first_error,
    }
}

/// The connections of the members of some groups, by user index.
pub struct GroupConns {
    pub groups: Vec<Group>,
    pub by_user: HashMap<usize, Arc<Conn>>,
    pub ramp_secs: f64,
    pub failures: usize,
}

impl GroupConns {
    /// Connects every member of `groups` (only the senders when `senders_only`).
    pub async fn connect(
        kind: Kind,
        addr: SocketAddr,
        fixture: &Fixture,
        groups: &[Group],
        senders_only: bool,
    ) -> anyhow::Result<GroupConns> {
        let mut users = Vec::new();
        let mut auths = Vec::new();
        for group in groups {
            let members = if senders_only {
                &group.members[..1]
            } else {
                &group.members[..]
            };
            for &user in members {
                users.push(user);
                auths.push(auth(kind, fixture, user, Some(group)));
            }
        }
        let ramp = connect_all(addr, auths, kind != Kind::Relay).await;
        if let Some(error) = &ramp.first_error {
            anyhow::bail!("{} connections failed, first: {error}", ramp.failures);
        }
        let by_user = users
            .into_iter()
            .zip(ramp.conns)
            .filter_map(|(u, c)| Some((u, c?)))
            .collect();
        Ok(GroupConns {
            groups: groups.to_vec(),
            by_user,
            ramp_secs: ramp.secs,
            failures: ramp.failures,
        })
    }

    pub fn sender(&self, group: usize) -> Option<&Arc<Conn>> {
        self.by_user.get(&self.groups[group].members[0])
    }
}

/// Each group's sender sends `rate` messages per second for `secs`, with a random phase.
/// Returns the number sent.
pub async fn send_at_rate(conns: &GroupConns, step: u16, rate: f64, secs: f64, pad: usize) -> u64 {
    let period = Duration::from_secs_f64(1.0 / rate);
    let start = tokio::time::Instant::now() + Duration::from_millis(50);
    let end = start + Duration::from_secs_f64(secs);
    let mut tasks = Vec::new();
    for (g, group) in conns.groups.iter().enumerate() {
        let Some(conn) = conns.sender(g).cloned() else {
            continue;
        };
        let chat_id = group.chat_id.clone();
        let phase = period.mul_f64(rand::random::<f64>());
        tasks.push(tokio::spawn(async move {
            let mut ticks = tokio::time::interval_at(start + phase, period);
            let mut seq = 0u32;
            loop {
                let at = ticks.tick().await;
                if at >= end {
                    break;
                }
                conn.send_message(&chat_id, step, g as u32, seq, pad);
                seq += 1;
            }
            u64::from(seq)
        }));
    }
    let mut sent = 0;
    for task in tasks {
        sent += task.await.unwrap_or(0);
    }
    sent
}

/// Waits until no ack is pending and no delivery arrived for a moment (at most `DRAIN`).
pub async fn drain(conns: &GroupConns) {
    let deadline = Instant::now() + DRAIN;
    let mut last = (usize::MAX, usize::MAX);
    loop {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let mut pending = 0;
        let mut received = 0;
        for conn in conns.by_user.values() {
            let stats = conn.stats();
            pending += stats.pending_acks();
            received += stats.received.len();
        }
        if (pending == 0 && (pending, received) == last) || Instant::now() > deadline {
            return;
        }
        last = (pending, received);
    }
}

/// The seconds a step's traffic took: from `started` to its last ack or delivery, at least the
/// nominal length (a server that fell behind spreads the same count over more time).
pub fn step_secs(count: &StepCount, started: Instant, nominal: f64) -> f64 {
    let took = count
        .last_at_us
        .saturating_sub(crate::clock::micros(started)) as f64
        / 1e6;
    took.max(nominal)
}

/// What one step delivered.
#[derive(Debug, Default)]
pub struct StepCount {
    pub sent: u64,
    pub acked_ok: u64,
    pub ack_errors: u64,
    pub unacked: u64,
    pub expected: u64,
    pub delivered: u64,
    pub lost: u64,
    pub duplicates: u64,
    pub latency: Latency,
    pub ack_latency: Latency,
    /// When the last ok ack or delivery of the step arrived, on the generator's clock.
    pub last_at_us: u64,
    /// The acked sequence numbers of each group.
    pub acked: HashMap<u32, HashSet<u32>>,
    /// What each receiving user got, as (group, seq).
    pub got: HashMap<usize, HashSet<(u32, u32)>>,
}

/// Takes the records of `step` out of every connection and counts them. Every member but the
/// sender must receive every acked message of its group; `offline` users are left out here
/// (the catch-up profile settles their account itself).
pub fn count_step(conns: &GroupConns, step: u16, sent: u64, offline: &HashSet<usize>) -> StepCount {
    let mut count = StepCount {
        sent,
        ..StepCount::default()
    };
    let mut ack_us = Vec::new();
    for (g, _) in conns.groups.iter().enumerate() {
        let Some(conn) = conns.sender(g) else {
            continue;
        };
        let acks: Vec<AckRecord> = std::mem::take(&mut conn.stats().acks);
        let set = count.acked.entry(g as u32).or_default();
        for ack in acks.iter().filter(|a| a.step == step) {
            if ack.ok {
                count.acked_ok += 1;
                count.last_at_us = count.last_at_us.max(ack.at_us);
                set.insert(ack.seq);
                ack_us.push(ack.latency_us);
            } else {
                count.ack_errors += 1;
            }
        }
    }
    count.unacked = sent.saturating_sub(count.acked_ok + count.ack_errors);
    let mut latencies = Vec::new();
    for (&user, conn) in &conns.by_user {
        let received: Vec<Received> = std::mem::take(&mut conn.stats().received);
        let got = count.got.entry(user).or_default();
        for r in received.iter().filter(|r| r.step == step) {
            if got.insert((r.group, r.seq)) {
                latencies.push(r.latency_us);
                count.last_at_us = count.last_at_us.max(r.at_us);
            } else {
                count.duplicates += 1;
            }
        }
    }
    for (g, group) in conns.groups.iter().enumerate() {
        let acked = &count.acked[&(g as u32)];
        for user in group.members[1..].iter().filter(|u| !offline.contains(u)) {
            count.expected += acked.len() as u64;
            let got = count.got.get(user);
            let have = acked
                .iter()
                .filter(|&&seq| got.is_some_and(|s| s.contains(&(g as u32, seq))))
                .count() as u64;
            count.delivered += have;
            count.lost += acked.len() as u64 - have;
        }
    }
    count.latency = Latency::of(&mut latencies);
    count.ack_latency = Latency::of(&mut ack_us);
    count
}
