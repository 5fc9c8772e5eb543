//! Roles: the built-in and custom roles and their permissions. Reading needs `users_view` or
//! `roles_manage`; creating, changing and deleting `roles_manage`.

use super::Caller;
use crate::app::App;
use crate::domain::role::{Permission, Role, RoleInput};
use crate::domain::{Result, RoleId};

fn may_read(caller: &Caller) -> Result<()> {
    if caller.has(Permission::RolesManage) { Ok(()) } else { caller.require(Permission::UsersView) }
}

/// Every role: derived user roles, built-in and custom ones.
pub async fn list(app: &App, caller: &Caller) -> Result<Vec<Role>> {
    may_read(caller)?;
    app.store.list_roles().await
}

pub async fn get(app: &App, caller: &Caller, id: RoleId) -> Result<Role> {
    may_read(caller)?;
    app.store.get_role(id).await
}

pub async fn create(app: &App, caller: &Caller, input: &RoleInput) -> Result<Role> {
    caller.require(Permission::RolesManage)?;
    app.store.create_role(&input.check()?, &caller.actor()).await
}

pub async fn update(app: &App, caller: &Caller, id: RoleId, input: &RoleInput) -> Result<Role> {
    caller.require(Permission::RolesManage)?;
    app.store.update_role(id, &input.check()?, &caller.actor()).await
}

pub async fn delete(app: &App, caller: &Caller, id: RoleId) -> Result<()> {
    caller.require(Permission::RolesManage)?;
    app.store.delete_role(id, &caller.actor()).await
}
