//! Who is connected right now, counted per person: several tabs or devices are one presence.
//!
//! This is the state of one node. A `std` mutex, because nothing awaits while it is held.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::domain::{PresenceStatus, UserId};

#[derive(Debug, Default)]
struct Entry {
    sockets: usize,
    away: bool,
}

/// Connected sockets per person and the status they chose.
#[derive(Clone, Default)]
pub struct Presence {
    users: Arc<Mutex<HashMap<UserId, Entry>>>,
}

/// What a change of connections did to someone's presence.
#[derive(Debug, PartialEq, Eq)]
pub enum Transition {
    CameOnline,
    WentOffline,
    Unchanged,
}

impl Presence {
    /// A socket of `user` connected.
    pub fn connect(&self, user: UserId) -> Transition {
        let mut users = self.lock();
        let entry = users.entry(user).or_default();
        entry.sockets += 1;
        if entry.sockets == 1 {
            entry.away = false;
            Transition::CameOnline
        } else {
            Transition::Unchanged
        }
    }

    /// A socket of `user` disconnected.
    pub fn disconnect(&self, user: UserId) -> Transition {
        let mut users = self.lock();
        let Some(entry) = users.get_mut(&user) else {
            return Transition::Unchanged;
        };
        entry.sockets = entry.sockets.saturating_sub(1);
        if entry.sockets == 0 {
            users.remove(&user);
            Transition::WentOffline
        } else {
            Transition::Unchanged
        }
    }

    /// Sets online/away for a connected user; returns false when they have no socket here.
    pub fn set_away(&self, user: UserId, away: bool) -> bool {
        match self.lock().get_mut(&user) {
            Some(entry) => {
                entry.away = away;
                true
            }
            None => false,
        }
    }

    pub fn status(&self, user: UserId) -> PresenceStatus {
        match self.lock().get(&user) {
            Some(entry) if entry.away => PresenceStatus::Away,
            Some(_) => PresenceStatus::Online,
            None => PresenceStatus::Offline,
        }
    }

    pub fn is_online(&self, user: UserId) -> bool {
        self.lock().contains_key(&user)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<UserId, Entry>> {
        // A panic while holding this lock cannot leave the map inconsistent (every update is a
        // single step), so a poisoned lock is still safe to use.
        self.users.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn several_sockets_are_one_presence() {
        let presence = Presence::default();
        let user = UserId::new();
        assert_eq!(presence.connect(user), Transition::CameOnline);
        assert_eq!(presence.connect(user), Transition::Unchanged);
        assert!(presence.set_away(user, true));
        assert_eq!(presence.status(user), PresenceStatus::Away);
        assert_eq!(presence.disconnect(user), Transition::Unchanged);
        assert_eq!(presence.disconnect(user), Transition::WentOffline);
        assert_eq!(presence.status(user), PresenceStatus::Offline);
    }
}
