//! Text every front accepts: no control characters other than tab and line breaks (which
//! single-line fields refuse on their own). One check for every field of every JSON body,
//! every query parameter and every page form, so a NUL byte is a 422 naming the field on
//! SQLite and PostgreSQL alike (PostgreSQL text cannot even store it).

use super::{Error, Result};

/// `Err(why)` when `s` holds a control character other than tab, line feed or carriage return.
pub fn check_controls(s: &str) -> std::result::Result<(), String> {
    match s.chars().find(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r')) {
        None => Ok(()),
        Some(c) => Err(format!("must not contain control characters (found U+{:04X})", c as u32)),
    }
}

/// Checks every string (and key) of a JSON value; the error names the first bad one's path
/// (`emails[0].email`, `custom_fields.note`).
pub fn check_json(v: &serde_json::Value) -> Result<()> {
    fn walk(v: &serde_json::Value, path: &mut String) -> Result<()> {
        match v {
            serde_json::Value::String(s) => {
                check_controls(s).map_err(|why| Error::invalid(if path.is_empty() { "body" } else { path }, why))
            }
            serde_json::Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    let len = path.len();
                    path.push_str(&format!("[{i}]"));
                    walk(item, path)?;
                    path.truncate(len);
                }
                Ok(())
            }
            serde_json::Value::Object(map) => {
                for (k, item) in map {
                    let len = path.len();
                    if !path.is_empty() {
                        path.push('.');
                    }
                    path.push_str(k);
                    check_controls(k).map_err(|why| Error::invalid(path.as_str(), why))?;
                    walk(item, path)?;
                    path.truncate(len);
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }
    walk(v, &mut String::new())
}

/// A website as people type it (`https://acme.example/x`, `www.acme.example`): empty, or an
/// `http`/`https` URL with a host (a bare host gets `https://`). Anything else — `javascript:`,
/// `data:`, `file:` — is refused.
pub fn check_website(v: &str) -> std::result::Result<String, String> {
    let v = v.trim();
    if v.is_empty() {
        return Ok(String::new());
    }
    // `scheme:` followed by something other than a port number names its own scheme
    let names_scheme = v.split_once(':').is_some_and(|(scheme, rest)| {
        scheme.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
            && scheme.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
            && !rest.starts_with(|c: char| c.is_ascii_digit())
    });
    let candidate = if names_scheme { v.to_string() } else { format!("https://{v}") };
    match url::Url::parse(&candidate) {
        Ok(u) if (u.scheme() == "http" || u.scheme() == "https") && u.host_str().is_some_and(|h| !h.is_empty()) => {
            Ok(candidate)
        }
        Ok(u) if u.scheme() != "http" && u.scheme() != "https" => {
            Err(format!("must be an http or https address (not {}:)", u.scheme()))
        }
        _ => Err("is not a web address (e.g. https://example.com)".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn websites_are_http_or_https() {
        assert_eq!(check_website("https://acme.example/x").as_deref(), Ok("https://acme.example/x"));
        assert_eq!(check_website("www.acme.example").as_deref(), Ok("https://www.acme.example"));
        assert_eq!(check_website("acme.example:8080/x").as_deref(), Ok("https://acme.example:8080/x"));
        assert_eq!(check_website("").as_deref(), Ok(""));
        for bad in [
            "javascript:alert(1)",
            "JavaScript:alert(1)",
            "data:text/html,x",
            "file:///etc/passwd",
            "https://",
            "ftp://x.example",
        ] {
            assert!(check_website(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn controls_are_refused_with_the_field_named_and_line_breaks_kept() {
        assert!(check_controls("two\nlines\tand a tab\r\n").is_ok());
        assert!(check_controls("ab\u{0}cd").is_err());
        assert!(check_controls("bell\u{7}").is_err());
        assert!(check_controls("c1\u{85}").is_err());
        let v = serde_json::json!({"summary": "ok", "emails": [{"email": "a@b.c"}, {"email": "x\u{0}@b.c"}]});
        match check_json(&v) {
            Err(Error::Invalid(f)) => assert!(f.contains_key("emails[1].email"), "{f:?}"),
            other => panic!("{other:?}"),
        }
    }
}
