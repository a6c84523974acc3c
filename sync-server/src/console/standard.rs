//! The 测评 standard in the console (issue 17). Supervisors and admins read the city's
//! indicators by site type, each rule in core's words; an administrator (core's
//! `standard::may_import`) downloads the Excel template holding the current standard and uploads
//! a filled one (or a JSON list). The upload goes through the same import as the CLI's
//! `import-standard` (`standard_sheet::import`): a wrong row is named and nothing changes.

use axum::extract::multipart::Multipart;
use axum::extract::{FromRequest, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::html;
use xuncha_core::reference::ReferenceData;
use xuncha_core::standard::may_import;

use super::exports::{XLSX, attachment, export_failed};
use super::i18n::{Lang, t};
use super::pages::{category_name, layout};
use super::session::{Console, Session, csrf_for, forged};
use crate::state::AppState;
use crate::store::Principal;

/// The 403 page for anyone outside the office.
fn office_only(lang: Lang, who: &Principal, session: &Session) -> Option<Response> {
    super::pages::office_only(
        lang,
        who,
        session,
        (
            "测评标准仅督查人员和管理员可查看。",
            "The standard is for supervisors and admins.",
        ),
    )
}

/// `GET /console/standard`: the indicators by site type.
pub async fn page(
    State(state): State<AppState>,
    Console { who, session, lang }: Console,
) -> Response {
    if let Some(denied) = office_only(lang, &who, &session) {
        return denied;
    }
    render(&state, &who, &session, lang, None, StatusCode::OK).await
}

/// `GET /console/standard/template.xlsx`: the template holding the city's current standard.
pub async fn template(
    State(state): State<AppState>,
    Console { who, session, lang }: Console,
) -> Response {
    if let Some(denied) = office_only(lang, &who, &session) {
        return denied;
    }
    let data = match state.blocking(|s| Ok(s.reference()?.1)).await {
        Ok(d) => d,
        Err(e) => return e.into_response(),
    };
    match crate::standard_sheet::template(&data.standard) {
        Ok(bytes) => attachment(XLSX, "xuncha-standard.xlsx", bytes),
        Err(e) => export_failed(&e),
    }
}

/// `POST /console/standard` (multipart: `csrf`, `file`): replace the standard (admins only).
pub async fn upload(
    State(state): State<AppState>,
    Console { who, session, lang }: Console,
    req: Request,
) -> Response {
    if !may_import(who.user.role, &state.reach(&who)) {
        let why = (
            "只有管理员可以导入测评标准。",
            "Only an administrator may import the standard.",
        );
        return super::pages::office_only(lang, &who, &session, why).unwrap_or_else(|| {
            (StatusCode::FORBIDDEN, t(lang, why.0, why.1).to_string()).into_response()
        });
    }
    let form = read_form(&state, req).await;
    if let Some((csrf, _)) = &form
        && *csrf != csrf_for(&session)
    {
        return forged(lang);
    }
    let file = match form {
        Some((_, file)) if !file.is_empty() => file,
        missing => {
            let m = if missing.is_none() {
                t(
                    lang,
                    "表单无效或文件太大。",
                    "Not a valid form, or the file is too large.",
                )
            } else {
                t(lang, "请选择要导入的文件。", "Choose a file to import.")
            };
            let said = Some((false, m.to_string()));
            return render(&state, &who, &session, lang, said, StatusCode::BAD_REQUEST).await;
        }
    };
    let by = who.user.id.clone();
    let done = state
        .blocking(move |s| {
            Ok(crate::standard_sheet::parse(&file)
                .and_then(|standard| crate::standard_sheet::import(s, standard, lang)))
        })
        .await;
    let (message, status) = match done {
        Ok(Ok(d)) => {
            tracing::info!(by = %by, indicators = d.after, version = d.version, "standard imported in the console");
            let m = match lang {
                Lang::ZhCn => format!(
                    "测评标准已导入：{} 项指标（原 {} 项），基础数据版本 {}；手机下次同步时收到。",
                    d.after, d.before, d.version
                ),
                Lang::En => format!(
                    "Standard imported: {} indicators (was {}), reference data version {}; phones get it on their next sync.",
                    d.after, d.before, d.version
                ),
            };
            ((true, m), StatusCode::OK)
        }
        Ok(Err(why)) => {
            let m = format!(
                "{}{why}",
                t(
                    lang,
                    "未导入，标准未改变：",
                    "Not imported, nothing changed: "
                )
            );
            ((false, m), StatusCode::UNPROCESSABLE_ENTITY)
        }
        Err(e) => return e.into_response(),
    };
    render(&state, &who, &session, lang, Some(message), status).await
}

/// The upload's `csrf` and `file` fields; `None` for a body that is not such a form or is over
/// the size limit.
async fn read_form(state: &AppState, req: Request) -> Option<(String, Vec<u8>)> {
    let mut parts = Multipart::from_request(req, state).await.ok()?;
    let (mut csrf, mut file) = (String::new(), Vec::new());
    while let Some(field) = parts.next_field().await.ok()? {
        let name = field.name().unwrap_or_default().to_string();
        let bytes = field.bytes().await.ok()?;
        match name.as_str() {
            "csrf" => csrf = String::from_utf8_lossy(&bytes).into_owned(),
            "file" => file = bytes.to_vec(),
            _ => {}
        }
    }
    Some((csrf, file))
}

/// The page, with what an upload did.
async fn render(
    state: &AppState,
    who: &Principal,
    session: &Session,
    lang: Lang,
    message: Option<(bool, String)>,
    status: StatusCode,
) -> Response {
    let loaded = state.blocking(|s| Ok(s.reference()?.1)).await;
    let data = match loaded {
        Ok(d) => d,
        Err(e) => return e.into_response(),
    };
    let title = t(lang, "测评标准", "Inspection standard");
    let body = html! {
        h1 { (title) " (" (data.standard.len()) ")" }
        @if let Some((ok, m)) = &message { div.msg.ok[*ok].err[!*ok] #message role="status" { (m) } }
        p {
            a href="/console/standard/template.xlsx" { (t(lang, "下载 Excel 模板（含现行标准）", "Download the Excel template (with the current standard)")) }
        }
        @if may_import(who.user.role, &state.reach(who)) {
            form.upload method="post" action="/console/standard" enctype="multipart/form-data" {
                input type="hidden" name="csrf" value=(csrf_for(session));
                label {
                    (t(lang, "导入填好的模板（.xlsx）或 JSON", "Import a filled template (.xlsx) or JSON")) " "
                    input type="file" name="file" required accept=".xlsx,.json,application/json,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
                }
                " "
                button type="submit" { (t(lang, "导入（替换现行标准）", "Import (replaces the standard)")) }
            }
        }
        (by_site_type(&data, lang))
    };
    (status, layout(lang, who, session, title, body)).into_response()
}

/// One table per site type, in the order they first appear, with its points in all.
fn by_site_type(data: &ReferenceData, lang: Lang) -> maud::Markup {
    let mut types: Vec<&str> = Vec::new();
    for ind in &data.standard {
        for ty in &ind.site_types {
            if !types.contains(&ty.as_str()) {
                types.push(ty);
            }
        }
    }
    html! {
        @if types.is_empty() {
            p.muted { (t(lang, "尚未导入测评标准。", "No standard has been imported yet.")) }
        }
        @for ty in &types {
            @let rows: Vec<_> = data.standard.iter().filter(|i| i.site_types.iter().any(|s| s == ty)).collect();
            @let points: f64 = rows.iter().map(|i| i.points).sum();
            h2 { (ty) " · " (rows.len()) (t(lang, " 项，共 ", " indicators, ")) (points) (t(lang, " 分", " points")) }
            table.cards {
                tr {
                    th { (t(lang, "编码", "Code")) } th { (t(lang, "检查内容", "What is checked")) }
                    th { (t(lang, "分值", "Points")) } th { (t(lang, "计分方式", "Scoring")) }
                    th { (t(lang, "问题类别", "Case category")) }
                }
                @for i in &rows {
                    tr {
                        td { (i.code) } td { (i.text) } td { (i.points) }
                        td { (i.rule.describe(lang)) }
                        td { @match &i.category { Some(c) => (category_name(data, c)), None => (t(lang, "仅计分", "scored only")) } }
                    }
                }
            }
        }
    }
}
