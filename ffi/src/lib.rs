//! `xuncha-ffi`: the phone's Xuncha, exported through uniffi to Kotlin (Android) and Swift (iOS).
//!
//! Thin by design: `XunchaClient` wraps `xuncha_core::Store` and its sync client; records are flat
//! views of the core's types, with the workflow's words typed (`vocabulary`); every error becomes
//! one `XunchaError` with the core's stable code and its zh-CN and English message. No workflow
//! rule lives here.
//!
//! Bindings: `cargo build -p xuncha-ffi --release`, then
//! `cargo run -p xuncha-ffi --features cli --bin uniffi-bindgen -- generate --language kotlin
//! --out-dir OUT target/release/libxuncha_ffi.so`.

uniffi::setup_scaffolding!();

mod actions;
mod client;
mod error;
mod logging;
mod types;
mod vocabulary;

pub use actions::ActionFields;
pub use client::{CancelToken, SyncListener, XunchaClient, gcj02_to_wgs84, wgs84_to_gcj02};
pub use error::XunchaError;
pub use logging::{LogLevel, LogListener, set_log_listener};
pub use types::*;
pub use vocabulary::*;
