//! What the user and organization records share: field groups edited in place (click to
//! edit, one form per group, the record's version carried along), and posted forms read as
//! name/value pairs.

use axum::extract::Request;
use axum::http::HeaderMap;
use axum::response::Response;
use serde::{Deserialize, Serialize};

use super::agent::agent_caller;
use super::forms::{CsrfForm, Uploaded, checked_form, checked_multipart};
use super::{Audience, Me, Viewer, page_for_error};
use crate::domain::{Error, FieldErrors};
use crate::http::AppState;
use crate::services::Caller;

/// A form posted to an agent page: checked to be this site's own (CSRF), from an agent, about
/// a well-formed record id (0 when the URL names none). Anything else is already the answer.
pub struct Posted {
    pub form: Pairs,
    pub headers: HeaderMap,
    pub caller: Caller,
    pub me: Me,
    pub viewer: Viewer,
    pub id: i64,
}

impl Posted {
    pub async fn read(state: &AppState, id: Option<&str>, request: Request) -> Result<Posted, Response> {
        let uri = request.uri().clone();
        let (form, headers) = checked_form::<Pairs>(state, request).await?;
        Posted::of(state, id, form, headers, &uri).await
    }

    /// [`Posted::read`] for a multipart form: its text fields are the form, its files beside.
    pub async fn read_upload(
        state: &AppState,
        id: Option<&str>,
        request: Request,
    ) -> Result<(Posted, Uploaded), Response> {
        let uri = request.uri().clone();
        let (mut upload, headers) = checked_multipart(state, request).await?;
        let form = Pairs(std::mem::take(&mut upload.fields));
        Ok((Posted::of(state, id, form, headers, &uri).await?, upload))
    }

    /// A form already checked to be this site's own: from an agent, about a well-formed id.
    async fn of(
        state: &AppState,
        id: Option<&str>,
        form: Pairs,
        headers: HeaderMap,
        uri: &axum::http::Uri,
    ) -> Result<Posted, Response> {
        let (caller, me) = agent_caller(state, &headers, uri).await?;
        let viewer = Viewer::of(state, &headers, Some(uri), Some(&me.prefs));
        let id = match id.map(crate::services::params::parse_id) {
            None => 0,
            Some(Ok(id)) => id,
            Some(Err(e)) => return Err(page_for_error(state, Audience::Agent, &viewer, e)),
        };
        Ok(Posted { form, headers, caller, me, viewer, id })
    }

    /// Whether htmx sent it (the answer is then a fragment, not a redirect).
    pub fn htmx(&self) -> bool {
        self.headers.get("hx-request").is_some()
    }

    /// The error page for `e`.
    pub fn fail(&self, state: &AppState, e: Error) -> Response {
        page_for_error(state, Audience::Agent, &self.viewer, e)
    }
}

/// One field of a group, as the view and the form show it.
#[derive(Debug, Clone, Serialize)]
pub struct Field {
    pub name: String,
    /// A catalog key, or the custom field's own label.
    pub label: String,
    pub label_is_key: bool,
    /// `text`, `textarea`, `select`, `checkbox`, `checkboxes`, `url`.
    pub kind: &'static str,
    pub value: String,
    pub checked: bool,
    /// `(value, label, chosen)`.
    pub options: Vec<(String, String, bool)>,
    pub hint_key: Option<&'static str>,
    pub autocomplete: Option<&'static str>,
    pub error: Option<String>,
    pub empty: bool,
}

impl Field {
    pub fn text(name: &str, value: &str) -> Field {
        Field {
            name: name.into(),
            label: format!("field-{name}"),
            label_is_key: true,
            kind: "text",
            value: value.to_string(),
            checked: false,
            options: Vec::new(),
            hint_key: None,
            autocomplete: None,
            error: None,
            empty: value.trim().is_empty(),
        }
    }
    pub fn kind(mut self, kind: &'static str) -> Field {
        self.kind = kind;
        self
    }
    pub fn check(name: &str, on: bool) -> Field {
        let mut f = Field::text(name, if on { "on" } else { "" });
        f.kind = "checkbox";
        f.checked = on;
        f.empty = false;
        f
    }
    pub fn hint(mut self, key: &'static str) -> Field {
        self.hint_key = Some(key);
        self
    }
    pub fn auto(mut self, a: &'static str) -> Field {
        self.autocomplete = Some(a);
        self
    }
}

/// A field group: its fields, and whether it is shown as a form.
#[derive(Debug, Clone, Serialize)]
pub struct Group {
    pub name: &'static str,
    pub tab: &'static str,
    pub fields: Vec<Field>,
    pub editing: bool,
    pub saved: bool,
    pub may_edit: bool,
    /// The message above the form (409's "changed meanwhile", a summary of 422's).
    pub form_error: Option<String>,
    /// The record's version the form was rendered at.
    pub version: i64,
    /// On a 409: what the record holds now, field by field (`name`, label key, value).
    pub theirs: Vec<(String, String, String)>,
    pub edit_href: String,
    pub view_href: String,
    pub action: String,
    /// Custom fields: how many are empty (hidden behind "Show N empty fields").
    pub empty_count: usize,
}

/// A posted form as its name/value pairs (repeated names kept: the roles' checkboxes).
#[derive(Debug, Deserialize)]
#[serde(transparent)]
pub struct Pairs(pub Vec<(String, String)>);

impl CsrfForm for Pairs {
    fn csrf(&self) -> &str {
        self.get("csrf").unwrap_or_default()
    }
}

impl Pairs {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
    pub fn all(&self, name: &str) -> Vec<String> {
        self.0.iter().filter(|(k, _)| k == name).map(|(_, v)| v.clone()).collect()
    }
    pub fn version(&self) -> Option<i64> {
        self.get("version").and_then(|v| v.parse().ok())
    }
    pub fn text(&self, name: &str) -> Option<Option<String>> {
        Some(Some(self.get(name).unwrap_or_default().to_string()))
    }
    pub fn on(&self, name: &str) -> Option<bool> {
        Some(self.get(name).is_some())
    }
}

/// Whether the service's error under `key` belongs to the form field `field` (`phones[1].number`
/// to `phones`, `custom_fields.size` to `custom.size`).
fn error_is_for(key: &str, field: &str) -> bool {
    key == field
        || key.strip_prefix(field).is_some_and(|rest| rest.starts_with('[') || rest.starts_with('.'))
        || (key.strip_prefix("custom_fields.").is_some()
            && key.strip_prefix("custom_fields.") == field.strip_prefix("custom."))
}

/// How a group's save came out, for the answer: 200 with the record as saved; 422 with the
/// messages by field; 409 (`stale`) when it was made over an older version. Anything else is
/// the error page's.
pub struct Outcome<T> {
    pub status: axum::http::StatusCode,
    pub errors: FieldErrors,
    pub stale: bool,
    pub saved: Option<T>,
}

impl<T> Outcome<T> {
    pub fn of(result: crate::domain::Result<T>) -> Result<Outcome<T>, Error> {
        use axum::http::StatusCode;
        let (status, errors, stale, saved) = match result {
            Ok(t) => (StatusCode::OK, FieldErrors::new(), false, Some(t)),
            Err(Error::Invalid(f)) => (StatusCode::UNPROCESSABLE_ENTITY, f, false, None),
            Err(Error::Conflict { field, message }) => {
                (StatusCode::UNPROCESSABLE_ENTITY, FieldErrors::from([(field, message)]), false, None)
            }
            Err(Error::Stale { .. }) => (StatusCode::CONFLICT, FieldErrors::new(), true, None),
            Err(e) => return Err(e),
        };
        Ok(Outcome { status, errors, stale, saved })
    }
}

impl Group {
    /// A group of a record at `version`: viewing, editable when `may_edit`; its form posts to
    /// `action`, its view and edit states are `view_href` and `edit_href`.
    pub fn new(
        name: &'static str,
        tab: &'static str,
        fields: Vec<Field>,
        may_edit: bool,
        version: i64,
        tab_href: &str,
        action: String,
    ) -> Group {
        Group {
            name,
            tab,
            fields,
            editing: false,
            saved: false,
            may_edit,
            form_error: None,
            version,
            theirs: Vec::new(),
            edit_href: format!("{tab_href}?edit={name}#group-{name}"),
            view_href: format!("{tab_href}#group-{name}"),
            action,
            empty_count: 0,
        }
    }

    /// The group after a refused save: its form again with what was typed, each message by its
    /// field (422); or (`stale`, 409) what the record holds now beside the typed values, the
    /// form posting over the current version ("Keep mine").
    pub fn fail(&mut self, form: &Pairs, errors: &FieldErrors, stale: bool, current_version: i64, message: &str) {
        let g = self;
        g.editing = true;
        if stale {
            // what the record holds now, beside what this agent typed
            g.theirs = g.fields.iter().map(|f| (f.name.clone(), f.label.clone(), f.value.clone())).collect();
            g.form_error = Some(message.to_string());
        } else {
            g.form_error = Some(message.to_string());
            // the form again for correction: the new version, then what was typed
        }
        // the form shows what was typed, and (on a conflict) posts over the current version
        g.version = if stale { current_version } else { form.version().unwrap_or(current_version) };
        for f in &mut g.fields {
            if f.kind == "checkbox" {
                f.checked = form.get(&f.name).is_some();
            } else if f.kind == "checkboxes" {
                let chosen = form.all(&f.name);
                for o in &mut f.options {
                    o.2 = chosen.iter().any(|c| c.eq_ignore_ascii_case(&o.0));
                }
            } else if let Some(v) = form.get(&f.name) {
                f.value = v.to_string();
            }
            f.error = errors.iter().find(|(k, _)| error_is_for(k, &f.name)).map(|(_, why)| why.clone());
        }
        // errors for fields this group does not show still reach the agent
        let unplaced: Vec<String> = errors
            .iter()
            .filter(|(k, _)| !g.fields.iter().any(|f| error_is_for(k, &f.name)))
            .map(|(k, why)| format!("{}: {why}", k.replace('_', " ")))
            .collect();
        if !unplaced.is_empty() && !stale {
            g.form_error = Some(unplaced.join(" "));
        }
    }
}
