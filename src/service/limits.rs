//! Per-account throttles that no single address can get around: failed logins and reset mails.
//!
//! A sliding window of recent events per key. Per-address limits live in the HTTP layer
//! (`tower_governor`); these count per account, however many addresses take part.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::error::{AppError, AppResult};

/// A sliding-window counter per key.
#[derive(Clone)]
pub struct Throttle {
    limit: usize,
    window: Duration,
    events: Arc<Mutex<HashMap<String, VecDeque<Instant>>>>,
}

impl Throttle {
    /// `limit` events per `window`; a limit of 0 disables the throttle.
    pub fn new(limit: u32, window: Duration) -> Self {
        Throttle {
            limit: limit as usize,
            window,
            events: Arc::default(),
        }
    }

    /// Fails with `rate_limited` while `key` has used up its window.
    pub fn check(&self, key: &str) -> AppResult<()> {
        if self.limit == 0 {
            return Ok(());
        }
        let now = Instant::now();
        let mut events = self.lock();
        let Some(recent) = events.get_mut(key) else {
            return Ok(());
        };
        self.prune(recent, now);
        if recent.len() < self.limit {
            return Ok(());
        }
        let oldest = recent.front().copied().unwrap_or(now);
        let retry = self.window.saturating_sub(now - oldest);
        Err(AppError::RateLimited {
            retry_after_secs: retry.as_secs().max(1),
        })
    }

    /// Counts one event for `key`.
    pub fn record(&self, key: &str) {
        if self.limit == 0 {
            return;
        }
        let now = Instant::now();
        let mut events = self.lock();
        if events.len() > 100_000 {
            events.retain(|_, recent| {
                recent.retain(|t| now - *t < self.window);
                !recent.is_empty()
            });
        }
        let recent = events.entry(key.to_owned()).or_default();
        self.prune(recent, now);
        recent.push_back(now);
    }

    /// Forgets `key`, e.g. after a successful login.
    pub fn clear(&self, key: &str) {
        self.lock().remove(key);
    }

    fn prune(&self, recent: &mut VecDeque<Instant>, now: Instant) {
        while recent.front().is_some_and(|t| now - *t >= self.window) {
            recent.pop_front();
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, VecDeque<Instant>>> {
        self.events.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_after_the_limit_until_cleared() {
        let throttle = Throttle::new(2, Duration::from_secs(3600));
        throttle.record("alice");
        assert!(throttle.check("alice").is_ok());
        throttle.record("alice");
        assert!(matches!(
            throttle.check("alice"),
            Err(AppError::RateLimited { retry_after_secs }) if retry_after_secs > 3500
        ));
        assert!(throttle.check("bob").is_ok());
        throttle.clear("alice");
        assert!(throttle.check("alice").is_ok());
    }
}
