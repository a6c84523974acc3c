//! Areas (issue 16): a district supervisor (the demo city's `supervisor2`, 西湖区) holds exactly
//! the cases placed in their district or held by its units — on the pull, on every console page,
//! in the exports, the search and the photo downloads — dispatches only to their district's and
//! city-wide units, and a case whose place moves between districts arrives whole on one side and
//! is removed on the other.

use serde_json::json;
use uuid::Uuid;
use xuncha_core::model::{CaseEdit, Location, OpBody};
use xuncha_core::store::{CaseQuery, NewReport};
use xuncha_core::sync::protocol::{Change, PullResponse};

use crate::console_kit::{console, get};
use crate::helpers::{Device, TestServer, photo, photo_bytes};

/// A point of the demo city: 西湖区 (its 城关街道, cell g1), 上城区 (湖滨街道, cell g3), or
/// outside every cell (no area: the city office's alone).
fn place(which: &str) -> Location {
    let (lat, lon) = match which {
        "西湖区" => (30.2552, 120.1552),
        "上城区" => (30.2552, 120.1752),
        _ => (30.3552, 120.3552),
    };
    Location {
        lat,
        lon,
        accuracy_m: Some(5.0),
        address: format!("{which}测试点"),
    }
}

fn report(d: &Device, which: &str, seed: u64) -> Uuid {
    d.store
        .report(NewReport {
            category: "0101".into(),
            description: format!("区域测试{which}"),
            location: place(which),
            site_id: None,
            campaign_id: None,
            undercover: false,
            photos: vec![photo(seed)],
        })
        .expect("report")
        .case_id
}

fn dispatch(unit: &str) -> OpBody {
    OpBody::Dispatch {
        unit_id: unit.into(),
        deadline_ms: None,
        note: String::new(),
    }
}

/// Register `case` and dispatch it to `unit` from a supervisor's device (synced later).
fn register_and_dispatch(d: &Device, case: Uuid, unit: &str) {
    d.store
        .act(
            case,
            OpBody::Register {
                note: String::new(),
            },
            vec![],
        )
        .expect("register");
    d.store.act(case, dispatch(unit), vec![]).expect("dispatch");
}

fn device_cases(d: &Device) -> Vec<Uuid> {
    let mut ids: Vec<Uuid> = d
        .store
        .list_cases(&CaseQuery {
            limit: 1000,
            ..CaseQuery::default()
        })
        .expect("list")
        .items
        .into_iter()
        .map(|i| i.case.id)
        .collect();
    ids.sort();
    ids
}

/// The page removes `case` and nothing else.
fn removed(page: &PullResponse, case: Uuid) {
    assert!(
        matches!(page.changes.as_slice(), [Change::Remove { case_id }] if *case_id == case),
        "{:?}",
        page.changes
    );
}

fn token(d: &Device) -> String {
    d.store.sync_state().expect("state").token.expect("token")
}

/// One raw pull page after `cursor`.
fn pull(server: &TestServer, token: &str, cursor: i64) -> PullResponse {
    reqwest::blocking::Client::new()
        .get(format!("{}/v1/pull?cursor={cursor}&limit=1000", server.url))
        .bearer_auth(token)
        .send()
        .expect("pull")
        .json()
        .expect("page")
}

#[test]
fn a_district_supervisor_holds_exactly_their_district() {
    let server = TestServer::start();
    let inspector = Device::signed_in(&server, "inspector1", 0);
    let west = report(&inspector, "西湖区", 1);
    let east = report(&inspector, "上城区", 2);
    let outside = report(&inspector, "城外", 3);
    let held_by_west_unit = report(&inspector, "城外", 4);
    inspector.sync();
    let city = Device::signed_in(&server, "supervisor1", 0);
    for (case, unit) in [
        (west, "u1"),
        (east, "u3"),
        (outside, "u4"),
        (held_by_west_unit, "u2"),
    ] {
        register_and_dispatch(&city, case, unit);
    }
    city.sync();
    let stored = |id| server.state.store.case(id).expect("case").expect("exists");
    assert_eq!(stored(west).area_id.as_deref(), Some("d1-s1"));
    assert_eq!(stored(east).area_id.as_deref(), Some("d2-s1"));
    assert_eq!(stored(outside).area_id, None);

    // The pull: the district's place, and the case its unit u2 holds; nothing else.
    let district = Device::signed_in(&server, "supervisor2", 0);
    // The phone's dispatch picker offers the district's units and the city-wide ones only.
    let offered: Vec<String> = district
        .store
        .dispatch_units()
        .expect("units")
        .into_iter()
        .map(|u| u.id)
        .collect();
    assert!(offered.iter().any(|u| u == "u1") && offered.iter().any(|u| u == "u5"));
    assert!(
        !offered.iter().any(|u| u == "u9"),
        "not 上城区's: {offered:?}"
    );
    let all = server.state.store.reference().expect("ref").1.units.len();
    assert_eq!(city.store.dispatch_units().expect("units").len(), all);
    assert!(inspector.store.dispatch_units().expect("units").len() == all);
    let mut want = vec![west, held_by_west_unit];
    want.sort();
    assert_eq!(device_cases(&district), want);
    let mut everything = vec![west, east, outside, held_by_west_unit];
    everything.sort();
    assert_eq!(device_cases(&city), everything, "the city office sees all");

    // Photos: the district's case's photo, and not the other district's (404, no leak).
    let t = token(&district);
    let http = reqwest::blocking::Client::new();
    for (seed, visible) in [(1, true), (2, false), (3, false), (4, true)] {
        let sha = xuncha_core::store::sha256_hex(&photo_bytes(seed));
        let status = http
            .get(format!("{}/v1/photos/{sha}", server.url))
            .bearer_auth(&t)
            .send()
            .expect("photo")
            .status()
            .as_u16();
        assert_eq!(status, if visible { 200 } else { 404 }, "photo {seed}");
    }

    // Pushes: the other district's case is out of scope; dispatching to another district's
    // unit is refused with its own code, to a city-wide unit allowed.
    let events = server.state.store.stats().expect("stats").events;
    let refused = |case: Uuid, body: OpBody| {
        let before = district.store.rejections().expect("inbox").len();
        district.store.act(case, body, vec![]).expect("queued");
        district.sync();
        let inbox = district.store.rejections().expect("inbox");
        assert_eq!(inbox.len(), before + 1, "refused");
        inbox[0].code.clone()
    };
    let comment = OpBody::Comment {
        text: "越区".into(),
        photos: vec![],
    };
    assert!(district.store.act(east, comment.clone(), vec![]).is_err());
    let forged = xuncha_core::model::Op {
        id: Uuid::now_v7(),
        case_id: east,
        device_id: district.store.device_id().to_string(),
        actor: district.store.session().expect("session").actor(),
        hlc: xuncha_core::hlc::Hlc {
            wall_ms: crate::helpers::now_ms() as u64,
            counter: 0,
            node: 1,
        },
        device_time_ms: crate::helpers::now_ms(),
        body: comment,
    };
    let answer: serde_json::Value = http
        .post(format!("{}/v1/push", server.url))
        .bearer_auth(&t)
        .json(&json!({ "ops": [forged] }))
        .send()
        .expect("push")
        .json()
        .expect("answer");
    assert_eq!(answer["results"][0]["code"], "not_in_scope");
    assert_eq!(refused(west, dispatch("u9")), "unit_out_of_area");
    assert_eq!(
        server.state.store.stats().expect("stats").events,
        events,
        "refusals change nothing"
    );
    district
        .store
        .act(west, dispatch("u5"), vec![])
        .expect("re-dispatch");
    district.sync();
    assert_eq!(stored(west).unit_id.as_deref(), Some("u5"));
    assert_eq!(
        district.store.rejections().expect("inbox").len(),
        1,
        "a city-wide unit is allowed"
    );

    // The console: case pages, boards, exports, search and the queue hold the same cases.
    let b = console(&server, "supervisor2");
    for (case, visible) in [
        (west, true),
        (east, false),
        (outside, false),
        (held_by_west_unit, true),
    ] {
        let (s, page) = get(&b, &server, &format!("/console/cases/{case}"));
        assert_eq!(s, if visible { 200 } else { 404 }, "case page {case}");
        if case == west {
            assert!(
                page.contains("西湖区 / 城关街道"),
                "the case shows its area"
            );
            assert!(
                !page.contains("value=\"u9\""),
                "no other district's unit to pick"
            );
            assert!(page.contains("value=\"u5\""), "city-wide units to pick");
        }
    }
    let (_, boards) = get(&b, &server, "/console/boards");
    let (_, csv) = get(&b, &server, "/console/export.csv");
    let (_, found) = get(
        &b,
        &server,
        "/console/search?q=%E5%8C%BA%E5%9F%9F%E6%B5%8B%E8%AF%95",
    ); // 区域测试
    for (case, visible) in [
        (west, true),
        (east, false),
        (outside, false),
        (held_by_west_unit, true),
    ] {
        let link = format!("/console/cases/{case}");
        assert_eq!(boards.contains(&link), visible, "boards: {case}");
        assert_eq!(found.contains(&link), visible, "search: {case}");
    }
    assert!(csv.contains("西湖区 / 城关街道") && csv.contains("区域测试西湖区"));
    assert!(
        !csv.contains("区域测试上城区"),
        "the export holds the district only"
    );
    // The area picker offers the district's subtree only; a cut outside it finds nothing.
    assert!(boards.contains("value=\"d1-s2\"") && !boards.contains("value=\"d2\""));
    let (_, cut) = get(&b, &server, "/console/export.csv?area=d2");
    assert!(!cut.contains("区域测试"), "another district's cut is empty");
    let (s, _, bytes) = crate::console_more::get_bytes(&b, &server, "/console/export.xlsx");
    assert_eq!(s, 200);
    let mut wb = crate::console_more::workbook(bytes);
    let sheet = calamine::Reader::worksheet_range_at(&mut wb, 0)
        .expect("a sheet")
        .expect("readable");
    let cells = strings(&sheet);
    assert!(cells.contains("区域测试西湖区"), "{cells}");
    assert!(
        !cells.contains("区域测试上城区"),
        "the XLSX holds the district only"
    );

    // The review queue: new reports from both districts, the district's alone on its queue.
    let west_new = report(&inspector, "西湖区", 5);
    let east_new = report(&inspector, "上城区", 6);
    inspector.sync();
    let (_, queue) = get(&b, &server, "/console");
    assert!(queue.contains(&format!("/console/cases/{west_new}")));
    assert!(!queue.contains(&format!("/console/cases/{east_new}")));
    let (_, city_queue) = get(&console(&server, "supervisor1"), &server, "/console");
    assert!(city_queue.contains(&format!("/console/cases/{east_new}")));

    // The search counts its limit within the scope: with most matches outside 上城区 (the
    // newest too), a scope of 上城区 alone still fills a limit of one from its own.
    report(&inspector, "城外", 7);
    inspector.sync();
    let search = |limit| {
        let east_only = xuncha_server::store::case_list::CaseFilter {
            within: Some((vec!["d2-s1".into()], vec![])),
            ..Default::default()
        };
        let found = server
            .state
            .store
            .search_cases("区域测试", &east_only, limit);
        let mut ids: Vec<Uuid> = found.expect("search").iter().map(|c| c.id).collect();
        ids.sort();
        ids
    };
    let mut both = vec![east, east_new];
    both.sort();
    assert_eq!(search(10), both);
    let one = search(1);
    assert!(one.len() == 1 && both.contains(&one[0]), "{one:?}");
}

#[test]
fn a_case_moved_between_districts_arrives_whole_and_leaves() {
    let server = TestServer::start();
    let inspector = Device::signed_in(&server, "inspector1", 0);
    let case = report(&inspector, "上城区", 7);
    inspector.sync();
    let city = Device::signed_in(&server, "supervisor1", 0);
    city.store
        .act(
            case,
            OpBody::Register {
                note: String::new(),
            },
            vec![],
        )
        .expect("register");
    city.store
        .act(
            case,
            OpBody::Comment {
                text: "在上城区时的评论".into(),
                photos: vec![],
            },
            vec![],
        )
        .expect("comment");
    city.sync();
    let district = Device::signed_in(&server, "supervisor2", 0);
    assert!(device_cases(&district).is_empty());
    let t = token(&district);
    let cursor = pull(&server, &t, 0).cursor;

    // The place is corrected into 西湖区: the case arrives whole, with the events made before.
    let edit = |to: &str| OpBody::Edit {
        changes: CaseEdit {
            location: Some(place(to)),
            ..CaseEdit::default()
        },
    };
    city.store.act(case, edit("西湖区"), vec![]).expect("edit");
    city.sync();
    let page = pull(&server, &t, cursor);
    match page.changes.as_slice() {
        [
            Change::Upsert {
                case: c,
                events,
                full,
                ..
            },
        ] => {
            assert!(full, "arrives whole");
            assert_eq!(c.area_id.as_deref(), Some("d1-s1"));
            assert_eq!(events.len(), 4, "report, register, comment, edit");
        }
        other => panic!("expected the case whole: {other:?}"),
    }
    district.sync();
    assert_eq!(device_cases(&district), vec![case]);
    let detail = district.store.case_detail(case).expect("detail");
    assert_eq!(detail.timeline.len(), 4);

    // Moved back: it leaves, on the raw feed and on the phone.
    city.store.act(case, edit("上城区"), vec![]).expect("edit");
    city.sync();
    let page = pull(&server, &t, page.cursor);
    removed(&page, case);
    district.sync();
    assert!(device_cases(&district).is_empty());
    let (s, _) = get(
        &console(&server, "supervisor2"),
        &server,
        &format!("/console/cases/{case}"),
    );
    assert_eq!(s, 404);

    // Dispatched to a 西湖区 unit (u2) from 上城区's place: in the district's reach by its unit,
    // it arrives whole; re-dispatched to 上城区's unit (u9), it leaves again.
    city.store
        .act(case, dispatch("u2"), vec![])
        .expect("dispatch");
    city.sync();
    let page = pull(&server, &t, page.cursor);
    match page.changes.as_slice() {
        [Change::Upsert { full, events, .. }] => {
            assert!(full, "arrives whole by its unit");
            assert_eq!(events.len(), 6, "with the events made before");
        }
        other => panic!("expected the case whole: {other:?}"),
    }
    district.sync();
    assert_eq!(device_cases(&district), vec![case]);
    city.store
        .act(case, dispatch("u9"), vec![])
        .expect("re-dispatch");
    city.sync();
    let page = pull(&server, &t, page.cursor);
    removed(&page, case);
    district.sync();
    assert!(
        device_cases(&district).is_empty(),
        "gone with the re-dispatch"
    );
}

#[test]
fn redrawn_areas_move_the_cases_at_once() {
    let server = TestServer::start();
    let inspector = Device::signed_in(&server, "inspector1", 0);
    let case = report(&inspector, "上城区", 8);
    inspector.sync();
    let (_, mut city) = server.state.store.reference().expect("reference");
    assert_eq!(
        server
            .state
            .store
            .case(case)
            .expect("case")
            .expect("exists")
            .area_id
            .as_deref(),
        Some("d2-s1")
    );
    // 湖滨街道 is handed to 西湖区.
    for a in &mut city.areas {
        if a.id == "d2-s1" {
            a.parent_id = Some("d1".into());
        }
    }
    server.state.store.set_reference(&city).expect("import");
    let b = console(&server, "supervisor2");
    assert_eq!(get(&b, &server, &format!("/console/cases/{case}")).0, 200);
    // A grid moved to another street re-places the case itself.
    for g in &mut city.grids {
        if g.id == "g3" {
            g.area_id = Some("d2-s2".into());
        }
    }
    server.state.store.set_reference(&city).expect("import");
    let c = server
        .state
        .store
        .case(case)
        .expect("case")
        .expect("exists");
    assert_eq!(c.area_id.as_deref(), Some("d2-s2"));
    assert_eq!(get(&b, &server, &format!("/console/cases/{case}")).0, 404);
    // The next change derives the same area.
    let city_desk = Device::signed_in(&server, "supervisor1", 0);
    city_desk
        .store
        .act(
            case,
            OpBody::Register {
                note: String::new(),
            },
            vec![],
        )
        .expect("register");
    city_desk.sync();
    assert!(city_desk.store.rejections().expect("inbox").is_empty());
    let c = server
        .state
        .store
        .case(case)
        .expect("case")
        .expect("exists");
    assert_eq!(
        c.area_id.as_deref(),
        Some("d2-s2"),
        "a change keeps the redrawn area"
    );
}

#[test]
fn the_ranking_and_the_bulletin_are_cut_by_area_and_compare_districts() {
    let server = TestServer::start();
    let inspector = Device::signed_in(&server, "inspector1", 0);
    let west = report(&inspector, "西湖区", 11);
    let east = report(&inspector, "上城区", 12);
    inspector.sync();
    let city = Device::signed_in(&server, "supervisor1", 0);
    for (case, unit) in [(west, "u1"), (east, "u9")] {
        register_and_dispatch(&city, case, unit);
        city.store
            .act(
                case,
                OpBody::Urge {
                    reason: "请尽快处理".into(),
                },
                vec![],
            )
            .expect("urge");
    }
    city.sync();
    let period = "from=2020-01-01&to=2099-12-31";

    // The city office: every unit, and its two districts compared.
    let b = console(&server, "supervisor1");
    let (_, page) = get(&b, &server, &format!("/console/ranking?{period}"));
    for row in [
        "data-unit=\"u1\"",
        "data-unit=\"u9\"",
        "data-area=\"d1\"",
        "data-area=\"d2\"",
    ] {
        assert!(page.contains(row), "{row} on the city's ranking");
    }
    // Cut to 西湖区: its units, its streets compared, nothing of 上城区.
    let (_, cut) = get(&b, &server, &format!("/console/ranking?{period}&area=d1"));
    assert!(cut.contains("data-unit=\"u1\"") && !cut.contains("data-unit=\"u9\""));
    assert!(cut.contains("data-area=\"d1-s1\"") && !cut.contains("data-area=\"d2\""));
    assert!(cut.contains("bulletin.xlsx?from=2020-01-01&amp;to=2099-12-31&amp;area=d1"));

    // The district's supervisor: the same cut without asking, and no way out of it.
    let d = console(&server, "supervisor2");
    for path in [
        format!("/console/ranking?{period}"),
        format!("/console/ranking?{period}&area=d2"),
    ] {
        let (s, page) = get(&d, &server, &path);
        assert_eq!(s, 200);
        assert!(!page.contains("data-unit=\"u9\""), "{path}");
    }
    let (_, own) = get(&d, &server, &format!("/console/ranking?{period}"));
    assert!(own.contains("西湖区") && own.contains("data-unit=\"u1\""));

    // Its bulletin: headed with the district, the overdue and ranking annexes its own.
    let (s, _, bytes) =
        crate::console_more::get_bytes(&d, &server, &format!("/console/bulletin.xlsx?{period}"));
    assert_eq!(s, 200);
    let mut wb = crate::console_more::workbook(bytes);
    let ranking = calamine::Reader::worksheet_range(&mut wb, "附件1 单位排名").expect("ranking");
    let units: Vec<String> = (2..ranking.height())
        .map(|r| crate::console_more::text(&ranking, r, 1))
        .collect();
    assert!(units.contains(&"城关街道办事处".to_string()), "{units:?}");
    assert!(!units.contains(&"湖滨街道办事处".to_string()), "{units:?}");
    let text_sheet = calamine::Reader::worksheet_range(&mut wb, "通报").expect("text");
    let words = strings(&text_sheet);
    assert!(words.contains("关于西湖区"), "{words}");
    assert!(words.contains("分区域看：城关街道应结案1件"), "{words}");
    // The city's bulletin compares the two districts.
    let (_, _, bytes) =
        crate::console_more::get_bytes(&b, &server, &format!("/console/bulletin.xlsx?{period}"));
    let mut wb = crate::console_more::workbook(bytes);
    let text_sheet = calamine::Reader::worksheet_range(&mut wb, "通报").expect("text");
    let words = strings(&text_sheet);
    assert!(
        words.contains("西湖区应结案1件") && words.contains("上城区应结案1件"),
        "{words}"
    );
    // Each office numbers its own: the city's next period is its 第2期, while 西湖区's office
    // issues its own 第1期 and 第2期.
    let number = |b: &reqwest::blocking::Client, path: &str| {
        let (_, _, bytes) = crate::console_more::get_bytes(b, &server, path);
        let mut wb = crate::console_more::workbook(bytes);
        let r = calamine::Reader::worksheet_range(&mut wb, "通报").expect("text");
        crate::console_more::text(&r, 1, 0)
    };
    let year = chrono::Datelike::year(&chrono::Utc::now().date_naive());
    let other = "/console/bulletin.xlsx?from=2019-01-01&to=2019-01-07";
    assert_eq!(number(&b, other), format!("{year}年第2期"));
    assert_eq!(
        number(&d, &format!("/console/bulletin.xlsx?{period}")),
        format!("{year}年第1期"),
        "the district's first, though the city has issued two"
    );
    assert_eq!(number(&d, other), format!("{year}年第2期"));
    assert_eq!(number(&b, other), format!("{year}年第2期"), "kept");
    // Nobody takes numbers from another office's sequence, or makes one up: 400, no number.
    for (who, area) in [(&d, "d2"), (&b, "nowhere")] {
        let path = format!("/console/bulletin.xlsx?from=2018-01-01&to=2018-01-07&area={area}");
        let (s, _, _) = crate::console_more::get_bytes(who, &server, &path);
        assert_eq!(s, 400, "{area}");
    }
    // The city's root is the city's own sequence.
    let root = "/console/bulletin.xlsx?from=2017-01-01&to=2017-01-07&area=city";
    assert_eq!(number(&b, root), format!("{year}年第3期"));
}

/// Every text cell of a sheet, row by row.
fn strings(sheet: &calamine::Range<calamine::Data>) -> String {
    sheet
        .rows()
        .flatten()
        .filter_map(|c| match c {
            calamine::Data::String(s) => Some(s.as_str()),
            _ => None,
        })
        .collect::<Vec<_>>()
        .join("\n")
}
