//! Opaque cursors: base64url text that clients hand back unchanged. One encoding for history
//! positions (`<createdAt>:<id>`) and sync points (`t:<millis>`).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::domain::{MessageId, Timestamp};
use crate::error::{AppError, AppResult};
use crate::store::{HistoryKey, MessageRow};

fn encode(text: &str) -> String {
    URL_SAFE_NO_PAD.encode(text)
}

/// The text inside a cursor; `field` names the parameter in the error.
fn decode(cursor: &str, field: &str) -> AppResult<String> {
    URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .ok_or_else(|| invalid(field))
}

fn invalid(field: &str) -> AppError {
    AppError::invalid(field, "is not a cursor this server issued")
}

/// The position of the last message of a history page.
pub fn encode_cursor(row: &MessageRow) -> String {
    encode(&format!("{}:{}", row.created_at.millis(), row.id))
}

pub fn decode_cursor(cursor: &str) -> AppResult<HistoryKey> {
    let text = decode(cursor, "cursor")?;
    let (millis, id) = text.split_once(':').ok_or_else(|| invalid("cursor"))?;
    Ok(HistoryKey {
        created_at: Timestamp::from_millis(millis.parse().map_err(|_| invalid("cursor"))?),
        id: MessageId::parse(id).ok_or_else(|| invalid("cursor"))?,
    })
}

/// A sync point.
pub fn encode_since(at: Timestamp) -> String {
    encode(&format!("t:{}", at.millis()))
}

pub fn decode_since(cursor: &str) -> AppResult<Timestamp> {
    let text = decode(cursor, "since")?;
    let millis = text
        .strip_prefix("t:")
        .and_then(|m| m.parse().ok())
        .ok_or_else(|| invalid("since"))?;
    Ok(Timestamp::from_millis(millis))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sync_points_round_trip_and_foreign_text_is_refused() {
        let at = Timestamp::from_millis(1_795_293_961_123);
        assert_eq!(decode_since(&encode_since(at)).ok(), Some(at));
        assert!(decode_since("not base64!").is_err());
        assert!(decode_cursor(&encode_since(at)).is_err());
    }
}
