//! Sync between a device store and the server (DESIGN §4): the protocol messages, and applying
//! what the server answers (push results, pull pages) to the device store.

pub mod protocol;

#[cfg(feature = "client")]
pub mod client;
#[cfg(feature = "client")]
mod upload;
