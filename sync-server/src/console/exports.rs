//! Downloads: the boards' open cases as CSV (UTF-8 with BOM, so Excel opens it in Chinese) and
//! XLSX, scoped like the pages. The weekly bulletin is [`super::bulletin`].

use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use rust_xlsxwriter::{Format, Workbook, Worksheet, XlsxError};
use xuncha_core::Lang;
use xuncha_core::area::AreaTree;
use xuncha_core::model::Case;
use xuncha_core::reference::ReferenceData;

use super::areas::area_path;

use super::filter::{Filter, open_cases};
use super::pages::{category_name, unit_name, user_name};
use super::session::Console;
use super::time::when;
use crate::state::AppState;

/// The columns of a case list, in both exports.
const CASE_COLUMNS: [&str; 13] = [
    "案卷号",
    "状态",
    "类别",
    "描述",
    "地址",
    "区域",
    "网格",
    "责任单位",
    "上报人",
    "上报时间",
    "接收时间",
    "期限",
    "逾期",
];

fn case_row(c: &Case, r: &ReferenceData, areas: &AreaTree, now: i64) -> [String; 13] {
    [
        c.case_no.clone().unwrap_or_default(),
        c.status.label_zh().to_string(),
        category_name(r, &c.category),
        c.description.clone(),
        c.location.address.clone(),
        area_path(areas, c.area_id.as_deref(), Lang::ZhCn),
        c.grid_id
            .as_deref()
            .and_then(|g| r.grids.iter().find(|x| x.id == g))
            .map(|g| g.name.clone())
            .unwrap_or_default(),
        unit_name(r, c.unit_id.as_deref()),
        user_name(r, &c.reporter_id),
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

pub(super) fn attachment(mime: &'static str, name: &str, body: Vec<u8>) -> Response {
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

pub(super) const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

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
    let areas = AreaTree::new(&reference.areas);
    for c in &cases {
        let row = case_row(c, &reference, &areas, now);
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
    ws.set_column_width(5, 20)?;
    let areas = AreaTree::new(&r.areas);
    for (i, c) in cases.iter().enumerate() {
        for (j, v) in case_row(c, r, &areas, now).iter().enumerate() {
            // Strings are written as strings: a leading "=" is text, never a formula.
            ws.write_string(i as u32 + 1, j as u16, v)?;
        }
    }
    Ok(())
}

pub(super) fn export_failed(e: &dyn std::fmt::Display) -> Response {
    tracing::error!(error = %e, "export failed");
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
        Err(e) => export_failed(&e),
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
