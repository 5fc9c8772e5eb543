//! List parameters as every front receives them (text from a query string or a form), parsed
//! once: each bad value is an `Invalid` error naming its parameter.

use crate::domain::Error;
use crate::store::Cursor;

/// Path ids that are not numbers name no record.
pub fn parse_id(raw: &str) -> Result<i64, Error> {
    raw.parse::<i64>().ok().filter(|n| *n > 0).ok_or(Error::NotFound)
}

/// `limit` (default 50, at most 500).
pub fn parse_limit(raw: Option<&str>) -> Result<i64, Error> {
    match raw {
        None | Some("") => Ok(50),
        Some(s) => match s.parse::<i64>() {
            Ok(n) if n >= 1 => Ok(n.min(500)),
            _ => Err(Error::invalid("limit", "must be a whole number from 1 to 500")),
        },
    }
}

/// `order`: asc (default) or desc → descending?
pub fn parse_order(raw: Option<&str>) -> Result<bool, Error> {
    match raw.unwrap_or("asc") {
        "asc" | "" => Ok(false),
        "desc" => Ok(true),
        _ => Err(Error::invalid("order", "must be asc or desc")),
    }
}

/// `q`: trimmed, lowercased, at most 200 characters; empty means no search.
pub fn parse_fragment(raw: Option<&str>) -> Result<Option<String>, Error> {
    let q = raw.map(str::trim).filter(|s| !s.is_empty()).map(str::to_lowercase);
    if q.as_ref().is_some_and(|q| q.chars().count() > 200) {
        return Err(Error::invalid("q", "too long (at most 200 characters)"));
    }
    Ok(q)
}

/// A keyset cursor a list gave out.
pub fn parse_cursor(raw: Option<&str>) -> Result<Option<Cursor>, Error> {
    raw.filter(|c| !c.is_empty()).map(Cursor::decode).transpose()
}

/// Cursors of lists ordered by id (change log, comments): the last id seen.
pub fn parse_id_cursor(raw: Option<&str>) -> Result<Option<i64>, Error> {
    match raw.filter(|c| !c.is_empty()) {
        None => Ok(None),
        Some(c) => {
            c.parse::<i64>().map(Some).map_err(|_| Error::invalid("cursor", "is not a cursor this list gave out"))
        }
    }
}
