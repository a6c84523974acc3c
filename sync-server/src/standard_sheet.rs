//! The 测评 standard as an Excel sheet an office fills in (issue 17): the template
//! (`xuncha-server standard-template`), and reading a filled one back
//! (`xuncha-server import-standard FILE.xlsx`) into core's indicators, each row's mistake named
//! by its row. The rules the indicators follow are core's `standard`.
//!
//! One row per indicator, under this header (sheet 测评标准):
//!
//! | column | 表头 | what |
//! |---|---|---|
//! | A | 编码 | the indicator's code, e.g. `1.2` |
//! | B | 检查内容 | what is checked |
//! | C | 适用点位类型 | site types, separated by 、 or , |
//! | D | 分值 | its points |
//! | E | 计分方式 | 达标 (pass/fail), 按处扣分 (per occurrence) or 按数量 (a quota) |
//! | F | 扣分 | per occurrence, or per missing one |
//! | G | 扣分上限 | per occurrence: the most lost (empty: all the points) |
//! | H | 每单位应有 | a quota: how many per unit |
//! | I | 单位 | a quota: what a unit is (辆公交车, 500 米道路 …) |
//! | J | 问题类别 | the case category a failure raises (empty: scored only) |

use std::io::Cursor;

use calamine::{Data, Reader, Xlsx};
use rust_xlsxwriter::{Format, Workbook, XlsxError};
use xuncha_core::standard::{Indicator, ScoringRule};

/// The sheet's name.
pub const SHEET: &str = "测评标准";

/// The header, in column order.
pub const HEADER: [&str; 10] = [
    "编码",
    "检查内容",
    "适用点位类型",
    "分值",
    "计分方式",
    "扣分",
    "扣分上限",
    "每单位应有",
    "单位",
    "问题类别",
];

const PASS_FAIL: &str = "达标";
const PER_OCCURRENCE: &str = "按处扣分";
const QUOTA: &str = "按数量";

/// The most rows a sheet may hold (a standard has hundreds of indicators, not millions).
pub const MAX_ROWS: usize = 5_000;

/// A template holding `indicators` (an office edits the city's current standard; an empty one
/// gets three example rows), with a sheet that explains each column.
pub fn template(indicators: &[Indicator]) -> Result<Vec<u8>, XlsxError> {
    let examples;
    let rows = if indicators.is_empty() {
        examples = example_rows();
        &examples
    } else {
        indicators
    };
    let mut wb = Workbook::new();
    let bold = Format::new().set_bold().set_background_color("EEF1F4");
    {
        let ws = wb.add_worksheet().set_name(SHEET)?;
        for (j, h) in HEADER.iter().enumerate() {
            ws.write_string_with_format(0, j as u16, *h, &bold)?;
            ws.set_column_width(j as u16, if j == 1 { 40 } else { 14 })?;
        }
        ws.set_freeze_panes(1, 0)?;
        for (i, ind) in rows.iter().enumerate() {
            let r = i as u32 + 1;
            ws.write_string(r, 0, &ind.code)?;
            ws.write_string(r, 1, &ind.text)?;
            ws.write_string(r, 2, ind.site_types.join("、"))?;
            ws.write_number(r, 3, ind.points)?;
            match &ind.rule {
                ScoringRule::PassFail => {
                    ws.write_string(r, 4, PASS_FAIL)?;
                }
                ScoringRule::PerOccurrence { deduct, cap } => {
                    ws.write_string(r, 4, PER_OCCURRENCE)?;
                    ws.write_number(r, 5, *deduct)?;
                    ws.write_number(r, 6, *cap)?;
                }
                ScoringRule::Quota {
                    per_unit,
                    unit_label,
                    deduct,
                } => {
                    ws.write_string(r, 4, QUOTA)?;
                    ws.write_number(r, 5, *deduct)?;
                    ws.write_number(r, 7, *per_unit)?;
                    ws.write_string(r, 8, unit_label)?;
                }
            }
            if let Some(c) = &ind.category {
                ws.write_string(r, 9, c)?;
            }
        }
    }
    {
        let ws = wb.add_worksheet().set_name("填写说明")?;
        ws.set_column_width(0, 16)?;
        ws.set_column_width(1, 80)?;
        let help = [
            ("编码", "指标编码，如 1.2；不可重复。"),
            ("检查内容", "检查什么，如“设置公平秤，位置醒目、计量准确”。"),
            (
                "适用点位类型",
                "一个或多个点位类型，用“、”分隔，须与点位资料中的类型一致。",
            ),
            ("分值", "该指标的分值（0–1000）。"),
            (
                "计分方式",
                "达标：达标得全分，不达标不得分；按处扣分：每发现一处扣“扣分”，最多扣“扣分上限”；按数量：每“单位”应有“每单位应有”处，每缺一处扣“扣分”。",
            ),
            ("扣分", "按处扣分：每处扣几分；按数量：每缺一处扣几分。"),
            ("扣分上限", "按处扣分：最多扣几分（空为扣完分值为止）。"),
            (
                "每单位应有",
                "按数量：每个单位应有几处，如每辆公交车 2 处。",
            ),
            ("单位", "按数量：单位是什么，如“辆公交车”“500 米道路”。"),
            (
                "问题类别",
                "不达标时生成案件的问题类别编码（四位，如 0701）；空为只计分、不生成案件。",
            ),
        ];
        for (i, (k, v)) in help.iter().enumerate() {
            ws.write_string_with_format(i as u32, 0, *k, &bold)?;
            ws.write_string(i as u32, 1, *v)?;
        }
    }
    wb.save_to_buffer()
}

fn example_rows() -> Vec<Indicator> {
    let row = |code: &str, text: &str, kind: &str, points: f64, rule, category: &str| Indicator {
        code: code.into(),
        text: text.into(),
        site_types: vec![kind.into()],
        points,
        rule,
        category: Some(category.into()),
    };
    vec![
        row(
            "1.2",
            "设置公平秤，位置醒目、计量准确",
            "农贸市场",
            3.0,
            ScoringRule::PassFail,
            "0702",
        ),
        row(
            "2.3",
            "无乱贴乱画、非法小广告",
            "背街小巷",
            3.0,
            ScoringRule::PerOccurrence {
                deduct: 0.5,
                cap: 3.0,
            },
            "0201",
        ),
        row(
            "5.2",
            "公益广告每辆公交车不少于 2 处",
            "公交站台",
            8.0,
            ScoringRule::Quota {
                per_unit: 2.0,
                unit_label: "辆公交车".into(),
                deduct: 4.0,
            },
            "0701",
        ),
    ]
}

/// The indicators of a filled-in template; the first mistake is named with its row (as Excel
/// numbers it) and column. Checking them against the city's categories is the reference
/// data's import (`ReferenceData::validate`).
pub fn read(bytes: &[u8]) -> Result<Vec<Indicator>, String> {
    let mut wb: Xlsx<_> = Xlsx::new(Cursor::new(bytes))
        .map_err(|e| format!("不是可读取的 Excel 文件（.xlsx）：{e}"))?;
    let range = wb
        .worksheet_range(SHEET)
        .map_err(|_| format!("找不到工作表“{SHEET}”：请用 standard-template 生成的模板填写"))?;
    let mut rows = range.rows();
    let header: Vec<String> = rows
        .next()
        .map(|r| r.iter().map(text).collect())
        .unwrap_or_default();
    if header
        .iter()
        .take(HEADER.len())
        .map(String::as_str)
        .ne(HEADER)
    {
        return Err(format!("第 1 行应为表头：{}", HEADER.join("、")));
    }
    let mut out = Vec::new();
    for (i, row) in rows.enumerate() {
        let line = i + 2;
        if out.len() >= MAX_ROWS {
            return Err(format!("指标超过 {MAX_ROWS} 行"));
        }
        let cell = |j: usize| row.get(j).map(text).unwrap_or_default();
        if (0..HEADER.len()).all(|j| cell(j).is_empty()) {
            continue;
        }
        let bad = |col: usize, why: &str| format!("第 {line} 行“{}”：{why}", HEADER[col]);
        let number = |j: usize| -> Result<Option<f64>, String> {
            match row.get(j) {
                None | Some(Data::Empty) => Ok(None),
                Some(Data::Float(v)) => Ok(Some(*v)),
                Some(Data::Int(v)) => Ok(Some(*v as f64)),
                Some(other) => {
                    let t = text(other);
                    if t.is_empty() {
                        Ok(None)
                    } else {
                        t.parse::<f64>()
                            .map(Some)
                            .map_err(|_| bad(j, &format!("“{t}”不是数字")))
                    }
                }
            }
        };
        let required = |j: usize| -> Result<f64, String> {
            number(j)?.ok_or_else(|| bad(j, "须填写数字"))
        };
        let points = required(3)?;
        let rule = match cell(4).as_str() {
            PASS_FAIL | "pass_fail" => ScoringRule::PassFail,
            PER_OCCURRENCE | "per_occurrence" => ScoringRule::PerOccurrence {
                deduct: required(5)?,
                cap: number(6)?.unwrap_or(points),
            },
            QUOTA | "quota" => ScoringRule::Quota {
                per_unit: required(7)?,
                unit_label: {
                    let u = cell(8);
                    if u.is_empty() {
                        return Err(bad(8, "按数量计分须写明单位"));
                    }
                    u
                },
                deduct: required(5)?,
            },
            other => {
                return Err(bad(
                    4,
                    &format!("“{other}”不是 {PASS_FAIL}、{PER_OCCURRENCE} 或 {QUOTA}"),
                ));
            }
        };
        let site_types: Vec<String> = cell(2)
            .split(['、', ',', '，', ';', '；'])
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect();
        let category = Some(cell(9)).filter(|c| !c.is_empty());
        out.push(Indicator {
            code: cell(0),
            text: cell(1),
            site_types,
            points,
            rule,
            category,
        });
    }
    if out.is_empty() {
        return Err("模板中没有指标".into());
    }
    Ok(out)
}

/// A cell as text (numbers without a trailing .0: a code typed as 1.2 stays 1.2, a category
/// typed as 701 is not guessed at).
fn text(d: &Data) -> String {
    match d {
        Data::String(s) => s.trim().to_string(),
        Data::Float(f) => {
            let s = f.to_string();
            s.strip_suffix(".0").map(str::to_string).unwrap_or(s)
        }
        Data::Int(i) => i.to_string(),
        Data::Bool(b) => b.to_string(),
        Data::Empty => String::new(),
        other => other.to_string().trim().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(feature = "demo")]
    fn the_template_reads_back_as_what_it_was_made_from() {
        let standard = crate::demo::standard::demo_standard();
        let bytes = template(&standard).expect("template");
        assert_eq!(read(&bytes).expect("read"), standard);
        let examples = read(&template(&[]).expect("template")).expect("examples");
        assert_eq!(examples.len(), 3);
        assert!(matches!(examples[2].rule, ScoringRule::Quota { .. }));
    }

    #[test]
    fn a_mistake_is_named_by_its_row_and_column() {
        let mut wb = Workbook::new();
        let ws = wb.add_worksheet().set_name(SHEET).expect("sheet");
        for (j, h) in HEADER.iter().enumerate() {
            ws.write_string(0, j as u16, *h).expect("header");
        }
        ws.write_string(1, 0, "1.1").expect("cell");
        ws.write_string(1, 1, "市场整洁").expect("cell");
        ws.write_string(1, 2, "农贸市场").expect("cell");
        ws.write_number(1, 3, 5.0).expect("cell");
        ws.write_string(1, 4, PASS_FAIL).expect("cell");
        ws.write_string(2, 0, "1.2").expect("cell");
        ws.write_string(2, 1, "公平秤").expect("cell");
        ws.write_string(2, 2, "农贸市场").expect("cell");
        ws.write_string(2, 3, "三分").expect("cell");
        ws.write_string(2, 4, PASS_FAIL).expect("cell");
        let bytes = wb.save_to_buffer().expect("xlsx");
        assert_eq!(
            read(&bytes).err().as_deref(),
            Some("第 3 行“分值”：“三分”不是数字")
        );
        assert!(read(b"not a workbook").is_err());
    }
}

/// A standard from a file's bytes: an Excel workbook (a ZIP, `PK`) by the template, or else a
/// JSON list of indicators.
pub fn parse(bytes: &[u8]) -> Result<Vec<Indicator>, String> {
    if bytes.starts_with(b"PK") {
        read(bytes)
    } else {
        serde_json::from_slice(bytes)
            .map_err(|e| format!("既不是 .xlsx 模板也不是 JSON 指标列表：{e}"))
    }
}

/// What an import changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Imported {
    /// Indicators before.
    pub before: usize,
    /// Indicators now.
    pub after: usize,
    /// The reference data's new version (phones pull it with their next sync).
    pub version: i64,
}

/// Replace the city's standard with `standard`, checked like any reference data (codes, site
/// types, numbers, categories): nothing changes when it is refused, and the error says why in
/// `lang`. The CLI's `import-standard` and the console's upload both come here.
pub fn import(
    store: &dyn crate::store::ServerStore,
    standard: Vec<Indicator>,
    lang: xuncha_core::Lang,
) -> Result<Imported, String> {
    let (_, mut data) = store.reference().map_err(|e| e.to_string())?;
    let before = data.standard.len();
    data.standard = standard;
    data.validate().map_err(|e| e.message(lang))?;
    let version = store.set_reference(&data).map_err(|e| e.to_string())?;
    Ok(Imported {
        before,
        after: data.standard.len(),
        version,
    })
}
