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

/// Can `who` see how to reach the citizen behind a citizen report (市民随手拍: name, phone,
/// e-mail)? Supervisors and admins only: unit staff work the case without knowing who reported
/// it, and the contact never travels in the case document that phones pull.
pub fn can_see_reporter_contact(who: &Actor) -> bool {
    matches!(who.role, Role::Supervisor | Role::Admin)
}

/// The reporter of every citizen report that comes through the server's Open311 interface
/// (市民随手拍): one user, so the queue, the boards and the ranking tell a citizen's report from
/// an inspector's, and its scope is an inspector's (it sees what it reported, nothing else).
pub const CITIZEN_REPORTER: &str = "citizen";

/// What the citizen reporter is called, in Chinese and in English.
pub const CITIZEN_REPORTER_NAME: (&str, &str) = ("市民随手拍", "Citizen report");

#[cfg(test)]
mod citizen_tests {
    use super::*;

    #[test]
    fn only_supervisors_and_admins_see_a_citizens_contact() {
        let actor = |role| Actor {
            user_id: "x".into(),
            role,
            unit_id: Some("u1".into()),
        };
        assert!(can_see_reporter_contact(&actor(Role::Supervisor)));
        assert!(can_see_reporter_contact(&actor(Role::Admin)));
        assert!(!can_see_reporter_contact(&actor(Role::UnitStaff)));
        assert!(!can_see_reporter_contact(&actor(Role::Inspector)));
    }
}
