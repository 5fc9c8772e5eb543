//! Kith plugin: records which forms (surveys, consent forms, ...) were sent to whom, and shows
//! on each organization's "Forms" tab the ones sent to its members — membership decided by Kith's
//! own rules through `membership::match_members`.
//!
//! Records live in the plugin's kv store as JSON under `form/<sent_at UTC>/<recorded at, ns>`, so
//! byte order is oldest first and the newest come last.

mod time;

use kith_plugin_sdk::membership::{self, MatchedBy, Subject};
use kith_plugin_sdk::org_tab::page_of;
use kith_plugin_sdk::prelude::*;
use kith_plugin_sdk::{info, kv};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The plugin type registered with Kith.
pub struct Forms;

kith_plugin_sdk::export!(Forms);

const PREFIX: &str = "form/";
const MAX_FORM_NAME: usize = 200;
const MAX_CONTACT: usize = 254;
const DEFAULT_LIMIT: usize = 50;
const MAX_LIMIT: usize = 1000;
const DEFAULT_PER_PAGE: u32 = 20;
const MAX_PER_PAGE: u32 = 500;
/// Keys read (and subjects matched) per round trip: the host's `match-members` maximum.
const BATCH: u32 = 1000;

/// One form sent to someone, as stored and as returned (with its `id`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct FormRecord {
    form: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    user_id: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    phone: Option<String>,
    /// RFC 3339, UTC.
    sent_at: String,
    /// The username of the agent who recorded it.
    recorded_by: String,
}

impl FormRecord {
    fn subject(&self) -> Subject {
        Subject { user_id: self.user_id, email: self.email.clone(), phone: self.phone.clone() }
    }

    fn sent_to(&self) -> String {
        let mut parts = Vec::new();
        if let Some(id) = self.user_id {
            parts.push(format!("user #{id}"));
        }
        parts.extend(self.email.iter().cloned());
        parts.extend(self.phone.iter().cloned());
        parts.join(", ")
    }

    fn with_id(&self, key: &str) -> Result<Value, PluginError> {
        let mut value = serde_json::to_value(self).map_err(|e| PluginError::internal(e.to_string()))?;
        if let Value::Object(map) = &mut value {
            map.insert("id".into(), Value::String(key.trim_start_matches(PREFIX).to_owned()));
        }
        Ok(value)
    }
}

impl Actions for Forms {
    fn run(name: String, input: String, caller: Caller) -> Result<String, PluginError> {
        let input: Value = serde_json::from_str(&input)?;
        let Value::Object(input) = input else {
            return Err(PluginError::invalid_input("input: expected a JSON object"));
        };
        let answer = match name.as_str() {
            "record-form" => record_form(input, &caller)?,
            "list-forms" => list_forms(&input)?,
            _ => return Err(PluginError::invalid_input(format!("unknown action {name}"))),
        };
        Ok(answer.to_string())
    }
}

impl OrgTab for Forms {
    fn render(req: PageRequest) -> Result<TabContent, PluginError> {
        if req.tab_id != "forms" {
            return Err(PluginError::invalid_input(format!("unknown tab {}", req.tab_id)));
        }
        let mut rows = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let batch = kv::scan(PREFIX, after.as_deref(), BATCH)?;
            let Some((last, _)) = batch.last() else { break };
            after = Some(last.clone());
            let records = decode(batch)?;
            let subjects: Vec<Subject> = records.iter().map(|(_, r)| r.subject()).collect();
            let matches = membership::match_members(req.org.id, &subjects)?;
            for ((key, record), matched) in records.into_iter().zip(matches) {
                if !matched.is_empty() {
                    rows.push((key, record, matched));
                }
            }
        }
        // Keys sort oldest first; the tab shows the newest first.
        rows.reverse();
        let per_page = match req.per_page {
            0 => DEFAULT_PER_PAGE,
            n => n.min(MAX_PER_PAGE),
        };
        let page = page_of(&rows, req.page, per_page).iter().map(|(_, record, matched)| row(record, matched)).collect();
        Ok(TabContent::Table(Table {
            columns: ["Form", "Sent to", "Sent at", "Matched by"].map(String::from).to_vec(),
            rows: page,
            total: rows.len() as u64,
        }))
    }
}

fn row(record: &FormRecord, matched: &[MatchedBy]) -> Vec<String> {
    let matched: Vec<String> = matched.iter().map(MatchedBy::to_string).collect();
    vec![record.form.clone(), record.sent_to(), record.sent_at.clone(), matched.join(", ")]
}

/// The records of one scanned batch.
fn decode(batch: Vec<(String, Vec<u8>)>) -> Result<Vec<(String, FormRecord)>, PluginError> {
    batch
        .into_iter()
        .map(|(key, bytes)| {
            let record = serde_json::from_slice::<FormRecord>(&bytes)
                .map_err(|e| PluginError::internal(format!("stored form {key:?} does not decode: {e}")))?;
            Ok((key, record))
        })
        .collect()
}

fn record_form(mut input: Map<String, Value>, caller: &Caller) -> Result<Value, PluginError> {
    let record = parse_record(&mut input, caller)?;
    let (_, now_ns) = time::now();
    // Within one `sent_at` second, records keep the order they were recorded in; two calls in
    // the same nanosecond are told apart by trying the next number.
    let mut key = String::new();
    for seq in now_ns.. {
        key = format!("{PREFIX}{}/{seq:020}", record.sent_at);
        if kv::get(&key)?.is_none() {
            break;
        }
    }
    kv::set_json(&key, &record)?;
    info!("recorded form {:?} for {} as {key}", record.form, record.sent_to());
    record.with_id(&key)
}

fn parse_record(input: &mut Map<String, Value>, caller: &Caller) -> Result<FormRecord, PluginError> {
    let form = take_string(input, "form")?.unwrap_or_default();
    let form = form.trim();
    if form.is_empty() {
        return Err(PluginError::invalid_input("form: the form's name is required"));
    }
    if form.chars().count() > MAX_FORM_NAME {
        return Err(PluginError::invalid_input(format!("form: at most {MAX_FORM_NAME} characters")));
    }
    let user_id = match input.remove("user_id") {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) => match n.as_i64() {
            Some(id) if id > 0 => Some(id),
            _ => return Err(PluginError::invalid_input("user_id: expected a positive integer")),
        },
        Some(_) => return Err(PluginError::invalid_input("user_id: expected a positive integer")),
    };
    let email = contact(input, "email")?;
    if email.as_deref().is_some_and(|e| !e.contains('@') || e.contains(char::is_whitespace)) {
        return Err(PluginError::invalid_input("email: expected an e-mail address"));
    }
    let phone = contact(input, "phone")?;
    if user_id.is_none() && email.is_none() && phone.is_none() {
        return Err(PluginError::invalid_input("user_id, email, phone: at least one is required"));
    }
    let sent_at = match take_string(input, "sent_at")? {
        None => time::now().0,
        Some(s) => time::parse_rfc3339(&s).map_err(|why| {
            PluginError::invalid_input(format!("sent_at: {why} (RFC 3339, e.g. 2024-05-01T08:00:00Z)"))
        })?,
    };
    if let Some(unknown) = input.keys().next() {
        return Err(PluginError::invalid_input(format!(
            "{unknown}: unknown field (expected form, user_id, email, phone, sent_at)"
        )));
    }
    Ok(FormRecord {
        form: form.to_owned(),
        user_id,
        email,
        phone,
        sent_at: time::format_utc(sent_at),
        recorded_by: caller.username.clone(),
    })
}

/// A string field, or `None` when absent or null.
fn take_string(input: &mut Map<String, Value>, field: &str) -> Result<Option<String>, PluginError> {
    match input.remove(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(PluginError::invalid_input(format!("{field}: expected a string"))),
    }
}

/// An e-mail address or phone number: trimmed, `None` when blank.
fn contact(input: &mut Map<String, Value>, field: &str) -> Result<Option<String>, PluginError> {
    let value = take_string(input, field)?.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
    if value.as_ref().is_some_and(|v| v.chars().count() > MAX_CONTACT) {
        return Err(PluginError::invalid_input(format!("{field}: at most {MAX_CONTACT} characters")));
    }
    Ok(value)
}

/// `{"forms": [...]}`, newest first, at most `limit` (default 50, at most 1000).
fn list_forms(input: &Map<String, Value>) -> Result<Value, PluginError> {
    let limit = match input.get("limit") {
        None | Some(Value::Null) => DEFAULT_LIMIT,
        Some(v) => match v.as_u64() {
            Some(n) if n >= 1 => usize::try_from(n).unwrap_or(MAX_LIMIT).min(MAX_LIMIT),
            _ => return Err(PluginError::invalid_input("limit: expected a positive integer")),
        },
    };
    if let Some(unknown) = input.keys().find(|k| *k != "limit") {
        return Err(PluginError::invalid_input(format!("{unknown}: unknown field (expected limit)")));
    }
    // Keys only, oldest first: find the last `limit` of them and the key just before them...
    let mut newest: Vec<String> = Vec::new();
    let mut before: Option<String> = None;
    for batch in kv::key_batches(PREFIX, BATCH) {
        newest.extend(batch?);
        if newest.len() > limit {
            let cut = newest.len() - limit;
            before = Some(newest[cut - 1].clone());
            newest.drain(..cut);
        }
    }
    // ...then read those records with their values in one scan (more only when they pass the
    // host's per-call size cap)
    let mut records = Vec::with_capacity(newest.len());
    let mut after = before;
    while records.len() < newest.len() {
        let batch = kv::scan(PREFIX, after.as_deref(), (newest.len() - records.len()) as u32)?;
        let Some((last, _)) = batch.last() else { break };
        after = Some(last.clone());
        records.extend(decode(batch)?);
    }
    records.reverse();
    let forms = records.iter().map(|(key, record)| record.with_id(key)).collect::<Result<Vec<_>, _>>()?;
    Ok(serde_json::json!({ "forms": forms }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(input: Value) -> Result<FormRecord, String> {
        let Value::Object(mut map) = input else { return Err("not an object".into()) };
        let caller = Caller { user_id: 1, username: "agent".into() };
        parse_record(&mut map, &caller).map_err(|e| e.message().to_owned())
    }

    #[test]
    fn a_full_record_is_normalized() {
        let record = parse(serde_json::json!({
            "form": "  NPS survey ", "user_id": 12, "email": " a@b.c ", "phone": "+44 20 7946 0000",
            "sent_at": "2024-05-01T10:00:00+02:00"
        }));
        assert_eq!(
            record,
            Ok(FormRecord {
                form: "NPS survey".into(),
                user_id: Some(12),
                email: Some("a@b.c".into()),
                phone: Some("+44 20 7946 0000".into()),
                sent_at: "2024-05-01T08:00:00Z".into(),
                recorded_by: "agent".into(),
            })
        );
    }

    #[test]
    fn mistakes_name_the_field() {
        let err = |v: Value| parse(v).expect_err("should fail");
        assert!(err(serde_json::json!({"email": "a@b.c"})).starts_with("form:"));
        assert!(err(serde_json::json!({"form": "   ", "email": "a@b.c"})).starts_with("form:"));
        assert!(err(serde_json::json!({"form": "x".repeat(201), "email": "a@b.c"})).starts_with("form:"));
        assert!(err(serde_json::json!({"form": "NPS"})).starts_with("user_id, email, phone:"));
        assert!(err(serde_json::json!({"form": "NPS", "email": "  "})).starts_with("user_id, email, phone:"));
        assert!(err(serde_json::json!({"form": "NPS", "user_id": "12"})).starts_with("user_id:"));
        assert!(err(serde_json::json!({"form": "NPS", "user_id": -1})).starts_with("user_id:"));
        assert!(err(serde_json::json!({"form": "NPS", "email": "nobody"})).starts_with("email:"));
        assert!(err(serde_json::json!({"form": "NPS", "phone": 44})).starts_with("phone:"));
        assert!(err(serde_json::json!({"form": "NPS", "phone": "1", "sent_at": "today"})).starts_with("sent_at:"));
        assert!(err(serde_json::json!({"form": "NPS", "phone": "1", "mail": "a@b.c"})).starts_with("mail:"));
        assert!(parse(serde_json::json!({"form": "x".repeat(200), "phone": "1"})).is_ok());
    }

    #[test]
    fn rows_read_like_the_tab() {
        let record = FormRecord {
            form: "NPS survey".into(),
            user_id: Some(12),
            email: Some("a@b.c".into()),
            phone: None,
            sent_at: "2024-05-01T08:00:00Z".into(),
            recorded_by: "agent".into(),
        };
        let matched = [
            MatchedBy { kind: "domain".into(), value: "example.com".into() },
            MatchedBy { kind: "email".into(), value: "a@b.c".into() },
        ];
        assert_eq!(
            row(&record, &matched),
            ["NPS survey", "user #12, a@b.c", "2024-05-01T08:00:00Z", "domain example.com, email a@b.c"]
        );
        let value = record.with_id("form/2024-05-01T08:00:00Z/00000000000000000001");
        let value = value.unwrap_or_default();
        assert_eq!(value["id"], "2024-05-01T08:00:00Z/00000000000000000001");
        assert_eq!(value["form"], "NPS survey");
        assert!(value.get("phone").is_none());
    }
}
