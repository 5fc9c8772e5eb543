//! `/tickets`, `/chats`, `/calls`, `/surveys`: interaction records taken in from the help desk.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};

use super::AppState;
use super::auth::Caller;
use super::error::{ApiResult, ErrorBody};
use super::extract::ApiJson;
use super::users::parse_id;
use crate::domain::records::{AnyRecord, Call, Chat, RecordInput, RecordKind, Survey, Ticket};
use crate::services::records;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/tickets", post(create_ticket))
        .route("/tickets/{id}", get(get_ticket).patch(update_ticket))
        .route("/chats", post(create_chat))
        .route("/chats/{id}", get(get_chat).patch(update_chat))
        .route("/calls", post(create_call))
        .route("/calls/{id}", get(get_call).patch(update_call))
        .route("/surveys", post(create_survey))
        .route("/surveys/{id}", get(get_survey).patch(update_survey))
}

async fn create(
    state: &AppState,
    caller: &Caller,
    kind: RecordKind,
    input: RecordInput,
) -> ApiResult<(StatusCode, Json<AnyRecord>)> {
    Ok((StatusCode::CREATED, Json(records::create(state, caller, kind, input).await?)))
}

async fn read(state: &AppState, caller: &Caller, kind: RecordKind, id: &str) -> ApiResult<Json<AnyRecord>> {
    Ok(Json(records::get(state, caller, kind, parse_id(id)?).await?))
}

async fn update(
    state: &AppState,
    caller: &Caller,
    kind: RecordKind,
    id: &str,
    input: RecordInput,
) -> ApiResult<Json<AnyRecord>> {
    Ok(Json(records::update(state, caller, kind, parse_id(id)?, input).await?))
}

macro_rules! record_handlers {
    ($kind:expr, $ty:ty, $tag:literal, $base:literal, $create:ident, $get:ident, $update:ident) => {
        #[utoipa::path(post, path = $base, tag = $tag, request_body = RecordInput,
            responses((status = 201, body = $ty), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
        pub async fn $create(State(state): State<AppState>, caller: Caller, ApiJson(input): ApiJson<RecordInput>) -> ApiResult<(StatusCode, Json<AnyRecord>)> {
            create(&state, &caller, $kind, input).await
        }

        #[utoipa::path(get, path = concat!($base, "/{id}"), tag = $tag, params(("id" = i64, Path)),
            responses((status = 200, body = $ty), (status = 404, body = ErrorBody)))]
        pub async fn $get(State(state): State<AppState>, caller: Caller, Path(id): Path<String>) -> ApiResult<Json<AnyRecord>> {
            read(&state, &caller, $kind, &id).await
        }

        #[utoipa::path(patch, path = concat!($base, "/{id}"), tag = $tag, params(("id" = i64, Path)), request_body = RecordInput,
            responses((status = 200, body = $ty), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
        pub async fn $update(
            State(state): State<AppState>,
            caller: Caller,
            Path(id): Path<String>,
            ApiJson(input): ApiJson<RecordInput>,
        ) -> ApiResult<Json<AnyRecord>> {
            update(&state, &caller, $kind, &id, input).await
        }
    };
}

record_handlers!(RecordKind::Ticket, Ticket, "records", "/api/v1/tickets", create_ticket, get_ticket, update_ticket);
record_handlers!(RecordKind::Chat, Chat, "records", "/api/v1/chats", create_chat, get_chat, update_chat);
record_handlers!(RecordKind::Call, Call, "records", "/api/v1/calls", create_call, get_call, update_call);
record_handlers!(RecordKind::Survey, Survey, "records", "/api/v1/surveys", create_survey, get_survey, update_survey);
