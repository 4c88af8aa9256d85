//! The benchmark profiles. Each runs `--runs` times on a fresh server process (pinned to its
//! core) over the prepared world of its scale, and reports every run plus medians.

mod catchup;
mod durable;
mod groups;
mod history;
mod idle;
mod traffic;

use serde_json::{Value, json};

use crate::fixture::{Fixture, Needs};
use crate::report::{self, Table};
use crate::{Common, Profile, Scale};

/// The sizes of a scale.
pub struct Params {
    pub users: usize,
    pub groups: usize,
    pub group_size: usize,
    pub idle_conns: usize,
    /// Messages per second of each group's sender (`--rates` replaces it).
    pub ladder: Vec<f64>,
    pub step_secs: f64,
    /// Persisted messages per second in total.
    pub durable_ladder: Vec<f64>,
    pub durable_senders: usize,
    pub history_messages: u64,
    pub history_queries: usize,
    pub catchup_rate: f64,
    pub catchup_secs: f64,
    pub offline_secs: f64,
    /// Bytes of padding in each message's content.
    pub pad: usize,
}

impl Params {
    pub fn of(scale: Scale) -> Params {
        match scale {
            Scale::Tiny => Params {
                users: 12,
                groups: 3,
                group_size: 4,
                idle_conns: 12,
                ladder: vec![2.0, 5.0],
                step_secs: 1.5,
                durable_ladder: vec![30.0],
                durable_senders: 3,
                history_messages: 60,
                history_queries: 10,
                catchup_rate: 4.0,
                catchup_secs: 4.0,
                offline_secs: 1.5,
                pad: 40,
            },
            Scale::Small => Params {
                users: 500,
                groups: 50,
                group_size: 10,
                idle_conns: 500,
                ladder: vec![0.5, 1.0, 2.0, 5.0, 10.0],
                step_secs: 5.0,
                durable_ladder: vec![250.0, 500.0, 1000.0, 2000.0],
                durable_senders: 50,
                history_messages: 20_000,
                history_queries: 200,
                catchup_rate: 0.5,
                catchup_secs: 20.0,
                offline_secs: 10.0,
                pad: 60,
            },
            Scale::Full => Params {
                users: 20_000,
                groups: 1_000,
                group_size: 10,
                idle_conns: 19_500,
                ladder: vec![0.5, 1.0, 2.0, 5.0, 10.0],
                step_secs: 20.0,
                durable_ladder: vec![1000.0, 2000.0, 5000.0, 10_000.0, 20_000.0],
                durable_senders: 1_000,
                history_messages: 1_000_000,
                history_queries: 1_000,
                catchup_rate: 1.0,
                catchup_secs: 30.0,
                offline_secs: 10.0,
                pad: 60,
            },
        }
    }

    fn needs(&self) -> Needs {
        Needs {
            users: self.users,
            groups: self.groups,
            group_size: self.group_size,
        }
    }
}

/// Runs one profile, prints its tables and writes its JSON; false when it lost anything.
pub async fn run(profile: Profile, common: &Common) -> anyhow::Result<bool> {
    if profile == Profile::Smoke {
        return smoke(common).await;
    }
    let mut params = Params::of(common.scale);
    if let Some(rates) = &common.rates {
        match profile {
            Profile::Durable => params.durable_ladder = rates.clone(),
            Profile::Catchup => params.catchup_rate = rates.first().copied().unwrap_or(1.0),
            _ => params.ladder = rates.clone(),
        }
    }
    if let Some(secs) = common.step_secs {
        params.step_secs = secs;
    }
    let load = report::check_load("before the run");
    let mut fixture = Fixture::prepare(common, &params.needs()).await?;
    let outcome = run_profile(profile, common, &params, &mut fixture).await;
    let load_after = report::check_load("after the run");
    fixture.cleanup().await;
    let (body, tables, ok) = outcome?;
    let report = json!({
        "profile": profile_name(profile),
        "date": chrono::Utc::now().to_rfc3339(),
        "commit": report::commit(),
        "machine": report::machine(),
        "scale": common.scale.name(),
        "db": common.db.name(),
        "runs": common.runs,
        "pinned": common.pin() && crate::server::taskset_available(),
        "load_average": {"before": load, "after": load_after},
        "ok": ok,
        "result": body,
    });
    report::emit(&report, &tables, common.json.as_deref())?;
    Ok(ok)
}

type Outcome = anyhow::Result<(Value, Vec<Table>, bool)>;

async fn run_profile(
    profile: Profile,
    common: &Common,
    params: &Params,
    fixture: &mut Fixture,
) -> Outcome {
    match profile {
        Profile::Idle => idle::run(common, params, fixture).await,
        Profile::Groups => groups::run(common, params, fixture, true).await,
        Profile::Baseline => groups::run(common, params, fixture, false).await,
        Profile::Durable => durable::run(common, params, fixture).await,
        Profile::History => history::run(common, params, fixture).await,
        Profile::Catchup => catchup::run(common, params, fixture).await,
        Profile::Smoke | Profile::Relay => anyhow::bail!("not a measuring profile"),
    }
}

fn profile_name(profile: Profile) -> &'static str {
    match profile {
        Profile::Idle => "idle",
        Profile::Groups => "groups",
        Profile::Durable => "durable",
        Profile::History => "history",
        Profile::Catchup => "catchup",
        Profile::Baseline => "baseline",
        Profile::Smoke => "smoke",
        Profile::Relay => "relay",
    }
}

/// Every profile once at tiny scale on a fresh database: the CI check that the generator still
/// works. It asserts zero loss and a complete report, never timings.
async fn smoke(common: &Common) -> anyhow::Result<bool> {
    let mut common = common.clone();
    common.scale = Scale::Tiny;
    common.runs = 1;
    common.fresh = true;
    let params = Params::of(Scale::Tiny);
    let mut fixture = Fixture::prepare(&common, &params.needs()).await?;
    let mut results = serde_json::Map::new();
    let mut tables = Vec::new();
    let mut all_ok = true;
    for profile in [
        Profile::Idle,
        Profile::Groups,
        Profile::Durable,
        Profile::History,
        Profile::Catchup,
    ] {
        let outcome = run_profile(profile, &common, &params, &mut fixture).await;
        let (body, mut t, ok) = match outcome {
            Ok(o) => o,
            Err(e) => {
                fixture.cleanup().await;
                return Err(e.context(format!("smoke: {}", profile_name(profile))));
            }
        };
        all_ok &= ok;
        if !ok {
            eprintln!("smoke: {} did not pass", profile_name(profile));
        }
        tables.append(&mut t);
        results.insert(
            profile_name(profile).into(),
            json!({"ok": ok, "result": body}),
        );
    }
    fixture.cleanup().await;
    let report = json!({
        "profile": "smoke",
        "date": chrono::Utc::now().to_rfc3339(),
        "commit": report::commit(),
        "machine": report::machine(),
        "scale": "tiny",
        "db": common.db.name(),
        "ok": all_ok,
        "profiles": results,
    });
    report::emit(&report, &tables, common.json.as_deref())?;
    Ok(all_ok)
}
