//! Password hashing (argon2id) on a bounded pool of hashing memory.
//!
//! Hashing is CPU- and memory-heavy by design (19 MiB a hash), so it runs on the blocking
//! thread pool, never on the async workers, and at most [`slots`] hashes run at once: a flood of
//! login attempts queues for a slot instead of asking for 19 MiB per request at once. Why the
//! pool: allocated by the argon2 crate per hash, those 19 MiB stayed with the process. After the
//! first one is freed, glibc raises its mmap threshold above it, so later ones come from the
//! blocking threads' arenas and are kept there (measured: 200 registrations 16 at a time left the
//! server at 2.6 GB, one at a time at 216 MB, for good). Here each buffer is a mapping of its
//! own, reused while hashes are queued and given back to the system when the last one finishes
//! (the same registrations: 3-4 MB afterwards). The price is a lone login's fresh mapping, about
//! 15 ms of page faults on a 2-core machine.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock, Mutex, OnceLock};

use argon2::password_hash::phc::{Output, ParamsString, PasswordHash, Salt};
use argon2::{ARGON2ID_IDENT, Algorithm, Argon2, Block, Params, Version};
use tokio::sync::Semaphore;

use crate::error::{AppError, AppResult};

/// The most hashes that run at once, whatever the number of cores (each holds 19 MiB).
const MAX_SLOTS: usize = 4;

/// Bytes of a new hash's output and salt.
const OUTPUT_LEN: usize = 32;
const SALT_LEN: usize = 16;

/// argon2id with 19 MiB of memory, 2 passes, 1 lane (OWASP's recommended minimum).
fn params() -> Params {
    Params::new(19 * 1024, 2, 1, Some(OUTPUT_LEN)).unwrap_or_default()
}

/// Hashes a new password; the result is a PHC string (`$argon2id$v=19$m=19456,t=2,p=1$…`).
pub async fn hash_password(password: String) -> AppResult<String> {
    with_memory(move |memory| hash_with(memory, password.as_bytes()))
        .await?
        .map_err(|e| AppError::Internal(anyhow::anyhow!("hashing failed: {e}")))
}

/// Checks `password` against `hash`; with no hash, burns the same time and says no, so that
/// unknown users and wrong passwords take the same time. A hash that does not parse says no.
pub async fn verify_password(hash: Option<String>, password: String) -> AppResult<bool> {
    with_memory(move |memory| {
        let known = hash.is_some();
        let hash = match &hash {
            Some(hash) => hash.as_str(),
            None => dummy_hash(memory),
        };
        let ok = verify_with(memory, hash, password.as_bytes()).unwrap_or(false);
        known && ok
    })
    .await
}

/// The hashing memory: a semaphore with one permit per slot, and the buffers not in use while
/// more hashes are wanted.
struct Pool {
    slots: Arc<Semaphore>,
    free: Mutex<Vec<Vec<Block>>>,
    /// Hashes asked for and not finished (waiting for a slot or running).
    demand: AtomicUsize,
    /// Buffers that exist now, and the most that ever existed at once.
    live: AtomicUsize,
    peak: AtomicUsize,
}

static POOL: LazyLock<Pool> = LazyLock::new(|| Pool {
    slots: Arc::new(Semaphore::new(slots())),
    free: Mutex::new(Vec::new()),
    demand: AtomicUsize::new(0),
    live: AtomicUsize::new(0),
    peak: AtomicUsize::new(0),
});

/// One slot per core, at most [`MAX_SLOTS`]: more would only share the same cores.
fn slots() -> usize {
    std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, MAX_SLOTS)
}

/// A buffer's capacity in blocks: 33 MiB, above glibc's largest mmap threshold (32 MiB), so each
/// buffer is a mapping of its own that goes back to the system when dropped, and freeing it
/// does not raise the threshold. Only the blocks a hash uses (19 MiB) are ever touched.
const BUFFER_BLOCKS: usize = 33 * 1024;

impl Pool {
    fn take(&self) -> Vec<Block> {
        let reused = self.free.lock().ok().and_then(|mut free| free.pop());
        reused.unwrap_or_else(|| {
            let live = self.live.fetch_add(1, Ordering::SeqCst) + 1;
            self.peak.fetch_max(live, Ordering::SeqCst);
            Vec::with_capacity(BUFFER_BLOCKS)
        })
    }

    /// Keeps `memory` for the next hash while others are wanted; when this was the last one,
    /// gives it and every kept buffer back, so an idle server holds no hashing memory.
    fn give_back(&self, memory: Vec<Block>) {
        let Ok(mut free) = self.free.lock() else {
            return self.release(vec![memory]);
        };
        if self.demand.load(Ordering::SeqCst) > 1 {
            free.push(memory);
        } else {
            let mut all = std::mem::take(&mut *free);
            drop(free);
            all.push(memory);
            self.release(all);
        }
    }

    fn release(&self, buffers: Vec<Vec<Block>>) {
        self.live.fetch_sub(buffers.len(), Ordering::SeqCst);
    }
}

/// Counts a hash as wanted from the moment it is asked for until it finishes or is dropped.
struct Wanted;

impl Wanted {
    fn new() -> Self {
        POOL.demand.fetch_add(1, Ordering::SeqCst);
        Wanted
    }
}

impl Drop for Wanted {
    fn drop(&mut self) {
        POOL.demand.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Runs `work` on the blocking pool with a buffer of hashing memory, once a slot is free.
async fn with_memory<T, F>(work: F) -> AppResult<T>
where
    T: Send + 'static,
    F: FnOnce(&mut Vec<Block>) -> T + Send + 'static,
{
    let wanted = Wanted::new();
    let permit = POOL
        .slots
        .clone()
        .acquire_owned()
        .await
        .map_err(|e| AppError::Internal(e.into()))?;
    let result = tokio::task::spawn_blocking(move || {
        let mut memory = POOL.take();
        let result = work(&mut memory);
        POOL.give_back(memory);
        drop(permit);
        result
    })
    .await;
    drop(wanted);
    result.map_err(|e| AppError::Internal(e.into()))
}

fn hash_with(memory: &mut Vec<Block>, password: &[u8]) -> anyhow::Result<String> {
    let params = params();
    let salt: [u8; SALT_LEN] = rand::random();
    let mut out = [0u8; OUTPUT_LEN];
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    compute(memory, &argon, password, &salt, &mut out)?;
    let hash = PasswordHash {
        algorithm: ARGON2ID_IDENT,
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params)?,
        salt: Some(Salt::new(&salt)?),
        hash: Some(Output::new(&out)?),
    };
    Ok(hash.to_string())
}

/// Recomputes the hash with the parameters, salt and length stored in `hash` (so hashes made
/// with other parameters still verify) and compares in constant time.
fn verify_with(memory: &mut Vec<Block>, hash: &str, password: &[u8]) -> anyhow::Result<bool> {
    let parsed = PasswordHash::new(hash)?;
    let (Some(salt), Some(expected)) = (&parsed.salt, &parsed.hash) else {
        return Ok(false);
    };
    let algorithm = Algorithm::try_from(parsed.algorithm.as_str())?;
    let version = parsed
        .version
        .map_or(Ok(Version::V0x13), Version::try_from)?;
    let argon = Argon2::new(algorithm, version, Params::try_from(&parsed)?);
    let mut out = vec![0u8; expected.len()];
    compute(memory, &argon, password, salt, &mut out)?;
    Ok(Output::new(&out)? == *expected)
}

/// Runs argon2 on `memory`, grown to what its parameters need (never shrunk).
fn compute(
    memory: &mut Vec<Block>,
    argon: &Argon2,
    password: &[u8],
    salt: &[u8],
    out: &mut [u8],
) -> Result<(), argon2::Error> {
    let needed = argon.params().block_count();
    if memory.len() < needed {
        memory.resize(needed, Block::new());
    }
    argon.hash_password_into_with_memory(password, salt, out, memory.as_mut_slice())
}

/// A hash of a password nobody has, made on first use with the pool's memory.
fn dummy_hash(memory: &mut Vec<Block>) -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| hash_with(memory, b"no account has this password").unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The pool is shared by the whole process: one test of it at a time, so that the burst
    /// test sees its own hashes only.
    static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

    #[tokio::test]
    async fn passwords_verify_only_against_their_hash() {
        let _alone = SERIAL.lock().await;
        let hash = hash_password("correct horse".into()).await.expect("hash");
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        let verify = |hash: Option<&str>, password: &str| {
            verify_password(hash.map(str::to_owned), password.to_owned())
        };
        assert!(verify(Some(&hash), "correct horse").await.expect("verify"));
        assert!(!verify(Some(&hash), "wrong").await.expect("verify"));
        assert!(!verify(None, "correct horse").await.expect("verify"));
        assert!(
            !verify(Some("not a hash"), "correct horse")
                .await
                .expect("verify")
        );
    }

    #[tokio::test]
    async fn hashes_made_by_the_argon2_crate_with_other_parameters_still_verify() {
        let _alone = SERIAL.lock().await;
        use argon2::password_hash::PasswordHasher;
        let params = Params::new(8 * 1024, 3, 1, None).expect("params");
        let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        let hash = argon
            .hash_password(b"old password")
            .expect("hash")
            .to_string();
        let verify = |password: &str| verify_password(Some(hash.clone()), password.to_owned());
        assert!(verify("old password").await.expect("verify"));
        assert!(!verify("old passwore").await.expect("verify"));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn a_burst_of_hashes_shares_one_buffer_per_slot_and_gives_them_back() {
        let _alone = SERIAL.lock().await;
        let burst = (0..4 * MAX_SLOTS).map(|i| hash_password(format!("password {i}")));
        for hash in futures_util::future::join_all(burst).await {
            hash.expect("hash");
        }
        assert!(POOL.peak.load(Ordering::SeqCst) <= slots());
        assert_eq!(POOL.live.load(Ordering::SeqCst), 0);
        assert!(POOL.free.lock().expect("pool").is_empty());
    }
}
