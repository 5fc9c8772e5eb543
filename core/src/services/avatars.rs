//! Avatars: anyone may see their own, `users_view` everyone's; a person changes their own, an
//! agent anyone's they may edit (`users_edit`, and `roles_manage` for another agent). Uploads
//! are decoded off the async workers and stored squared at 256 px.

use super::Caller;
use crate::app::App;
use crate::avatars::{self, Served};
use crate::domain::role::Permission;
use crate::domain::{Error, Result, UserId};
use crate::store::StoredAvatar;

fn may_see(caller: &Caller, id: UserId) -> Result<()> {
    if caller.id == id || caller.has(Permission::UsersView) { Ok(()) } else { Err(Error::NotFound) }
}

/// One's own avatar, or another person's under the same rules as editing them. 404 for a user
/// who does not exist.
pub async fn may_change(app: &App, caller: &Caller, id: UserId) -> Result<()> {
    if caller.id != id && !caller.has(Permission::UsersEdit) {
        return Err(Error::Forbidden("changing another person's avatar needs the `users_edit` permission".into()));
    }
    let target = app.store.get_user(id).await?;
    super::users::check_may_edit(caller, &target)
}

/// The avatar image: uploaded, else from an avatar-provider plugin (fetched and cached by
/// Kith), else generated initials.
pub async fn get(app: &App, caller: &Caller, id: UserId) -> Result<Served> {
    may_see(caller, id)?;
    avatars::resolve(app, id).await
}

/// Stores an uploaded image (PNG, JPEG, GIF or WebP by its bytes) as the user's avatar.
/// Answers the stored avatar.
pub async fn upload(app: &App, caller: &Caller, id: UserId, body: Vec<u8>) -> Result<StoredAvatar> {
    may_change(app, caller, id).await?;
    // each person uploads at most 10 in a burst and 10 a minute, whoever's avatar it is
    app.avatar_uploads.take(caller.id, app.store.now())?;
    // decoded one per core at a time, off the async workers
    let _permit = app.image_decodes.acquire().await.map_err(|_| Error::Unavailable("shutting down".into()))?;
    let (image, content_type) = tokio::task::spawn_blocking(move || avatars::normalize(&body))
        .await
        .map_err(|e| Error::Internal(e.to_string()))?
        .map_err(|why| Error::invalid("avatar", why))?;
    let now = app.store.now();
    let a = StoredAvatar {
        source: "upload".into(),
        content_type: content_type.into(),
        etag: avatars::etag_of(&image),
        image,
        compressed: false,
        updated_at: now,
        last_viewed_at: now,
    };
    app.store.put_avatar(id, &a).await?;
    Ok(a)
}

/// Removes an uploaded avatar (providers and initials take over); 404 when there is none.
pub async fn remove(app: &App, caller: &Caller, id: UserId) -> Result<()> {
    may_change(app, caller, id).await?;
    if app.store.delete_avatar(id).await? { Ok(()) } else { Err(Error::NotFound) }
}
