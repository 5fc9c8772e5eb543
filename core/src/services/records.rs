//! Tickets, chats, calls and surveys taken in from the help desk: reading needs `users_view`,
//! creating and changing `users_edit`.

use super::Caller;
use crate::app::App;
use crate::domain::Result;
use crate::domain::records::{AnyRecord, RecordFields, RecordInput, RecordKind};
use crate::domain::role::Permission;

pub async fn create(app: &App, caller: &Caller, kind: RecordKind, input: RecordInput) -> Result<AnyRecord> {
    caller.require(Permission::UsersEdit)?;
    let now = app.store.now();
    let fields = input.apply(kind, RecordFields::default(), true, &app.config.phone.default_region, now)?;
    app.store.create_record(kind, &fields).await
}

pub async fn get(app: &App, caller: &Caller, kind: RecordKind, id: i64) -> Result<AnyRecord> {
    caller.require(Permission::UsersView)?;
    app.store.get_record(kind, id).await
}

/// Changes the fields given; the rest stay.
pub async fn update(app: &App, caller: &Caller, kind: RecordKind, id: i64, input: RecordInput) -> Result<AnyRecord> {
    caller.require(Permission::UsersEdit)?;
    let region = app.config.phone.default_region.clone();
    let now = app.store.now();
    let edit = move |current: RecordFields| input.apply(kind, current, false, &region, now);
    app.store.update_record(kind, id, edit).await
}
