//! A device's push body, hostile: decode it as the server does, then validate and apply every
//! operation with the reference checks and the transition table, in order, over the cases the
//! batch itself creates. Nothing may panic, whatever the bytes.
#![no_main]

use std::collections::HashMap;
use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use uuid::Uuid;
use xuncha_core::fold::{self, ApplyContext};
use xuncha_core::model::Case;
use xuncha_core::reference::ReferenceIndex;
use xuncha_core::sync::protocol::PushRequest;

static INDEX: LazyLock<ReferenceIndex> =
    LazyLock::new(|| ReferenceIndex::new(&xuncha_server::demo::city::demo_city()));

fuzz_target!(|data: &[u8]| {
    let Ok(req) = serde_json::from_slice::<PushRequest>(data) else {
        return;
    };
    let mut cases: HashMap<Uuid, Case> = HashMap::new();
    for op in &req.ops {
        if INDEX.check_op(&op.body).is_err() {
            continue;
        }
        let ctx = ApplyContext {
            server_time_ms: Some(op.device_time_ms.saturating_add(1)),
            case_no: None,
            probable_duplicates: Vec::new(),
            deadline_horizon_ms: Some(xuncha_core::limits::DEADLINE_HORIZON_MS),
        };
        if let Ok((next, event)) = fold::apply(cases.get(&op.case_id), op, &ctx) {
            // What the server stores must encode and decode again.
            let json = serde_json::to_string(&event).expect("event encodes");
            let _: xuncha_core::model::Event = serde_json::from_str(&json).expect("event decodes");
            cases.insert(op.case_id, next);
        }
    }
});
