//! The console's action forms, generated from the transition table: for every status a case can
//! be in (and with or without a pending extension request) and every role that uses the console,
//! the case page shows exactly the actions the table offers, each form with exactly the inputs
//! its row names; and each of those forms, filled in as a person would from what the page
//! offers, is accepted and moves the case where the table says.

use std::collections::{BTreeMap, BTreeSet};

use reqwest::blocking::Client;
use reqwest::blocking::multipart::{Form, Part};
use uuid::Uuid;
use xuncha_core::fold::{available_actions, condition_holds};
use xuncha_core::model::{Actor, Case};
use xuncha_core::scope;
use xuncha_core::workflow::{Action, Requirement, Role, Status, table};

use crate::console_kit::{console, get, status};
use crate::helpers::{Device, TestServer, photo_bytes};

/// A state to put a case in: its status, and whether a unit's extension request is pending.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Variant {
    status: Status,
    pending_extension: bool,
}

fn variants() -> Vec<Variant> {
    let mut v: Vec<Variant> = Status::ALL
        .iter()
        .map(|&status| Variant {
            status,
            pending_extension: false,
        })
        .collect();
    // The statuses where the table has rows that need a pending request.
    for r in table() {
        if r.requires.contains(&Requirement::PendingExtension)
            && let Some(status) = r.from
        {
            v.push(Variant {
                status,
                pending_extension: true,
            });
        }
    }
    v.sort();
    v.dedup();
    v
}

/// One action form as the page rendered it: its input names, whether the text is required,
/// the values a person would submit (what the page preselects), and whether it is multipart.
#[derive(Debug, Default)]
struct PageForm {
    names: BTreeSet<String>,
    text_required: bool,
    values: BTreeMap<String, String>,
    multipart: bool,
}

/// The value of `attr="…"` inside one tag.
fn attr(tag: &str, name: &str) -> Option<String> {
    let key = format!(" {name}=\"");
    let at = tag.find(&key)? + key.len();
    Some(tag[at..at + tag[at..].find('"')?].to_string())
}

/// Every `<form class="act" …>` of a case page, by its `data-action`.
fn action_forms(page: &str) -> BTreeMap<String, PageForm> {
    let mut out = BTreeMap::new();
    for chunk in page.split("<form class=\"act\"").skip(1) {
        let body = &chunk[..chunk.find("</form>").expect("form closes")];
        let open = &body[..body.find('>').expect("tag closes")];
        let action = attr(open, "data-action").expect("data-action");
        let mut f = PageForm {
            multipart: open.contains("multipart/form-data"),
            ..PageForm::default()
        };
        for tag in body.split('<').skip(1) {
            let tag = &tag[..tag.find('>').unwrap_or(tag.len())];
            let is_option = tag.starts_with("option");
            if is_option {
                // The preselected unit, or the first one.
                if let Some(v) = attr(tag, "value")
                    && (tag.contains(" selected") || !f.values.contains_key("unit_id"))
                {
                    f.values.insert("unit_id".into(), v);
                }
                continue;
            }
            let Some(name) = attr(tag, "name") else {
                continue;
            };
            if name == "text" {
                f.text_required = tag.contains(" required");
            }
            if tag.starts_with("input")
                && tag.contains("type=\"radio\"")
                && !tag.contains(" checked")
            {
                f.names.insert(name);
                continue;
            }
            if let Some(v) = attr(tag, "value") {
                f.values.insert(name.clone(), v);
            }
            f.names.insert(name);
        }
        out.insert(action, f);
    }
    out
}

/// The form input names the table's requirements call for (the reason is the text field).
fn input_names(inputs: impl Iterator<Item = Requirement>) -> BTreeSet<String> {
    let mut names: BTreeSet<String> = ["csrf", "seen", "action", "text"]
        .into_iter()
        .map(String::from)
        .collect();
    for r in inputs {
        let name = match r {
            Requirement::Unit => "unit_id",
            Requirement::Deadline => "deadline",
            Requirement::NewDeadline => "until",
            Requirement::AfterPhoto | Requirement::VerifyPhoto => "photo",
            Requirement::DuplicateTarget => "duplicate_of",
            _ => continue,
        };
        names.insert(name.to_string());
    }
    names
}

struct City {
    server: TestServer,
    phone: Device,
    supervisor: Client,
    unit: Client,
    admin: Client,
    seed: u64,
}

impl City {
    fn browser(&self, role: Role) -> &Client {
        match role {
            Role::Supervisor => &self.supervisor,
            Role::UnitStaff => &self.unit,
            _ => &self.admin,
        }
    }

    fn actor(role: Role) -> Actor {
        let (user, unit) = match role {
            Role::Supervisor => ("supervisor1", None),
            Role::UnitStaff => ("unit1", Some("u1".to_string())),
            _ => ("admin", None),
        };
        Actor {
            user_id: user.into(),
            role,
            unit_id: unit,
        }
    }

    fn case(&self, id: Uuid) -> Case {
        self.server
            .state
            .store
            .case(id)
            .expect("case")
            .expect("exists")
    }

    /// Fill in `action`'s form on the case page as a person would (the preselected unit and
    /// deadlines, a reason, a real photo) and submit it; the answer's status and page.
    fn submit(&self, role: Role, id: Uuid, action: Action) -> (u16, String) {
        let b = self.browser(role);
        let (s, page) = get(b, &self.server, &format!("/console/cases/{id}"));
        assert_eq!(s, 200);
        let forms = action_forms(&page);
        let form = forms
            .get(action.as_str())
            .unwrap_or_else(|| panic!("no {action} form for {role} on a {}", self.case(id).status));
        let mut values = form.values.clone();
        values.insert("text".into(), format!("{} 测试", action.label_zh()));
        let url = format!("{}/console/cases/{id}/act", self.server.url);
        let r = if form.multipart {
            let mut m = Form::new();
            for (k, v) in values {
                m = m.text(k, v);
            }
            let jpeg = Part::bytes(photo_bytes(9_000 + id.as_u128() as u64 % 1_000))
                .file_name("photo.jpg")
                .mime_str("image/jpeg")
                .expect("mime");
            b.post(url).multipart(m.part("photo", jpeg)).send()
        } else {
            b.post(url).form(&values).send()
        }
        .expect("post");
        (r.status().as_u16(), r.text().unwrap_or_default())
    }

    fn step(&self, role: Role, id: Uuid, action: Action) {
        let (s, page) = self.submit(role, id, action);
        let msg = page.split("id=\"message\"").nth(1).unwrap_or("");
        assert_eq!(s, 303, "{role} {action}: {}", &msg[..msg.len().min(300)]);
    }

    /// A new case, brought to `v` through the console's own forms.
    fn case_in(&mut self, v: Variant) -> Uuid {
        use Action as A;
        use Role::{Supervisor as S, UnitStaff as U};
        self.seed += 1;
        let id = self.phone.report("0101", self.seed);
        self.phone.sync();
        let path: &[(Role, Action)] = match v.status {
            Status::Submitted => &[],
            Status::Registered => &[(S, A::Register)],
            Status::Rejected => &[(S, A::Reject)],
            Status::Duplicate => &[(S, A::MarkDuplicate)],
            Status::Dispatched => &[(S, A::Register), (S, A::Dispatch)],
            Status::Parked => &[(S, A::Register), (S, A::Dispatch), (S, A::Park)],
            Status::ReturnRequested => &[(S, A::Register), (S, A::Dispatch), (U, A::RequestReturn)],
            Status::InProgress => &[(S, A::Register), (S, A::Dispatch), (U, A::Acknowledge)],
            Status::Rectified => &[
                (S, A::Register),
                (S, A::Dispatch),
                (U, A::Acknowledge),
                (U, A::Rectify),
            ],
            Status::Closed => &[
                (S, A::Register),
                (S, A::Dispatch),
                (U, A::Acknowledge),
                (U, A::Rectify),
                (S, A::VerifyPass),
            ],
        };
        for &(role, action) in path {
            self.step(role, id, action);
        }
        if v.pending_extension {
            self.step(Role::UnitStaff, id, Action::RequestExtension);
        }
        let c = self.case(id);
        assert_eq!(
            (c.status, c.pending_extension.is_some()),
            (v.status, v.pending_extension)
        );
        id
    }
}

#[test]
fn every_status_and_role_gets_exactly_the_tables_forms_and_each_form_works() {
    let server = TestServer::start();
    let phone = Device::signed_in(&server, "inspector1", 0);
    // An open case at the same place, so a duplicate always has an original to choose.
    phone.report("0101", 0);
    phone.sync();
    let mut city = City {
        supervisor: console(&server, "supervisor1"),
        unit: console(&server, "unit1"),
        admin: console(&server, "admin"),
        server,
        phone,
        seed: 0,
    };
    let roles = [Role::Supervisor, Role::UnitStaff, Role::Admin];
    let mut to_submit = Vec::new();
    for v in variants() {
        let id = city.case_in(v);
        let case = city.case(id);
        for role in roles {
            let actor = City::actor(role);
            let (s, page) = get(
                city.browser(role),
                &city.server,
                &format!("/console/cases/{id}"),
            );
            if !scope::Reach::of(&actor, None, &Default::default()).can_see(&case) {
                assert_eq!(s, 404, "{role} does not see {v:?}");
                continue;
            }
            assert_eq!(s, 200, "{role} sees the case");
            let forms = action_forms(&page);
            // Generated from the table itself: its rows for this status and role whose
            // conditions hold (field edits are the phone's).
            let expected: BTreeMap<String, BTreeSet<String>> = table()
                .iter()
                .filter(|r| r.from == Some(v.status) && r.role == role && r.action != Action::Edit)
                .filter(|r| {
                    r.conditions()
                        .all(|c| condition_holds(c, Some(&case), &actor))
                })
                .map(|r| (r.action.as_str().to_string(), input_names(r.inputs())))
                .collect();
            let shown: BTreeMap<String, BTreeSet<String>> = forms
                .iter()
                .map(|(a, f)| (a.clone(), f.names.clone()))
                .collect();
            assert_eq!(shown, expected, "{role} on {v:?}");
            // The core's offer list is the same set.
            let offered: BTreeSet<String> = available_actions(&case, &actor)
                .iter()
                .filter(|r| r.action != Action::Edit)
                .map(|r| r.action.as_str().to_string())
                .collect();
            assert_eq!(
                offered,
                expected.keys().cloned().collect(),
                "{role} on {v:?}"
            );
            for (action, f) in &forms {
                let row = table()
                    .iter()
                    .find(|r| {
                        r.from == Some(v.status) && r.role == role && r.action.as_str() == action
                    })
                    .expect("row");
                assert_eq!(
                    f.text_required,
                    row.requires.contains(&Requirement::Reason),
                    "{role} {action} on {v:?}: a reason is required iff the table needs one"
                );
                to_submit.push((v, role, row.action, row.target(Some(v.status))));
            }
        }
    }
    assert!(to_submit.len() >= 25, "{} forms", to_submit.len());
    // Every form, submitted with what its page offers, is accepted (the extension request and
    // the photo forms included).
    for (v, role, action, target) in to_submit {
        let id = city.case_in(v);
        let (s, page) = city.submit(role, id, action);
        let msg = page.split("id=\"message\"").nth(1).unwrap_or("");
        assert_eq!(
            s,
            303,
            "{role} {action} on {v:?}: {}",
            &msg[..msg.len().min(300)]
        );
        assert_eq!(status(&city.server, id), target, "{role} {action} on {v:?}");
    }
}
