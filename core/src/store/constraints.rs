//! Every unique constraint a write can run into, named once: how each backend names it and the
//! input field a conflict on it is about. [`super::db_err`] turns a unique violation into a 409
//! on that field through this table only; a violation of a constraint missing here is a server
//! fault (logged with the constraint's name) rather than a guess, and a test checks that every
//! unique constraint in the migrations is listed.

use crate::domain::Error;

/// One unique constraint (or primary key a write may repeat).
pub(crate) struct Unique {
    /// PostgreSQL's name for it (`<table>_<columns>_key`, `<table>_pkey`).
    pub postgres: &'static str,
    /// What SQLite's message names: `table.column[, table.column]`, or `index '<name>'`.
    pub sqlite: &'static str,
    /// The input field a conflict is reported on.
    pub field: &'static str,
}

pub(crate) const UNIQUE: &[Unique] = &[
    Unique { postgres: "users_username_key_key", sqlite: "users.username_key", field: "username" },
    Unique { postgres: "user_emails_email_key", sqlite: "user_emails.email", field: "emails" },
    Unique { postgres: "organizations_name_key_key", sqlite: "organizations.name_key", field: "name" },
    Unique { postgres: "roles_name_key_key", sqlite: "roles.name_key", field: "name" },
    Unique {
        postgres: "custom_fields_entity_key_key",
        sqlite: "custom_fields.entity, custom_fields.key",
        field: "key",
    },
    Unique {
        postgres: "membership_rules_organization_id_kind_value_key",
        sqlite: "membership_rules.organization_id, membership_rules.kind, membership_rules.value",
        field: "value",
    },
    Unique {
        postgres: "user_identities_pkey",
        sqlite: "user_identities.issuer, user_identities.subject",
        field: "identity",
    },
    Unique { postgres: "api_tokens_token_hash_key", sqlite: "api_tokens.token_hash", field: "token" },
    Unique { postgres: "sessions_token_hash_key", sqlite: "sessions.token_hash", field: "token" },
    Unique { postgres: "password_resets_token_hash_key", sqlite: "password_resets.token_hash", field: "token" },
];

/// The conflict a unique violation means: the constraint `postgres_name` (PostgreSQL) or the
/// columns SQLite's `message` names.
pub(crate) fn conflict(postgres_name: Option<&str>, message: &str) -> Error {
    let found = UNIQUE.iter().find(|u| match postgres_name {
        Some(name) => u.postgres == name,
        None => message.strip_prefix("UNIQUE constraint failed: ").is_some_and(|cols| cols.trim() == u.sqlite),
    });
    match found {
        Some(u) => Error::conflict(u.field, "is already taken"),
        None => Error::Internal(format!(
            "unique violation on a constraint store/constraints.rs does not know: {} ({message})",
            postgres_name.unwrap_or("-")
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every `UNIQUE` and composite primary key the migrations declare is in the table (so a new
    /// one cannot silently become a conflict on the wrong field).
    #[test]
    fn every_unique_constraint_of_the_migrations_is_named() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../migrations/postgres");
        let mut sql = String::new();
        for e in std::fs::read_dir(root).into_iter().flatten().flatten() {
            sql.push_str(&std::fs::read_to_string(e.path()).unwrap_or_default().to_lowercase());
        }
        let mut tables = Vec::new();
        let mut table = String::new();
        for line in sql.lines() {
            let l = line.trim();
            if let Some(rest) = l.strip_prefix("create table ") {
                table =
                    rest.trim_start_matches("if not exists ").split([' ', '(']).next().unwrap_or_default().to_string();
            }
            let column_unique = l.contains(" unique") && !l.starts_with("--") && !l.starts_with("create");
            let composite = (l.starts_with("unique (") || l.starts_with("primary key (")) && !table.is_empty();
            if column_unique || composite {
                tables.push((table.clone(), l.to_string()));
            }
        }
        assert!(tables.len() >= 10, "{tables:?}");
        for (table, line) in tables {
            let known = UNIQUE.iter().any(|u| u.postgres.starts_with(&format!("{table}_")))
                // link tables and counters are written with ON CONFLICT or checked first
                || ["record_domains", "ticket_addresses", "user_labels", "organization_labels", "user_roles",
                    "domain_counts", "plugin_kv", "plugin_settings", "login_throttle"].contains(&table.as_str());
            assert!(known, "{table}: `{line}` has no entry in UNIQUE");
        }
    }

    #[test]
    fn both_spellings_map_to_the_field() {
        let field = |e: Error| match e {
            Error::Conflict { field, .. } => field,
            other => format!("{other:?}"),
        };
        assert_eq!(field(conflict(Some("users_username_key_key"), "duplicate key")), "username");
        assert_eq!(field(conflict(None, "UNIQUE constraint failed: user_emails.email")), "emails");
        assert_eq!(field(conflict(None, "UNIQUE constraint failed: custom_fields.entity, custom_fields.key")), "key");
        assert!(matches!(conflict(Some("new_table_thing_key"), "duplicate key"), Error::Internal(_)));
    }
}
