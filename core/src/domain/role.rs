//! Roles and permissions. Agent roles carry permissions; user roles group portal users. Three
//! user roles are derived from a user's state and never assigned by hand.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::{Checker, Error, RoleId};

/// One thing an agent may be allowed to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Permission {
    UsersView,
    UsersEdit,
    UsersDelete,
    UsersMerge,
    OrganizationsView,
    OrganizationsEdit,
    OrganizationsDelete,
    Comment,
    RolesManage,
    CustomFieldsManage,
    PluginsManage,
    SettingsManage,
}

impl Permission {
    pub const ALL: [Permission; 12] = [
        Permission::UsersView,
        Permission::UsersEdit,
        Permission::UsersDelete,
        Permission::UsersMerge,
        Permission::OrganizationsView,
        Permission::OrganizationsEdit,
        Permission::OrganizationsDelete,
        Permission::Comment,
        Permission::RolesManage,
        Permission::CustomFieldsManage,
        Permission::PluginsManage,
        Permission::SettingsManage,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Permission::UsersView => "users_view",
            Permission::UsersEdit => "users_edit",
            Permission::UsersDelete => "users_delete",
            Permission::UsersMerge => "users_merge",
            Permission::OrganizationsView => "organizations_view",
            Permission::OrganizationsEdit => "organizations_edit",
            Permission::OrganizationsDelete => "organizations_delete",
            Permission::Comment => "comment",
            Permission::RolesManage => "roles_manage",
            Permission::CustomFieldsManage => "custom_fields_manage",
            Permission::PluginsManage => "plugins_manage",
            Permission::SettingsManage => "settings_manage",
        }
    }

    pub fn parse(s: &str) -> Option<Permission> {
        Permission::ALL.into_iter().find(|p| p.as_str() == s)
    }
}

/// A set of permissions, stored as space-separated names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PermissionSet(pub BTreeSet<Permission>);

impl PermissionSet {
    pub fn all() -> Self {
        Self(Permission::ALL.into_iter().collect())
    }
    pub fn has(&self, p: Permission) -> bool {
        self.0.contains(&p)
    }
    /// Reads the stored form; names no longer known are skipped.
    pub fn from_stored(s: &str) -> Self {
        Self(s.split_whitespace().filter_map(Permission::parse).collect())
    }
    pub fn to_stored(&self) -> String {
        self.0.iter().map(|p| p.as_str()).collect::<Vec<_>>().join(" ")
    }
    pub fn extend(&mut self, other: &PermissionSet) {
        self.0.extend(other.0.iter().copied());
    }
    pub fn list(&self) -> Vec<Permission> {
        self.0.iter().copied().collect()
    }
}

/// Whether a role is for portal users or for staff.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum RoleKind {
    User,
    Agent,
}

impl RoleKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RoleKind::User => "user",
            RoleKind::Agent => "agent",
        }
    }
    pub fn parse(s: &str) -> Option<RoleKind> {
        match s {
            "user" => Some(RoleKind::User),
            "agent" => Some(RoleKind::Agent),
            _ => None,
        }
    }
}

pub const EVERYONE: &str = "Everyone";
pub const REGISTERED_USER: &str = "Registered User";
pub const VERIFIED_USER: &str = "Registered User with Verified Email";
pub const ADMINISTRATOR: &str = "Administrator";
pub const MANAGER: &str = "Manager";
pub const AGENT: &str = "Agent";

/// Roles that follow from state (anyone; has an account; has a verified address).
pub const DERIVED_ROLES: [&str; 3] = [EVERYONE, REGISTERED_USER, VERIFIED_USER];

pub fn is_derived(name: &str) -> bool {
    DERIVED_ROLES.iter().any(|d| d.eq_ignore_ascii_case(name))
}

/// A role as the API shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Role {
    pub id: RoleId,
    pub name: String,
    pub kind: RoleKind,
    pub description: String,
    /// Shipped with Kith; cannot be deleted or renamed.
    pub built_in: bool,
    /// Follows from the user's state; cannot be assigned.
    pub derived: bool,
    pub permissions: Vec<Permission>,
}

impl Role {
    /// Administrator holds every permission, including ones added in later versions.
    pub fn effective_permissions(&self) -> PermissionSet {
        if self.built_in && self.name == ADMINISTRATOR {
            PermissionSet::all()
        } else {
            PermissionSet(self.permissions.iter().copied().collect())
        }
    }
}

/// Checks a role name: 1–64 characters, no control characters.
pub fn check_role_name(name: &str) -> Result<String, String> {
    let name = name.trim();
    if name.is_empty() {
        return Err("is required".into());
    }
    if name.chars().count() > 64 {
        return Err("too long (at most 64 characters)".into());
    }
    if name.chars().any(char::is_control) {
        return Err("must not contain control characters".into());
    }
    Ok(name.to_string())
}

/// A role as a caller sends it.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleInput {
    pub name: Option<String>,
    /// `user` or `agent`; required on create, fixed afterwards.
    pub kind: Option<String>,
    pub description: Option<String>,
    /// Permission names; only agent roles carry them.
    pub permissions: Option<Vec<String>>,
}

impl RoleInput {
    /// The role write this input asks for; every bad value named.
    pub fn check(&self) -> Result<RoleWrite, Error> {
        let mut c = Checker::default();
        let name = self.name.as_deref().and_then(|n| c.take("name", check_role_name(n)));
        if name.as_deref().is_some_and(is_derived) {
            c.fail("name", "is reserved for a derived role");
        }
        let kind = match self.kind.as_deref() {
            None => None,
            Some(k) => c.take("kind", RoleKind::parse(k).ok_or_else(|| "must be user or agent".to_string())),
        };
        if let Some(d) = &self.description {
            c.max_len("description", d, 1000);
        }
        let permissions = self.permissions.as_ref().map(|list| {
            let mut set = PermissionSet::default();
            for (i, p) in list.iter().enumerate() {
                match Permission::parse(p) {
                    Some(p) => {
                        set.0.insert(p);
                    }
                    None => c.fail(format!("permissions[{i}]"), format!("no permission named `{p}`")),
                }
            }
            set
        });
        c.finish()?;
        Ok(RoleWrite { name, kind, description: self.description.clone(), permissions })
    }
}

/// A role to create or edit, already checked.
#[derive(Debug, Clone)]
pub struct RoleWrite {
    pub name: Option<String>,
    pub kind: Option<RoleKind>,
    pub description: Option<String>,
    pub permissions: Option<PermissionSet>,
}
