//! Every rule lives once, in core: the server, the console and the FFI read status sets from
//! `xuncha_core::workflow::Status` (`OPEN`, `DEADLINE_RUNNING`, `TAKEN_UP`, `sql_list`) and
//! never spell one out — not as an SQL literal, not as a Rust list or pattern of statuses.

use std::path::{Path, PathBuf};

use xuncha_core::workflow::{Action, Role, Status};

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

fn kotlin_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            kotlin_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "kt") {
            out.push(path);
        }
    }
}

/// Where Kotlin spells a status, an action or a role by its wire name (a label list, a status
/// set or a form rule of its own), or lists statuses side by side, instead of taking the
/// library's typed enums, labels, sets and offers.
fn kotlin_spelled(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    let names = Status::ALL
        .iter()
        .map(|s| s.as_str())
        .chain(Action::ALL.iter().map(|a| a.as_str()))
        .chain(Role::ALL.iter().map(|r| r.as_str()));
    for name in names {
        let quoted = format!("\"{name}\"");
        if text.contains(&quoted) {
            found.push(quoted);
        }
    }
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    for (i, _) in flat.match_indices("Status.") {
        let rest = &flat[i + "Status.".len()..];
        let word: String = rest
            .chars()
            .take_while(|c| c.is_ascii_uppercase() || *c == '_')
            .collect();
        if !word.is_empty() && rest[word.len()..].starts_with(", Status.") {
            found.push(format!("Status.{word}, Status.…"));
        }
    }
    found
}

#[test]
fn the_app_keeps_no_lists_of_statuses_actions_or_labels() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../android-demo/app/src/main");
    let mut files = Vec::new();
    kotlin_files(&root, &mut files);
    assert!(files.len() > 8, "found the app's sources: {}", files.len());
    let mut offenders = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).expect("read source");
        for found in kotlin_spelled(&text) {
            offenders.push(format!("{}: {found}", file.display()));
        }
    }
    assert!(
        offenders.is_empty(),
        "the app spells what the library says (use Status/Action enums, statusLabel, \
         openStatuses, the offers' inputs):\n{}",
        offenders.join("\n")
    );
}

#[test]
fn the_check_finds_what_it_looks_for() {
    assert!(!kotlin_spelled("val reasonActions = setOf(\"reject\", \"park\")").is_empty());
    assert!(!kotlin_spelled("listOf(Status.CLOSED,\n Status.REJECTED)").is_empty());
    assert!(kotlin_spelled("statusLabel(c.status, lang); openStatuses()").is_empty());
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
