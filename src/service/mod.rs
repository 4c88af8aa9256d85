//! Use cases shared by HTTP and Socket.IO: authorize, validate, persist, then notify.
//!
//! Each function takes the [`AppState`](crate::app::AppState) and the caller, returns a wire
//! object or an [`AppError`](crate::error::AppError), and emits events only after its writes
//! have been committed.

pub mod accounts;
pub mod chats;
pub mod contacts;
pub mod credentials;
pub mod files;
pub mod limits;
pub mod messages;
pub mod passwords;
pub mod presence;
pub mod typing;
pub mod users;
