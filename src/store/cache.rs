//! Short-lived copies of the rows that every message and every socket event reads: who is in a
//! chat, whether a session is live, who a user is.
//!
//! Every write of such a row goes through the store, which forgets the copy in the same call,
//! so one server never serves a stale copy after its own write. Other nodes of a cluster write
//! to the same database without telling this one; their changes show here once the copy ages
//! out ([`TTL`]). A read that raced with a write never stores what it read: each write bumps a
//! generation, and a copy is kept only if no write happened while it was being read.

use std::collections::{BTreeMap, HashMap};
use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::chats::ChatMembers;
use super::users::UserRow;
use crate::domain::{ChatId, SessionId, UserId};

/// The copies the store keeps.
pub(super) struct Caches {
    /// Who is in a chat, and its type.
    pub members: TtlCache<ChatId, Arc<ChatMembers>>,
    /// Live sessions: their user and role.
    pub sessions: TtlCache<SessionId, (UserId, String)>,
    pub users: TtlCache<UserId, UserRow>,
    /// A floor under each member's (delivered, read) watermarks in milliseconds. Watermarks
    /// only move forward, so a floor known here stays true (another node can only raise the
    /// real one) and an advance it already covers is answered without the database; only a
    /// membership ending (which drops the real ones) makes it wrong, so that clears it.
    pub watermarks: TtlCache<(ChatId, UserId), (i64, i64)>,
    /// The newest messages of each chat, linked to the one before.
    pub recent: RecentMessages,
}

impl Caches {
    pub(super) fn new() -> Caches {
        Caches {
            members: TtlCache::new(100_000),
            sessions: TtlCache::new(100_000),
            users: TtlCache::new(100_000),
            watermarks: TtlCache::new(100_000),
            recent: RecentMessages::default(),
        }
    }
}

impl Caches {
    pub(super) fn clear(&self) {
        self.members.clear();
        self.sessions.clear();
        self.users.clear();
        self.watermarks.clear();
    }
}

/// Who sent the newest messages of each chat, each linked to the time of the message before it
/// in its chat (the chat's clock when it was stored). A receipt covering `(after, up_to]`
/// concerns the senders of those messages; following the links from `up_to` back to `after`
/// answers without the database, and a missing link (a message stored by another node, or
/// before this process started) sends the question to the database. The facts never change,
/// so no copy goes stale.
#[derive(Default)]
pub(super) struct RecentMessages {
    chats: Mutex<HashMap<ChatId, Links>>,
}

/// A chat's remembered messages: time → (time of the one before, sender).
type Links = BTreeMap<i64, (i64, UserId)>;

/// Messages remembered per chat, and chats remembered in all.
const RECENT_PER_CHAT: usize = 32;
const RECENT_CHATS: usize = 100_000;

impl RecentMessages {
    /// Remembers a stored message: its time, the time of the one before, its sender.
    pub(super) fn record(&self, chat: ChatId, at: i64, before: i64, sender: UserId) {
        let mut chats = self.chats.lock().unwrap_or_else(|e| e.into_inner());
        if chats.len() >= RECENT_CHATS && !chats.contains_key(&chat) {
            chats.clear();
        }
        let recent = chats.entry(chat).or_default();
        recent.insert(at, (before, sender));
        while recent.len() > RECENT_PER_CHAT {
            recent.pop_first();
        }
    }

    /// The senders of the chat's messages in `(after, up_to]`, if every one is remembered.
    pub(super) fn senders_between(
        &self,
        chat: ChatId,
        after: i64,
        up_to: i64,
    ) -> Option<Vec<UserId>> {
        let chats = self.chats.lock().unwrap_or_else(|e| e.into_inner());
        let recent = chats.get(&chat)?;
        let mut senders = Vec::new();
        let mut at = up_to;
        while at > after {
            let (before, sender) = recent.get(&at)?;
            if !senders.contains(sender) {
                senders.push(*sender);
            }
            at = *before;
        }
        Some(senders)
    }
}

/// How long a copy may be served; bounds how late a change made by another node shows.
pub(super) const TTL: Duration = Duration::from_secs(5);

/// A map of copies with an age limit and a size limit.
pub(super) struct TtlCache<K, V> {
    entries: Mutex<HashMap<K, (Instant, V)>>,
    generation: AtomicU64,
    capacity: usize,
}

impl<K: Eq + Hash + Copy, V: Clone> TtlCache<K, V> {
    pub(super) fn new(capacity: usize) -> Self {
        TtlCache {
            entries: Mutex::new(HashMap::new()),
            generation: AtomicU64::new(0),
            capacity,
        }
    }

    /// The copy of `key` if it is young enough.
    pub(super) fn get(&self, key: &K) -> Option<V> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries
            .get(key)
            .filter(|(at, _)| at.elapsed() < TTL)
            .map(|(_, v)| v.clone())
    }

    /// Call before reading the database; pass the result to [`TtlCache::put`].
    pub(super) fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Keeps `value` unless a write happened since `generation` was taken.
    pub(super) fn put(&self, generation: u64, key: K, value: V) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if self.generation.load(Ordering::Acquire) != generation {
            return;
        }
        if entries.len() >= self.capacity {
            entries.retain(|_, (at, _)| at.elapsed() < TTL);
            if entries.len() >= self.capacity {
                entries.clear();
            }
        }
        entries.insert(key, (Instant::now(), value));
    }

    /// Forgets `key` (call on every write of it).
    pub(super) fn forget(&self, key: &K) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        self.generation.fetch_add(1, Ordering::AcqRel);
        entries.remove(key);
    }

    /// Forgets everything (for writes that touch many keys).
    pub(super) fn clear(&self) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        self.generation.fetch_add(1, Ordering::AcqRel);
        entries.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recent_messages_answer_only_when_every_link_is_known() {
        let recent = RecentMessages::default();
        let chat = ChatId::new();
        let (a, b) = (UserId::new(), UserId::new());
        recent.record(chat, 20, 10, b);
        recent.record(chat, 10, 5, a);
        recent.record(chat, 30, 20, a);
        assert_eq!(recent.senders_between(chat, 10, 30), Some(vec![a, b]));
        assert_eq!(recent.senders_between(chat, 20, 30), Some(vec![a]));
        assert_eq!(recent.senders_between(chat, 30, 30), Some(vec![]));
        assert_eq!(recent.senders_between(chat, 5, 30), Some(vec![a, b]));
        // Before 5 is unknown (stored by another node, or before this process started).
        assert_eq!(recent.senders_between(chat, 1, 30), None);
        assert_eq!(recent.senders_between(ChatId::new(), 1, 30), None);
    }

    #[test]
    fn a_write_during_a_read_keeps_the_read_out() {
        let cache: TtlCache<u32, &str> = TtlCache::new(10);
        let before = cache.generation();
        cache.forget(&1);
        cache.put(before, 1, "stale");
        assert_eq!(cache.get(&1), None);
        let now = cache.generation();
        cache.put(now, 1, "fresh");
        assert_eq!(cache.get(&1), Some("fresh"));
        cache.clear();
        assert_eq!(cache.get(&1), None);
    }

    #[test]
    fn a_full_cache_makes_room() {
        let cache: TtlCache<u32, u32> = TtlCache::new(2);
        for i in 0..5 {
            cache.put(cache.generation(), i, i);
        }
        assert_eq!(cache.get(&4), Some(4));
        assert!(cache.entries.lock().map(|e| e.len()).unwrap_or_default() <= 2);
    }
}
