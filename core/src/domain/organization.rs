//! Organizations and their membership rules: the rule kinds, how rule values are normalized,
//! and — in [`matches`] — exactly which records a rule pulls into each tab (SPEC section 3).

use crate::clock::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::address::{normalize_domain, normalize_email, normalize_phone};
use super::{Checker, Result};

macro_rules! id_types {
    ($($name:ident),*) => {$(
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, utoipa::ToSchema)]
        #[serde(transparent)]
        pub struct $name(pub i64);
    )*};
}
id_types!(OrganizationId, RuleId);

/// What a rule matches on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum RuleKind {
    Email,
    Username,
    Domain,
    Phone,
}

impl RuleKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RuleKind::Email => "email",
            RuleKind::Username => "username",
            RuleKind::Domain => "domain",
            RuleKind::Phone => "phone",
        }
    }
    pub fn parse(s: &str) -> Option<RuleKind> {
        match s {
            "email" => Some(RuleKind::Email),
            "username" => Some(RuleKind::Username),
            "domain" => Some(RuleKind::Domain),
            "phone" => Some(RuleKind::Phone),
            _ => None,
        }
    }
}

/// A membership rule as stored and shown.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Rule {
    pub id: RuleId,
    pub organization_id: OrganizationId,
    pub kind: RuleKind,
    /// Normalized: lowercase address, the username, punycode domain, E.164 phone.
    pub value: String,
    pub include_subdomains: bool,
    pub view_org_tickets: bool,
    /// The user a username rule names (None once that user is deleted).
    #[serde(skip)]
    pub user_id: Option<i64>,
}

/// A rule as a caller sends it.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleInput {
    pub kind: Option<String>,
    pub value: Option<String>,
    pub include_subdomains: Option<bool>,
    pub view_org_tickets: Option<bool>,
    /// Must be `true` to save a domain rule for a public mail provider (gmail.com, ...).
    #[serde(default)]
    pub confirm_public_domain: bool,
}

/// A rule's normalized content before it has an id. For username rules `value` is the
/// username as typed; the store resolves it to a user (unknown → 422).
#[derive(Debug, Clone, PartialEq)]
pub struct RuleSpec {
    pub kind: RuleKind,
    pub value: String,
    pub include_subdomains: bool,
    pub view_org_tickets: bool,
}

impl RuleInput {
    /// Checks and normalizes over `base` (an existing rule on edit, or nothing on create).
    pub fn apply(&self, base: Option<&RuleSpec>, default_region: &str, public_domains: &[String]) -> Result<RuleSpec> {
        let mut c = Checker::default();
        let kind = match (&self.kind, base) {
            (Some(k), _) => {
                c.take("kind", RuleKind::parse(k).ok_or_else(|| "must be email, username, domain or phone".into()))
            }
            (None, Some(b)) => Some(b.kind),
            (None, None) => {
                c.fail("kind", "is required");
                None
            }
        };
        if let (Some(b), Some(k)) = (base, kind)
            && b.kind != k
        {
            c.fail("kind", "a rule's kind cannot change; delete it and add another");
        }
        let raw = self.value.clone().or_else(|| base.map(|b| b.value.clone()));
        let value = match (kind, raw) {
            (_, None) => {
                c.fail("value", "is required");
                None
            }
            (None, Some(_)) => None,
            (Some(k), Some(v)) => c.take("value", normalize_rule_value(k, &v, default_region)),
        };
        let wildcard =
            kind == Some(RuleKind::Domain) && self.value.as_deref().is_some_and(|v| v.trim().starts_with("*."));
        let include_subdomains =
            wildcard || self.include_subdomains.or(base.map(|b| b.include_subdomains)).unwrap_or(false);
        let view_org_tickets = self.view_org_tickets.or(base.map(|b| b.view_org_tickets)).unwrap_or(false);
        if include_subdomains && kind.is_some_and(|k| k != RuleKind::Domain) {
            c.fail("include_subdomains", "only domain rules can include subdomains");
        }
        if view_org_tickets && kind == Some(RuleKind::Phone) {
            c.fail("view_org_tickets", "a phone rule cannot let users see the organization's tickets");
        }
        if let (Some(RuleKind::Domain), Some(v)) = (kind, &value) {
            let changed = base.is_none_or(|b| &b.value != v);
            if changed && public_domains.iter().any(|p| p == v) && !self.confirm_public_domain {
                c.fail(
                    "value",
                    format!("{v} is a public mail provider: a rule for it lumps strangers together; send \"confirm_public_domain\": true to save it anyway"),
                );
            } else if changed && is_public_suffix(v) && !self.confirm_public_domain {
                c.fail(
                    "value",
                    format!("{v} is a public suffix (like co.uk): a rule for it lumps strangers together; send \"confirm_public_domain\": true to save it anyway"),
                );
            }
        }
        c.finish()?;
        match (kind, value) {
            (Some(kind), Some(value)) => Ok(RuleSpec { kind, value, include_subdomains, view_org_tickets }),
            _ => Err(super::Error::invalid("value", "is required")),
        }
    }
}

/// The stored form of a rule value of `kind`.
pub fn normalize_rule_value(kind: RuleKind, raw: &str, default_region: &str) -> Result<String, String> {
    match kind {
        RuleKind::Email => normalize_email(raw).map(|e| e.address),
        RuleKind::Domain => {
            let raw = raw.trim();
            // `*.example.com` means example.com with its subdomains (RuleInput::apply sets that)
            let raw = raw.strip_prefix("*.").unwrap_or(raw);
            let raw = raw.strip_prefix('@').unwrap_or(raw);
            if raw.contains('@') || raw.contains('/') || raw.contains(':') {
                return Err("is not a domain name (write example.com)".into());
            }
            normalize_domain(raw)
        }
        RuleKind::Phone => normalize_phone(raw, default_region),
        RuleKind::Username => {
            let v = raw.trim();
            if v.is_empty() { Err("is required".into()) } else { Ok(v.to_string()) }
        }
    }
}

/// Whether `domain` (lowercase, punycode) is itself a public suffix — `com`, `co.uk`,
/// `github.io` — by the Public Suffix List compiled into Kith: nobody registers it, so a rule
/// for it would pull in strangers.
pub fn is_public_suffix(domain: &str) -> bool {
    psl::suffix_str(domain).is_some_and(|s| s == domain) && psl::domain_str(domain).is_none()
}

/// The domain of a stored (lowercase) address.
pub fn domain_of(address: &str) -> &str {
    address.rsplit_once('@').map_or("", |(_, d)| d)
}

/// An address domain and every parent of two or more labels: `a.b.acme.com` →
/// `[a.b.acme.com, b.acme.com, acme.com]`. What `record_domains` stores.
pub fn domain_and_parents(domain: &str) -> Vec<&str> {
    let mut out = vec![domain];
    let mut rest = domain;
    while let Some((_, parent)) = rest.split_once('.') {
        if !parent.contains('.') {
            break;
        }
        out.push(parent);
        rest = parent;
    }
    out
}

/// Whether an address domain is matched by a domain rule (never `notexample.com`).
pub fn domain_matches(address_domain: &str, rule_domain: &str, include_subdomains: bool) -> bool {
    address_domain == rule_domain
        || (include_subdomains
            && address_domain.len() > rule_domain.len()
            && address_domain.ends_with(rule_domain)
            && address_domain.as_bytes()[address_domain.len() - rule_domain.len() - 1] == b'.')
}

/// The tabs of an organization (and the kinds of record they list).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Tab {
    Users,
    Tickets,
    Chats,
    Calls,
    Surveys,
}

impl Tab {
    pub const ALL: [Tab; 5] = [Tab::Users, Tab::Tickets, Tab::Chats, Tab::Calls, Tab::Surveys];
    /// The `record_domains.kind` code.
    pub fn code(self) -> i64 {
        match self {
            Tab::Users => 1,
            Tab::Tickets => 2,
            Tab::Chats => 3,
            Tab::Calls => 4,
            Tab::Surveys => 5,
        }
    }
}

/// What a rule can be matched against in a record (all values normalized).
#[derive(Debug, Clone, Default)]
pub struct RecordFacts {
    /// The record's own id for the users tab; the linked account otherwise.
    pub user_id: Option<i64>,
    /// The record's addresses: a ticket's header list, a chat's, call's or survey's address,
    /// a user's addresses.
    pub emails: Vec<String>,
    /// A call's phone number, or a user's numbers on the users tab.
    pub phones: Vec<String>,
    /// The phone numbers of the linked account (tickets, chats, surveys).
    pub account_phones: Vec<String>,
}

/// Whether `rule` pulls a record with `facts` into `tab` — the SPEC 3 table, cell by cell.
/// `rule_user_emails` are the addresses of the user a username rule names.
pub fn matches(tab: Tab, rule: &Rule, rule_user_emails: &[String], facts: &RecordFacts) -> bool {
    let any_domain = || facts.emails.iter().any(|e| domain_matches(domain_of(e), &rule.value, rule.include_subdomains));
    let has_email = || facts.emails.iter().any(|e| e == &rule.value);
    let named_user = || rule.user_id.is_some() && facts.user_id == rule.user_id;
    match (tab, rule.kind) {
        (_, RuleKind::Domain) => any_domain(),
        (_, RuleKind::Email) => has_email(),
        (Tab::Calls, RuleKind::Username) => {
            rule.user_id.is_some() && facts.emails.iter().any(|e| rule_user_emails.contains(e))
        }
        (_, RuleKind::Username) => named_user(),
        (Tab::Calls | Tab::Users, RuleKind::Phone) => facts.phones.contains(&rule.value),
        (Tab::Tickets | Tab::Chats | Tab::Surveys, RuleKind::Phone) => facts.account_phones.contains(&rule.value),
    }
}

/// Which rule pulled a record in.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct MatchedBy {
    pub rule_id: RuleId,
    pub kind: RuleKind,
    pub value: String,
}

/// A record a tab lists: a user, or a ticket, chat, call or survey.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum TabRecord {
    User(Box<crate::domain::user::User>),
    Record(crate::domain::records::AnyRecord),
}

/// One row of a tab: the record itself (its own `id` and fields) and, on an organization's
/// tabs, the rules that pulled it in.
#[derive(Debug, Clone, Serialize)]
pub struct TabItem {
    #[serde(flatten)]
    pub record: TabRecord,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub matched_by: Option<Vec<MatchedBy>>,
}

/// An organization a user belongs to: the organization, its ticket count, and the rules that
/// make the user a member.
#[derive(Debug, Clone, Serialize)]
pub struct Membership {
    #[serde(flatten)]
    pub organization: Organization,
    pub ticket_count: i64,
    pub matched_by: Vec<MatchedBy>,
}

/// An organization as shown.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Organization {
    pub id: OrganizationId,
    pub name: String,
    pub website: String,
    pub phone: String,
    pub employees: String,
    pub address1: String,
    pub address2: String,
    pub city: String,
    pub state: String,
    pub zip: String,
    pub country: String,
    pub summary: String,
    pub labels: Vec<String>,
    #[schema(value_type = Object)]
    pub custom_fields: serde_json::Map<String, Value>,
    pub comment_count: i64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// Raised by every edit of the fields above; send it back (`version` or `If-Match`) to
    /// make an edit apply only if nobody changed the organization meanwhile.
    pub version: i64,
}

/// The writable fields of an organization, normalized.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct OrganizationFields {
    pub name: String,
    pub website: String,
    pub phone: String,
    pub employees: String,
    pub address1: String,
    pub address2: String,
    pub city: String,
    pub state: String,
    pub zip: String,
    pub country: String,
    pub summary: String,
    pub labels: Vec<String>,
    pub custom_fields: serde_json::Map<String, Value>,
}

impl Organization {
    pub fn to_fields(&self) -> OrganizationFields {
        OrganizationFields {
            name: self.name.clone(),
            website: self.website.clone(),
            phone: self.phone.clone(),
            employees: self.employees.clone(),
            address1: self.address1.clone(),
            address2: self.address2.clone(),
            city: self.city.clone(),
            state: self.state.clone(),
            zip: self.zip.clone(),
            country: self.country.clone(),
            summary: self.summary.clone(),
            labels: self.labels.clone(),
            custom_fields: self.custom_fields.clone(),
        }
    }
}

impl OrganizationFields {
    /// Lowercase name, website and phone (as typed and digits only), one per line.
    pub fn search_text(&self) -> String {
        let digits: String = self.phone.chars().filter(char::is_ascii_digit).collect();
        [self.name.to_lowercase(), self.website.to_lowercase(), self.phone.to_lowercase(), digits]
            .into_iter()
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// An organization as a caller sends it; on edit, missing fields stay and `null` clears.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrganizationInput {
    pub name: Option<String>,
    #[serde(default, deserialize_with = "super::present")]
    #[schema(value_type = Option<String>)]
    pub website: Option<Option<String>>,
    #[serde(default, deserialize_with = "super::present")]
    #[schema(value_type = Option<String>)]
    pub phone: Option<Option<String>>,
    /// A range such as `26-50`, or `1000+`.
    #[serde(default, deserialize_with = "super::present")]
    #[schema(value_type = Option<String>)]
    pub employees: Option<Option<String>>,
    #[serde(default, deserialize_with = "super::present")]
    #[schema(value_type = Option<String>)]
    pub address1: Option<Option<String>>,
    #[serde(default, deserialize_with = "super::present")]
    #[schema(value_type = Option<String>)]
    pub address2: Option<Option<String>>,
    #[serde(default, deserialize_with = "super::present")]
    #[schema(value_type = Option<String>)]
    pub city: Option<Option<String>>,
    #[serde(default, deserialize_with = "super::present")]
    #[schema(value_type = Option<String>)]
    pub state: Option<Option<String>>,
    #[serde(default, deserialize_with = "super::present")]
    #[schema(value_type = Option<String>)]
    pub zip: Option<Option<String>>,
    #[serde(default, deserialize_with = "super::present")]
    #[schema(value_type = Option<String>)]
    pub country: Option<Option<String>>,
    #[serde(default, deserialize_with = "super::present")]
    #[schema(value_type = Option<String>)]
    pub summary: Option<Option<String>>,
    pub labels: Option<Vec<String>>,
    #[schema(value_type = Option<Object>)]
    pub custom_fields: Option<serde_json::Map<String, Value>>,
    /// The version this edit was made over (as read in `version`): if the organization has
    /// changed since, the edit is refused with 409 and nothing is written. Same as `If-Match`.
    pub version: Option<i64>,
}

impl OrganizationInput {
    pub fn apply(&self, mut o: OrganizationFields) -> Result<OrganizationFields> {
        let mut c = Checker::default();
        if let Some(n) = &self.name {
            let n = n.trim();
            if n.is_empty() {
                c.fail("name", "is required");
            }
            c.max_len("name", n, 200);
            if n.chars().any(char::is_control) {
                c.fail("name", "must not contain control characters");
            }
            o.name = n.to_string();
        } else if o.name.is_empty() {
            c.fail("name", "is required");
        }
        let text = [
            ("website", &self.website, &mut o.website, 500),
            ("phone", &self.phone, &mut o.phone, 64),
            ("employees", &self.employees, &mut o.employees, 32),
            ("address1", &self.address1, &mut o.address1, 500),
            ("address2", &self.address2, &mut o.address2, 500),
            ("city", &self.city, &mut o.city, 200),
            ("state", &self.state, &mut o.state, 200),
            ("zip", &self.zip, &mut o.zip, 32),
            ("country", &self.country, &mut o.country, 200),
            ("summary", &self.summary, &mut o.summary, 10_000),
        ];
        for (name, input, slot, max) in text {
            if let Some(v) = input {
                let v = v.as_deref().unwrap_or("").trim();
                c.max_len(name, v, max);
                *slot = v.to_string();
            }
        }
        if self.website.is_some()
            && let Some(w) = c.take("website", super::text::check_website(&o.website))
        {
            o.website = w;
        }
        if !o.employees.is_empty() && !valid_employees(&o.employees) {
            c.fail("employees", "must be a range such as 26-50, or a number such as 1000+");
        }
        if let Some(list) = &self.labels {
            match super::user::check_labels(list) {
                Ok(l) => o.labels = l,
                Err(why) => c.fail("labels", why),
            }
        }
        if let Some(map) = &self.custom_fields {
            // checked against the definitions (and plugin field types) by the handler first
            super::custom_field::merge(&mut o.custom_fields, map);
        }
        c.finish()?;
        Ok(o)
    }
}

fn valid_employees(s: &str) -> bool {
    let num = |x: &str| !x.is_empty() && x.len() <= 9 && x.chars().all(|c| c.is_ascii_digit());
    if let Some(n) = s.strip_suffix('+') {
        return num(n);
    }
    match s.split_once('-') {
        Some((a, b)) => num(a) && num(b) && a.parse::<u64>().ok() <= b.parse::<u64>().ok(),
        None => num(s),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains_match_exactly_or_below_never_beside() {
        assert!(domain_matches("example.com", "example.com", false));
        assert!(!domain_matches("mail.example.com", "example.com", false));
        assert!(domain_matches("mail.example.com", "example.com", true));
        assert!(!domain_matches("notexample.com", "example.com", true));
        assert!(!domain_matches("example.com.evil", "example.com", true));
        assert_eq!(domain_and_parents("a.b.acme.co.uk"), ["a.b.acme.co.uk", "b.acme.co.uk", "acme.co.uk", "co.uk"]);
        assert_eq!(domain_and_parents("acme.com"), ["acme.com"]);
    }

    #[test]
    fn rule_values_are_normalized_and_checked() {
        let public = vec!["gmail.com".to_string()];
        let r = |kind: &str, value: &str| RuleInput {
            kind: Some(kind.into()),
            value: Some(value.into()),
            ..Default::default()
        };
        assert_eq!(
            r("domain", "Bücher.Example").apply(None, "US", &public).expect("ok").value,
            "xn--bcher-kva.example"
        );
        assert_eq!(r("domain", "@acme.com").apply(None, "US", &public).expect("ok").value, "acme.com");
        assert_eq!(r("email", "Bob@ACME.com").apply(None, "US", &public).expect("ok").value, "bob@acme.com");
        assert_eq!(r("phone", "(201) 555-0123").apply(None, "US", &public).expect("ok").value, "+12015550123");
        assert!(r("domain", "gmail.com").apply(None, "US", &public).is_err());
        let mut ok = r("domain", "gmail.com");
        ok.confirm_public_domain = true;
        assert!(ok.apply(None, "US", &public).is_ok());
        let mut phone = r("phone", "2015550123");
        phone.view_org_tickets = Some(true);
        assert!(phone.apply(None, "US", &public).is_err());
        assert!(r("domain", "not a domain").apply(None, "US", &public).is_err());
        assert!(r("email", "nope").apply(None, "US", &public).is_err());
        assert!(r("galaxy", "x").apply(None, "US", &public).is_err());
    }

    #[test]
    fn employee_ranges() {
        for ok in ["26-50", "1000+", "7", "1-1"] {
            assert!(valid_employees(ok), "{ok}");
        }
        for bad in ["50-26", "lots", "-5", "1-", "+"] {
            assert!(!valid_employees(bad), "{bad}");
        }
    }
}
