//! Every rule lives once, in core: the server, the console and the FFI read status sets from
//! `xuncha_core::workflow::Status` (`OPEN`, `DEADLINE_RUNNING`, `TAKEN_UP`, `sql_list`) and
//! never spell one out — not as an SQL literal, not as a Rust list or pattern of statuses.

use std::path::{Path, PathBuf};

use xuncha_core::workflow::Status;

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `Status::Closed` as written in Rust, from the status's wire name.
fn variant(s: Status) -> String {
    s.as_str()
        .split('_')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}

/// Where `text` spells a set of statuses: an SQL literal of a status name, or two statuses side
/// by side in a list or a pattern.
fn spelled_sets(text: &str) -> Vec<String> {
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut found = Vec::new();
    for &s in Status::ALL {
        let literal = format!("'{}'", s.as_str());
        if flat.contains(&literal) {
            found.push(literal);
        }
        for sep in [", ", " | "] {
            let pair = format!("Status::{}{sep}Status::", variant(s));
            if flat.contains(&pair) {
                found.push(pair);
            }
        }
    }
    if flat.contains("[Status; ") {
        found.push("[Status; N]".into());
    }
    found
}

#[test]
fn no_status_set_is_spelled_outside_core() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files = Vec::new();
    for dir in ["sync-server/src", "ffi/src"] {
        rust_files(&root.join(dir), &mut files);
    }
    assert!(files.len() > 20, "found the sources: {}", files.len());
    let mut offenders = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).expect("read source");
        // A module's own unit tests may name statuses as test data.
        let code = text.split("#[cfg(test)]").next().unwrap_or("");
        for found in spelled_sets(code) {
            offenders.push(format!("{}: {found}", file.display()));
        }
    }
    assert!(
        offenders.is_empty(),
        "status sets spelled outside core (use Status::OPEN and friends):\n{}",
        offenders.join("\n")
    );
}

#[test]
fn the_check_finds_what_it_looks_for() {
    assert_eq!(variant(Status::ReturnRequested), "ReturnRequested");
    assert!(!spelled_sets("status NOT IN ('closed', 'rejected')").is_empty());
    assert!(!spelled_sets("matches!(s, Status::Closed\n    | Status::Parked)").is_empty());
    assert!(
        !spelled_sets("const X: [Status; 2] = [Status::Dispatched, Status::Rectified];").is_empty()
    );
    assert!(
        spelled_sets("c.status.is_open() && Status::OPEN.contains(&Status::Parked)").is_empty()
    );
}
