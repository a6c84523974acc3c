//! Crash-test child for sync: an inspector's phone that reports cases with photos and syncs them,
//! round after round, until the parent kills it with SIGKILL. Photos are uploaded in small
//! chunks so kills land inside uploads as well as pushes, pulls and local writes.
//!
//! Usage: xuncha-crash-syncer SERVER_URL STORE_DIR SEED

use std::sync::atomic::AtomicBool;

use xuncha_core::Store;
use xuncha_core::store::{NewReport, PhotoInput};
use xuncha_core::sync::client::SyncOptions;
use xuncha_tests::{Rng, TAXONOMY, jpeg_bytes, random_location};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [url, dir, seed] = args.as_slice() else {
        eprintln!("usage: xuncha-crash-syncer SERVER_URL STORE_DIR SEED");
        std::process::exit(2);
    };
    let Ok(seed) = seed.parse() else {
        eprintln!("SEED must be a number");
        std::process::exit(2);
    };
    if let Err(e) = run(url, dir, seed) {
        eprintln!("crash-syncer: {e} ({})", e.code());
        std::process::exit(1);
    }
}

fn run(url: &str, dir: &str, seed: u64) -> xuncha_core::Result<()> {
    let mut rng = Rng::new(seed);
    let store = Store::open(dir)?;
    if store.sync_state()?.token.is_none() {
        store.sign_in_remote(url, "inspector1", "demo", "crash phone")?;
    }
    let opts = SyncOptions {
        upload_chunk: 16 * 1024,
        backoff: std::time::Duration::from_millis(10),
        ..SyncOptions::default()
    };
    // The categories arrive with the first sync (possibly killed before, on an earlier run).
    while store.category_tree()?.is_empty() {
        match store.sync(&opts, &mut |_| {}, &AtomicBool::new(false)) {
            Ok(_) | Err(xuncha_core::Error::Network(_)) => {}
            Err(e) => return Err(e),
        }
    }
    loop {
        for _ in 0..3 {
            let (code, name, ..) = TAXONOMY[rng.range(0, TAXONOMY.len() as u64) as usize];
            let photo = jpeg_bytes(rng.next_u64(), rng.range(20_000, 200_000) as usize);
            store.report(NewReport {
                category: code.into(),
                description: name.into(),
                location: random_location(&mut rng),
                site_id: None,
                campaign_id: None,
                undercover: false,
                photos: vec![PhotoInput::bytes(photo)],
            })?;
        }
        // A busy machine can make a sync run out of retries: like a phone, try again later.
        match store.sync(&opts, &mut |_| {}, &AtomicBool::new(false)) {
            Ok(_) | Err(xuncha_core::Error::Network(_)) => {}
            Err(e) => return Err(e),
        }
    }
}
