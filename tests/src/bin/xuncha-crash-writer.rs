//! Crash-test child: writes reports (with photos) and comments into a store as fast as it can,
//! printing `committed <op_id> <case_id> <sha256|->` after each call returns. The parent kills it
//! with SIGKILL at random moments and checks that everything printed survived.
//!
//! Usage: xuncha-crash-writer STORE_DIR SEED

use std::io::Write;

use xuncha_core::store::{NewReport, PhotoInput, sha256_hex};
use xuncha_core::{Session, Store};
use xuncha_tests::{Rng, demo_city, jpeg_bytes, random_location};

fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(dir), Some(seed)) = (args.next(), args.next().and_then(|s| s.parse().ok())) else {
        eprintln!("usage: xuncha-crash-writer STORE_DIR SEED");
        std::process::exit(2);
    };
    if let Err(e) = run(&dir, seed) {
        eprintln!("crash-writer: {e}");
        std::process::exit(1);
    }
}

fn run(dir: &str, seed: u64) -> xuncha_core::Result<()> {
    let store = Store::open(dir)?;
    if store.category_tree()?.is_empty() {
        store.load_reference(&demo_city())?;
    }
    store.set_session(&Session::new("inspector1", "inspector", None)?)?;
    let mut rng = Rng::new(seed);
    let out = std::io::stdout();
    let mut last_case = None;
    loop {
        let with_photo = rng.range(0, 3) > 0;
        let photo =
            with_photo.then(|| jpeg_bytes(rng.next_u64(), rng.range(1_000, 400_000) as usize));
        let sha = photo
            .as_deref()
            .map(sha256_hex)
            .unwrap_or_else(|| "-".into());
        let (case_id, op_id) = match last_case {
            Some(case) if rng.range(0, 4) == 0 => {
                let op = store.comment(
                    case,
                    "补充说明",
                    photo.into_iter().map(PhotoInput::bytes).collect(),
                )?;
                (case, op.id)
            }
            _ => {
                let op = store.report(NewReport {
                    category: "0101".into(),
                    description: format!("崩溃测试 {}", rng.next_u64()),
                    location: random_location(&mut rng),
                    site_id: None,
                    campaign_id: None,
                    undercover: false,
                    photos: photo.into_iter().map(PhotoInput::bytes).collect(),
                })?;
                last_case = Some(op.case_id);
                (op.case_id, op.id)
            }
        };
        let mut o = out.lock();
        let _ = writeln!(o, "committed {op_id} {case_id} {sha}");
        let _ = o.flush();
    }
}
