//! loadgen: the load generator and benchmark harness of letschat (docs/BENCHMARKS.md).
//!
//! It starts the real `letschat` binary (or its own bare socketioxide relay) as a child process
//! pinned to one core, speaks Socket.IO v5 over WebSocket itself, and reports each profile as a
//! table and as JSON.
//!
//! - [`sio`]: the lean Socket.IO client, one task per connection.
//! - [`server`]: the process under test, pinning, CPU time and memory from /proc.
//! - [`fixture`]: the prepared users and groups of a scale, reused across runs.
//! - [`relay`]: the bare relay (`loadgen relay`), the library's own ceiling.
//! - [`profiles`]: idle, groups, durable, history, catch-up, baseline, and the CI smoke run.
//! - [`report`]: percentiles, medians, machine facts, tables and JSON.

mod fixture;
mod profiles;
mod relay;
mod report;
mod server;
mod sio;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, ValueEnum};

/// Run a benchmark profile against the real server.
#[derive(Debug, Parser)]
#[command(name = "loadgen", about = "letschat load generator and benchmarks")]
pub struct Cli {
    /// The profile to run.
    profile: Profile,
    #[command(flatten)]
    common: Common,
    /// For `relay`: the address to serve on.
    #[arg(long, default_value = "127.0.0.1:0")]
    bind: SocketAddr,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Profile {
    Idle,
    Groups,
    Durable,
    History,
    Catchup,
    Baseline,
    /// Every profile at tiny scale on a fresh database; exits non-zero on any loss.
    Smoke,
    /// Serve the bare socketioxide relay (used by the profiles; not a benchmark itself).
    Relay,
}

/// Options shared by the profiles.
#[derive(Debug, Clone, clap::Args)]
pub struct Common {
    /// tiny (CI smoke), small (minutes) or full (the figures).
    #[arg(long, value_enum, default_value_t = Scale::Small)]
    pub scale: Scale,
    #[arg(long, value_enum, default_value_t = Db::Sqlite)]
    pub db: Db,
    /// Repetitions; the summary holds medians.
    #[arg(long, default_value_t = 3)]
    pub runs: usize,
    /// Also write the report as JSON to this file.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// The `letschat` binary (default: the one beside this executable).
    #[arg(long)]
    pub server_bin: Option<PathBuf>,
    /// Where prepared data directories are kept (default: target/loadgen).
    #[arg(long)]
    pub work_dir: Option<PathBuf>,
    /// Use a temporary data directory and database instead of the prepared one.
    #[arg(long)]
    pub fresh: bool,
    /// Do not pin the server and the generator to separate cores.
    #[arg(long)]
    pub no_pin: bool,
    /// Replace the rate ladder: messages/s per sender for groups and baseline, messages/s in
    /// total for durable, the first one per sender for catchup (e.g. `--rates 10,20,50`).
    #[arg(long, value_delimiter = ',')]
    pub rates: Option<Vec<f64>>,
    /// Seconds per ladder step (default: by scale).
    #[arg(long)]
    pub step_secs: Option<f64>,
    /// `groups` only: skip the two relays and measure the server alone (to compare server
    /// builds; the ratios to the relays are then left out).
    #[arg(long)]
    pub server_only: bool,
}

impl Common {
    pub fn server_bin(&self) -> anyhow::Result<PathBuf> {
        server::letschat_bin(self.server_bin.as_deref())
    }

    pub fn work_dir(&self) -> anyhow::Result<PathBuf> {
        match &self.work_dir {
            Some(dir) => Ok(dir.clone()),
            None => {
                let exe = std::env::current_exe()?;
                let target = exe.parent().and_then(|p| p.parent());
                Ok(target.map_or_else(|| PathBuf::from("loadgen"), |t| t.join("loadgen")))
            }
        }
    }

    pub fn pin(&self) -> bool {
        !self.no_pin
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Scale {
    Tiny,
    Small,
    Full,
}

impl Scale {
    pub fn name(self) -> &'static str {
        match self {
            Scale::Tiny => "tiny",
            Scale::Small => "small",
            Scale::Full => "full",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Db {
    Sqlite,
    Postgres,
}

impl Db {
    pub fn name(self) -> &'static str {
        match self {
            Db::Sqlite => "sqlite",
            Db::Postgres => "postgres",
        }
    }
}

/// The generator's clock: microseconds since it started, and an id for this process's
/// `clientId`s (a repeated `clientId` would be deduplicated by the server).
pub mod clock {
    use std::sync::OnceLock;
    use std::time::Instant;

    static EPOCH: OnceLock<(Instant, u32)> = OnceLock::new();

    fn epoch() -> &'static (Instant, u32) {
        EPOCH.get_or_init(|| (Instant::now(), rand::random()))
    }

    pub fn micros(at: Instant) -> u64 {
        at.saturating_duration_since(epoch().0).as_micros() as u64
    }

    pub fn run_id() -> u32 {
        epoch().1
    }
}

fn main() -> ExitCode {
    // reqwest has no crypto provider of its own here (see letschat::app::install_crypto_provider).
    letschat::app::install_crypto_provider();
    let cli = Cli::parse();
    if cli.profile == Profile::Relay {
        let runtime = tokio::runtime::Runtime::new();
        return match runtime.map(|r| r.block_on(relay::serve(cli.bind))) {
            Ok(Ok(())) => ExitCode::SUCCESS,
            Ok(Err(e)) => fail(&e),
            Err(e) => fail(&e.into()),
        };
    }
    clock::micros(std::time::Instant::now());
    // reqwest is built without a default TLS provider (see src/app.rs); loadgen only speaks plain
    // HTTP to loopback, but building a client needs one installed.
    let _ = rustls::crypto::ring::default_provider().install_default();
    if cli.common.pin() && cli.profile != Profile::Smoke {
        let pinned = server::pin_self();
        let cores = server::allowed_cores(std::process::id()).unwrap_or_default();
        eprintln!(
            "generator pinned: {pinned} (runs on core {cores}); server to core {} alone",
            server::SERVER_CORE
        );
    }
    // One core for the generator: a single-threaded runtime holds every connection.
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => return fail(&e.into()),
    };
    match runtime.block_on(profiles::run(cli.profile, &cli.common)) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => {
            eprintln!("FAILED: the run lost messages or connections (see the report)");
            ExitCode::from(2)
        }
        Err(e) => fail(&e),
    }
}

fn fail(error: &anyhow::Error) -> ExitCode {
    eprintln!("loadgen: {error:#}");
    ExitCode::FAILURE
}
