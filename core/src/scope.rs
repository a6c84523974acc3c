//! Who may see which case (DESIGN §1). The server enforces it on every pull, push and photo
//! download; devices never decide scope themselves.

use crate::model::{Actor, Case};
use crate::workflow::Role;

/// Can `who` see `case` now?
///
/// - supervisors (and admins) see every case of their city;
/// - unit staff see the cases dispatched to their unit;
/// - inspectors see the cases they reported.
pub fn can_see(who: &Actor, case: &Case) -> bool {
    can_see_keys(who, case.unit_id.as_deref(), &case.reporter_id)
}

/// [`can_see`] from a case's scope keys alone (its unit and reporter), for stores that keep them
/// in columns beside the document.
pub fn can_see_keys(who: &Actor, unit_id: Option<&str>, reporter_id: &str) -> bool {
    match who.role {
        Role::Supervisor | Role::Admin => true,
        Role::UnitStaff => who.unit_id.is_some() && unit_id == who.unit_id.as_deref(),
        Role::Inspector => reporter_id == who.user_id,
    }
}
