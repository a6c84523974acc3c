//! Downloads: the boards' open cases as CSV (UTF-8 with BOM, so Excel opens it in Chinese) and
//! XLSX, and the weekly bulletin (督查通报) as XLSX: the unit ranking, the overdue list and the
//! problems that came back to the same site. Everything is scoped like the pages.

use std::collections::BTreeMap;

use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use rust_xlsxwriter::{Format, Workbook, Worksheet, XlsxError};
use xuncha_core::model::Case;
use xuncha_core::reference::ReferenceData;

use super::filter::{Filter, open_cases};
use super::i18n::t;
use super::pages::{category_name, unit_name};
use super::ranking::{PeriodQuery, load_period, pct, supervisors_only};
use super::session::Console;
use super::time::when;
use crate::state::AppState;
use crate::store::case_list::CaseFilter;
use xuncha_core::limits::EXPORT_ROWS;

/// The columns of a case list, in both exports.
const CASE_COLUMNS: [&str; 12] = [
    "案卷号",
    "状态",
    "类别",
    "描述",
    "地址",
    "片区",
    "责任单位",
    "上报人",
    "上报时间",
    "接收时间",
    "期限",
    "逾期",
];

fn case_row(c: &Case, r: &ReferenceData, now: i64) -> [String; 12] {
    [
        c.case_no.clone().unwrap_or_default(),
        c.status.label_zh().to_string(),
        category_name(r, &c.category),
        c.description.clone(),
        c.location.address.clone(),
        c.grid_id
            .as_deref()
            .and_then(|g| r.grids.iter().find(|x| x.id == g))
            .map(|g| g.name.clone())
            .unwrap_or_default(),
        unit_name(r, c.unit_id.as_deref()),
        c.reporter_id.clone(),
        when(&r.calendar, c.reported_at_ms),
        c.server_received_at_ms
            .map(|ms| when(&r.calendar, ms))
            .unwrap_or_default(),
        c.deadline_ms
            .map(|ms| when(&r.calendar, ms))
            .unwrap_or_default(),
        if c.is_overdue(now) { "是" } else { "否" }.to_string(),
    ]
}

fn csv_field(s: &str) -> String {
    // Quote everything; a leading =, +, - or @ would be a formula in a spreadsheet, and so
    // would one after a leading tab or carriage return (spreadsheets skip them): defuse it.
    let s = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_string()
    };
    format!("\"{}\"", s.replace('"', "\"\""))
}

fn attachment(mime: &'static str, name: &str, body: Vec<u8>) -> Response {
    (
        [
            (header::CONTENT_TYPE, mime.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        body,
    )
        .into_response()
}

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// `GET /console/export.csv`: the boards' cases as CSV.
pub async fn export_csv(
    State(state): State<AppState>,
    Console { who, .. }: Console,
    Query(f): Query<Filter>,
) -> Response {
    let (cases, reference) = match open_cases(&state, &who, &f).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let now = state.now_ms();
    let mut out = format!("\u{feff}{}\r\n", CASE_COLUMNS.join(","));
    for c in &cases {
        let row = case_row(c, &reference, now);
        out.push_str(&row.map(|f| csv_field(&f)).join(","));
        out.push_str("\r\n");
    }
    attachment(
        "text/csv; charset=utf-8",
        "xuncha-cases.csv",
        out.into_bytes(),
    )
}

/// A header row in bold, frozen, with an autofilter over `rows` data rows.
fn header_row(ws: &mut Worksheet, columns: &[&str], rows: usize) -> Result<(), XlsxError> {
    let bold = Format::new().set_bold().set_background_color("EEF1F4");
    for (i, name) in columns.iter().enumerate() {
        ws.write_string_with_format(0, i as u16, *name, &bold)?;
        ws.set_column_width(i as u16, 14)?;
    }
    ws.set_freeze_panes(1, 0)?;
    ws.autofilter(0, 0, rows as u32, columns.len().saturating_sub(1) as u16)?;
    Ok(())
}

fn case_sheet(
    ws: &mut Worksheet,
    cases: &[&Case],
    r: &ReferenceData,
    now: i64,
) -> Result<(), XlsxError> {
    header_row(ws, &CASE_COLUMNS, cases.len())?;
    ws.set_column_width(3, 36)?;
    ws.set_column_width(4, 28)?;
    for (i, c) in cases.iter().enumerate() {
        for (j, v) in case_row(c, r, now).iter().enumerate() {
            // Strings are written as strings: a leading "=" is text, never a formula.
            ws.write_string(i as u32 + 1, j as u16, v)?;
        }
    }
    Ok(())
}

fn xlsx_failed(e: XlsxError) -> Response {
    tracing::error!(error = %e, "xlsx export failed");
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        "导出失败 / export failed",
    )
        .into_response()
}

/// `GET /console/export.xlsx`: the boards' cases as an Excel workbook.
pub async fn export_xlsx(
    State(state): State<AppState>,
    Console { who, .. }: Console,
    Query(f): Query<Filter>,
) -> Response {
    let (cases, reference) = match open_cases(&state, &who, &f).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let now = state.now_ms();
    let mut wb = Workbook::new();
    let built = (|| {
        let ws = wb.add_worksheet().set_name("案件清单")?;
        case_sheet(ws, &cases.iter().collect::<Vec<_>>(), &reference, now)?;
        wb.save_to_buffer()
    })();
    match built {
        Ok(bytes) => attachment(XLSX, "xuncha-cases.xlsx", bytes),
        Err(e) => xlsx_failed(e),
    }
}

/// `GET /console/bulletin.xlsx?from&to`: the weekly bulletin for a period (supervisors).
pub async fn bulletin_xlsx(
    State(state): State<AppState>,
    Console { who, session, lang }: Console,
    Query(p): Query<PeriodQuery>,
) -> Response {
    if let Some(r) = supervisors_only(lang, &who, &session) {
        return r;
    }
    let data = match load_period(&state, &p).await {
        Ok(d) => d,
        Err(r) => return r,
    };
    let now = state.now_ms();
    let r = &data.reference;
    // Every case overdue now, most late first, and the problems found again at one site in the
    // period: read in SQL (at most EXPORT_ROWS each), not from every case.
    let (from_ms, to_ms) = data.period.range_ms(&data.reference.calendar);
    let overdue_filter = super::boards::Board::Overdue.filter(&CaseFilter::default(), now);
    let lists = state
        .blocking(move |s| {
            Ok((
                s.list_cases(&overdue_filter, 0, EXPORT_ROWS)?,
                s.repeated_at_sites(from_ms, to_ms)?,
            ))
        })
        .await;
    let (overdue, repeated) = match lists {
        Ok(x) => x,
        Err(e) => return e.into_response(),
    };
    let overdue: Vec<&Case> = overdue.iter().collect();
    let mut by_site: BTreeMap<&str, Vec<&Case>> = BTreeMap::new();
    for c in &repeated {
        if let Some(site) = c.site_id.as_deref() {
            by_site.entry(site).or_default().push(c);
        }
    }
    let mut repeats: Vec<(&str, Vec<&Case>)> =
        by_site.into_iter().filter(|(_, v)| v.len() >= 2).collect();
    repeats.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then(a.0.cmp(b.0)));

    let title = format!(
        "{} {} 至 {}",
        t(lang, "督查通报", "Bulletin"),
        data.period.from,
        data.period.to
    );
    let mut wb = Workbook::new();
    let built = (|| {
        let ws = wb.add_worksheet().set_name("单位排名")?;
        let columns = [
            "名次",
            "单位",
            "应结案",
            "已结案",
            "结案率",
            "按期结案率",
            "返工率",
            "延期率",
            "平均整改时长(小时)",
            "逾期未整改",
            "扣分",
            "综合得分",
        ];
        header_row(ws, &columns, data.ranked.len())?;
        ws.set_column_width(1, 24)?;
        for (i, s) in data.ranked.iter().enumerate() {
            let row = i as u32 + 1;
            ws.write_number(row, 0, (i + 1) as f64)?;
            ws.write_string(row, 1, unit_name(r, Some(&s.unit_id)))?;
            ws.write_number(row, 2, s.due as f64)?;
            ws.write_number(row, 3, s.closed as f64)?;
            ws.write_string(row, 4, pct(s.close_rate()))?;
            ws.write_string(row, 5, pct(s.on_time_rate()))?;
            ws.write_string(row, 6, pct(s.rework_rate()))?;
            ws.write_string(row, 7, pct(s.extension_rate()))?;
            if let Some(h) = s.mean_hours_to_rectify {
                ws.write_number(row, 8, (h * 10.0).round() / 10.0)?;
            }
            ws.write_number(row, 9, s.overdue as f64)?;
            ws.write_number(row, 10, (s.deductions * 10.0).round() / 10.0)?;
            ws.write_number(row, 11, (s.score * 10.0).round() / 10.0)?;
        }
        let note_row = data.ranked.len() as u32 + 2;
        ws.write_string(note_row, 0, &title)?;
        ws.write_string(
            note_row + 1,
            0,
            format!(
                "点位覆盖率 {}/{}（期间内有上报的点位）",
                data.coverage.0, data.coverage.1
            ),
        )?;
        ws.write_string(note_row + 2, 0, r.scoring.formula(xuncha_core::Lang::ZhCn))?;

        let ws = wb.add_worksheet().set_name("逾期案件")?;
        case_sheet(ws, &overdue, r, now)?;

        let ws = wb.add_worksheet().set_name("重复问题点位")?;
        header_row(
            ws,
            &["点位", "地址", "问题次数", "未结案", "类别"],
            repeats.len(),
        )?;
        ws.set_column_width(0, 24)?;
        ws.set_column_width(1, 28)?;
        ws.set_column_width(4, 40)?;
        for (i, (site, cases)) in repeats.iter().enumerate() {
            let row = i as u32 + 1;
            let s = r.sites.iter().find(|s| s.id == *site);
            ws.write_string(row, 0, s.map(|s| s.name.as_str()).unwrap_or(site))?;
            ws.write_string(row, 1, s.map(|s| s.address.as_str()).unwrap_or(""))?;
            ws.write_number(row, 2, cases.len() as f64)?;
            let open = cases.iter().filter(|c| c.status.is_open()).count();
            ws.write_number(row, 3, open as f64)?;
            let mut kinds: Vec<String> = cases
                .iter()
                .map(|c| category_name(r, &c.category))
                .collect();
            kinds.sort();
            kinds.dedup();
            ws.write_string(row, 4, kinds.join("、"))?;
        }
        wb.save_to_buffer()
    })();
    match built {
        Ok(bytes) => attachment(
            XLSX,
            &format!(
                "xuncha-bulletin-{}-{}.xlsx",
                data.period.from, data.period.to
            ),
            bytes,
        ),
        Err(e) => xlsx_failed(e),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn formulas_are_defused_even_after_a_leading_tab_or_return() {
        for bad in [
            "=1+1",
            "+1",
            "-1",
            "@SUM(A1)",
            "\t=cmd|' /C calc'!A0",
            "\r=1",
        ] {
            assert!(super::csv_field(bad).starts_with("\"'"), "{bad:?}");
        }
        assert_eq!(super::csv_field("井盖 \"缺失\""), "\"井盖 \"\"缺失\"\"\"");
    }
}
