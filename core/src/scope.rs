//! Who may see which case (DESIGN §1). The server enforces it on every pull, push and photo
//! download; devices never decide scope themselves.

use std::collections::HashSet;

use crate::model::{Actor, Case};
use crate::reference::ReferenceIndex;
use crate::workflow::Role;

/// The keys a case's scope is decided on, as stores keep them in columns beside the document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CaseKeys<'a> {
    /// The responsible unit.
    pub unit_id: Option<&'a str>,
    /// Who reported it.
    pub reporter_id: &'a str,
    /// The area of its place.
    pub area_id: Option<&'a str>,
}

impl<'a> CaseKeys<'a> {
    /// A case's keys.
    pub fn of(case: &'a Case) -> Self {
        CaseKeys {
            unit_id: case.unit_id.as_deref(),
            reporter_id: &case.reporter_id,
            area_id: case.area_id.as_deref(),
        }
    }
}

/// Which cases someone sees, decided once per request from who they are and the city's areas:
///
/// - supervisors and admins of the city office (no area, or the city itself) see every case;
/// - a supervisor or an admin scoped to an area sees the cases whose place lies in its subtree
///   and the cases held by the units that answer to it ([`Reach::Within`]); a city-wide unit's
///   cases elsewhere are not theirs;
/// - unit staff see the cases dispatched to their unit;
/// - inspectors see the cases they reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reach {
    /// Every case of the city.
    Everything,
    /// An area's subtree.
    Within {
        /// The area the person is scoped to.
        area: String,
        /// It and every area below it.
        areas: HashSet<String>,
        /// The units that answer to one of those areas.
        units: HashSet<String>,
    },
    /// One unit's cases.
    Unit(String),
    /// One reporter's cases.
    Reporter(String),
    /// None (unit staff without a unit, or an area the city no longer has).
    Nothing,
}

impl Reach {
    /// The reach of `who`, scoped to `area` (from the users directory) in `index`'s tree.
    pub fn of(who: &Actor, area: Option<&str>, index: &ReferenceIndex) -> Reach {
        match who.role {
            Role::Supervisor | Role::Admin => match area {
                None => Reach::Everything,
                Some(a) if index.areas.root() == Some(a) => Reach::Everything,
                Some(a) if index.areas.get(a).is_none() => Reach::Nothing,
                Some(a) => {
                    let areas = index.areas.subtree(a);
                    Reach::Within {
                        area: a.to_string(),
                        units: index.units_in(&areas),
                        areas,
                    }
                }
            },
            Role::UnitStaff => match &who.unit_id {
                Some(u) => Reach::Unit(u.clone()),
                None => Reach::Nothing,
            },
            Role::Inspector => Reach::Reporter(who.user_id.clone()),
        }
    }

    /// Does this reach hold a case with these keys?
    pub fn sees(&self, keys: CaseKeys<'_>) -> bool {
        match self {
            Reach::Everything => true,
            Reach::Within { areas, units, .. } => {
                keys.area_id.is_some_and(|a| areas.contains(a))
                    || keys.unit_id.is_some_and(|u| units.contains(u))
            }
            Reach::Unit(u) => keys.unit_id == Some(u.as_str()),
            Reach::Reporter(r) => keys.reporter_id == r,
            Reach::Nothing => false,
        }
    }

    /// Does this reach hold `case`?
    pub fn can_see(&self, case: &Case) -> bool {
        self.sees(CaseKeys::of(case))
    }

    /// May someone of this reach hand a case to `unit_id`? An area's supervisors dispatch to
    /// the units of their subtree and to city-wide units (no area, or the city); everyone else
    /// is held by the transition table alone.
    pub fn may_dispatch_to(&self, unit_id: &str, index: &ReferenceIndex) -> bool {
        match self {
            Reach::Within { areas, .. } => match index.unit_area(unit_id) {
                None => true,
                Some(a) => areas.contains(a) || index.areas.root() == Some(a),
            },
            _ => true,
        }
    }

    /// True when nothing can leave this reach but by being deleted: whole-case catch-up pulls
    /// are only for it.
    pub fn is_everything(&self) -> bool {
        matches!(self, Reach::Everything)
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

#[cfg(test)]
mod reach_tests {
    use super::*;
    use crate::area::Area;
    use crate::reference::{ReferenceData, Unit};

    fn index() -> ReferenceIndex {
        let area = |id: &str, parent: Option<&str>| Area {
            id: id.into(),
            name: id.into(),
            name_en: String::new(),
            parent_id: parent.map(Into::into),
        };
        let unit = |id: &str, area: Option<&str>| Unit {
            id: id.into(),
            name: id.into(),
            kind: String::new(),
            area_id: area.map(Into::into),
        };
        ReferenceIndex::new(&ReferenceData {
            areas: vec![
                area("city", None),
                area("east", Some("city")),
                area("east-1", Some("east")),
                area("west", Some("city")),
            ],
            units: vec![
                unit("east-office", Some("east-1")),
                unit("west-office", Some("west")),
                unit("city-wide", None),
                unit("city-bureau", Some("city")),
            ],
            ..ReferenceData::default()
        })
    }

    fn supervisor() -> Actor {
        Actor {
            user_id: "s".into(),
            role: Role::Supervisor,
            unit_id: None,
        }
    }

    fn keys<'a>(area: Option<&'a str>, unit: Option<&'a str>) -> CaseKeys<'a> {
        CaseKeys {
            unit_id: unit,
            reporter_id: "someone",
            area_id: area,
        }
    }

    #[test]
    fn a_district_supervisor_sees_the_districts_places_and_units() {
        let idx = index();
        let east = Reach::of(&supervisor(), Some("east"), &idx);
        assert!(east.sees(keys(Some("east-1"), None)));
        assert!(east.sees(keys(Some("east"), Some("city-wide"))));
        assert!(!east.sees(keys(Some("west"), None)));
        assert!(
            !east.sees(keys(None, None)),
            "outside every area: the city's"
        );
        // A case of the west re-dispatched to an east unit is the east's too.
        assert!(east.sees(keys(Some("west"), Some("east-office"))));
        assert!(!east.sees(keys(Some("west"), Some("city-wide"))));
        assert!(east.may_dispatch_to("east-office", &idx));
        assert!(east.may_dispatch_to("city-wide", &idx));
        assert!(east.may_dispatch_to("city-bureau", &idx));
        assert!(!east.may_dispatch_to("west-office", &idx));
    }

    #[test]
    fn the_city_office_sees_everything_and_a_lost_area_nothing() {
        let idx = index();
        for area in [None, Some("city")] {
            let r = Reach::of(&supervisor(), area, &idx);
            assert!(r.is_everything());
            assert!(r.sees(keys(None, None)));
            assert!(r.may_dispatch_to("west-office", &idx));
        }
        let gone = Reach::of(&supervisor(), Some("removed-district"), &idx);
        assert_eq!(gone, Reach::Nothing);
        assert!(!gone.sees(keys(Some("east"), None)));
        // Unit staff and inspectors are not scoped by area.
        let staff = Actor {
            user_id: "u".into(),
            role: Role::UnitStaff,
            unit_id: Some("west-office".into()),
        };
        let r = Reach::of(&staff, Some("east"), &idx);
        assert!(r.sees(keys(Some("east"), Some("west-office"))));
        assert!(!r.sees(keys(Some("west"), Some("east-office"))));
        let inspector = Actor {
            user_id: "someone".into(),
            role: Role::Inspector,
            unit_id: None,
        };
        assert!(Reach::of(&inspector, None, &idx).sees(keys(Some("west"), None)));
    }
}
