//! Starting and stopping the process under test (the real `letschat` binary, or the relay), and
//! reading its CPU time and memory from /proc.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::LazyLock;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use tokio::process::{Child, Command};

/// The core the server (or relay) runs on; the generator takes the other one.
pub const SERVER_CORE: usize = 1;
pub const GENERATOR_CORE: usize = 0;

/// What to start.
pub enum Target<'a> {
    /// `letschat serve` on a data directory, with an optional PostgreSQL URL.
    Letschat {
        bin: &'a Path,
        data_dir: &'a Path,
        database_url: Option<&'a str>,
    },
    /// `loadgen relay`.
    Relay,
}

/// A running child process, killed when dropped.
pub struct ServerProc {
    pub addr: SocketAddr,
    pub pid: u32,
    /// From spawn to the first 200 of `/health`.
    pub ready_ms: f64,
    pub pinned: bool,
    /// The cores the kernel lets the process run on (`Cpus_allowed_list`), read after it started.
    pub cores: String,
    child: Child,
}

impl ServerProc {
    /// Starts the target on a free loopback port and waits until `/health` answers.
    pub async fn start(target: Target<'_>, pin: bool) -> anyhow::Result<ServerProc> {
        let addr = free_addr()?;
        let pinned = pin && taskset_available();
        let mut command = match (&target, pinned) {
            (_, true) => {
                let mut c = Command::new("taskset");
                c.arg("-c").arg(SERVER_CORE.to_string());
                c.arg(program(&target)?);
                c
            }
            (_, false) => Command::new(program(&target)?),
        };
        match target {
            Target::Letschat {
                data_dir,
                database_url,
                ..
            } => {
                command
                    .arg("serve")
                    .arg("--bind")
                    .arg(addr.to_string())
                    .arg("--data-dir")
                    .arg(data_dir);
                if let Some(url) = database_url {
                    command.arg("--database-url").arg(url);
                }
                command.envs(server_env());
            }
            Target::Relay => {
                command.arg("relay").arg("--bind").arg(addr.to_string());
            }
        }
        // The server logs to stdout: passed to our stderr when a log filter was asked for.
        let log = match std::env::var_os("LETSCHAT_LOG") {
            Some(_) => Stdio::from(std::io::stderr()),
            None => Stdio::null(),
        };
        command
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(Stdio::inherit())
            .kill_on_drop(true);
        let started = Instant::now();
        let mut child = command.spawn().context("starting the server process")?;
        let pid = child.id().context("server pid")?;
        wait_ready(addr, &mut child).await?;
        let ready_ms = started.elapsed().as_secs_f64() * 1000.0;
        let cores = allowed_cores(pid).unwrap_or_default();
        if pinned && cores != SERVER_CORE.to_string() {
            bail!("the server runs on cores {cores}, not on core {SERVER_CORE} alone");
        }
        Ok(ServerProc {
            addr,
            pid,
            ready_ms,
            pinned,
            cores,
            child,
        })
    }

    /// Stops the process (SIGKILL: the benchmark never depends on a graceful exit).
    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
    }

    /// CPU time (user + system) so far, in microseconds.
    pub fn cpu_us(&self) -> u64 {
        cpu_us(self.pid).unwrap_or(0)
    }

    /// The server's `/metrics` text (empty when unreachable, as a relay's is).
    async fn metrics_text(&self) -> String {
        let url = format!("http://{}/metrics", self.addr);
        match reqwest::Client::new()
            .get(url)
            .bearer_auth(METRICS_TOKEN)
            .send()
            .await
        {
            Ok(resp) => resp.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        }
    }

    /// The group commit's counters so far, from one reading of `/metrics` (zeros for a relay,
    /// which has none).
    pub async fn commits(&self) -> Commits {
        let text = self.metrics_text().await;
        Commits {
            commits: counter(&text, "db_group_commits_total"),
            writes: counter(&text, "db_group_commit_writes_total"),
        }
    }

    /// Memory figures of the process now.
    pub fn memory(&self) -> Memory {
        Memory::of(self.pid)
    }
}

/// The sum of a counter's samples in a `/metrics` text (0 when absent).
fn counter(text: &str, name: &str) -> f64 {
    text.lines()
        .filter(|l| {
            l.strip_prefix(name)
                .is_some_and(|rest| rest.starts_with(' ') || rest.starts_with('{'))
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// Transactions the server's group commit made and the writes they held.
#[derive(Clone, Copy, Default)]
pub struct Commits {
    pub commits: f64,
    pub writes: f64,
}

impl Commits {
    /// What happened between `before` and `self`.
    pub fn since(self, before: Commits) -> Commits {
        Commits {
            commits: self.commits - before.commits,
            writes: self.writes - before.writes,
        }
    }

    pub fn writes_per_commit(self) -> f64 {
        if self.commits > 0.0 {
            self.writes / self.commits
        } else {
            0.0
        }
    }
}

/// The environment of the server under test: no rate limits, long-lived access tokens (so a
/// prepared set of users can be reused across runs), quiet logs.
/// The server's environment; its log filter is the generator's `LETSCHAT_LOG` if set (e.g.
/// `warn,sqlx::query=debug` to time statements during a run), else `warn`.
pub fn server_env() -> Vec<(&'static str, String)> {
    let log = std::env::var("LETSCHAT_LOG").unwrap_or_else(|_| "warn".into());
    vec![
        ("LETSCHAT_RATE_LIMIT__REQUESTS_PER_MINUTE", "0".into()),
        ("LETSCHAT_RATE_LIMIT__AUTH_REQUESTS_PER_MINUTE", "0".into()),
        ("LETSCHAT_MESSAGES__SENDS_PER_MINUTE", "0".into()),
        ("LETSCHAT_AUTH__ACCESS_TOKEN_TTL_SECS", "2592000".into()),
        ("LETSCHAT_LOG", log),
        ("LETSCHAT_METRICS__TOKEN", METRICS_TOKEN.into()),
    ]
}

/// Lets the generator read the server's `/metrics`.
const METRICS_TOKEN: &str = "loadgen-metrics";

fn program(target: &Target<'_>) -> anyhow::Result<PathBuf> {
    match target {
        Target::Letschat { bin, .. } => Ok(bin.to_path_buf()),
        Target::Relay => std::env::current_exe().context("own executable"),
    }
}

/// The `letschat` binary: `--server-bin`, else the one beside this executable.
pub fn letschat_bin(explicit: Option<&Path>) -> anyhow::Result<PathBuf> {
    let path = match explicit {
        Some(path) => path.to_path_buf(),
        None => std::env::current_exe()?.with_file_name("letschat"),
    };
    if !path.exists() {
        bail!(
            "{} not found: build it first (cargo build --release --bins) or pass --server-bin",
            path.display()
        );
    }
    Ok(path)
}

fn free_addr() -> anyhow::Result<SocketAddr> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?)
}

async fn wait_ready(addr: SocketAddr, child: &mut Child) -> anyhow::Result<()> {
    let client = reqwest::Client::new();
    let url = format!("http://{addr}/health");
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if let Some(status) = child.try_wait()? {
            bail!("the server exited during start: {status}");
        }
        if let Ok(resp) = client.get(&url).send().await
            && resp.status().is_success()
        {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    bail!("the server did not become ready within 60 s")
}

/// The machine's cores, counted on first use, which [`pin_self`] makes happen before the generator
/// pins itself: after that `available_parallelism` follows this process's affinity and says 1.
/// (Until session 12 it was counted after, so the server was started without `taskset` and
/// inherited the generator's core: both shared core 0.)
static CORES: LazyLock<usize> =
    LazyLock::new(|| std::thread::available_parallelism().map_or(1, |n| n.get()));

pub fn machine_cores() -> usize {
    *CORES
}

/// The cores a process may run on, as the kernel lists them (`0`, `1`, `0-1`).
pub fn allowed_cores(pid: u32) -> Option<String> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status
        .lines()
        .find(|l| l.starts_with("Cpus_allowed_list:"))?;
    Some(line.split_whitespace().nth(1)?.to_owned())
}

/// Whether `taskset` can be used (it exists and there are at least two cores).
pub fn taskset_available() -> bool {
    machine_cores() >= 2
        && std::process::Command::new("taskset")
            .arg("-V")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
}

/// Pins every thread of this process to the generator's core.
pub fn pin_self() -> bool {
    taskset_available()
        && std::process::Command::new("taskset")
            .args(["-a", "-cp", &GENERATOR_CORE.to_string()])
            .arg(std::process::id().to_string())
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
}

/// utime + stime of a process, in microseconds.
pub fn cpu_us(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces; fields resume after its closing parenthesis.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) * 1_000_000 / clock_ticks())
}

/// CPU time of this process (the generator), in microseconds.
pub fn own_cpu_us() -> u64 {
    cpu_us(std::process::id()).unwrap_or(0)
}

fn clock_ticks() -> u64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100)
}

/// Memory of a process and of the kernel's TCP sockets, in KiB.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct Memory {
    pub rss_kib: u64,
    pub rss_anon_kib: u64,
    /// Pages the kernel holds for all TCP sockets (both ends of loopback connections).
    pub tcp_mem_kib: u64,
    pub tcp_inuse: u64,
    /// Kernel objects of sockets (TCP, socket inodes, files, epoll entries) from
    /// /proc/slabinfo: machine-wide, both ends of loopback connections.
    pub socket_slab_kib: u64,
}

impl Memory {
    pub fn of(pid: u32) -> Memory {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.split_whitespace().next()?.parse().ok())
                .unwrap_or(0)
        };
        let (tcp_inuse, tcp_pages) = sockstat();
        Memory {
            rss_kib: field("VmRSS:"),
            rss_anon_kib: field("RssAnon:"),
            tcp_mem_kib: tcp_pages * 4,
            tcp_inuse,
            socket_slab_kib: socket_slab_kib(),
        }
    }
}

fn socket_slab_kib() -> u64 {
    const CACHES: [&str; 5] = [
        "TCP",
        "sock_inode_cache",
        "filp",
        "eventpoll_epi",
        "eventpoll_pwq",
    ];
    let text = std::fs::read_to_string("/proc/slabinfo").unwrap_or_default();
    let bytes: u64 = text
        .lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            let name = words.next()?;
            if !CACHES.contains(&name) {
                return None;
            }
            let active: u64 = words.next()?.parse().ok()?;
            let _total = words.next()?;
            let size: u64 = words.next()?.parse().ok()?;
            Some(active * size)
        })
        .sum();
    bytes / 1024
}

fn sockstat() -> (u64, u64) {
    let text = std::fs::read_to_string("/proc/net/sockstat").unwrap_or_default();
    let Some(line) = text.lines().find(|l| l.starts_with("TCP:")) else {
        return (0, 0);
    };
    let words: Vec<&str> = line.split_whitespace().collect();
    let value = |key: &str| {
        words
            .iter()
            .position(|w| *w == key)
            .and_then(|i| words.get(i + 1)?.parse().ok())
            .unwrap_or(0)
    };
    (value("inuse"), value("mem"))
}
