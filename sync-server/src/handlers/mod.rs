//! HTTP handlers, one module per area.

pub mod auth;
pub mod meta;
pub mod notices;
pub mod photos;
pub mod rounds;
pub mod sync;
pub mod thumbnails;
pub mod tus;
