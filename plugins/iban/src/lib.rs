//! Kith plugin: an `iban` field type. Validation strips spaces, upper-cases, checks the country's
//! IBAN length and the ISO 7064 mod-97 checksum, and stores the compact form (`DE89370400440532013000`);
//! pages show it in groups of four (`DE89 3704 0044 0532 0130 00`).

use kith_plugin_sdk::prelude::*;

/// The plugin type registered with Kith.
pub struct Iban;

impl FieldType for Iban {
    fn validate(_field: FieldInfo, value: String) -> Result<String, String> {
        normalize(&value).map_err(|reason| format!("not a valid IBAN: {reason}"))
    }

    fn format(_field: FieldInfo, value: String) -> Result<String, PluginError> {
        Ok(group(&compact(&value)))
    }
}

kith_plugin_sdk::export!(Iban);

/// IBAN lengths by country code, from the SWIFT IBAN registry (territories that use another
/// country's code, such as Guernsey with GB or Åland with FI, are covered by that code).
#[rustfmt::skip]
const LENGTHS: &[(&str, usize)] = &[
    ("AD", 24), ("AE", 23), ("AL", 28), ("AT", 20), ("AZ", 28), ("BA", 20), ("BE", 16), ("BG", 22),
    ("BH", 22), ("BI", 27), ("BR", 29), ("BY", 28), ("CH", 21), ("CR", 22), ("CY", 28), ("CZ", 24),
    ("DE", 22), ("DJ", 27), ("DK", 18), ("DO", 28), ("EE", 20), ("EG", 29), ("ES", 24), ("FI", 18),
    ("FK", 18), ("FO", 18), ("FR", 27), ("GB", 22), ("GE", 22), ("GI", 23), ("GL", 18), ("GR", 27),
    ("GT", 28), ("HN", 28), ("HR", 21), ("HU", 28), ("IE", 22), ("IL", 23), ("IQ", 23), ("IS", 26),
    ("IT", 27), ("JO", 30), ("KW", 30), ("KZ", 20), ("LB", 28), ("LC", 32), ("LI", 21), ("LT", 20),
    ("LU", 20), ("LV", 21), ("LY", 25), ("MC", 27), ("MD", 24), ("ME", 22), ("MK", 19), ("MN", 20),
    ("MR", 27), ("MT", 31), ("MU", 30), ("NI", 28), ("NL", 18), ("NO", 15), ("OM", 23), ("PK", 24),
    ("PL", 28), ("PS", 29), ("PT", 25), ("QA", 29), ("RO", 24), ("RS", 22), ("RU", 33), ("SA", 24),
    ("SC", 31), ("SD", 18), ("SE", 24), ("SI", 19), ("SK", 24), ("SM", 27), ("SO", 23), ("ST", 25),
    ("SV", 28), ("TL", 23), ("TN", 24), ("TR", 26), ("UA", 29), ("VA", 22), ("VG", 24), ("XK", 20),
    ("YE", 30),
];

/// Whitespace removed, letters upper-cased.
fn compact(value: &str) -> String {
    value.chars().filter(|c| !c.is_whitespace()).map(|c| c.to_ascii_uppercase()).collect()
}

/// The compact IBAN, or why `value` is not one.
fn normalize(value: &str) -> Result<String, String> {
    let mut iban = compact(value);
    // People paste "IBAN DE89 …" from statements; "IB" is no country code, so this is safe.
    if let Some(rest) = iban.strip_prefix("IBAN") {
        iban = rest.to_owned();
    }
    if iban.is_empty() {
        return Err("it is empty".into());
    }
    if let Some(bad) = iban.chars().find(|c| !c.is_ascii_alphanumeric()) {
        return Err(format!("{bad:?} is not a letter or digit"));
    }
    let country = iban.get(..2).filter(|c| c.chars().all(|c| c.is_ascii_uppercase()));
    let Some(country) = country else {
        return Err("it must start with a two-letter country code".into());
    };
    let Some(&(_, length)) = LENGTHS.iter().find(|(code, _)| *code == country) else {
        return Err(format!("{country} is not a country that uses IBANs"));
    };
    if iban.len() != length {
        return Err(format!("{country} IBANs have {length} characters, this one has {}", iban.len()));
    }
    if !iban[2..4].chars().all(|c| c.is_ascii_digit()) {
        return Err("the two characters after the country code must be digits".into());
    }
    if mod97(&iban) != 1 {
        return Err("the check digits do not match (a typo?)".into());
    }
    Ok(iban)
}

/// ISO 7064 MOD 97-10 of an upper-case alphanumeric IBAN: the first four characters moved to
/// the end, letters read as 10..=35, digit by digit so no big integers are needed.
fn mod97(iban: &str) -> u32 {
    let (head, tail) = iban.split_at(4);
    tail.chars().chain(head.chars()).fold(0, |rem, c| {
        // `to_digit(36)` maps 0-9 to 0..=9 and A-Z to 10..=35; callers passed only alphanumerics.
        let n = c.to_digit(36).unwrap_or(0);
        if n < 10 { (rem * 10 + n) % 97 } else { (rem * 100 + n) % 97 }
    })
}

/// Groups of four separated by spaces, the way IBANs are printed.
fn group(compact: &str) -> String {
    let mut out = String::with_capacity(compact.len() + compact.len() / 4);
    for (i, c) in compact.chars().enumerate() {
        if i > 0 && i % 4 == 0 {
            out.push(' ');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field() -> FieldInfo {
        FieldInfo { type_id: "iban".into(), settings_json: "{}".into() }
    }

    fn validate(value: &str) -> Result<String, String> {
        Iban::validate(field(), value.into())
    }

    #[test]
    fn real_ibans_are_accepted_in_compact_form() {
        let cases = [
            ("GB82 WEST 1234 5698 7654 32", "GB82WEST12345698765432"),
            ("DE89 3704 0044 0532 0130 00", "DE89370400440532013000"),
            ("de89370400440532013000", "DE89370400440532013000"),
            ("NL91 ABNA 0417 1643 00", "NL91ABNA0417164300"),
            ("FR14 2004 1010 0505 0001 3M02 606", "FR1420041010050500013M02606"),
            ("BE68 5390 0754 7034", "BE68539007547034"),
            ("CH93 0076 2011 6238 5295 7", "CH9300762011623852957"),
            ("NO93 8601 1117 947", "NO9386011117947"),
            ("MT84 MALT 0110 0001 2345 MTLC AST0 01S", "MT84MALT011000012345MTLCAST001S"),
            ("IBAN GB82 WEST 1234 5698 7654 32", "GB82WEST12345698765432"),
            (" GB82\tWEST12345698765432 ", "GB82WEST12345698765432"),
        ];
        for (input, expected) in cases {
            assert_eq!(validate(input), Ok(expected.to_owned()), "{input}");
        }
    }

    #[test]
    fn bad_checksums_are_refused() {
        for input in ["GB82 WEST 1234 5698 7654 33", "DE88 3704 0044 0532 0130 00", "GB28 WEST 1234 5698 7654 32"] {
            let err = validate(input).expect_err(input);
            assert_eq!(err, "not a valid IBAN: the check digits do not match (a typo?)");
        }
    }

    #[test]
    fn other_mistakes_say_what_is_wrong() {
        let reason = |v: &str| validate(v).expect_err(v);
        assert_eq!(reason(""), "not a valid IBAN: it is empty");
        assert_eq!(reason("   "), "not a valid IBAN: it is empty");
        assert_eq!(
            reason("DE89 3704 0044 0532 0130 0"),
            "not a valid IBAN: DE IBANs have 22 characters, this one has 21"
        );
        assert_eq!(reason("ZZ89 3704 0044 0532 0130 00"), "not a valid IBAN: ZZ is not a country that uses IBANs");
        assert_eq!(reason("1234"), "not a valid IBAN: it must start with a two-letter country code");
        assert_eq!(reason("DE89-3704-0044-0532-0130-00"), "not a valid IBAN: '-' is not a letter or digit");
        assert_eq!(
            reason("DEAB370400440532013000"),
            "not a valid IBAN: the two characters after the country code must be digits"
        );
        assert!(reason("DE89 3704 0044 0532 0130 ÄÖ").contains("is not a letter or digit"));
    }

    #[test]
    fn format_groups_by_four() {
        let format = |v: &str| Iban::format(field(), v.into()).ok();
        assert_eq!(format("DE89370400440532013000").as_deref(), Some("DE89 3704 0044 0532 0130 00"));
        assert_eq!(format("NO9386011117947").as_deref(), Some("NO93 8601 1117 947"));
        assert_eq!(format("GB82 WEST 1234 5698 7654 32").as_deref(), Some("GB82 WEST 1234 5698 7654 32"));
        assert_eq!(format("").as_deref(), Some(""));
    }

    #[test]
    fn every_length_in_the_table_is_plausible_and_codes_are_unique() {
        let mut codes: Vec<&str> = LENGTHS.iter().map(|(c, _)| *c).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), LENGTHS.len());
        assert!(LENGTHS.iter().all(|(c, n)| c.len() == 2 && (15..=34).contains(n)));
    }
}
