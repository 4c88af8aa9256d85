//! Who is typing where, so that "typing…" ends even when a client vanishes without saying so.
//!
//! Each start gets a generation number; the expiry task only clears the entry if no newer start
//! came in meanwhile. A `std` mutex: nothing awaits while it is held.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::domain::{ChatId, UserId};

#[derive(Clone, Default)]
pub struct TypingTracker {
    inner: Arc<Mutex<State>>,
}

#[derive(Default)]
struct State {
    next: u64,
    typing: HashMap<(ChatId, UserId), u64>,
}

impl TypingTracker {
    /// Records a start; returns its generation and whether the person was already typing.
    pub fn start(&self, chat: ChatId, user: UserId) -> (u64, bool) {
        let mut state = self.lock();
        state.next += 1;
        let generation = state.next;
        let was_typing = state.typing.insert((chat, user), generation).is_some();
        (generation, was_typing)
    }

    /// Clears an entry; true when the person was typing.
    pub fn stop(&self, chat: ChatId, user: UserId) -> bool {
        self.lock().typing.remove(&(chat, user)).is_some()
    }

    /// Clears the entry only if `generation` is still the latest start; true when it did.
    pub fn expire(&self, chat: ChatId, user: UserId, generation: u64) -> bool {
        let mut state = self.lock();
        if state.typing.get(&(chat, user)) == Some(&generation) {
            state.typing.remove(&(chat, user));
            true
        } else {
            false
        }
    }

    /// Clears every entry of `user`; returns the chats they were typing in.
    pub fn stop_all(&self, user: UserId) -> Vec<ChatId> {
        let mut state = self.lock();
        let chats: Vec<ChatId> = state
            .typing
            .keys()
            .filter(|(_, u)| *u == user)
            .map(|(c, _)| *c)
            .collect();
        for chat in &chats {
            state.typing.remove(&(*chat, user));
        }
        chats
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_old_expiry_does_not_end_a_newer_start() {
        let tracker = TypingTracker::default();
        let (chat, user) = (ChatId::new(), UserId::new());
        let (first, was) = tracker.start(chat, user);
        assert!(!was);
        let (_, was) = tracker.start(chat, user);
        assert!(was);
        assert!(!tracker.expire(chat, user, first));
        assert_eq!(tracker.stop_all(user), vec![chat]);
        assert!(!tracker.stop(chat, user));
    }
}
