//! Bulk actions on the user directory: `POST /agent/users/bulk` with the ticked rows (`ids`) or
//! every user the list's search matches (`scope=matching` with its `q` and `view`), an
//! `action` and its `value`. Deleting asks first on a page naming the count and the users; a
//! refusal changes nothing and says why on a page of its own. The rules are
//! [`users::bulk`]'s: one transaction, all users or none.

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::json;

use super::forms::csrf_of;
use super::record::Posted;
use super::users::agent_page;
use super::{Audience, page_for_error};
use crate::domain::{Error, UserId};
use crate::http::AppState;
use crate::services::users::{self, BulkAction, ListParams, Selection};

/// How many of the chosen users the confirmation names (the rest are counted).
const NAMED: usize = 10;

pub(super) async fn bulk(State(state): State<AppState>, request: Request) -> Response {
    let p = match Posted::read(&state, None, request).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let f = &p.form;
    let back = f.get("return_to").filter(|r| crate::oidc::safe_return_to(r)).unwrap_or("/agent/users").to_string();
    let action_raw = f.get("action").unwrap_or_default().to_string();
    let value = f.get("value").unwrap_or_default().to_string();
    let matching = f.get("scope") == Some("matching");
    let view = f.get("view").unwrap_or_default();
    // an organization's members are no search: tick them (their list shows at most 50 at once)
    let matching = matching && !view.starts_with("org:");
    let selection = if matching {
        Selection::Matching(ListParams {
            q: f.get("q").map(str::to_string),
            role: view.strip_prefix("role:").map(str::to_string),
            label: view.strip_prefix("label:").map(str::to_string),
            disabled: (view == "disabled").then(|| "true".to_string()),
            agent: (view == "agents").then(|| "true".to_string()),
            ..Default::default()
        })
    } else {
        Selection::Ids(f.all("ids").iter().filter_map(|i| i.trim().parse::<i64>().ok()).map(UserId).collect())
    };
    let answer = |status: StatusCode, ids: &[UserId], error: Option<String>, names: Vec<String>| {
        let csrf = csrf_of(&state, &p.headers);
        let mut ctx = tera::Context::new();
        ctx.insert("me", &p.me.display_name);
        ctx.insert("csrf", &csrf.0);
        ctx.insert("return_to", &back);
        ctx.insert("error", &error);
        ctx.insert("count", &ids.len());
        ctx.insert("names", &names);
        ctx.insert("more", &ids.len().saturating_sub(names.len()));
        ctx.insert(
            "posted",
            &json!({
                "ids": ids.iter().map(|i| i.0).collect::<Vec<_>>(),
                "action": action_raw, "value": value,
            }),
        );
        agent_page(&state, &p.viewer, status, "agent/bulk.html", ctx, csrf)
    };
    let refused = |e: Error, ids: &[UserId]| match e {
        Error::Invalid(fields) => answer(
            StatusCode::UNPROCESSABLE_ENTITY,
            ids,
            Some(fields.values().cloned().collect::<Vec<_>>().join(" ")),
            vec![],
        ),
        Error::Forbidden(m) => answer(StatusCode::FORBIDDEN, ids, Some(m), vec![]),
        Error::Conflict { message, .. } => answer(StatusCode::UNPROCESSABLE_ENTITY, ids, Some(message), vec![]),
        other => page_for_error(&state, Audience::Agent, &p.viewer, other),
    };
    let action = match BulkAction::parse(&action_raw, &value) {
        Ok(a) => a,
        Err(e) => return refused(e, &[]),
    };
    let ids = match users::resolve_selection(&state, &p.caller, &selection).await {
        Ok(ids) => ids,
        Err(e) => return refused(e, &[]),
    };
    // deleting asks first, naming how many and whom
    if action == BulkAction::Delete && f.get("confirm") != Some("yes") {
        if let Err(e) = p.caller.require(crate::domain::role::Permission::UsersDelete) {
            return refused(e, &ids);
        }
        let names = match users::get_many(&state, &p.caller, &ids[..ids.len().min(NAMED)]).await {
            Ok(list) => list.into_iter().map(|u| format!("{} (#{})", u.display_name, u.id.0)).collect(),
            Err(e) => return refused(e, &ids),
        };
        return answer(StatusCode::OK, &ids, None, names);
    }
    match users::bulk(&state, &p.caller, &ids, action).await {
        Ok(changed) => {
            let sep = if back.contains('?') { '&' } else { '?' };
            Redirect::to(&format!("{back}{sep}done={changed}&did={action_raw}")).into_response()
        }
        Err(e) => refused(e, &ids),
    }
}
