//! The change log: who changed which field of a record, when, from what to what.

use crate::clock::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Who did something.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ActorKind {
    Agent,
    User,
    System,
}

impl ActorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ActorKind::Agent => "agent",
            ActorKind::User => "user",
            ActorKind::System => "system",
        }
    }
    pub fn parse(s: &str) -> ActorKind {
        match s {
            "agent" => ActorKind::Agent,
            "user" => ActorKind::User,
            _ => ActorKind::System,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Actor {
    pub kind: ActorKind,
    pub id: Option<i64>,
    pub name: String,
}

impl Actor {
    pub fn system(what: &str) -> Self {
        Actor { kind: ActorKind::System, id: None, name: what.to_string() }
    }
}

/// One changed field.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Change {
    /// RFC 3339, UTC.
    pub at: Timestamp,
    pub actor: Actor,
    pub field: String,
    #[schema(value_type = Object)]
    pub old: Value,
    #[schema(value_type = Object)]
    pub new: Value,
}

/// A field-by-field difference of two JSON objects (absent counts as null).
pub fn diff(old: &Value, new: &Value) -> Vec<(String, Value, Value)> {
    let empty = serde_json::Map::new();
    let o = old.as_object().unwrap_or(&empty);
    let n = new.as_object().unwrap_or(&empty);
    let mut keys: Vec<&String> = o.keys().chain(n.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter_map(|k| {
            let a = o.get(k).cloned().unwrap_or(Value::Null);
            let b = n.get(k).cloned().unwrap_or(Value::Null);
            (a != b).then(|| (k.clone(), a, b))
        })
        .collect()
}
