//! The bulletin as an Excel workbook: the text on the first sheet (title, 第N期, office and date
//! of issue over a red rule, the heading, the summary, the 落款), then one sheet per annex with
//! its title and header rows frozen on screen and repeated on every printed page. The text prints
//! on A4 portrait as a 公文 does, the annexes on A4 landscape; every sheet is fitted to the page
//! width and numbered. Numbers are numbers
//! (rates in a percent format), dates are dates, people are named, columns are as wide as
//! their text.

use chrono::{Datelike, NaiveDate, NaiveDateTime, Timelike};
use rust_xlsxwriter::{
    ExcelDateTime, Format, FormatAlign, FormatBorder, Workbook, Worksheet, XlsxError,
};

use super::content::Bulletin;

/// Excel's paper size code for A4.
const A4: u8 = 9;
/// The text sheet is this many columns of [`TEXT_COLUMN_WIDTH`].
const TEXT_COLUMNS: u16 = 8;
const TEXT_COLUMN_WIDTH: f64 = 11.0;
const RED: u32 = 0xC00000;
const BODY_FONT: &str = "宋体";
const TITLE_FONT: &str = "黑体";

/// The width of a text in Excel's column units: a Chinese character takes two.
pub fn text_width(s: &str) -> f64 {
    s.chars()
        .map(|c| if c.is_ascii() { 1.1 } else { 2.1 })
        .sum()
}

/// Column widths that fit the widest cell of each column, between 6 and `max`.
fn fit(ws: &mut Worksheet, widths: &[f64], max: f64) -> Result<(), XlsxError> {
    for (i, w) in widths.iter().enumerate() {
        ws.set_column_width(i as u16, (w + 2.0).clamp(6.0, max))?;
    }
    Ok(())
}

fn print_setup(ws: &mut Worksheet, footer: &str, landscape: bool) {
    if landscape {
        ws.set_landscape();
    } else {
        ws.set_portrait();
    }
    ws.set_paper_size(A4)
        .set_print_fit_to_pages(1, 0)
        .set_print_center_horizontally(true)
        .set_margins(0.6, 0.6, 0.7, 0.7, 0.3, 0.3)
        .set_footer(format!("&C{footer}  第 &P 页 共 &N 页"));
}

fn excel_date(d: NaiveDate) -> Result<ExcelDateTime, XlsxError> {
    ExcelDateTime::from_ymd(d.year() as u16, d.month() as u8, d.day() as u8)
}

fn excel_datetime(t: NaiveDateTime) -> Result<ExcelDateTime, XlsxError> {
    excel_date(t.date())?.and_hms(t.hour() as u16, t.minute() as u8, t.second())
}

/// The formats of one workbook.
struct Formats {
    body: Format,
    header: Format,
    cell: Format,
    wrap: Format,
    number: Format,
    decimal: Format,
    percent: Format,
    datetime: Format,
    annex_title: Format,
    /// A dash where there is no figure.
    none: Format,
}

impl Formats {
    fn new() -> Formats {
        let body = Format::new().set_font_name(BODY_FONT).set_font_size(11);
        let cell = body
            .clone()
            .set_border(FormatBorder::Thin)
            .set_align(FormatAlign::VerticalCenter);
        Formats {
            header: cell
                .clone()
                .set_bold()
                .set_background_color("EEF1F4")
                .set_align(FormatAlign::Center)
                .set_align(FormatAlign::VerticalCenter)
                .set_text_wrap(),
            wrap: cell.clone().set_text_wrap(),
            number: cell.clone().set_num_format("0"),
            decimal: cell.clone().set_num_format("0.0"),
            percent: cell.clone().set_num_format("0.0%"),
            datetime: cell.clone().set_num_format("yyyy-mm-dd hh:mm"),
            annex_title: body
                .clone()
                .set_font_name(TITLE_FONT)
                .set_font_size(14)
                .set_bold()
                .set_align(FormatAlign::Center)
                .set_align(FormatAlign::VerticalCenter),
            none: cell.clone().set_align(FormatAlign::Center),
            cell,
            body,
        }
    }
}

/// The workbook's bytes.
pub fn render(b: &Bulletin) -> Result<Vec<u8>, XlsxError> {
    let f = Formats::new();
    let mut wb = Workbook::new();
    text_sheet(wb.add_worksheet(), b, &f)?;
    ranking_sheet(wb.add_worksheet(), b, &f)?;
    overdue_sheet(wb.add_worksheet(), b, &f)?;
    repeats_sheet(wb.add_worksheet(), b, &f)?;
    wb.save_to_buffer()
}

/// A paragraph merged across the text sheet, as tall as its lines.
fn paragraph(
    ws: &mut Worksheet,
    row: u32,
    text: &str,
    format: &Format,
    points_per_line: f64,
) -> Result<(), XlsxError> {
    let per_line = f64::from(TEXT_COLUMNS) * TEXT_COLUMN_WIDTH - 4.0;
    let lines = (text_width(text) / per_line).ceil().max(1.0);
    ws.merge_range(row, 0, row, TEXT_COLUMNS - 1, text, format)?;
    ws.set_row_height(row, lines * points_per_line + 6.0)?;
    Ok(())
}

fn text_sheet(ws: &mut Worksheet, b: &Bulletin, f: &Formats) -> Result<(), XlsxError> {
    ws.set_name("通报")?;
    print_setup(ws, &format!("{} {}", b.title, b.number()), false);
    ws.set_screen_gridlines(false);
    for c in 0..TEXT_COLUMNS {
        ws.set_column_width(c, TEXT_COLUMN_WIDTH)?;
    }
    let last = TEXT_COLUMNS - 1;
    let centered = f
        .body
        .clone()
        .set_align(FormatAlign::Center)
        .set_align(FormatAlign::VerticalCenter);
    let title = centered
        .clone()
        .set_font_name(TITLE_FONT)
        .set_font_size(26)
        .set_bold()
        .set_font_color(RED);
    ws.merge_range(0, 0, 0, last, &b.title, &title)?;
    ws.set_row_height(0, 48)?;
    ws.merge_range(
        1,
        0,
        1,
        last,
        &b.number(),
        &centered.clone().set_font_size(14),
    )?;
    ws.set_row_height(1, 24)?;
    // The office on the left and the date of issue on the right, over a red rule.
    let rule = |fmt: Format| {
        fmt.set_font_size(12)
            .set_border_bottom(FormatBorder::Thick)
            .set_border_bottom_color(RED)
            .set_align(FormatAlign::VerticalCenter)
    };
    ws.merge_range(2, 0, 2, 4, &b.office, &rule(f.body.clone()))?;
    let date = rule(f.body.clone())
        .set_align(FormatAlign::Right)
        .set_num_format("yyyy\"年\"m\"月\"d\"日\"");
    ws.merge_range(2, 5, 2, last, "", &date)?;
    ws.write_datetime_with_format(2, 5, excel_date(b.issued_on)?, &date)?;
    ws.set_row_height(2, 24)?;

    let heading = centered
        .clone()
        .set_font_size(16)
        .set_bold()
        .set_text_wrap();
    paragraph(ws, 4, &b.heading(), &heading, 22.0)?;
    let text = f
        .body
        .clone()
        .set_font_size(12)
        .set_text_wrap()
        .set_align(FormatAlign::Top);
    let mut row = 6;
    for p in &b.summary {
        paragraph(ws, row, &format!("　　{p}"), &text, 18.0)?;
        row += 1;
    }
    row += 1;
    let annexes = format!(
        "附件：1. 责任单位综合排名（{}家单位）\n　　　2. 逾期未整改问题清单（{}件）\n　　　3. 重复发现问题点位（{}处）",
        b.ranking.len(),
        b.overdue_total,
        b.repeats.len()
    );
    ws.merge_range(row, 0, row, last, &annexes, &text)?;
    ws.set_row_height(row, 3.0 * 18.0 + 6.0)?;
    row += 2;
    let signed = f
        .body
        .clone()
        .set_font_size(12)
        .set_align(FormatAlign::Right);
    ws.merge_range(row, 0, row, last, &b.office, &signed)?;
    let signed_date = signed.clone().set_num_format("yyyy\"年\"m\"月\"d\"日\"");
    ws.merge_range(row + 1, 0, row + 1, last, "", &signed_date)?;
    ws.write_datetime_with_format(row + 1, 0, excel_date(b.issued_on)?, &signed_date)?;
    row += 3;
    let note = f
        .body
        .clone()
        .set_font_size(10)
        .set_font_color(0x52606D)
        .set_text_wrap()
        .set_align(FormatAlign::Top);
    paragraph(
        ws,
        row,
        &format!("附：综合得分计算方法。{}", b.formula),
        &note,
        15.0,
    )?;
    Ok(())
}

/// An annex's title (row 0, merged) and header (row 1), frozen on screen and repeated on each
/// printed page, with an autofilter over `rows` data rows.
fn annex_top(
    ws: &mut Worksheet,
    b: &Bulletin,
    name: &str,
    title: &str,
    columns: &[&str],
    rows: usize,
    f: &Formats,
) -> Result<(), XlsxError> {
    ws.set_name(name)?;
    print_setup(ws, &format!("{} {} {}", b.title, b.number(), name), true);
    let last = columns.len().saturating_sub(1) as u16;
    ws.merge_range(0, 0, 0, last, title, &f.annex_title)?;
    ws.set_row_height(0, 30)?;
    for (i, c) in columns.iter().enumerate() {
        ws.write_string_with_format(1, i as u16, *c, &f.header)?;
    }
    ws.set_row_height(1, 30)?;
    ws.set_freeze_panes(2, 0)?;
    ws.set_repeat_rows(0, 1)?;
    ws.autofilter(1, 0, rows as u32 + 1, last)?;
    Ok(())
}

/// The ranking's columns.
pub const RANKING_COLUMNS: [&str; 15] = [
    "名次",
    "责任单位",
    "应结案",
    "已结案",
    "结案率",
    "按期结案率",
    "返工率",
    "延期率",
    "平均整改时长(小时)",
    "逾期未整改",
    "被催办",
    "被督办",
    "复发",
    "扣分",
    "综合得分",
];

fn rate(
    ws: &mut Worksheet,
    row: u32,
    col: u16,
    v: Option<f64>,
    f: &Formats,
) -> Result<(), XlsxError> {
    match v {
        Some(v) => ws.write_number_with_format(row, col, v, &f.percent)?,
        None => ws.write_string_with_format(row, col, "—", &f.none)?,
    };
    Ok(())
}

fn ranking_sheet(ws: &mut Worksheet, b: &Bulletin, f: &Formats) -> Result<(), XlsxError> {
    let title = format!(
        "附件1　责任单位综合排名（{}）",
        super::text::period_zh(b.from, b.to)
    );
    annex_top(
        ws,
        b,
        "附件1 单位排名",
        &title,
        &RANKING_COLUMNS,
        b.ranking.len(),
        f,
    )?;
    let mut widths: Vec<f64> = RANKING_COLUMNS
        .iter()
        .map(|c| text_width(c).min(10.0))
        .collect();
    for (i, r) in b.ranking.iter().enumerate() {
        let row = i as u32 + 2;
        let s = &r.score;
        ws.write_number_with_format(row, 0, (i + 1) as f64, &f.number)?;
        ws.write_string_with_format(row, 1, &r.unit, &f.cell)?;
        widths[1] = widths[1].max(text_width(&r.unit));
        ws.write_number_with_format(row, 2, f64::from(s.due), &f.number)?;
        ws.write_number_with_format(row, 3, f64::from(s.closed), &f.number)?;
        rate(ws, row, 4, s.close_rate(), f)?;
        rate(ws, row, 5, s.on_time_rate(), f)?;
        rate(ws, row, 6, s.rework_rate(), f)?;
        rate(ws, row, 7, s.extension_rate(), f)?;
        match s.mean_hours_to_rectify {
            Some(h) => ws.write_number_with_format(row, 8, h, &f.decimal)?,
            None => ws.write_string_with_format(row, 8, "—", &f.none)?,
        };
        ws.write_number_with_format(row, 9, f64::from(s.overdue), &f.number)?;
        ws.write_number_with_format(row, 10, f64::from(s.urged), &f.number)?;
        ws.write_number_with_format(row, 11, f64::from(s.escalated), &f.number)?;
        ws.write_number_with_format(row, 12, f64::from(s.recurred), &f.number)?;
        ws.write_number_with_format(row, 13, s.deductions, &f.decimal)?;
        ws.write_number_with_format(row, 14, s.score, &f.decimal)?;
    }
    fit(ws, &widths, 30.0)
}

/// The overdue annex's columns.
pub const OVERDUE_COLUMNS: [&str; 10] = [
    "案卷号",
    "状态",
    "问题类别",
    "问题描述",
    "地址",
    "责任单位",
    "上报人",
    "上报时间",
    "整改期限",
    "逾期天数",
];

fn overdue_sheet(ws: &mut Worksheet, b: &Bulletin, f: &Formats) -> Result<(), XlsxError> {
    let title = format!(
        "附件2　逾期未整改问题清单（截至{}，共{}件）",
        super::text::date_zh(b.issued_on),
        b.overdue_total
    );
    annex_top(
        ws,
        b,
        "附件2 逾期案件",
        &title,
        &OVERDUE_COLUMNS,
        b.overdue.len(),
        f,
    )?;
    // Widths first: long texts wrap at a cap per column, and each row is as tall as its most
    // wrapped cell (LibreOffice keeps the heights a file gives).
    let caps = [20.0, 8.0, 20.0, 30.0, 24.0, 16.0, 12.0, 17.0, 17.0, 8.0];
    let mut widths: Vec<f64> = OVERDUE_COLUMNS.iter().map(|c| text_width(c)).collect();
    widths[7] = 17.0;
    widths[8] = 17.0;
    for c in &b.overdue {
        for (j, t) in c.texts().iter().enumerate() {
            widths[j] = widths[j].max(text_width(t)).min(caps[j]);
        }
    }
    for (i, c) in b.overdue.iter().enumerate() {
        let row = i as u32 + 2;
        let mut lines: f64 = 1.0;
        for (j, t) in c.texts().iter().enumerate() {
            ws.write_string_with_format(row, j as u16, t, &f.wrap)?;
            lines = lines.max((text_width(t) / widths[j]).ceil());
        }
        ws.set_row_height(row, lines * 14.5 + 2.0)?;
        for (j, t) in [(7, c.reported), (8, c.deadline)] {
            match t {
                Some(t) => {
                    ws.write_datetime_with_format(row, j, excel_datetime(t)?, &f.datetime)?
                }
                None => ws.write_string_with_format(row, j, "", &f.cell)?,
            };
        }
        ws.write_number_with_format(row, 9, c.days_late as f64, &f.number)?;
    }
    if (b.overdue.len() as u64) < b.overdue_total {
        let row = b.overdue.len() as u32 + 3;
        ws.write_string_with_format(
            row,
            0,
            format!(
                "共{}件，此处列出期限最早的{}件；全部清单请在督办看板导出。",
                b.overdue_total,
                b.overdue.len()
            ),
            &f.body,
        )?;
    }
    fit(ws, &widths, 40.0)
}

/// The repeat sites' columns.
pub const REPEAT_COLUMNS: [&str; 5] = ["点位", "地址", "问题次数", "未结案", "问题类别"];

fn repeats_sheet(ws: &mut Worksheet, b: &Bulletin, f: &Formats) -> Result<(), XlsxError> {
    let title = format!(
        "附件3　重复发现问题点位（{}）",
        super::text::period_zh(b.from, b.to)
    );
    annex_top(
        ws,
        b,
        "附件3 重复问题点位",
        &title,
        &REPEAT_COLUMNS,
        b.repeats.len(),
        f,
    )?;
    let mut widths: Vec<f64> = REPEAT_COLUMNS.iter().map(|c| text_width(c)).collect();
    for (i, r) in b.repeats.iter().enumerate() {
        let row = i as u32 + 2;
        ws.write_string_with_format(row, 0, &r.site, &f.cell)?;
        ws.write_string_with_format(row, 1, &r.address, &f.wrap)?;
        ws.write_number_with_format(row, 2, r.times as f64, &f.number)?;
        ws.write_number_with_format(row, 3, r.open as f64, &f.number)?;
        ws.write_string_with_format(row, 4, &r.categories, &f.wrap)?;
        for (j, t) in [(0, &r.site), (1, &r.address), (4, &r.categories)] {
            widths[j] = widths[j].max(text_width(t));
        }
    }
    fit(ws, &widths, 40.0)
}

#[cfg(test)]
mod tests {
    #[test]
    fn chinese_text_is_twice_as_wide() {
        assert!((super::text_width("ab") - 2.2).abs() < 1e-9);
        assert!((super::text_width("督查") - 4.2).abs() < 1e-9);
    }
}
