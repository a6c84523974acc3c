//! How much a person may type and attach, and which deadlines make sense: one place, read by
//! the device (it refuses an over-long field when it is saved, and the app shows the counts
//! while the person types, from [`FIELD_LIMITS`]) and by the server (it refuses the operation
//! with the same code). Sans I/O.
//!
//! Lengths are in characters (`char`s), as a person counts them in Chinese or English.

use crate::error::{Error, Result};
use crate::model::{Case, Location, Op, OpBody, PhotoRef};

/// A case's description.
pub const DESCRIPTION_CHARS: usize = 2_000;
/// An address (of a case or of a photo's place).
pub const ADDRESS_CHARS: usize = 200;
/// A comment, reason or note.
pub const TEXT_CHARS: usize = 1_000;
/// An id an operation names: a unit, site, grid, campaign or category code.
pub const ID_CHARS: usize = 64;
/// A photo's media type (`image/jpeg`…).
pub const MIME_CHARS: usize = 32;
/// Photos one operation may carry (as many as a chat app lets a person pick at once).
pub const PHOTOS_PER_OP: usize = 9;
/// At most this many photos in one site check (a photo per deduction, a few per indicator).
pub const PHOTOS_PER_CHECK: usize = 60;
/// At most this many tasks in one round (a city's 测评 samples tens to hundreds of sites).
pub const TASKS_PER_ROUND: usize = 2_000;
/// At most this many indicators in one site check.
pub const INDICATORS_PER_CHECK: usize = 400;
/// Operations in one push (the device sends its outbox in batches of at most this many).
pub const OPS_PER_PUSH: usize = 500;
/// Notices one `POST /v1/notices/read` marks read, and one notice page holds.
pub const NOTICES_PER_READ: usize = 500;
/// Changes in one pull page.
pub const PULL_PAGE_CHANGES: usize = 1_000;
/// Bytes of one pull page: a page stops before the change that would pass this (it always
/// holds at least one change, and one change is bounded by the field limits above).
pub const PULL_PAGE_BYTES: usize = 4 * 1024 * 1024;
/// A login name.
pub const USER_ID_CHARS: usize = 64;
/// A password, in bytes (hashing cost grows with it).
pub const PASSWORD_BYTES: usize = 1_024;
/// A device id or a device's name.
pub const DEVICE_CHARS: usize = 100;
/// The largest photo file accepted (a 200-megapixel phone JPEG stays well below it).
pub const MAX_PHOTO_BYTES: u64 = 40 * 1024 * 1024;
/// The longest side of a photo, in pixels (a phone's panorama stays below it).
pub const MAX_PHOTO_SIDE: u32 = 32_768;
/// The most pixels in one photo: 200 megapixels (16384 x 12288), the largest phone sensors.
pub const MAX_PHOTO_PIXELS: u64 = 16_384 * 12_288;
/// How far ahead a deadline may be set, counted from when it is set: a year and a day.
pub const DEADLINE_HORIZON_MS: i64 = 366 * 24 * 3_600_000;
/// Most cases one console export (CSV or Excel) holds; a larger selection is refused with a
/// request to narrow the filter, never cut short silently.
pub const EXPORT_ROWS: usize = 50_000;
/// Cases per page of a console board.
pub const BOARD_PAGE: usize = 50;

/// One limit on a field, for a form to show (`0/2000`) and enforce as the person types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldLimit {
    /// The field's name in operations.
    pub field: &'static str,
    /// Most characters.
    pub max_chars: usize,
}

/// Every text field a person types into, with its limit.
pub const FIELD_LIMITS: &[FieldLimit] = &[
    FieldLimit {
        field: "description",
        max_chars: DESCRIPTION_CHARS,
    },
    FieldLimit {
        field: "address",
        max_chars: ADDRESS_CHARS,
    },
    FieldLimit {
        field: "text",
        max_chars: TEXT_CHARS,
    },
    FieldLimit {
        field: "reason",
        max_chars: TEXT_CHARS,
    },
    FieldLimit {
        field: "note",
        max_chars: TEXT_CHARS,
    },
];

/// Refuse `value` if it has more than `max` characters.
pub fn check_chars(field: &'static str, value: &str, max: usize) -> Result<()> {
    // Bytes bound chars from above: most values are decided without counting.
    if value.len() <= max || value.chars().count() <= max {
        Ok(())
    } else {
        Err(Error::TooLong { field, max })
    }
}

fn check_id(field: &'static str, value: Option<&str>) -> Result<()> {
    value.map_or(Ok(()), |v| check_chars(field, v, ID_CHARS))
}

fn check_location(loc: &Location) -> Result<()> {
    check_chars("address", &loc.address, ADDRESS_CHARS)
}

fn check_photos(photos: &[PhotoRef], max: usize) -> Result<()> {
    if photos.len() > max {
        return Err(Error::TooMany {
            field: "photos",
            max,
        });
    }
    for p in photos {
        check_chars("mime", &p.mime, MIME_CHARS)?;
        if let Some(l) = &p.location {
            check_location(l)?;
        }
    }
    Ok(())
}

/// Refuse an operation body with a field over its limit or too many photos.
pub fn check_body(body: &OpBody) -> Result<()> {
    let max_photos = match body {
        OpBody::CheckSite { .. } => PHOTOS_PER_CHECK,
        _ => PHOTOS_PER_OP,
    };
    check_photos(body.photos(), max_photos)?;
    if let Some(t) = body.text() {
        let field = match body {
            OpBody::Comment { .. } => "text",
            _ if body.reason().is_some() => "reason",
            _ => "note",
        };
        check_chars(field, t, TEXT_CHARS)?;
    }
    match body {
        OpBody::Report {
            category,
            description,
            location,
            site_id,
            grid_id,
            suggested_unit_id,
            campaign_id,
            ..
        } => {
            check_chars("description", description, DESCRIPTION_CHARS)?;
            check_location(location)?;
            check_id("category", Some(category))?;
            check_id("site_id", site_id.as_deref())?;
            check_id("grid_id", grid_id.as_deref())?;
            check_id("suggested_unit_id", suggested_unit_id.as_deref())?;
            check_id("campaign_id", campaign_id.as_deref())
        }
        OpBody::Edit { changes } => {
            if let Some(d) = &changes.description {
                check_chars("description", d, DESCRIPTION_CHARS)?;
            }
            if let Some(l) = &changes.location {
                check_location(l)?;
            }
            check_id("category", changes.category.as_deref())?;
            check_id("site_id", changes.site_id.as_deref())?;
            check_id("campaign_id", changes.campaign_id.as_deref())
        }
        OpBody::Dispatch { unit_id, .. } => check_id("unit_id", Some(unit_id)),
        OpBody::Recheck {
            position: Some(p), ..
        } => check_location(p),
        OpBody::CheckSite {
            indicators,
            position,
            ..
        } => {
            if indicators.len() > INDICATORS_PER_CHECK {
                return Err(Error::TooMany {
                    field: "indicators",
                    max: INDICATORS_PER_CHECK,
                });
            }
            if let Some(p) = position {
                check_location(p)?;
            }
            for i in indicators {
                check_id("code", Some(&i.code))?;
                check_chars("note", &i.note, TEXT_CHARS)?;
                if i.photos.len() > PHOTOS_PER_CHECK {
                    return Err(Error::TooMany {
                        field: "photos",
                        max: PHOTOS_PER_CHECK,
                    });
                }
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// The deadlines an operation sets or asks for: `(field, value)`.
fn deadlines(body: &OpBody) -> Option<(&'static str, i64)> {
    match body {
        OpBody::Dispatch { deadline_ms, .. }
        | OpBody::VerifyFail { deadline_ms, .. }
        | OpBody::Reopen { deadline_ms, .. } => deadline_ms.map(|d| ("deadline", d)),
        OpBody::RequestExtension { until_ms, .. } | OpBody::GrantExtension { until_ms, .. } => {
            until_ms.map(|d| ("until", d))
        }
        _ => None,
    }
}

/// Refuse a deadline that makes no sense: not after the problem was reported, already past
/// when it was set (the operation's own time, so an operation made offline and pushed days
/// later is judged by when the person set it), or more than `horizon_ms` after `now_ms` (the
/// server's clock on the server, the device's on the device).
pub fn check_deadline(case: Option<&Case>, op: &Op, now_ms: i64, horizon_ms: i64) -> Result<()> {
    let Some((field, deadline)) = deadlines(&op.body) else {
        return Ok(());
    };
    let reported = case.map(|c| c.server_received_at_ms.unwrap_or(c.reported_at_ms));
    let set_at = i64::try_from(op.hlc.wall_ms).unwrap_or(i64::MAX);
    let problem = if reported.is_some_and(|r| deadline <= r) {
        DeadlineProblem::BeforeReport
    } else if deadline <= set_at {
        DeadlineProblem::Past
    } else if deadline > now_ms.max(set_at).saturating_add(horizon_ms) {
        DeadlineProblem::TooFar
    } else {
        return Ok(());
    };
    Err(Error::InvalidDeadline {
        field,
        problem,
        horizon_days: horizon_ms / (24 * 3_600_000),
    })
}

/// Why a deadline was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeadlineProblem {
    /// Not after the problem was reported.
    BeforeReport,
    /// Already past when it was set.
    Past,
    /// Further ahead than the horizon.
    TooFar,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hlc::Hlc;
    use crate::model::Actor;
    use crate::workflow::Role;

    fn op(body: OpBody, at: u64) -> Op {
        Op {
            id: uuid::Uuid::nil(),
            case_id: uuid::Uuid::nil(),
            device_id: "d".into(),
            actor: Actor {
                user_id: "s".into(),
                role: Role::Supervisor,
                unit_id: None,
            },
            hlc: Hlc {
                wall_ms: at,
                counter: 0,
                node: 1,
            },
            device_time_ms: at as i64,
            body,
        }
    }

    #[test]
    fn chinese_text_counts_characters_not_bytes() {
        let ok = "井".repeat(TEXT_CHARS);
        assert!(check_chars("text", &ok, TEXT_CHARS).is_ok());
        let long = format!("{ok}盖");
        let e = check_chars("text", &long, TEXT_CHARS).expect_err("refused");
        assert_eq!(e.code(), "too_long");
    }

    #[test]
    fn every_text_of_every_body_is_bounded() {
        let long = "x".repeat(TEXT_CHARS + 1);
        let comment = OpBody::Comment {
            text: long.clone(),
            photos: vec![],
        };
        assert_eq!(
            check_body(&comment).expect_err("refused").code(),
            "too_long"
        );
        let park = OpBody::Park { reason: long };
        assert_eq!(check_body(&park).expect_err("refused").code(), "too_long");
        let photo = PhotoRef {
            sha256: "0".repeat(64),
            kind: crate::model::PhotoKind::Other,
            mime: "image/jpeg".into(),
            size: 1,
            captured_at_ms: None,
            location: None,
        };
        let many = OpBody::Comment {
            text: "ok".into(),
            photos: vec![photo; PHOTOS_PER_OP + 1],
        };
        assert_eq!(check_body(&many).expect_err("refused").code(), "too_many");
    }

    #[test]
    fn deadlines_in_a_sane_window() {
        let day = 24 * 3_600_000;
        let now = 1_800_000_000_000i64;
        let dispatch = |d: i64| {
            op(
                OpBody::Dispatch {
                    unit_id: "u".into(),
                    deadline_ms: Some(d),
                    note: String::new(),
                },
                now as u64,
            )
        };
        for bad in [-1000, 0, now - day, now, now + 400 * day, i64::MAX] {
            assert!(
                check_deadline(None, &dispatch(bad), now, DEADLINE_HORIZON_MS).is_err(),
                "{bad}"
            );
        }
        assert!(check_deadline(None, &dispatch(now + 3 * day), now, DEADLINE_HORIZON_MS).is_ok());
        // Set offline two days ago for a day after that: judged by when it was set.
        let offline = op(
            OpBody::Dispatch {
                unit_id: "u".into(),
                deadline_ms: Some(now - day),
                note: String::new(),
            },
            (now - 2 * day) as u64,
        );
        assert!(check_deadline(None, &offline, now, DEADLINE_HORIZON_MS).is_ok());
    }
}
