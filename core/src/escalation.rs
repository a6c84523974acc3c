//! 督办 by the server (issue 16): a case the unit holds past its deadline is escalated to the
//! area above once for every stretch of working time its category allows (`escalate_after`,
//! e.g. `2d`), up to the city; a supervisor's own escalations count toward it. The server
//! decides with [`due`] and pushes the operation as [`SYSTEM_ACTOR`], with an id made from the
//! case and the level ([`op_id`]) so two instances, or a restart, escalate a case once.

use crate::area::AreaTree;
use crate::model::Case;
use crate::reference::ReferenceIndex;
use crate::workflow::{self, Action, Role, Status};

/// The user id the server acts under for what it does by itself (automatic escalation).
pub const SYSTEM_ACTOR: &str = "system";

/// What the system actor is called, in Chinese and in English.
pub const SYSTEM_ACTOR_NAME: (&str, &str) = ("系统自动督办", "Automatic escalation");

/// The device id of the server's own operations.
pub const SYSTEM_DEVICE: &str = "server";

/// How many escalations are of use for a case: up to the city (the levels above its area), one
/// for a case outside every area.
pub fn max_levels(case: &Case, areas: &AreaTree) -> u32 {
    match case.area_id.as_deref() {
        Some(a) if areas.get(a).is_some() => areas.ancestors(a).len().saturating_sub(1) as u32,
        _ => 1,
    }
}

/// Should the server escalate `case` once more at `now_ms`? Yes when its unit holds it past
/// the deadline by more stretches of its category's `escalate_after` (working time) than it
/// has been escalated, and a level above is left.
pub fn due(case: &Case, index: &ReferenceIndex, now_ms: i64) -> bool {
    // Only from the states the transition table escalates (not while the unit's request to hand
    // the case back waits for the office: the office decides that first).
    if !Status::DEADLINE_RUNNING.contains(&case.status)
        || workflow::find(Some(case.status), Action::Escalate, Role::Supervisor).is_none()
    {
        return false;
    }
    let (Some(deadline), Ok(category)) = (case.deadline_ms, index.category(&case.category)) else {
        return false;
    };
    let Some(after) = category.escalate_after else {
        return false;
    };
    let cap = max_levels(case, &index.areas);
    if case.escalations >= cap {
        return false;
    }
    // The (escalations + 1)th stretch past the deadline has run out.
    let mut at = deadline;
    for _ in 0..=case.escalations {
        match index.calendar.add(at, after) {
            Ok(t) if t > at => at = t,
            _ => return false,
        }
    }
    at <= now_ms
}

/// The id of the server's `level`th escalation of `case` (1-based): the same on every instance.
pub fn op_id(case: uuid::Uuid, level: u32) -> uuid::Uuid {
    crate::model::name_based_id(&format!("xuncha escalate {case} {level}"))
}

/// The note on an automatic escalation, in Chinese (the timeline's language).
pub fn reason(case: &Case, index: &ReferenceIndex) -> String {
    let after = index
        .category(&case.category)
        .ok()
        .and_then(|c| c.escalate_after)
        .map(|d| d.to_string())
        .unwrap_or_default();
    let to = case
        .area_id
        .as_deref()
        .and_then(|a| index.areas.above(a, case.escalations as usize + 1))
        .map(|a| index.areas.name(a, crate::Lang::ZhCn))
        .unwrap_or_else(|| "上级".into());
    format!("逾期超过{}未整改，自动提级至{}督办", after_zh(&after), to)
}

fn after_zh(spec: &str) -> String {
    if let Some(d) = spec.strip_suffix('d') {
        format!("{d}个工作日")
    } else if let Some(h) = spec.strip_suffix('h') {
        format!("{h}个工作小时")
    } else {
        spec.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::area::Area;
    use crate::calendar::DeadlineSpec;
    use crate::reference::{Category, CategoryClass, ReferenceData};

    const H: i64 = 3_600_000;

    fn index(after: Option<DeadlineSpec>) -> ReferenceIndex {
        let area = |id: &str, parent: Option<&str>| Area {
            id: id.into(),
            name: id.into(),
            name_en: String::new(),
            parent_id: parent.map(Into::into),
        };
        let data = ReferenceData {
            areas: vec![
                area("city", None),
                area("d1", Some("city")),
                area("s1", Some("d1")),
            ],
            classes: vec![CategoryClass {
                code: "01".into(),
                name: "市容".into(),
                name_en: String::new(),
            }],
            categories: vec![Category {
                code: "0101".into(),
                name: "暴露垃圾".into(),
                name_en: String::new(),
                deadline: DeadlineSpec::Hours(4),
                first_response: None,
                urgent: false,
                deduction: 0.0,
                escalate_after: after,
            }],
            ..ReferenceData::default()
        };
        ReferenceIndex::new(&data)
    }

    fn case(status: Status, deadline: i64, escalations: u32, area: Option<&str>) -> Case {
        crate::model::sample_case(status, None, Some(deadline), escalations, area)
    }

    #[test]
    fn one_escalation_per_stretch_past_the_deadline_up_to_the_city() {
        let after = DeadlineSpec::Days(2);
        let idx = index(Some(after));
        // A Monday 10:00 in Beijing (2026-11-30T02:00Z).
        let deadline = 1_796_004_000_000;
        let first = idx.calendar.add(deadline, after).expect("t1");
        let second = idx.calendar.add(first, after).expect("t2");
        assert!(first - deadline >= 48 * H, "working days, not wall hours");
        let c = |n, now| {
            due(
                &case(Status::Dispatched, deadline, n, Some("s1")),
                &idx,
                now,
            )
        };
        assert!(!c(0, first - 1), "not yet two working days late");
        assert!(c(0, first), "two working days late: to the district");
        assert!(!c(1, second - 1), "already escalated once");
        assert!(c(1, second), "four working days: to the city");
        assert!(!c(2, second + 500 * H), "nothing above the city");
        // Not while the unit does not hold it, nor while its request to hand it back waits
        // (the table has no 督办 there: the watch would be refused every minute), nor without
        // the category's setting.
        for status in [Status::Rectified, Status::ReturnRequested] {
            assert!(
                !due(
                    &case(status, deadline, 0, Some("s1")),
                    &idx,
                    deadline + 100 * H
                ),
                "{status:?}"
            );
        }
        assert!(!due(
            &case(Status::Dispatched, deadline, 0, Some("s1")),
            &index(None),
            deadline + 100 * H
        ));
        // A case outside every area is escalated once.
        let outside = case(Status::Dispatched, deadline, 1, None);
        assert!(!due(&outside, &idx, deadline + 500 * H));
    }

    #[test]
    fn the_server_names_each_escalation_the_same_everywhere() {
        let id = uuid::Uuid::now_v7();
        assert_eq!(op_id(id, 1), op_id(id, 1));
        assert_ne!(op_id(id, 1), op_id(id, 2));
        assert_eq!(op_id(id, 1).get_version_num(), 8);
        let idx = index(Some(DeadlineSpec::Days(2)));
        let c = case(Status::Dispatched, 0, 0, Some("s1"));
        assert_eq!(
            reason(&c, &idx),
            "逾期超过2个工作日未整改，自动提级至d1督办"
        );
    }
}
