//! 巡查轮次 (issue 17): planned rounds of work, beside the case table in `workflow.rs` and
//! decided the same way on the phone and the server.
//!
//! A round has a kind — 明查 (an announced 测评 check of sites), 暗访 (the same, unannounced and
//! sealed) or 回头看 (re-checks of closed cases) — a period, a due time and its tasks: one per
//! site (or per case, for 回头看), each given to a team of inspectors.
//!
//! - **Who:** a supervisor plans, publishes and closes rounds ([`may`]); a member of a task's
//!   team submits it.
//! - **A round's states:** 进行中 until a supervisor closes it, then 已结束; a task is 待检查
//!   until one of its team submits it, 已检查 after, and 未检查 if the round closed first
//!   ([`TaskState`]). A submission to a closed round, a done task or someone else's task is
//!   refused ([`check_submission`]).
//! - **暗访 is sealed:** the cases it raises are registered but reach no unit — no dispatch, so
//!   no pull, console or notice of a unit shows them — until a supervisor publishes the round
//!   ([`Round::sealed`]); then they are dispatched at once.
//! - **A checklist** records every indicator of the site's type ([`CheckedIndicator`]); each
//!   deduction carries a photo; its score is `standard::site_score`. Each failed indicator with
//!   a category raises one case of it at the site ([`cases_to_raise`]), with an id made from the
//!   task and the indicator, so a replay raises nothing twice.
//! - **Where:** the phone records where it stood; the result says how far that was from the
//!   site and whether it was within the round's distance ([`on_site`]). A check made from the
//!   office is visible, not refused.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::Lang;
use crate::geo::{LatLon, distance_m};
use crate::model::{Location, PhotoRef, name_based_id};
use crate::standard::{Finding, Indicator, points_kept, site_score};
use crate::workflow::{Role, string_enum};

string_enum!(
    /// What a round is for.
    RoundKind {
        /// 明查: an announced 测评 check of sites against the standard.
        Open = "open" / "明查",
        /// 暗访: the same check, unannounced; its cases stay sealed until published.
        Covert = "covert" / "暗访",
        /// 回头看: re-checks of earlier closed cases on site.
        Recheck = "recheck" / "回头看",
    }
);

impl RoundKind {
    /// English name.
    pub fn label_en(self) -> &'static str {
        match self {
            RoundKind::Open => "Announced check",
            RoundKind::Covert => "Undercover check",
            RoundKind::Recheck => "Re-check",
        }
    }
}

string_enum!(
    /// What a person may do to a round.
    RoundAction {
        /// 计划轮次: create a round with its tasks and teams.
        Plan = "plan" / "计划轮次",
        /// 公布: unseal a 暗访 round; its held cases are dispatched.
        Publish = "publish" / "公布",
        /// 结束轮次: no more submissions; tasks left become 未检查.
        Close = "close" / "结束轮次",
        /// 提交检查: submit a task's checklist (or re-check).
        Check = "check" / "提交检查",
    }
);

impl RoundAction {
    /// English name.
    pub fn label_en(self) -> &'static str {
        match self {
            RoundAction::Plan => "Plan a round",
            RoundAction::Publish => "Publish",
            RoundAction::Close => "Close the round",
            RoundAction::Check => "Submit a check",
        }
    }
}

/// Whether a person of `reach` sees a round's plan and results: the city office every round,
/// an area's supervisors the rounds of their subtree; inspectors see only their own tasks
/// (`/v1/tasks`), units nothing of a round but the cases it dispatched to them.
pub fn visible_to(round: &Round, reach: &crate::scope::Reach) -> bool {
    use crate::scope::Reach;
    match reach {
        Reach::Everything => true,
        Reach::Within { areas, .. } => round.area_id.as_ref().is_some_and(|a| areas.contains(a)),
        _ => false,
    }
}

/// Whether a person of `role` may do `action` to a round (a team member submits only their own
/// team's tasks: [`check_submission`]).
pub fn may(role: Role, action: RoundAction) -> bool {
    match action {
        RoundAction::Plan | RoundAction::Publish | RoundAction::Close => role == Role::Supervisor,
        RoundAction::Check => matches!(role, Role::Inspector | Role::Supervisor),
    }
}

string_enum!(
    /// Where a round stands.
    RoundState {
        /// 进行中: tasks out, submissions taken.
        Active = "active" / "进行中",
        /// 暗访未公布: in progress or done, its cases held from the units.
        Sealed = "sealed" / "暗访未公布",
        /// 已结束: closed by a supervisor.
        Closed = "closed" / "已结束",
    }
);

impl RoundState {
    /// English name.
    pub fn label_en(self) -> &'static str {
        match self {
            RoundState::Active => "In progress",
            RoundState::Sealed => "Undercover, unpublished",
            RoundState::Closed => "Closed",
        }
    }
}

string_enum!(
    /// What a 回头看 found at a closed case's place.
    RecheckOutcome {
        /// 整改到位: still fixed.
        Held = "held" / "整改到位",
        /// 复发: the problem is back; the case reopens, counted against the unit and the site.
        Recurred = "recurred" / "复发",
    }
);

impl RecheckOutcome {
    /// English name.
    pub fn label_en(self) -> &'static str {
        match self {
            RecheckOutcome::Held => "Still fixed",
            RecheckOutcome::Recurred => "Recurred",
        }
    }
}

string_enum!(
    /// Where a task stands.
    TaskState {
        /// 待检查: waiting for its team.
        Open = "open" / "待检查",
        /// 已检查: submitted.
        Done = "done" / "已检查",
        /// 未检查: the round closed before anyone checked it.
        Missed = "missed" / "未检查",
    }
);

impl TaskState {
    /// English name.
    pub fn label_en(self) -> &'static str {
        match self {
            TaskState::Open => "To check",
            TaskState::Done => "Checked",
            TaskState::Missed => "Not checked",
        }
    }
}

/// A round of planned work.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Round {
    /// UUIDv7, made when it is planned.
    pub id: Uuid,
    /// Its name, e.g. `2026年12月农贸市场测评`.
    pub name: String,
    /// 明查, 暗访 or 回头看.
    pub kind: RoundKind,
    /// The area it covers (none: the whole city); the planner's own area at most.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub area_id: Option<String>,
    /// First day of its period (the city's calendar).
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date))]
    pub starts_on: NaiveDate,
    /// Last day of its period.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date))]
    pub ends_on: NaiveDate,
    /// When its tasks are due (UTC ms).
    pub due_ms: i64,
    /// A check recorded farther than this from its site is marked 不在现场 (metres).
    pub max_distance_m: f64,
    /// Who planned it.
    pub planned_by: String,
    /// When (server time, UTC ms).
    pub planned_ms: i64,
    /// When a supervisor published it (暗访 only; the others are public from the start).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published_ms: Option<i64>,
    /// When a supervisor closed it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closed_ms: Option<i64>,
}

/// The distance within which a check counts as made on site, unless a round sets another.
pub const DEFAULT_MAX_DISTANCE_M: f64 = 300.0;

impl Round {
    /// 暗访 not yet published: its cases reach no unit.
    pub fn sealed(&self) -> bool {
        self.kind == RoundKind::Covert && self.published_ms.is_none()
    }

    /// Where it stands: sealed first (what matters most to the units), then closed or active.
    pub fn state(&self) -> RoundState {
        if self.sealed() {
            RoundState::Sealed
        } else if self.is_closed() {
            RoundState::Closed
        } else {
            RoundState::Active
        }
    }

    /// When its results are out (the bulletin of that period reports them): when it closed —
    /// or, for a 暗访 round, when it was published if that came later; none while it is open or
    /// sealed.
    pub fn reported_ms(&self) -> Option<i64> {
        if self.sealed() {
            return None;
        }
        let closed = self.closed_ms?;
        Some(closed.max(self.published_ms.unwrap_or(closed)))
    }

    /// Closed: no more submissions.
    pub fn is_closed(&self) -> bool {
        self.closed_ms.is_some()
    }

    /// Whether a supervisor may publish it now: a 暗访 round not yet published.
    pub fn check_publish(&self, role: Role) -> Result<(), Refusal> {
        if !may(role, RoundAction::Publish) {
            return Err(Refusal::NotAllowed(RoundAction::Publish));
        }
        if !self.sealed() {
            return Err(Refusal::NothingToPublish);
        }
        Ok(())
    }

    /// Whether a case its checks raised may be dispatched now: not while it is sealed.
    pub fn check_dispatch(&self) -> Result<(), Refusal> {
        if self.sealed() {
            return Err(Refusal::Sealed);
        }
        Ok(())
    }

    /// Whether a supervisor may close it now.
    pub fn check_close(&self, role: Role) -> Result<(), Refusal> {
        if !may(role, RoundAction::Close) {
            return Err(Refusal::NotAllowed(RoundAction::Close));
        }
        if self.is_closed() {
            return Err(Refusal::RoundClosed);
        }
        Ok(())
    }
}

/// What a task is about.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Target {
    /// Check this site against the standard (明查, 暗访).
    Site {
        /// The site.
        site_id: String,
    },
    /// Re-check this closed case (回头看).
    Case {
        /// The case.
        case_id: Uuid,
    },
}

/// The id of a round's task at `target`: one task per target and round, on every instance.
pub fn task_id(round_id: Uuid, target: &Target) -> Uuid {
    let key = match target {
        Target::Site { site_id } => format!("site:{site_id}"),
        Target::Case { case_id } => format!("case:{case_id}"),
    };
    name_based_id(&format!("xuncha:task:{round_id}:{key}"))
}

/// The id of the case a task's failed indicator `code` raises.
pub fn raised_case_id(task_id: Uuid, code: &str) -> Uuid {
    name_based_id(&format!("xuncha:check-case:{task_id}:{code}"))
}

/// Where a case raised by a site check comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CheckOrigin {
    /// The round.
    pub round_id: Uuid,
    /// The task (site) checked.
    pub task_id: Uuid,
    /// The indicator that failed.
    pub indicator: String,
}

/// One indicator as recorded at a site.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CheckedIndicator {
    /// The indicator's code.
    pub code: String,
    /// What was found.
    pub finding: Finding,
    /// A note (what exactly, where).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub note: String,
    /// Its photos: SHA-256 of photos the submission carries; at least one for a deduction.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub photos: Vec<String>,
}

/// A task of a round, with its result once submitted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Task {
    /// [`task_id`] of its round and target.
    pub id: Uuid,
    /// Its round.
    pub round_id: Uuid,
    /// The site or case.
    pub target: Target,
    /// The user ids of its team.
    pub team: Vec<String>,
    /// The submission, once made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<TaskResult>,
}

impl Task {
    /// Its state in `round`.
    pub fn state(&self, round: &Round) -> TaskState {
        match (&self.result, round.is_closed()) {
            (Some(_), _) => TaskState::Done,
            (None, true) => TaskState::Missed,
            (None, false) => TaskState::Open,
        }
    }
}

/// A submitted checklist (or re-check), as the server keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TaskResult {
    /// The operation that submitted it.
    pub op_id: Uuid,
    /// Who.
    pub by: String,
    /// When, by the phone's clock (UTC ms).
    pub checked_at_ms: i64,
    /// When the server received it.
    pub received_ms: i64,
    /// Where the phone stood.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<Location>,
    /// How far that was from the site (metres), if both are known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub distance_m: Option<f64>,
    /// The indicators (a site check).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub indicators: Vec<CheckedIndicator>,
    /// The photos the indicators (or the re-check) name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub photos: Vec<PhotoRef>,
    /// What a re-check found (回头看).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<RecheckOutcome>,
    /// A note on the whole visit.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub note: String,
}

/// Within the round's distance of the site; none when the phone had no position.
pub fn on_site(distance_m: Option<f64>, round: &Round) -> Option<bool> {
    distance_m.map(|d| d <= round.max_distance_m)
}

/// How far `position` is from `site`.
pub fn distance_from(position: &Location, site: LatLon) -> f64 {
    distance_m(position.point(), site)
}

/// Why a round action or a submission is refused: each with a stable code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.message(Lang::ZhCn))]
pub enum Refusal {
    /// The role may not do this.
    NotAllowed(RoundAction),
    /// The round is closed.
    RoundClosed,
    /// Only a sealed 暗访 round can be published.
    NothingToPublish,
    /// A case of a sealed 暗访 round reaches no unit before the round is published.
    Sealed,
    /// A plan with no task (no site matched, no case chosen).
    NoTasks,
    /// A task without a team.
    NoTeam,
    /// A team member who is not an inspector or a supervisor of the city.
    NotAnInspector(String),
    /// The person is not on the task's team.
    NotOnTeam,
    /// The task was submitted already (by this person or a teammate).
    TaskDone,
    /// A checklist for a re-check task, or a re-check for a site task.
    WrongTask,
    /// An indicator that is not in the standard for the site's type.
    UnknownIndicator(String),
    /// An indicator recorded twice.
    IndicatorTwice(String),
    /// An indicator of the site's type left out.
    Unrecorded(String),
    /// A finding of another kind than the indicator's rule (a count for a pass/fail one …).
    WrongFinding(String),
    /// A deduction without a photo.
    PhotoNeeded(String),
    /// An indicator names a photo the submission does not carry.
    PhotoNotCarried(String),
    /// A re-check without an on-site photo.
    RecheckPhoto,
}

impl Refusal {
    /// Stable code.
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::NotAllowed(_) => "round_not_allowed",
            Refusal::RoundClosed => "round_closed",
            Refusal::NothingToPublish => "round_not_sealed",
            Refusal::Sealed => "round_sealed",
            Refusal::NoTasks => "round_without_tasks",
            Refusal::NoTeam => "task_without_team",
            Refusal::NotAnInspector(_) => "not_an_inspector",
            Refusal::NotOnTeam => "not_on_team",
            Refusal::TaskDone => "task_done",
            Refusal::WrongTask => "wrong_task",
            Refusal::UnknownIndicator(_) => "unknown_indicator",
            Refusal::IndicatorTwice(_) => "indicator_twice",
            Refusal::Unrecorded(_) => "indicator_unrecorded",
            Refusal::WrongFinding(_) => "wrong_finding",
            Refusal::PhotoNeeded(_) => "deduction_needs_photo",
            Refusal::PhotoNotCarried(_) => "photo_not_carried",
            Refusal::RecheckPhoto => "recheck_needs_photo",
        }
    }

    /// A message for a person.
    pub fn message(&self, lang: Lang) -> String {
        let zh = lang == Lang::ZhCn;
        match self {
            Refusal::NotAllowed(a) => {
                if zh {
                    format!("您的角色不能{}", a.label_zh())
                } else {
                    format!("your role may not: {}", a.label_en())
                }
            }
            Refusal::RoundClosed => pick(zh, "该轮次已结束，不再接收提交", "the round is closed"),
            Refusal::NothingToPublish => pick(
                zh,
                "只有尚未公布的暗访轮次可以公布",
                "only an unpublished undercover round can be published",
            ),
            Refusal::Sealed => pick(
                zh,
                "暗访轮次尚未公布，其案件暂不派遣给责任单位",
                "the undercover round is not published yet: its cases are not dispatched",
            ),
            Refusal::NoTasks => pick(
                zh,
                "没有符合条件的点位或案件，轮次不能没有任务",
                "nothing matched: a round needs at least one task",
            ),
            Refusal::NoTeam => pick(zh, "每个任务都须指定检查组", "every task needs a team"),
            Refusal::NotAnInspector(u) => {
                if zh {
                    format!("{u} 不是本市的巡查员或督查员，不能编入检查组")
                } else {
                    format!("{u} is not an inspector or supervisor of the city")
                }
            }
            Refusal::NotOnTeam => pick(
                zh,
                "该点位任务未分配给您所在的检查组",
                "this task is not your team's",
            ),
            Refusal::TaskDone => pick(
                zh,
                "该任务已由检查组提交，不能重复提交",
                "this task was submitted already",
            ),
            Refusal::WrongTask => pick(
                zh,
                "任务类型不符：点位测评与回头看复查不能混用",
                "wrong kind of task for this submission",
            ),
            Refusal::UnknownIndicator(c) => {
                if zh {
                    format!("指标 {c} 不适用于该点位类型")
                } else {
                    format!("indicator {c} does not apply to this site type")
                }
            }
            Refusal::IndicatorTwice(c) => {
                if zh {
                    format!("指标 {c} 重复填写")
                } else {
                    format!("indicator {c} recorded twice")
                }
            }
            Refusal::Unrecorded(c) => {
                if zh {
                    format!("指标 {c} 未填写：测评表须逐项填写")
                } else {
                    format!("indicator {c} left out: every indicator must be recorded")
                }
            }
            Refusal::WrongFinding(c) => {
                if zh {
                    format!("指标 {c} 的记录方式与其计分规则不符")
                } else {
                    format!("indicator {c}: the finding does not fit its scoring rule")
                }
            }
            Refusal::PhotoNeeded(c) => {
                if zh {
                    format!("指标 {c} 有扣分，须附现场照片")
                } else {
                    format!("indicator {c} deducts points: a photo is required")
                }
            }
            Refusal::RecheckPhoto => pick(
                zh,
                "回头看须附现场照片",
                "a re-check needs an on-site photo",
            ),
            Refusal::PhotoNotCarried(c) => {
                if zh {
                    format!("指标 {c} 引用的照片不在本次提交中")
                } else {
                    format!("indicator {c} names a photo the submission does not carry")
                }
            }
        }
    }
}

fn pick(zh: bool, zh_text: &str, en_text: &str) -> String {
    if zh { zh_text } else { en_text }.to_string()
}

/// A plan's name, period and due time, checked: a name of at most `limits::TEXT_CHARS`, a
/// period that does not end before it starts and lasts at most a year, at least one task, and
/// no empty team.
pub fn check_plan(
    role: Role,
    name: &str,
    starts_on: NaiveDate,
    ends_on: NaiveDate,
    tasks: &[Task],
) -> crate::Result<()> {
    if !may(role, RoundAction::Plan) {
        return Err(Refusal::NotAllowed(RoundAction::Plan).into());
    }
    if name.trim().is_empty() {
        return Err(crate::Error::MissingField("name"));
    }
    crate::limits::check_chars("name", name, crate::limits::TEXT_CHARS)?;
    if ends_on < starts_on || (ends_on - starts_on).num_days() > 366 {
        return Err(crate::Error::InvalidField {
            field: "period",
            reason: "the period ends before it starts or lasts over a year".into(),
        });
    }
    if tasks.is_empty() {
        return Err(Refusal::NoTasks.into());
    }
    if tasks.len() > crate::limits::TASKS_PER_ROUND {
        return Err(crate::Error::TooMany {
            field: "tasks",
            max: crate::limits::TASKS_PER_ROUND,
        });
    }
    if tasks.iter().any(|t| t.team.is_empty()) {
        return Err(Refusal::NoTeam.into());
    }
    Ok(())
}

/// The sites a plan picks: those of `types` (every type when empty) that `in_area` accepts,
/// then, when asked, a random [`sample`] of them.
pub fn select_sites<'a>(
    sites: &'a [crate::reference::Site],
    types: &[String],
    in_area: impl Fn(&crate::reference::Site) -> bool,
    size: Option<usize>,
    seed: &str,
) -> Vec<&'a crate::reference::Site> {
    let chosen: Vec<&crate::reference::Site> = sites
        .iter()
        .filter(|s| types.is_empty() || types.contains(&s.kind))
        .filter(|s| in_area(s))
        .collect();
    sample(chosen, size, seed, |s| s.id.clone())
}

/// `size` of `items` at random, as 测评 samples points (all of them when none or more are
/// asked): ranked by an id made from `seed` and each item's `key`, so the same round picks the
/// same ones on every run; kept in their order.
pub fn sample<T>(
    items: Vec<T>,
    size: Option<usize>,
    seed: &str,
    key: impl Fn(&T) -> String,
) -> Vec<T> {
    let Some(n) = size.filter(|n| *n < items.len()) else {
        return items;
    };
    let mut ranked: Vec<(Uuid, usize, T)> = items
        .into_iter()
        .enumerate()
        .map(|(i, t)| {
            (
                name_based_id(&format!("xuncha:sample:{seed}:{}", key(&t))),
                i,
                t,
            )
        })
        .collect();
    ranked.sort_by_key(|(rank, _, _)| *rank);
    ranked.truncate(n);
    ranked.sort_by_key(|(_, i, _)| *i);
    ranked.into_iter().map(|(_, _, t)| t).collect()
}

/// Teams for `n` tasks: the planned teams in turn (task 1 to the first team, task 2 to the
/// second …), so the work is shared evenly.
pub fn share_out(n: usize, teams: &[Vec<String>]) -> Vec<Vec<String>> {
    (0..n)
        .map(|i| {
            if teams.is_empty() {
                Vec::new()
            } else {
                teams[i % teams.len()].clone()
            }
        })
        .collect()
}

/// The indicators of the standard that apply to `site_type`.
pub fn checklist_of<'a>(
    standard: &'a [Indicator],
    site_type: &'a str,
) -> impl Iterator<Item = &'a Indicator> + 'a {
    standard
        .iter()
        .filter(move |i| i.site_types.iter().any(|t| t == site_type))
}

/// Whether `user` (of `role`) may submit `indicators` with `photos` for `task` of `round`, at a
/// site of `site_type` under `standard`: the round open, the task a site task of their team not
/// yet done, every indicator of the type recorded once with a finding its rule scores, and a
/// photo for every deduction, among those submitted.
#[allow(clippy::too_many_arguments)]
pub fn check_submission(
    round: &Round,
    task: &Task,
    user: &str,
    role: Role,
    standard: &[Indicator],
    site_type: &str,
    indicators: &[CheckedIndicator],
    photos: &[PhotoRef],
) -> Result<(), Refusal> {
    check_turn(round, task, user, role)?;
    if !matches!(task.target, Target::Site { .. }) {
        return Err(Refusal::WrongTask);
    }
    let mut seen = std::collections::HashSet::new();
    for c in indicators {
        let Some(ind) = checklist_of(standard, site_type).find(|i| i.code == c.code) else {
            return Err(Refusal::UnknownIndicator(c.code.clone()));
        };
        if !seen.insert(c.code.as_str()) {
            return Err(Refusal::IndicatorTwice(c.code.clone()));
        }
        if !fits(ind, c.finding) {
            return Err(Refusal::WrongFinding(c.code.clone()));
        }
        if deducts(ind, c.finding) && c.photos.is_empty() {
            return Err(Refusal::PhotoNeeded(c.code.clone()));
        }
        if c.photos
            .iter()
            .any(|h| !photos.iter().any(|p| &p.sha256 == h))
        {
            return Err(Refusal::PhotoNotCarried(c.code.clone()));
        }
    }
    if let Some(left) = checklist_of(standard, site_type).find(|i| !seen.contains(i.code.as_str()))
    {
        return Err(Refusal::Unrecorded(left.code.clone()));
    }
    Ok(())
}

/// Whether `user` (of `role`) may submit a re-check of `task` with `photos`: the round open,
/// the task a case task of their team not yet done, and a photo of the place now.
pub fn check_recheck(
    round: &Round,
    task: &Task,
    user: &str,
    role: Role,
    photos: &[PhotoRef],
) -> Result<(), Refusal> {
    check_turn(round, task, user, role)?;
    if !matches!(task.target, Target::Case { .. }) {
        return Err(Refusal::WrongTask);
    }
    if photos.is_empty() {
        return Err(Refusal::RecheckPhoto);
    }
    Ok(())
}

/// 回头看's figures over a round's tasks: (re-checked, still open — recurred).
pub fn recheck_counts(tasks: &[Task]) -> (u32, u32) {
    tasks
        .iter()
        .filter_map(|t| t.result.as_ref()?.outcome)
        .fold((0, 0), |(n, open), o| {
            (n + 1, open + u32::from(o == RecheckOutcome::Recurred))
        })
}

/// Whether `user` may submit anything for `task` now: the round open, the task theirs and open.
pub fn check_turn(round: &Round, task: &Task, user: &str, role: Role) -> Result<(), Refusal> {
    if !may(role, RoundAction::Check) {
        return Err(Refusal::NotAllowed(RoundAction::Check));
    }
    if round.is_closed() {
        return Err(Refusal::RoundClosed);
    }
    if !task.team.iter().any(|m| m == user) {
        return Err(Refusal::NotOnTeam);
    }
    if task.result.is_some() {
        return Err(Refusal::TaskDone);
    }
    Ok(())
}

/// A finding the indicator's rule can score: a pass always; a fail for pass/fail, a count of
/// occurrences for per-occurrence, a count over units for a quota.
pub fn fits(ind: &Indicator, finding: Finding) -> bool {
    use crate::standard::ScoringRule as R;
    matches!(
        (&ind.rule, finding),
        (_, Finding::Pass)
            | (R::PassFail, Finding::Fail)
            | (R::PerOccurrence { .. }, Finding::Occurrences { .. })
            | (R::Quota { .. }, Finding::Counted { .. })
    )
}

/// The finding costs points.
pub fn deducts(ind: &Indicator, finding: Finding) -> bool {
    points_kept(ind, finding) < ind.points.max(0.0)
}

/// The failed indicators that raise a case: those that cost points and name a category, in the
/// checklist's order, with the indicator.
pub fn cases_to_raise<'a>(
    standard: &'a [Indicator],
    indicators: &'a [CheckedIndicator],
) -> Vec<(&'a Indicator, &'a CheckedIndicator)> {
    indicators
        .iter()
        .filter_map(|c| {
            let ind = standard.iter().find(|i| i.code == c.code)?;
            (ind.category.is_some() && deducts(ind, c.finding)).then_some((ind, c))
        })
        .collect()
}

/// A submitted site check's points and points possible.
pub fn task_score(
    standard: &[Indicator],
    site_type: &str,
    indicators: &[CheckedIndicator],
) -> (f64, f64) {
    let findings: Vec<(String, Finding)> = indicators
        .iter()
        .map(|c| (c.code.clone(), c.finding))
        .collect();
    site_score(standard, site_type, &findings)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::PhotoKind;
    use crate::standard::ScoringRule;

    fn standard() -> Vec<Indicator> {
        let ind = |code: &str, rule: ScoringRule, category: Option<&str>| Indicator {
            code: code.into(),
            text: format!("指标{code}"),
            site_types: vec!["公交站台".into()],
            points: 10.0,
            rule,
            category: category.map(str::to_string),
        };
        vec![
            ind("1", ScoringRule::PassFail, Some("0101")),
            ind(
                "2",
                ScoringRule::Quota {
                    per_unit: 2.0,
                    unit_label: "辆公交车".into(),
                    deduct: 4.0,
                },
                None,
            ),
            ind(
                "3",
                ScoringRule::PerOccurrence {
                    deduct: 2.0,
                    cap: 6.0,
                },
                Some("0102"),
            ),
            Indicator {
                site_types: vec!["农贸市场".into()],
                ..ind("9", ScoringRule::PassFail, Some("0101"))
            },
        ]
    }

    fn round(kind: RoundKind) -> Round {
        Round {
            id: Uuid::nil(),
            name: "测评".into(),
            kind,
            area_id: None,
            starts_on: NaiveDate::from_ymd_opt(2026, 12, 1).expect("a date"),
            ends_on: NaiveDate::from_ymd_opt(2026, 12, 7).expect("a date"),
            due_ms: 0,
            max_distance_m: DEFAULT_MAX_DISTANCE_M,
            planned_by: "supervisor1".into(),
            planned_ms: 0,
            published_ms: None,
            closed_ms: None,
        }
    }

    fn task() -> Task {
        let target = Target::Site {
            site_id: "s1".into(),
        };
        Task {
            id: task_id(Uuid::nil(), &target),
            round_id: Uuid::nil(),
            target,
            team: vec!["inspector1".into(), "inspector2".into()],
            result: None,
        }
    }

    fn photo() -> PhotoRef {
        PhotoRef {
            sha256: "ab".repeat(32),
            kind: PhotoKind::Before,
            mime: "image/jpeg".into(),
            size: 1,
            captured_at_ms: None,
            location: None,
        }
    }

    fn checked(code: &str, finding: Finding, photo_given: bool) -> CheckedIndicator {
        CheckedIndicator {
            code: code.into(),
            finding,
            note: String::new(),
            photos: if photo_given {
                vec![photo().sha256]
            } else {
                vec![]
            },
        }
    }

    fn full_checklist() -> Vec<CheckedIndicator> {
        vec![
            checked("1", Finding::Fail, true),
            // One bus, at least two 公益广告 per bus, one found: −4.
            checked(
                "2",
                Finding::Counted {
                    found: 1,
                    units: 1.0,
                },
                true,
            ),
            checked("3", Finding::Pass, false),
        ]
    }

    fn submit(
        r: &Round,
        t: &Task,
        user: &str,
        role: Role,
        list: &[CheckedIndicator],
    ) -> Result<(), Refusal> {
        check_submission(r, t, user, role, &standard(), "公交站台", list, &[photo()])
    }

    #[test]
    fn only_supervisors_plan_publish_and_close_and_only_teams_submit() {
        for role in Role::ALL {
            assert_eq!(may(*role, RoundAction::Plan), *role == Role::Supervisor);
            assert_eq!(may(*role, RoundAction::Publish), *role == Role::Supervisor);
            assert_eq!(
                may(*role, RoundAction::Check),
                matches!(role, Role::Inspector | Role::Supervisor)
            );
        }
        let r = round(RoundKind::Open);
        let t = task();
        let list = full_checklist();
        assert_eq!(submit(&r, &t, "inspector2", Role::Inspector, &list), Ok(()));
        assert_eq!(
            submit(&r, &t, "inspector3", Role::Inspector, &list),
            Err(Refusal::NotOnTeam)
        );
        assert_eq!(
            submit(&r, &t, "inspector1", Role::UnitStaff, &list),
            Err(Refusal::NotAllowed(RoundAction::Check))
        );
    }

    #[test]
    fn a_closed_round_or_a_done_task_takes_no_submission() {
        let mut r = round(RoundKind::Open);
        let mut t = task();
        let list = full_checklist();
        t.result = Some(TaskResult {
            op_id: Uuid::nil(),
            by: "inspector2".into(),
            checked_at_ms: 0,
            received_ms: 0,
            position: None,
            distance_m: None,
            indicators: list.clone(),
            photos: vec![photo()],
            outcome: None,
            note: String::new(),
        });
        assert_eq!(t.state(&r), TaskState::Done);
        assert_eq!(
            submit(&r, &t, "inspector1", Role::Inspector, &list),
            Err(Refusal::TaskDone)
        );
        t.result = None;
        r.closed_ms = Some(1);
        assert_eq!(t.state(&r), TaskState::Missed);
        assert_eq!(
            submit(&r, &t, "inspector1", Role::Inspector, &list),
            Err(Refusal::RoundClosed)
        );
        assert_eq!(r.check_close(Role::Supervisor), Err(Refusal::RoundClosed));
    }

    #[test]
    fn a_checklist_is_whole_fits_its_rules_and_shows_every_deduction() {
        let r = round(RoundKind::Open);
        let t = task();
        let go = |list: &[CheckedIndicator]| submit(&r, &t, "inspector1", Role::Inspector, list);
        let mut list = full_checklist();
        list.pop();
        assert_eq!(go(&list), Err(Refusal::Unrecorded("3".into())));
        list.push(checked("3", Finding::Fail, true));
        assert_eq!(go(&list), Err(Refusal::WrongFinding("3".into())));
        list[2] = checked("3", Finding::Occurrences { count: 2 }, false);
        assert_eq!(go(&list), Err(Refusal::PhotoNeeded("3".into())));
        list[2].photos.push("cd".repeat(32));
        assert_eq!(go(&list), Err(Refusal::PhotoNotCarried("3".into())));
        list[2].photos = vec![photo().sha256];
        assert_eq!(go(&list), Ok(()));
        list.push(checked("9", Finding::Pass, false));
        assert_eq!(go(&list), Err(Refusal::UnknownIndicator("9".into())));
        list[3] = checked("1", Finding::Pass, false);
        assert_eq!(go(&list), Err(Refusal::IndicatorTwice("1".into())));
        // A quota met and occurrences of none cost nothing: no photo needed.
        let clean = [
            checked("1", Finding::Pass, false),
            checked(
                "2",
                Finding::Counted {
                    found: 2,
                    units: 1.0,
                },
                false,
            ),
            checked("3", Finding::Occurrences { count: 0 }, false),
        ];
        assert_eq!(go(&clean), Ok(()));
    }

    #[test]
    fn failed_indicators_with_a_category_raise_one_case_each_with_a_stable_id() {
        let std = standard();
        let list = full_checklist();
        let raised: Vec<&str> = cases_to_raise(&std, &list)
            .iter()
            .map(|(i, _)| i.code.as_str())
            .collect();
        // 1 failed (category 0101); 2 deducts but raises no case (no category); 3 passed.
        assert_eq!(raised, ["1"]);
        let t = task();
        assert_eq!(raised_case_id(t.id, "1"), raised_case_id(t.id, "1"));
        assert_ne!(raised_case_id(t.id, "1"), raised_case_id(t.id, "3"));
        assert_eq!(
            t.id,
            task_id(
                Uuid::nil(),
                &Target::Site {
                    site_id: "s1".into()
                }
            )
        );
        // 0 + 6 + 10 of 30.
        assert_eq!(task_score(&std, "公交站台", &list), (16.0, 30.0));
    }

    #[test]
    fn only_a_sealed_covert_round_is_published_and_distance_marks_on_site() {
        let mut r = round(RoundKind::Covert);
        assert!(r.sealed());
        assert_eq!(r.check_dispatch(), Err(Refusal::Sealed));
        assert_eq!(
            r.check_publish(Role::Inspector),
            Err(Refusal::NotAllowed(RoundAction::Publish))
        );
        assert_eq!(r.check_publish(Role::Supervisor), Ok(()));
        r.closed_ms = Some(4);
        assert_eq!(r.reported_ms(), None, "sealed: not reported");
        r.published_ms = Some(5);
        assert!(!r.sealed());
        assert_eq!(
            r.reported_ms(),
            Some(5),
            "reported when published, after it closed"
        );
        assert_eq!(
            r.check_publish(Role::Supervisor),
            Err(Refusal::NothingToPublish)
        );
        assert!(!round(RoundKind::Open).sealed());
        assert_eq!(on_site(Some(120.0), &r), Some(true));
        assert_eq!(on_site(Some(1_200.0), &r), Some(false));
        assert_eq!(on_site(None, &r), None);
    }

    #[test]
    fn a_sample_is_the_same_on_every_run_and_teams_take_turns() {
        let site = |i: usize, kind: &str| crate::reference::Site {
            id: format!("s{i}"),
            name: format!("点位{i}"),
            kind: kind.into(),
            lat: 30.0,
            lon: 120.0,
            address: String::new(),
            owner_unit_id: None,
            area_id: Some(if i.is_multiple_of(2) { "d1" } else { "d2" }.into()),
        };
        let sites: Vec<_> = (0..40)
            .map(|i| {
                site(
                    i,
                    if i % 4 == 0 {
                        "公交站台"
                    } else {
                        "农贸市场"
                    },
                )
            })
            .collect();
        let d1 = |s: &crate::reference::Site| s.area_id.as_deref() == Some("d1");
        let all = select_sites(&sites, &["公交站台".into()], d1, None, "r1");
        assert_eq!(all.len(), 10);
        let a = select_sites(&sites, &[], |_| true, Some(7), "r1");
        let b = select_sites(&sites, &[], |_| true, Some(7), "r1");
        let c = select_sites(&sites, &[], |_| true, Some(7), "r2");
        assert_eq!(a.len(), 7);
        assert_eq!(a, b, "the same plan picks the same sites");
        assert_ne!(a, c, "another round picks others");
        assert_eq!(
            select_sites(&sites, &[], |_| true, Some(99), "r1").len(),
            40
        );
        let teams = vec![vec!["i1".to_string()], vec!["i2".into(), "i3".into()]];
        let shared = share_out(3, &teams);
        assert_eq!(
            shared,
            [teams[0].clone(), teams[1].clone(), teams[0].clone()]
        );
        let t = Task {
            team: vec![],
            ..task()
        };
        let day = NaiveDate::from_ymd_opt(2026, 12, 1).expect("a date");
        let plan = |role, tasks: &[Task]| check_plan(role, "测评", day, day, tasks);
        assert_eq!(plan(Role::Supervisor, &[task()]).ok(), Some(()));
        assert_eq!(
            plan(Role::Inspector, &[task()]).err().map(|e| e.code()),
            Some("round_not_allowed")
        );
        assert_eq!(
            plan(Role::Supervisor, &[]).err().map(|e| e.code()),
            Some("round_without_tasks")
        );
        assert_eq!(
            plan(Role::Supervisor, &[t]).err().map(|e| e.code()),
            Some("task_without_team")
        );
        let before = NaiveDate::from_ymd_opt(2026, 11, 30).expect("a date");
        assert_eq!(
            check_plan(Role::Supervisor, "测评", day, before, &[task()])
                .err()
                .map(|e| e.code()),
            Some("invalid_field")
        );
    }

    #[test]
    fn every_refusal_has_a_distinct_code_and_words_in_both_languages() {
        let all = [
            Refusal::NotAllowed(RoundAction::Plan),
            Refusal::RoundClosed,
            Refusal::NothingToPublish,
            Refusal::Sealed,
            Refusal::NoTasks,
            Refusal::NoTeam,
            Refusal::NotAnInspector("u".into()),
            Refusal::NotOnTeam,
            Refusal::TaskDone,
            Refusal::WrongTask,
            Refusal::UnknownIndicator("1".into()),
            Refusal::IndicatorTwice("1".into()),
            Refusal::Unrecorded("1".into()),
            Refusal::WrongFinding("1".into()),
            Refusal::PhotoNeeded("1".into()),
            Refusal::PhotoNotCarried("1".into()),
            Refusal::RecheckPhoto,
        ];
        let codes: std::collections::HashSet<_> = all.iter().map(Refusal::code).collect();
        assert_eq!(codes.len(), all.len());
        for r in &all {
            assert!(!r.message(Lang::ZhCn).is_empty() && !r.message(Lang::En).is_empty());
        }
    }
}
