//! The bulletin as a Word document, for the office to edit before issuing: A4 landscape, the
//! title in red over 第N期, the office and the date of issue over a red rule, the heading and the
//! summary in 仿宋, the 落款, then the three annexes as tables whose header rows repeat on every
//! page, and page numbers in the footer.

use docx_rs::{
    AlignmentType, BorderType, Docx, Footer, LineSpacing, NumPages, PageMargin, PageNum,
    PageOrientationType, Paragraph, ParagraphBorder, ParagraphBorderPosition, ParagraphBorders,
    Run, RunFonts, SpecialIndentType, Table, TableCell, TableRow, WidthType,
};

use super::content::Bulletin;
use super::text::{date_zh, pct_zh, period_zh};
use super::xlsx::{OVERDUE_COLUMNS, RANKING_COLUMNS, REPEAT_COLUMNS, text_width};

/// A4 landscape in twentieths of a point.
const PAGE_WIDTH: u32 = 16838;
const PAGE_HEIGHT: u32 = 11906;
const MARGIN: i32 = 1134;
/// The width a table spans.
const TEXT_WIDTH: usize = PAGE_WIDTH as usize - 2 * MARGIN as usize;
const RED: &str = "C00000";

fn fonts(east_asia: &str) -> RunFonts {
    RunFonts::new()
        .east_asia(east_asia)
        .ascii("Times New Roman")
        .hi_ansi("Times New Roman")
}

/// A run in a font and size (half-points).
fn run(text: &str, font: &str, size: usize) -> Run {
    Run::new().add_text(text).fonts(fonts(font)).size(size)
}

fn centered(r: Run) -> Paragraph {
    Paragraph::new().add_run(r).align(AlignmentType::Center)
}

/// A paragraph of the text: 仿宋 三号 (16 pt), the first line indented two characters.
fn body(text: &str) -> Paragraph {
    Paragraph::new()
        .add_run(run(text, "仿宋", 32))
        .indent(None, Some(SpecialIndentType::FirstLine(640)), None, None)
        .line_spacing(LineSpacing::new().line(560).after(0))
        .align(AlignmentType::Both)
}

/// A table cell with one paragraph of 9 pt text.
fn cell(text: &str, width: usize, header: bool) -> TableCell {
    let mut r = run(text, "宋体", 18);
    if header {
        r = r.bold();
    }
    let mut c = TableCell::new()
        .add_paragraph(Paragraph::new().add_run(r).align(if header {
            AlignmentType::Center
        } else {
            AlignmentType::Left
        }))
        .width(width, WidthType::Dxa);
    if header {
        c = c.shading(docx_rs::Shading::new().fill("EEF1F4"));
    }
    c
}

/// Column widths in twips, proportional to each column's widest text and spanning the page.
fn widths(rows: &[Vec<String>], max_units: f64) -> Vec<usize> {
    let cols = rows.first().map(Vec::len).unwrap_or(0);
    // Each column as wide as its widest cell (at most `max_units`), and never narrower than its
    // header.
    let units: Vec<f64> = (0..cols)
        .map(|j| {
            let widest = rows.iter().map(|r| text_width(&r[j])).fold(4.0, f64::max);
            // Plus the cell's margins.
            widest.min(max_units).max(text_width(&rows[0][j])) + 1.5
        })
        .collect();
    let total: f64 = units.iter().sum::<f64>().max(1.0);
    units
        .iter()
        .map(|u| (u / total * TEXT_WIDTH as f64) as usize)
        .collect()
}

/// A table whose first row is its header, repeated on every page (see [`repeat_headers`]).
fn table(header: &[&str], rows: Vec<Vec<String>>) -> Table {
    let mut all = vec![header.iter().map(|s| s.to_string()).collect::<Vec<_>>()];
    all.extend(rows);
    let w = widths(&all, 16.0);
    let rows: Vec<TableRow> = all
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let cells = r.iter().zip(&w).map(|(t, w)| cell(t, *w, i == 0)).collect();
            let row = TableRow::new(cells);
            // Only header rows are kept from splitting: the mark [`repeat_headers`] finds.
            if i == 0 { row.cant_split() } else { row }
        })
        .collect();
    Table::new(rows)
        .set_grid(w)
        .width(TEXT_WIDTH, WidthType::Dxa)
}

/// docx-rs 0.4 writes no `w:tblHeader`; the header rows carry `w:cantSplit` (and no other row
/// does), so each gets `w:tblHeader` beside it: Word and LibreOffice repeat them on each page.
fn repeat_headers(document: Vec<u8>) -> Vec<u8> {
    let xml = String::from_utf8_lossy(&document);
    xml.replace("<w:cantSplit />", "<w:cantSplit /><w:tblHeader />")
        .replace("<w:cantSplit/>", "<w:cantSplit/><w:tblHeader/>")
        .into_bytes()
}

fn annex_title(text: &str) -> Paragraph {
    centered(run(text, "黑体", 28).bold())
        .page_break_before(true)
        .line_spacing(LineSpacing::new().after(200))
}

/// The document's bytes.
pub fn render(b: &Bulletin) -> Result<Vec<u8>, String> {
    let mut rule = Paragraph::new()
        .add_run(run(&b.office, "仿宋", 30))
        .add_tab(
            docx_rs::Tab::new()
                .val(docx_rs::TabValueType::Right)
                .pos(TEXT_WIDTH),
        )
        .add_run(Run::new().add_tab())
        .add_run(run(&date_zh(b.issued_on), "仿宋", 30));
    // Only the red rule below: `ParagraphBorders::new()` would also draw the other sides.
    rule.property = rule.property.set_borders(
        ParagraphBorders::with_empty().set(
            ParagraphBorder::new(ParagraphBorderPosition::Bottom)
                .val(BorderType::Thick)
                .size(24)
                .color(RED),
        ),
    );
    let footer = Footer::new().add_paragraph(
        Paragraph::new()
            .add_run(run("第 ", "宋体", 20))
            .add_page_num(PageNum::new())
            .add_run(run(" 页 共 ", "宋体", 20))
            .add_num_pages(NumPages::new())
            .add_run(run(" 页", "宋体", 20))
            .align(AlignmentType::Center),
    );
    let mut doc = Docx::new()
        .page_size(PAGE_WIDTH, PAGE_HEIGHT)
        .page_orient(PageOrientationType::Landscape)
        .page_margin(
            PageMargin::new()
                .top(MARGIN)
                .bottom(MARGIN)
                .left(MARGIN)
                .right(MARGIN)
                .header(600)
                .footer(600),
        )
        .footer(footer)
        .add_paragraph(centered(run(&b.title, "黑体", 60).bold().color(RED)))
        .add_paragraph(centered(run(&b.number(), "仿宋", 32)))
        .add_paragraph(rule)
        .add_paragraph(Paragraph::new())
        .add_paragraph(centered(run(&b.heading(), "黑体", 36).bold()));
    for p in &b.summary {
        doc = doc.add_paragraph(body(p));
    }
    doc = doc
        .add_paragraph(Paragraph::new())
        .add_paragraph(body(&format!(
            "附件：1. 责任单位综合排名（{}家单位）；2. 逾期未整改问题清单（{}件）；3. 重复发现问题点位（{}处）",
            b.ranking.len(),
            b.overdue_total,
            b.repeats.len()
        )))
        .add_paragraph(Paragraph::new())
        .add_paragraph(
            Paragraph::new()
                .add_run(run(&b.office, "仿宋", 32))
                .align(AlignmentType::Right),
        )
        .add_paragraph(
            Paragraph::new()
                .add_run(run(&date_zh(b.issued_on), "仿宋", 32))
                .align(AlignmentType::Right),
        )
        .add_paragraph(Paragraph::new())
        .add_paragraph(
            Paragraph::new().add_run(
                run(&format!("附：综合得分计算方法。{}", b.formula), "仿宋", 21)
                    .color("52606D"),
            ),
        );

    let rate = |v: Option<f64>| v.map(|_| pct_zh(v)).unwrap_or_else(|| "—".into());
    let ranking = b
        .ranking
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let s = &r.score;
            vec![
                (i + 1).to_string(),
                r.unit.clone(),
                s.due.to_string(),
                s.closed.to_string(),
                rate(s.close_rate()),
                rate(s.on_time_rate()),
                rate(s.rework_rate()),
                rate(s.extension_rate()),
                s.mean_hours_to_rectify
                    .map(|h| format!("{h:.1}"))
                    .unwrap_or_else(|| "—".into()),
                s.overdue.to_string(),
                s.urged.to_string(),
                s.escalated.to_string(),
                s.recurred.to_string(),
                format!("{:.1}", s.deductions),
                format!("{:.1}", s.score),
            ]
        })
        .collect();
    doc = doc
        .add_paragraph(annex_title(&format!(
            "附件1　责任单位综合排名（{}）",
            period_zh(b.from, b.to)
        )))
        .add_table(table(&RANKING_COLUMNS, ranking));

    let when = |t: Option<chrono::NaiveDateTime>| {
        t.map(|t| t.format("%Y-%m-%d %H:%M").to_string())
            .unwrap_or_default()
    };
    let overdue = b
        .overdue
        .iter()
        .map(|c| {
            let mut row = c.texts().to_vec();
            row.extend([when(c.reported), when(c.deadline), c.days_late.to_string()]);
            row
        })
        .collect();
    doc = doc
        .add_paragraph(annex_title(&format!(
            "附件2　逾期未整改问题清单（截至{}，共{}件）",
            date_zh(b.issued_on),
            b.overdue_total
        )))
        .add_table(table(&OVERDUE_COLUMNS, overdue));

    let repeats = b
        .repeats
        .iter()
        .map(|r| {
            vec![
                r.site.clone(),
                r.address.clone(),
                r.times.to_string(),
                r.open.to_string(),
                r.categories.clone(),
            ]
        })
        .collect();
    doc = doc
        .add_paragraph(annex_title(&format!(
            "附件3　重复发现问题点位（{}）",
            period_zh(b.from, b.to)
        )))
        .add_table(table(&REPEAT_COLUMNS, repeats));

    let mut xml = doc.build();
    xml.document = repeat_headers(xml.document);
    let mut out = std::io::Cursor::new(Vec::new());
    xml.pack(&mut out).map_err(|e| e.to_string())?;
    Ok(out.into_inner())
}
