//! More of the console over real HTTP: bulk dispatch from the queue, the Excel exports and the
//! bulletin, rectifying from the browser with an after-photo, marking a duplicate from the case
//! page, the boards' filters and the ranking page. Every test checks the page's answer and what
//! the server stored.

use std::io::Cursor;

use calamine::{Data, Range, Reader, Xlsx};
use chrono::{FixedOffset, TimeZone};
use reqwest::blocking::Client;
use reqwest::blocking::multipart::{Form, Part};
use uuid::Uuid;
use xuncha_core::model::{Case, OpBody, PhotoKind};
use xuncha_core::store::{NewReport, sha256_hex};
use xuncha_core::workflow::Action;
use xuncha_core::{Location, Status};

use crate::console_kit::{act, browser, console, field, get, status};
use crate::helpers::{Device, TestServer, photo, photo_bytes};

// ---- helpers (the shared ones are in `console_kit.rs`) ----

pub(crate) fn get_bytes(b: &Client, server: &TestServer, path: &str) -> (u16, String, Vec<u8>) {
    let r = b.get(format!("{}{path}", server.url)).send().expect("get");
    let status = r.status().as_u16();
    let mime = r
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    (status, mime, r.bytes().expect("bytes").to_vec())
}

/// Open the case page (for its CSRF token and `seen`) and post one action form from it.
pub(crate) fn act_now(
    b: &Client,
    server: &TestServer,
    case: Uuid,
    form: &[(&str, &str)],
) -> (u16, String) {
    let (s, page) = get(b, server, &format!("/console/cases/{case}"));
    assert_eq!(s, 200, "the case page of {case}");
    let (csrf, seen) = (field(&page, "csrf"), field(&page, "seen"));
    let mut all = vec![("csrf", csrf.as_str()), ("seen", seen.as_str())];
    all.extend_from_slice(form);
    act(b, server, case, &all)
}

fn bulk(b: &Client, server: &TestServer, form: &[(&str, &str)]) -> (u16, String) {
    let r = b
        .post(format!("{}/console/bulk", server.url))
        .form(form)
        .send()
        .expect("bulk");
    (r.status().as_u16(), r.text().unwrap_or_default())
}

fn rectify(b: &Client, server: &TestServer, case: Uuid, form: Form) -> (u16, String) {
    let r = b
        .post(format!("{}/console/cases/{case}/rectify", server.url))
        .multipart(form)
        .send()
        .expect("rectify");
    (r.status().as_u16(), r.text().unwrap_or_default())
}

fn case(server: &TestServer, id: Uuid) -> Case {
    server.state.store.case(id).expect("case").expect("exists")
}

pub(crate) fn timeline_len(server: &TestServer, id: Uuid) -> usize {
    server.state.store.timeline(id).expect("timeline").len()
}

/// The message box of a page after an action (or the whole page if there is none).
pub(crate) fn message(page: &str) -> &str {
    page.split("id=\"message\"")
        .nth(1)
        .and_then(|m| m.split("</div>").next())
        .unwrap_or(page)
}

/// The queue row checkbox value of `id` (`<id>:<updated_hlc>`).
fn checkbox(queue: &str, id: Uuid) -> String {
    let prefix = "name=\"case\" value=\"";
    let at = queue
        .find(&format!("{prefix}{id}:"))
        .unwrap_or_else(|| panic!("no checkbox for {id} in the queue"));
    let rest = &queue[at + prefix.len()..];
    rest[..rest.find('"').expect("closing quote")].to_string()
}

/// A Beijing date, as the console's date fields take it.
fn beijing_date(ms: i64) -> String {
    FixedOffset::east_opt(8 * 3600)
        .and_then(|tz| tz.timestamp_millis_opt(ms).single())
        .expect("a time")
        .format("%Y-%m-%d")
        .to_string()
}

/// Grid g1 (owned by unit 1) of the demo city.
const G1: (f64, f64) = (30.2552, 120.1552);
/// Grid g2 (owned by unit 2).
const G2: (f64, f64) = (30.2552, 120.1652);

/// A report with chosen fields, from the inspector's phone (not yet synced).
struct Report<'a> {
    category: &'a str,
    description: &'a str,
    at: (f64, f64),
    site: Option<&'a str>,
    campaign: Option<&'a str>,
}

impl Report<'_> {
    fn new(description: &str) -> Report<'_> {
        Report {
            category: "0101",
            description,
            at: G1,
            site: None,
            campaign: None,
        }
    }

    fn send(&self, phone: &Device, seed: u64) -> Uuid {
        phone
            .store
            .report(NewReport {
                category: self.category.into(),
                description: self.description.into(),
                location: Location {
                    lat: self.at.0,
                    lon: self.at.1,
                    accuracy_m: Some(5.0),
                    address: "演示路 1 号".into(),
                },
                site_id: self.site.map(str::to_string),
                campaign_id: self.campaign.map(str::to_string),
                undercover: false,
                photos: vec![photo(seed)],
            })
            .expect("report")
            .case_id
    }
}

/// Unit 1's row of the ranking over every date, as `b` sees it.
pub(crate) fn unit1_ranking_row(b: &Client, server: &TestServer) -> String {
    let (_, page) = get(b, server, "/console/ranking?from=2020-01-01&to=2099-12-31");
    page.split("<tr data-unit=\"u1\">")
        .nth(1)
        .expect("unit 1's row")
        .to_string()
}

/// Register and dispatch `id` to `unit` from the case page (category deadline).
pub(crate) fn dispatch(b: &Client, server: &TestServer, id: Uuid, unit: &str) {
    let (s, page) = act_now(b, server, id, &[("action", "register")]);
    assert_eq!(s, 303, "register: {}", message(&page));
    let (s, page) = act_now(b, server, id, &[("action", "dispatch"), ("unit_id", unit)]);
    assert_eq!(s, 303, "dispatch: {}", message(&page));
    assert_eq!(status(server, id), Status::Dispatched);
}

fn jpeg_part(bytes: Vec<u8>) -> Part {
    Part::bytes(bytes)
        .file_name("after.jpg")
        .mime_str("image/jpeg")
        .expect("mime")
}

// ---- 1. bulk ----

#[test]
fn bulk_dispatch_sends_each_ticked_case_to_its_suggested_unit_with_a_deadline() {
    let server = TestServer::start();
    let phone = Device::signed_in(&server, "inspector1", 0);
    let a = Report::new("批量一 南门垃圾").send(&phone, 1);
    let b_case = Report {
        at: G2,
        ..Report::new("批量二 东街垃圾")
    }
    .send(&phone, 2);
    let untouched = Report {
        at: (30.2652, 120.1752),
        ..Report::new("批量三 未勾选")
    }
    .send(&phone, 3);
    phone.sync();
    assert_eq!(case(&server, a).suggested_unit_id.as_deref(), Some("u1"));
    assert_eq!(
        case(&server, b_case).suggested_unit_id.as_deref(),
        Some("u2")
    );

    let sup = console(&server, "supervisor1");
    let (s, queue) = get(&sup, &server, "/console");
    assert_eq!(s, 200);
    let csrf = field(&queue, "csrf");
    let (seen_a, seen_b) = (checkbox(&queue, a), checkbox(&queue, b_case));
    let before = server.state.now_ms();

    let (s, page) = bulk(
        &sup,
        &server,
        &[
            ("csrf", &csrf),
            ("case", &seen_a),
            ("case", &seen_b),
            ("unit_id", ""),
            ("action", "dispatch"),
        ],
    );
    assert_eq!(s, 200, "{}", message(&page));
    assert!(message(&page).contains("已派遣 2"), "{}", message(&page));
    assert!(!message(&page).contains("未执行"), "{}", message(&page));
    for (id, unit) in [(a, "u1"), (b_case, "u2")] {
        let c = case(&server, id);
        assert_eq!(c.status, Status::Dispatched, "{id}");
        assert_eq!(c.unit_id.as_deref(), Some(unit), "the suggested unit");
        assert!(c.case_no.is_some(), "registered on the way");
        assert!(
            c.deadline_ms.is_some_and(|d| d > before),
            "the category's deadline: {:?}",
            c.deadline_ms
        );
        // Register then dispatch: the report and two console operations.
        assert_eq!(timeline_len(&server, id), 3);
    }
    assert_eq!(status(&server, untouched), Status::Submitted);
    // The answer is the queue again: the dispatched cases left it, the other one is still there.
    assert!(
        !page.contains(&format!("value=\"{a}:")),
        "dispatched: off the queue"
    );
    assert!(page.contains(&format!("value=\"{untouched}:")));

    // The dispatch reaches unit 1's phone with its deadline.
    let unit = Device::signed_in(&server, "unit1", 0);
    let detail = unit.store.case_detail(a).expect("unit 1 has the case");
    assert_eq!(detail.case.status, Status::Dispatched);
    assert_eq!(detail.case.deadline_ms, case(&server, a).deadline_ms);
    assert!(
        unit.store.case_detail(b_case).is_err(),
        "unit 2's case is not unit 1's"
    );
}

#[test]
fn bulk_refuses_stale_rows_forged_forms_unit_staff_and_garbage() {
    let server = TestServer::start();
    let phone = Device::signed_in(&server, "inspector1", 0);
    let stale = Report::new("批量 过期页面").send(&phone, 1);
    let fresh = Report {
        at: G2,
        ..Report::new("批量 新鲜")
    }
    .send(&phone, 2);
    phone.sync();

    let sup = console(&server, "supervisor1");
    let (_, queue) = get(&sup, &server, "/console");
    let csrf = field(&queue, "csrf");
    let (seen_stale, seen_fresh) = (checkbox(&queue, stale), checkbox(&queue, fresh));

    // A forged form: refused, nothing changes.
    let (s, _) = bulk(
        &sup,
        &server,
        &[
            ("csrf", "forged"),
            ("case", &seen_stale),
            ("case", &seen_fresh),
            ("action", "dispatch"),
        ],
    );
    assert_eq!(s, 403);
    // Unit staff may not bulk-dispatch, even with their own valid CSRF token.
    let staff = console(&server, "unit1");
    let (_, staff_queue) = get(&staff, &server, "/console");
    let staff_csrf = field(&staff_queue, "csrf");
    let (s, page) = bulk(
        &staff,
        &server,
        &[
            ("csrf", &staff_csrf),
            ("case", &seen_stale),
            ("case", &seen_fresh),
            ("unit_id", "u1"),
            ("action", "dispatch"),
        ],
    );
    assert_eq!(s, 403, "{}", message(&page));
    // A malformed row: the whole form is refused, the good row included.
    let (s, page) = bulk(
        &sup,
        &server,
        &[
            ("csrf", &csrf),
            ("case", "garbage"),
            ("case", &seen_fresh),
            ("action", "dispatch"),
        ],
    );
    assert_eq!(s, 409);
    assert!(
        message(&page).contains("表单内容无效"),
        "{}",
        message(&page)
    );
    // A bad id after the colon, and an unknown action.
    let (s, _) = bulk(
        &sup,
        &server,
        &[
            ("csrf", &csrf),
            ("case", "not-a-uuid:1"),
            ("action", "dispatch"),
        ],
    );
    assert_eq!(s, 409);
    let (s, _) = bulk(
        &sup,
        &server,
        &[("csrf", &csrf), ("case", &seen_fresh), ("action", "close")],
    );
    assert_eq!(s, 409);
    for id in [stale, fresh] {
        assert_eq!(status(&server, id), Status::Submitted, "nothing changed");
        assert_eq!(timeline_len(&server, id), 1);
    }

    // Someone registers one case after the queue was loaded: that row is stale.
    let (s, _) = act_now(&sup, &server, stale, &[("action", "register")]);
    assert_eq!(s, 303);
    let case_no = case(&server, stale).case_no.expect("a case number");
    let (s, page) = bulk(
        &sup,
        &server,
        &[
            ("csrf", &csrf),
            ("case", &seen_stale),
            ("case", &seen_fresh),
            ("unit_id", "u3"),
            ("action", "dispatch"),
        ],
    );
    assert_eq!(s, 409, "{}", message(&page));
    let m = message(&page);
    assert!(m.contains("已派遣 1"), "{m}");
    assert!(m.contains("1 件未执行"), "{m}");
    assert!(m.contains(&case_no), "the stale case is named: {m}");
    assert!(m.contains("已被他人更新"), "and why: {m}");
    assert_eq!(status(&server, stale), Status::Registered, "not done");
    assert_eq!(timeline_len(&server, stale), 2);
    let done = case(&server, fresh);
    assert_eq!(done.status, Status::Dispatched, "the other one is done");
    assert_eq!(done.unit_id.as_deref(), Some("u3"), "to the chosen unit");
    assert!(done.deadline_ms.is_some());
}

#[test]
fn bulk_counts_a_case_ticked_twice_once() {
    let server = TestServer::start();
    let phone = Device::signed_in(&server, "inspector1", 0);
    let id = Report::new("批量 重复勾选").send(&phone, 1);
    phone.sync();
    let sup = console(&server, "supervisor1");
    let (_, queue) = get(&sup, &server, "/console");
    let (csrf, seen) = (field(&queue, "csrf"), checkbox(&queue, id));
    // A hand-made form naming the same row twice.
    let (s, page) = bulk(
        &sup,
        &server,
        &[
            ("csrf", &csrf),
            ("case", &seen),
            ("case", &seen),
            ("action", "dispatch"),
        ],
    );
    let m = message(&page);
    let c = case(&server, id);
    assert_eq!(c.status, Status::Dispatched);
    assert_eq!(c.unit_id.as_deref(), Some("u1"));
    assert_eq!(
        timeline_len(&server, id),
        3,
        "registered and dispatched once"
    );
    assert_eq!(s, 200, "{m}");
    assert!(m.contains("已派遣 1") && !m.contains("未执行"), "{m}");
}

// ---- 2. exports ----

pub(crate) fn workbook(bytes: Vec<u8>) -> Xlsx<Cursor<Vec<u8>>> {
    calamine::open_workbook_from_rs::<Xlsx<_>, _>(Cursor::new(bytes)).expect("an xlsx workbook")
}

fn cell(r: &Range<Data>, row: usize, col: usize) -> Data {
    r.get((row, col)).cloned().unwrap_or(Data::Empty)
}

pub(crate) fn text(r: &Range<Data>, row: usize, col: usize) -> String {
    match cell(r, row, col) {
        Data::String(s) => s,
        other => panic!("({row}, {col}) is not a string: {other:?}"),
    }
}

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

#[test]
fn xlsx_export_lists_a_units_open_cases_and_never_writes_formulas() {
    let server = TestServer::start();
    let phone = Device::signed_in(&server, "inspector1", 0);
    let formula = Report::new("=1+2 公式注入测试").send(&phone, 1);
    let plain = Report {
        at: (30.2570, 120.1570),
        ..Report::new("导出 普通案件")
    }
    .send(&phone, 2);
    let other_unit = Report {
        at: G2,
        ..Report::new("导出 二号单位")
    }
    .send(&phone, 3);
    let not_open = Report {
        at: (30.2580, 120.1530),
        ..Report::new("导出 未派遣")
    }
    .send(&phone, 4);
    phone.sync();
    let sup = console(&server, "supervisor1");
    dispatch(&sup, &server, formula, "u1");
    dispatch(&sup, &server, plain, "u1");
    dispatch(&sup, &server, other_unit, "u2");

    let (s, mime, bytes) = get_bytes(&sup, &server, "/console/export.xlsx?unit=u1");
    assert_eq!(s, 200);
    assert_eq!(mime, XLSX);
    let mut wb = workbook(bytes);
    assert_eq!(wb.sheet_names(), vec!["案件清单".to_string()]);
    let sheet = wb.worksheet_range("案件清单").expect("the case sheet");
    assert_eq!(sheet.start(), Some((0, 0)));
    assert_eq!(text(&sheet, 0, 0), "案卷号");
    assert_eq!(text(&sheet, 0, 3), "描述");
    assert_eq!(sheet.height(), 3, "header + the two open cases of unit 1");
    let mut rows: Vec<(String, String, String)> = (1..sheet.height())
        .map(|r| (text(&sheet, r, 0), text(&sheet, r, 1), text(&sheet, r, 3)))
        .collect();
    rows.sort();
    let mut want: Vec<(String, String, String)> = [formula, plain]
        .iter()
        .map(|id| {
            let c = case(&server, *id);
            (
                c.case_no.expect("case number"),
                "已派遣".to_string(),
                c.description,
            )
        })
        .collect();
    want.sort();
    assert_eq!(rows, want);
    // The description that looks like a formula is a plain string cell, not a formula.
    assert!(
        rows.iter().any(|r| r.2 == "=1+2 公式注入测试"),
        "kept verbatim as text: {rows:?}"
    );
    let formulas = wb.worksheet_formula("案件清单").expect("formulas");
    assert!(
        formulas.used_cells().all(|(_, _, f)| f.is_empty()),
        "no formula anywhere"
    );

    // The CSV of the same cases defuses the formula with a leading apostrophe.
    let (s, csv) = get(&sup, &server, "/console/export.csv?unit=u1");
    assert_eq!(s, 200);
    assert_eq!(csv.lines().count(), 3, "header + two cases: {csv}");
    assert!(csv.contains("\"'=1+2 公式注入测试\""), "{csv}");

    // Unit staff get their own unit's cases whatever the query says.
    let staff2 = console(&server, "unit2");
    let (s, _, bytes) = get_bytes(&staff2, &server, "/console/export.xlsx?unit=u1");
    assert_eq!(s, 200);
    let sheet = workbook(bytes)
        .worksheet_range("案件清单")
        .expect("the case sheet");
    assert_eq!(sheet.height(), 2, "header + unit 2's one case");
    assert_eq!(text(&sheet, 1, 3), "导出 二号单位");
    assert_eq!(status(&server, not_open), Status::Submitted);
}

#[test]
fn the_bulletin_as_an_office_issues_it_in_xlsx_and_docx_for_supervisors_only() {
    let server = TestServer::start();
    let phone = Device::signed_in(&server, "inspector1", 0);
    // Two problems at the same site in the period: a repeat site.
    let first = Report {
        site: Some("s1"),
        ..Report::new("通报 点位一 第一次")
    }
    .send(&phone, 1);
    let second = Report {
        site: Some("s1"),
        category: "0105",
        ..Report::new("通报 点位一 第二次")
    }
    .send(&phone, 2);
    phone.sync();
    let sup = console(&server, "supervisor1");
    dispatch(&sup, &server, first, "u1");
    dispatch(&sup, &server, second, "u1");

    let path = "/console/bulletin.xlsx?from=2020-01-01&to=2099-12-31";
    let (s, mime, bytes) = get_bytes(&sup, &server, path);
    assert_eq!(s, 200);
    assert_eq!(mime, XLSX);
    let mut wb = workbook(bytes);
    assert_eq!(
        wb.sheet_names(),
        [
            "通报",
            "附件1 单位排名",
            "附件2 逾期案件",
            "附件3 重复问题点位"
        ]
    );
    // The text: title, 第N期, office and date of issue, heading, summary in words.
    let today = chrono::Utc::now()
        .with_timezone(&FixedOffset::east_opt(8 * 3600).expect("offset"))
        .date_naive();
    let text_sheet = wb.worksheet_range("通报").expect("text");
    assert_eq!(text(&text_sheet, 0, 0), "创文督查通报");
    assert_eq!(
        text(&text_sheet, 1, 0),
        format!("{}年第1期", chrono::Datelike::year(&today))
    );
    assert_eq!(
        text(&text_sheet, 2, 0),
        "示范市创建全国文明城市工作指挥部办公室"
    );
    match cell(&text_sheet, 2, 5) {
        // An Excel date: days since 1899-12-30.
        Data::DateTime(d) => assert_eq!(
            d.as_f64().floor() as i64,
            (today - chrono::NaiveDate::from_ymd_opt(1899, 12, 30).expect("epoch")).num_days(),
            "the date of issue is a date"
        ),
        other => panic!("the date of issue is {other:?}"),
    }
    assert_eq!(
        text(&text_sheet, 4, 0),
        "关于2020年1月1日至2099年12月31日问题整改情况的通报"
    );
    let summary = text(&text_sheet, 6, 0);
    assert!(
        summary.contains("本期共发现问题2件，已整改结案0件；各单位本期应结案2件"),
        "{summary}"
    );
    // The districts compared (both cases lie in 西湖区).
    assert_eq!(
        text(&text_sheet, 7, 0).trim_start_matches('\u{3000}'),
        "分区域看：西湖区应结案2件、结案率0.0%、综合得分0.0分。"
    );
    // Only one unit had cases due: nobody is named at the bottom; the repeat site is.
    assert!(
        text(&text_sheet, 8, 0).contains("同一点位重复发现问题的有1处"),
        "{}",
        text(&text_sheet, 8, 0)
    );

    let ranking = wb.worksheet_range("附件1 单位排名").expect("ranking");
    assert!(text(&ranking, 0, 0).starts_with("附件1"));
    assert_eq!(text(&ranking, 1, 0), "名次");
    assert_eq!(text(&ranking, 1, 1), "责任单位");
    let units: Vec<String> = server
        .state
        .store
        .reference()
        .expect("reference")
        .1
        .units
        .iter()
        .map(|u| u.name.clone())
        .collect();
    assert_eq!(units.len(), 9);
    let mut listed: Vec<String> = (2..units.len() + 2).map(|r| text(&ranking, r, 1)).collect();
    let mut want = units.clone();
    listed.sort();
    want.sort();
    assert_eq!(listed, want, "one row per unit");
    let u1_row = (2..units.len() + 2)
        .find(|r| text(&ranking, *r, 1) == units[0])
        .expect("unit 1's row");
    assert_eq!(cell(&ranking, u1_row, 2), Data::Float(2.0), "2 cases due");
    assert_eq!(cell(&ranking, u1_row, 3), Data::Float(0.0), "none closed");
    assert_eq!(
        cell(&ranking, u1_row, 4),
        Data::Float(0.0),
        "the close rate is a number (shown as a percentage)"
    );

    let overdue = wb.worksheet_range("附件2 逾期案件").expect("overdue");
    assert_eq!(text(&overdue, 1, 0), "案卷号");
    assert_eq!(overdue.height(), 2, "nothing is late yet");
    let repeats = wb.worksheet_range("附件3 重复问题点位").expect("repeats");
    assert_eq!(text(&repeats, 1, 0), "点位");
    assert_eq!(repeats.height(), 3, "one repeat site");
    let site = server.state.store.reference().expect("reference").1.sites[0].clone();
    assert_eq!(text(&repeats, 2, 0), site.name);
    assert_eq!(cell(&repeats, 2, 2), Data::Float(2.0), "two problems there");
    assert_eq!(cell(&repeats, 2, 3), Data::Float(2.0), "both open");

    // The same bulletin as a Word document.
    let docx_path = "/console/bulletin.docx?from=2020-01-01&to=2099-12-31";
    let (s, mime, bytes) = get_bytes(&sup, &server, docx_path);
    assert_eq!(s, 200);
    assert_eq!(
        mime,
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    );
    let doc = docx_rs::read_docx(&bytes).expect("a docx document").json();
    for words in [
        "创文督查通报",
        "第1期",
        "示范市创建全国文明城市工作指挥部办公室",
        "本期共发现问题2件",
        "附件1",
        "责任单位综合排名",
        &site.name,
        &units[0],
    ] {
        assert!(doc.contains(words), "{words} in the Word document");
    }

    // 第N期: the same period keeps its number; the next period takes the next one.
    let number = |path: &str| {
        let (_, _, bytes) = get_bytes(&sup, &server, path);
        let mut wb = workbook(bytes);
        let r = wb.worksheet_range("通报").expect("text");
        text(&r, 1, 0)
    };
    let year = chrono::Datelike::year(&today);
    assert_eq!(number(path), format!("{year}年第1期"));
    assert_eq!(
        number("/console/bulletin.xlsx?from=2020-01-01&to=2020-01-07"),
        format!("{year}年第2期")
    );
    assert_eq!(number(path), format!("{year}年第1期"));
    assert!(
        get_bytes(
            &sup,
            &server,
            "/console/bulletin.docx?from=2020-01-01&to=2020-01-07"
        )
        .2
        .len()
            > 1000
    );

    // Unit staff: refused.
    let staff = console(&server, "unit1");
    let (s, _, _) = get_bytes(&staff, &server, path);
    assert_eq!(s, 403);
    assert_eq!(get_bytes(&staff, &server, docx_path).0, 403);
    // Not signed in: sent to the sign-in page.
    assert_eq!(get_bytes(&browser(), &server, path).0, 303);
}

// ---- 3. rectify from the browser ----

#[test]
fn unit_staff_rectify_from_the_browser_with_an_after_photo() {
    let server = TestServer::start();
    let phone = Device::signed_in(&server, "inspector1", 0);
    let id = Report::new("整改 浏览器上传").send(&phone, 1);
    phone.sync();
    let sup = console(&server, "supervisor1");
    dispatch(&sup, &server, id, "u1");

    let staff = console(&server, "unit1");
    // Not acknowledged yet: the page offers no rectify form, and a hand-made one is refused.
    let (_, page) = get(&staff, &server, &format!("/console/cases/{id}"));
    assert!(!page.contains("data-action=\"rectify\""));
    let early = Form::new()
        .text("csrf", field(&page, "csrf"))
        .text("seen", field(&page, "seen"))
        .part("photo", jpeg_part(photo_bytes(6)));
    assert_eq!(rectify(&staff, &server, id, early).0, 409);
    assert_eq!(status(&server, id), Status::Dispatched);
    assert_eq!(timeline_len(&server, id), 3);
    let (s, page) = act_now(&staff, &server, id, &[("action", "acknowledge")]);
    assert_eq!(s, 303, "{}", message(&page));
    assert_eq!(status(&server, id), Status::InProgress);
    let (s, page) = get(&staff, &server, &format!("/console/cases/{id}"));
    assert_eq!(s, 200);
    assert!(
        page.contains("enctype=\"multipart/form-data\"")
            && page.contains("data-action=\"rectify\""),
        "the page offers the rectify form"
    );
    let (csrf, seen) = (field(&page, "csrf"), field(&page, "seen"));
    let events = timeline_len(&server, id);
    let unchanged = |why: &str| {
        assert_eq!(status(&server, id), Status::InProgress, "{why}");
        assert_eq!(timeline_len(&server, id), events, "{why}");
    };
    let form = |photo: Option<Part>| {
        let f = Form::new()
            .text("csrf", csrf.clone())
            .text("seen", seen.clone())
            .text("text", "已清理完毕");
        match photo {
            Some(p) => f.part("photo", p),
            None => f,
        }
    };

    // Not an image: the reason on the page, nothing changed.
    let not_image = Part::bytes(b"just some text, not a photo".to_vec())
        .file_name("note.txt")
        .mime_str("text/plain")
        .expect("mime");
    let (s, page) = rectify(&staff, &server, id, form(Some(not_image)));
    assert_eq!(s, 409);
    assert!(
        message(&page).contains("照片格式不支持"),
        "{}",
        message(&page)
    );
    unchanged("not an image");
    // A JPEG's name and type on bytes that are not a JPEG: still refused.
    let disguised = jpeg_part(b"GIF89a not really".to_vec());
    assert_eq!(rectify(&staff, &server, id, form(Some(disguised))).0, 409);
    unchanged("disguised");
    // No photo at all, and the empty file part a browser sends when none was chosen.
    let (s, page) = rectify(&staff, &server, id, form(None));
    assert_eq!(s, 409);
    assert!(
        message(&page).contains("需要至少一张整改后照片"),
        "{}",
        message(&page)
    );
    unchanged("no photo");
    let empty = Part::bytes(Vec::new())
        .file_name("")
        .mime_str("application/octet-stream")
        .expect("mime");
    assert_eq!(rectify(&staff, &server, id, form(Some(empty))).0, 409);
    unchanged("empty file");
    // A forged form.
    let forged = Form::new()
        .text("csrf", "forged")
        .text("seen", seen.clone())
        .part("photo", jpeg_part(photo_bytes(7)));
    assert_eq!(rectify(&staff, &server, id, forged).0, 403);
    unchanged("forged");
    // Another unit's staff: the case does not exist for them.
    let staff2 = console(&server, "unit2");
    let (_, q2) = get(&staff2, &server, "/console");
    let forged_by_unit2 = Form::new()
        .text("csrf", field(&q2, "csrf"))
        .text("seen", seen.clone())
        .part("photo", jpeg_part(photo_bytes(8)));
    assert_eq!(rectify(&staff2, &server, id, forged_by_unit2).0, 404);
    unchanged("another unit");

    // A real photo: done, and the page shows the case again.
    let after = photo_bytes(42);
    let sha = sha256_hex(&after);
    let r = staff
        .post(format!("{}/console/cases/{id}/rectify", server.url))
        .multipart(form(Some(jpeg_part(after.clone()))))
        .send()
        .expect("rectify");
    assert_eq!(r.status().as_u16(), 303);
    assert_eq!(
        r.headers()
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok()),
        Some(format!("/console/cases/{id}").as_str())
    );
    assert_eq!(status(&server, id), Status::Rectified);
    let timeline = server.state.store.timeline(id).expect("timeline");
    assert_eq!(timeline.len(), events + 1);
    let event = timeline.last().expect("the rectify event");
    assert_eq!(event.op.body.action(), Action::Rectify);
    assert_eq!(event.op.actor.user_id, "unit1");
    assert!(
        matches!(&event.op.body, OpBody::Rectify { note, .. } if note == "已清理完毕"),
        "{:?}",
        event.op.body
    );
    let photos = event.op.body.photos();
    assert_eq!(photos.len(), 1);
    assert_eq!(photos[0].sha256, sha);
    assert_eq!(photos[0].kind, PhotoKind::After);
    assert_eq!(photos[0].mime, "image/jpeg");
    assert_eq!(photos[0].size, after.len() as u64);

    // The same page again is stale now.
    let (s, page) = rectify(&staff, &server, id, form(Some(jpeg_part(photo_bytes(43)))));
    assert_eq!(s, 409);
    assert!(
        message(&page).contains("已被他人更新"),
        "{}",
        message(&page)
    );
    assert_eq!(timeline_len(&server, id), events + 1);

    // The supervisor's console sees the after-photo, byte for byte, and the case page shows it.
    let (s, _, got) = get_bytes(&sup, &server, &format!("/v1/photos/{sha}"));
    assert_eq!(s, 200);
    assert_eq!(got, after);
    let (_, page) = get(&sup, &server, &format!("/console/cases/{id}"));
    assert!(page.contains(&format!("/v1/photos/{sha}")));
    // Unit 2 may not fetch it.
    assert_eq!(
        get_bytes(&staff2, &server, &format!("/v1/photos/{sha}")).0,
        404
    );
    // And the inspector's phone receives the rectification with the photo.
    phone.sync();
    let detail = phone.store.case_detail(id).expect("on the phone");
    assert_eq!(detail.case.status, Status::Rectified);
}

// ---- 3b. the queue: each row's own photo and neighbours ----

/// The queue reads its rows' first photos and the open cases around them in one query each;
/// every row still shows its own photo (the first of its timeline) and its own neighbours.
#[test]
fn the_queue_shows_each_cases_own_photo_and_its_own_neighbours() {
    let server = TestServer::start();
    let phone = Device::signed_in(&server, "inspector1", 0);
    let a = Report::new("队列 甲").send(&phone, 11);
    // About 90 m north of the first: neighbours.
    let b = Report {
        at: (G1.0 + 0.0008, G1.1),
        ..Report::new("队列 乙")
    }
    .send(&phone, 12);
    // About 460 m east: nobody's neighbour.
    let far = Report {
        at: (G1.0, G1.1 + 0.0048),
        ..Report::new("队列 丙")
    }
    .send(&phone, 13);
    // A later comment with a photo does not replace the report's photo as the row's picture.
    phone
        .store
        .act(
            a,
            OpBody::Comment {
                text: "补充".into(),
                photos: vec![],
            },
            vec![photo(14)],
        )
        .expect("comment with a photo");
    phone.sync();
    let sup = console(&server, "supervisor1");
    let (s, queue) = get(&sup, &server, "/console");
    assert_eq!(s, 200);
    let row = |id: Uuid| -> String {
        queue
            .split(&format!("data-case=\"{id}\""))
            .nth(1)
            .and_then(|r| r.split("</tr>").next())
            .expect("the case's row")
            .to_string()
    };
    for (id, seed) in [(a, 11), (b, 12), (far, 13)] {
        let sha = sha256_hex(&photo_bytes(seed));
        assert!(
            row(id).contains(&format!("/v1/photos/{sha}/thumb")),
            "row {id} shows its own report photo"
        );
    }
    let neighbour = |of: Uuid, other: Uuid| {
        row(of)
            .split("<ul class=\"nearby\">")
            .nth(1)
            .and_then(|l| l.split("</ul>").next())
            .is_some_and(|l| l.contains(&format!("/console/cases/{other}\"")))
    };
    assert!(
        neighbour(a, b) && neighbour(b, a),
        "90 m apart: each lists the other"
    );
    assert!(!neighbour(a, far) && !neighbour(far, a) && !neighbour(far, b));
    assert!(!neighbour(a, a), "not its own neighbour");
}

// ---- 4. case page: duplicates and the map ----

#[test]
fn the_case_page_offers_nearby_open_cases_as_the_original_of_a_duplicate() {
    let server = TestServer::start();
    let phone = Device::signed_in(&server, "inspector1", 0);
    let original = Report::new("重复 原案件").send(&phone, 1);
    // About 90 m north, another category (so not a probable duplicate: only distance counts).
    let copy = Report {
        at: (30.2560, 120.1552),
        category: "0105",
        ..Report::new("重复 新上报")
    }
    .send(&phone, 2);
    // About 460 m east: too far to offer.
    let far = Report {
        at: (30.2552, 120.1600),
        ..Report::new("重复 远处案件")
    }
    .send(&phone, 3);
    phone.sync();

    let sup = console(&server, "supervisor1");
    let (s, page) = get(&sup, &server, &format!("/console/cases/{copy}"));
    assert_eq!(s, 200);
    assert!(page.contains("<svg id=\"case-map\""), "the map");
    let map = page
        .split("<svg id=\"case-map\"")
        .nth(1)
        .and_then(|m| m.split("</svg>").next())
        .expect("the map's body");
    assert!(
        map.contains(&format!("/console/cases/{original}")),
        "the nearby case is on the map"
    );
    assert!(!map.contains(&format!("/console/cases/{far}")));
    let form = page
        .split("data-action=\"mark_duplicate\">")
        .nth(1)
        .and_then(|p| p.split("</form>").next())
        .expect("the mark-duplicate form");
    assert!(
        form.contains(&format!(
            "type=\"radio\" name=\"duplicate_of\" value=\"{original}\""
        )),
        "the original is offered: {form}"
    );
    assert!(!form.contains(&far.to_string()), "the far case is not");
    assert!(
        !form.contains(&format!("value=\"{copy}\"")),
        "nor the case itself"
    );

    // Marking the case a duplicate of itself: refused, unchanged.
    let own = copy.to_string();
    let (s, page) = act_now(
        &sup,
        &server,
        copy,
        &[("action", "mark_duplicate"), ("duplicate_of", &own)],
    );
    assert_eq!(s, 409, "{}", message(&page));
    assert_eq!(status(&server, copy), Status::Submitted);
    // ... or of a case that does not exist.
    let nowhere = Uuid::now_v7().to_string();
    let (s, page) = act_now(
        &sup,
        &server,
        copy,
        &[("action", "mark_duplicate"), ("duplicate_of", &nowhere)],
    );
    assert_eq!(s, 409, "{}", message(&page));
    assert_eq!(status(&server, copy), Status::Submitted);
    assert_eq!(timeline_len(&server, copy), 1);

    let orig = original.to_string();
    let (s, page) = act_now(
        &sup,
        &server,
        copy,
        &[
            ("action", Action::MarkDuplicate.as_str()),
            ("duplicate_of", &orig),
            ("text", "同一处"),
        ],
    );
    assert_eq!(s, 303, "{}", message(&page));
    let c = case(&server, copy);
    assert_eq!(c.status, Status::Duplicate);
    assert_eq!(c.duplicate_of, Some(original));
    assert_eq!(
        status(&server, original),
        Status::Submitted,
        "the original stays"
    );
    // A duplicate is no longer offered as an original on the original's page.
    let (_, page) = get(&sup, &server, &format!("/console/cases/{original}"));
    assert!(!page.contains(&format!("name=\"duplicate_of\" value=\"{copy}\"")));
}

// ---- 5. boards filters ----

#[test]
fn the_boards_and_csv_filter_by_area_campaign_category_and_report_date() {
    let server = TestServer::start();
    let phone = Device::signed_in(&server, "inspector1", 0);
    let in_campaign = Report {
        campaign: Some("c1"),
        ..Report::new("看板 专项行动案件")
    }
    .send(&phone, 1);
    let plain = Report {
        at: (30.2570, 120.1570),
        category: "0501",
        ..Report::new("看板 普通案件")
    }
    .send(&phone, 2);
    phone.sync();
    let sup = console(&server, "supervisor1");
    dispatch(&sup, &server, in_campaign, "u1");
    dispatch(&sup, &server, plain, "u1");
    assert_eq!(case(&server, in_campaign).grid_id.as_deref(), Some("g1"));
    assert_eq!(
        case(&server, in_campaign).campaign_id.as_deref(),
        Some("c1")
    );
    let day = beijing_date(case(&server, in_campaign).reported_at_ms);
    assert_eq!(day, beijing_date(case(&server, plain).reported_at_ms));

    let shows = |query: &str| -> (bool, bool) {
        let (s, page) = get(&sup, &server, &format!("/console/boards?{query}"));
        assert_eq!(s, 200, "{query}");
        let csv = get(&sup, &server, &format!("/console/export.csv?{query}")).1;
        let on_page = (
            page.contains("看板 专项行动案件"),
            page.contains("看板 普通案件"),
        );
        let in_csv = (
            csv.contains("看板 专项行动案件"),
            csv.contains("看板 普通案件"),
        );
        assert_eq!(on_page, in_csv, "the CSV holds the boards' cases: {query}");
        on_page
    };
    assert_eq!(shows(""), (true, true));
    assert_eq!(shows("grid=g1"), (true, true));
    assert_eq!(shows("grid=g2"), (false, false));
    // g1 lies in 西湖区's 城关街道.
    assert_eq!(shows("area=d1"), (true, true));
    assert_eq!(shows("area=d1-s1"), (true, true));
    assert_eq!(shows("area=city"), (true, true));
    assert_eq!(shows("area=d2"), (false, false));
    assert_eq!(shows("area=nowhere"), (false, false));
    assert_eq!(shows("campaign=c1"), (true, false));
    assert_eq!(shows("campaign=nope"), (false, false));
    assert_eq!(shows("category=01"), (true, false));
    assert_eq!(shows("category=0501"), (false, true));
    assert_eq!(shows(&format!("from={day}&to={day}")), (true, true));
    assert_eq!(shows(&format!("from={day}")), (true, true));
    assert_eq!(shows("from=2099-01-01&to=2099-12-31"), (false, false));
    assert_eq!(shows("to=2020-01-01"), (false, false));
    assert_eq!(
        shows(&format!("grid=g1&campaign=c1&from={day}&to={day}&unit=u1")),
        (true, false)
    );
    assert_eq!(shows("unit=u2"), (false, false));
    // The filter is kept in the export links.
    let (_, page) = get(&sup, &server, "/console/boards?campaign=c1&grid=g1");
    assert!(
        page.contains(
            "/console/export.xlsx?unit=&amp;category=&amp;area=&amp;grid=g1&amp;campaign=c1"
        ),
        "the Excel link keeps the filter"
    );
}

// ---- 6. ranking ----

#[test]
fn the_ranking_counts_a_case_closed_from_the_console_and_shows_coverage_and_charts() {
    let server = TestServer::start();
    let phone = Device::signed_in(&server, "inspector1", 0);
    let id = Report {
        site: Some("s1"),
        ..Report::new("排名 全流程")
    }
    .send(&phone, 1);
    phone.sync();
    let sup = console(&server, "supervisor1");
    dispatch(&sup, &server, id, "u1");
    let staff = console(&server, "unit1");
    let (s, _) = act_now(&staff, &server, id, &[("action", "acknowledge")]);
    assert_eq!(s, 303);
    let (_, page) = get(&staff, &server, &format!("/console/cases/{id}"));
    let form = Form::new()
        .text("csrf", field(&page, "csrf"))
        .text("seen", field(&page, "seen"))
        .text("text", "已整改")
        .part("photo", jpeg_part(photo_bytes(9)));
    assert_eq!(rectify(&staff, &server, id, form).0, 303);
    assert_eq!(status(&server, id), Status::Rectified);
    // Unit staff may not close their own case.
    let (s, _) = act_now(&staff, &server, id, &[("action", "verify_pass")]);
    assert_eq!(s, 409);
    assert_eq!(status(&server, id), Status::Rectified);
    let (s, page) = act_now(
        &sup,
        &server,
        id,
        &[("action", "verify_pass"), ("text", "合格")],
    );
    assert_eq!(s, 303, "{}", message(&page));
    let closed = case(&server, id);
    assert_eq!(closed.status, Status::Closed);

    let deadline = beijing_date(closed.deadline_ms.expect("a deadline"));
    let row = |page: &str, unit: &str| -> String {
        page.split(&format!("data-unit=\"{unit}\""))
            .nth(1)
            .and_then(|r| r.split("</tr>").next())
            .unwrap_or_else(|| panic!("a row for {unit}"))
            .to_string()
    };
    let (s, page) = get(
        &sup,
        &server,
        &format!("/console/ranking?from={deadline}&to={deadline}"),
    );
    assert_eq!(s, 200);
    assert!(
        row(&page, "u1").contains("<td class=\"due\">1</td><td class=\"closed\">1</td>"),
        "due 1, closed 1: {}",
        row(&page, "u1")
    );
    assert!(row(&page, "u2").contains("<td class=\"due\">0</td><td class=\"closed\">0</td>"));
    assert!(page.contains("id=\"coverage\""));
    assert_eq!(page.matches("<svg").count(), 3, "three charts");
    assert!(
        page.contains(&format!(
            "/console/bulletin.xlsx?from={deadline}&amp;to={deadline}"
        )),
        "the bulletin link for the same period"
    );
    // Coverage: the one site reported at, of the demo city's 40.
    let (_, page) = get(
        &sup,
        &server,
        "/console/ranking?from=2020-01-01&to=2099-12-31",
    );
    let coverage = page
        .split("id=\"coverage\"")
        .nth(1)
        .and_then(|c| c.split("</div>").next())
        .expect("the coverage card");
    assert!(coverage.contains("1 / 40"), "{coverage}");
    assert!(coverage.contains("2.5%"), "{coverage}");
    assert!(row(&page, "u1").contains("<td class=\"closed\">1</td>"));
    // A period that does not hold the deadline counts nothing for unit 1.
    let (_, page) = get(
        &sup,
        &server,
        "/console/ranking?from=2020-01-01&to=2020-01-07",
    );
    assert!(row(&page, "u1").contains("<td class=\"due\">0</td><td class=\"closed\">0</td>"));
    let coverage = page
        .split("id=\"coverage\"")
        .nth(1)
        .and_then(|c| c.split("</div>").next())
        .expect("the coverage card");
    assert!(coverage.contains("0 / 40"), "{coverage}");
}

// ---- 7. search ----

#[test]
fn search_finds_a_case_by_number_or_words_within_the_searchers_scope() {
    let server = TestServer::start();
    let phone = Device::signed_in(&server, "inspector1", 0);
    let mine = Report::new("菜场门口 100%_垃圾").send(&phone, 1);
    let theirs = Report {
        at: G2,
        ..Report::new("公交站台垃圾")
    }
    .send(&phone, 2);
    phone.sync();
    let sup = console(&server, "supervisor1");
    dispatch(&sup, &server, mine, "u1");
    dispatch(&sup, &server, theirs, "u2");
    let no = case(&server, mine).case_no.expect("a case number");

    // An exact number opens the case.
    let r = sup
        .get(format!("{}/console/search?q={no}", server.url))
        .send()
        .expect("search");
    assert_eq!(r.status().as_u16(), 303);
    let to = r.headers()[reqwest::header::LOCATION]
        .to_str()
        .expect("location");
    assert_eq!(to, format!("/console/cases/{mine}"));
    // Words list every match, newest first.
    let (s, page) = get(&sup, &server, "/console/search?q=%E5%9E%83%E5%9C%BE"); // 垃圾
    assert_eq!(s, 200);
    assert!(
        page.contains(&mine.to_string()) && page.contains(&theirs.to_string()),
        "{page}"
    );
    // LIKE wildcards are plain characters: "%" matches only the description that holds one.
    let (_, page) = get(&sup, &server, "/console/search?q=%25");
    assert!(page.contains(&mine.to_string()), "{page}");
    assert!(!page.contains(&theirs.to_string()), "% is not a wildcard");
    // Unit 2 finds its own case and never unit 1's, even by its exact number.
    let unit2 = console(&server, "unit2");
    let (s, page) = get(&unit2, &server, &format!("/console/search?q={no}"));
    assert_eq!(s, 200);
    assert!(
        !page.contains(&mine.to_string()),
        "another unit's case is not found"
    );
    let (_, page) = get(&unit2, &server, "/console/search?q=%E5%9E%83%E5%9C%BE");
    assert!(page.contains(&theirs.to_string()) && !page.contains(&mine.to_string()));
    // Words inside Chinese text, through the index: a phrase matches only where it stands.
    let search = |text: &str| {
        let q: String = form_urlencoded::byte_serialize(text.as_bytes()).collect();
        get(&sup, &server, &format!("/console/search?q={q}")).1
    };
    let page = search("公交站台");
    assert!(page.contains(&theirs.to_string()) && !page.contains(&mine.to_string()));
    let page = search("站台垃");
    assert!(page.contains(&theirs.to_string()), "any substring");
    let page = search("台公交");
    assert!(
        !page.contains(&theirs.to_string()),
        "not the same pairs in another order"
    );
    let page = search("门口 100");
    assert!(page.contains(&mine.to_string()) && !page.contains(&theirs.to_string()));
    // Nothing typed: an empty result, not every case.
    let (s, page) = get(&sup, &server, "/console/search?q=");
    assert_eq!(s, 200);
    assert!(!page.contains(&mine.to_string()));
}

// ---- 8. the optional tile layer ----

#[test]
fn the_case_map_draws_configured_tiles_in_their_datum_and_none_by_default() {
    let tiles = xuncha_server::state::MapTiles {
        url: "https://tiles.example.gov.cn/{z}/{x}/{y}.png".into(),
        gcj02: true,
    };
    let server = TestServer::start_with(xuncha_server::Config {
        map_tiles: Some(tiles),
        ..xuncha_server::Config::default()
    });
    let phone = Device::signed_in(&server, "inspector1", 0);
    let id = Report::new("井盖破损").send(&phone, 3);
    phone.sync();
    let sup = console(&server, "supervisor1");
    let (s, page) = get(&sup, &server, &format!("/console/cases/{id}"));
    assert_eq!(s, 200);
    // The tile under the case, found in GCJ-02 (the shift is about 500 m here: a tile at z16).
    let gcj = xuncha_core::geo::wgs84_to_gcj02(xuncha_core::geo::LatLon {
        lat: G1.0,
        lon: G1.1,
    });
    let n = 65_536.0_f64;
    let x = ((gcj.lon + 180.0) / 360.0 * n).floor();
    let lat = gcj.lat.to_radians();
    let y = ((1.0 - (lat.tan() + 1.0 / lat.cos()).ln() / std::f64::consts::PI) / 2.0 * n).floor();
    let expected = format!("https://tiles.example.gov.cn/16/{x}/{y}.png");
    assert!(page.contains(&expected), "{expected} in the map");
    let images = page.matches("<image ").count();
    assert!(
        (2..=12).contains(&images),
        "a few tiles cover 800 m: {images}"
    );

    // Without the setting, the map asks nothing from anywhere.
    let plain = TestServer::start();
    let phone = Device::signed_in(&plain, "inspector1", 0);
    let id = Report::new("井盖破损").send(&phone, 4);
    phone.sync();
    let sup = console(&plain, "supervisor1");
    let (_, page) = get(&sup, &plain, &format!("/console/cases/{id}"));
    assert!(page.contains("id=\"case-map\""));
    assert!(!page.contains("<image "), "no tiles unless configured");
}

// ---- 9. hostile input ----

#[test]
fn malformed_console_requests_get_an_answer_change_nothing_and_never_a_server_error() {
    let server = TestServer::start();
    let phone = Device::signed_in(&server, "inspector1", 0);
    let id = Report::new("垃圾").send(&phone, 9);
    phone.sync();
    let sup = console(&server, "supervisor1");
    let before = (status(&server, id), timeline_len(&server, id));
    let url = |p: &str| format!("{}{p}", server.url);
    let bodies: Vec<(&str, &str, Vec<u8>)> = vec![
        (
            "/console/bulk",
            "application/x-www-form-urlencoded",
            b"case=%FF%FE&csrf=%".to_vec(),
        ),
        (
            "/console/bulk",
            "application/x-www-form-urlencoded",
            vec![0xff; 4096],
        ),
        ("/console/bulk", "text/plain", b"{}".to_vec()),
        (
            "/console/bulk",
            "application/x-www-form-urlencoded",
            format!("case={id}:{}", "9".repeat(100_000)).into_bytes(),
        ),
        (
            "/console/login",
            "application/x-www-form-urlencoded",
            b"user=%00&password=".to_vec(),
        ),
        ("/console/logout", "application/json", b"[]".to_vec()),
    ];
    let case_paths = [
        format!("/console/cases/{id}/act"),
        format!("/console/cases/{id}/rectify"),
    ];
    let mut all: Vec<(String, &str, Vec<u8>)> = bodies
        .into_iter()
        .map(|(p, m, b)| (p.to_string(), m, b))
        .collect();
    for p in &case_paths {
        all.push((
            p.clone(),
            "application/x-www-form-urlencoded",
            b"action=dispatch&deadline=2026-13-45T99:99&seen=x&csrf=y".to_vec(),
        ));
        all.push((
            p.clone(),
            "multipart/form-data; boundary=zzz",
            b"--zzz\r\nContent-Disposition: form-data; name=\"photo\"\r\n\r\n\xff\xd8\xff".to_vec(),
        ));
        all.push((p.clone(), "multipart/form-data", b"no boundary".to_vec()));
        all.push((
            p.clone(),
            "application/json",
            b"{\"action\":\"register\"}".to_vec(),
        ));
    }
    all.push((
        "/console/cases/not-a-uuid/act".into(),
        "application/x-www-form-urlencoded",
        b"action=register".to_vec(),
    ));
    all.push((
        "/console/cases/00000000-0000-0000-0000-000000000000/rectify".into(),
        "multipart/form-data; boundary=a",
        b"--a--\r\n".to_vec(),
    ));
    for (path, mime, body) in all {
        let r = sup
            .post(url(&path))
            .header(reqwest::header::CONTENT_TYPE, mime)
            .body(body)
            .send()
            .expect("an answer");
        let s = r.status().as_u16();
        assert!(s < 500, "{path} ({mime}) answered {s}");
    }
    for q in [
        "/console/boards?from=%FF&to=9999-99-99&grid=%00",
        "/console/ranking?from=0000-01-01&to=9999-12-31",
        "/console/ranking?from=2026-12-01&to=2020-01-01",
        "/console/search?q=%25%5F%5C%27%22",
        "/console/export.xlsx?category=%27%3D1",
        "/console/bulletin.xlsx?from=x&to=y",
        "/console/cases/%2e%2e%2f",
    ] {
        let s = sup.get(url(q)).send().expect("an answer").status().as_u16();
        assert!(s < 500, "{q} answered {s}");
    }
    assert_eq!(
        (status(&server, id), timeline_len(&server, id)),
        before,
        "nothing changed"
    );
}

/// One meaning of "open" (`Status::OPEN`): a parked case (挂账) is still on the books, so a new
/// report beside it is flagged as its probable duplicate, and the console's queue lists it among
/// the new report's nearby open cases; a finished (rejected) case is neither.
#[test]
fn a_parked_case_is_open_for_duplicates_and_for_the_nearby_cases() {
    let server = TestServer::start();
    let phone = Device::signed_in(&server, "inspector1", 0);
    let desk = Device::signed_in(&server, "supervisor1", 0);
    let parked = Report::new("挂账 甲").send(&phone, 21);
    // About 40 m east of the first, another category: a neighbour but not a duplicate.
    let closed = Report {
        category: "0102",
        at: (G1.0, G1.1 + 0.0004),
        ..Report::new("结案 乙")
    }
    .send(&phone, 22);
    phone.sync();
    desk.sync();
    let on_desk = |case: Uuid, body: OpBody| desk.store.act(case, body, vec![]).expect("action");
    on_desk(
        parked,
        OpBody::Register {
            note: String::new(),
        },
    );
    on_desk(
        parked,
        OpBody::Dispatch {
            unit_id: "u1".into(),
            deadline_ms: None,
            note: String::new(),
        },
    );
    on_desk(
        parked,
        OpBody::Park {
            reason: "需列入明年改造计划".into(),
        },
    );
    on_desk(
        closed,
        OpBody::Reject {
            reason: "不属于创城范围".into(),
        },
    );
    desk.sync();
    assert_eq!(
        desk.store.case_detail(parked).expect("parked").case.status,
        Status::Parked
    );
    let again = Report::new("挂账 甲 再报").send(&phone, 23);
    let other = Report {
        category: "0102",
        at: (G1.0, G1.1 + 0.0004),
        ..Report::new("结案 乙 再报")
    }
    .send(&phone, 24);
    phone.sync();
    desk.sync();
    let dups = |c: Uuid| {
        desk.store
            .case_detail(c)
            .expect("detail")
            .case
            .probable_duplicates
    };
    assert_eq!(dups(again), vec![parked], "a parked case is still open");
    assert!(dups(other).is_empty(), "a rejected case is finished");
    let sup = console(&server, "supervisor1");
    let (s, queue) = get(&sup, &server, "/console");
    assert_eq!(s, 200);
    let nearby = queue
        .split(&format!("data-case=\"{again}\""))
        .nth(1)
        .and_then(|r| r.split("</tr>").next())
        .and_then(|r| r.split("<ul class=\"nearby\">").nth(1))
        .and_then(|l| l.split("</ul>").next())
        .unwrap_or_default()
        .to_string();
    assert!(
        nearby.contains(&format!("/console/cases/{parked}\"")),
        "the parked case is a nearby open case: {nearby}"
    );
    assert!(!nearby.contains(&format!("/console/cases/{closed}\"")));
}

#[test]
fn a_supervisor_urges_a_unit_from_the_case_page_and_the_ranking_counts_it() {
    let server = TestServer::start();
    let phone = Device::signed_in(&server, "inspector1", 0);
    let id = Report::new("催办 测试").send(&phone, 1);
    phone.sync();
    let sup = console(&server, "supervisor1");
    dispatch(&sup, &server, id, "u1");
    let (_, page) = get(&sup, &server, &format!("/console/cases/{id}"));
    assert!(
        page.contains("data-action=\"urge\""),
        "the urge form is offered"
    );
    // A note is required.
    let (s, _) = act_now(&sup, &server, id, &[("action", "urge"), ("text", "  ")]);
    assert_eq!(s, 409, "refused: the table requires a reason");
    assert_eq!(timeline_len(&server, id), 3, "nothing recorded");
    let (s, page) = act_now(
        &sup,
        &server,
        id,
        &[("action", "urge"), ("text", "请今日下班前整改完毕")],
    );
    assert_eq!(s, 303, "{}", message(&page));
    assert_eq!(
        status(&server, id),
        Status::Dispatched,
        "urging changes no status"
    );
    // Unit staff cannot urge.
    let staff = console(&server, "unit1");
    let (_, page) = get(&staff, &server, &format!("/console/cases/{id}"));
    assert!(!page.contains("data-action=\"urge\""));
    // The ranking counts it against unit 1.
    let row = unit1_ranking_row(&sup, &server);
    assert!(row.contains("<td class=\"urged\">1</td>"), "{row}");
}
