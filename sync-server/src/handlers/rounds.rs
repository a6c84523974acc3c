//! Inspection rounds over the API (issue 17): a person's tasks — the sites (or cases) their
//! teams are to check, pulled by their phones with each sync (a submission goes up through
//! `/v1/push` like any operation) — and, for supervisors and admins, the rounds they may see
//! with every task's result, for software that reports on them.

use axum::Json;
use axum::extract::Path as UrlPath;
use axum::extract::State;
use uuid::Uuid;
use xuncha_core::Role;
use xuncha_core::round::{Target, visible_to};
use xuncha_core::sync::protocol::{RoundDetail, RoundList, TaskList};

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::store::Principal;
use crate::store::case_list::CaseFilter;

/// `GET /v1/tasks`: the caller's tasks in rounds not yet closed, with their rounds and the cases
/// their open 回头看 tasks re-check.
#[utoipa::path(get, path = "/v1/tasks", tag = "rounds", security(("bearer" = [])),
    responses((status = 200, description = "the caller's tasks (done ones too) and their rounds", body = TaskList),
              (status = 401, description = "sign in again", body = xuncha_core::sync::protocol::ApiError)))]
pub async fn tasks(State(state): State<AppState>, who: Principal) -> ApiResult<Json<TaskList>> {
    let user = who.user.id.clone();
    let list = state
        .blocking(move |s| {
            let mut list = TaskList {
                rounds: Vec::new(),
                tasks: Vec::new(),
                cases: Vec::new(),
            };
            let mut rechecked = Vec::new();
            for (round, task) in s.tasks_of(&user)? {
                if let Target::Case { case_id } = &task.target
                    && task.result.is_none()
                {
                    rechecked.push(case_id.to_string());
                }
                if !list.rounds.iter().any(|r| r.id == round.id) {
                    list.rounds.push(round);
                }
                list.tasks.push(task);
            }
            // The re-checked cases in one query.
            if !rechecked.is_empty() {
                let n = rechecked.len();
                let only = CaseFilter {
                    only: Some(rechecked),
                    ..CaseFilter::default()
                };
                list.cases = s.list_cases(&only, 0, n)?;
            }
            Ok(list)
        })
        .await?;
    Ok(Json(list))
}

/// The rounds a list answers with at most.
const ROUNDS_LISTED: usize = 200;

fn office(who: &Principal) -> ApiResult<()> {
    if matches!(who.user.role, Role::Supervisor | Role::Admin) {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            "not_allowed",
            "巡查轮次仅督查人员和管理员可查看",
            "rounds are for supervisors and admins",
        ))
    }
}

/// `GET /v1/rounds`: the rounds the caller may see, newest first (at most 200).
#[utoipa::path(get, path = "/v1/rounds", tag = "rounds", security(("bearer" = [])),
    responses((status = 200, description = "the rounds of the caller's reach, newest first", body = RoundList),
              (status = 401, description = "sign in again", body = xuncha_core::sync::protocol::ApiError),
              (status = 403, description = "not a supervisor or an admin", body = xuncha_core::sync::protocol::ApiError)))]
pub async fn rounds(State(state): State<AppState>, who: Principal) -> ApiResult<Json<RoundList>> {
    office(&who)?;
    let reach = state.reach(&who);
    let rounds = state
        .blocking(move |s| s.rounds(ROUNDS_LISTED))
        .await?
        .into_iter()
        .filter(|r| visible_to(r, &reach))
        .collect();
    Ok(Json(RoundList { rounds }))
}

/// `GET /v1/rounds/{id}`: a round with its tasks and their results.
#[utoipa::path(get, path = "/v1/rounds/{id}", tag = "rounds", security(("bearer" = [])),
    params(("id" = String, Path, description = "the round's id (UUID)")),
    responses((status = 200, description = "the round, its tasks in planning order and their results", body = RoundDetail),
              (status = 401, description = "sign in again", body = xuncha_core::sync::protocol::ApiError),
              (status = 403, description = "not a supervisor or an admin", body = xuncha_core::sync::protocol::ApiError),
              (status = 404, description = "no such round in the caller's reach", body = xuncha_core::sync::protocol::ApiError)))]
pub async fn round(
    State(state): State<AppState>,
    who: Principal,
    UrlPath(id): UrlPath<String>,
) -> ApiResult<Json<RoundDetail>> {
    office(&who)?;
    let missing = || ApiError::not_found("该轮次", "the round");
    let id: Uuid = id.trim().parse().map_err(|_| missing())?;
    let reach = state.reach(&who);
    let found = state.blocking(move |s| s.round(id)).await?;
    match found {
        Some((round, tasks)) if visible_to(&round, &reach) => {
            Ok(Json(RoundDetail { round, tasks }))
        }
        _ => Err(missing()),
    }
}
