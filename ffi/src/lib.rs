//! `xuncha-ffi`: the uniffi surface of `xuncha-core` for the Android and iOS apps.
//!
//! Not built yet: the exported surface arrives with the issue "Mobile: Kotlin bindings and the
//! Android app". Until then this crate only links the core, so the workspace layout is final.

#![forbid(unsafe_code)]

pub use xuncha_core;
