//! Notices (issue 16): a dispatch tells the unit's staff; the deadline watch warns them once at
//! 75 % of the time and once when the case goes overdue (then 西湖区's supervisor too, not the
//! city office); urging and escalating tell the unit; each person pulls their own list after a
//! cursor and marks notices read, which no one else's ids can touch.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use serde_json::json;
use xuncha_core::notify::NoticeKind;
use xuncha_core::sync::protocol::{MarkReadAnswer, NoticePage};
use xuncha_server::Config;
use xuncha_server::notices::raise::feed_once;
use xuncha_server::watch::watch_once;

use crate::console_kit::console;
use crate::console_more::{act_now, dispatch};
use crate::helpers::{Device, TestServer, now_ms, photo, report_at_demo_point};

fn token(d: &Device) -> String {
    d.store.sync_state().expect("state").token.expect("token")
}

fn notices(server: &TestServer, token: &str, after: i64) -> NoticePage {
    let r = reqwest::blocking::Client::new()
        .get(format!("{}/v1/notices?after={after}", server.url))
        .bearer_auth(token)
        .send()
        .expect("notices");
    assert_eq!(r.status(), 200);
    r.json().expect("page")
}

fn kinds(page: &NoticePage) -> Vec<NoticeKind> {
    page.notices.iter().map(|n| n.kind).collect()
}

#[test]
fn the_unit_hears_of_its_case_once_per_event_and_threshold() {
    let offset = Arc::new(AtomicI64::new(0));
    let server = TestServer::start_with_clock(Config::default(), offset.clone());
    let store = server.state.store.clone();
    let raise = || feed_once(store.as_ref(), &[], now_ms()).expect("notifier");
    let phone = Device::signed_in(&server, "inspector1", 0);
    let id = phone
        .store
        .report(report_at_demo_point("通知 测试", vec![photo(1)]))
        .expect("report")
        .case_id;
    phone.sync();
    let sup = console(&server, "supervisor1");
    dispatch(&sup, &server, id, "u1");
    let unit = Device::signed_in(&server, "unit1", 0);
    let district = Device::signed_in(&server, "supervisor2", 0);
    let (unit_token, district_token) = (token(&unit), token(&district));
    raise();
    raise();
    let page = notices(&server, &unit_token, 0);
    assert_eq!(
        kinds(&page),
        [NoticeKind::Dispatched],
        "once, however often raised"
    );
    assert_eq!(page.unread, 1);
    let n = &page.notices[0];
    assert_eq!(n.case_id, id);
    assert!(n.text.starts_with("【新派遣】XC"), "{}", n.text);
    assert!(n.text.contains("来源：巡查上报") && n.text.contains("期限："));
    assert!(notices(&server, &district_token, 0).notices.is_empty());
    let other = Device::signed_in(&server, "unit2", 0);
    assert!(
        notices(&server, &token(&other), 0).notices.is_empty(),
        "another unit hears nothing"
    );

    // The watch: 75 % of the time, then overdue; each once.
    let case = server.state.store.case(id).expect("case").expect("exists");
    let (set, deadline) = (
        case.deadline_set_ms.expect("set"),
        case.deadline_ms.expect("deadline"),
    );
    let watch = |at: i64| {
        offset.store(at - now_ms(), Ordering::SeqCst);
        xuncha_server::blobs::block_on(watch_once(&server.state, at)).expect("watch")
    };
    let warn_at = set + (deadline - set) * 3 / 4;
    assert_eq!(watch(warn_at - 60_000).warned, 0);
    assert_eq!(watch(warn_at + 1_000).warned, 1, "unit1 warned");
    assert_eq!(watch(warn_at + 60_000).warned, 0, "once");
    let late = watch(deadline + 1_000);
    assert_eq!(late.warned, 2, "unit1 and 西湖区's supervisor");
    assert_eq!(watch(deadline + 120_000).warned, 0, "once");
    let page = notices(&server, &unit_token, page.cursor);
    assert_eq!(
        kinds(&page),
        [NoticeKind::DeadlineNear, NoticeKind::Overdue]
    );
    assert_eq!(page.unread, 3);
    let d = notices(&server, &district_token, 0);
    assert_eq!(
        kinds(&d),
        [NoticeKind::Overdue],
        "the district's supervisor"
    );
    let city = Device::signed_in(&server, "supervisor1", 0);
    assert!(
        notices(&server, &token(&city), 0).notices.is_empty(),
        "the city office leaves it to the district"
    );

    // Urged: the unit hears of it, with the note; the one who urged does not.
    let sup = console(&server, "supervisor1");
    let (s, _) = act_now(
        &sup,
        &server,
        id,
        &[("action", "urge"), ("text", "请今日内整改完毕")],
    );
    assert_eq!(s, 303);
    raise();
    let page2 = notices(&server, &unit_token, page.cursor);
    assert_eq!(kinds(&page2), [NoticeKind::Urged]);
    assert!(page2.notices[0].text.ends_with("说明：请今日内整改完毕"));

    // Read on the phone: marked on the server; someone else's ids change nothing.
    let all = notices(&server, &unit_token, 0);
    let ids: Vec<_> = all.notices.iter().map(|n| n.id).collect();
    let http = reqwest::blocking::Client::new();
    let mark = |token: &str, ids: &[uuid::Uuid]| -> MarkReadAnswer {
        http.post(format!("{}/v1/notices/read", server.url))
            .bearer_auth(token)
            .json(&json!({ "ids": ids }))
            .send()
            .expect("read")
            .json()
            .expect("answer")
    };
    let theirs = mark(&district_token, &ids);
    assert_eq!(theirs.marked, 0, "not theirs");
    let mine = mark(&unit_token, &ids[..2]);
    assert_eq!((mine.marked, mine.unread), (2, 2));
    assert_eq!(mark(&unit_token, &ids[..2]).marked, 0, "already read");
    let again = notices(&server, &unit_token, 0);
    assert!(again.notices[0].read && again.notices[1].read && !again.notices[3].read);
    // Bad input: a negative cursor, too many ids.
    let r = http
        .get(format!("{}/v1/notices?after=-1", server.url))
        .bearer_auth(&unit_token)
        .send()
        .expect("get");
    assert_eq!(r.status(), 400);
    let many: Vec<uuid::Uuid> = (0..501).map(|_| uuid::Uuid::now_v7()).collect();
    let r = http
        .post(format!("{}/v1/notices/read", server.url))
        .bearer_auth(&unit_token)
        .json(&json!({ "ids": many }))
        .send()
        .expect("post");
    assert_eq!(r.status(), 400);
    let r = http
        .get(format!("{}/v1/notices", server.url))
        .send()
        .expect("get");
    assert_eq!(r.status(), 401);
}

#[test]
fn the_console_shows_the_bell_the_list_and_the_dead_letters() {
    let server = TestServer::start();
    let phone = Device::signed_in(&server, "inspector1", 0);
    let id = phone
        .store
        .report(report_at_demo_point("铃铛 测试", vec![photo(2)]))
        .expect("report")
        .case_id;
    phone.sync();
    let sup = console(&server, "supervisor1");
    dispatch(&sup, &server, id, "u1");
    feed_once(server.state.store.as_ref(), &[], now_ms()).expect("notifier");
    let unit = console(&server, "unit1");
    let (_, page) = crate::console_kit::get(&unit, &server, "/console");
    assert!(
        page.contains("id=\"bell-count\">1<"),
        "one unread in the header"
    );
    assert!(page.contains("【新派遣】") || page.contains("新派遣"));
    let (_, list) = crate::console_kit::get(&unit, &server, "/console/notices");
    let link = list
        .split("href=\"/console/notices/")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("a notice link")
        .to_string();
    let r = unit
        .get(format!("{}/console/notices/{link}", server.url))
        .send()
        .expect("open");
    assert_eq!(r.status(), 303);
    assert_eq!(
        r.headers()["location"].to_str().expect("location"),
        format!("/console/cases/{id}"),
        "opening a notice goes to its case"
    );
    let (_, page) = crate::console_kit::get(&unit, &server, "/console");
    assert!(!page.contains("id=\"bell-count\""), "read");
    // Someone else's notice id opens nothing and marks nothing.
    let other = console(&server, "unit2");
    let r = other
        .get(format!("{}/console/notices/{link}", server.url))
        .send()
        .expect("open");
    assert_eq!(
        r.headers()["location"].to_str().expect("location"),
        "/console/notices"
    );
    // The outbox page: supervisors only.
    let (s, page) = crate::console_kit::get(&sup, &server, "/console/outbox");
    assert_eq!(s, 200);
    assert!(page.contains("id=\"outbox-counts\""));
    assert_eq!(
        crate::console_kit::get(&unit, &server, "/console/outbox").0,
        403
    );
}

#[test]
fn a_phone_pulls_its_notices_reads_them_offline_and_the_server_learns_it() {
    let server = TestServer::start();
    let phone = Device::signed_in(&server, "inspector1", 0);
    let id = phone
        .store
        .report(report_at_demo_point("手机通知 测试", vec![photo(3)]))
        .expect("report")
        .case_id;
    phone.sync();
    let sup = console(&server, "supervisor1");
    dispatch(&sup, &server, id, "u1");
    let (s, _) = act_now(
        &sup,
        &server,
        id,
        &[("action", "urge"), ("text", "请尽快签收")],
    );
    assert_eq!(s, 303);
    feed_once(server.state.store.as_ref(), &[], now_ms()).expect("notifier");
    let unit = Device::signed_in(&server, "unit1", 0);
    assert_eq!(unit.store.unread_notices().expect("unread"), 2);
    let held = unit.store.notices(10).expect("notices");
    assert_eq!(
        held.iter().map(|n| n.kind).collect::<Vec<_>>(),
        [NoticeKind::Urged, NoticeKind::Dispatched],
        "newest first"
    );
    // Read offline; a second sync brings nothing twice and tells the server.
    assert!(unit.store.mark_notice_read(held[0].id).expect("read"));
    assert!(!unit.store.mark_notice_read(held[0].id).expect("again"));
    assert_eq!(unit.store.unread_notices().expect("unread"), 1);
    let report = unit.sync();
    assert_eq!(report.notices, 0, "nothing new");
    assert_eq!(
        server.state.store.unread_notices("unit1").expect("server"),
        1,
        "the server has the read"
    );
    // A second phone of the same person gets the list with the read one read.
    let other = Device::signed_in(&server, "unit1", 1);
    let list = other.store.notices(10).expect("notices");
    assert_eq!(list.len(), 2);
    assert!(list.iter().any(|n| n.id == held[0].id && n.read));
}

/// A receiver that answers every request 200 with `{"errcode":0}` and counts them.
fn ok_receiver() -> (u16, Arc<AtomicI64>) {
    use std::io::{BufRead, BufReader, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let count = Arc::new(AtomicI64::new(0));
    let c = count.clone();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream.try_clone().expect("clone"));
            let mut len = 0usize;
            loop {
                let mut h = String::new();
                if reader.read_line(&mut h).unwrap_or(0) == 0 || h.trim().is_empty() {
                    break;
                }
                if let Some(v) = h.to_ascii_lowercase().strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; len];
            let _ = reader.read_exact(&mut body);
            c.fetch_add(1, Ordering::SeqCst);
            let b = r#"{"errcode":0}"#;
            let _ = stream.write_all(
                format!(
                    "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{b}",
                    b.len()
                )
                .as_bytes(),
            );
        }
    });
    (port, count)
}

#[test]
fn the_courier_delivers_the_outbox_and_keeps_dead_letters_to_send_again() {
    let (port, received) = ok_receiver();
    let channels = xuncha_server::notices::channels::parse_channels(&format!(
        "[[channel]]\nid = \"office\"\nkind = \"webhook\"\nurl = \"http://127.0.0.1:{port}/hook\"\nsecret = \"0123456789abcdef\"\n\
         [[channel]]\nid = \"gone\"\nkind = \"wecom\"\nurl = \"http://127.0.0.1:1/closed\"\n"
    ))
    .expect("channels");
    let mut config = Config::default();
    config.notify.channels = channels;
    config.notify.public_url = "https://xuncha.example.gov.cn".into();
    let server = TestServer::start_with(config);
    let phone = Device::signed_in(&server, "inspector1", 0);
    let id = phone
        .store
        .report(report_at_demo_point("投递 测试", vec![photo(4)]))
        .expect("report")
        .case_id;
    phone.sync();
    let sup = console(&server, "supervisor1");
    dispatch(&sup, &server, id, "u1");
    let store = server.state.store.clone();
    let ids = server.state.config.notify.channel_ids();
    feed_once(store.as_ref(), &ids, now_ms()).expect("notifier");
    let deliver = |at: i64| {
        xuncha_server::blobs::block_on(xuncha_server::notices::courier::deliver_due(
            &server.state,
            at,
        ))
        .expect("deliver")
    };
    // (The server's own courier may take a row first: what counts is what arrived.)
    deliver(now_ms());
    let arrived = received.load(Ordering::SeqCst);
    assert_eq!(arrived, 1, "the office webhook got the dispatch");
    let counts = store.outbox_counts().expect("counts");
    assert_eq!(counts.sent, 1);
    assert_eq!(counts.pending, 1, "the closed channel waits for its retry");
    // Nothing is sent twice once delivered.
    deliver(now_ms() + 3_600_000);
    assert_eq!(received.load(Ordering::SeqCst), arrived);
    // The closed channel fails until its attempts are spent: a dead letter, listed, sent again.
    let mut at = now_ms();
    for _ in 0..20 {
        at += 4_000_000;
        deliver(at);
    }
    let dead = store.dead_deliveries(10).expect("dead");
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].channel, "gone");
    assert_eq!(
        dead[0].attempts,
        xuncha_server::notices::courier::MAX_ATTEMPTS
    );
    assert_eq!(dead[0].last_error, "could not connect");
    let (_, page) = crate::console_kit::get(&sup, &server, "/console/outbox");
    assert!(page.contains("could not connect") && page.contains("重新发送"));
    assert!(
        store
            .retry_delivery(dead[0].message.id, "gone", at)
            .expect("retry")
    );
    assert_eq!(store.outbox_counts().expect("counts").dead, 0);
    assert_eq!(store.outbox_counts().expect("counts").pending, 1);
}

#[test]
fn a_unit_leaders_morning_opens_on_due_today_overdue_and_urged() {
    let offset = Arc::new(AtomicI64::new(0));
    let server = TestServer::start_with_clock(Config::default(), offset.clone());
    let phone = Device::signed_in(&server, "inspector1", 0);
    let mut ids = Vec::new();
    for seed in [5, 6] {
        ids.push(
            phone
                .store
                .report(report_at_demo_point("早间 测试", vec![photo(seed)]))
                .expect("report")
                .case_id,
        );
    }
    phone.sync();
    let sup = console(&server, "supervisor1");
    for id in &ids {
        dispatch(&sup, &server, *id, "u1");
    }
    let (s, _) = act_now(
        &sup,
        &server,
        ids[1],
        &[("action", "urge"), ("text", "请优先处理")],
    );
    assert_eq!(s, 303);
    feed_once(server.state.store.as_ref(), &[], now_ms()).expect("notifier");
    let group_of = |page: &str, id: uuid::Uuid| -> Vec<&'static str> {
        let link = format!("/console/cases/{id}");
        ["due-today", "overdue", "urged"]
            .into_iter()
            .filter(|g| {
                page.split(&format!("id=\"morning-{g}\""))
                    .nth(1)
                    .and_then(|rest| rest.split("</div>").next())
                    .is_some_and(|card| card.contains(&link))
            })
            .collect()
    };
    let (_, page) = crate::console_kit::get(&console(&server, "unit1"), &server, "/console");
    let at = |g: &str| page.find(&format!("id=\"morning-{g}\"")).expect(g);
    assert!(
        at("due-today") < at("overdue") && at("overdue") < at("urged"),
        "in that order"
    );
    for id in &ids {
        assert!(
            group_of(&page, *id).len() <= 1,
            "each case under one heading at most"
        );
    }
    let deadline = server
        .state
        .store
        .case(ids[1])
        .expect("case")
        .expect("exists")
        .deadline_ms
        .expect("deadline");
    if group_of(&page, ids[1]) != ["due-today"] {
        assert_eq!(group_of(&page, ids[1]), ["urged"], "urged, not due today");
    }
    // Past the deadline: both overdue.
    offset.store(deadline + 3_600_000 - now_ms(), Ordering::SeqCst);
    let (_, page) = crate::console_kit::get(&console(&server, "unit1"), &server, "/console");
    for id in &ids {
        assert_eq!(group_of(&page, *id), ["overdue"]);
    }
    // Supervisors' queues have no such list.
    let (_, page) = crate::console_kit::get(&console(&server, "supervisor1"), &server, "/console");
    assert!(!page.contains("id=\"morning\""));
}
