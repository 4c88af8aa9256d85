//! Contacts and blocks.
