//! What the console tests share: a cookie-keeping client that does not follow redirects,
//! signing in through the form, reading a form field off a page, and posting an action form.

use reqwest::blocking::Client;
use reqwest::redirect::Policy;
use uuid::Uuid;
use xuncha_core::Status;

use crate::helpers::TestServer;

pub fn browser() -> Client {
    Client::builder()
        .cookie_store(true)
        .redirect(Policy::none())
        .build()
        .expect("client")
}

/// The value of `name="field" value="…"` on a page (the first one).
pub fn field(page: &str, name: &str) -> String {
    let at = page
        .find(&format!("name=\"{name}\" value=\""))
        .unwrap_or_else(|| panic!("no field {name} in page"));
    let rest = &page[at + name.len() + 15..];
    rest[..rest.find('"').expect("closing quote")].to_string()
}

/// Sign in through the form: the client, the answer's status and page.
pub fn sign_in(server: &TestServer, user: &str, password: &str) -> (Client, u16, String) {
    let b = browser();
    let page = b
        .get(format!("{}/console/login", server.url))
        .send()
        .expect("login page")
        .text()
        .expect("html");
    let csrf = field(&page, "csrf");
    let resp = b
        .post(format!("{}/console/login", server.url))
        .form(&[("user", user), ("password", password), ("csrf", &csrf)])
        .send()
        .expect("login");
    let status = resp.status().as_u16();
    (b, status, resp.text().unwrap_or_default())
}

/// Sign in as a demo user; panics unless it worked.
pub fn console(server: &TestServer, user: &str) -> Client {
    let (b, s, _) = sign_in(server, user, "demo");
    assert_eq!(s, 303, "{user} signs in");
    b
}

pub fn get(b: &Client, server: &TestServer, path: &str) -> (u16, String) {
    let r = b.get(format!("{}{path}", server.url)).send().expect("get");
    (r.status().as_u16(), r.text().unwrap_or_default())
}

pub fn act(b: &Client, server: &TestServer, case: Uuid, form: &[(&str, &str)]) -> (u16, String) {
    let r = b
        .post(format!("{}/console/cases/{case}/act", server.url))
        .form(form)
        .send()
        .expect("act");
    (r.status().as_u16(), r.text().unwrap_or_default())
}

pub fn status(server: &TestServer, case: Uuid) -> Status {
    server
        .state
        .store
        .case(case)
        .expect("case")
        .expect("exists")
        .status
}
