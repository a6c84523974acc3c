//! The HTTP API with raw requests: idempotent pushes, bad input of every kind, auth failures.

use serde_json::{Value, json};
use xuncha_core::sync::protocol::PushResponse;

use crate::helpers::{Device, TestServer, metric};

fn client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::new()
}

fn login(server: &TestServer, user: &str, device: &str) -> String {
    let v: Value = client()
        .post(format!("{}/v1/auth/login", server.url))
        .json(&json!({"user_id": user, "password": "demo", "device_id": device}))
        .send()
        .expect("login")
        .json()
        .expect("json");
    v["token"].as_str().expect("token").to_string()
}

/// Status and JSON body; every error must be `{code, message}`.
fn call(rb: reqwest::blocking::RequestBuilder) -> (u16, Value) {
    let resp = rb.send().expect("request");
    let status = resp.status().as_u16();
    let body: Value = resp.json().unwrap_or(Value::Null);
    if status >= 400 {
        assert!(
            body["code"].is_string() && body["message"].is_string(),
            "{status}: {body}"
        );
    }
    (status, body)
}

#[test]
fn the_same_batch_twice_changes_nothing_the_second_time() {
    let server = TestServer::start();
    let phone = Device::signed_in(&server, "inspector1", 0);
    phone.report("0101", 1);
    phone.report("0102", 2);
    let ops = phone.store.pending_ops(100).expect("ops");
    let token = phone
        .store
        .sync_state()
        .expect("state")
        .token
        .expect("token");
    let push = || -> PushResponse {
        client()
            .post(format!("{}/v1/push", server.url))
            .bearer_auth(&token)
            .json(&json!({"ops": ops}))
            .send()
            .expect("push")
            .json()
            .expect("json")
    };
    let first = push();
    let events_after_first = server.state.store.stats().expect("stats").events;
    let second = push();
    assert_eq!(
        first.results, second.results,
        "a replay returns the first result"
    );
    assert_eq!(
        server.state.store.stats().expect("stats").events,
        events_after_first
    );
    // A new operation twice in one batch (beside the two old ones): one effect, the same answer
    // both times.
    phone.report("0103", 3);
    let ops = phone.store.pending_ops(100).expect("ops");
    assert_eq!(ops.len(), 3);
    let doubled: Vec<_> = ops.iter().chain(ops.iter()).cloned().collect();
    let third: PushResponse = client()
        .post(format!("{}/v1/push", server.url))
        .bearer_auth(&token)
        .json(&json!({ "ops": doubled }))
        .send()
        .expect("push")
        .json()
        .expect("json");
    assert_eq!(third.results[..2], first.results[..]);
    assert_eq!(third.results[..3], third.results[3..]);
    assert_eq!(
        server.state.store.stats().expect("stats").events,
        events_after_first + 1
    );
    // The device never heard the first answer (lost response): its own sync replays harmlessly.
    let r = phone.sync();
    assert_eq!((r.accepted, r.rejected), (3, 0));
    assert_eq!(server.state.store.stats().expect("stats").cases, 3);
}

#[test]
fn bad_input_gets_a_coded_4xx_and_changes_nothing() {
    let server = TestServer::start();
    let token = login(&server, "unit2", "dev-u2");
    let url = |p: &str| format!("{}{p}", server.url);
    let before = server.state.store.stats().expect("stats");
    // A fresh connection per request: after a 413 the server closes the connection it refused.

    let (s, b) = call(
        client()
            .post(url("/v1/push"))
            .bearer_auth(&token)
            .header("content-type", "application/json")
            .body("{not json"),
    );
    assert_eq!((s, b["code"].as_str()), (400, Some("malformed_json")));
    let (s, b) = call(
        client()
            .post(url("/v1/push"))
            .bearer_auth(&token)
            .json(&json!({"ops": [{"id": "x", "kind": "teleport"}]})),
    );
    assert_eq!(
        (s, b["code"].as_str()),
        (400, Some("malformed_json")),
        "unknown op kind"
    );
    // Too large: the server answers 413 without reading the rest and closes the connection; on
    // a loaded machine the client can see that close before the answer's body, so the body is
    // checked on the first attempt that received it (the status on every attempt).
    let big = "x".repeat(9 * 1024 * 1024);
    let mut code = None;
    for _ in 0..5 {
        let Ok(resp) = client()
            .post(url("/v1/push"))
            .bearer_auth(&token)
            .json(&json!({"ops": [], "pad": big}))
            .send()
        else {
            continue; // reset while still sending: no answer to check
        };
        assert_eq!(resp.status().as_u16(), 413);
        if let Ok(b) = resp.json::<Value>() {
            code = b["code"].as_str().map(str::to_string);
            break;
        }
    }
    assert_eq!(code.as_deref(), Some("payload_too_large"));
    let (s, b) = call(client().get(url("/v1/pull?cursor=abc")).bearer_auth(&token));
    assert_eq!((s, b["code"].as_str()), (400, Some("malformed_query")));
    let (s, _) = call(client().get(url("/v1/pull?cursor=-5")).bearer_auth(&token));
    assert_eq!(s, 400);
    let (s, b) = call(
        client()
            .get(url("/v1/../../etc/passwd"))
            .bearer_auth(&token),
    );
    assert!(s == 404 || s == 400, "{s} {b}");
    let (s, b) = call(client().get(url("/v1/pull")));
    assert_eq!((s, b["code"].as_str()), (401, Some("unauthorized")));
    let (s, b) = call(client().get(url("/v1/pull")).bearer_auth("forged"));
    assert_eq!((s, b["code"].as_str()), (401, Some("unauthorized")));
    let (s, b) = call(
        client()
            .get(url("/v1/pull"))
            .bearer_auth(&token)
            .header("x-xuncha-protocol", "99"),
    );
    assert_eq!((s, b["code"].as_str()), (426, Some("protocol_unsupported")));
    let (s, b) = call(
        client()
            .post(url("/v1/auth/login"))
            .json(&json!({"user_id": "unit2", "password": "nope", "device_id": "d"})),
    );
    assert_eq!((s, b["code"].as_str()), (401, Some("wrong_credentials")));
    let (s, b) = call(client().delete(url("/v1/push")).bearer_auth(&token));
    assert_eq!((s, b["code"].as_str()), (405, Some("method_not_allowed")));

    // Well-formed ops that must be refused, each with a reason, nothing applied.
    let phone = Device::signed_in(&server, "inspector1", 0);
    let case = phone.report("0101", 1);
    phone.sync();
    let mut foreign = phone.store.pending_ops(1).expect("ops");
    assert!(foreign.is_empty());
    phone.store.comment(case, "x", vec![]).expect("comment");
    foreign = phone.store.pending_ops(1).expect("ops");
    // unit2 pushes the inspector's op: wrong device and actor.
    let (s, b) = call(
        client()
            .post(url("/v1/push"))
            .bearer_auth(&token)
            .json(&json!({"ops": foreign})),
    );
    assert_eq!(s, 200);
    assert_eq!(b["results"][0]["status"], "rejected");
    assert_eq!(b["results"][0]["code"], "wrong_device");
    let after = server.state.store.stats().expect("stats");
    assert_eq!(
        after.events,
        before.events + 1,
        "only the inspector's report was applied"
    );
}

#[test]
fn health_metrics_and_openapi_are_served() {
    let server = TestServer::start();
    let (s, b) = call(client().get(format!("{}/healthz", server.url)));
    assert_eq!((s, b["status"].as_str()), (200, Some("ok")));
    let (s, b) = call(client().get(format!("{}/v1/openapi.json", server.url)));
    assert_eq!(s, 200);
    assert!(b["openapi"].as_str().is_some_and(|v| v.starts_with("3.")));
    for path in ["/v1/push", "/v1/pull", "/v1/auth/login", "/v1/reference"] {
        assert!(b["paths"][path].is_object(), "{path} documented");
    }
    // Real schemas a generator can use: the push body is an array of `Op`, each with one
    // `OpBody` per action the wire carries, tagged by `kind`.
    let schemas = &b["components"]["schemas"];
    assert_eq!(
        b["paths"]["/v1/push"]["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/PushRequest"
    );
    let kinds: Vec<&str> = schemas["OpBody"]["oneOf"]
        .as_array()
        .expect("OpBody is one of its kinds")
        .iter()
        .filter_map(|k| k["properties"]["kind"]["enum"][0].as_str())
        .collect();
    let actions: Vec<&str> = xuncha_core::Action::ALL
        .iter()
        .map(|a| a.as_str())
        .collect();
    assert_eq!(kinds, actions, "one schema per operation kind");
    for name in [
        "Op",
        "PullPage",
        "PageChange",
        "OpResult",
        "UploadStatus",
        "ApiError",
        "Hlc",
    ] {
        assert!(schemas[name].is_object(), "schema {name}");
    }
    // Binary bodies as binary; every signed-in operation says so.
    assert_eq!(
        b["paths"]["/v1/uploads/{sha256}"]["patch"]["requestBody"]["content"]["application/offset+octet-stream"]
            ["schema"]["$ref"],
        "#/components/schemas/PhotoBytes"
    );
    assert_eq!(schemas["PhotoBytes"]["format"], "binary");
    for (path, ops) in b["paths"].as_object().expect("paths") {
        for (method, op) in ops.as_object().expect("operations") {
            let open = path == "/healthz" || path == "/v1/auth/login" || method == "options";
            let bearer = op["security"][0].get("bearer").is_some();
            assert_eq!(
                bearer, !open,
                "{method} {path}: security {}",
                op["security"]
            );
        }
    }
    let phone = Device::signed_in(&server, "inspector1", 0);
    phone.report("0101", 1);
    phone.sync();
    let text = client()
        .get(format!("{}/metrics", server.url))
        .send()
        .expect("metrics")
        .text()
        .expect("text");
    assert!(text.contains("xuncha_ops_accepted_total 1"), "{text}");
    assert!(text.contains("xuncha_http_requests_total"));
}

#[test]
fn metrics_ask_for_the_scrape_token_when_one_is_set() {
    let server = TestServer::start_with(xuncha_server::Config {
        metrics_token: Some("s3cret-scrape".into()),
        ..xuncha_server::Config::default()
    });
    let url = format!("{}/metrics", server.url);
    let (s, b) = call(client().get(&url));
    assert_eq!(
        (s, b["code"].as_str()),
        (401, Some("metrics_token_required"))
    );
    let (s, _) = call(client().get(&url).bearer_auth("s3cret-scrap"));
    assert_eq!(s, 401, "almost right is wrong");
    let r = client()
        .get(&url)
        .bearer_auth("s3cret-scrape")
        .send()
        .expect("metrics");
    assert_eq!(r.status().as_u16(), 200);
    assert!(
        r.text()
            .expect("text")
            .contains("xuncha_http_requests_total")
    );
    // The health check stays open for load balancers.
    let (s, _) = call(client().get(format!("{}/healthz", server.url)));
    assert_eq!(s, 200);
}

fn jpeg(len: usize, seed: u8) -> Vec<u8> {
    xuncha_core::store::photo_format::sample_jpeg(u64::from(seed), len)
}

#[test]
fn an_upload_cut_at_half_resumes_from_the_offset() {
    use std::io::Write;
    let server = TestServer::start();
    let token = login(&server, "inspector1", "dev-i1");
    let bytes = jpeg(1_000_000, 7);
    let sha = xuncha_core::store::sha256_hex(&bytes);
    let url = |p: &str| format!("{}{p}", server.url);
    let (s, b) = call(
        client()
            .post(url("/v1/uploads"))
            .bearer_auth(&token)
            .json(&json!({"sha256": sha, "size": bytes.len()})),
    );
    assert_eq!((s, b["offset"].as_u64()), (201, Some(0)));

    // Send half the body, then cut the connection.
    let half = bytes.len() / 2;
    let addr = server.url.trim_start_matches("http://").to_string();
    let mut tcp = std::net::TcpStream::connect(&addr).expect("connect");
    write!(
        tcp,
        "PATCH /v1/uploads/{sha} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nUpload-Offset: 0\r\nContent-Type: application/offset+octet-stream\r\nContent-Length: {}\r\n\r\n",
        bytes.len()
    )
    .expect("headers");
    tcp.write_all(&bytes[..half]).expect("half the body");
    tcp.flush().expect("flush");
    std::thread::sleep(std::time::Duration::from_millis(300));
    drop(tcp);

    // Ask where to continue, then send only the rest.
    let mut offset = 0;
    for _ in 0..50 {
        let (_, b) = call(
            client()
                .get(url(&format!("/v1/uploads/{sha}")))
                .bearer_auth(&token),
        );
        offset = b["offset"].as_u64().expect("offset");
        if offset == half as u64 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(
        offset, half as u64,
        "the server kept the bytes received before the cut"
    );
    let (s, b) = call(
        client()
            .patch(url(&format!("/v1/uploads/{sha}")))
            .header("content-type", "application/offset+octet-stream")
            .bearer_auth(&token)
            .header("upload-offset", offset.to_string())
            .body(bytes[half..].to_vec()),
    );
    assert_eq!((s, b["complete"].as_bool()), (200, Some(true)));
    assert_eq!(
        metric(&server, "xuncha_blob_bytes_in_total"),
        bytes.len() as u64,
        "each byte received once"
    );
    // A wrong offset is refused with the right one.
    let (s, b) = call(
        client()
            .post(url("/v1/uploads"))
            .bearer_auth(&token)
            .json(&json!({"sha256": sha, "size": bytes.len()})),
    );
    assert_eq!(
        (s, b["complete"].as_bool()),
        (200, Some(true)),
        "dedup: already stored"
    );
}

#[test]
fn wrong_hashes_and_fake_images_are_refused() {
    let server = TestServer::start();
    let token = login(&server, "inspector1", "dev-i1");
    let url = |p: &str| format!("{}{p}", server.url);
    let upload = |claimed: &str, bytes: Vec<u8>| -> (u16, Value) {
        let (s, b) = call(
            client()
                .post(url("/v1/uploads"))
                .bearer_auth(&token)
                .json(&json!({"sha256": claimed, "size": bytes.len()})),
        );
        assert_eq!(s, 201, "{b}");
        call(
            client()
                .patch(url(&format!("/v1/uploads/{claimed}")))
                .header("content-type", "application/offset+octet-stream")
                .bearer_auth(&token)
                .header("upload-offset", "0")
                .body(bytes),
        )
    };
    let real = jpeg(5000, 1);
    let other = xuncha_core::store::sha256_hex(&jpeg(5000, 2));
    let (s, b) = upload(&other, real);
    assert_eq!((s, b["code"].as_str()), (422, Some("hash_mismatch")));
    let text = b"GET /secret HTTP/1.1 this is plain text, not a JPEG at all....".to_vec();
    let (s, b) = upload(&xuncha_core::store::sha256_hex(&text), text);
    assert_eq!(
        (s, b["code"].as_str()),
        (415, Some("unsupported_photo_type"))
    );
    let (s, b) = call(
        client()
            .post(url("/v1/uploads"))
            .bearer_auth(&token)
            .json(&json!({"sha256": "../../etc/passwd", "size": 10})),
    );
    assert_eq!((s, b["code"].as_str()), (400, Some("invalid_sha256")));
    let (s, b) = call(
        client()
            .get(url("/v1/photos/..%2F..%2Fxuncha-server.db"))
            .bearer_auth(&token),
    );
    assert_eq!((s, b["code"].as_str()), (400, Some("invalid_sha256")));
    let (s, b) = call(
        client()
            .post(url("/v1/uploads"))
            .bearer_auth(&token)
            .json(&json!({"sha256": other, "size": 500_000_000u64})),
    );
    assert_eq!((s, b["code"].as_str()), (413, Some("photo_too_large")));
    assert_eq!(
        server.state.store.stats().expect("stats").photos,
        0,
        "nothing stored"
    );
}

#[test]
fn photos_download_only_for_callers_who_see_the_case() {
    let server = TestServer::start();
    let inspector = Device::signed_in(&server, "inspector1", 0);
    let supervisor = Device::signed_in(&server, "supervisor1", 0);
    let unit1 = Device::signed_in(&server, "unit1", 0);
    let unit2 = Device::signed_in(&server, "unit2", 0);
    let c = inspector.report("0101", 5);
    let report = inspector.sync();
    assert_eq!(report.photos_uploaded, 1);
    supervisor.sync();
    supervisor
        .store
        .act(
            c,
            xuncha_core::OpBody::Register {
                note: String::new(),
            },
            vec![],
        )
        .expect("register");
    supervisor
        .store
        .act(
            c,
            xuncha_core::OpBody::Dispatch {
                unit_id: "u1".into(),
                deadline_ms: None,
                note: String::new(),
            },
            vec![],
        )
        .expect("dispatch");
    supervisor.sync();
    unit1.sync();
    unit2.sync();
    let sha = unit1.store.case_detail(c).expect("detail").photos[0]
        .photo
        .sha256
        .clone();
    assert!(
        unit1.store.photo_path(&sha).is_none(),
        "not on the unit's phone yet"
    );
    let path = unit1.store.fetch_photo(&sha).expect("unit 1 downloads");
    let original = inspector.store.photo_path(&sha).expect("original");
    assert_eq!(
        std::fs::read(path).expect("read"),
        std::fs::read(original).expect("read")
    );
    let err = unit2.store.fetch_photo(&sha).expect_err("unit 2 must not");
    assert_eq!(err.code(), "server_refused");
    assert!(err.to_string().contains("404"));
}

/// A real JPEG (a 640×480 gradient) made with the `image` crate.
fn real_jpeg() -> Vec<u8> {
    let img = image::RgbImage::from_fn(640, 480, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, 128])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 85)
        .encode_image(&img)
        .expect("encode");
    out.into_inner()
}

#[test]
fn thumbnails_are_small_jpegs_for_those_who_may_see_them() {
    let server = TestServer::start();
    let inspector = Device::signed_in(&server, "inspector1", 0);
    let other = Device::signed_in(&server, "inspector2", 0);
    let jpeg = real_jpeg();
    let heic = include_bytes!("../../../core/tests/fixtures/images/street.heic").to_vec();
    for bytes in [jpeg.clone(), heic.clone()] {
        inspector
            .store
            .report(xuncha_core::store::NewReport {
                category: "0101".into(),
                description: "有真实照片的案件".into(),
                location: xuncha_core::Location {
                    lat: 30.2552,
                    lon: 120.1552,
                    accuracy_m: None,
                    address: String::new(),
                },
                site_id: None,
                campaign_id: None,
                undercover: false,
                photos: vec![xuncha_core::store::PhotoInput::bytes(bytes)],
            })
            .expect("report");
    }
    inspector.sync();
    let token = inspector
        .store
        .sync_state()
        .expect("state")
        .token
        .expect("token");
    let sha = xuncha_core::store::sha256_hex(&jpeg);
    let resp = client()
        .get(format!("{}/v1/photos/{sha}/thumb", server.url))
        .bearer_auth(&token)
        .send()
        .expect("thumb");
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(resp.headers()["content-type"], "image/jpeg");
    let thumb = resp.bytes().expect("bytes").to_vec();
    assert!(
        thumb.len() < jpeg.len() / 2,
        "{} vs {}",
        thumb.len(),
        jpeg.len()
    );
    let decoded = image::load_from_memory(&thumb).expect("a real JPEG");
    assert_eq!((decoded.width(), decoded.height()), (256, 192));
    // Served again from the cache, identical.
    let again = client()
        .get(format!("{}/v1/photos/{sha}/thumb", server.url))
        .bearer_auth(&token)
        .send()
        .expect("thumb")
        .bytes()
        .expect("bytes");
    assert_eq!(again.to_vec(), thumb);
    // HEIC (a real one, as an iPhone sends): not decoded here; a labelled card, not a
    // broken image.
    let heic_sha = xuncha_core::store::sha256_hex(&heic);
    let resp = client()
        .get(format!("{}/v1/photos/{heic_sha}/thumb", server.url))
        .bearer_auth(&token)
        .send()
        .expect("thumb");
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(resp.headers()["xuncha-thumbnail-placeholder"], "heic");
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .expect("ascii")
            .starts_with("image/svg+xml")
    );
    let card = resp.text().expect("svg");
    assert!(card.contains("HEIC 照片") && card.contains("open the original"));
    // Another inspector does not see the case: no thumbnail either.
    let other_token = other
        .store
        .sync_state()
        .expect("state")
        .token
        .expect("token");
    let (s, _) = call(
        client()
            .get(format!("{}/v1/photos/{sha}/thumb", server.url))
            .bearer_auth(&other_token),
    );
    assert_eq!(s, 404);
}

#[test]
fn unknown_ids_are_404_with_a_code() {
    let server = TestServer::start();
    let token = login(&server, "supervisor1", "dev-s1");
    let nobody = "0".repeat(64);
    for path in [
        format!("/v1/uploads/{nobody}"),
        format!("/v1/photos/{nobody}"),
        format!("/v1/photos/{nobody}/thumb"),
        "/v1/cases/whatever".to_string(),
    ] {
        let (s, b) = call(
            client()
                .get(format!("{}{path}", server.url))
                .bearer_auth(&token),
        );
        assert_eq!(s, 404, "{path}: {b}");
    }
    let (s, b) = call(
        client()
            .patch(format!("{}/v1/uploads/{nobody}", server.url))
            .header("content-type", "application/offset+octet-stream")
            .bearer_auth(&token)
            .header("upload-offset", "0")
            .body(vec![1u8; 10]),
    );
    assert_eq!((s, b["code"].as_str()), (404, Some("not_found")));
    let (s, b) = call(
        client()
            .patch(format!("{}/v1/uploads/{nobody}", server.url))
            .header("content-type", "application/offset+octet-stream")
            .bearer_auth(&token)
            .body(vec![1u8; 10]),
    );
    assert_eq!((s, b["code"].as_str()), (400, Some("missing_offset")));
    // An operation on a case that does not exist is refused by the push, with a reason.
    let phone = Device::signed_in(&server, "supervisor1", 0);
    let ghost = uuid::Uuid::now_v7();
    let err = phone
        .store
        .comment(ghost, "?", vec![])
        .expect_err("no such case locally");
    assert_eq!(err.code(), "not_found");
}

/// The server killed between storing a photo's bytes and recording them, or between writing
/// upload bytes and recording progress (found by the server crash test): the next sync heals
/// both without refusing the photo or storing wrong bytes.
#[test]
fn crash_windows_of_a_photo_upload_heal_on_the_next_sync() {
    let server = TestServer::start();
    let phone = Device::signed_in(&server, "inspector1", 0);
    phone.report("0101", 1);
    phone.sync();
    let sha = xuncha_core::store::sha256_hex(&crate::helpers::photo_bytes(1));
    let size = crate::helpers::photo_bytes(1).len() as i64;
    let phone_db =
        rusqlite::Connection::open(phone.store.dir().join("xuncha.db")).expect("phone db");
    let blob = crate::helpers::blob_file(&server.state, &sha);

    for (window, received, keep_blob) in [
        ("bytes stored, not recorded", size, true),
        ("progress recorded ahead of the bytes", 100, false),
    ] {
        crate::helpers::server_sql(
            &server,
            &format!("DELETE FROM photos WHERE sha256 = '{sha}'"),
        );
        let device = phone.store.device_id();
        crate::helpers::server_sql(
            &server,
            &format!("DELETE FROM uploads WHERE sha256 = '{sha}' AND device_id = '{device}'"),
        );
        crate::helpers::server_sql(
            &server,
            &format!(
                "INSERT INTO uploads (sha256, device_id, size, received, created_ms, touched_ms)
                 VALUES ('{sha}', '{device}', {size}, {received}, 0, 0)"
            ),
        );
        if !keep_blob {
            std::fs::remove_file(&blob).expect("remove blob");
        }
        phone_db
            .execute("UPDATE photos SET uploaded = 0", [])
            .expect("phone forgets");
        let r = phone.sync();
        assert_eq!(
            (r.photos_uploaded, r.photos_refused, r.photos_deferred),
            (1, 0, 0),
            "{window}"
        );
        let bytes = std::fs::read(&blob).expect("blob");
        assert_eq!(xuncha_core::store::sha256_hex(&bytes), sha, "{window}");
        let recorded = crate::helpers::server_sql(
            &server,
            &format!("SELECT COUNT(*) FROM photos WHERE sha256 = '{sha}'"),
        );
        assert_eq!(recorded, 1, "{window}");
    }
}

/// `/metrics` times pushes, pulls and uploads apart, and shows the process: resident memory
/// and open files (what an operator watches for a leak).
#[test]
fn metrics_time_push_pull_and_upload_and_show_the_process() {
    let server = TestServer::start();
    let phone = Device::signed_in(&server, "inspector1", 0);
    phone.report("0101", 1);
    phone.sync();
    for op in ["push", "pull", "upload"] {
        let n = metric(
            &server,
            &format!("xuncha_sync_seconds_count{{op=\"{op}\"}}"),
        );
        assert!(n >= 1, "{op} timed: {n}");
    }
    assert!(metric(&server, "process_resident_memory_bytes") > 1_000_000);
    let fds = metric(&server, "process_open_fds");
    assert!(fds > 3 && fds < metric(&server, "process_max_fds"), "{fds}");
}
