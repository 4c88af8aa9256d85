//! Pure types and rules: ids, times, and the parsed forms of user input.
//!
//! Nothing here knows about HTTP, SQL or sockets. Input is converted once, at the edge, into these
//! types (`Username::parse`, `Email::parse`, `Password::parse`), so the rest of the code only ever
//! holds valid values.

mod ids;
mod time;
mod user;

pub use ids::{ChatId, ContactId, FileId, Id, MemberId, MessageId, SessionId, UserId};
pub use time::Timestamp;
pub use user::{
    Bio, DisplayName, Email, LastSeenVisibility, Password, PresenceStatus, Role, Username,
};

use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};

/// `bytes` random bytes from the OS generator, base64url without padding.
pub fn random_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buf);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buf)
}

/// SHA-256 of a high-entropy token, hex; how refresh and reset tokens are stored.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}
