//! `GET /console/boards`: what is dispatched, in progress, overdue (latest first by how late) and
//! rectified awaiting verification, filterable by unit, category, area, campaign and report
//! dates; the exports of the same cases are in `exports`.

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use maud::html;
use serde::Deserialize;
use xuncha_core::limits::BOARD_PAGE;
use xuncha_core::model::Case;
use xuncha_core::workflow::{Role, Status};

use super::filter::Filter;
use super::i18n::t;
use super::pages::{category_name, layout, unit_name};
use super::session::Console;
use super::time::{calendar, when};
use crate::state::AppState;
use crate::store::case_list::CaseFilter;

/// The boards, each paged on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Board {
    /// Past the deadline while the unit's clock runs, most late first.
    Overdue,
    /// Dispatched, not yet taken up.
    Dispatched,
    /// Being rectified (or asking to be returned).
    InProgress,
    /// Rectified, waiting for the check.
    Rectified,
    /// Escalated (督办) and still open: what the level above supervises.
    Escalated,
    /// 挂账: parked, with the reason why it cannot be solved now.
    Parked,
}

impl Board {
    /// Every board, in page order.
    pub const ALL: [Board; 6] = [
        Board::Overdue,
        Board::Escalated,
        Board::Dispatched,
        Board::InProgress,
        Board::Rectified,
        Board::Parked,
    ];

    /// Name in the query string.
    pub fn key(self) -> &'static str {
        match self {
            Board::Overdue => "overdue",
            Board::Dispatched => "dispatched",
            Board::InProgress => "in_progress",
            Board::Rectified => "rectified",
            Board::Escalated => "escalated",
            Board::Parked => "parked",
        }
    }

    fn title(self, lang: super::i18n::Lang) -> &'static str {
        match self {
            Board::Overdue => t(lang, "逾期（按逾期时长）", "Overdue (most late first)"),
            Board::Dispatched => t(lang, "已派遣", "Dispatched"),
            Board::InProgress => t(lang, "处理中", "In progress"),
            Board::Rectified => t(lang, "已整改待核查", "Rectified, to verify"),
            Board::Escalated => t(lang, "督办中", "Escalated"),
            Board::Parked => t(lang, "挂账", "Parked"),
        }
    }

    /// The board's cases as SQL: its statuses, for the overdue board a deadline before now,
    /// for the escalated one at least one escalation.
    pub fn filter(self, base: &CaseFilter, now_ms: i64) -> CaseFilter {
        let (statuses, deadline_before_ms): (&[Status], _) = match self {
            Board::Overdue => (Status::DEADLINE_RUNNING, Some(now_ms)),
            Board::Dispatched => (&[Status::Dispatched], None),
            Board::InProgress => (Status::TAKEN_UP, None),
            Board::Rectified => (&[Status::Rectified], None),
            Board::Escalated => (Status::OPEN, None),
            Board::Parked => (&[Status::Parked], None),
        };
        CaseFilter {
            statuses: statuses.to_vec(),
            deadline_before_ms,
            escalated: self == Board::Escalated,
            ..base.clone()
        }
    }
}

/// The boards' query: the filter, and which board is turned to which page.
#[derive(Debug, Default, Deserialize)]
pub struct BoardsQuery {
    /// The filter.
    #[serde(flatten)]
    pub filter: Filter,
    /// The board being paged ([`Board::key`]).
    #[serde(default)]
    pub board: String,
    /// Its page, from 1.
    #[serde(default)]
    pub page: String,
}

/// The boards page: each board's count and one page of it, in a fixed number of queries (a
/// count and a page per board), however many cases there are.
pub async fn boards(
    State(state): State<AppState>,
    Console { who, session, lang }: Console,
    Query(q): Query<BoardsQuery>,
) -> Response {
    let f = q.filter;
    let now = state.now_ms();
    let paged = Board::ALL.into_iter().find(|b| b.key() == q.board);
    let page: u64 = q.page.trim().parse().unwrap_or(1).clamp(1, 1_000_000);
    let cal = calendar(&state);
    let reach = state.reach(&who);
    let base = f.case_filter(&reach, &[], &cal, &state.store.reference_index().areas);
    let loaded = state
        .blocking(move |s| {
            let reference = s.reference()?.1;
            let mut columns = Vec::new();
            for board in Board::ALL {
                let Some(base) = &base else {
                    columns.push((board, 0, 1, Vec::new()));
                    continue;
                };
                let filter = board.filter(base, now);
                let total = s.count_cases(&filter)?;
                let last = total.div_ceil(BOARD_PAGE as u64).max(1);
                let page = if paged == Some(board) {
                    page.min(last)
                } else {
                    1
                };
                let cases: Vec<Case> = s
                    .list_cases(&filter, (page - 1) * BOARD_PAGE as u64, BOARD_PAGE)?
                    .into_iter()
                    .filter(|c| reach.can_see(c))
                    .collect();
                columns.push((board, total, page, cases));
            }
            Ok((columns, reference))
        })
        .await;
    let (columns, reference) = match loaded {
        Ok(x) => x,
        Err(e) => return e.into_response(),
    };
    let title = t(lang, "案件看板", "Boards");
    let tree = xuncha_core::area::AreaTree::new(&reference.areas);
    let query = f.query();
    let area_choices = match who.user.role {
        Role::Supervisor | Role::Admin => super::areas::area_options(
            &state.store.reference_index().areas,
            &state.reach(&who),
            lang,
        ),
        _ => Vec::new(),
    };
    let page_link = |board: Board, page: u64| {
        format!(
            "/console/boards?{query}&board={}&page={page}#{}",
            board.key(),
            board.key()
        )
    };
    layout(lang, &who, &session, title, html! {
        h1 { (title) }
        form.act method="get" action="/console/boards" {
            @if who.user.role != Role::UnitStaff {
                select name="unit" aria-label=(t(lang, "责任单位", "Unit")) {
                    option value="" { (t(lang, "全部单位", "All units")) }
                    @for u in &reference.units { option value=(u.id) selected[u.id == f.unit.trim()] { (u.name) } }
                }
            }
            input name="category" size="12" aria-label=(t(lang, "类别代码", "Category code")) placeholder=(t(lang, "类别代码（如 01 或 0101）", "category (01 or 0101)")) value=(f.category);
            @if !area_choices.is_empty() {
                select name="area" aria-label=(t(lang, "区域", "Area")) {
                    option value="" { (t(lang, "全部区域", "All areas")) }
                    @for (id, label) in &area_choices { option value=(id) selected[id == f.area.trim()] { (label) } }
                }
            }
            select name="grid" aria-label=(t(lang, "网格", "Grid")) {
                option value="" { (t(lang, "全部网格", "All grids")) }
                @for g in &reference.grids { option value=(g.id) selected[g.id == f.grid.trim()] { (g.name) } }
            }
            select name="campaign" aria-label=(t(lang, "专项行动", "Campaign")) {
                option value="" { (t(lang, "全部专项行动", "All campaigns")) }
                @for c in &reference.campaigns { option value=(c.id) selected[c.id == f.campaign.trim()] { (c.name) } }
            }
            label { (t(lang, "上报日期", "Reported")) " " input type="date" name="from" value=(f.from); }
            label { "–" input type="date" name="to" value=(f.to); }
            button.primary type="submit" { (t(lang, "筛选", "Filter")) }
            a href=(format!("/console/export.csv?{query}")) { (t(lang, "导出 CSV", "Export CSV")) }
            a #export-xlsx href=(format!("/console/export.xlsx?{query}")) { (t(lang, "导出 Excel", "Export Excel")) }
        }
        @for (board, total, page, list) in &columns {
            @let last = total.div_ceil(BOARD_PAGE as u64).max(1);
            div.card id=(board.key()) {
                h1 { (board.title(lang)) " (" (total) ")" }
                @if list.is_empty() { p.muted { (t(lang, "暂无", "None")) } }
                table.cards {
                    @for c in list {
                        tr {
                            td { a href=(format!("/console/cases/{}", c.id)) { (c.case_no.clone().unwrap_or_else(|| c.category.clone())) } }
                            td { (category_name(&reference, &c.category)) br; (c.description) }
                            td { (unit_name(&reference, c.unit_id.as_deref())) }
                            td.muted { (t(lang, "期限", "due")) " " (c.deadline_ms.map(|ms| when(&cal, ms)).unwrap_or_default()) }
                            @if c.is_overdue(now) {
                                td { span.status.overdue { (t(lang, "逾期", "late")) " " (format!("{:.0}", (now - c.deadline_ms.unwrap_or(now)) as f64 / 3_600_000.0)) "h" } }
                            }
                            @if c.escalations > 0 {
                                td { span.status.escalated title=(t(lang, "督办层级", "Escalated to")) {
                                    (t(lang, "督办", "Escalated"))
                                    @if let Some(a) = c.escalated_to(&tree) { " · " (tree.name(a, lang)) }
                                } }
                            }
                            @if c.status == Status::Parked {
                                td { span.status.parked { (t(lang, "挂账", "Parked")) } }
                            }
                        }
                    }
                }
                @if last > 1 {
                    nav.pager aria-label=(t(lang, "翻页", "Pages")) {
                        @if *page > 1 { a href=(page_link(*board, page - 1)) { (t(lang, "上一页", "Previous")) } " " }
                        span.muted { (t(lang, "第", "Page ")) (page) " / " (last) (t(lang, " 页", "")) }
                        @if *page < last { " " a href=(page_link(*board, page + 1)) { (t(lang, "下一页", "Next")) } }
                    }
                }
            }
        }
    })
    .into_response()
}
