//! `GET /console/photos/waiting`: photos an operation named whose bytes have not come from its
//! device within [`Config::photo_arrival_grace_ms`](crate::state::Config::photo_arrival_grace_ms)
//! (a phone lost or reset before it synced its photos, or a hash named by someone who does not
//! hold the photo), for supervisors: which case, which photo, which device, since when. A case
//! waiting for its after-photos cannot be passed; the supervisor can send it back.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use maud::html;
use xuncha_core::workflow::Role;

use super::i18n::{status_label, t};
use super::pages::layout;
use super::session::Console;
use super::time::{calendar, when};
use crate::state::AppState;

/// Rows shown at most (oldest first).
const SHOWN: usize = 500;

/// The page.
pub async fn waiting_photos(
    State(state): State<AppState>,
    Console { who, session, lang }: Console,
) -> Response {
    let title = t(lang, "超时未到的照片", "Photos that never arrived");
    let cal = calendar(&state);
    if !matches!(who.user.role, Role::Supervisor | Role::Admin) {
        return layout(
            lang,
            &who,
            &session,
            title,
            html! {
                div.msg.err { (t(lang, "仅督查人员可查看。", "For supervisors only.")) }
            },
        )
        .into_response();
    }
    let before = state.now_ms() - state.config.photo_arrival_grace_ms;
    let rows = match state
        .blocking(move |s| s.waiting_photos(before, SHOWN))
        .await
    {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    let reach = state.reach(&who);
    let rows: Vec<_> = rows
        .into_iter()
        .filter(|w| reach.can_see(&w.case))
        .collect();
    let hours = state.config.photo_arrival_grace_ms / 3_600_000;
    layout(lang, &who, &session, title, html! {
        h1 { (title) }
        p.muted {
            (t(lang, "操作已提交、但照片超过", "Named by an operation, but the photo's bytes have not come for more than"))
            " " (hours) " " (t(lang, "小时仍未从提交设备上传的照片。请联系该设备的使用人同步；整改照片未到的案件不能核查通过，可退回重新整改。",
                               "hours from the device that named it. Ask its user to sync; a case waiting for its after-photos cannot be passed and can be sent back."))
        }
        @if rows.is_empty() {
            p #none { (t(lang, "没有超时未到的照片。", "No photo is overdue.")) }
        } @else {
            table.cards #waiting {
                tr {
                    th { (t(lang, "案卷号", "Case")) } th { (t(lang, "状态", "Status")) }
                    th { (t(lang, "照片", "Photo")) } th { (t(lang, "设备", "Device")) }
                    th { (t(lang, "提交时间", "Named at")) }
                }
                @for w in &rows {
                    tr {
                        td { a href=(format!("/console/cases/{}", w.case.id)) { (w.case.case_no.clone().unwrap_or_else(|| w.case.id.to_string())) } }
                        td { (status_label(lang, w.case.status)) }
                        td { (w.kind) " · " code { (&w.sha256[..12]) } }
                        td { (w.device_id) }
                        td { (when(&cal, w.named_ms)) }
                    }
                }
            }
        }
    })
    .into_response()
}
