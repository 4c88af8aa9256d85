//! `history`: the prepared chats are filled to the scale's message count (through the REST API,
//! once; the count is kept with the fixture), then 50-message history pages and searches are
//! timed one at a time.

use std::time::Instant;

use anyhow::Context;
use futures_util::StreamExt;
use rand::Rng;
use serde_json::{Value, json};

use super::{Outcome, Params};
use crate::Common;
use crate::fixture::{Api, Fixture};
use crate::report::{Latency, Table, f, median_of};

/// Sends in flight while seeding.
const SEED_CONCURRENCY: usize = 32;
const SYLLABLES: [&str; 10] = ["ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo", "ze", "pu"];

/// The `i`-th word of a 1,000-word vocabulary.
fn word(i: usize) -> String {
    let i = i % 1000;
    [i / 100, (i / 10) % 10, i % 10]
        .iter()
        .map(|&d| SYLLABLES[d])
        .collect()
}

pub async fn run(common: &Common, params: &Params, fixture: &mut Fixture) -> Outcome {
    let seed = seed(common, params, fixture).await?;
    let mut table = Table::new(
        format!(
            "history: {} stored messages, {} queries of each kind",
            fixture.seeded, params.history_queries
        ),
        vec![
            "run",
            "page p50 ms",
            "page p99 ms",
            "page max ms",
            "search p50 ms",
            "search p99 ms",
            "search max ms",
            "errors",
        ],
    );
    let mut runs = Vec::new();
    let mut ok = true;
    for run in 0..common.runs {
        let server = fixture.start(&common.server_bin()?, common.pin()).await?;
        let api = Api::new(server.addr);
        let (pages, searches, errors, hits) = queries(&api, params, fixture).await;
        ok &= errors == 0 && hits > 0;
        let result = json!({
            "page_ms": pages,
            "search_ms": searches,
            "errors": errors,
            "search_hits": hits,
            "page_p50_ms": pages.p50_ms, "page_p99_ms": pages.p99_ms,
            "search_p50_ms": searches.p50_ms, "search_p99_ms": searches.p99_ms,
        });
        table.row(vec![
            (run + 1).to_string(),
            f(pages.p50_ms, 2),
            f(pages.p99_ms, 2),
            f(pages.max_ms, 2),
            f(searches.p50_ms, 2),
            f(searches.p99_ms, 2),
            f(searches.max_ms, 2),
            errors.to_string(),
        ]);
        runs.push(result);
        server.stop().await;
    }
    let summary = json!({
        "stored_messages": fixture.seeded,
        "page_p50_ms": median_of(&runs, "page_p50_ms"),
        "page_p99_ms": median_of(&runs, "page_p99_ms"),
        "search_p50_ms": median_of(&runs, "search_p50_ms"),
        "search_p99_ms": median_of(&runs, "search_p99_ms"),
    });
    Ok((
        json!({"seeding": seed, "runs": runs, "summary": summary}),
        vec![table],
        ok,
    ))
}

/// Tops the fixture up to `history_messages` stored messages.
async fn seed(common: &Common, params: &Params, fixture: &mut Fixture) -> anyhow::Result<Value> {
    let missing = params.history_messages.saturating_sub(fixture.seeded);
    if missing == 0 {
        return Ok(json!({"added": 0}));
    }
    eprintln!("seeding {missing} messages through the API");
    let server = fixture.start(&common.server_bin()?, false).await?;
    let api = Api::new(server.addr);
    let started = Instant::now();
    let from = fixture.seeded;
    let groups = &fixture.groups[..params.groups.min(fixture.groups.len())];
    let users = &fixture.users;
    let mut sends = futures_util::stream::iter(from..from + missing)
        .map(|n| {
            let group = &groups[n as usize % groups.len()];
            let sender = &users[group.members[(n as usize / groups.len()) % group.members.len()]];
            let mut rng = rand::rng();
            // The first word is fixed by `n`, so a query for any of the first `seeded` words
            // finds something even in a tiny seeding; the rest are random.
            let words: Vec<String> = std::iter::once(n as usize)
                .chain((0..5).map(|_| rng.random_range(0..1000)))
                .map(word)
                .collect();
            let body = json!({"content": format!("{} n{n}", words.join(" ")), "clientId": format!("seed-{n}")});
            let path = format!("/api/chats/{}/messages", group.chat_id);
            let api = api.clone();
            async move { api.post(&sender.token, &path, body).await }
        })
        .buffer_unordered(SEED_CONCURRENCY);
    let mut added = 0u64;
    let mut result = Ok(());
    while let Some(sent) = sends.next().await {
        if let Err(e) = sent {
            result = Err(e);
            break;
        }
        added += 1;
        if added.is_multiple_of(10_000) {
            eprintln!("  {added} seeded");
        }
    }
    drop(sends);
    server.stop().await;
    fixture.save_seeded(from + added)?;
    result.context("seeding history")?;
    let secs = started.elapsed().as_secs_f64();
    Ok(json!({"added": added, "secs": secs, "messages_per_s": added as f64 / secs}))
}

/// Runs the page and search queries one at a time; returns their latencies, errors and hits.
async fn queries(api: &Api, params: &Params, fixture: &Fixture) -> (Latency, Latency, u64, u64) {
    let groups = &fixture.groups[..params.groups.min(fixture.groups.len())];
    let mut page_us = Vec::new();
    let mut search_us = Vec::new();
    let mut errors = 0;
    let mut hits = 0;
    // Words that certainly occur (see `seed`).
    let vocabulary = fixture.seeded.clamp(1, 1000) as usize;
    // Untimed: messages other profiles added to these chats are indexed lazily, and the first
    // search waits until they are (seconds after `groups` or `durable`); time the steady state.
    let warm_up = &fixture.users[groups[0].members[0]].token;
    if api
        .get(warm_up, "/api/messages/search?q=ka&limit=1")
        .await
        .is_err()
    {
        errors += 1;
    }
    for i in 0..params.history_queries {
        let (g, m, depth, w) = {
            let mut rng = rand::rng();
            (
                rng.random_range(0..groups.len()),
                rng.random_range(0..groups[0].members.len()),
                rng.random_range(0..3),
                rng.random_range(0..vocabulary),
            )
        };
        let group = &groups[g];
        let token = &fixture.users[group.members[m]].token;
        let mut path = format!("/api/chats/{}/messages?limit=50", group.chat_id);
        for _ in 0..=depth {
            let started = Instant::now();
            let page = api.get(token, &path).await;
            page_us.push(started.elapsed().as_micros() as u64);
            match page {
                Ok(page) => match page["nextCursor"].as_str() {
                    Some(cursor) if page["hasMore"] == true => {
                        path = format!(
                            "/api/chats/{}/messages?limit=50&cursor={cursor}",
                            group.chat_id
                        );
                    }
                    _ => break,
                },
                Err(_) => {
                    errors += 1;
                    break;
                }
            }
        }
        let q = if i % 4 == 0 {
            word(w)[..4].to_owned()
        } else {
            word(w)
        };
        // Message `w` (which holds word `w`) went to group `w % groups`: search as a member.
        let searcher = &fixture.users[groups[w % groups.len()].members[m]].token;
        let started = Instant::now();
        let found = api
            .get(searcher, &format!("/api/messages/search?q={q}&limit=20"))
            .await;
        search_us.push(started.elapsed().as_micros() as u64);
        match found {
            Ok(found) => hits += found["messages"].as_array().map_or(0, Vec::len) as u64,
            Err(_) => errors += 1,
        }
    }
    (
        Latency::of(&mut page_us),
        Latency::of(&mut search_us),
        errors,
        hits,
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_vocabulary_has_a_thousand_distinct_words() {
        let words: std::collections::HashSet<String> = (0..1000).map(super::word).collect();
        assert_eq!(words.len(), 1000);
    }
}
