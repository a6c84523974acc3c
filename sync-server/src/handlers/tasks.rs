//! A person's round tasks (issue 17): the sites (or cases) their teams are to check, pulled by
//! their phones with each sync; a submission goes up through `/v1/push` like any operation.

use axum::Json;
use axum::extract::State;
use xuncha_core::sync::protocol::TaskList;

use crate::error::ApiResult;
use crate::state::AppState;
use crate::store::Principal;

/// `GET /v1/tasks`: the caller's tasks in rounds not yet closed, with their rounds.
#[utoipa::path(get, path = "/v1/tasks", tag = "rounds", security(("bearer" = [])),
    responses((status = 200, description = "the caller's tasks (done ones too) and their rounds", body = TaskList),
              (status = 401, description = "sign in again", body = xuncha_core::sync::protocol::ApiError)))]
pub async fn list(State(state): State<AppState>, who: Principal) -> ApiResult<Json<TaskList>> {
    let user = who.user.id.clone();
    let pairs = state.blocking(move |s| s.tasks_of(&user)).await?;
    let mut rounds: Vec<xuncha_core::round::Round> = Vec::new();
    let mut tasks = Vec::with_capacity(pairs.len());
    for (round, task) in pairs {
        if !rounds.iter().any(|r| r.id == round.id) {
            rounds.push(round);
        }
        tasks.push(task);
    }
    Ok(Json(TaskList { rounds, tasks }))
}
