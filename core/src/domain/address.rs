//! E-mail addresses, domains and phone numbers: validated and brought to the one form Kith
//! stores and compares (lowercase, domains in ASCII/punycode, phones in E.164).

/// A valid address in stored form, with its domain split off for domain matching.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NormalEmail {
    pub address: String,
    pub domain: String,
}

/// Lowercases and checks an e-mail address; an internationalized domain becomes punycode.
pub fn normalize_email(raw: &str) -> Result<NormalEmail, String> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Err("is required".into());
    }
    if raw.len() > 254 {
        return Err("too long (at most 254 characters)".into());
    }
    let (local, domain) = raw.rsplit_once('@').ok_or("is not an e-mail address (no @)")?;
    if local.is_empty() || local.len() > 64 {
        return Err("is not an e-mail address (the part before @ must be 1 to 64 characters)".into());
    }
    let local_ok = local.chars().all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+/=?^_`{|}~.-".contains(c))
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..");
    if !local_ok {
        return Err("is not an e-mail address (unexpected characters before @)".into());
    }
    let domain = normalize_domain(domain).map_err(|e| format!("is not an e-mail address: {e}"))?;
    let address = format!("{}@{domain}", local.to_ascii_lowercase());
    Ok(NormalEmail { address, domain })
}

/// Lowercases a domain name, converts an internationalized one to punycode and checks its labels.
pub fn normalize_domain(raw: &str) -> Result<String, String> {
    let raw = raw.trim().trim_end_matches('.');
    if raw.is_empty() {
        return Err("the domain is empty".into());
    }
    let ascii = idna::domain_to_ascii(raw).map_err(|_| "the domain is not a valid name".to_string())?;
    if ascii.len() > 253 {
        return Err("the domain is too long".into());
    }
    let labels: Vec<&str> = ascii.split('.').collect();
    if labels.len() < 2 {
        return Err("the domain needs a dot (example.com)".into());
    }
    for label in &labels {
        let ok = !label.is_empty()
            && label.len() <= 63
            && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            && !label.starts_with('-')
            && !label.ends_with('-');
        if !ok {
            return Err(format!("the domain label `{label}` is not valid"));
        }
    }
    if labels.last().is_some_and(|tld| tld.chars().all(|c| c.is_ascii_digit())) {
        return Err("the domain's last label cannot be a number".into());
    }
    Ok(ascii)
}

/// A phone number in E.164 form (`+15551234567`), read with `default_region` when it has no
/// country code. Refuses text that is not a valid number for its region.
pub fn normalize_phone(raw: &str, default_region: &str) -> Result<String, String> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Err("is required".into());
    }
    if raw.len() > 64 {
        return Err("too long (at most 64 characters)".into());
    }
    let region = default_region.parse::<phonenumber::country::Id>().ok();
    let number = phonenumber::parse(region, raw).map_err(|_| "is not a phone number".to_string())?;
    if !phonenumber::is_valid(&number) {
        return Err("is not a valid phone number for its country".into());
    }
    Ok(number.format().mode(phonenumber::Mode::E164).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_lowercased_and_idn_domains_punycoded() {
        let e = normalize_email("  Jane.Doe@EXAMPLE.com ").expect("valid");
        assert_eq!(e.address, "jane.doe@example.com");
        assert_eq!(e.domain, "example.com");
        let e = normalize_email("info@Bücher.example").expect("valid");
        assert_eq!(e.address, "info@xn--bcher-kva.example");
        for bad in [
            "",
            "plain",
            "@example.com",
            "a@",
            "a@b",
            "a..b@example.com",
            "a b@example.com",
            "a@-x.com",
            "a@example.123",
        ] {
            assert!(normalize_email(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn phones_become_e164_with_the_default_region() {
        assert_eq!(normalize_phone("(201) 555-0123", "US").expect("valid"), "+12015550123");
        assert_eq!(normalize_phone("+44 20 7946 0958", "US").expect("valid"), "+442079460958");
        assert_eq!(normalize_phone("030 12345678", "DE").expect("valid"), "+493012345678");
        assert!(normalize_phone("call me", "US").is_err());
        assert!(normalize_phone("12", "US").is_err());
    }
}
