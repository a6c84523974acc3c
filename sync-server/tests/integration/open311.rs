//! Open311 GeoReport v2 over real HTTP: discovery and services in JSON and XML, citizen reports
//! posted with an admin-issued key (a photo in the request or fetched from an allowed host), the
//! contact for supervisors only, the public list of citizen reports with the standard filters,
//! and every bad request answered in Open311's error format with nothing made.

use std::io::{Read, Write};
use std::net::TcpListener;

use reqwest::blocking::{Client, multipart};
use serde_json::Value;
use uuid::Uuid;
use xuncha_core::Status;
use xuncha_core::scope::CITIZEN_REPORTER;
use xuncha_core::store::NewReport;
use xuncha_server::open311::clients::issue_key;
use xuncha_server::store::case_list::CaseFilter;

use crate::console_kit::{act, console, field, get};
use crate::helpers::{Device, TestServer, photo, photo_bytes};

/// Inside grid g1 of the demo city (owned by unit 1).
const AT: (&str, &str) = ("30.2552", "120.1552");

fn client() -> Client {
    Client::new()
}

fn url(server: &TestServer, path: &str) -> String {
    format!("{}/open311/v2/{path}", server.url)
}

fn get_doc(server: &TestServer, path: &str) -> (u16, String) {
    let r = client().get(url(server, path)).send().expect("get");
    (r.status().as_u16(), r.text().expect("text"))
}

fn post_form(server: &TestServer, path: &str, form: &[(&str, &str)]) -> (u16, String) {
    let r = client()
        .post(url(server, path))
        .form(form)
        .send()
        .expect("post");
    (r.status().as_u16(), r.text().expect("text"))
}

fn json(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"))
}

/// The one Open311 error of an answer: (code, description).
fn error_of(body: &str) -> (u64, String) {
    let v = json(body);
    let e = &v[0];
    (
        e["code"].as_u64().expect("code"),
        e["description"].as_str().expect("description").to_string(),
    )
}

fn case_count(server: &TestServer) -> u64 {
    server
        .state
        .store
        .count_cases(&CaseFilter::default())
        .expect("count")
}

#[test]
fn discovery_and_services_in_json_and_xml() {
    let server = TestServer::start();
    let (s, body) = get_doc(&server, "discovery.json");
    assert_eq!(s, 200);
    let d = json(&body);
    assert_eq!(
        d["endpoints"][0]["specification"],
        "http://wiki.open311.org/GeoReport_v2"
    );
    assert!(
        d["endpoints"][0]["url"]
            .as_str()
            .expect("url")
            .ends_with("/open311/v2")
    );
    let (s, xml) = get_doc(&server, "discovery.xml");
    assert_eq!(s, 200);
    assert!(
        xml.contains(
            "<formats><format>application/json</format><format>text/xml</format></formats>"
        ),
        "{xml}"
    );

    let (s, body) = get_doc(&server, "services.json");
    assert_eq!(s, 200);
    let services = json(&body);
    let categories = server
        .state
        .store
        .reference()
        .expect("reference")
        .1
        .categories;
    assert_eq!(services.as_array().expect("list").len(), categories.len());
    let first = &services[0];
    assert_eq!(first["service_code"], categories[0].code.as_str());
    assert_eq!(first["service_name"], categories[0].name.as_str());
    assert_eq!(first["metadata"], false);
    assert_eq!(first["type"], "realtime");
    let (_, xml) = get_doc(&server, "services.xml");
    assert!(xml.starts_with(r#"<?xml version="1.0" encoding="utf-8"?><services><service>"#));
    assert_eq!(xml.matches("<service>").count(), categories.len());

    let (s, body) = get_doc(&server, &format!("services/{}.json", categories[0].code));
    assert_eq!(s, 200);
    assert_eq!(json(&body)["attributes"], Value::Array(vec![]));
    // Unknown service and unknown format: 404 in Open311's error format.
    let (s, body) = get_doc(&server, "services/9999.json");
    assert_eq!((s, error_of(&body).0), (404, 404));
    let (s, xml) = get_doc(&server, "services/9999.xml");
    assert_eq!(s, 404);
    assert!(xml.contains("<errors><error><code>404</code><description>service_code 9999 not found</description></error></errors>"), "{xml}");
    let (s, body) = get_doc(&server, "services.yaml");
    assert_eq!((s, error_of(&body).0), (404, 404));
    let (s, _) = get_doc(&server, "nothing.json");
    assert_eq!(s, 404);
}

#[test]
fn a_bad_post_is_answered_in_open311_terms_and_makes_nothing() {
    let server = TestServer::start();
    let key = issue_key(&server.state, "12345热线").expect("key");
    let good = [
        ("service_code", "0101"),
        ("lat", AT.0),
        ("long", AT.1),
        ("description", "垃圾"),
    ];
    let with = |extra: &[(&'static str, &'static str)], drop: &str| {
        let mut f: Vec<(&str, String)> = good
            .iter()
            .filter(|(k, _)| *k != drop)
            .map(|(k, v)| (*k, v.to_string()))
            .collect();
        f.push(("api_key", key.clone()));
        for (k, v) in extra {
            f.retain(|(x, _)| x != k);
            f.push((k, v.to_string()));
        }
        f
    };
    let post = |f: &[(&str, String)], path: &str| {
        let r = client()
            .post(url(&server, path))
            .form(f)
            .send()
            .expect("post");
        (r.status().as_u16(), r.text().expect("text"))
    };
    // No key, a wrong key: 403.
    let (s, body) = post_form(&server, "requests.json", &good);
    assert_eq!((s, error_of(&body).0), (403, 403));
    let (s, body) = post(&with(&[("api_key", "not-a-key")], ""), "requests.json");
    assert_eq!((s, error_of(&body).0), (403, 403));
    let (s, xml) = post(&with(&[("api_key", "")], ""), "requests.xml");
    assert_eq!(s, 403);
    assert!(xml.contains("<errors><error><code>403</code>"), "{xml}");
    // An unknown service: 404; missing or absurd fields: 400.
    let (s, body) = post(&with(&[("service_code", "9999")], ""), "requests.json");
    assert_eq!((s, error_of(&body).0), (404, 404));
    for (f, what) in [
        (with(&[], "service_code"), "service_code"),
        (with(&[], "lat"), "lat"),
        (with(&[("long", "181")], ""), "long"),
        (with(&[("lat", "NaN")], ""), "lat"),
        (with(&[("phone", "1\u{7}2")], ""), "phone"),
    ] {
        let (s, body) = post(&f, "requests.json");
        assert_eq!(s, 400, "{what}: {body}");
        assert!(error_of(&body).1.contains(what), "{what}: {body}");
    }
    // Longer than a phone's report may be: refused before any photo or contact is kept.
    let long = "很".repeat(xuncha_core::limits::DESCRIPTION_CHARS + 1);
    let mut f = with(&[], "description");
    f.push(("description", long));
    assert_eq!(post(&f, "requests.json").0, 400);
    // A place outside the city is refused by the same rules as a phone's report.
    let (s, body) = post(
        &with(&[("lat", "10.0"), ("long", "10.0")], ""),
        "requests.json",
    );
    assert_eq!(s, 400, "{body}");
    // A photo that is not an image, and a media_url from a host the city does not allow.
    let form = multipart::Form::new()
        .text("api_key", key.clone())
        .text("service_code", "0101")
        .text("lat", AT.0)
        .text("long", AT.1)
        .part(
            "media",
            multipart::Part::bytes(b"not a photo".to_vec()).file_name("a.jpg"),
        );
    let r = client()
        .post(url(&server, "requests.json"))
        .multipart(form)
        .send()
        .expect("post");
    assert_eq!(r.status().as_u16(), 400);
    let (s, body) = post(
        &with(&[("media_url", "http://example.com/a.jpg")], ""),
        "requests.json",
    );
    assert_eq!(s, 400);
    assert!(
        error_of(&body).1.contains("not one this city fetches"),
        "{body}"
    );
    // Garbage bodies.
    let r = client()
        .post(url(&server, "requests.json"))
        .header("content-type", "multipart/form-data; boundary=x")
        .body("--x\r\nbroken")
        .send()
        .expect("post");
    assert_eq!(r.status().as_u16(), 400);
    // A revoked key stops working.
    assert!(
        server
            .state
            .store
            .revoke_open311_key("12345热线")
            .expect("revoke")
    );
    let (s, _) = post(&with(&[], ""), "requests.json");
    assert_eq!(s, 403);
    assert_eq!(case_count(&server), 0, "nothing was made");
    // A new key for the same client replaces the revoked one; the old one stays dead.
    let new_key = issue_key(&server.state, "12345热线").expect("a new key");
    assert!(
        issue_key(&server.state, "12345热线").is_err(),
        "not while it works"
    );
    let (s, _) = post(&with(&[("api_key", "")], ""), "requests.json");
    assert_eq!(s, 403);
    let mut f = with(&[], "");
    f.retain(|(k, _)| *k != "api_key");
    f.push(("api_key", new_key));
    assert_eq!(post(&f, "requests.json").0, 201);
}

#[test]
fn a_user_named_citizen_or_a_phone_claiming_a_clients_device_cannot_be_used() {
    let server = TestServer::start();
    // A phone signing in as an Open311 client's device is refused.
    let r = client()
        .post(format!("{}/v1/auth/login", server.url))
        .json(&serde_json::json!({"user_id": "inspector1", "password": "demo", "device_id": "open311:hotline"}))
        .send()
        .expect("login");
    assert_eq!(r.status().as_u16(), 400);
    assert!(r.text().expect("text").contains("reserved_device_id"));
    // An ordinary user called `citizen`: Open311 will not report as them.
    let hash = xuncha_server::auth::hash_password("pw").expect("hash");
    server
        .state
        .store
        .create_user(
            &xuncha_core::reference::User {
                id: CITIZEN_REPORTER.into(),
                name: "Somebody".into(),
                role: xuncha_core::workflow::Role::Inspector,
                unit_id: None,
                area_id: None,
            },
            &hash,
        )
        .expect("user");
    assert!(issue_key(&server.state, "hotline").is_err());
}

/// A one-shot HTTP server on a free port answering every request with `body` as `mime`.
fn serve(body: Vec<u8>, mime: &'static str) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf);
            let head = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: {mime}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                body.len()
            );
            let _ = s.write_all(head.as_bytes());
            let _ = s.write_all(&body);
        }
    });
    port
}

#[test]
fn a_citizen_report_lands_in_the_review_queue_with_its_contact_for_supervisors_only() {
    let photo_port = serve(photo_bytes(31), "image/jpeg");
    let text_port = serve(b"<html>not a photo</html>".to_vec(), "text/html");
    let server = TestServer::start_with(xuncha_server::Config {
        open311_media_hosts: vec![
            format!("127.0.0.1:{photo_port}"),
            format!("127.0.0.1:{text_port}"),
        ],
        ..Default::default()
    });
    let key = issue_key(&server.state, "随手拍小程序").expect("key");
    assert!(
        issue_key(&server.state, "随手拍小程序").is_err(),
        "one key per name"
    );

    // With the photo in the request (multipart).
    let form = multipart::Form::new()
        .text("api_key", key.clone())
        .text("service_code", "0101")
        .text("lat", AT.0)
        .text("long", AT.1)
        .text("address_string", "演示路 8 号菜场门口")
        .text("description", "菜场门口垃圾堆了两天")
        .text("first_name", "明")
        .text("last_name", "李")
        .text("phone", "13800001234")
        .text("email", "li@example.cn")
        .part(
            "media",
            multipart::Part::bytes(photo_bytes(30)).file_name("photo.jpg"),
        );
    let r = client()
        .post(url(&server, "requests.json"))
        .multipart(form)
        .send()
        .expect("post");
    assert_eq!(r.status().as_u16(), 201);
    let answer = json(&r.text().expect("text"));
    let id: Uuid = answer[0]["service_request_id"]
        .as_str()
        .expect("id")
        .parse()
        .expect("uuid");
    let case = server
        .state
        .store
        .case(id)
        .expect("read")
        .expect("the case");
    assert_eq!(case.reporter_id, CITIZEN_REPORTER);
    assert_eq!(case.status, Status::Submitted, "waiting for review");
    assert_eq!(case.location.address, "演示路 8 号菜场门口");
    assert!(case.grid_id.is_some(), "placed in its grid");
    let timeline = server.state.store.timeline(id).expect("timeline");
    let photos = timeline[0].op.body.photos().to_vec();
    assert_eq!(photos.len(), 1);
    assert_eq!(
        xuncha_server::blobs::block_on(server.state.blobs.photo_size(&photos[0].sha256))
            .expect("blobs"),
        Some(photos[0].size),
        "the photo's bytes are stored"
    );
    let doc = serde_json::to_string(&case).expect("json");
    assert!(
        !doc.contains("13800001234"),
        "the contact is not in the case document"
    );

    // With media_url from an allowed host; a page instead of a photo there is refused.
    let (s, body) = post_form(
        &server,
        "requests.xml",
        &[
            ("api_key", &key),
            ("service_code", "0102"),
            ("lat", AT.0),
            ("long", AT.1),
            ("media_url", &format!("http://127.0.0.1:{photo_port}/p.jpg")),
        ],
    );
    assert_eq!(s, 201, "{body}");
    assert!(body.contains("<service_requests><request>"), "{body}");
    let before = case_count(&server);
    let (s, body) = post_form(
        &server,
        "requests.json",
        &[
            ("api_key", &key),
            ("service_code", "0102"),
            ("lat", AT.0),
            ("long", AT.1),
            ("media_url", &format!("http://127.0.0.1:{text_port}/p.jpg")),
        ],
    );
    assert_eq!(s, 400, "{body}");
    assert_eq!(case_count(&server), before);

    // The office's review queue shows it as a citizen report; the case page shows the contact
    // to the supervisor.
    let sup = console(&server, "supervisor1");
    let (_, queue) = get(&sup, &server, "/console");
    assert!(queue.contains(&id.to_string()) && queue.contains("市民随手拍"));
    let (_, page) = get(&sup, &server, &format!("/console/cases/{id}"));
    assert!(page.contains("id=\"citizen\""), "the citizen card");
    assert!(
        page.contains("13800001234")
            && page.contains("li@example.cn")
            && page.contains("随手拍小程序")
    );
    // Register and dispatch to unit 1: its staff work the case without the contact.
    let (s, _) = act_on(&sup, &server, id, &[("action", "register")]);
    assert_eq!(s, 303);
    let (s, _) = act_on(
        &sup,
        &server,
        id,
        &[("action", "dispatch"), ("unit_id", "u1")],
    );
    assert_eq!(s, 303);
    let staff = console(&server, "unit1");
    let (s, page) = get(&staff, &server, &format!("/console/cases/{id}"));
    assert_eq!(s, 200);
    assert!(!page.contains("13800001234") && !page.contains("id=\"citizen\""));

    // The public state: open, with its unit, by id and in the list.
    let (s, body) = get_doc(&server, &format!("requests/{id}.json"));
    assert_eq!(s, 200);
    let one = &json(&body)[0];
    assert_eq!(one["status"], "open");
    assert_eq!(one["status_notes"], "已派遣");
    assert_eq!(one["service_code"], "0101");
    assert_eq!(one["agency_responsible"], "城关街道办事处");
    assert!(one["expected_datetime"].as_str().is_some(), "the deadline");
    assert!(!body.contains("13800001234"), "no contact in public");
    let (_, xml) = get_doc(&server, &format!("requests/{id}.xml"));
    assert!(xml.contains("<status>open</status>"), "{xml}");
}

fn act_on(b: &Client, server: &TestServer, id: Uuid, form: &[(&str, &str)]) -> (u16, String) {
    let (_, page) = get(b, server, &format!("/console/cases/{id}"));
    let (csrf, seen) = (field(&page, "csrf"), field(&page, "seen"));
    let mut all = vec![("csrf", csrf.as_str()), ("seen", seen.as_str())];
    all.extend_from_slice(form);
    act(b, server, id, &all)
}

#[test]
fn the_public_list_holds_citizen_reports_only_with_the_standard_filters() {
    let server = TestServer::start();
    let key = issue_key(&server.state, "hotline").expect("key");
    // An inspector's case is never published.
    let phone = Device::signed_in(&server, "inspector1", 0);
    let inspectors = phone
        .store
        .report(NewReport {
            category: "0101".into(),
            description: "巡查员上报".into(),
            location: xuncha_core::Location {
                lat: 30.2552,
                lon: 120.1552,
                accuracy_m: Some(5.0),
                address: String::new(),
            },
            site_id: None,
            campaign_id: None,
            undercover: true,
            photos: vec![photo(3)],
        })
        .expect("report")
        .case_id;
    phone.sync();
    let mut ids = Vec::new();
    for code in ["0101", "0102", "0101"] {
        let (s, body) = post_form(
            &server,
            "requests.json",
            &[
                ("api_key", &key),
                ("service_code", code),
                ("lat", AT.0),
                ("long", AT.1),
            ],
        );
        assert_eq!(s, 201, "{body}");
        ids.push(
            json(&body)[0]["service_request_id"]
                .as_str()
                .expect("id")
                .to_string(),
        );
    }
    let listed = |query: &str| -> Vec<String> {
        let (s, body) = get_doc(&server, &format!("requests.json{query}"));
        assert_eq!(s, 200, "{query}: {body}");
        json(&body)
            .as_array()
            .expect("list")
            .iter()
            .map(|r| r["service_request_id"].as_str().expect("id").to_string())
            .collect()
    };
    let all = listed("");
    assert_eq!(all.len(), 3, "the citizen reports, newest first");
    assert_eq!(all[0], ids[2]);
    assert!(!all.contains(&inspectors.to_string()));
    assert_eq!(listed("?service_code=0102"), vec![ids[1].clone()]);
    assert_eq!(listed("?service_code=0101,0102").len(), 3);
    assert_eq!(listed("?status=closed").len(), 0);
    assert_eq!(
        listed(&format!("?service_request_id={},{}", ids[0], inspectors)),
        vec![ids[0].clone()]
    );
    assert_eq!(
        listed("?start_date=2000-01-01T00:00:00Z&end_date=2000-02-01T00:00:00Z").len(),
        0
    );
    let (s, _) = get_doc(&server, &format!("requests/{inspectors}.json"));
    assert_eq!(s, 404, "an inspector's case is not a service request");

    // Rejected → closed.
    let sup = console(&server, "supervisor1");
    let id: Uuid = ids[1].parse().expect("uuid");
    let (s, _) = act_on(
        &sup,
        &server,
        id,
        &[("action", "reject"), ("text", "不属于受理范围")],
    );
    assert_eq!(s, 303);
    assert_eq!(listed("?status=closed"), vec![ids[1].clone()]);
    assert_eq!(listed("?status=open").len(), 2);

    // Bad filters: 400 in the format asked.
    for q in [
        "?start_date=yesterday",
        "?start_date=2026-01-01T00:00:00Z&end_date=2026-06-01T00:00:00Z",
        "?start_date=2026-02-01T00:00:00Z&end_date=2026-01-01T00:00:00Z",
        "?status=pending",
    ] {
        let (s, body) = get_doc(&server, &format!("requests.json{q}"));
        assert_eq!((s, error_of(&body).0), (400, 400), "{q}");
    }
    let (s, xml) = get_doc(&server, "requests.xml?status=pending");
    assert_eq!(s, 400);
    assert!(xml.contains("<errors><error><code>400</code>"), "{xml}");
}

#[test]
fn a_client_over_its_hourly_share_is_told_when_to_come_back_and_others_are_not() {
    // 20 an hour: a burst of 2, then one every 3 minutes.
    let server = TestServer::start_with(xuncha_server::Config {
        open311_reports_per_hour: 20,
        ..xuncha_server::Config::default()
    });
    let hotline = issue_key(&server.state, "12345热线").expect("key");
    let app = issue_key(&server.state, "随手拍小程序").expect("key");
    let post = |key: &str| {
        let r = client()
            .post(url(&server, "requests.json"))
            .form(&[
                ("api_key", key),
                ("service_code", "0101"),
                ("lat", AT.0),
                ("long", AT.1),
                ("description", "路边垃圾堆放"),
            ])
            .send()
            .expect("post");
        let retry = r
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        (r.status().as_u16(), retry, r.text().expect("text"))
    };
    for _ in 0..2 {
        let (s, _, body) = post(&hotline);
        assert_eq!(s, 201, "{body}");
    }
    let before = case_count(&server);
    let (s, retry, body) = post(&hotline);
    assert_eq!((s, error_of(&body).0), (429, 429), "{body}");
    assert!(
        retry.is_some_and(|r| (1..=180).contains(&r)),
        "Retry-After within the 3 minutes: {retry:?}"
    );
    assert_eq!(case_count(&server), before, "nothing made");
    // Another client's share is its own.
    let (s, _, body) = post(&app);
    assert_eq!(s, 201, "{body}");
}
