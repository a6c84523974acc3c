//! HTTP handlers, one module per area.

pub mod auth;
pub mod meta;
pub mod notices;
pub mod photos;
pub mod sync;
pub mod tasks;
pub mod thumbnails;
pub mod tus;
