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
    match who.role {
        Role::Supervisor | Role::Admin => true,
        Role::UnitStaff => who.unit_id.is_some() && case.unit_id == who.unit_id,
        Role::Inspector => case.reporter_id == who.user_id,
    }
}
