//! The demo city, for `xuncha-server demo`, the tests and the benchmarks: its reference data and
//! users ([`city`]), a week of sample cases ([`cases`]) and their drawn photos ([`scene`]), its
//! 测评 standard ([`standard`]) and inspection rounds ([`rounds`]).
//! Behind the `demo` feature (on by default): a production build (`--no-default-features`)
//! carries none of it, and nothing a production server runs calls it.

pub mod cases;
pub mod city;
pub mod rounds;
pub mod scene;
pub mod standard;

use crate::auth;
use crate::error::ApiError;
use crate::state::AppState;

/// Load the demo city and its users (password `demo`) into an empty server; does nothing if
/// reference data is already there. Returns true if it seeded.
pub fn seed_demo(state: &AppState) -> Result<bool, ApiError> {
    let (version, _) = state.store.reference()?;
    if version > 0 {
        return Ok(false);
    }
    let city = city::demo_city();
    let hash = auth::hash_password(city::DEMO_PASSWORD)?;
    for u in &city.users {
        if state.store.user(&u.id)?.is_none() {
            state.store.create_user(u, &hash)?;
        }
    }
    state.store.set_reference(&city)?;
    Ok(true)
}
