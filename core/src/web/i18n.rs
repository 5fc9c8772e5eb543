//! Messages from Fluent catalogs (`themes/<theme>/locales/<lang>/*.ftl`, layered like templates:
//! a child theme or the override folder may replace single messages), the choice of a viewer's
//! language, and the text direction that goes with it.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};
use unic_langid::LanguageIdentifier;

/// One language's messages.
struct Bundle {
    bundle: FluentBundle<FluentResource>,
    keys: BTreeSet<String>,
}

/// Every configured language's messages for one theme.
pub struct Catalogs {
    bundles: HashMap<String, Bundle>,
    /// The first configured language: what a viewer gets when nothing else is known.
    pub default: String,
}

impl std::fmt::Debug for Catalogs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Catalogs").field("languages", &self.bundles.keys().collect::<Vec<_>>()).finish()
    }
}

impl Catalogs {
    /// Reads `locales/<lang>/*.ftl` from each layer, lowest first; a later layer's message of the
    /// same id replaces the earlier one. A catalog that does not parse keeps what did parse, and
    /// the problem is logged and listed.
    pub fn load(layers: &[(&str, &super::theme::Files)], languages: &[String], problems: &mut Vec<String>) -> Catalogs {
        let mut bundles = HashMap::new();
        for lang in languages {
            let id: LanguageIdentifier = lang.parse().unwrap_or_default();
            let mut bundle = FluentBundle::new_concurrent(vec![id]);
            // no Unicode isolation marks around arguments: pages set `dir` themselves
            bundle.set_use_isolating(false);
            let mut keys = BTreeSet::new();
            let prefix = format!("locales/{lang}/");
            for (layer, files) in layers {
                for (path, bytes) in files.iter().filter(|(p, _)| p.starts_with(&prefix) && p.ends_with(".ftl")) {
                    let text = String::from_utf8_lossy(bytes).into_owned();
                    let resource = match FluentResource::try_new(text) {
                        Ok(r) => r,
                        Err((r, errors)) => {
                            tracing::warn!(layer, path = %path, errors = errors.len(), "a message catalog has errors; the rest of it is used");
                            problems.push(format!("{layer}: {path} has {} syntax errors", errors.len()));
                            r
                        }
                    };
                    for entry in resource.entries() {
                        if let fluent_syntax::ast::Entry::Message(m) = entry {
                            keys.insert(m.id.name.to_string());
                        }
                    }
                    bundle.add_resource_overriding(resource);
                }
            }
            bundles.insert(lang.clone(), Bundle { bundle, keys });
        }
        let default = languages.first().cloned().unwrap_or_else(|| "en".into());
        Catalogs { bundles, default }
    }

    /// The message `key` in `lang` with `args`; `None` when no catalog of that language has it.
    pub fn message(&self, lang: &str, key: &str, args: Option<&FluentArgs>) -> Option<String> {
        let b = self.bundles.get(lang).or_else(|| self.bundles.get(&self.default))?;
        let pattern = b.bundle.get_message(key)?.value()?;
        let mut errors = Vec::new();
        let text = b.bundle.format_pattern(pattern, args, &mut errors).into_owned();
        if !errors.is_empty() {
            tracing::warn!(key, lang, errors = ?errors, "a message was formatted with errors");
        }
        Some(text)
    }

    /// Shortcut for a message without arguments, or its key when it is missing (for text built in
    /// Rust, such as a form's error line).
    pub fn text(&self, lang: &str, key: &str) -> String {
        self.message(lang, key, None).unwrap_or_else(|| key.to_string())
    }

    /// A message with arguments, or its key when it is missing.
    pub fn text_with(&self, lang: &str, key: &str, args: &[(&str, String)]) -> String {
        let mut a = FluentArgs::new();
        for (k, v) in args {
            a.set(*k, FluentValue::from(v.clone()));
        }
        self.message(lang, key, Some(&a)).unwrap_or_else(|| key.to_string())
    }

    /// Every message id a language has.
    pub fn keys(&self, lang: &str) -> BTreeSet<String> {
        self.bundles.get(lang).map(|b| b.keys.clone()).unwrap_or_default()
    }

    pub fn languages(&self) -> impl Iterator<Item = &String> {
        self.bundles.keys()
    }
}

/// The tera function `t(key=..., lang=..., any=args)`: a message in the page's language.
pub struct Translate(pub Arc<Catalogs>);

impl tera::Function for Translate {
    fn call(&self, args: &HashMap<String, tera::Value>) -> tera::Result<tera::Value> {
        let key =
            args.get("key").and_then(tera::Value::as_str).ok_or_else(|| tera::Error::msg("t() needs key=\"...\""))?;
        let lang =
            args.get("lang").and_then(tera::Value::as_str).ok_or_else(|| tera::Error::msg("t() needs lang=lang"))?;
        let mut fa = FluentArgs::new();
        for (name, v) in args.iter().filter(|(n, _)| *n != "key" && *n != "lang") {
            let value = match v {
                tera::Value::Number(n) => FluentValue::from(n.as_f64().unwrap_or_default()),
                tera::Value::String(s) => FluentValue::from(s.clone()),
                tera::Value::Null => FluentValue::from(""),
                other => FluentValue::from(other.to_string()),
            };
            fa.set(name.clone(), value);
        }
        self.0
            .message(lang, key, Some(&fa))
            .map(tera::Value::String)
            .ok_or_else(|| tera::Error::msg(format!("no message `{key}` in language `{lang}`")))
    }

    fn is_safe(&self) -> bool {
        false
    }
}

/// `ltr`, or `rtl` for the languages written right to left.
pub fn direction(lang: &str) -> &'static str {
    let primary = lang.split(['-', '_']).next().unwrap_or_default().to_ascii_lowercase();
    if matches!(primary.as_str(), "ar" | "he" | "fa" | "ur" | "ps" | "yi" | "dv" | "ckb") { "rtl" } else { "ltr" }
}

/// The first of `wanted` (most wanted first) that one of `supported` serves: an exact tag, or
/// the same primary language (`de-AT` → `de`).
pub fn pick<'a>(wanted: impl IntoIterator<Item = &'a str>, supported: &[String]) -> Option<String> {
    for w in wanted {
        let w = w.trim();
        if w.is_empty() || w.len() > 35 {
            continue;
        }
        if let Some(s) = supported.iter().find(|s| s.eq_ignore_ascii_case(w)) {
            return Some(s.clone());
        }
        let primary = w.split(['-', '_']).next().unwrap_or_default();
        if let Some(s) =
            supported.iter().find(|s| s.split(['-', '_']).next().unwrap_or_default().eq_ignore_ascii_case(primary))
        {
            return Some(s.clone());
        }
    }
    None
}

/// The language tags of an `Accept-Language` header, most wanted first (`q=0` dropped).
pub fn accept_language(header: &str) -> Vec<&str> {
    let mut tags: Vec<(&str, f32)> = header
        .split(',')
        .take(20)
        .filter_map(|part| {
            let mut it = part.split(';');
            let tag = it.next()?.trim();
            let q = it
                .find_map(|p| p.trim().strip_prefix("q="))
                .map(|q| q.trim().parse::<f32>().unwrap_or(0.0))
                .unwrap_or(1.0);
            (q > 0.0 && !tag.is_empty() && tag != "*").then_some((tag, q))
        })
        .collect();
    tags.sort_by(|a, b| b.1.total_cmp(&a.1));
    tags.into_iter().map(|(t, _)| t).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_language_orders_by_quality_and_picks_the_primary_language() {
        assert_eq!(accept_language("fr;q=0.5, de-AT, en;q=0.8, *;q=0.1, es;q=0"), vec!["de-AT", "en", "fr"]);
        let supported = vec!["en".to_string(), "de".to_string()];
        assert_eq!(pick(accept_language("fr;q=0.5, de-AT, en;q=0.8"), &supported).as_deref(), Some("de"));
        assert_eq!(pick(["pt-BR"], &supported), None);
        assert_eq!(direction("ar-EG"), "rtl");
        assert_eq!(direction("de"), "ltr");
    }
}
