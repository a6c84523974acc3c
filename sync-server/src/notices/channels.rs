//! The city's delivery channels and what each receives. Configured in a TOML file the server
//! reads at start (`--notify-channels FILE`, config key `notify_channels`), never in the
//! reference data phones pull (the file holds secrets):
//!
//! ```toml
//! [[channel]]
//! id = "office"                      # letters, digits, - and _; the outbox's key
//! kind = "webhook"                   # webhook | wecom | dingtalk | sms
//! url = "https://hooks.example.gov.cn/xuncha"
//! secret = "a long random string"    # webhook: required; dingtalk: the robot's 加签 secret
//! kinds = ["overdue", "escalated"]   # optional: only these notice kinds
//!
//! [[channel]]
//! id = "duty-sms"
//! kind = "sms"
//! url = "https://sms.example.com/send"
//! template = '{"mobiles":"{to}","content":"{text}","sign":"创城办","out_id":"{id}"}'
//! to = ["13800000000", "13900000000"]
//! ```
//!
//! What each kind receives (one HTTP POST per notice event, JSON, UTF-8):
//!
//! - `webhook`: the [`Message`] fields — `id` (the event id: de-duplicate on it), `kind`,
//!   `title`, `text`, `case_id`, `case_no`, `source`, `category`, `place`, `unit`,
//!   `dispatched_at` and `deadline` (RFC 3339, the city's offset), `created_at`, `link` — with
//!   headers `X-Xuncha-Event` (the id), `X-Xuncha-Timestamp` (Unix seconds) and
//!   `X-Xuncha-Signature: sha256=HEX`, the HMAC-SHA256 with the channel's secret of
//!   `TIMESTAMP.BODY`. Delivered when the answer is 2xx.
//! - `wecom` (企业微信群机器人, `https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=KEY`):
//!   `{"msgtype": "markdown", "markdown": {"content": TEXT}}`, the content at most 4,096 bytes
//!   (the robot's limit). Delivered when the answer is 2xx with `"errcode": 0`.
//! - `dingtalk` (钉钉自定义机器人, `https://oapi.dingtalk.com/robot/send?access_token=TOKEN`):
//!   `{"msgtype": "markdown", "markdown": {"title": TITLE, "text": TEXT}, "at": {"isAtAll":
//!   false}}`; with a secret (加签), `&timestamp=MS&sign=SIGN` is added to the URL, SIGN being
//!   the URL-encoded Base64 of the HMAC-SHA256 with the secret of `MS\nSECRET`. Delivered when
//!   the answer is 2xx with `"errcode": 0`.
//! - `sms` (a city's SMS gateway): `template` with `{to}` (the numbers, comma-separated),
//!   `{text}` (the message, at most 300 characters) and, if the gateway takes a caller's
//!   message id to drop repeats (阿里云 `OutId`, 腾讯云 `SessionContext`), `{id}` (the event id)
//!   put in, JSON-escaped, sent with `content_type` (default `application/json`). Delivered
//!   when the answer is 2xx.

use std::collections::HashSet;

use base64::Engine;
use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::Sha256;
use xuncha_core::calendar::WorkCalendar;
use xuncha_core::notify::{Message, NoticeKind};

/// What a channel is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChannelKind {
    /// A generic webhook, signed.
    Webhook,
    /// 企业微信 group robot.
    Wecom,
    /// 钉钉 custom robot.
    Dingtalk,
    /// An SMS gateway by HTTP template.
    Sms,
}

/// One channel.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Channel {
    /// Its id (the outbox's key).
    pub id: String,
    /// What it is.
    pub kind: ChannelKind,
    /// Where to post.
    pub url: String,
    /// The webhook's HMAC key; the DingTalk robot's 加签 secret.
    #[serde(default)]
    pub secret: String,
    /// Only these notice kinds (all when empty).
    #[serde(default)]
    pub kinds: Vec<NoticeKind>,
    /// SMS: the body, with `{to}` and `{text}`.
    #[serde(default)]
    pub template: String,
    /// SMS: the numbers.
    #[serde(default)]
    pub to: Vec<String>,
    /// SMS: the body's content type.
    #[serde(default)]
    pub content_type: String,
}

/// The channels file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ChannelsFile {
    #[serde(default)]
    channel: Vec<Channel>,
}

/// The server's notice delivery settings.
#[derive(Debug, Clone, PartialEq)]
pub struct NotifyConfig {
    /// The channels.
    pub channels: Vec<Channel>,
    /// The console's address as people reach it (links in messages), e.g.
    /// `https://xuncha.example.gov.cn`.
    pub public_url: String,
    /// How long one delivery may take before it counts as failed.
    pub send_timeout: std::time::Duration,
    /// The wait before the first retry (it doubles with each further one).
    pub first_retry_ms: i64,
}

impl Default for NotifyConfig {
    fn default() -> Self {
        NotifyConfig {
            channels: Vec::new(),
            public_url: String::new(),
            send_timeout: std::time::Duration::from_secs(10),
            first_retry_ms: 5_000,
        }
    }
}

impl NotifyConfig {
    /// The ids of the channels.
    pub fn channel_ids(&self) -> Vec<String> {
        self.channels.iter().map(|c| c.id.clone()).collect()
    }

    /// The channel with this id.
    pub fn channel(&self, id: &str) -> Option<&Channel> {
        self.channels.iter().find(|c| c.id == id)
    }
}

/// Read and check a channels file (TOML, `[[channel]]` tables; see the module).
pub fn parse_channels(text: &str) -> Result<Vec<Channel>, String> {
    let file: ChannelsFile = toml::from_str(text).map_err(|e| e.to_string())?;
    let mut ids = HashSet::new();
    for c in &file.channel {
        let bad = |why: &str| Err(format!("channel '{}': {why}", c.id));
        if c.id.is_empty()
            || c.id.len() > 40
            || !c
                .id
                .chars()
                .all(|ch| ch.is_ascii_alphanumeric() || ch == '-' || ch == '_')
        {
            return bad("the id must be 1 to 40 letters, digits, - or _");
        }
        if !ids.insert(c.id.as_str()) {
            return bad("listed twice");
        }
        match reqwest::Url::parse(&c.url) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {}
            _ => return bad("the url must be an http or https address"),
        }
        match c.kind {
            ChannelKind::Webhook if c.secret.len() < 16 => {
                return bad("a webhook needs a secret of at least 16 characters to sign with");
            }
            ChannelKind::Sms if !c.template.contains("{text}") => {
                return bad("an SMS template must contain {text}");
            }
            ChannelKind::Sms if c.to.is_empty() => {
                return bad("an SMS channel needs the numbers to send to (to = [...])");
            }
            _ => {}
        }
    }
    Ok(file.channel)
}

/// An HTTP request to make.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    /// Where.
    pub url: String,
    /// Extra headers.
    pub headers: Vec<(String, String)>,
    /// Content type.
    pub content_type: String,
    /// Body.
    pub body: String,
    /// The answer must be JSON with `"errcode": 0` (the robots answer 200 on errors too).
    pub errcode_zero: bool,
}

/// The most characters an SMS carries of the message.
pub const SMS_CHARS: usize = 300;
/// The 企业微信 robot's limit on markdown content, in bytes.
pub const WECOM_BYTES: usize = 4096;

fn rfc3339(cal: &WorkCalendar, ms: Option<i64>) -> Option<String> {
    use chrono::TimeZone;
    ms.and_then(|m| cal.zone().timestamp_millis_opt(m).single())
        .map(|t| t.to_rfc3339())
}

/// The message as markdown lines (the robots), the link and the event id last. 企业微信 greys
/// the id with its `<font color="comment">`; 钉钉's markdown has no colours, so it gets the
/// plain line.
fn markdown(m: &Message, cal: &WorkCalendar, link: &str, grey_id: bool) -> String {
    let text = m.text(cal);
    let mut lines = vec![format!("### {}", m.title())];
    lines.extend(text.split('｜').skip(1).map(|field| format!("> {field}")));
    if let Some(head) = text.split('｜').next() {
        lines.insert(1, format!("**{head}**"));
    }
    lines.push(format!("[查看案件]({link})"));
    if grey_id {
        lines.push(format!("<font color=\"comment\">编号 {}</font>", m.id));
    } else {
        lines.push(format!("编号 {}", m.id));
    }
    lines.join("\n")
}

/// Cut `s` to at most `max` bytes on a character boundary.
fn cut_bytes(s: &str, max: usize) -> String {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}

fn hmac_sha256(key: &[u8], data: &[u8]) -> Vec<u8> {
    // HMAC takes a key of any length.
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC accepts any key length");
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

/// The webhook's signature header value for `body` sent at `timestamp` (Unix seconds).
pub fn webhook_signature(secret: &str, timestamp: i64, body: &str) -> String {
    let mac = hmac_sha256(secret.as_bytes(), format!("{timestamp}.{body}").as_bytes());
    let hex: String = mac.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256={hex}")
}

/// The DingTalk robot's `sign` for `timestamp_ms` (before URL encoding).
pub fn dingtalk_sign(secret: &str, timestamp_ms: i64) -> String {
    let mac = hmac_sha256(
        secret.as_bytes(),
        format!("{timestamp_ms}\n{secret}").as_bytes(),
    );
    base64::engine::general_purpose::STANDARD.encode(mac)
}

/// The request that delivers `m` on channel `c` at `now_ms`; none when the channel does not
/// take this kind of notice.
pub fn request(
    c: &Channel,
    m: &Message,
    cal: &WorkCalendar,
    public_url: &str,
    now_ms: i64,
) -> Option<Request> {
    if !c.kinds.is_empty() && !c.kinds.contains(&m.kind) {
        return None;
    }
    let link = format!(
        "{}/console/cases/{}",
        public_url.trim_end_matches('/'),
        m.case_id
    );
    let json = "application/json".to_string();
    Some(match c.kind {
        ChannelKind::Webhook => {
            let body = serde_json::json!({
                "id": m.id,
                "kind": m.kind,
                "title": m.title(),
                "text": m.text(cal),
                "case_id": m.case_id,
                "case_no": m.case_no,
                "source": m.source,
                "category": m.category,
                "place": m.place,
                "unit": m.unit,
                "dispatched_at": rfc3339(cal, m.dispatched_ms),
                "deadline": rfc3339(cal, m.deadline_ms),
                "created_at": rfc3339(cal, Some(m.created_ms)),
                "note": m.note,
                "link": link,
            })
            .to_string();
            let ts = now_ms.div_euclid(1000);
            Request {
                url: c.url.clone(),
                headers: vec![
                    ("X-Xuncha-Event".into(), m.id.to_string()),
                    ("X-Xuncha-Timestamp".into(), ts.to_string()),
                    (
                        "X-Xuncha-Signature".into(),
                        webhook_signature(&c.secret, ts, &body),
                    ),
                ],
                content_type: json,
                body,
                errcode_zero: false,
            }
        }
        ChannelKind::Wecom => Request {
            url: c.url.clone(),
            headers: Vec::new(),
            content_type: json,
            body: serde_json::json!({
                "msgtype": "markdown",
                "markdown": { "content": cut_bytes(&markdown(m, cal, &link, true), WECOM_BYTES) },
            })
            .to_string(),
            errcode_zero: true,
        },
        ChannelKind::Dingtalk => {
            let url = if c.secret.is_empty() {
                c.url.clone()
            } else {
                let sign: String =
                    form_urlencoded::byte_serialize(dingtalk_sign(&c.secret, now_ms).as_bytes())
                        .collect();
                let sep = if c.url.contains('?') { '&' } else { '?' };
                format!("{}{sep}timestamp={now_ms}&sign={sign}", c.url)
            };
            Request {
                url,
                headers: Vec::new(),
                content_type: json,
                body: serde_json::json!({
                    "msgtype": "markdown",
                    "markdown": { "title": m.title(), "text": markdown(m, cal, &link, false) },
                    "at": { "isAtAll": false },
                })
                .to_string(),
                errcode_zero: true,
            }
        }
        ChannelKind::Sms => {
            let text: String = format!("{} {link}", m.text(cal))
                .chars()
                .take(SMS_CHARS)
                .collect();
            let escape = |s: &str| {
                let quoted = serde_json::to_string(s).unwrap_or_default();
                quoted[1..quoted.len().saturating_sub(1)].to_string()
            };
            Request {
                url: c.url.clone(),
                headers: Vec::new(),
                content_type: if c.content_type.is_empty() {
                    json
                } else {
                    c.content_type.clone()
                },
                body: c
                    .template
                    .replace("{to}", &escape(&c.to.join(",")))
                    .replace("{id}", &m.id.to_string())
                    .replace("{text}", &escape(&text)),
                errcode_zero: false,
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(kind: NoticeKind) -> Message {
        Message {
            id: uuid::Uuid::nil(),
            kind,
            case_id: uuid::Uuid::nil(),
            case_no: Some("XC2026-000012".into()),
            source: "巡查上报".into(),
            category: "0101 暴露垃圾".into(),
            place: "东门菜场".into(),
            unit: "城关街道办事处".into(),
            dispatched_ms: Some(1_796_086_800_000),
            deadline_ms: Some(1_796_101_200_000),
            note: "请今日整改".into(),
            created_ms: 1_796_101_200_000,
        }
    }

    fn channel(kind: ChannelKind) -> Channel {
        Channel {
            id: "c".into(),
            kind,
            url: "https://example.com/hook?key=k".into(),
            secret: "0123456789abcdef".into(),
            kinds: vec![],
            template: r#"{"mobiles":"{to}","content":"{text}","out_id":"{id}"}"#.into(),
            to: vec!["13800000000".into(), "13900000000".into()],
            content_type: String::new(),
        }
    }

    #[test]
    fn the_robots_get_their_own_formats() {
        let cal = WorkCalendar::default();
        let m = message(NoticeKind::Overdue);
        let wecom =
            request(&channel(ChannelKind::Wecom), &m, &cal, "https://x.cn/", 0).expect("wecom");
        let v: serde_json::Value = serde_json::from_str(&wecom.body).expect("json");
        assert_eq!(v["msgtype"], "markdown");
        let content = v["markdown"]["content"].as_str().expect("content");
        assert!(content.starts_with("### 逾期提醒\n**【逾期提醒】XC2026-000012 0101 暴露垃圾**"));
        assert!(content.contains("> 期限：12月01日 13:00"));
        assert!(content.contains(&format!(
            "[查看案件](https://x.cn/console/cases/{})",
            m.case_id
        )));
        assert!(
            content.ends_with(&format!("编号 {}</font>", m.id)),
            "the event id, to match"
        );
        let ding = request(&channel(ChannelKind::Dingtalk), &m, &cal, "https://x.cn", 5)
            .expect("dingtalk");
        let v: serde_json::Value = serde_json::from_str(&ding.body).expect("json");
        assert_eq!(v["markdown"]["title"], "逾期提醒");
        let text = v["markdown"]["text"].as_str().expect("text");
        assert!(
            text.ends_with(&format!("\n编号 {}", m.id)),
            "no colour tag: {text}"
        );
        assert_eq!(v["at"]["isAtAll"], false);
        assert!(
            ding.url
                .starts_with("https://example.com/hook?key=k&timestamp=5&sign=")
        );
        assert!(wecom.errcode_zero && ding.errcode_zero);
    }

    #[test]
    fn a_webhook_is_signed_and_an_sms_filled_in() {
        let cal = WorkCalendar::default();
        let m = message(NoticeKind::Urged);
        let hook = request(
            &channel(ChannelKind::Webhook),
            &m,
            &cal,
            "https://x.cn",
            1_700_000_000_500,
        )
        .expect("webhook");
        let ts = hook
            .headers
            .iter()
            .find(|(k, _)| k == "X-Xuncha-Timestamp")
            .map(|(_, v)| v.clone())
            .expect("timestamp");
        assert_eq!(ts, "1700000000");
        let sig = hook
            .headers
            .iter()
            .find(|(k, _)| k == "X-Xuncha-Signature")
            .map(|(_, v)| v.clone())
            .expect("signature");
        assert_eq!(
            sig,
            webhook_signature("0123456789abcdef", 1_700_000_000, &hook.body)
        );
        let v: serde_json::Value = serde_json::from_str(&hook.body).expect("json");
        assert_eq!(v["deadline"], "2026-12-01T13:00:00+08:00");
        assert_eq!(v["kind"], "urged");
        let sms = request(&channel(ChannelKind::Sms), &m, &cal, "https://x.cn", 0).expect("sms");
        let v: serde_json::Value = serde_json::from_str(&sms.body).expect("json");
        assert_eq!(v["mobiles"], "13800000000,13900000000");
        assert_eq!(
            v["out_id"],
            m.id.to_string(),
            "the gateway drops repeats by it"
        );
        assert!(
            v["content"]
                .as_str()
                .expect("text")
                .starts_with("【催办】XC2026-000012")
        );
        // A channel for some kinds only.
        let only = Channel {
            kinds: vec![NoticeKind::Overdue],
            ..channel(ChannelKind::Sms)
        };
        assert!(request(&only, &m, &cal, "https://x.cn", 0).is_none());
    }

    #[test]
    fn a_channels_file_is_checked_at_start() {
        let ok = r#"
            [[channel]]
            id = "office"
            kind = "webhook"
            url = "https://hooks.example.gov.cn/xuncha"
            secret = "a long random string"
            [[channel]]
            id = "group"
            kind = "wecom"
            url = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=K"
            kinds = ["overdue", "escalated"]
        "#;
        let c = parse_channels(ok).expect("valid");
        assert_eq!(c.len(), 2);
        assert_eq!(c[1].kinds, [NoticeKind::Overdue, NoticeKind::Escalated]);
        for bad in [
            "[[channel]]\nid = \"x\"\nkind = \"webhook\"\nurl = \"https://a.cn\"\nsecret = \"short\"",
            "[[channel]]\nid = \"x\"\nkind = \"fax\"\nurl = \"https://a.cn\"",
            "[[channel]]\nid = \"x y\"\nkind = \"wecom\"\nurl = \"https://a.cn\"",
            "[[channel]]\nid = \"x\"\nkind = \"wecom\"\nurl = \"ftp://a.cn\"",
            "[[channel]]\nid = \"x\"\nkind = \"sms\"\nurl = \"https://a.cn\"\ntemplate = \"no text\"\nto = [\"1\"]",
            "[[channel]]\nid = \"x\"\nkind = \"wecom\"\nurl = \"https://a.cn\"\nsecrte = \"typo\"",
        ] {
            assert!(parse_channels(bad).is_err(), "{bad}");
        }
    }
}
