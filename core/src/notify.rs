//! Notifications (issue 16): what is worth telling whom, decided once here for the server (which
//! raises them and delivers them outward) and the devices (which list them).
//!
//! - A case dispatched (or sent back) to a unit, urged (催办) or escalated (督办) tells the unit's
//!   staff; an escalation also the supervisors of the level it went to.
//! - A case its unit holds tells the unit's staff once when a share of its time has passed
//!   (临期, [`NoticeSettings::warn_at`], 75 % by default) and once when it goes overdue; an overdue
//!   one also its area's supervisors (the city office's where no area has any).
//! - Each notice has an id made from what it is about ([`event_id`]: the kind, the case, and the
//!   operation or the deadline), so raising it again — a second watch, a second instance, a
//!   restart — changes nothing; each person's copy has its own id ([`notice_id`]).

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::Lang;
use crate::model::{Case, Event};
use crate::reference::{ReferenceIndex, User};
use crate::workflow::{Action, Role, Status};

/// What a notice is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum NoticeKind {
    /// Dispatched to the unit (or sent back to it for rework, or reopened).
    Dispatched,
    /// A share of the time to rectify has passed (临期).
    DeadlineNear,
    /// Past the deadline, not rectified (逾期).
    Overdue,
    /// 催办.
    Urged,
    /// 督办.
    Escalated,
}

impl NoticeKind {
    /// Every kind.
    pub const ALL: [NoticeKind; 5] = [
        NoticeKind::Dispatched,
        NoticeKind::DeadlineNear,
        NoticeKind::Overdue,
        NoticeKind::Urged,
        NoticeKind::Escalated,
    ];

    /// Stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            NoticeKind::Dispatched => "dispatched",
            NoticeKind::DeadlineNear => "deadline_near",
            NoticeKind::Overdue => "overdue",
            NoticeKind::Urged => "urged",
            NoticeKind::Escalated => "escalated",
        }
    }

    /// From its stable name.
    pub fn parse(s: &str) -> Option<NoticeKind> {
        NoticeKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// What it is called on screens and in messages.
    pub fn label(self, lang: Lang) -> &'static str {
        let (zh, en) = match self {
            NoticeKind::Dispatched => ("新派遣", "Dispatched"),
            NoticeKind::DeadlineNear => ("临期提醒", "Deadline near"),
            NoticeKind::Overdue => ("逾期提醒", "Overdue"),
            NoticeKind::Urged => ("催办", "Urged"),
            NoticeKind::Escalated => ("督办", "Escalated"),
        };
        lang.pick(zh, en)
    }
}

/// A city's notice settings (reference data, `notices`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct NoticeSettings {
    /// The share of a case's time to rectify after which its unit is warned (临期), e.g. 0.75.
    pub warn_at: f64,
}

impl Default for NoticeSettings {
    fn default() -> Self {
        NoticeSettings { warn_at: 0.75 }
    }
}

impl NoticeSettings {
    /// A share strictly between 0 and 1.
    pub fn validate(&self) -> Result<(), String> {
        if self.warn_at.is_finite() && self.warn_at > 0.0 && self.warn_at < 1.0 {
            Ok(())
        } else {
            Err("notices.warn_at must be a share between 0 and 1, e.g. 0.75".into())
        }
    }
}

/// One notice to one person, as the server keeps it and devices pull it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Notice {
    /// This person's copy.
    pub id: Uuid,
    /// The event: the same for every person told and every channel it goes out on.
    pub event_id: Uuid,
    /// What it is about.
    pub kind: NoticeKind,
    /// The case.
    pub case_id: Uuid,
    /// Its title, e.g. 逾期提醒.
    pub title: String,
    /// The message, zh-CN: source, case number, category, place, dispatch time, deadline.
    pub text: String,
    /// When it was raised (server time, UTC ms).
    pub created_ms: i64,
    /// Its place in the person's list (the server's order; pull after it).
    pub seq: i64,
    /// Read (on any of the person's devices or in the console).
    #[serde(default)]
    pub read: bool,
}

/// What a notice says, before it is addressed: the fields every channel renders.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Message {
    /// The event id ([`event_id`]).
    pub id: Uuid,
    /// What it is about.
    pub kind: NoticeKind,
    /// The case.
    pub case_id: Uuid,
    /// 案卷号.
    pub case_no: Option<String>,
    /// Where the case came from: 巡查上报, 市民随手拍, …
    pub source: String,
    /// The category's name.
    pub category: String,
    /// The place: address, else site.
    pub place: String,
    /// The unit that holds it.
    pub unit: String,
    /// When it was dispatched (the current deadline set), UTC ms.
    pub dispatched_ms: Option<i64>,
    /// The deadline, UTC ms.
    pub deadline_ms: Option<i64>,
    /// The supervisor's note (催办, 督办), if any.
    pub note: String,
    /// When it was raised, UTC ms.
    pub created_ms: i64,
}

impl Message {
    /// The title, e.g. 逾期提醒.
    pub fn title(&self) -> &'static str {
        self.kind.label(Lang::ZhCn)
    }

    /// The message in one paragraph, zh-CN, times on the city's calendar.
    pub fn text(&self, cal: &crate::calendar::WorkCalendar) -> String {
        let when = |ms: Option<i64>| {
            ms.and_then(|m| {
                cal.zone()
                    .timestamp_millis_opt(m)
                    .single()
                    .map(|t| t.format("%m月%d日 %H:%M").to_string())
            })
            .unwrap_or_else(|| "—".into())
        };
        let mut text = format!(
            "【{}】{} {}｜地点：{}｜责任单位：{}｜派遣：{}｜期限：{}｜来源：{}",
            self.title(),
            self.case_no.as_deref().unwrap_or("（未立案）"),
            self.category,
            if self.place.is_empty() {
                "—"
            } else {
                &self.place
            },
            self.unit,
            when(self.dispatched_ms),
            when(self.deadline_ms),
            self.source
        );
        if !self.note.trim().is_empty() {
            text.push_str("｜说明：");
            text.push_str(self.note.trim());
        }
        text
    }
}

use chrono::TimeZone as _;

/// The notice an accepted event raises, if any.
pub fn on_event(event: &Event) -> Option<NoticeKind> {
    match event.op.body.action() {
        Action::Dispatch | Action::VerifyFail | Action::Reopen => Some(NoticeKind::Dispatched),
        Action::Urge => Some(NoticeKind::Urged),
        Action::Escalate => Some(NoticeKind::Escalated),
        _ => None,
    }
}

/// The deadline notice `case` has earned at `now_ms`: overdue past its deadline, 临期 past
/// `warn_at` of its time; none unless its unit holds it with a deadline running.
pub fn deadline_notice(case: &Case, warn_at: f64, now_ms: i64) -> Option<NoticeKind> {
    if !Status::DEADLINE_RUNNING.contains(&case.status) || case.unit_id.is_none() {
        return None;
    }
    let deadline = case.deadline_ms?;
    if now_ms >= deadline {
        return Some(NoticeKind::Overdue);
    }
    let set = case.deadline_set_ms?;
    let warn = set as f64 + warn_at * (deadline - set).max(0) as f64;
    (now_ms as f64 >= warn).then_some(NoticeKind::DeadlineNear)
}

/// The id of the event `kind` on `case`, anchored on what makes it once: the operation for
/// an event's notice, the deadline for a deadline notice.
pub fn event_id(kind: NoticeKind, case: Uuid, anchor: &str) -> Uuid {
    crate::model::name_based_id(&format!("xuncha notice {} {case} {anchor}", kind.as_str()))
}

/// The id of `user`'s copy of event `event`.
pub fn notice_id(event: Uuid, user: &str) -> Uuid {
    crate::model::name_based_id(&format!("xuncha notice copy {event} {user}"))
}

/// Who is told of `kind` on `case`, from the users directory, by id: the unit's staff; for an
/// overdue case also its area's supervisors (the city office's where no area supervisor holds
/// it); for an escalation the supervisors of the level it went to (the city office's at the
/// top). Nobody twice, never the system or the citizen reporter.
pub fn recipients(
    kind: NoticeKind,
    case: &Case,
    users: &[User],
    index: &ReferenceIndex,
) -> Vec<String> {
    let tree = &index.areas;
    let mut out: Vec<String> = users
        .iter()
        .filter(|u| u.role == Role::UnitStaff && u.unit_id.is_some() && u.unit_id == case.unit_id)
        .map(|u| u.id.clone())
        .collect();
    let is_city = |a: Option<&str>| a.is_none() || a == tree.root();
    let city_office = || {
        users
            .iter()
            .filter(|u| u.role == Role::Supervisor && is_city(u.area_id.as_deref()))
            .map(|u| u.id.clone())
            .collect::<Vec<_>>()
    };
    match kind {
        NoticeKind::Overdue => {
            let area_supervisors: Vec<String> = users
                .iter()
                .filter(|u| u.role == Role::Supervisor && !is_city(u.area_id.as_deref()))
                .filter(|u| {
                    let scope = u.area_id.as_deref().unwrap_or_default();
                    case.area_id
                        .as_deref()
                        .is_some_and(|a| tree.within(a, scope))
                })
                .map(|u| u.id.clone())
                .collect();
            if area_supervisors.is_empty() {
                out.extend(city_office());
            } else {
                out.extend(area_supervisors);
            }
        }
        NoticeKind::Escalated => match case.escalated_to(tree) {
            Some(level) if !is_city(Some(level)) => out.extend(
                users
                    .iter()
                    .filter(|u| u.role == Role::Supervisor && u.area_id.as_deref() == Some(level))
                    .map(|u| u.id.clone()),
            ),
            _ => out.extend(city_office()),
        },
        _ => {}
    }
    out.retain(|u| u != crate::escalation::SYSTEM_ACTOR && u != crate::scope::CITIZEN_REPORTER);
    out.sort();
    out.dedup();
    out
}

/// What a unit's morning list puts a case under (the console's unit view opens on these, in
/// [`Attention::ALL`]'s order): each case once, overdue before due today before urged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Attention {
    /// The deadline falls today (before `day_end_ms`) and has not passed.
    DueToday,
    /// Past the deadline, not rectified.
    Overdue,
    /// Urged (催办) or escalated (督办), and still with the unit.
    Urged,
}

impl Attention {
    /// The order the unit view shows them in.
    pub const ALL: [Attention; 3] = [Attention::DueToday, Attention::Overdue, Attention::Urged];

    /// What the group is called.
    pub fn label(self, lang: Lang) -> &'static str {
        let (zh, en) = match self {
            Attention::DueToday => ("今日到期", "Due today"),
            Attention::Overdue => ("已逾期", "Overdue"),
            Attention::Urged => ("被催办/督办", "Urged or escalated"),
        };
        lang.pick(zh, en)
    }
}

/// The group a case its unit holds belongs under at `now_ms`, the city's day ending at
/// `day_end_ms`; `pressed` says it was urged lately (the unit's notices say so).
pub fn attention(case: &Case, now_ms: i64, day_end_ms: i64, pressed: bool) -> Option<Attention> {
    if !Status::DEADLINE_RUNNING.contains(&case.status) {
        return None;
    }
    match case.deadline_ms {
        Some(d) if d <= now_ms => Some(Attention::Overdue),
        Some(d) if d < day_end_ms => Some(Attention::DueToday),
        _ if pressed || case.escalations > 0 => Some(Attention::Urged),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::area::Area;
    use crate::reference::ReferenceData;

    const H: i64 = 3_600_000;

    fn case(status: Status, set: Option<i64>, deadline: Option<i64>) -> Case {
        crate::model::sample_case(status, set, deadline, 0, Some("s1"))
    }

    #[test]
    fn a_deadline_warns_at_its_share_and_again_when_passed() {
        let c = case(Status::Dispatched, Some(0), Some(8 * H));
        assert_eq!(deadline_notice(&c, 0.75, 6 * H - 1), None);
        assert_eq!(
            deadline_notice(&c, 0.75, 6 * H),
            Some(NoticeKind::DeadlineNear)
        );
        assert_eq!(deadline_notice(&c, 0.75, 8 * H), Some(NoticeKind::Overdue));
        // Not once the unit has rectified, nor before it has a deadline.
        let done = case(Status::Rectified, Some(0), Some(8 * H));
        assert_eq!(deadline_notice(&done, 0.75, 9 * H), None);
        let none = case(Status::Registered, None, None);
        assert_eq!(deadline_notice(&none, 0.75, 9 * H), None);
        // A new deadline (extension) is a new notice; the same deadline the same one.
        let id = c.id;
        let a = event_id(NoticeKind::Overdue, id, &(8 * H).to_string());
        assert_eq!(a, event_id(NoticeKind::Overdue, id, &(8 * H).to_string()));
        assert_ne!(a, event_id(NoticeKind::Overdue, id, &(9 * H).to_string()));
        assert_ne!(notice_id(a, "unit1"), notice_id(a, "unit2"));
    }

    #[test]
    fn the_unit_is_told_and_when_late_the_areas_supervisors() {
        let area = |id: &str, parent: Option<&str>| Area {
            id: id.into(),
            name: id.into(),
            name_en: String::new(),
            parent_id: parent.map(Into::into),
        };
        let user = |id: &str, role: Role, unit: Option<&str>, area: Option<&str>| User {
            id: id.into(),
            name: id.into(),
            role,
            unit_id: unit.map(Into::into),
            area_id: area.map(Into::into),
        };
        let index = ReferenceIndex::new(&ReferenceData {
            areas: vec![
                area("city", None),
                area("d1", Some("city")),
                area("s1", Some("d1")),
                area("d2", Some("city")),
            ],
            ..ReferenceData::default()
        });
        let users = vec![
            user("unit1", Role::UnitStaff, Some("u1"), None),
            user("unit1b", Role::UnitStaff, Some("u1"), None),
            user("unit2", Role::UnitStaff, Some("u2"), None),
            user("city", Role::Supervisor, None, None),
            user("d1sup", Role::Supervisor, None, Some("d1")),
            user("d2sup", Role::Supervisor, None, Some("d2")),
            user("inspector1", Role::Inspector, None, None),
        ];
        let mut c = case(Status::Dispatched, Some(0), Some(8 * H));
        let r = |k, c: &Case, users: &[User]| recipients(k, c, users, &index);
        assert_eq!(r(NoticeKind::Dispatched, &c, &users), ["unit1", "unit1b"]);
        assert_eq!(
            r(NoticeKind::Overdue, &c, &users),
            ["d1sup", "unit1", "unit1b"]
        );
        // Without an area supervisor, the city office hears of it.
        let no_district: Vec<User> = users.iter().filter(|u| u.id != "d1sup").cloned().collect();
        assert_eq!(
            r(NoticeKind::Overdue, &c, &no_district),
            ["city", "unit1", "unit1b"]
        );
        // Escalated once: the district; twice: the city.
        c.escalations = 1;
        assert_eq!(
            r(NoticeKind::Escalated, &c, &users),
            ["d1sup", "unit1", "unit1b"]
        );
        c.escalations = 2;
        assert_eq!(
            r(NoticeKind::Escalated, &c, &users),
            ["city", "unit1", "unit1b"]
        );
    }

    #[test]
    fn a_units_morning_puts_each_case_under_one_heading() {
        let day_end = 24 * H;
        let at = |deadline| case(Status::Dispatched, Some(0), Some(deadline));
        assert_eq!(
            attention(&at(10 * H), 9 * H, day_end, true),
            Some(Attention::DueToday)
        );
        assert_eq!(
            attention(&at(8 * H), 9 * H, day_end, true),
            Some(Attention::Overdue)
        );
        assert_eq!(
            attention(&at(30 * H), 9 * H, day_end, true),
            Some(Attention::Urged)
        );
        assert_eq!(attention(&at(30 * H), 9 * H, day_end, false), None);
        let mut escalated = at(30 * H);
        escalated.escalations = 1;
        assert_eq!(
            attention(&escalated, 9 * H, day_end, false),
            Some(Attention::Urged)
        );
        let done = case(Status::Rectified, Some(0), Some(8 * H));
        assert_eq!(attention(&done, 9 * H, day_end, true), None);
    }

    #[test]
    fn a_message_says_what_where_who_and_by_when() {
        let m = Message {
            id: Uuid::now_v7(),
            kind: NoticeKind::Overdue,
            case_id: Uuid::now_v7(),
            case_no: Some("XC2026-000012".into()),
            source: "巡查上报".into(),
            category: "暴露垃圾".into(),
            place: "东门菜场".into(),
            unit: "城关街道办事处".into(),
            // 2026-12-01 09:00 and 13:00 in Beijing.
            dispatched_ms: Some(1_796_086_800_000),
            deadline_ms: Some(1_796_101_200_000),
            note: String::new(),
            created_ms: 0,
        };
        assert_eq!(
            m.text(&Default::default()),
            "【逾期提醒】XC2026-000012 暴露垃圾｜地点：东门菜场｜责任单位：城关街道办事处｜派遣：12月01日 09:00｜期限：12月01日 13:00｜来源：巡查上报"
        );
    }
}
