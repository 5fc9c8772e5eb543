//! Users (customers and agents): the fields of SPEC section 2, the input an API caller sends,
//! and the rules that turn input into a valid, normalized record.

use crate::clock::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::address::{normalize_email, normalize_phone};
use super::role::is_derived;
use super::{Checker, Result, UserId};

/// Limits on free text, in characters.
pub const MAX_USERNAME: usize = 100;
pub const MAX_DISPLAY_NAME: usize = 200;
pub const MAX_SHORT_TEXT: usize = 500;
pub const MAX_SUMMARY: usize = 10_000;
pub const MAX_SIGNATURE: usize = 20_000;
pub const MAX_LABEL: usize = 64;
pub const MAX_LABELS: usize = 100;
pub const MAX_EMAILS: usize = 50;
pub const MAX_PHONES: usize = 50;
pub const MAX_ROLES: usize = 50;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Email {
    pub email: String,
    pub primary: bool,
    pub verified: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum PhoneKind {
    Home,
    Cell,
    Work,
    Other,
}

impl PhoneKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PhoneKind::Home => "home",
            PhoneKind::Cell => "cell",
            PhoneKind::Work => "work",
            PhoneKind::Other => "other",
        }
    }
    pub fn parse(s: &str) -> PhoneKind {
        match s {
            "home" => PhoneKind::Home,
            "cell" => PhoneKind::Cell,
            "work" => PhoneKind::Work,
            _ => PhoneKind::Other,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Phone {
    pub kind: PhoneKind,
    /// E.164 (`+15551234567`).
    pub number: String,
    /// As it was typed.
    pub raw: String,
}

/// Everything about a user that can be written, in normalized form. Creating a user applies
/// the input over defaults; editing applies it over the stored record; both go through
/// [`UserInput::apply`], so one set of rules guards every write.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UserFields {
    pub username: String,
    pub display_name: String,
    pub auth_method: String,
    pub auth_domain: Option<String>,
    pub emails: Vec<Email>,
    pub phones: Vec<Phone>,
    pub time_zone: String,
    pub language: String,
    pub address: String,
    pub website: String,
    pub company: String,
    pub im: String,
    pub twitter: String,
    pub linkedin: String,
    pub facebook: String,
    pub avatar_provider: Option<String>,
    pub subscribe_community: bool,
    pub email_summaries: bool,
    pub email_conversations: bool,
    pub banned: bool,
    pub signature_html: String,
    pub summary: String,
    pub labels: Vec<String>,
    pub auto_responder: bool,
    /// A disabled user cannot log in by any method; their sessions end and tokens stop working.
    pub disabled: bool,
    /// Names of assigned roles (derived roles are never here).
    pub roles: Vec<String>,
    pub custom_fields: serde_json::Map<String, Value>,
    /// The person's colour scheme in Kith's pages: `system` (follow the device), `light`, `dark`.
    pub ui_theme: String,
    /// Whether single-key shortcuts work in the agent pages (WCAG 2.1.4: they can be switched off).
    pub keyboard_shortcuts: bool,
}

/// The colour schemes a person may choose for Kith's pages.
pub const UI_THEMES: [&str; 3] = ["system", "light", "dark"];

impl UserFields {
    /// A new user's starting point before the caller's input is applied.
    pub fn defaults(rules: &UserRules) -> Self {
        UserFields {
            username: String::new(),
            display_name: String::new(),
            auth_method: "password".into(),
            auth_domain: None,
            emails: Vec::new(),
            phones: Vec::new(),
            time_zone: rules.default_time_zone.clone(),
            language: rules.languages.first().cloned().unwrap_or_else(|| "en".into()),
            address: String::new(),
            website: String::new(),
            company: String::new(),
            im: String::new(),
            twitter: String::new(),
            linkedin: String::new(),
            facebook: String::new(),
            avatar_provider: None,
            subscribe_community: false,
            email_summaries: true,
            email_conversations: true,
            banned: false,
            signature_html: String::new(),
            summary: String::new(),
            labels: Vec::new(),
            auto_responder: false,
            disabled: false,
            roles: Vec::new(),
            custom_fields: serde_json::Map::new(),
            ui_theme: "system".into(),
            keyboard_shortcuts: true,
        }
    }

    /// The address notifications go to.
    pub fn primary_email(&self) -> Option<&Email> {
        self.emails.iter().find(|e| e.primary)
    }

    /// What is stored beside the fields, derived from them: lookup keys, the primary address
    /// and whether it (or any address) is verified, the search text, custom fields as JSON.
    pub fn derived(&self) -> Derived {
        let primary = self.primary_email();
        Derived {
            username_key: username_key(&self.username),
            username_skeleton: username_skeleton(&self.username),
            display_name_key: self.display_name.to_lowercase(),
            primary_email: primary.map(|e| e.email.clone()).unwrap_or_default(),
            primary_verified: primary.is_some_and(|e| e.verified),
            has_verified_email: self.emails.iter().any(|e| e.verified),
            search_text: self.search_text(),
            custom_fields: serde_json::Value::Object(self.custom_fields.clone()).to_string(),
        }
    }

    /// Lowercased text a search fragment is matched against: names, addresses, phones,
    /// company and labels, one per line.
    pub fn search_text(&self) -> String {
        let mut parts: Vec<String> = vec![self.display_name.to_lowercase(), self.username.to_lowercase()];
        parts.extend(self.emails.iter().map(|e| e.email.clone()));
        for p in &self.phones {
            parts.push(p.number.clone());
            parts.push(p.raw.to_lowercase());
        }
        parts.push(self.company.to_lowercase());
        parts.extend(self.labels.iter().map(|l| l.to_lowercase()));
        parts.retain(|p| !p.is_empty());
        parts.join("\n")
    }
}

/// The columns stored beside a user's fields, derived from them ([`UserFields::derived`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Derived {
    pub username_key: String,
    pub username_skeleton: String,
    pub display_name_key: String,
    pub primary_email: String,
    pub primary_verified: bool,
    pub has_verified_email: bool,
    pub search_text: String,
    pub custom_fields: String,
}

/// What the configuration says about valid users.
#[derive(Debug, Clone)]
pub struct UserRules {
    pub default_region: String,
    pub languages: Vec<String>,
    pub default_time_zone: String,
    pub password_min_length: usize,
    pub password_max_length: usize,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmailInput {
    pub email: String,
    #[serde(default)]
    pub primary: bool,
    #[serde(default)]
    pub verified: bool,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PhoneInput {
    #[serde(default = "other_kind")]
    pub kind: PhoneKind,
    pub number: String,
}

fn other_kind() -> PhoneKind {
    PhoneKind::Other
}

/// A user as a caller sends it to create or edit. Every field is optional; on edit a missing
/// field is left alone and `null` clears a clearable one.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserInput {
    pub username: Option<String>,
    pub display_name: Option<String>,
    pub auth_method: Option<String>,
    #[serde(default, deserialize_with = "super::present")]
    #[schema(value_type = Option<String>)]
    pub auth_domain: Option<Option<String>>,
    /// Write-only.
    pub password: Option<String>,
    pub emails: Option<Vec<EmailInput>>,
    pub phones: Option<Vec<PhoneInput>>,
    pub time_zone: Option<String>,
    pub language: Option<String>,
    #[serde(default, deserialize_with = "super::present")]
    #[schema(value_type = Option<String>)]
    pub address: Option<Option<String>>,
    #[serde(default, deserialize_with = "super::present")]
    #[schema(value_type = Option<String>)]
    pub website: Option<Option<String>>,
    #[serde(default, deserialize_with = "super::present")]
    #[schema(value_type = Option<String>)]
    pub company: Option<Option<String>>,
    #[serde(default, deserialize_with = "super::present")]
    #[schema(value_type = Option<String>)]
    pub im: Option<Option<String>>,
    #[serde(default, deserialize_with = "super::present")]
    #[schema(value_type = Option<String>)]
    pub twitter: Option<Option<String>>,
    #[serde(default, deserialize_with = "super::present")]
    #[schema(value_type = Option<String>)]
    pub linkedin: Option<Option<String>>,
    #[serde(default, deserialize_with = "super::present")]
    #[schema(value_type = Option<String>)]
    pub facebook: Option<Option<String>>,
    #[serde(default, deserialize_with = "super::present")]
    #[schema(value_type = Option<String>)]
    pub avatar_provider: Option<Option<String>>,
    pub subscribe_community: Option<bool>,
    pub email_summaries: Option<bool>,
    pub email_conversations: Option<bool>,
    pub banned: Option<bool>,
    #[serde(default, deserialize_with = "super::present")]
    #[schema(value_type = Option<String>)]
    pub signature_html: Option<Option<String>>,
    #[serde(default, deserialize_with = "super::present")]
    #[schema(value_type = Option<String>)]
    pub summary: Option<Option<String>>,
    pub labels: Option<Vec<String>>,
    pub auto_responder: Option<bool>,
    pub disabled: Option<bool>,
    pub roles: Option<Vec<String>>,
    #[schema(value_type = Option<Object>)]
    pub custom_fields: Option<serde_json::Map<String, Value>>,
    /// `system`, `light` or `dark`: the colour scheme of Kith's pages for this person.
    pub ui_theme: Option<String>,
    /// Single-key shortcuts in the agent pages on (default) or off.
    pub keyboard_shortcuts: Option<bool>,
    /// The version this edit was made over (as read in `version`): if the record has changed
    /// since, the edit is refused with 409 and nothing is written. Same as `If-Match`.
    pub version: Option<i64>,
}

impl UserInput {
    /// Applies this input over `base`, checking and normalizing every given field. All
    /// problems are reported together, each under its field's name.
    pub fn apply(&self, mut u: UserFields, rules: &UserRules) -> Result<UserFields> {
        let mut c = Checker::default();
        if let Some(v) = &self.username
            && let Some(name) = c.take("username", check_username(v))
        {
            u.username = name;
        }
        if u.username.is_empty() && !c.0.contains_key("username") {
            c.fail("username", "is required");
        }
        if let Some(v) = &self.display_name {
            let v = v.trim();
            c.max_len("display_name", v, MAX_DISPLAY_NAME);
            if v.chars().any(char::is_control) {
                c.fail("display_name", "must not contain control characters");
            }
            u.display_name = v.to_string();
        }
        if u.display_name.is_empty() {
            u.display_name = u.username.clone();
        }
        if let Some(v) = &self.auth_method
            && let Some(m) = c.take("auth_method", check_auth_method(v))
        {
            u.auth_method = m;
        }
        if let Some(v) = &self.auth_domain {
            let v = v.as_deref().map(str::trim).filter(|s| !s.is_empty());
            if let Some(d) = v {
                c.max_len("auth_domain", d, 255);
            }
            u.auth_domain = v.map(str::to_string);
        }
        if let Some(list) = &self.emails
            && let Some(emails) = check_emails(list, &mut c)
        {
            u.emails = emails;
        }
        if u.emails.is_empty() && !c.0.keys().any(|k| k.starts_with("emails")) {
            c.fail("emails", "at least one e-mail address is required");
        }
        if let Some(list) = &self.phones {
            if list.len() > MAX_PHONES {
                c.fail("phones", format!("at most {MAX_PHONES} phone numbers"));
            } else {
                let mut phones = Vec::new();
                for (i, p) in list.iter().enumerate() {
                    let field = format!("phones[{i}].number");
                    if let Some(number) = c.take(&field, normalize_phone(&p.number, &rules.default_region)) {
                        if phones.iter().any(|q: &Phone| q.number == number) {
                            c.fail(field, "is listed twice");
                        } else {
                            phones.push(Phone { kind: p.kind, number, raw: p.number.trim().to_string() });
                        }
                    }
                }
                u.phones = phones;
            }
        }
        if let Some(v) = &self.time_zone {
            match v.trim().parse::<chrono_tz::Tz>() {
                Ok(tz) => u.time_zone = tz.name().to_string(),
                Err(_) => c.fail("time_zone", format!("`{v}` is not an IANA time zone (e.g. Europe/Berlin)")),
            }
        }
        if let Some(v) = &self.language {
            match rules.languages.iter().find(|l| l.eq_ignore_ascii_case(v.trim())) {
                Some(l) => u.language = l.clone(),
                None => c.fail("language", format!("must be one of: {}", rules.languages.join(", "))),
            }
        }
        let contact = [
            ("address", &self.address, &mut u.address),
            ("website", &self.website, &mut u.website),
            ("company", &self.company, &mut u.company),
            ("im", &self.im, &mut u.im),
            ("twitter", &self.twitter, &mut u.twitter),
            ("linkedin", &self.linkedin, &mut u.linkedin),
            ("facebook", &self.facebook, &mut u.facebook),
        ];
        for (name, input, slot) in contact {
            if let Some(v) = input {
                let v = v.as_deref().unwrap_or("").trim();
                c.max_len(name, v, MAX_SHORT_TEXT);
                *slot = v.to_string();
            }
        }
        if self.website.is_some()
            && let Some(w) = c.take("website", super::text::check_website(&u.website))
        {
            u.website = w;
        }
        if let Some(v) = &self.avatar_provider {
            let v = v.as_deref().map(str::trim).filter(|s| !s.is_empty());
            if let Some(p) = v {
                c.max_len("avatar_provider", p, 100);
            }
            u.avatar_provider = v.map(str::to_string);
        }
        for (input, slot) in [
            (self.subscribe_community, &mut u.subscribe_community),
            (self.email_summaries, &mut u.email_summaries),
            (self.email_conversations, &mut u.email_conversations),
            (self.banned, &mut u.banned),
            (self.auto_responder, &mut u.auto_responder),
            (self.disabled, &mut u.disabled),
            (self.keyboard_shortcuts, &mut u.keyboard_shortcuts),
        ] {
            if let Some(v) = input {
                *slot = v;
            }
        }
        if let Some(v) = &self.ui_theme {
            match UI_THEMES.iter().find(|t| t.eq_ignore_ascii_case(v.trim())) {
                Some(t) => u.ui_theme = t.to_string(),
                None => c.fail("ui_theme", "must be system, light or dark"),
            }
        }
        if let Some(v) = &self.signature_html {
            let v = v.as_deref().unwrap_or("");
            c.max_len("signature_html", v, MAX_SIGNATURE);
            u.signature_html = sanitize_signature(v);
        }
        if let Some(v) = &self.summary {
            let v = v.as_deref().unwrap_or("");
            c.max_len("summary", v, MAX_SUMMARY);
            u.summary = v.to_string();
        }
        if let Some(list) = &self.labels
            && let Some(labels) = c.take("labels", check_labels(list))
        {
            u.labels = labels;
        }
        if let Some(list) = &self.roles
            && let Some(roles) = c.take("roles", check_role_names(list))
        {
            u.roles = roles;
        }
        if let Some(map) = &self.custom_fields {
            // checked against the definitions (and plugin field types) by the handler first
            super::custom_field::merge(&mut u.custom_fields, map);
        }
        if let Some(pw) = &self.password
            && let Err(why) = check_password(pw, &u.username, rules)
        {
            c.fail("password", why);
        }
        c.finish()?;
        Ok(u)
    }
}

/// Usernames: 1–100 characters, no spaces or control characters; compared ignoring case.
pub fn check_username(v: &str) -> Result<String, String> {
    use unicode_normalization::UnicodeNormalization;
    // compatibility forms folded (ＡＤＭＩＮ → ADMIN, ﬁ → fi), so one spelling is stored
    let v: String = v.trim().nfkc().collect();
    let v = v.as_str();
    if let Some(c) = v.chars().find(|c| is_default_ignorable(*c)) {
        return Err(format!("must not contain invisible characters (found U+{:04X})", c as u32));
    }
    if v.is_empty() {
        return Err("is required".into());
    }
    if v.chars().count() > MAX_USERNAME {
        return Err(format!("too long (at most {MAX_USERNAME} characters)"));
    }
    if v.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("must not contain spaces or control characters".into());
    }
    Ok(v.to_string())
}

/// The key a username is unique under (and looked up by at login): NFKC, lowercase.
pub fn username_key(v: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    v.trim().nfkc().collect::<String>().to_lowercase()
}

/// What a username looks like, for finding look-alikes: lowercased, decomposed, accents and
/// other combining marks dropped, then the UTS #39 confusables fold (`1` → `l`, `rn` → `m`'s
/// own fold, Cyrillic `а` → Latin `a`). Two usernames with one skeleton are too alike to tell apart.
pub fn username_skeleton(v: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    use unicode_normalization::char::is_combining_mark;
    let folded: String = username_key(v).nfd().filter(|c| !is_combining_mark(*c)).collect();
    unicode_security::skeleton(&folded).collect::<String>().to_lowercase()
}

/// Unicode's Default_Ignorable_Code_Point: characters that show nothing (zero-width spaces and
/// joiners, direction marks, variation selectors, the soft hyphen, tags).
fn is_default_ignorable(c: char) -> bool {
    matches!(c as u32,
        0x00AD | 0x034F | 0x061C | 0x115F..=0x1160 | 0x17B4..=0x17B5 | 0x180B..=0x180F | 0x200B..=0x200F
        | 0x202A..=0x202E | 0x2060..=0x206F | 0x3164 | 0xFE00..=0xFE0F | 0xFEFF | 0xFFA0 | 0xFFF0..=0xFFF8
        | 0x1BCA0..=0x1BCA3 | 0x1D173..=0x1D17A | 0xE0000..=0xE0FFF)
}

/// How a user logs in: `password`, or `ldap:`, `oauth:`, `plugin:` followed by a provider id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthMethod {
    Password,
    Ldap(String),
    OAuth(String),
    Plugin(String),
}

impl AuthMethod {
    /// Reads `auth_method` as stored or sent; ids are letters, digits, `-` and `_`.
    pub fn parse(v: &str) -> Result<AuthMethod, String> {
        const WHY: &str = "must be password, ldap:<provider>, oauth:<provider> or plugin:<plugin-id>";
        let v = v.trim();
        if v == "password" {
            return Ok(AuthMethod::Password);
        }
        let Some((kind, id)) = v.split_once(':') else { return Err(WHY.into()) };
        let id_ok = !id.is_empty()
            && id.len() <= 64
            && id.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
        if !id_ok {
            return Err(WHY.into());
        }
        match kind {
            "ldap" => Ok(AuthMethod::Ldap(id.into())),
            "oauth" => Ok(AuthMethod::OAuth(id.into())),
            "plugin" => Ok(AuthMethod::Plugin(id.into())),
            _ => Err(WHY.into()),
        }
    }
}

impl std::fmt::Display for AuthMethod {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AuthMethod::Password => f.write_str("password"),
            AuthMethod::Ldap(id) => write!(f, "ldap:{id}"),
            AuthMethod::OAuth(id) => write!(f, "oauth:{id}"),
            AuthMethod::Plugin(id) => write!(f, "plugin:{id}"),
        }
    }
}

/// `auth_method` as stored: checked by [`AuthMethod::parse`], written back in its one spelling.
pub fn check_auth_method(v: &str) -> Result<String, String> {
    AuthMethod::parse(v).map(|m| m.to_string())
}

fn check_emails(list: &[EmailInput], c: &mut Checker) -> Option<Vec<Email>> {
    if list.len() > MAX_EMAILS {
        c.fail("emails", format!("at most {MAX_EMAILS} addresses"));
        return None;
    }
    let mut out: Vec<Email> = Vec::new();
    let mut ok = true;
    for (i, e) in list.iter().enumerate() {
        let field = format!("emails[{i}].email");
        match normalize_email(&e.email) {
            Ok(n) if out.iter().any(|o| o.email == n.address) => {
                c.fail(field, "is listed twice");
                ok = false;
            }
            Ok(n) => out.push(Email { email: n.address, primary: e.primary, verified: e.verified }),
            Err(why) => {
                c.fail(field, why);
                ok = false;
            }
        }
    }
    match out.iter().filter(|e| e.primary).count() {
        0 => {
            if let Some(first) = out.first_mut() {
                first.primary = true;
            }
        }
        1 => {}
        _ => {
            c.fail("emails", "exactly one address can be primary");
            ok = false;
        }
    }
    ok.then_some(out)
}

pub(crate) fn check_labels(list: &[String]) -> Result<Vec<String>, String> {
    if list.len() > MAX_LABELS {
        return Err(format!("at most {MAX_LABELS} labels"));
    }
    let mut out: Vec<String> = Vec::new();
    for l in list {
        let l = l.trim();
        if l.is_empty() {
            return Err("a label cannot be empty".into());
        }
        if l.chars().count() > MAX_LABEL || l.chars().any(char::is_control) {
            return Err(format!("a label is at most {MAX_LABEL} characters without control characters"));
        }
        if !out.iter().any(|o| o.to_lowercase() == l.to_lowercase()) {
            out.push(l.to_string());
        }
    }
    out.sort_by_key(|l| l.to_lowercase());
    Ok(out)
}

fn check_role_names(list: &[String]) -> Result<Vec<String>, String> {
    if list.len() > MAX_ROLES {
        return Err(format!("at most {MAX_ROLES} roles"));
    }
    let mut out: Vec<String> = Vec::new();
    for r in list {
        let r = r.trim();
        if is_derived(r) {
            return Err(format!("`{r}` follows from the user's state and cannot be assigned"));
        }
        if !out.iter().any(|o| o.eq_ignore_ascii_case(r)) {
            out.push(r.to_string());
        }
    }
    Ok(out)
}

/// A small list of the passwords attackers try first; refused outright.
const COMMON_PASSWORDS: &[&str] = &[
    "password",
    "password1",
    "password123",
    "12345678",
    "123456789",
    "1234567890",
    "qwertyuiop",
    "qwerty123",
    "iloveyou",
    "11111111",
    "00000000",
    "abc12345",
    "letmein1",
    "welcome1",
    "admin123",
    "administrator",
    "passw0rd",
    "p@ssw0rd",
    "sunshine",
    "princess",
    "football",
    "baseball",
    "superman",
    "trustno1",
    "1q2w3e4r",
    "1qaz2wsx",
    "qwertyui",
    "asdfghjk",
    "zaq12wsx",
    "changeme",
    "whatever",
    "starwars",
    "dragon12",
    "monkey12",
    "master12",
    "87654321",
    "12341234",
    "michael1",
    "shadow12",
    "computer",
    "internet",
    "helpdesk",
];

/// The password policy: length in characters between the configured bounds, at most 512 bytes,
/// not a common password, not containing the username. No composition rules (ASVS 5 V6.2).
pub fn check_password(pw: &str, username: &str, rules: &UserRules) -> Result<(), String> {
    let chars = pw.chars().count();
    if chars < rules.password_min_length {
        return Err(format!("too short (at least {} characters)", rules.password_min_length));
    }
    if chars > rules.password_max_length || pw.len() > 512 {
        return Err(format!("too long (at most {} characters)", rules.password_max_length));
    }
    let lower = pw.to_lowercase();
    if COMMON_PASSWORDS.contains(&lower.as_str()) {
        return Err("is too common; choose another".into());
    }
    let name = username.to_lowercase();
    if name.chars().count() >= 3 && lower.contains(&name) {
        return Err("must not contain the username".into());
    }
    Ok(())
}

/// Cleans signature HTML with an allow-list: simple formatting, links to https and mailto
/// only, no scripts, styles, event handlers or embedded objects.
pub fn sanitize_signature(html: &str) -> String {
    let tags = [
        "a",
        "b",
        "strong",
        "i",
        "em",
        "u",
        "s",
        "p",
        "br",
        "div",
        "span",
        "ul",
        "ol",
        "li",
        "blockquote",
        "code",
        "pre",
        "hr",
        "img",
        "h1",
        "h2",
        "h3",
        "h4",
        "table",
        "thead",
        "tbody",
        "tr",
        "td",
        "th",
        "small",
        "sub",
        "sup",
    ];
    ammonia::Builder::empty()
        .add_tags(tags)
        .add_tag_attributes("a", ["href", "title"])
        .add_tag_attributes("img", ["src", "alt", "width", "height"])
        // images only from Kith itself: a remote one would tell its server who read the
        // signature and when (a tracking pixel); a `data:` one could carry anything
        .attribute_filter(|element, attribute, value| match (element, attribute) {
            ("img", "src") if !value.starts_with('/') || value.starts_with("//") => None,
            _ => Some(value.into()),
        })
        .add_tag_attributes("td", ["colspan", "rowspan"])
        .add_tag_attributes("th", ["colspan", "rowspan"])
        .url_schemes(["https", "mailto"].into())
        .link_rel(Some("noopener noreferrer nofollow"))
        .clean(html)
        .to_string()
}

/// A user as the API shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct User {
    pub id: UserId,
    pub username: String,
    pub display_name: String,
    pub auth_method: String,
    pub auth_domain: Option<String>,
    pub emails: Vec<Email>,
    pub phones: Vec<Phone>,
    pub time_zone: String,
    pub language: String,
    pub address: String,
    pub website: String,
    pub company: String,
    pub im: String,
    pub twitter: String,
    pub linkedin: String,
    pub facebook: String,
    pub avatar_provider: Option<String>,
    pub subscribe_community: bool,
    pub email_summaries: bool,
    pub email_conversations: bool,
    pub banned: bool,
    pub signature_html: String,
    pub summary: String,
    pub labels: Vec<String>,
    pub auto_responder: bool,
    /// A disabled user cannot log in by any method; their sessions end and tokens stop working.
    pub disabled: bool,
    /// Assigned roles followed by the derived ones that apply.
    pub roles: Vec<String>,
    /// Holds at least one agent role.
    pub is_agent: bool,
    #[schema(value_type = Object)]
    pub custom_fields: serde_json::Map<String, Value>,
    pub ui_theme: String,
    pub keyboard_shortcuts: bool,
    pub last_login_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// Raised by every edit of the fields above; send it back (`version` or `If-Match`) to
    /// make an edit apply only if nobody changed the record meanwhile.
    pub version: i64,
    /// Agent-only comments about the user (`GET /users/{id}/comments` lists them). Not in the
    /// JSON: `/me` answers with this same shape, and a person is not told how many notes
    /// agents keep about them.
    #[serde(skip)]
    pub comment_count: i64,
    /// The stored avatar's validator (an upload, or a provider's image Kith fetched): pages
    /// link `/api/v1/users/{id}/avatar?v=<etag>`, so a new image is never a cached old one.
    #[serde(skip)]
    pub avatar_etag: Option<String>,
    /// The stored avatar is an upload (which can be removed).
    #[serde(skip)]
    pub avatar_uploaded: bool,
}

/// How a person chose pages to look to them: read with their session on every request, so a
/// page needs no query of its own for them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Prefs {
    pub language: String,
    pub time_zone: String,
    /// `system`, `light` or `dark`.
    pub ui_theme: String,
    pub keyboard_shortcuts: bool,
    /// An agent's pinned and recently opened records, newest first.
    pub records: Vec<RecentRecord>,
}

/// A record an agent opened or pinned (the navigation lists them, as Zammad's user menu does).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct RecentRecord {
    /// `user` or `organization`.
    pub kind: String,
    pub id: i64,
    /// The name when last opened.
    pub name: String,
    #[serde(default)]
    pub pinned: bool,
}

/// How many recently opened (not pinned) records an agent's list keeps.
pub const RECENT_KEPT: usize = 15;
/// How many records an agent may pin.
pub const PINNED_MAX: usize = 20;

impl Prefs {
    /// The list read from its stored JSON (anything unreadable is an empty list).
    pub fn records_from(json: &str) -> Vec<RecentRecord> {
        serde_json::from_str(json).unwrap_or_default()
    }

    /// The list after opening a record: it moves to the front (keeping its pin), the unpinned
    /// beyond [`RECENT_KEPT`] fall off. `None` when nothing changes (it already leads, same name).
    pub fn opened(&self, kind: &str, id: i64, name: &str) -> Option<Vec<RecentRecord>> {
        if self.records.first().is_some_and(|r| r.kind == kind && r.id == id && r.name == name) {
            return None;
        }
        let pinned = self.records.iter().any(|r| r.kind == kind && r.id == id && r.pinned);
        let mut out = vec![RecentRecord { kind: kind.to_string(), id, name: name.to_string(), pinned }];
        out.extend(self.records.iter().filter(|r| !(r.kind == kind && r.id == id)).cloned());
        Some(Self::capped(out))
    }

    /// The list with a record pinned or unpinned; at most [`PINNED_MAX`] pinned.
    pub fn pinned(&self, kind: &str, id: i64, name: &str, pin: bool) -> Result<Vec<RecentRecord>, String> {
        if pin && self.records.iter().filter(|r| r.pinned && !(r.kind == kind && r.id == id)).count() >= PINNED_MAX {
            return Err(format!("at most {PINNED_MAX} pinned records: unpin one first"));
        }
        let mut out: Vec<RecentRecord> = self.records.clone();
        match out.iter_mut().find(|r| r.kind == kind && r.id == id) {
            Some(r) => r.pinned = pin,
            None => out.insert(0, RecentRecord { kind: kind.to_string(), id, name: name.to_string(), pinned: pin }),
        }
        Ok(Self::capped(out))
    }

    fn capped(list: Vec<RecentRecord>) -> Vec<RecentRecord> {
        let mut unpinned = 0;
        list.into_iter()
            .filter(|r| {
                if r.pinned {
                    return true;
                }
                unpinned += 1;
                unpinned <= RECENT_KEPT
            })
            .collect()
    }
}

impl User {
    /// The address notifications go to (as [`UserFields::primary_email`]).
    pub fn primary_email(&self) -> Option<&Email> {
        self.emails.iter().find(|e| e.primary)
    }

    /// The writable part, to apply an edit over.
    pub fn to_fields(&self) -> UserFields {
        UserFields {
            username: self.username.clone(),
            display_name: self.display_name.clone(),
            auth_method: self.auth_method.clone(),
            auth_domain: self.auth_domain.clone(),
            emails: self.emails.clone(),
            phones: self.phones.clone(),
            time_zone: self.time_zone.clone(),
            language: self.language.clone(),
            address: self.address.clone(),
            website: self.website.clone(),
            company: self.company.clone(),
            im: self.im.clone(),
            twitter: self.twitter.clone(),
            linkedin: self.linkedin.clone(),
            facebook: self.facebook.clone(),
            avatar_provider: self.avatar_provider.clone(),
            subscribe_community: self.subscribe_community,
            email_summaries: self.email_summaries,
            email_conversations: self.email_conversations,
            banned: self.banned,
            signature_html: self.signature_html.clone(),
            summary: self.summary.clone(),
            labels: self.labels.clone(),
            auto_responder: self.auto_responder,
            disabled: self.disabled,
            roles: self.roles.iter().filter(|r| !is_derived(r)).cloned().collect(),
            custom_fields: self.custom_fields.clone(),
            ui_theme: self.ui_theme.clone(),
            keyboard_shortcuts: self.keyboard_shortcuts,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> UserRules {
        UserRules {
            default_region: "US".into(),
            languages: vec!["en".into(), "de".into()],
            default_time_zone: "UTC".into(),
            password_min_length: 8,
            password_max_length: 128,
        }
    }

    #[test]
    fn signature_loses_scripts_handlers_and_javascript_urls() {
        let dirty = r#"<p onclick="x()">Hi<script>alert(1)</script><a href="javascript:alert(1)">x</a><a href="https://ok.example">ok</a><img src="http://track.example/p.gif"></p>"#;
        let clean = sanitize_signature(dirty);
        assert!(!clean.contains("script"), "{clean}");
        assert!(!clean.contains("onclick"), "{clean}");
        assert!(!clean.contains("javascript"), "{clean}");
        assert!(clean.contains("https://ok.example"), "{clean}");
        assert!(!clean.contains("http://track"), "{clean}");
    }

    #[test]
    fn one_primary_address_and_all_errors_named() {
        let input: UserInput = serde_json::from_value(serde_json::json!({
            "username": "jane",
            "emails": [{"email": "a@example.com", "primary": true}, {"email": "b@example.com", "primary": true}],
            "phones": [{"kind": "cell", "number": "nonsense"}],
            "time_zone": "Mars/Olympus",
            "language": "xx",
        }))
        .expect("shape");
        let Err(super::super::Error::Invalid(errs)) = input.apply(UserFields::defaults(&rules()), &rules()) else {
            panic!("should be refused")
        };
        for f in ["emails", "phones[0].number", "time_zone", "language"] {
            assert!(errs.contains_key(f), "{f} missing in {errs:?}");
        }
    }

    #[test]
    fn usernames_are_folded_and_invisible_characters_refused() {
        assert_eq!(check_username("ＡＤＭＩＮ").as_deref(), Ok("ADMIN"));
        assert!(check_username("adm\u{200b}in").is_err(), "zero-width space");
        assert!(check_username("ad\u{00ad}min").is_err(), "soft hyphen");
        for lookalike in ["ADMİN", "аdmin", "Admin", "ａｄｍｉｎ", "àdmin", "adrnin"] {
            assert_eq!(username_skeleton(lookalike), username_skeleton("admin"), "{lookalike}");
        }
        // UTS #39: a one looks like an l
        assert_eq!(username_skeleton("adm1n"), username_skeleton("admln"));
        assert_ne!(username_skeleton("adman"), username_skeleton("admin"));
        assert_ne!(username_skeleton("bob"), username_skeleton("rob"));
    }

    #[test]
    fn password_policy() {
        let mut u = UserFields::defaults(&rules());
        u.username = "jane".into();
        let r = rules();
        assert!(check_password("short", &u.username, &r).is_err());
        assert!(check_password("correct horse", &u.username, &r).is_ok());
        assert!(check_password(&"x".repeat(128), &u.username, &r).is_ok());
        assert!(check_password(&"x".repeat(129), &u.username, &r).is_err());
        assert!(check_password("Password123", &u.username, &r).is_err());
        assert!(check_password("my-jane-secret", &u.username, &r).is_err());
    }
}

/// A user's Statistics tab: how many of their records there are.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct UserStats {
    pub tickets: i64,
    pub tickets_open: i64,
    pub tickets_resolved: i64,
    pub chats: i64,
    pub calls: i64,
    /// The calls' time, in seconds.
    pub call_seconds: i64,
    pub surveys: i64,
}

/// One login, for a user's History tab.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LoginEvent {
    pub at: Timestamp,
    pub method: String,
    pub address: String,
}

/// A user's History tab: their last login (and the last ten) and their newest records' times.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct UserHistory {
    pub last_login_at: Option<Timestamp>,
    pub logins: Vec<LoginEvent>,
    pub last_ticket_at: Option<Timestamp>,
    pub last_chat_at: Option<Timestamp>,
    pub last_call_at: Option<Timestamp>,
    pub last_survey_at: Option<Timestamp>,
}
