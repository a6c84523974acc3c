//! The one error type of `xuncha-core`: every failure has a stable code (for programs and the
//! sync protocol) and a message in zh-CN and English (for people).

use crate::workflow::{Action, Requirement, Role, Status};

/// Result alias used throughout the core.
pub type Result<T, E = Error> = std::result::Result<T, E>;

pub use crate::i18n::Lang;

/// Everything that can go wrong in the core. `code()` is stable; messages may improve.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The action is not in the transition table for this state and role.
    #[error("{}", self.message(Lang::ZhCn))]
    IllegalTransition {
        /// Current state (`None` for a case that does not exist yet).
        state: Option<Status>,
        /// The attempted action.
        action: Action,
        /// The actor's role.
        role: Role,
    },
    /// The transition is legal but something it needs is missing.
    #[error("{}", self.message(Lang::ZhCn))]
    RequirementMissing {
        /// The attempted action.
        action: Action,
        /// What is missing.
        requirement: Requirement,
    },
    /// The case belongs to someone else's scope (another unit, another reporter).
    #[error("{}", self.message(Lang::ZhCn))]
    NotInScope {
        /// The case concerned.
        case_id: String,
    },
    /// A supervisor scoped to an area dispatched to a unit of another area.
    #[error("{}", self.message(Lang::ZhCn))]
    UnitOutOfArea {
        /// The unit named.
        unit_id: String,
    },
    /// A required field was missing or blank.
    #[error("{}", self.message(Lang::ZhCn))]
    MissingField(&'static str),
    /// A field had a value that cannot be accepted.
    #[error("{}", self.message(Lang::ZhCn))]
    InvalidField {
        /// Field name.
        field: &'static str,
        /// Why it was refused (English, short).
        reason: String,
    },
    /// A text longer than its limit ([`crate::limits`]).
    #[error("{}", self.message(Lang::ZhCn))]
    TooLong {
        /// Field name.
        field: &'static str,
        /// Most characters allowed.
        max: usize,
    },
    /// More items than allowed (photos on one operation, operations in one push).
    #[error("{}", self.message(Lang::ZhCn))]
    TooMany {
        /// Field name.
        field: &'static str,
        /// Most allowed.
        max: usize,
    },
    /// A deadline outside the sane window ([`crate::limits::check_deadline`]).
    #[error("{}", self.message(Lang::ZhCn))]
    InvalidDeadline {
        /// `deadline` or `until`.
        field: &'static str,
        /// What is wrong with it.
        problem: crate::limits::DeadlineProblem,
        /// The horizon, in days.
        horizon_days: i64,
    },
    /// An operation stamped further ahead of the server's clock than it allows: the device
    /// re-stamps it with its corrected clock and pushes it again.
    #[error("{}", self.message(Lang::ZhCn))]
    ClockAhead {
        /// How far ahead, in ms.
        ahead_ms: i64,
    },
    /// A category code that is not `大类2+小类2` digits.
    #[error("{}", self.message(Lang::ZhCn))]
    InvalidCategoryCode(String),
    /// A well-formed category code that is not in the taxonomy.
    #[error("{}", self.message(Lang::ZhCn))]
    UnknownCategory(String),
    /// Coordinates outside WGS-84 ranges or not finite.
    #[error("{}", self.message(Lang::ZhCn))]
    InvalidCoordinates {
        /// Latitude given.
        lat: f64,
        /// Longitude given.
        lon: f64,
    },
    /// A role name that is not one of inspector, supervisor, unit_staff, admin.
    #[error("{}", self.message(Lang::ZhCn))]
    UnknownRole(String),
    /// A reference (unit, site, user, campaign, case) that does not exist.
    #[error("{}", self.message(Lang::ZhCn))]
    NotFound {
        /// What kind of thing: "unit", "site", "case", …
        kind: &'static str,
        /// The id looked for.
        id: String,
    },
    /// A case with this id exists already.
    #[error("{}", self.message(Lang::ZhCn))]
    CaseExists(String),
    /// A photo file that does not exist or cannot be read.
    #[error("{}", self.message(Lang::ZhCn))]
    PhotoNotFound(String),
    /// Bytes that are not a JPEG, PNG, WebP or HEIC image.
    #[error("{}", self.message(Lang::ZhCn))]
    UnsupportedPhoto,
    /// Bytes of an accepted type that are cut short or malformed ([`crate::store::photo_format`]).
    #[error("{}", self.message(Lang::ZhCn))]
    PhotoDamaged(&'static str),
    /// A photo with more pixels than [`crate::limits::MAX_PHOTO_PIXELS`] or a side longer than
    /// [`crate::limits::MAX_PHOTO_SIDE`].
    #[error("{}", self.message(Lang::ZhCn))]
    PhotoTooManyPixels {
        /// Width the file claims.
        width: u32,
        /// Height the file claims.
        height: u32,
    },
    /// A photo named by hash that is not in the store.
    #[error("{}", self.message(Lang::ZhCn))]
    PhotoMissing(String),
    /// No user is signed in on this store.
    #[error("{}", self.message(Lang::ZhCn))]
    NotSignedIn,
    /// The database was written by a newer version of Xuncha.
    #[error("{}", self.message(Lang::ZhCn))]
    SchemaTooNew {
        /// Version found in the file.
        found: i64,
        /// Newest version this code knows.
        supported: i64,
    },
    /// Reference data JSON that cannot be loaded.
    #[error("{}", self.message(Lang::ZhCn))]
    InvalidReferenceData(String),
    /// The server could not be reached (no signal, timeout, connection cut, 5xx): retry later.
    #[error("{}", self.message(Lang::ZhCn))]
    Network(String),
    /// The device has no valid token: the user must sign in again. Nothing pending is lost.
    #[error("{}", self.message(Lang::ZhCn))]
    AuthRequired,
    /// The server refused the request.
    #[error("{}", self.message(Lang::ZhCn))]
    Server {
        /// HTTP status.
        status: u16,
        /// The server's stable code.
        code: String,
        /// The server's message (zh-CN).
        message: String,
        /// The server's message (English).
        message_en: String,
    },
    /// The server does not speak this app's sync protocol.
    #[error("{}", self.message(Lang::ZhCn))]
    ProtocolUnsupported,
    /// No server is configured on this device.
    #[error("{}", self.message(Lang::ZhCn))]
    NotConfigured,
    /// The operation was cancelled; what was done before stays done.
    #[error("{}", self.message(Lang::ZhCn))]
    Cancelled,
    /// SQLite failed.
    #[error("{}", self.message(Lang::ZhCn))]
    Storage(#[from] rusqlite::Error),
    /// A server's database (PostgreSQL) refused or failed a statement.
    #[error("{}", self.message(Lang::ZhCn))]
    Database(String),
    /// A server's database or photo store cannot be reached right now (retry later).
    #[error("{}", self.message(Lang::ZhCn))]
    StorageUnavailable(String),
    /// A schema migration failed.
    #[error("{}", self.message(Lang::ZhCn))]
    Migration(#[from] rusqlite_migration::Error),
    /// File system failure.
    #[error("{}", self.message(Lang::ZhCn))]
    Io(#[from] std::io::Error),
    /// JSON that cannot be decoded.
    #[error("{}", self.message(Lang::ZhCn))]
    Json(#[from] serde_json::Error),
    /// A rule of inspection rounds refused it (`round.rs`: its own stable codes).
    #[error("{}", self.message(Lang::ZhCn))]
    Round(#[from] crate::round::Refusal),
}

impl Error {
    /// Stable machine-readable code, shared by the FFI and the sync protocol.
    pub fn code(&self) -> &'static str {
        match self {
            Error::IllegalTransition { .. } => "illegal_transition",
            Error::RequirementMissing { .. } => "requirement_missing",
            Error::NotInScope { .. } => "not_in_scope",
            Error::UnitOutOfArea { .. } => "unit_out_of_area",
            Error::MissingField(_) => "missing_field",
            Error::InvalidField { .. } => "invalid_field",
            Error::TooLong { .. } => "too_long",
            Error::TooMany { .. } => "too_many",
            Error::InvalidDeadline { .. } => "invalid_deadline",
            Error::ClockAhead { .. } => crate::sync::protocol::CLOCK_AHEAD,
            Error::InvalidCategoryCode(_) => "invalid_category_code",
            Error::UnknownCategory(_) => "unknown_category",
            Error::InvalidCoordinates { .. } => "invalid_coordinates",
            Error::UnknownRole(_) => "unknown_role",
            Error::NotFound { .. } => "not_found",
            Error::CaseExists(_) => "case_exists",
            Error::PhotoNotFound(_) => "photo_not_found",
            Error::UnsupportedPhoto => "unsupported_photo_type",
            Error::PhotoDamaged(_) => "photo_damaged",
            Error::PhotoTooManyPixels { .. } => "photo_too_many_pixels",
            Error::PhotoMissing(_) => "photo_missing",
            Error::NotSignedIn => "not_signed_in",
            Error::SchemaTooNew { .. } => "schema_too_new",
            Error::InvalidReferenceData(_) => "invalid_reference_data",
            Error::Network(_) => "network",
            Error::AuthRequired => "auth_required",
            Error::Server { .. } => "server_refused",
            Error::ProtocolUnsupported => "protocol_unsupported",
            Error::NotConfigured => "not_configured",
            Error::Cancelled => "cancelled",
            Error::Storage(_) | Error::Migration(_) | Error::Database(_) => "storage",
            Error::StorageUnavailable(_) => "storage_unavailable",
            Error::Io(_) => "io",
            Error::Json(_) => "invalid_json",
            Error::Round(r) => r.code(),
        }
    }

    /// True for errors caused by the caller's input (as opposed to the device or a bug).
    pub fn is_user_error(&self) -> bool {
        !matches!(
            self,
            Error::Storage(_)
                | Error::Migration(_)
                | Error::Database(_)
                | Error::StorageUnavailable(_)
                | Error::Io(_)
                | Error::Network(_)
        )
    }

    /// A message for a person, in the requested language.
    pub fn message(&self, lang: Lang) -> String {
        let zh = lang == Lang::ZhCn;
        match self {
            Error::IllegalTransition {
                state,
                action,
                role,
            } => {
                let (sz, se) = match state {
                    Some(s) => (s.label_zh(), s.as_str()),
                    None => ("新案件", "new"),
                };
                if zh {
                    format!(
                        "当前状态「{sz}」下，{}不能执行「{}」",
                        role.label_zh(),
                        action.label_zh()
                    )
                } else {
                    format!(
                        "a {} may not '{}' a case in state '{se}'",
                        role.as_str(),
                        action.as_str()
                    )
                }
            }
            Error::RequirementMissing {
                action,
                requirement,
            } => {
                if zh {
                    format!("「{}」需要{}", action.label_zh(), requirement.label_zh())
                } else {
                    format!("'{}' requires {}", action.as_str(), requirement.label_en())
                }
            }
            Error::NotInScope { case_id } => {
                if zh {
                    format!("案件 {case_id} 不属于您的处理范围")
                } else {
                    format!("case {case_id} is outside your scope")
                }
            }
            Error::UnitOutOfArea { unit_id } => {
                if zh {
                    format!("单位 {unit_id} 不属于您所辖区域，只能派遣给本区域或全市性单位")
                } else {
                    format!(
                        "unit {unit_id} is outside your area: dispatch to a unit of your area or a city-wide one"
                    )
                }
            }
            Error::MissingField(f) => {
                if zh {
                    format!("缺少必填项：{f}")
                } else {
                    format!("required field missing: {f}")
                }
            }
            Error::InvalidField { field, reason } => {
                if zh {
                    format!("字段 {field} 的值无效：{reason}")
                } else {
                    format!("invalid value for {field}: {reason}")
                }
            }
            Error::TooLong { field, max } => {
                if zh {
                    format!("{} 过长：最多 {max} 个字", field_zh(field))
                } else {
                    format!("{field} is too long: at most {max} characters")
                }
            }
            Error::TooMany { field, max } => {
                if zh {
                    format!("{} 过多：最多 {max} 个", field_zh(field))
                } else {
                    format!("too many {field}: at most {max}")
                }
            }
            Error::InvalidDeadline {
                field,
                problem,
                horizon_days,
            } => {
                use crate::limits::DeadlineProblem as P;
                let what = if *field == "until" {
                    ("申请的新期限", "the requested deadline")
                } else {
                    ("整改期限", "the deadline")
                };
                match (problem, zh) {
                    (P::BeforeReport, true) => format!("{}须晚于问题上报时间", what.0),
                    (P::BeforeReport, false) => {
                        format!("{} must be after the problem was reported", what.1)
                    }
                    (P::Past, true) => format!("{}已过，请选择以后的时间", what.0),
                    (P::Past, false) => format!("{} is in the past; choose a later time", what.1),
                    (P::TooFar, true) => {
                        format!("{}不能超过 {horizon_days} 天之后", what.0)
                    }
                    (P::TooFar, false) => {
                        format!("{} may be at most {horizon_days} days ahead", what.1)
                    }
                }
            }
            Error::ClockAhead { ahead_ms } => {
                let minutes = ahead_ms / 60_000;
                if zh {
                    format!("设备时钟比服务器快约 {minutes} 分钟，已按校正后的时间重新记录并提交")
                } else {
                    format!(
                        "the device clock is about {minutes} min ahead of the server; re-stamp with the corrected clock and push again"
                    )
                }
            }
            Error::InvalidCategoryCode(c) => {
                if zh {
                    format!("问题类别编码「{c}」格式错误，应为 4 位数字（大类2位+小类2位）")
                } else {
                    format!(
                        "category code '{c}' is malformed: expected 4 digits (class + subclass)"
                    )
                }
            }
            Error::UnknownCategory(c) => {
                if zh {
                    format!("问题类别「{c}」不存在")
                } else {
                    format!("unknown category '{c}'")
                }
            }
            Error::InvalidCoordinates { lat, lon } => {
                if zh {
                    format!("坐标无效（纬度 {lat}，经度 {lon}）：纬度应在 ±90、经度应在 ±180 之间")
                } else {
                    format!(
                        "invalid coordinates (lat {lat}, lon {lon}): lat must be within ±90, lon within ±180"
                    )
                }
            }
            Error::UnknownRole(r) => {
                if zh {
                    format!("未知角色「{r}」（可选：inspector、supervisor、unit_staff、admin）")
                } else {
                    format!(
                        "unknown role '{r}' (expected inspector, supervisor, unit_staff or admin)"
                    )
                }
            }
            Error::NotFound { kind, id } => {
                if zh {
                    format!("找不到{}「{id}」", kind_zh(kind))
                } else {
                    format!("{kind} '{id}' not found")
                }
            }
            Error::CaseExists(id) => {
                if zh {
                    format!("案件 {id} 已存在")
                } else {
                    format!("case {id} already exists")
                }
            }
            Error::PhotoNotFound(p) => {
                if zh {
                    format!("照片文件不存在或无法读取：{p}")
                } else {
                    format!("photo file does not exist or cannot be read: {p}")
                }
            }
            Error::UnsupportedPhoto => {
                if zh {
                    "照片格式不支持：只接受 JPEG、PNG、WebP、HEIC 图片".to_string()
                } else {
                    "unsupported photo: only JPEG, PNG, WebP and HEIC images are accepted"
                        .to_string()
                }
            }
            Error::PhotoDamaged(why) => {
                if zh {
                    format!("照片文件已损坏或不完整，请重新拍摄或重新选择（{why}）")
                } else {
                    format!(
                        "the photo file is damaged or incomplete; take or pick it again ({why})"
                    )
                }
            }
            Error::PhotoTooManyPixels { width, height } => {
                let (side, mp) = (
                    crate::limits::MAX_PHOTO_SIDE,
                    crate::limits::MAX_PHOTO_PIXELS / 1_000_000,
                );
                if zh {
                    format!(
                        "照片 {width}×{height} 像素过大：最长边不超过 {side}，总像素不超过 {mp} 百万"
                    )
                } else {
                    format!(
                        "the photo is {width}x{height} pixels: at most {side} on a side and {mp} megapixels"
                    )
                }
            }
            Error::PhotoMissing(h) => {
                if zh {
                    format!("照片 {h} 尚未导入本机")
                } else {
                    format!("photo {h} is not in this store")
                }
            }
            Error::NotSignedIn => {
                if zh {
                    "尚未登录".to_string()
                } else {
                    "no user is signed in".to_string()
                }
            }
            Error::SchemaTooNew { found, supported } => {
                if zh {
                    format!(
                        "数据文件由更新版本的应用写入（版本 {found}，本应用支持到 {supported}），请升级应用；数据未被改动"
                    )
                } else {
                    format!(
                        "the data file was written by a newer app (schema {found}, this app supports up to {supported}); update the app — nothing was changed"
                    )
                }
            }
            Error::InvalidReferenceData(m) => {
                if zh {
                    format!("基础数据无效：{m}")
                } else {
                    format!("invalid reference data: {m}")
                }
            }
            Error::Network(e) => {
                if zh {
                    format!("网络不可用或服务器无响应，稍后会自动重试：{e}")
                } else {
                    format!("network unavailable or server not answering, will retry: {e}")
                }
            }
            Error::AuthRequired => {
                if zh {
                    "登录已过期，请重新登录；未同步的记录都已保留".to_string()
                } else {
                    "please sign in again; everything not yet synced is kept".to_string()
                }
            }
            Error::Server {
                status,
                code,
                message,
                message_en,
            } => {
                if zh {
                    format!("服务器拒绝了请求（{status} {code}）：{message}")
                } else {
                    format!("the server refused the request ({status} {code}): {message_en}")
                }
            }
            Error::ProtocolUnsupported => {
                if zh {
                    "服务器不支持本应用的同步协议，请更新应用".to_string()
                } else {
                    "the server does not support this app's sync protocol; update the app"
                        .to_string()
                }
            }
            Error::NotConfigured => {
                if zh {
                    "尚未设置服务器地址".to_string()
                } else {
                    "no server address is set".to_string()
                }
            }
            Error::Cancelled => {
                if zh {
                    "已取消；已完成的部分已保存".to_string()
                } else {
                    "cancelled; what was done is kept".to_string()
                }
            }
            Error::Storage(e) => {
                if zh {
                    format!("本地数据库错误：{e}")
                } else {
                    format!("local database error: {e}")
                }
            }
            Error::Database(e) => {
                if zh {
                    format!("数据库错误：{e}")
                } else {
                    format!("database error: {e}")
                }
            }
            Error::StorageUnavailable(what) => {
                if zh {
                    format!("存储暂时不可用，请稍后重试（{what}）")
                } else {
                    format!("storage is unavailable right now; try again shortly ({what})")
                }
            }
            Error::Migration(e) => {
                if zh {
                    format!("数据库升级失败：{e}")
                } else {
                    format!("database migration failed: {e}")
                }
            }
            Error::Io(e) => {
                if zh {
                    format!("文件读写错误：{e}")
                } else {
                    format!("file error: {e}")
                }
            }
            Error::Json(e) => {
                if zh {
                    format!("JSON 格式错误：{e}")
                } else {
                    format!("malformed JSON: {e}")
                }
            }
            Error::Round(r) => r.message(lang),
        }
    }
}

fn field_zh(field: &str) -> &'static str {
    match field {
        "description" => "问题描述",
        "address" => "地址",
        "text" => "评论",
        "reason" => "理由",
        "note" => "说明",
        "photos" => "照片",
        "ops" => "操作",
        "unit_id" => "责任单位",
        "site_id" => "点位",
        "grid_id" => "网格",
        "campaign_id" => "专项行动",
        "category" => "问题类别",
        _ => "字段",
    }
}

fn kind_zh(kind: &str) -> &'static str {
    match kind {
        "unit" => "责任单位",
        "site" => "点位",
        "case" => "案件",
        "user" => "用户",
        "campaign" => "专项行动",
        "grid" => "网格",
        _ => "对象",
    }
}

impl From<crate::store::ImageProblem> for Error {
    fn from(p: crate::store::ImageProblem) -> Self {
        use crate::store::ImageProblem;
        match p {
            ImageProblem::NotAnImage => Error::UnsupportedPhoto,
            ImageProblem::Damaged(why) => Error::PhotoDamaged(why),
            ImageProblem::TooManyPixels { width, height } => {
                Error::PhotoTooManyPixels { width, height }
            }
        }
    }
}
