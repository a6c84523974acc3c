//! Photos an attacker (or a broken camera app) sends, over real HTTP against a real server:
//! bytes that only start like a JPEG, a huge PNG cut short, a whole PNG claiming a billion
//! pixels are refused when the upload completes, with their own codes, and nothing is kept; a
//! whole photo that still cannot be decoded costs one decode, however often it is viewed. A
//! photo's hash opens nothing without its bytes; an upload in progress is its device's; a case
//! is not passed before its after-photos arrive, and photos that never come are listed.

use serde_json::{Value, json};
use uuid::Uuid;
use xuncha_core::model::{ActionInput, OpBody, PhotoKind, PhotoRef};
use xuncha_core::store::{PhotoInput, sha256_hex};
use xuncha_core::sync::protocol::OpStatus;
use xuncha_core::workflow::{Action, Status};

use crate::hardening::Raw;
use crate::helpers::{Device, TestServer, metric};

/// Announce and send `bytes` in one go; the final answer's status and body.
fn upload(raw: &Raw, bytes: &[u8]) -> (u16, Value) {
    let client = reqwest::blocking::Client::new();
    let sha = sha256_hex(bytes);
    let resp = client
        .post(format!("{}/v1/uploads", raw.url))
        .bearer_auth(&raw.token)
        .json(&json!({"sha256": sha, "size": bytes.len()}))
        .send()
        .expect("create");
    assert_eq!(resp.status().as_u16(), 201);
    let resp = client
        .patch(format!("{}/v1/uploads/{sha}", raw.url))
        .bearer_auth(&raw.token)
        .header("upload-offset", "0")
        .header("content-type", "application/offset+octet-stream")
        .body(bytes.to_vec())
        .send()
        .expect("append");
    let status = resp.status().as_u16();
    (status, resp.json().unwrap_or(Value::Null))
}

/// The status of an upload by hash (404 once a refused upload is forgotten).
pub fn upload_status(raw: &Raw, bytes: &[u8]) -> u16 {
    reqwest::blocking::Client::new()
        .get(format!("{}/v1/uploads/{}", raw.url, sha256_hex(bytes)))
        .bearer_auth(&raw.token)
        .send()
        .expect("status")
        .status()
        .as_u16()
}

/// A PNG with valid chunk CRCs claiming `w` x `h` pixels, whose image data is `idat`.
fn png(w: u32, h: u32, idat: &[u8], with_end: bool) -> Vec<u8> {
    fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let start = out.len();
        out.extend_from_slice(kind);
        out.extend_from_slice(data);
        let crc = crc32fast::hash(&out[start..]);
        out.extend_from_slice(&crc.to_be_bytes());
    }
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = w.to_be_bytes().to_vec();
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    chunk(&mut out, b"IHDR", &ihdr);
    chunk(&mut out, b"IDAT", idat);
    if with_end {
        chunk(&mut out, b"IEND", &[]);
    }
    out
}

#[test]
fn photos_that_do_not_parse_are_refused_at_upload_and_nothing_is_kept() {
    let server = TestServer::start();
    let raw = Raw::login(&server, "inspector1", "photo-checks-1");
    let stored_before = server.state.store.stats().expect("stats").photos;

    // Only the first bytes of a JPEG (the old check passed it).
    let mut forged = vec![0xFF, 0xD8, 0xFF, 0xE0];
    forged.extend((0..20_000u32).map(|i| (i * 7 % 251) as u8));
    forged.extend_from_slice(&[0xFF, 0xD9]);
    let (s, b) = upload(&raw, &forged);
    assert_eq!((s, b["code"].as_str()), (415, Some("photo_damaged")), "{b}");
    assert!(b["message"].as_str().expect("zh").contains("损坏"));

    // The attack of issue 11: a 16383 x 5800 PNG whose data stops halfway, no IEND.
    let idat: Vec<u8> = (0..200_000u32).map(|i| (i % 253) as u8).collect();
    let truncated = png(16_383, 5_800, &idat, false);
    let (s, b) = upload(&raw, &truncated);
    assert_eq!((s, b["code"].as_str()), (415, Some("photo_damaged")), "{b}");

    // Whole, but 268 megapixels: more than any phone makes.
    let huge = png(16_383, 16_383, &[0x78, 0x9C, 0x03, 0x00], true);
    let (s, b) = upload(&raw, &huge);
    assert_eq!(
        (s, b["code"].as_str()),
        (413, Some("photo_too_many_pixels")),
        "{b}"
    );

    // Refused uploads are forgotten: nothing stored, nothing to resume.
    for bytes in [&forged, &truncated, &huge] {
        assert_eq!(upload_status(&raw, bytes), 404);
    }
    assert_eq!(
        server.state.store.stats().expect("stats").photos,
        stored_before
    );

    // A real photo of every accepted type still goes through.
    for fixture in [
        &include_bytes!("../../../core/tests/fixtures/images/street.jpg")[..],
        include_bytes!("../../../core/tests/fixtures/images/street.png"),
        include_bytes!("../../../core/tests/fixtures/images/street.webp"),
        include_bytes!("../../../core/tests/fixtures/images/street.heic"),
    ] {
        let (s, b) = upload(&raw, fixture);
        assert_eq!(s, 200, "{b}");
        assert_eq!(b["complete"], true);
    }
}

#[test]
fn the_phone_refuses_a_damaged_photo_when_it_is_attached() {
    let server = TestServer::start();
    let phone = Device::signed_in(&server, "inspector1", 0);
    let mut cut = xuncha_core::store::photo_format::sample_jpeg(3, 50_000);
    cut.truncate(30_000);
    let err = phone
        .store
        .report(crate::helpers::report_at_demo_point(
            "照片只拍了一半",
            vec![PhotoInput::bytes(cut)],
        ))
        .expect_err("a cut photo is refused on the phone");
    assert_eq!(err.code(), "photo_damaged");
    assert_eq!(phone.store.outbox().expect("outbox").len(), 0);
}

#[test]
fn a_photo_that_cannot_be_decoded_is_decoded_once_and_shown_as_a_placeholder() {
    let server = TestServer::start();
    let phone = Device::signed_in(&server, "inspector1", 0);
    // Whole and within the limits, but its image data is not a zlib stream: only decoding
    // finds out, and decoding it would want 4000 x 3000 pixels.
    let garbage: Vec<u8> = (0..5_000u32).map(|i| (i * 13 % 256) as u8).collect();
    let undecodable = png(4_000, 3_000, &garbage, true);
    phone
        .store
        .report(crate::helpers::report_at_demo_point(
            "相机应用写坏的照片",
            vec![PhotoInput::bytes(undecodable.clone())],
        ))
        .expect("the structure holds, so the phone keeps it");
    phone.sync();
    let token = phone
        .store
        .sync_state()
        .expect("state")
        .token
        .expect("token");
    let url = format!(
        "{}/v1/photos/{}/thumb",
        server.url,
        sha256_hex(&undecodable)
    );
    let failed = r#"xuncha_thumbnail_decodes_total{outcome="failed"}"#;
    assert_eq!(metric(&server, failed), 0);
    for _ in 0..5 {
        let resp = reqwest::blocking::Client::new()
            .get(&url)
            .bearer_auth(&token)
            .send()
            .expect("thumb");
        assert_eq!(resp.status().as_u16(), 200);
        assert_eq!(
            resp.headers()["xuncha-thumbnail-placeholder"],
            "undecodable"
        );
        assert!(resp.text().expect("svg").contains("无法预览"));
    }
    assert_eq!(metric(&server, failed), 1, "decoded once, then remembered");
}

/// A photo reference to `bytes` of `kind`.
fn photo_ref(bytes: &[u8], kind: PhotoKind) -> PhotoRef {
    PhotoRef {
        sha256: sha256_hex(bytes),
        kind,
        mime: "image/jpeg".into(),
        size: bytes.len() as u64,
        captured_at_ms: None,
        location: None,
    }
}

/// GET `path` with the client's token: the status.
pub fn get_status(raw: &Raw, path: &str) -> u16 {
    reqwest::blocking::Client::new()
        .get(format!("{}{path}", raw.url))
        .bearer_auth(&raw.token)
        .send()
        .expect("get")
        .status()
        .as_u16()
}

#[test]
fn knowing_a_photos_hash_opens_nothing_and_reveals_nothing() {
    let server = TestServer::start();
    // inspector1's photo, on the server with its case.
    let owner = Device::signed_in(&server, "inspector1", 0);
    owner.report("0101", 77);
    owner.sync();
    let victim = crate::helpers::photo_bytes(77);
    let sha = sha256_hex(&victim);
    // inspector2 learnt the hash (a leaked export, a screenshot of a URL) but not the bytes.
    let mut thief = Raw::login(&server, "inspector2", "thief-phone");
    let announce = |sha: &str, size: usize| -> (u16, Value) {
        let resp = reqwest::blocking::Client::new()
            .post(format!("{}/v1/uploads", thief.url))
            .bearer_auth(&thief.token)
            .json(&json!({"sha256": sha, "size": size}))
            .send()
            .expect("create");
        let status = resp.status().as_u16();
        (status, resp.json().unwrap_or(Value::Null))
    };
    // Announcing it answers exactly as for a photo nobody has: send the bytes from 0.
    let (s, b) = announce(&sha, victim.len());
    assert_eq!(
        (s, b["offset"].as_u64(), b["complete"].as_bool()),
        (201, Some(0), Some(false))
    );
    let unknown = sha256_hex(b"a photo nobody has");
    let (s2, b2) = announce(&unknown, victim.len());
    assert_eq!(
        (s2, b2["offset"].clone(), b2["complete"].clone()),
        (s, b["offset"].clone(), b["complete"].clone())
    );
    // Naming it on its own case is taken (its bytes could still follow)…
    let case = Uuid::now_v7();
    let mut body = crate::hardening::report_body(30.2552, 120.1552, "别人的照片".into());
    if let OpBody::Report { photos, .. } = &mut body {
        *photos = vec![photo_ref(&victim, PhotoKind::Before)];
    }
    let op = thief.op(case, body);
    let r = thief.push(&[op]);
    assert_eq!(r.results[0].status, OpStatus::Accepted);
    // …but opens nothing: the same 404 as for a photo that does not exist.
    assert_eq!(get_status(&thief, &format!("/v1/photos/{sha}")), 404);
    assert_eq!(get_status(&thief, &format!("/v1/photos/{sha}/thumb")), 404);
    assert_eq!(get_status(&thief, &format!("/v1/photos/{unknown}")), 404);
    // The owner still sees their photo.
    let owner_raw = Raw::login(&server, "inspector1", "owner-desk");
    assert_eq!(get_status(&owner_raw, &format!("/v1/photos/{sha}")), 200);
    // Whoever really holds the bytes proves it by sending them, and then it is theirs too.
    let (s, b) = upload(&thief, &victim);
    assert_eq!((s, b["complete"].as_bool()), (200, Some(true)), "{b}");
    assert_eq!(get_status(&thief, &format!("/v1/photos/{sha}")), 200);
}

#[test]
fn an_upload_in_progress_belongs_to_its_device() {
    let server = TestServer::start();
    let first = Raw::login(&server, "inspector1", "first-phone");
    let other = Raw::login(&server, "inspector2", "other-phone");
    let bytes = xuncha_core::store::photo_format::sample_jpeg(5, 40_000);
    let sha = sha256_hex(&bytes);
    let client = reqwest::blocking::Client::new();
    let create = |raw: &Raw, size: usize| {
        client
            .post(format!("{}/v1/uploads", raw.url))
            .bearer_auth(&raw.token)
            .json(&json!({"sha256": sha, "size": size}))
            .send()
            .expect("create")
            .status()
            .as_u16()
    };
    let offset = |raw: &Raw| -> Value {
        client
            .get(format!("{}/v1/uploads/{sha}", raw.url))
            .bearer_auth(&raw.token)
            .send()
            .expect("status")
            .json()
            .expect("json")
    };
    assert_eq!(create(&first, bytes.len()), 201);
    let half = client
        .patch(format!("{}/v1/uploads/{sha}", first.url))
        .header("content-type", "application/offset+octet-stream")
        .bearer_auth(&first.token)
        .header("upload-offset", "0")
        .body(bytes[..20_000].to_vec())
        .send()
        .expect("half");
    assert_eq!(half.status().as_u16(), 200);
    // Another user announces the same hash with another size: their own upload, not a reset.
    assert_eq!(create(&other, bytes.len() + 1), 201);
    assert_eq!(offset(&other)["offset"], 0);
    let mine = offset(&first);
    assert_eq!(
        (mine["offset"].as_u64(), mine["size"].as_u64()),
        (Some(20_000), Some(bytes.len() as u64))
    );
    // The first phone finishes where it stopped.
    let rest = client
        .patch(format!("{}/v1/uploads/{sha}", first.url))
        .header("content-type", "application/offset+octet-stream")
        .bearer_auth(&first.token)
        .header("upload-offset", "20000")
        .body(bytes[20_000..].to_vec())
        .send()
        .expect("rest");
    let done: Value = rest.json().expect("json");
    assert_eq!(done["complete"], true, "{done}");
}

#[test]
fn a_case_is_not_passed_before_its_after_photos_arrive_and_late_photos_are_listed() {
    let server = TestServer::start_with(xuncha_server::Config {
        photo_arrival_grace_ms: 0,
        ..xuncha_server::Config::default()
    });
    let phone = Device::signed_in(&server, "inspector1", 0);
    let case = phone.report("0101", 21);
    phone.sync();
    let mut sup = Raw::login(&server, "supervisor1", "sup-phone");
    let mut unit = Raw::login(&server, "unit1", "unit-phone");
    let input = |unit_id: Option<&str>| ActionInput {
        text: String::new(),
        unit_id: unit_id.map(str::to_string),
        deadline_ms: Some(crate::helpers::now_ms() + 3 * 86_400_000),
        until_ms: None,
        duplicate_of: None,
    };
    let reg = sup.op(
        case,
        OpBody::for_action(Action::Register, input(None)).expect("register"),
    );
    let dis = sup.op(
        case,
        OpBody::for_action(Action::Dispatch, input(Some("u1"))).expect("dispatch"),
    );
    assert!(
        sup.push(&[reg, dis])
            .results
            .iter()
            .all(|r| r.status == OpStatus::Accepted)
    );
    let after = xuncha_core::store::photo_format::sample_jpeg(22, 8_000);
    let ack = unit.op(
        case,
        OpBody::Acknowledge {
            note: String::new(),
        },
    );
    let fix = unit.op(
        case,
        OpBody::Rectify {
            note: "已清理".into(),
            photos: vec![photo_ref(&after, PhotoKind::After)],
        },
    );
    assert!(
        unit.push(&[ack, fix])
            .results
            .iter()
            .all(|r| r.status == OpStatus::Accepted)
    );

    // The supervisor's page says the after-photo is still arriving; passing is refused.
    let b = crate::console_kit::console(&server, "supervisor1");
    let (_, page) = crate::console_kit::get(&b, &server, &format!("/console/cases/{case}"));
    assert!(
        page.contains("after-waiting") && page.contains("整改照片仍在上传"),
        "{page}"
    );
    assert!(!page.contains("data-action=\"verify_pass\""));
    // The form as the page last rendered it, sent by hand.
    let pass = |page: &str| {
        let (seen, csrf) = (
            crate::console_kit::field(page, "seen"),
            crate::console_kit::field(page, "csrf"),
        );
        let form = [
            ("csrf", csrf.as_str()),
            ("seen", seen.as_str()),
            ("action", "verify_pass"),
            ("text", "合格"),
        ];
        crate::console_kit::act(&b, &server, case, &form)
    };
    let (s, page) = pass(&page);
    assert_eq!(s, 409);
    assert!(page.contains("整改照片仍在上传"));
    assert_eq!(crate::console_kit::status(&server, case), Status::Rectified);
    // Past the grace period it is on the supervisors' list of photos that never came.
    let (s, list) = crate::console_kit::get(&b, &server, "/console/photos/waiting");
    assert_eq!(s, 200);
    assert!(
        list.contains(&sha256_hex(&after)[..12]) && list.contains("unit-phone"),
        "{list}"
    );

    // The unit's phone sends the photo: listed no more, and the case can be passed.
    let (s, _) = upload(&unit, &after);
    assert_eq!(s, 200);
    let (_, list) = crate::console_kit::get(&b, &server, "/console/photos/waiting");
    assert!(!list.contains(&sha256_hex(&after)[..12]));
    let (_, page) = crate::console_kit::get(&b, &server, &format!("/console/cases/{case}"));
    assert!(page.contains("data-action=\"verify_pass\""));
    let (s, _) = pass(&page);
    assert_eq!(s, 303);
    assert_eq!(crate::console_kit::status(&server, case), Status::Closed);
}
