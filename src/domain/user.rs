//! The parsed forms of what people type about themselves.

use std::collections::HashSet;
use std::sync::LazyLock;

use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// 3-30 characters of `[A-Za-z0-9_]`; unique ignoring case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Username(String);

impl Username {
    pub fn parse(raw: &str) -> Result<Self, AppError> {
        let len = raw.chars().count();
        if !(3..=30).contains(&len) {
            return Err(AppError::invalid("username", "must be 3 to 30 characters"));
        }
        if !raw.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(AppError::invalid(
                "username",
                "may contain only letters, digits and underscores",
            ));
        }
        Ok(Username(raw.to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// The form uniqueness is checked on.
    pub fn folded(&self) -> String {
        self.0.to_ascii_lowercase()
    }
}

/// An email address, stored lower-case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Self, AppError> {
        let email = raw.trim().to_lowercase();
        let invalid = || AppError::invalid("email", "must be a valid email address");
        if email.len() > 254 || email.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(invalid());
        }
        let (local, domain) = email.split_once('@').ok_or_else(invalid)?;
        let domain_ok = domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains('@');
        if local.is_empty() || local.len() > 64 || !domain_ok {
            return Err(invalid());
        }
        Ok(Email(email))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

static COMMON_PASSWORDS: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    include_str!("../../assets/common-passwords.txt")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect()
});

/// A new password: 8-128 characters and not among the 10,000 most common ones.
#[derive(Clone)]
pub struct Password(String);

impl Password {
    pub fn parse(raw: &str, field: &str) -> Result<Self, AppError> {
        let len = raw.chars().count();
        if !(8..=128).contains(&len) {
            return Err(AppError::invalid(field, "must be 8 to 128 characters"));
        }
        if COMMON_PASSWORDS.contains(raw) || COMMON_PASSWORDS.contains(raw.to_lowercase().as_str())
        {
            return Err(AppError::invalid(
                field,
                "is too common; choose one that is harder to guess",
            ));
        }
        Ok(Password(raw.to_owned()))
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password([redacted])")
    }
}

/// A display name: 1-64 characters, no control characters, trimmed.
#[derive(Debug, Clone)]
pub struct DisplayName(String);

impl DisplayName {
    pub fn parse(raw: &str) -> Result<Self, AppError> {
        let name = raw.trim();
        let len = name.chars().count();
        if !(1..=64).contains(&len) {
            return Err(AppError::invalid(
                "displayName",
                "must be 1 to 64 characters",
            ));
        }
        if name.chars().any(char::is_control) {
            return Err(AppError::invalid(
                "displayName",
                "must not contain control characters",
            ));
        }
        Ok(DisplayName(name.to_owned()))
    }
    pub fn into_inner(self) -> String {
        self.0
    }
}

/// A short biography: at most 500 characters.
#[derive(Debug, Clone)]
pub struct Bio(String);

impl Bio {
    pub fn parse(raw: &str) -> Result<Self, AppError> {
        if raw.chars().count() > 500 {
            return Err(AppError::invalid("bio", "must be at most 500 characters"));
        }
        if raw.chars().any(|c| c.is_control() && c != '\n') {
            return Err(AppError::invalid(
                "bio",
                "must not contain control characters",
            ));
        }
        Ok(Bio(raw.to_owned()))
    }
    pub fn into_inner(self) -> String {
        self.0
    }
}

/// What a person is allowed to do on the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    User,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::User => "user",
            Role::Admin => "admin",
        }
    }
    pub fn from_db(text: &str) -> Role {
        if text == "admin" {
            Role::Admin
        } else {
            Role::User
        }
    }
}

/// Who may see someone's last-seen time and online status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LastSeenVisibility {
    Everyone,
    Contacts,
    Nobody,
}

impl LastSeenVisibility {
    pub fn as_str(self) -> &'static str {
        match self {
            LastSeenVisibility::Everyone => "everyone",
            LastSeenVisibility::Contacts => "contacts",
            LastSeenVisibility::Nobody => "nobody",
        }
    }
    pub fn from_db(text: &str) -> Self {
        match text {
            "contacts" => LastSeenVisibility::Contacts,
            "nobody" => LastSeenVisibility::Nobody,
            _ => LastSeenVisibility::Everyone,
        }
    }
}

/// Presence as others see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PresenceStatus {
    Online,
    Away,
    Offline,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_follow_the_contract() {
        assert!(Username::parse("al").is_err());
        assert!(Username::parse("alice_01").is_ok());
        assert!(Username::parse("alice-01").is_err());
        assert!(Username::parse(&"a".repeat(31)).is_err());
        assert_eq!(
            Username::parse("Alice").map(|u| u.folded()).ok(),
            Some("alice".into())
        );
    }

    #[test]
    fn emails_are_lower_cased_and_checked() {
        assert_eq!(
            Email::parse(" Bob@Example.COM ").map(|e| e.0).ok(),
            Some("bob@example.com".into())
        );
        assert!(Email::parse("bob").is_err());
        assert!(Email::parse("bob@localhost").is_err());
        assert!(Email::parse("a b@example.com").is_err());
    }

    #[test]
    fn common_and_short_passwords_are_refused() {
        assert!(Password::parse("password", "password").is_err());
        assert!(Password::parse("12345678", "password").is_err());
        assert!(Password::parse("short", "password").is_err());
        assert!(Password::parse("correct horse battery staple", "password").is_ok());
        assert!(COMMON_PASSWORDS.len() >= 9_900);
    }
}
