//! The Open311 clients an admin lets post citizen reports: each has a name and an API key (shown
//! once, kept only as its SHA-256), and posts from a device of its own under the one citizen
//! reporter, so the photos it sends and the operations it makes are told apart per client.

use xuncha_core::reference::User;
use xuncha_core::scope::{CITIZEN_REPORTER, CITIZEN_REPORTER_NAME};
use xuncha_core::store::sha256_hex;
use xuncha_core::workflow::Role;

use crate::state::AppState;

/// The HLC node of reports made on citizens' behalf (a phone's node is its own random number).
pub const HLC_NODE: u64 = 311;

/// The device a client's reports come from.
pub fn device_of(client: &str) -> String {
    format!("{}{client}", crate::auth::OPEN311_DEVICE_PREFIX)
}

/// Issue a client's API key: the citizen reporter is made on first use (it cannot sign in: its
/// password is a random one nobody is told, and it is disabled), the client's device registered,
/// and the key's hash kept. Returns the key, which is shown this once.
pub fn issue_key(state: &AppState, name: &str) -> Result<String, xuncha_core::Error> {
    let name = name.trim();
    if name.is_empty()
        || name.chars().count() > 64
        || name.chars().any(|c| c.is_control() || c == ':')
    {
        return Err(xuncha_core::Error::InvalidField {
            field: "name",
            reason: "a client name is 1 to 64 characters, without ':' or control characters".into(),
        });
    }
    let store = &state.store;
    let now = state.now_ms();
    let refuse = |reason: &str| xuncha_core::Error::InvalidField {
        field: "user_id",
        reason: reason.into(),
    };
    match store.user(CITIZEN_REPORTER)? {
        // The citizen reporter, as made here: disabled, an inspector.
        Some(u) if u.disabled && u.user.role == Role::Inspector => {}
        Some(_) => {
            return Err(refuse(
                "a user 'citizen' exists and is not the disabled citizen reporter: Open311 cannot report as them (their cases would be published)",
            ));
        }
        None => {
            let hash = crate::auth::hash_password(&crate::auth::new_token())
                .map_err(|e| xuncha_core::Error::Database(e.message_en))?;
            store.create_user(
                &User {
                    id: CITIZEN_REPORTER.into(),
                    name: CITIZEN_REPORTER_NAME.0.into(),
                    role: Role::Inspector,
                    unit_id: None,
                    area_id: None,
                },
                &hash,
            )?;
            store.set_disabled(CITIZEN_REPORTER, true)?;
        }
    }
    let device = store.register_device(&device_of(name), CITIZEN_REPORTER, name, now)?;
    if device.user_id != CITIZEN_REPORTER {
        return Err(refuse("the client's device belongs to another user"));
    }
    let key = crate::auth::new_token();
    store.create_open311_key(name, &sha256_hex(key.as_bytes()), now)?;
    Ok(key)
}
