//! Inspection rounds in the console (issue 17), for supervisors (admins look): the rounds with
//! their figures (the trend of 得分率 across rounds), the sites no round checked this month,
//! the planning forms — a 明查/暗访 round of sites by type, area and sample; a 回头看 round of
//! closed cases — and one round's page: publish (暗访), close, and its report on the page and
//! as XLSX. Every figure is core's `round_report`; every rule core's `round`.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{Datelike, NaiveDate};
use maud::{Markup, html};
use rust_xlsxwriter::{Format, Workbook, XlsxError};
use uuid::Uuid;
use xuncha_core::Role;
use xuncha_core::area::AreaTree;
use xuncha_core::reference::ReferenceData;
use xuncha_core::round::{Round, RoundKind, Task};
use xuncha_core::round_report::{RoundReport, Tally, report, unvisited};
use xuncha_core::scope::Reach;

use super::areas::{area_options, area_path};
use super::exports::{XLSX, attachment, export_failed};
use super::i18n::{Lang, t};
use super::pages::{layout, unit_name, user_name};
use super::ranking::pct;
use super::session::{Console, Session, csrf_for, forged};
use super::time::{calendar, day, midnight_ms, today};
use crate::rounds::{RecheckPlan, SitePlan};
use crate::state::AppState;
use crate::store::Principal;

/// The rounds the list shows.
const LIST_ROUNDS: usize = 100;
/// The unvisited sites the list names (the count is always whole).
const UNVISITED_NAMED: usize = 60;

/// Supervisors plan and act; admins look; nobody else sees rounds.
fn office_only(lang: Lang, who: &Principal, session: &Session) -> Option<Response> {
    super::pages::office_only(
        lang,
        who,
        session,
        (
            "巡查轮次仅督查人员和管理员可见。",
            "Inspection rounds are for supervisors and admins.",
        ),
    )
}

/// A round the person may see (core's rule).
fn visible(round: &Round, reach: &Reach) -> bool {
    xuncha_core::round::visible_to(round, reach)
}

/// The fields of a posted form, repeated names kept.
fn fields(body: &Bytes) -> Vec<(String, String)> {
    form_urlencoded::parse(body).into_owned().collect()
}

fn field<'a>(f: &'a [(String, String)], name: &str) -> &'a str {
    f.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.trim())
        .unwrap_or("")
}

fn all<'a>(f: &'a [(String, String)], name: &str) -> Vec<&'a str> {
    f.iter()
        .filter(|(k, v)| k == name && !v.trim().is_empty())
        .map(|(_, v)| v.trim())
        .collect()
}

/// The period the unvisited sites are counted over (`?from=YYYY-MM-DD&to=YYYY-MM-DD`; this
/// month so far when not given).
#[derive(Debug, Default, serde::Deserialize)]
pub struct CoverageQuery {
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
}

/// The longest coverage period (a year, as 测评 cycles run).
const COVERAGE_DAYS: i64 = 366;

impl CoverageQuery {
    /// The period asked for, or what is wrong with it.
    fn period(&self, lang: Lang) -> Result<Option<(NaiveDate, NaiveDate)>, String> {
        if self.from.trim().is_empty() && self.to.trim().is_empty() {
            return Ok(None);
        }
        let parse = |s: &str| NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").ok();
        match (parse(&self.from), parse(&self.to)) {
            (Some(from), Some(to)) if from <= to && (to - from).num_days() < COVERAGE_DAYS => {
                Ok(Some((from, to)))
            }
            _ => Err(t(
                lang,
                "检查时段无效：请给出开始和结束日期，开始不晚于结束，且不超过一年。",
                "Not a valid period: give a start and an end date, the start not after the end, at most a year apart.",
            )
            .to_string()),
        }
    }
}

/// `GET /console/rounds`: the list, the trend, the unvisited sites of a period and the
/// planning forms.
pub async fn list(
    State(state): State<AppState>,
    Console { who, session, lang }: Console,
    axum::extract::Query(q): axum::extract::Query<CoverageQuery>,
) -> Response {
    match q.period(lang) {
        Ok(period) => render_list(&state, lang, &who, &session, None, period).await,
        Err(m) => render_list(&state, lang, &who, &session, Some((false, m)), None).await,
    }
}

/// One round with its tasks and report, as the list shows it.
struct Listed {
    round: Round,
    report: RoundReport,
}

async fn render_list(
    state: &AppState,
    lang: Lang,
    who: &Principal,
    session: &Session,
    said: Option<(bool, String)>,
    coverage: Option<(NaiveDate, NaiveDate)>,
) -> Response {
    if let Some(r) = office_only(lang, who, session) {
        return r;
    }
    let cal = calendar(state);
    let now = state.now_ms();
    let this_day = today(&cal, now);
    let month_start = this_day.with_day0(0).unwrap_or(this_day);
    let (cover_from, cover_to) = coverage.unwrap_or((month_start, this_day));
    let who2 = who.clone();
    // Coverage counts every round that could have checked a site in the period: those planned
    // from a year before it to its end (a round is planned before or during its dates).
    let planned_from = midnight_ms(&cal, cover_from) - COVERAGE_DAYS * 86_400_000;
    let planned_to = midnight_ms(&cal, cover_to + chrono::Duration::days(1));
    let loaded = state
        .blocking(move |s| {
            let index = s.reference_index();
            let reach = who2.reach(&index);
            let (_, data) = s.reference()?;
            let listed: Vec<Listed> = s
                .recent_rounds(LIST_ROUNDS)?
                .into_iter()
                .filter(|(round, _)| visible(round, &reach))
                .map(|(round, tasks)| Listed {
                    report: report(&round, &tasks, &index),
                    round,
                })
                .collect();
            let checked: Vec<(NaiveDate, NaiveDate, Vec<String>)> = s
                .done_tasks_planned(planned_from, planned_to)?
                .into_iter()
                .filter(|(round, _)| visible(round, &reach))
                .map(|(round, tasks)| {
                    let sites = tasks
                        .into_iter()
                        .filter_map(|t| match t.target {
                            xuncha_core::round::Target::Site { site_id } => Some(site_id),
                            _ => None,
                        })
                        .collect();
                    (round.starts_on, round.ends_on, sites)
                })
                .collect();
            Ok((listed, checked, data, reach))
        })
        .await;
    let (listed, checked, data, reach) = match loaded {
        Ok(x) => x,
        Err(e) => return e.into_response(),
    };
    let areas = AreaTree::new(&data.areas);
    // Coverage: the sites of the person's reach no round of theirs checked this month.
    let in_reach = |area: Option<&str>| match &reach {
        Reach::Everything => true,
        Reach::Within { areas, .. } => area.is_some_and(|a| areas.contains(a)),
        _ => false,
    };
    let sites: Vec<_> = data
        .sites
        .iter()
        .filter(|s| in_reach(s.area_id.as_deref()))
        .cloned()
        .collect();
    let left = unvisited(&sites, &checked, cover_from, cover_to);
    let mut trend: Vec<&Listed> = listed
        .iter()
        .filter(|l| l.round.kind != RoundKind::Recheck && l.report.overall.checked > 0)
        .collect();
    trend.sort_by_key(|l| (l.round.starts_on, l.round.planned_ms));
    let title = t(lang, "巡查轮次", "Inspection rounds");
    let body = html! {
        h1 { (title) }
        @if let Some((ok, m)) = &said { div.msg.ok[*ok].err[!*ok] role="status" { (m) } }
        div.scroll {
            table.cards #rounds {
                tr {
                    th { (t(lang, "轮次", "Round")) } th { (t(lang, "类型", "Kind")) }
                    th { (t(lang, "时段", "Period")) } th { (t(lang, "区域", "Area")) }
                    th { (t(lang, "状态", "State")) } th { (t(lang, "完成", "Done")) }
                    th { (t(lang, "得分率 / 整改率", "Score / fixed rate")) }
                }
                @for l in &listed {
                    tr data-round=(l.round.id) {
                        td data-label=(t(lang, "轮次", "Round")) { a href=(format!("/console/rounds/{}", l.round.id)) { (l.round.name) } }
                        td data-label=(t(lang, "类型", "Kind")) { (l.round.kind.label(lang)) }
                        td data-label=(t(lang, "时段", "Period")) { (l.round.starts_on) " — " (l.round.ends_on) }
                        td data-label=(t(lang, "区域", "Area")) { (area_label(&areas, l.round.area_id.as_deref(), lang)) }
                        td data-label=(t(lang, "状态", "State")) { span.status.overdue[l.round.sealed()] { (l.round.state().label(lang)) } }
                        td data-label=(t(lang, "完成", "Done")) { (l.report.done()) " / " (l.report.planned()) }
                        td data-label=(t(lang, "得分率 / 整改率", "Score / fixed rate")) { (headline(&l.round, &l.report)) }
                    }
                }
            }
        }
        @if listed.is_empty() { p.muted { (t(lang, "还没有巡查轮次。", "No rounds yet.")) } }
        @if trend.len() > 1 {
            h2 { (t(lang, "得分率趋势", "Score trend")) }
            ol #trend {
                @for l in &trend {
                    li { (l.round.starts_on) " " (l.round.name) "：" strong { (pct(l.report.overall.rate())) } }
                }
            }
        }
        h2 #coverage {
            @if coverage.is_none() { (t(lang, "本月尚未检查的点位", "Sites not checked this month")) }
            @else { (cover_from) " — " (cover_to) " " (t(lang, "尚未检查的点位", "sites not checked")) }
            " (" (left.len()) " / " (sites.len()) ")"
        }
        form.period method="get" action="/console/rounds" {
            label { (t(lang, "从", "From")) " " input type="date" name="from" value=(cover_from); }
            " "
            label { (t(lang, "至", "To")) " " input type="date" name="to" value=(cover_to); }
            " "
            button type="submit" { (t(lang, "查看该时段", "Show this period")) }
        }
        p.muted #unvisited {
            @for (i, s) in left.iter().take(UNVISITED_NAMED).enumerate() {
                @if i > 0 { "、" } (s.name)
            }
            @if left.len() > UNVISITED_NAMED { " …" }
        }
        @if who.user.role == Role::Supervisor {
            (plan_forms(lang, session, &data, &areas, &reach, this_day))
        }
    };
    let status = match &said {
        Some((false, _)) => StatusCode::BAD_REQUEST,
        _ => StatusCode::OK,
    };
    (status, layout(lang, who, session, title, body)).into_response()
}

/// A round's headline figure: 整改率 for 回头看, 得分率 for the others.
fn headline(round: &Round, r: &RoundReport) -> String {
    match round.kind {
        RoundKind::Recheck => pct(r.rectification_rate()),
        _ => pct(r.overall.rate()),
    }
}

fn area_label(areas: &AreaTree, id: Option<&str>, lang: Lang) -> String {
    match id {
        Some(a) => area_path(areas, Some(a), lang),
        None => t(lang, "全市", "Whole city").to_string(),
    }
}

/// The two planning forms.
fn plan_forms(
    lang: Lang,
    session: &Session,
    data: &ReferenceData,
    areas: &AreaTree,
    reach: &Reach,
    today: NaiveDate,
) -> Markup {
    let mut kinds: Vec<&str> = Vec::new();
    for s in &data.sites {
        if !s.kind.is_empty() && !kinds.contains(&s.kind.as_str()) {
            kinds.push(&s.kind);
        }
    }
    let people: Vec<_> = data
        .users
        .iter()
        .filter(|u| matches!(u.role, Role::Inspector | Role::Supervisor))
        .collect();
    let area_choice = html! {
        select name="area" {
            @if matches!(reach, Reach::Everything) { option value="" { (t(lang, "全市", "Whole city")) } }
            @for (id, label) in area_options(areas, reach, lang) { option value=(id) { (label) } }
        }
    };
    let period = html! {
        label { (t(lang, "开始", "From")) " " input type="date" name="from" value=(today) required; }
        label { (t(lang, "结束", "To")) " " input type="date" name="to" value=(today) required; }
        label { (t(lang, "任务截止日", "Due")) " " input type="date" name="due" value=(today) required; }
    };
    let teams = html! {
        fieldset.candidates {
            legend { (t(lang, "检查人员", "Inspectors")) }
            @for u in &people {
                label.tick-row { input type="checkbox" name="member" value=(u.id); " " (u.name) " (" (u.id) ")" }
            }
        }
        label { (t(lang, "每组人数", "People per team")) " "
            select name="team_size" { option value="1" { "1" } option value="2" selected { "2" } option value="3" { "3" } }
        }
    };
    html! {
        h2 { (t(lang, "计划测评轮次（明查 / 暗访）", "Plan a site round (announced / undercover)")) }
        form.card #plan-sites method="post" action="/console/rounds" {
            input type="hidden" name="csrf" value=(csrf_for(session));
            p { label { (t(lang, "名称", "Name")) " " input name="name" required maxlength="200" placeholder=(t(lang, "如：12月农贸市场测评", "e.g. December market check")); } }
            p {
                label { (t(lang, "类型", "Kind")) " "
                    select name="kind" {
                        option value=(RoundKind::Open.as_str()) { (RoundKind::Open.label(lang)) }
                        option value=(RoundKind::Covert.as_str()) { (RoundKind::Covert.label(lang)) }
                    }
                }
                " " label { (t(lang, "区域", "Area")) " " (area_choice) }
            }
            p { (period) }
            fieldset.candidates {
                legend { (t(lang, "点位类型（不选即全部）", "Site types (none: all)")) }
                @for k in &kinds { label.tick-row { input type="checkbox" name="site_type" value=(k); " " (k) } }
            }
            p { label { (t(lang, "随机抽取点位数（空为全部）", "Random sample of sites (empty: all)")) " " input type="number" name="sample" min="1" max="2000"; } }
            (teams)
            p { button.primary type="submit" { (t(lang, "计划轮次", "Plan the round")) } }
        }
        h2 { (t(lang, "计划回头看", "Plan a re-check round")) }
        form.card #plan-rechecks method="post" action="/console/rounds/recheck" {
            input type="hidden" name="csrf" value=(csrf_for(session));
            p { label { (t(lang, "名称", "Name")) " " input name="name" required maxlength="200" placeholder=(t(lang, "如：11月问题回头看", "e.g. November re-check")); } }
            p { label { (t(lang, "区域", "Area")) " " (area_choice) } }
            p {
                label { (t(lang, "类别", "Category")) " "
                    select name="category" {
                        option value="" { (t(lang, "全部", "All")) }
                        @for c in &data.categories { option value=(c.code) { (c.code) " " (c.name) } }
                    }
                }
                " " label { (t(lang, "责任单位", "Unit")) " "
                    select name="unit" {
                        option value="" { (t(lang, "全部", "All")) }
                        @for u in &data.units { option value=(u.id) { (u.name) } }
                    }
                }
            }
            p {
                label { (t(lang, "上报日期自", "Reported from")) " " input type="date" name="reported_from"; }
                label { (t(lang, "至", "to")) " " input type="date" name="reported_to"; }
            }
            p { (period) }
            p { label { (t(lang, "随机抽取案件数（空为全部）", "Random sample of cases (empty: all)")) " " input type="number" name="sample" min="1" max="2000"; } }
            (teams)
            p { button.primary type="submit" { (t(lang, "计划回头看", "Plan the re-check")) } }
        }
    }
}

/// The teams of a form: the ticked people in order, `team_size` to a team.
fn teams_of(f: &[(String, String)]) -> Vec<Vec<String>> {
    let size = field(f, "team_size")
        .parse::<usize>()
        .unwrap_or(1)
        .clamp(1, 5);
    all(f, "member")
        .chunks(size)
        .map(|c| c.iter().map(|m| m.to_string()).collect())
        .collect()
}

/// The period and due time of a form, or what is wrong with them.
fn period_of(
    state: &AppState,
    f: &[(String, String)],
) -> Result<(NaiveDate, NaiveDate, i64), &'static (&'static str, &'static str)> {
    const BAD: (&str, &str) = (
        "请填写有效的开始、结束和截止日期",
        "Give valid from, to and due dates",
    );
    let date = |n: &str| NaiveDate::parse_from_str(field(f, n), "%Y-%m-%d").ok();
    let (Some(from), Some(to), Some(due)) = (date("from"), date("to"), date("due")) else {
        return Err(&BAD);
    };
    let cal = calendar(state);
    // Due at the end of the due day, in the city's time.
    let due_ms = midnight_ms(&cal, due.succ_opt().unwrap_or(due)) - 1;
    Ok((from, to, due_ms))
}

fn sample_of(f: &[(String, String)]) -> Option<usize> {
    field(f, "sample").parse::<usize>().ok().filter(|n| *n > 0)
}

fn some(v: &str) -> Option<String> {
    (!v.is_empty()).then(|| v.to_string())
}

/// A planning form's fields and its period (from, to, due), or the answer to a forged form or
/// a bad period.
async fn read_plan(
    state: &AppState,
    lang: Lang,
    who: &Principal,
    session: &Session,
    body: &Bytes,
) -> Result<(Vec<(String, String)>, (NaiveDate, NaiveDate, i64)), Response> {
    let f = fields(body);
    if field(&f, "csrf") != csrf_for(session) {
        return Err(forged(lang));
    }
    match period_of(state, &f) {
        Ok(p) => Ok((f, p)),
        Err(m) => {
            let said = Some((false, t(lang, m.0, m.1).into()));
            Err(render_list(state, lang, who, session, said, None).await)
        }
    }
}

/// `POST /console/rounds`: plan a site round.
pub async fn plan_sites(
    State(state): State<AppState>,
    Console { who, session, lang }: Console,
    body: Bytes,
) -> Response {
    let (f, (starts_on, ends_on, due_ms)) =
        match read_plan(&state, lang, &who, &session, &body).await {
            Ok(x) => x,
            Err(r) => return r,
        };
    let kind = RoundKind::parse(field(&f, "kind")).unwrap_or(RoundKind::Open);
    let plan = SitePlan {
        name: field(&f, "name").to_string(),
        kind,
        area_id: some(field(&f, "area")),
        starts_on,
        ends_on,
        due_ms,
        max_distance_m: None,
        site_types: all(&f, "site_type")
            .into_iter()
            .map(str::to_string)
            .collect(),
        sample: sample_of(&f),
        teams: teams_of(&f),
    };
    let now = state.now_ms();
    let principal = who.clone();
    let planned = state
        .blocking(move |s| crate::rounds::plan_sites(s, &principal, plan, now))
        .await;
    planned_answer(&state, lang, &who, &session, planned).await
}

/// `POST /console/rounds/recheck`: plan a 回头看 round.
pub async fn plan_rechecks(
    State(state): State<AppState>,
    Console { who, session, lang }: Console,
    body: Bytes,
) -> Response {
    let (f, (starts_on, ends_on, due_ms)) =
        match read_plan(&state, lang, &who, &session, &body).await {
            Ok(x) => x,
            Err(r) => return r,
        };
    let cal = calendar(&state);
    let day_ms = |n: &str, next: bool| {
        NaiveDate::parse_from_str(field(&f, n), "%Y-%m-%d")
            .ok()
            .map(|d| midnight_ms(&cal, if next { d.succ_opt().unwrap_or(d) } else { d }))
    };
    let plan = RecheckPlan {
        name: field(&f, "name").to_string(),
        area_id: some(field(&f, "area")),
        starts_on,
        ends_on,
        due_ms,
        category_prefix: some(field(&f, "category")),
        unit: some(field(&f, "unit")),
        reported_from_ms: day_ms("reported_from", false),
        reported_before_ms: day_ms("reported_to", true),
        sample: sample_of(&f),
        teams: teams_of(&f),
    };
    let now = state.now_ms();
    let principal = who.clone();
    let planned = state
        .blocking(move |s| crate::rounds::plan_rechecks(s, &principal, plan, now))
        .await;
    planned_answer(&state, lang, &who, &session, planned).await
}

async fn planned_answer(
    state: &AppState,
    lang: Lang,
    who: &Principal,
    session: &Session,
    planned: Result<(Round, Vec<Task>), crate::error::ApiError>,
) -> Response {
    match planned {
        Ok((round, _)) => Redirect::to(&format!("/console/rounds/{}", round.id)).into_response(),
        Err(e) if e.status.is_client_error() => {
            let m = match lang {
                Lang::ZhCn => e.message.clone(),
                Lang::En => e.message_en.clone(),
            };
            render_list(state, lang, who, session, Some((false, m)), None).await
        }
        Err(e) => e.into_response(),
    }
}

/// What a round's page, its report and its actions work from: the round, the reference data
/// and the report.
struct Loaded {
    round: Round,
    data: ReferenceData,
    report: RoundReport,
}

/// The round `id` if the person may see it (supervisors and admins, within their area);
/// otherwise the page that says why (403 for other roles, 404 for no such round in reach).
async fn load(
    state: &AppState,
    lang: Lang,
    who: &Principal,
    session: &Session,
    id: &str,
) -> Result<Loaded, Response> {
    if let Some(r) = office_only(lang, who, session) {
        return Err(r);
    }
    let Ok(id) = id.parse::<Uuid>() else {
        return Err(not_found(lang, who, session));
    };
    let person = who.clone();
    let found = state
        .blocking(move |s| {
            let index = s.reference_index();
            let Some((round, tasks)) = s.round(id)? else {
                return Ok(None);
            };
            if !visible(&round, &person.reach(&index)) {
                return Ok(None);
            }
            let (_, data) = s.reference()?;
            let report = report(&round, &tasks, &index);
            Ok(Some(Loaded {
                round,
                data,
                report,
            }))
        })
        .await
        .map_err(IntoResponse::into_response)?;
    found.ok_or_else(|| not_found(lang, who, session))
}

fn not_found(lang: Lang, who: &Principal, session: &Session) -> Response {
    (
        StatusCode::NOT_FOUND,
        layout(lang, who, session, t(lang, "没有这个轮次", "No such round"), html! {
            div.msg.err { (t(lang, "没有这个轮次，或它不在您的区域。", "No such round, or it is outside your area.")) }
            p { a href="/console/rounds" { (t(lang, "返回轮次列表", "Back to the rounds")) } }
        }),
    )
        .into_response()
}

/// `GET /console/rounds/{id}`: one round, its actions and its report.
pub async fn page(
    State(state): State<AppState>,
    Console { who, session, lang }: Console,
    Path(id): Path<String>,
) -> Response {
    let Loaded {
        round,
        data,
        report: r,
    } = match load(&state, lang, &who, &session, &id).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let cal = calendar(&state);
    let areas = AreaTree::new(&data.areas);
    let supervisor = who.user.role == Role::Supervisor;
    let tally_table = |id: &str, head: &str, rows: &[Tally], name: &dyn Fn(&str) -> String| {
        html! {
            h2 { (head) }
            table.cards id=(id) {
                tr { th { (head) } th { (t(lang, "点位", "Sites")) } th { (t(lang, "已检查", "Checked")) } th { (t(lang, "得分", "Points")) } th { (t(lang, "得分率", "Score")) } }
                @for g in rows {
                    tr {
                        td data-label=(head) { (name(&g.key)) }
                        td data-label=(t(lang, "点位", "Sites")) { (g.planned) }
                        td data-label=(t(lang, "已检查", "Checked")) { (g.checked) }
                        td data-label=(t(lang, "得分", "Points")) { (points(g.got)) " / " (points(g.possible)) }
                        td data-label=(t(lang, "得分率", "Score")) { strong { (pct(g.rate())) } }
                    }
                }
            }
        }
    };
    let title = round.name.clone();
    let body = html! {
        h1 { (round.name) " " span.status.overdue[round.sealed()] { (round.state().label(lang)) } }
        p.muted #round-facts {
            (round.kind.label(lang)) " · " (round.starts_on) " — " (round.ends_on)
            " · " (t(lang, "区域", "area")) " " (area_label(&areas, round.area_id.as_deref(), lang))
            " · " (t(lang, "截止", "due")) " " (day(&cal, round.due_ms))
            " · " (t(lang, "计划人", "planned by")) " " (user_name(&data, &round.planned_by))
        }
        div.card #round-summary {
            (t(lang, "完成", "Done")) " " strong { (r.done()) " / " (r.planned()) }
            @if round.kind == RoundKind::Recheck {
                " · " (t(lang, "复查", "re-checked")) " " (r.rechecked) " · " (t(lang, "复发", "recurred")) " " (r.recurred)
                " · " (t(lang, "整改率", "fixed rate")) " " strong #rate { (pct(r.rectification_rate())) }
            } @else {
                " · " (t(lang, "得分", "points")) " " (points(r.overall.got)) " / " (points(r.overall.possible))
                " · " (t(lang, "得分率", "score")) " " strong #rate { (pct(r.overall.rate())) }
            }
            " · " (t(lang, "不在现场的检查", "checks made off site")) " " (r.off_site)
            " · " a #download href=(format!("/console/rounds/{}/report.xlsx", round.id)) { (t(lang, "下载测评报告 (Excel)", "Download the report (Excel)")) }
        }
        @if supervisor {
            div.act {
                @if round.sealed() {
                    form.act method="post" action=(format!("/console/rounds/{}/publish", round.id)) {
                        input type="hidden" name="csrf" value=(csrf_for(&session));
                        button.primary #publish type="submit" { (t(lang, "公布暗访结果并派遣问题", "Publish and dispatch its cases")) }
                        span.muted { (t(lang, "公布前，责任单位看不到暗访发现的问题。", "Until then, units see none of its cases.")) }
                    }
                }
                @if !round.is_closed() {
                    form.act method="post" action=(format!("/console/rounds/{}/close", round.id)) {
                        input type="hidden" name="csrf" value=(csrf_for(&session));
                        button #close type="submit" { (t(lang, "结束轮次", "Close the round")) }
                    }
                }
            }
        }
        @if !r.sites.is_empty() {
            (tally_table("by-type", t(lang, "点位类型", "Site type"), &r.by_type, &|k| k.to_string()))
            (tally_table("by-area", t(lang, "区域", "Area"), &r.by_area, &|k| area_path(&areas, some(k).as_deref(), lang)))
            (tally_table("by-unit", t(lang, "责任单位", "Unit"), &r.by_unit, &|k| unit_name(&data, some(k).as_deref())))
            h2 { (t(lang, "点位得分", "Sites")) }
            div.scroll {
                table.cards #sites {
                    tr {
                        th { (t(lang, "点位", "Site")) } th { (t(lang, "类型", "Type")) } th { (t(lang, "状态", "State")) }
                        th { (t(lang, "得分率", "Score")) } th { (t(lang, "扣分项", "Deductions")) } th { (t(lang, "检查人 / 距离", "By / distance")) } th { (t(lang, "问题案件", "Cases")) }
                    }
                    @for s in &r.sites {
                        tr data-site=(s.site_id) {
                            td data-label=(t(lang, "点位", "Site")) { (s.name) }
                            td data-label=(t(lang, "类型", "Type")) { (s.site_type) }
                            td data-label=(t(lang, "状态", "State")) { (s.state.label(lang)) }
                            td data-label=(t(lang, "得分率", "Score")) { (pct(s.rate())) }
                            td data-label=(t(lang, "扣分项", "Deductions")) {
                                @for (i, (code, lost)) in s.deductions.iter().enumerate() { @if i > 0 { "、" } (code) " −" (points(*lost)) }
                            }
                            td data-label=(t(lang, "检查人 / 距离", "By / distance")) {
                                @if let Some(by) = &s.by { (user_name(&data, by)) }
                                @if let Some(d) = s.distance_m { " · " (format!("{d:.0}")) " m" }
                                @if s.on_site == Some(false) { " " span.status.overdue { (t(lang, "不在现场", "off site")) } }
                            }
                            td data-label=(t(lang, "问题案件", "Cases")) {
                                @for (code, case) in &s.raised { a href=(format!("/console/cases/{case}")) { (code) } " " }
                            }
                        }
                    }
                }
            }
        }
        @if !r.rechecks.is_empty() {
            h2 { (t(lang, "回头看案件", "Re-checked cases")) }
            div.scroll {
                table.cards #rechecks {
                    tr { th { (t(lang, "案件", "Case")) } th { (t(lang, "状态", "State")) } th { (t(lang, "结果", "Outcome")) } th { (t(lang, "检查人 / 距离", "By / distance")) } }
                    @for c in &r.rechecks {
                        tr {
                            td data-label=(t(lang, "案件", "Case")) { a href=(format!("/console/cases/{}", c.case_id)) { (t(lang, "查看案件", "Open the case")) } }
                            td data-label=(t(lang, "状态", "State")) { (c.state.label(lang)) }
                            td data-label=(t(lang, "结果", "Outcome")) { @if let Some(o) = c.outcome { span.status.overdue[o == xuncha_core::round::RecheckOutcome::Recurred] { (o.label(lang)) } } }
                            td data-label=(t(lang, "检查人 / 距离", "By / distance")) {
                                @if let Some(by) = &c.by { (user_name(&data, by)) }
                                @if let Some(d) = c.distance_m { " · " (format!("{d:.0}")) " m" }
                                @if c.on_site == Some(false) { " " span.status.overdue { (t(lang, "不在现场", "off site")) } }
                            }
                        }
                    }
                }
            }
        }
        p { a href="/console/rounds" { (t(lang, "返回轮次列表", "Back to the rounds")) } }
    };
    layout(lang, &who, &session, &title, body).into_response()
}

fn points(p: f64) -> String {
    let s = format!("{p:.1}");
    s.strip_suffix(".0").map(str::to_string).unwrap_or(s)
}

/// `POST /console/rounds/{id}/publish`: unseal a 暗访 round and dispatch its cases.
pub async fn publish(
    State(state): State<AppState>,
    Console { who, session, lang }: Console,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    round_action(state, who, session, lang, id, body, true).await
}

/// `POST /console/rounds/{id}/close`: close a round.
pub async fn close(
    State(state): State<AppState>,
    Console { who, session, lang }: Console,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    round_action(state, who, session, lang, id, body, false).await
}

async fn round_action(
    state: AppState,
    who: Principal,
    session: Session,
    lang: Lang,
    id: String,
    body: Bytes,
    publishing: bool,
) -> Response {
    if field(&fields(&body), "csrf") != csrf_for(&session) {
        return forged(lang);
    }
    let round = match load(&state, lang, &who, &session, &id).await {
        Ok(x) => x.round,
        Err(r) => return r,
    };
    let now = state.now_ms();
    let rules = state.config.push_rules;
    let principal = who.clone();
    let done = state
        .blocking(move |s| {
            if publishing {
                crate::rounds::publish(s, &principal, round.id, now, &rules).map(|_| ())
            } else {
                crate::rounds::close(s, &principal, round.id, now).map(|_| ())
            }
        })
        .await;
    match done {
        Ok(()) => Redirect::to(&format!("/console/rounds/{}", round.id)).into_response(),
        Err(e) if e.status.is_client_error() => {
            let m = match lang {
                Lang::ZhCn => e.message.clone(),
                Lang::En => e.message_en.clone(),
            };
            (
                StatusCode::CONFLICT,
                layout(lang, &who, &session, &round.name, html! {
                    div.msg.err role="status" { (m) }
                    p { a href=(format!("/console/rounds/{}", round.id)) { (t(lang, "返回轮次", "Back to the round")) } }
                }),
            )
                .into_response()
        }
        Err(e) => e.into_response(),
    }
}

/// `GET /console/rounds/{id}/report.xlsx`: the round's report as an Excel workbook.
pub async fn report_xlsx(
    State(state): State<AppState>,
    Console { who, session, lang }: Console,
    Path(id): Path<String>,
) -> Response {
    let Loaded {
        round,
        data,
        report: r,
    } = match load(&state, lang, &who, &session, &id).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let cal = calendar(&state);
    match report_workbook(&round, &r, &data, &cal) {
        Ok(bytes) => attachment(XLSX, "xuncha-round-report.xlsx", bytes),
        Err(e) => export_failed(&e),
    }
}

/// The workbook: 汇总, 点位得分, 分类型, 分区域, 分单位 and, for 回头看, 回头看.
fn report_workbook(
    round: &Round,
    r: &RoundReport,
    data: &ReferenceData,
    cal: &xuncha_core::calendar::WorkCalendar,
) -> Result<Vec<u8>, XlsxError> {
    let areas = AreaTree::new(&data.areas);
    let zh = xuncha_core::Lang::ZhCn;
    let bold = Format::new().set_bold().set_background_color("EEF1F4");
    let percent = Format::new().set_num_format("0.0%");
    let mut wb = Workbook::new();
    {
        let ws = wb.add_worksheet().set_name("汇总")?;
        ws.set_column_width(0, 18)?;
        ws.set_column_width(1, 40)?;
        let area = match round.area_id.as_deref() {
            Some(a) => area_path(&areas, Some(a), zh),
            None => "全市".into(),
        };
        let rows: [(&str, String); 9] = [
            ("轮次", round.name.clone()),
            ("类型", round.kind.label_zh().into()),
            ("时段", format!("{} 至 {}", round.starts_on, round.ends_on)),
            ("区域", area),
            ("状态", round.state().label_zh().into()),
            ("截止", day(cal, round.due_ms)),
            ("完成", format!("{} / {}", r.done(), r.planned())),
            ("不在现场的检查", r.off_site.to_string()),
            ("计划人", user_name(data, &round.planned_by)),
        ];
        for (i, (k, v)) in rows.iter().enumerate() {
            ws.write_string_with_format(i as u32, 0, *k, &bold)?;
            ws.write_string(i as u32, 1, v)?;
        }
        let at = rows.len() as u32;
        let (label, value) = match round.kind {
            RoundKind::Recheck => ("整改率", r.rectification_rate()),
            _ => ("得分率", r.overall.rate()),
        };
        ws.write_string_with_format(at, 0, label, &bold)?;
        if let Some(v) = value {
            ws.write_number_with_format(at, 1, v, &percent)?;
        }
    }
    let tally_sheet = |wb: &mut Workbook,
                       name: &str,
                       head: &str,
                       rows: &[Tally],
                       label: &dyn Fn(&str) -> String|
     -> Result<(), XlsxError> {
        let ws = wb.add_worksheet().set_name(name)?;
        for (j, h) in [head, "点位", "已检查", "得分", "应得分", "得分率"]
            .iter()
            .enumerate()
        {
            ws.write_string_with_format(0, j as u16, *h, &bold)?;
            ws.set_column_width(j as u16, if j == 0 { 24 } else { 12 })?;
        }
        for (i, g) in rows.iter().enumerate() {
            let row = i as u32 + 1;
            ws.write_string(row, 0, label(&g.key))?;
            ws.write_number(row, 1, g.planned as f64)?;
            ws.write_number(row, 2, g.checked as f64)?;
            ws.write_number(row, 3, g.got)?;
            ws.write_number(row, 4, g.possible)?;
            if let Some(v) = g.rate() {
                ws.write_number_with_format(row, 5, v, &percent)?;
            }
        }
        Ok(())
    };
    if !r.sites.is_empty() {
        let ws = wb.add_worksheet().set_name("点位得分")?;
        let heads = [
            "点位",
            "类型",
            "区域",
            "责任单位",
            "状态",
            "得分",
            "应得分",
            "得分率",
            "扣分项",
            "检查人",
            "距点位(米)",
            "在现场",
        ];
        for (j, h) in heads.iter().enumerate() {
            ws.write_string_with_format(0, j as u16, *h, &bold)?;
            ws.set_column_width(j as u16, 14)?;
        }
        ws.set_freeze_panes(1, 0)?;
        for (i, s) in r.sites.iter().enumerate() {
            let row = i as u32 + 1;
            ws.write_string(row, 0, &s.name)?;
            ws.write_string(row, 1, &s.site_type)?;
            ws.write_string(row, 2, area_path(&areas, s.area_id.as_deref(), zh))?;
            ws.write_string(row, 3, unit_name(data, s.unit_id.as_deref()))?;
            ws.write_string(row, 4, s.state.label_zh())?;
            if s.rate().is_some() {
                ws.write_number(row, 5, s.got)?;
            }
            ws.write_number(row, 6, s.possible)?;
            if let Some(v) = s.rate() {
                ws.write_number_with_format(row, 7, v, &percent)?;
            }
            let lost: Vec<String> = s
                .deductions
                .iter()
                .map(|(c, p)| format!("{c} −{}", points(*p)))
                .collect();
            ws.write_string(row, 8, lost.join("、"))?;
            ws.write_string(
                row,
                9,
                s.by.as_deref()
                    .map(|b| user_name(data, b))
                    .unwrap_or_default(),
            )?;
            if let Some(d) = s.distance_m {
                ws.write_number(row, 10, d.round())?;
            }
            if let Some(on) = s.on_site {
                ws.write_string(row, 11, if on { "是" } else { "否" })?;
            }
        }
        tally_sheet(&mut wb, "分类型", "点位类型", &r.by_type, &|k| {
            k.to_string()
        })?;
        tally_sheet(&mut wb, "分区域", "区域", &r.by_area, &|k| {
            area_path(&areas, some(k).as_deref(), zh)
        })?;
        tally_sheet(&mut wb, "分单位", "责任单位", &r.by_unit, &|k| {
            unit_name(data, some(k).as_deref())
        })?;
    }
    if !r.rechecks.is_empty() {
        let ws = wb.add_worksheet().set_name("回头看")?;
        for (j, h) in ["案件", "状态", "结果", "检查人", "距案发地(米)", "在现场"]
            .iter()
            .enumerate()
        {
            ws.write_string_with_format(0, j as u16, *h, &bold)?;
            ws.set_column_width(j as u16, 16)?;
        }
        for (i, c) in r.rechecks.iter().enumerate() {
            let row = i as u32 + 1;
            ws.write_string(row, 0, c.case_id.to_string())?;
            ws.write_string(row, 1, c.state.label_zh())?;
            ws.write_string(row, 2, c.outcome.map(|o| o.label_zh()).unwrap_or(""))?;
            ws.write_string(
                row,
                3,
                c.by.as_deref()
                    .map(|b| user_name(data, b))
                    .unwrap_or_default(),
            )?;
            if let Some(d) = c.distance_m {
                ws.write_number(row, 4, d.round())?;
            }
            if let Some(on) = c.on_site {
                ws.write_string(row, 5, if on { "是" } else { "否" })?;
            }
        }
    }
    wb.save_to_buffer()
}
