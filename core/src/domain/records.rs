//! Interaction records Kith takes in from the help desk around it: tickets, live chats, call
//! logs and surveys — the fields membership rules and the user tabs need.

use serde::{Deserialize, Serialize};

use super::address::{normalize_email, normalize_phone};
use super::{Checker, Result, UserId};
use crate::clock::{Millis, Timestamp};

/// A user's Tickets tab is shown open and resolved apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TicketState {
    /// Open and pending tickets.
    Open,
    /// Resolved and closed tickets.
    Resolved,
}

impl TicketState {
    /// `open` or `resolved`; `all` (or nothing) is no filter; anything else is `Err`.
    pub fn parse(s: Option<&str>) -> std::result::Result<Option<TicketState>, String> {
        match s {
            None | Some("" | "all") => Ok(None),
            Some("open") => Ok(Some(TicketState::Open)),
            Some("resolved") => Ok(Some(TicketState::Resolved)),
            Some(_) => Err("must be open or resolved".into()),
        }
    }

    /// The statuses this state covers.
    pub fn statuses(self) -> [TicketStatus; 2] {
        match self {
            TicketState::Open => [TicketStatus::Open, TicketStatus::Pending],
            TicketState::Resolved => [TicketStatus::Resolved, TicketStatus::Closed],
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum TicketStatus {
    Open,
    Pending,
    Resolved,
    Closed,
}

impl TicketStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            TicketStatus::Open => "open",
            TicketStatus::Pending => "pending",
            TicketStatus::Resolved => "resolved",
            TicketStatus::Closed => "closed",
        }
    }
    pub fn parse(s: &str) -> Option<TicketStatus> {
        match s {
            "open" => Some(TicketStatus::Open),
            "pending" => Some(TicketStatus::Pending),
            "resolved" => Some(TicketStatus::Resolved),
            "closed" => Some(TicketStatus::Closed),
            _ => None,
        }
    }
    /// Resolved and closed tickets are shown apart from open and pending ones.
    pub fn is_resolved(self) -> bool {
        matches!(self, TicketStatus::Resolved | TicketStatus::Closed)
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Ticket {
    pub id: i64,
    pub subject: String,
    pub status: TicketStatus,
    pub user_id: Option<UserId>,
    /// The header address list, lowercase.
    pub emails: Vec<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Chat {
    pub id: i64,
    pub user_id: Option<UserId>,
    pub email: Option<String>,
    pub started_at: Timestamp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    Inbound,
    Outbound,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Inbound => "inbound",
            Direction::Outbound => "outbound",
        }
    }
    pub fn parse(s: &str) -> Direction {
        if s == "outbound" { Direction::Outbound } else { Direction::Inbound }
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Call {
    pub id: i64,
    pub email: Option<String>,
    /// E.164.
    pub phone: Option<String>,
    pub direction: Direction,
    pub duration_secs: i64,
    pub at: Timestamp,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Survey {
    pub id: i64,
    pub user_id: Option<UserId>,
    pub email: Option<String>,
    pub name: String,
    pub score: Option<i64>,
    pub at: Timestamp,
}

/// A record of any kind, as the API shows it.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum AnyRecord {
    Ticket(Ticket),
    Chat(Chat),
    Call(Call),
    Survey(Survey),
}

/// Any interaction record as a caller sends it (each kind reads the fields it has). On edit a
/// missing field stays and `null` clears a clearable one.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordInput {
    pub subject: Option<String>,
    pub status: Option<String>,
    #[serde(default, deserialize_with = "super::present")]
    #[schema(value_type = Option<i64>)]
    pub user_id: Option<Option<i64>>,
    /// A ticket's header addresses.
    pub emails: Option<Vec<String>>,
    #[serde(default, deserialize_with = "super::present")]
    #[schema(value_type = Option<String>)]
    pub email: Option<Option<String>>,
    #[serde(default, deserialize_with = "super::present")]
    #[schema(value_type = Option<String>)]
    pub phone: Option<Option<String>>,
    pub direction: Option<String>,
    pub duration_secs: Option<i64>,
    pub name: Option<String>,
    #[serde(default, deserialize_with = "super::present")]
    #[schema(value_type = Option<i64>)]
    pub score: Option<Option<i64>>,
    /// When it happened (RFC 3339); defaults to now. Imports keep the help desk's times.
    pub created_at: Option<String>,
    pub started_at: Option<String>,
    pub at: Option<String>,
}

/// A record's normalized fields (the union of all kinds).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RecordFields {
    pub subject: String,
    pub status: Option<TicketStatus>,
    pub user_id: Option<i64>,
    pub emails: Vec<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub phone_raw: String,
    pub direction: Option<Direction>,
    pub duration_secs: i64,
    pub name: String,
    pub score: Option<i64>,
    pub at: Millis,
}

/// Which kind of record an input is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordKind {
    Ticket,
    Chat,
    Call,
    Survey,
}

impl RecordInput {
    /// Checks the fields `kind` has and refuses those it does not.
    pub fn apply(
        &self,
        kind: RecordKind,
        mut f: RecordFields,
        creating: bool,
        region: &str,
        now: Millis,
    ) -> Result<RecordFields> {
        use RecordKind::*;
        let mut c = Checker::default();
        let allowed: &[&str] = match kind {
            Ticket => &["subject", "status", "user_id", "emails", "created_at"],
            Chat => &["user_id", "email", "started_at"],
            Call => &["email", "phone", "direction", "duration_secs", "at"],
            Survey => &["user_id", "email", "name", "score", "at"],
        };
        let given = [
            ("subject", self.subject.is_some()),
            ("status", self.status.is_some()),
            ("user_id", self.user_id.is_some()),
            ("emails", self.emails.is_some()),
            ("email", self.email.is_some()),
            ("phone", self.phone.is_some()),
            ("direction", self.direction.is_some()),
            ("duration_secs", self.duration_secs.is_some()),
            ("name", self.name.is_some()),
            ("score", self.score.is_some()),
            ("created_at", self.created_at.is_some()),
            ("started_at", self.started_at.is_some()),
            ("at", self.at.is_some()),
        ];
        for (field, is_given) in given {
            if is_given && !allowed.contains(&field) {
                c.fail(field, "is not a field of this kind of record");
            }
        }
        if let Some(s) = &self.subject {
            let s = s.trim();
            if s.is_empty() {
                c.fail("subject", "is required");
            }
            c.max_len("subject", s, 500);
            f.subject = s.to_string();
        } else if creating && kind == Ticket {
            c.fail("subject", "is required");
        }
        if let Some(s) = &self.status {
            match TicketStatus::parse(s) {
                Some(st) => f.status = Some(st),
                None => c.fail("status", "must be open, pending, resolved or closed"),
            }
        } else if creating && kind == Ticket {
            f.status = Some(TicketStatus::Open);
        }
        if let Some(u) = self.user_id {
            if u.is_some_and(|id| id <= 0) {
                c.fail("user_id", "no such user");
            }
            f.user_id = u;
        }
        if let Some(list) = &self.emails {
            if list.len() > 100 {
                c.fail("emails", "at most 100 addresses");
            }
            let mut out: Vec<String> = Vec::new();
            for (i, e) in list.iter().enumerate() {
                if let Some(n) = c.take(format!("emails[{i}]"), normalize_email(e).map(|n| n.address))
                    && !out.contains(&n)
                {
                    out.push(n);
                }
            }
            f.emails = out;
        }
        if let Some(e) = &self.email {
            f.email = match e.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
                None => None,
                Some(v) => c.take("email", normalize_email(v).map(|n| n.address)),
            };
        }
        if let Some(p) = &self.phone {
            match p.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
                None => {
                    f.phone = None;
                    f.phone_raw.clear();
                }
                Some(v) => {
                    f.phone = c.take("phone", normalize_phone(v, region));
                    f.phone_raw = v.to_string();
                }
            }
        }
        if let Some(d) = &self.direction {
            match d.as_str() {
                "inbound" | "outbound" => f.direction = Some(Direction::parse(d)),
                _ => c.fail("direction", "must be inbound or outbound"),
            }
        } else if creating && kind == Call {
            f.direction = Some(Direction::Inbound);
        }
        if let Some(d) = self.duration_secs {
            if !(0..=31 * 86_400).contains(&d) {
                c.fail("duration_secs", "must be between 0 and 2678400");
            }
            f.duration_secs = d;
        }
        if let Some(n) = &self.name {
            let n = n.trim();
            if n.is_empty() {
                c.fail("name", "is required");
            }
            c.max_len("name", n, 200);
            f.name = n.to_string();
        } else if creating && kind == Survey {
            c.fail("name", "is required");
        }
        if let Some(s) = self.score {
            if s.is_some_and(|s| !(-1_000_000..=1_000_000).contains(&s)) {
                c.fail("score", "is out of range");
            }
            f.score = s;
        }
        for (field, value) in [("created_at", &self.created_at), ("started_at", &self.started_at), ("at", &self.at)] {
            if let Some(v) = value {
                match chrono::DateTime::parse_from_rfc3339(v) {
                    Ok(t) => f.at = t.timestamp_millis(),
                    Err(_) => c.fail(field, "must be an RFC 3339 time such as 2026-01-31T09:30:00Z"),
                }
            }
        }
        if creating && f.at == 0 {
            f.at = now;
        }
        match kind {
            Call if f.email.is_none()
                && f.phone.is_none()
                && !c.0.contains_key("phone")
                && !c.0.contains_key("email") =>
            {
                c.fail("phone", "a call needs a phone number or an address");
            }
            Chat | Survey if f.user_id.is_none() && f.email.is_none() && !c.0.contains_key("email") => {
                c.fail("email", "needs a user_id or an address");
            }
            _ => {}
        }
        c.finish()?;
        Ok(f)
    }
}
