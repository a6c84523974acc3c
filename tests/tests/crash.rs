//! Crash safety of the device store: a child process writing reports and comments with photos is
//! killed with SIGKILL at random moments, again and again on the same store. After every kill the
//! store must open, pass `PRAGMA integrity_check`, and hold every operation the child had seen
//! committed, with its case and the exact photo bytes.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use uuid::Uuid;
use xuncha_core::Store;
use xuncha_core::store::sha256_hex;
use xuncha_tests::Rng;

const TRIALS: usize = 40;

#[test]
fn sigkill_at_random_moments_loses_nothing_committed() {
    let seed = std::env::var("XUNCHA_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(Rng::seed_from_time);
    println!("crash test seed: {seed} (replay with XUNCHA_CRASH_SEED={seed})");
    let mut rng = Rng::new(seed);
    let dir = tempfile::TempDir::new().expect("tmp");
    // op id → (case id, photo hash or "-"), everything any child reported committed.
    let mut committed: HashMap<Uuid, (Uuid, String)> = HashMap::new();
    let mut killed_mid_stream = 0;
    for trial in 0..TRIALS {
        let mut child = Command::new(env!("CARGO_BIN_EXE_xuncha-crash-writer"))
            .arg(dir.path())
            .arg(rng.next_u64().to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn writer");
        let stdout = child.stdout.take().expect("stdout");
        let reader = std::thread::spawn(move || {
            BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
                .collect::<Vec<String>>()
        });
        std::thread::sleep(Duration::from_millis(rng.range(5, 250)));
        child.kill().expect("SIGKILL"); // Child::kill is SIGKILL on Unix.
        let status = child.wait().expect("wait");
        let lines = reader.join().expect("reader");
        let mut stderr = String::new();
        if let Some(mut e) = child.stderr.take() {
            use std::io::Read;
            let _ = e.read_to_string(&mut stderr);
        }
        assert!(stderr.is_empty(), "trial {trial}: writer failed: {stderr}");
        if status.code().is_none() {
            killed_mid_stream += 1;
        }
        for line in &lines {
            let parts: Vec<&str> = line.split(' ').collect();
            assert_eq!(parts.len(), 4, "bad line {line:?}");
            let op: Uuid = parts[1].parse().expect("op id");
            let case: Uuid = parts[2].parse().expect("case id");
            committed.insert(op, (case, parts[3].to_string()));
        }

        let store = Store::open(dir.path()).expect("store opens after SIGKILL");
        store.integrity_check().expect("integrity_check ok");
        let outbox: HashMap<Uuid, Uuid> = store
            .outbox()
            .expect("outbox")
            .into_iter()
            .map(|e| (e.op.id, e.op.case_id))
            .collect();
        for (op, (case, sha)) in &committed {
            assert_eq!(outbox.get(op), Some(case), "trial {trial}: op {op} lost");
            let detail = store.case_detail(*case).expect("case of a committed op");
            assert!(
                detail.timeline.iter().any(|e| e.op.id == *op),
                "event of {op} lost"
            );
            if sha != "-" {
                let path = store.photo_path(sha).expect("photo file present");
                let bytes = std::fs::read(path).expect("read photo");
                assert_eq!(&sha256_hex(&bytes), sha, "photo bytes intact");
                assert!(detail.photos.iter().any(|p| &p.photo.sha256 == sha));
            }
        }
    }
    println!(
        "crash test: {TRIALS} SIGKILLs ({killed_mid_stream} mid-write), {} committed ops verified",
        committed.len()
    );
    assert!(
        killed_mid_stream >= TRIALS * 9 / 10,
        "the child was really killed"
    );
    assert!(committed.len() > TRIALS, "the child really wrote");
}
