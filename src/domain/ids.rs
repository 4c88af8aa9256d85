//! Typed ids: a `UserId` cannot be passed where a `ChatId` is expected.
//!
//! Ids are UUID v7 (sortable by creation time), stored as text so that both databases hold them
//! the same way.

use std::fmt;
use std::marker::PhantomData;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sqlx::any::{Any, AnyTypeInfo};
use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use uuid::Uuid;

/// An id of the entity `T`.
pub struct Id<T> {
    uuid: Uuid,
    kind: PhantomData<fn() -> T>,
}

pub enum UserKind {}
pub enum SessionKind {}
pub enum ContactKind {}
pub enum ChatKind {}
pub enum MemberKind {}
pub enum MessageKind {}
pub enum FileKind {}

pub type UserId = Id<UserKind>;
pub type SessionId = Id<SessionKind>;
pub type ContactId = Id<ContactKind>;
pub type ChatId = Id<ChatKind>;
pub type MemberId = Id<MemberKind>;
pub type MessageId = Id<MessageKind>;
pub type FileId = Id<FileKind>;

impl<T> Id<T> {
    /// A new time-ordered id.
    pub fn new() -> Self {
        Self::from_uuid(Uuid::now_v7())
    }

    pub fn from_uuid(uuid: Uuid) -> Self {
        Id {
            uuid,
            kind: PhantomData,
        }
    }

    pub fn uuid(&self) -> Uuid {
        self.uuid
    }

    /// Calls `use_text` with the text form (lowercase, hyphenated), written on the stack
    /// without going through `fmt`: ids are bound into nearly every statement and serialized
    /// into every event, and `to_string()` cost ~2% of the server's CPU under load
    /// (docs/BENCHMARKS.md, session 16).
    pub fn with_text<R>(&self, use_text: impl FnOnce(&str) -> R) -> R {
        use_text(
            self.uuid
                .hyphenated()
                .encode_lower(&mut [0; uuid::fmt::Hyphenated::LENGTH]),
        )
    }

    /// Parses the text form; `None` when it is not a UUID.
    pub fn parse(text: &str) -> Option<Self> {
        Uuid::try_parse(text).ok().map(Self::from_uuid)
    }
}

impl<T> Default for Id<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> Clone for Id<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for Id<T> {}
impl<T> PartialEq for Id<T> {
    fn eq(&self, other: &Self) -> bool {
        self.uuid == other.uuid
    }
}
impl<T> Eq for Id<T> {}
impl<T> std::hash::Hash for Id<T> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.uuid.hash(state)
    }
}
impl<T> PartialOrd for Id<T> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl<T> Ord for Id<T> {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.uuid.cmp(&other.uuid)
    }
}

impl<T> fmt::Display for Id<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.with_text(|text| f.write_str(text))
    }
}

impl<T> fmt::Debug for Id<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl<T> FromStr for Id<T> {
    type Err = uuid::Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Uuid::try_parse(s).map(Self::from_uuid)
    }
}

impl<T> Serialize for Id<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.with_text(|text| serializer.serialize_str(text))
    }
}

impl<'de, T> Deserialize<'de> for Id<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Self::parse(&text).ok_or_else(|| serde::de::Error::custom("must be a UUID"))
    }
}

impl<T> sqlx::Type<Any> for Id<T> {
    fn type_info() -> AnyTypeInfo {
        <String as sqlx::Type<Any>>::type_info()
    }
    fn compatible(ty: &AnyTypeInfo) -> bool {
        <String as sqlx::Type<Any>>::compatible(ty)
    }
}

impl<T> sqlx::Encode<'_, Any> for Id<T> {
    fn encode_by_ref(
        &self,
        buf: &mut <Any as sqlx::Database>::ArgumentBuffer,
    ) -> Result<IsNull, BoxDynError> {
        <String as sqlx::Encode<Any>>::encode(self.with_text(str::to_owned), buf)
    }
}

impl<'r, T> sqlx::Decode<'r, Any> for Id<T> {
    fn decode(value: <Any as sqlx::Database>::ValueRef<'r>) -> Result<Self, BoxDynError> {
        let text = <&str as sqlx::Decode<Any>>::decode(value)?;
        Ok(Self::from_str(text)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_through_text_and_sort_by_creation() {
        let first = UserId::new();
        let second = UserId::new();
        assert!(first < second);
        assert_eq!(UserId::parse(&first.to_string()), Some(first));
        assert_eq!(UserId::parse("not-a-uuid"), None);
    }

    #[test]
    fn every_text_form_is_the_lowercase_hyphenated_uuid() {
        let id = ChatId::new();
        let expected = id.uuid().hyphenated().to_string();
        assert_eq!(id.to_string(), expected);
        assert_eq!(format!("{id:?}"), expected);
        assert_eq!(
            serde_json::to_string(&id).ok(),
            Some(format!("\"{expected}\""))
        );
        assert_eq!(id.with_text(str::to_owned), expected);
    }
}
