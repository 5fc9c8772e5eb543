//! The rules of every capability, once, for every front. The JSON API, the pages, the CLI, the
//! directory / identity-provider / plugin logins and the job worker all call these functions
//! with a typed [`Caller`] (or as the system) and get domain values or a [`crate::domain::Error`]
//! back; permission decisions are made here, never in a handler. Nothing here imports the HTTP
//! or web modules.

pub mod accounts;
pub mod avatars;
pub mod custom_fields;
pub mod oidc_logins;
pub mod organizations;
pub mod params;
pub mod plugins;
pub mod portal;
pub mod records;
pub mod roles;
pub mod tokens;
pub mod users;

use crate::domain::change::{Actor, ActorKind};
use crate::domain::role::{Permission, PermissionSet, Role, RoleKind};
use crate::domain::{Error, Result, UserId};
use crate::store::TokenKind;

/// Who is acting: the user behind a session or an API token, with their effective permissions.
#[derive(Debug, Clone)]
pub struct Caller {
    pub id: UserId,
    pub username: String,
    pub display_name: String,
    pub is_agent: bool,
    /// Their display preferences, read with their session.
    pub prefs: crate::domain::user::Prefs,
    pub permissions: PermissionSet,
    pub via: TokenKind,
    /// SHA-256 of the token the request came with.
    pub(crate) token_hash: String,
}

impl Caller {
    /// The caller behind a token, from its user's roles.
    pub fn new(
        id: UserId,
        username: String,
        display_name: String,
        prefs: crate::domain::user::Prefs,
        roles: &[Role],
        via: TokenKind,
        token_hash: String,
    ) -> Self {
        let mut permissions = PermissionSet::default();
        let mut is_agent = false;
        for r in roles {
            permissions.extend(&r.effective_permissions());
            is_agent |= r.kind == RoleKind::Agent;
        }
        Caller { id, username, display_name, is_agent, prefs, permissions, via, token_hash }
    }

    /// 403 unless the caller holds `p`.
    pub fn require(&self, p: Permission) -> Result<()> {
        if self.permissions.has(p) {
            Ok(())
        } else {
            Err(Error::Forbidden(format!("this needs the `{}` permission", p.as_str())))
        }
    }

    pub fn has(&self, p: Permission) -> bool {
        self.permissions.has(p)
    }

    /// The hash of the session this request came with (`None` for an API token).
    pub fn session_hash(&self) -> Option<&str> {
        (self.via == TokenKind::Session).then_some(self.token_hash.as_str())
    }

    /// How the change log names this caller.
    pub fn actor(&self) -> Actor {
        let kind = if self.is_agent { ActorKind::Agent } else { ActorKind::User };
        Actor { kind, id: Some(self.id.0), name: self.username.clone() }
    }
}
