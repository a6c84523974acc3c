//! `xuncha-server`: merges every device's operations with the same transition table the devices
//! use (`xuncha-core`), serves each caller the changes in its scope, and keeps the photos.
//!
//! Layout: [`router`] (routes and layers), [`handlers`] (one module per area), [`state`]
//! (what handlers share), [`auth`] (tokens and passwords), [`apply`] (push logic, written once
//! for every backend), [`store`] (the storage trait and its SQLite backend), [`seed`] (the demo
//! city).

#![forbid(unsafe_code)]

pub mod apply;
pub mod auth;
pub mod error;
pub mod extract;
pub mod handlers;
pub mod metrics;
pub mod router;
pub mod seed;
pub mod state;
pub mod store;

use std::future::Future;

use tokio::net::TcpListener;

pub use state::{AppState, Config};

/// Serve on `listener` until `shutdown` completes (tests pass a listener on port 0).
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router::router(state))
        .with_graceful_shutdown(shutdown)
        .await
}

/// Load the demo city and its users (password `demo`) into an empty server; does nothing if
/// reference data is already there. Returns true if it seeded.
pub fn seed_demo(state: &AppState) -> Result<bool, error::ApiError> {
    let (version, _) = state.store.reference()?;
    if version > 0 {
        return Ok(false);
    }
    let city = seed::demo_city();
    let hash = auth::hash_password(seed::DEMO_PASSWORD)?;
    for u in &city.users {
        if state.store.user(&u.id)?.is_none() {
            state.store.create_user(u, &hash)?;
        }
    }
    state.store.set_reference(&city)?;
    Ok(true)
}
