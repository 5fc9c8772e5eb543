//! `plugin.toml`: what a plugin is, what it provides and what it may reach. Parsed strictly
//! (unknown keys are errors) and checked as a whole, so `kith plugin check` and the loader
//! report every problem at once, each naming its key.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::domain::role::Permission;

/// The `kith:plugin` API versions (major.minor) this server runs.
pub const SUPPORTED_API: &[&str] = &["0.1"];

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub plugin: PluginSection,
    #[serde(default)]
    pub capabilities: Capabilities,
    #[serde(default)]
    pub limits: Limits,
    #[serde(default)]
    pub field_types: Vec<FieldTypeDecl>,
    #[serde(default)]
    pub tabs: Vec<TabDecl>,
    #[serde(default)]
    pub actions: Vec<ActionDecl>,
    /// The settings an admin gives the plugin (a form in the admin UI), by key.
    #[serde(default)]
    pub config: BTreeMap<String, ConfigKey>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PluginSection {
    pub id: String,
    pub name: String,
    pub version: String,
    /// The `kith:plugin` version built against, `major.minor`.
    pub api: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub authors: Vec<String>,
    #[serde(default)]
    pub license: Option<String>,
    /// The component's file name, beside `plugin.toml`.
    pub wasm: String,
    /// Hex SHA-256 of the component; checked at load when present.
    #[serde(default)]
    pub sha256: Option<String>,
    pub provides: Vec<ExtensionPoint>,
}

/// The extension points of the `kith:plugin` world.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ExtensionPoint {
    AuthProvider,
    FieldType,
    AvatarProvider,
    OrgTab,
    Actions,
}

impl ExtensionPoint {
    pub fn as_str(self) -> &'static str {
        match self {
            ExtensionPoint::AuthProvider => "auth-provider",
            ExtensionPoint::FieldType => "field-type",
            ExtensionPoint::AvatarProvider => "avatar-provider",
            ExtensionPoint::OrgTab => "org-tab",
            ExtensionPoint::Actions => "actions",
        }
    }
}

impl fmt::Display for ExtensionPoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Capabilities {
    /// Origins the plugin may call through `wasi:http` once an admin grants them.
    #[serde(default)]
    pub allowed_outbound_hosts: Vec<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// Linear memory per call, MiB (clamped to `plugins.max_memory_mib`).
    pub memory_mib: Option<u32>,
    /// Wall time per call, ms (clamped to the hook's ceiling).
    pub timeout_ms: Option<u64>,
    /// Calls running at once.
    pub max_concurrency: Option<u32>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FieldTypeDecl {
    pub id: String,
    pub label: String,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TabDecl {
    pub id: String,
    pub title: String,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ActionDecl {
    pub name: String,
    /// The Kith permission an agent needs to call it (`users_edit`, ...).
    pub permission: String,
}

impl ActionDecl {
    pub fn permission(&self) -> Option<Permission> {
        Permission::parse(&self.permission)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ConfigType {
    String,
    Bool,
    Integer,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigKey {
    #[serde(rename = "type")]
    pub kind: ConfigType,
    #[serde(default)]
    pub required: bool,
    /// Never shown back or logged once set.
    #[serde(default)]
    pub secret: bool,
    #[serde(default)]
    pub default: Option<toml::Value>,
    #[serde(default)]
    pub description: String,
}

impl ConfigKey {
    /// A value an admin sent, as the plugin reads it (`config.get` returns strings).
    pub fn accept(&self, v: &serde_json::Value) -> Result<String, String> {
        match (self.kind, v) {
            (ConfigType::String, serde_json::Value::String(s)) if s.len() <= 4096 => Ok(s.clone()),
            (ConfigType::String, serde_json::Value::String(_)) => Err("is longer than 4096 bytes".into()),
            (ConfigType::Bool, serde_json::Value::Bool(b)) => Ok(b.to_string()),
            (ConfigType::Integer, serde_json::Value::Number(n)) if n.is_i64() => Ok(n.to_string()),
            (ConfigType::String, _) => Err("must be a string".into()),
            (ConfigType::Bool, _) => Err("must be true or false".into()),
            (ConfigType::Integer, _) => Err("must be an integer".into()),
        }
    }

    /// The default as the plugin reads it.
    pub fn default_text(&self) -> Option<String> {
        self.default.as_ref().map(|v| match v {
            toml::Value::String(s) => s.clone(),
            other => other.to_string(),
        })
    }
}

/// One entry of `allowed_outbound_hosts`: `scheme://host[:port]`, `host` possibly `*.domain`,
/// `port` possibly `*`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HostPattern {
    pub scheme: String,
    /// Lower case; a leading `*.` matches any subdomain (not the domain itself).
    pub host: String,
    /// `None` = any port.
    pub port: Option<u16>,
}

impl HostPattern {
    /// Parses one entry; the error shows the corrected form where one can be guessed.
    pub fn parse(raw: &str) -> Result<HostPattern, String> {
        let s = raw.trim().trim_end_matches('/');
        let Some((scheme, rest)) = s.split_once("://") else {
            return Err(format!("{raw:?} has no scheme: did you mean \"https://{s}\"?"));
        };
        let scheme = scheme.to_ascii_lowercase();
        if scheme != "https" && scheme != "http" {
            return Err(format!("{raw:?}: only http:// and https:// hosts can be allowed"));
        }
        if rest.contains('/') || rest.contains('?') || rest.contains('#') || rest.contains('@') {
            let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
            return Err(format!("{raw:?} names more than an origin: did you mean \"{scheme}://{host}\"?"));
        }
        let (host, port) = match rest.rsplit_once(':') {
            Some((h, p)) if !h.ends_with(']') && !h.contains(':') || h.ends_with(']') => (h, Some(p)),
            _ => (rest, None),
        };
        let port = match port {
            None => Some(if scheme == "https" { 443 } else { 80 }),
            Some("*") => None,
            Some(p) => Some(p.parse::<u16>().map_err(|_| format!("{raw:?}: {p:?} is not a port number"))?),
        };
        let host = host.to_ascii_lowercase();
        let bare = host.strip_prefix("*.").unwrap_or(&host);
        let valid_char = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '.';
        let is_ip6 = bare
            .strip_prefix('[')
            .and_then(|b| b.strip_suffix(']'))
            .is_some_and(|b| b.parse::<std::net::Ipv6Addr>().is_ok());
        if bare.is_empty() || (!is_ip6 && !bare.chars().all(valid_char)) || bare.contains('*') {
            return Err(format!("{raw:?}: {host:?} is not a host name"));
        }
        Ok(HostPattern { scheme, host, port })
    }

    /// Whether a request to `scheme://host:port` falls under this entry.
    pub fn allows(&self, scheme: &str, host: &str, port: u16) -> bool {
        if !self.scheme.eq_ignore_ascii_case(scheme) || self.port.is_some_and(|p| p != port) {
            return false;
        }
        let host = host.to_ascii_lowercase();
        // an IPv6 literal matches with or without its brackets
        let host = host.trim_end_matches('.').trim_start_matches('[').trim_end_matches(']');
        match self.host.strip_prefix("*.") {
            Some(domain) => {
                host.len() > domain.len() + 1 && host.ends_with(domain) && {
                    let cut = host.len() - domain.len() - 1;
                    host.as_bytes()[cut] == b'.'
                }
            }
            None => host == self.host.trim_start_matches('[').trim_end_matches(']'),
        }
    }
}

impl fmt::Display for HostPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.port {
            Some(p) => write!(f, "{}://{}:{}", self.scheme, self.host, p),
            None => write!(f, "{}://{}:*", self.scheme, self.host),
        }
    }
}

/// Problems found in a manifest, each naming its key.
#[derive(Debug, Default)]
pub struct Problems(pub Vec<String>);

impl Problems {
    fn add(&mut self, key: &str, message: impl fmt::Display) {
        self.0.push(format!("{key}: {message}"));
    }
}

impl fmt::Display for Problems {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.join("; "))
    }
}

fn is_slug(s: &str, max: usize) -> bool {
    !s.is_empty()
        && s.len() <= max
        && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
}

impl Manifest {
    /// Parses and checks `plugin.toml`.
    pub fn parse(text: &str) -> Result<Manifest, String> {
        let m: Manifest = toml::from_str(text).map_err(|e| format!("plugin.toml: {}", e.message()))?;
        let problems = m.problems();
        if problems.0.is_empty() { Ok(m) } else { Err(format!("plugin.toml: {problems}")) }
    }

    pub fn id(&self) -> &str {
        &self.plugin.id
    }

    pub fn provides(&self, point: ExtensionPoint) -> bool {
        self.plugin.provides.contains(&point)
    }

    /// The parsed `allowed_outbound_hosts` (valid after [`Manifest::parse`]).
    pub fn outbound_hosts(&self) -> Vec<HostPattern> {
        self.capabilities.allowed_outbound_hosts.iter().filter_map(|h| HostPattern::parse(h).ok()).collect()
    }

    fn problems(&self) -> Problems {
        let mut p = Problems::default();
        let s = &self.plugin;
        if !is_slug(&s.id, 64) {
            p.add("plugin.id", "use 1-64 of a-z, 0-9 and '-' (not first)");
        }
        if s.name.trim().is_empty() || s.name.len() > 200 {
            p.add("plugin.name", "must be 1-200 characters");
        }
        if s.version.trim().is_empty() || s.version.len() > 64 {
            p.add("plugin.version", "must be 1-64 characters");
        }
        if !SUPPORTED_API.contains(&s.api.as_str()) {
            p.add(
                "plugin.api",
                format!(
                    "the plugin is built for kith:plugin {}; this server supports {}",
                    s.api,
                    SUPPORTED_API.join(", ")
                ),
            );
        }
        if s.wasm.is_empty() || s.wasm.contains(['/', '\\']) || s.wasm.starts_with('.') || !s.wasm.ends_with(".wasm") {
            p.add("plugin.wasm", "must be a file name ending in .wasm beside plugin.toml");
        }
        if let Some(h) = &s.sha256
            && (h.len() != 64 || !h.bytes().all(|b| b.is_ascii_hexdigit()))
        {
            p.add("plugin.sha256", "must be 64 hex digits");
        }
        if s.provides.is_empty() {
            p.add("plugin.provides", "name at least one extension point");
        }
        for (i, point) in s.provides.iter().enumerate() {
            if s.provides[..i].contains(point) {
                p.add("plugin.provides", format!("{point} is listed twice"));
            }
        }
        for h in &self.capabilities.allowed_outbound_hosts {
            if let Err(e) = HostPattern::parse(h) {
                p.add("capabilities.allowed_outbound_hosts", e);
            }
        }
        if self.limits.memory_mib.is_some_and(|m| m == 0) {
            p.add("limits.memory_mib", "must be at least 1");
        }
        if self.limits.timeout_ms.is_some_and(|m| m == 0) {
            p.add("limits.timeout_ms", "must be at least 1");
        }
        if self.limits.max_concurrency.is_some_and(|m| m == 0) {
            p.add("limits.max_concurrency", "must be at least 1");
        }
        self.declared(
            &mut p,
            ExtensionPoint::FieldType,
            "field_types",
            self.field_types.iter().map(|f| (f.id.as_str(), f.label.as_str())),
        );
        self.declared(
            &mut p,
            ExtensionPoint::OrgTab,
            "tabs",
            self.tabs.iter().map(|t| (t.id.as_str(), t.title.as_str())),
        );
        self.declared(
            &mut p,
            ExtensionPoint::Actions,
            "actions",
            self.actions.iter().map(|a| (a.name.as_str(), a.permission.as_str())),
        );
        for a in &self.actions {
            if a.permission().is_none() {
                p.add("actions.permission", format!("{:?} is not a Kith permission", a.permission));
            }
        }
        for (key, c) in &self.config {
            if !key.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_') || key.is_empty() {
                p.add(&format!("config.{key}"), "keys use a-z, 0-9 and '_'");
            }
            let default_ok = matches!(
                (&c.default, c.kind),
                (None, _)
                    | (Some(toml::Value::String(_)), ConfigType::String)
                    | (Some(toml::Value::Boolean(_)), ConfigType::Bool)
                    | (Some(toml::Value::Integer(_)), ConfigType::Integer)
            );
            if !default_ok {
                p.add(&format!("config.{key}.default"), "does not have the key's type");
            }
        }
        p
    }

    /// `[[field_types]]`, `[[tabs]]` and `[[actions]]` exist exactly when their extension point
    /// is provided, with unique slugs.
    fn declared<'a>(
        &self,
        p: &mut Problems,
        point: ExtensionPoint,
        key: &str,
        items: impl Iterator<Item = (&'a str, &'a str)>,
    ) {
        let items: Vec<_> = items.collect();
        match (self.provides(point), items.is_empty()) {
            (true, true) => p.add(key, format!("{point} is provided: declare at least one")),
            (false, false) => p.add(key, format!("declared, but plugin.provides does not name {point}")),
            _ => {}
        }
        for (i, (id, text)) in items.iter().enumerate() {
            if !is_slug(id, 64) {
                p.add(key, format!("{id:?} is not a valid id (a-z, 0-9, '-')"));
            }
            if items[..i].iter().any(|(other, _)| other == id) {
                p.add(key, format!("{id:?} is declared twice"));
            }
            if text.trim().is_empty() || text.len() > 200 {
                p.add(key, format!("{id:?} needs a label of 1-200 characters"));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
[plugin]
id = "forms"
name = "Forms"
version = "0.1.0"
api = "0.1"
wasm = "kith_forms.wasm"
provides = ["org-tab", "actions"]

[capabilities]
allowed_outbound_hosts = ["https://*.example.com", "http://127.0.0.1:8080/"]

[[tabs]]
id = "forms"
title = "Forms"

[[actions]]
name = "record-form"
permission = "users_edit"

[config.endpoint]
type = "string"
required = true
"#;

    #[test]
    fn a_good_manifest_parses() -> Result<(), String> {
        let m = Manifest::parse(GOOD)?;
        assert_eq!(m.id(), "forms");
        assert!(m.provides(ExtensionPoint::OrgTab));
        let hosts = m.outbound_hosts();
        assert_eq!(hosts.len(), 2);
        assert!(hosts[0].allows("https", "api.example.com", 443));
        assert!(!hosts[0].allows("https", "example.com", 443));
        assert!(!hosts[0].allows("https", "notexample.com", 443));
        assert!(!hosts[0].allows("http", "api.example.com", 80));
        assert!(hosts[1].allows("http", "127.0.0.1", 8080));
        assert!(!hosts[1].allows("http", "127.0.0.1", 8081));
        Ok(())
    }

    #[test]
    fn problems_name_their_keys() {
        let bad =
            GOOD.replace("id = \"forms\"\nname", "id = \"Forms!\"\nname").replace("api = \"0.1\"", "api = \"9.0\"");
        let e = Manifest::parse(&bad).err().unwrap_or_default();
        assert!(e.contains("plugin.id"), "{e}");
        assert!(e.contains("kith:plugin 9.0; this server supports 0.1"), "{e}");
        let e = Manifest::parse(&GOOD.replace("[[tabs]]\nid = \"forms\"\ntitle = \"Forms\"\n", ""))
            .err()
            .unwrap_or_default();
        assert!(e.contains("tabs: org-tab is provided"), "{e}");
        let e = Manifest::parse(&format!("{GOOD}\nsurprise = 1\n")).err().unwrap_or_default();
        assert!(e.contains("unknown field"), "{e}");
        let e = Manifest::parse(&GOOD.replace("users_edit", "be_root")).err().unwrap_or_default();
        assert!(e.contains("actions.permission"), "{e}");
    }

    #[test]
    fn host_entries_explain_the_fix() {
        assert_eq!(
            HostPattern::parse("api.crm.com").err().unwrap_or_default(),
            "\"api.crm.com\" has no scheme: did you mean \"https://api.crm.com\"?"
        );
        assert!(HostPattern::parse("https://a.com/path").err().unwrap_or_default().contains("\"https://a.com\""));
        assert!(HostPattern::parse("ftp://a.com").is_err());
        assert!(HostPattern::parse("https://a.com:99999").is_err());
        let any_port = HostPattern::parse("HTTPS://API.Example.COM:*").unwrap_or_else(|e| panic!("{e}"));
        assert!(any_port.allows("https", "api.example.com", 8443));
        // IPv6 literals: granted with brackets, asked for with or without them
        let v6 = HostPattern::parse("http://[::1]:9000").unwrap_or_else(|e| panic!("{e}"));
        assert!(v6.allows("http", "[::1]", 9000) && v6.allows("http", "::1", 9000));
        assert!(HostPattern::parse("http://[not-an-address]:9000").is_err());
    }
}
