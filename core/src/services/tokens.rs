//! API tokens: everyone lists, creates and revokes their own; holders of `settings_manage`
//! (administrators) anyone's. A token is shown once, at creation; only its SHA-256 is kept.
//! A revoked or expired token is refused at the next request.

use serde::Serialize;

use super::Caller;
use crate::app::App;
use crate::auth::{new_token, token_hash};
use crate::clock::{Millis, Timestamp};
use crate::domain::role::Permission;
use crate::domain::{Error, Result, UserId};
use crate::store::{ApiToken, TokenKind};

/// Live tokens one user may hold.
const MAX_LIVE_TOKENS: usize = 100;

/// A token just created: the only time its secret is seen.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct NewToken {
    pub id: i64,
    pub name: String,
    /// Send as `Authorization: Bearer <token>`; shown only now.
    pub token: String,
    pub created_at: Timestamp,
    pub expires_at: Option<Timestamp>,
}

/// When a token made `now` to last `days` (1 to 3650) expires; `None` never.
pub fn expiry(now: Millis, days: Option<i64>) -> Result<Option<Millis>> {
    match days {
        None => Ok(None),
        Some(d) if (1..=3650).contains(&d) => Ok(Some(now + d * 86_400_000)),
        Some(_) => Err(Error::invalid("expires_in_days", "must be a whole number from 1 to 3650")),
    }
}

/// Whose tokens a caller asks about: their own, or (an administrator) `user`'s / everyone's.
fn whose(caller: &Caller, user: Option<UserId>, all: bool) -> Result<Option<UserId>> {
    let admin = caller.has(Permission::SettingsManage);
    match (user, all) {
        (Some(u), _) if u == caller.id => Ok(Some(u)),
        (Some(u), _) if admin => Ok(Some(u)),
        (None, true) if admin => Ok(None),
        (None, false) => Ok(Some(caller.id)),
        _ => Err(Error::Forbidden("other people's tokens need the `settings_manage` permission".into())),
    }
}

/// The tokens of the caller, or of `user` / everyone for an administrator, newest first.
pub async fn list(app: &App, caller: &Caller, user: Option<UserId>, all: bool) -> Result<Vec<ApiToken>> {
    let user = whose(caller, user, all)?;
    app.store.list_api_tokens(user).await
}

/// Creates a token for the caller (or, for an administrator, for `user`): a name of at most
/// 100 characters, and optionally an expiry 1 to 3650 days away.
pub async fn create(
    app: &App,
    caller: &Caller,
    user: Option<UserId>,
    name: &str,
    expires_in_days: Option<i64>,
) -> Result<NewToken> {
    let owner = whose(caller, user, false)?.unwrap_or(caller.id);
    let name = name.trim();
    if name.chars().count() > 100 {
        return Err(Error::invalid("name", "too long (at most 100 characters)"));
    }
    let expires_at = expiry(app.store.now(), expires_in_days)?;
    app.store.get_user(owner).await?;
    let live = app.store.list_api_tokens(Some(owner)).await?.iter().filter(|t| t.revoked_at.is_none()).count();
    if live >= MAX_LIVE_TOKENS {
        return Err(Error::invalid("name", format!("at most {MAX_LIVE_TOKENS} live tokens; revoke one first")));
    }
    let secret = new_token(TokenKind::Api);
    let t = app.store.create_api_token(owner, name, &token_hash(&secret), expires_at).await?;
    tracing::info!(event = "token_created", token_id = t.id, user_id = owner.0, by = caller.id.0, "API token created");
    Ok(NewToken { id: t.id, name: t.name, token: secret, created_at: t.created_at, expires_at: t.expires_at })
}

/// Revokes a token of the caller's (or anyone's, for an administrator); 404 for a token that
/// does not exist or is someone else's.
pub async fn revoke(app: &App, caller: &Caller, id: i64) -> Result<()> {
    let Some(t) = app.store.get_api_token(id).await? else { return Err(Error::NotFound) };
    if t.user_id != caller.id && !caller.has(Permission::SettingsManage) {
        return Err(Error::NotFound);
    }
    app.store.revoke_api_token(id).await?;
    tracing::info!(
        event = "token_revoked",
        token_id = id,
        user_id = t.user_id.0,
        by = caller.id.0,
        "API token revoked"
    );
    Ok(())
}
