//! Open311 documents in JSON or XML. Each is built once as JSON; the XML is the same tree with
//! a root element, one element per list item, and a list's items named after the list in the
//! singular (`endpoints` → `endpoint`, `formats` → `format`), as the GeoReport v2 examples are.

use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// The format a path's suffix asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Xml,
}

/// A document: `value` as JSON, or as XML under `<root>` (a list's items as `<item>`).
pub fn document(format: Format, root: &str, item: &str, value: &Value) -> Response {
    match format {
        Format::Json => (
            [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
            value.to_string(),
        )
            .into_response(),
        Format::Xml => {
            let mut out = String::from(r#"<?xml version="1.0" encoding="utf-8"?>"#);
            match value {
                Value::Array(items) => {
                    out.push_str(&format!("<{root}>"));
                    for v in items {
                        element(&mut out, item, v);
                    }
                    out.push_str(&format!("</{root}>"));
                }
                v => element(&mut out, root, v),
            }
            ([(header::CONTENT_TYPE, "text/xml; charset=utf-8")], out).into_response()
        }
    }
}

/// Open311's error list.
pub fn error_list(code: u16, description: &str) -> Value {
    json!([{ "code": code, "description": description }])
}

fn singular(name: &str) -> &str {
    name.strip_suffix('s').unwrap_or(name)
}

fn element(out: &mut String, name: &str, v: &Value) {
    match v {
        Value::Null => out.push_str(&format!("<{name}/>")),
        Value::Object(fields) => {
            out.push_str(&format!("<{name}>"));
            for (k, v) in fields {
                element(out, k, v);
            }
            out.push_str(&format!("</{name}>"));
        }
        Value::Array(items) => {
            out.push_str(&format!("<{name}>"));
            for v in items {
                element(out, singular(name), v);
            }
            out.push_str(&format!("</{name}>"));
        }
        Value::String(s) => out.push_str(&format!("<{name}>{}</{name}>", escape(s))),
        other => out.push_str(&format!("<{name}>{other}</{name}>")),
    }
}

/// Text as XML character data: the five special characters escaped, and characters XML 1.0
/// cannot carry at all (most control characters) left out.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn xml(root: &str, item: &str, v: &Value) -> String {
        let r = document(Format::Xml, root, item, v);
        let bytes = futures_body(r);
        String::from_utf8(bytes).expect("utf-8")
    }

    fn futures_body(r: Response) -> Vec<u8> {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime")
            .block_on(async {
                axum::body::to_bytes(r.into_body(), usize::MAX)
                    .await
                    .expect("body")
                    .to_vec()
            })
    }

    // serde_json keeps an object's keys in order of name: so do these.
    #[test]
    fn lists_nest_in_the_singular_and_text_is_escaped() {
        let v =
            json!([{ "service_code": "0101", "keywords": "a<b & \"c\"\u{1}", "metadata": false }]);
        assert_eq!(
            xml("services", "service", &v),
            r#"<?xml version="1.0" encoding="utf-8"?><services><service><keywords>a&lt;b &amp; &quot;c&quot;</keywords><metadata>false</metadata><service_code>0101</service_code></service></services>"#
        );
        let d = json!({ "endpoints": [{ "formats": ["text/xml"] }], "contact": null });
        assert_eq!(
            xml("discovery", "", &d),
            r#"<?xml version="1.0" encoding="utf-8"?><discovery><contact/><endpoints><endpoint><formats><format>text/xml</format></formats></endpoint></endpoints></discovery>"#
        );
    }
}
