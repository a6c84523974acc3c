//! A person's round tasks (issue 17): the sites (or cases) their teams are to check, pulled by
//! their phones with each sync; a submission goes up through `/v1/push` like any operation.

use axum::Json;
use axum::extract::State;
use xuncha_core::round::Target;
use xuncha_core::sync::protocol::TaskList;

use crate::error::ApiResult;
use crate::state::AppState;
use crate::store::Principal;

/// `GET /v1/tasks`: the caller's tasks in rounds not yet closed, with their rounds and the cases
/// their open 回头看 tasks re-check.
#[utoipa::path(get, path = "/v1/tasks", tag = "rounds", security(("bearer" = [])),
    responses((status = 200, description = "the caller's tasks (done ones too) and their rounds", body = TaskList),
              (status = 401, description = "sign in again", body = xuncha_core::sync::protocol::ApiError)))]
pub async fn list(State(state): State<AppState>, who: Principal) -> ApiResult<Json<TaskList>> {
    let user = who.user.id.clone();
    let list = state
        .blocking(move |s| {
            let mut list = TaskList {
                rounds: Vec::new(),
                tasks: Vec::new(),
                cases: Vec::new(),
            };
            for (round, task) in s.tasks_of(&user)? {
                if let Target::Case { case_id } = &task.target
                    && task.result.is_none()
                    && let Some(case) = s.case(*case_id)?
                {
                    list.cases.push(case);
                }
                if !list.rounds.iter().any(|r| r.id == round.id) {
                    list.rounds.push(round);
                }
                list.tasks.push(task);
            }
            Ok(list)
        })
        .await?;
    Ok(Json(list))
}
