//! Custom fields (SPEC 7): definitions admins make for users and organizations, and the
//! built-in types' validation. Plugin field types (`plugin:<plugin-id>/<type-id>`) are
//! validated by their plugin at the HTTP edge; this module only knows their name's shape.

use crate::clock::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::address::{normalize_email, normalize_phone};
use super::{Checker, Result};

/// What a custom field belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Entity {
    User,
    Organization,
}

impl Entity {
    pub fn as_str(self) -> &'static str {
        match self {
            Entity::User => "user",
            Entity::Organization => "organization",
        }
    }
    pub fn parse(s: &str) -> Option<Entity> {
        match s {
            "user" => Some(Entity::User),
            "organization" => Some(Entity::Organization),
            _ => None,
        }
    }
}

/// The built-in field types.
pub const BUILT_IN_TYPES: [&str; 10] =
    ["text", "multiline", "number", "date", "checkbox", "select", "multiselect", "url", "email", "phone"];

/// A custom field definition.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CustomField {
    pub id: i64,
    pub entity: Entity,
    pub key: String,
    pub label: String,
    /// A built-in type or `plugin:<plugin-id>/<type-id>`.
    #[serde(rename = "type")]
    pub field_type: String,
    pub required: bool,
    /// Choices of a select or multiselect.
    pub options: Vec<String>,
    /// Settings handed to a plugin field type.
    #[schema(value_type = Object)]
    pub settings: Map<String, Value>,
    pub position: i64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl CustomField {
    /// `(plugin id, type id)` of a plugin field type.
    pub fn plugin_type(&self) -> Option<(&str, &str)> {
        plugin_type(&self.field_type)
    }
}

pub fn plugin_type(t: &str) -> Option<(&str, &str)> {
    t.strip_prefix("plugin:")?.split_once('/')
}

/// A definition as written (create: key, label, type required; update: any).
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomFieldInput {
    pub entity: Option<String>,
    pub key: Option<String>,
    pub label: Option<String>,
    #[serde(rename = "type")]
    pub field_type: Option<String>,
    pub required: Option<bool>,
    pub options: Option<Vec<String>>,
    #[schema(value_type = Object)]
    pub settings: Option<Map<String, Value>>,
    pub position: Option<i64>,
}

/// A checked definition, ready to store.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomFieldSpec {
    pub entity: Entity,
    pub key: String,
    pub label: String,
    pub field_type: String,
    pub required: bool,
    pub options: Vec<String>,
    pub settings: Map<String, Value>,
    pub position: i64,
}

impl CustomFieldInput {
    /// Checks the input against `base` (the stored definition on update). `plugin_types`
    /// are the `plugin:<id>/<type>` names loaded plugins declare.
    pub fn apply(&self, base: Option<&CustomField>, plugin_types: &[String]) -> Result<CustomFieldSpec> {
        let mut c = Checker::default();
        let entity = match (&self.entity, base) {
            (Some(e), Some(b)) if Entity::parse(e) != Some(b.entity) => {
                c.fail("entity", "cannot change once created");
                None
            }
            (Some(e), _) => {
                c.take("entity", Entity::parse(e).ok_or_else(|| "must be user or organization".to_string()))
            }
            (None, Some(b)) => Some(b.entity),
            (None, None) => {
                c.fail("entity", "is required (user or organization)");
                None
            }
        };
        let key = match (&self.key, base) {
            (Some(k), Some(b)) if *k != b.key => {
                c.fail("key", "cannot change once created (values are stored under it)");
                None
            }
            (Some(k), _) => c.take("key", check_key(k)),
            (None, Some(b)) => Some(b.key.clone()),
            (None, None) => {
                c.fail("key", "is required");
                None
            }
        };
        let label = match (&self.label, base) {
            (Some(l), _) if l.trim().is_empty() || l.chars().count() > 200 => {
                c.fail("label", "must be 1-200 characters");
                None
            }
            (Some(l), _) => Some(l.trim().to_string()),
            (None, Some(b)) => Some(b.label.clone()),
            (None, None) => {
                c.fail("label", "is required");
                None
            }
        };
        let field_type = match (&self.field_type, base) {
            (Some(t), Some(b)) if *t != b.field_type => {
                c.fail("type", "cannot change once created (stored values would not fit)");
                None
            }
            (Some(t), _) if BUILT_IN_TYPES.contains(&t.as_str()) || plugin_types.contains(t) => Some(t.clone()),
            (Some(t), _) if plugin_type(t).is_some() => {
                c.fail("type", format!("no loaded plugin declares the field type {t}"));
                None
            }
            (Some(_), _) => {
                c.fail("type", format!("must be one of {} or plugin:<plugin-id>/<type-id>", BUILT_IN_TYPES.join(", ")));
                None
            }
            (None, Some(b)) => Some(b.field_type.clone()),
            (None, None) => {
                c.fail("type", "is required");
                None
            }
        };
        let options = self.options.clone().or_else(|| base.map(|b| b.options.clone())).unwrap_or_default();
        let options: Vec<String> = options.iter().map(|o| o.trim().to_string()).collect();
        let choice = matches!(field_type.as_deref(), Some("select" | "multiselect"));
        if choice && options.is_empty() {
            c.fail("options", "a select needs at least one option");
        }
        if !choice && !options.is_empty() {
            c.fail("options", "only select and multiselect fields have options");
        }
        if options.len() > 500 || options.iter().any(|o| o.is_empty() || o.chars().count() > 200) {
            c.fail("options", "at most 500 options of 1-200 characters");
        } else {
            // checked only within the limits: a huge list is refused above in linear time
            let mut seen = std::collections::HashSet::new();
            for o in &options {
                if !seen.insert(o) {
                    c.fail("options", format!("{o:?} is listed twice"));
                }
            }
        }
        let settings = self.settings.clone().or_else(|| base.map(|b| b.settings.clone())).unwrap_or_default();
        if Value::Object(settings.clone()).to_string().len() > 16 * 1024 {
            c.fail("settings", "at most 16 KiB");
        }
        let required = self.required.or(base.map(|b| b.required)).unwrap_or(false);
        if required && field_type.as_deref() == Some("checkbox") {
            c.fail("required", "a checkbox cannot be required (unchecked is a value)");
        }
        let position = self.position.or(base.map(|b| b.position)).unwrap_or(0);
        if i32::try_from(position).is_err() {
            c.fail("position", format!("at most {} either way", i32::MAX));
        }
        c.finish()?;
        match (entity, key, label, field_type) {
            (Some(entity), Some(key), Some(label), Some(field_type)) => {
                Ok(CustomFieldSpec { entity, key, label, field_type, required, options, settings, position })
            }
            _ => Err(super::Error::invalid("body", "incomplete field definition")),
        }
    }
}

fn check_key(k: &str) -> std::result::Result<String, String> {
    let ok = !k.is_empty()
        && k.len() <= 64
        && k.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        && k.as_bytes()[0].is_ascii_lowercase();
    if ok { Ok(k.to_string()) } else { Err("use 1-64 of a-z, 0-9 and _, starting with a letter".into()) }
}

/// Whether a value counts as "not filled in".
pub fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.trim().is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}

/// Validates and normalizes a value of a built-in type. `Ok(None)` for a plugin type (its
/// plugin decides).
pub fn check_builtin(
    field: &CustomField,
    v: &Value,
    default_region: &str,
) -> std::result::Result<Option<Value>, String> {
    let text = |max: usize, multiline: bool| -> std::result::Result<Value, String> {
        let Value::String(s) = v else { return Err("must be text".into()) };
        if s.chars().count() > max {
            return Err(format!("at most {max} characters"));
        }
        if !multiline && s.contains(['\n', '\r']) {
            return Err("must be one line".into());
        }
        if s.chars().any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t') {
            return Err("cannot hold control characters".into());
        }
        Ok(Value::String(s.trim().to_string()))
    };
    let as_str = || match v {
        Value::String(s) => Ok(s.trim()),
        _ => Err("must be text".to_string()),
    };
    let out = match field.field_type.as_str() {
        "text" => text(1000, false)?,
        "multiline" => text(20_000, true)?,
        "number" => match v {
            Value::Number(n) if n.as_f64().is_some_and(f64::is_finite) => Value::Number(n.clone()),
            Value::String(s) => match s.trim().parse::<f64>() {
                Ok(f) if f.is_finite() => {
                    serde_json::Number::from_f64(f).map(Value::Number).ok_or("must be a number")?
                }
                _ => return Err("must be a number".into()),
            },
            _ => return Err("must be a number".into()),
        },
        "date" => {
            let s = as_str()?;
            chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .map_err(|_| "must be a date written YYYY-MM-DD".to_string())?;
            Value::String(s.to_string())
        }
        "checkbox" => match v {
            Value::Bool(b) => Value::Bool(*b),
            _ => return Err("must be true or false".into()),
        },
        "select" => {
            let s = as_str()?;
            if !field.options.iter().any(|o| o == s) {
                return Err(format!("must be one of: {}", field.options.join(", ")));
            }
            Value::String(s.to_string())
        }
        "multiselect" => {
            let Value::Array(items) = v else { return Err("must be a list of options".into()) };
            let mut picked: Vec<String> = Vec::new();
            for item in items {
                let Value::String(s) = item else { return Err("must be a list of options".into()) };
                if !field.options.contains(s) {
                    return Err(format!("{s:?} is not one of: {}", field.options.join(", ")));
                }
                if !picked.contains(s) {
                    picked.push(s.clone());
                }
            }
            Value::Array(picked.into_iter().map(Value::String).collect())
        }
        "url" => {
            let s = as_str()?;
            let ok = (s.starts_with("https://") || s.starts_with("http://"))
                && s.len() <= 2000
                && !s.contains(char::is_whitespace)
                && s.split("://").nth(1).is_some_and(|r| !r.is_empty());
            if !ok {
                return Err("must be an http:// or https:// address".into());
            }
            Value::String(s.to_string())
        }
        "email" => Value::String(normalize_email(as_str()?)?.address),
        "phone" => Value::String(normalize_phone(as_str()?, default_region)?),
        _ => return Ok(None),
    };
    Ok(Some(out))
}

/// Applies a checked partial map (`null` clears a key) to stored values.
pub fn merge(current: &mut Map<String, Value>, changes: &Map<String, Value>) {
    for (k, v) in changes {
        if v.is_null() {
            current.remove(k);
        } else {
            current.insert(k.clone(), v.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn field(t: &str, options: &[&str]) -> CustomField {
        CustomField {
            id: 1,
            entity: Entity::User,
            key: "k".into(),
            label: "K".into(),
            field_type: t.into(),
            required: false,
            options: options.iter().map(|s| s.to_string()).collect(),
            settings: Map::new(),
            position: 0,
            created_at: Timestamp::default(),
            updated_at: Timestamp::default(),
        }
    }

    #[test]
    fn built_in_types_normalize_and_refuse() {
        let ok =
            |t: &str, o: &[&str], v: Value| check_builtin(&field(t, o), &v, "US").map(|x| x.unwrap_or(Value::Null));
        assert_eq!(ok("text", &[], json!("  hi ")), Ok(json!("hi")));
        assert!(ok("text", &[], json!("a\nb")).is_err());
        assert_eq!(ok("multiline", &[], json!("a\nb")), Ok(json!("a\nb")));
        assert_eq!(ok("number", &[], json!("2.5")), Ok(json!(2.5)));
        assert!(ok("number", &[], json!("NaN")).is_err());
        assert_eq!(ok("date", &[], json!("2026-02-28")), Ok(json!("2026-02-28")));
        assert!(ok("date", &[], json!("2026-02-30")).is_err());
        assert!(ok("checkbox", &[], json!("yes")).is_err());
        assert_eq!(ok("select", &["Gold", "Silver"], json!("Gold")), Ok(json!("Gold")));
        assert!(ok("select", &["Gold"], json!("gold")).is_err());
        assert_eq!(ok("multiselect", &["a", "b"], json!(["b", "a", "b"])), Ok(json!(["b", "a"])));
        assert!(ok("url", &[], json!("javascript:alert(1)")).is_err());
        assert_eq!(ok("email", &[], json!("A@Example.COM")), Ok(json!("a@example.com")));
        assert_eq!(ok("phone", &[], json!("(415) 555-2671")), Ok(json!("+14155552671")));
        assert_eq!(check_builtin(&field("plugin:iban/iban", &[]), &json!("x"), "US"), Ok(None));
    }

    #[test]
    fn definitions_are_checked() {
        let input = CustomFieldInput {
            entity: Some("user".into()),
            key: Some("Tier!".into()),
            label: Some("".into()),
            field_type: Some("plugin:nope/x".into()),
            ..Default::default()
        };
        let Err(super::super::Error::Invalid(f)) = input.apply(None, &[]) else { panic!("accepted") };
        assert!(f.contains_key("key") && f.contains_key("label") && f.contains_key("type"), "{f:?}");
        let select = CustomFieldInput {
            entity: Some("organization".into()),
            key: Some("tier".into()),
            label: Some("Tier".into()),
            field_type: Some("select".into()),
            ..Default::default()
        };
        assert!(select.apply(None, &[]).is_err());
        let ok = CustomFieldInput { options: Some(vec!["Gold".into()]), ..select.clone() };
        assert!(ok.apply(None, &[]).is_ok());
        let refused = |input: CustomFieldInput, field: &str| match input.apply(None, &[]) {
            Err(super::super::Error::Invalid(f)) => assert!(f.contains_key(field), "{f:?}"),
            other => panic!("{field}: {other:?}"),
        };
        refused(CustomFieldInput { options: Some(vec!["a".into(), "a".into()]), ..select.clone() }, "options");
        // half a million options: refused by the count, without comparing them pairwise
        refused(CustomFieldInput { options: Some(vec!["a".into(); 500_000]), ..select.clone() }, "options");
        // a position the database column cannot hold
        refused(CustomFieldInput { position: Some(i64::from(i32::MAX) + 1), ..ok.clone() }, "position");
    }
}
