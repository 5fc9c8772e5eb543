//! Themes (SPEC section 8): folders of `theme.toml` (name, parent), `templates/` (tera),
//! `static/` and `locales/` (Fluent catalogs). A template or file is looked up in layers —
//! the operator's override folder (`theme.override_dir`) > the selected theme > its parent >
//! ... > the built-in `default` — and every layer's version of a template is also reachable as
//! `<theme>/<name>`, so a child can `{% extends "default/login.html" %}` and replace one block.
//!
//! Templates are compiled at start. A layer's template that does not compile is left out with a
//! warning (the one below it serves), and a render that fails is retried one layer down, also
//! with a warning: a broken override never gives a blank page. Static files are served at
//! content-hashed URLs (`/static/<theme>/<name>.<hash>.<ext>`) with a year-long cache life.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::i18n::Catalogs;

mod shipped {
    include!(concat!(env!("OUT_DIR"), "/themes.rs"));
}

/// The built-in theme every chain ends in.
pub const DEFAULT_THEME: &str = "default";

/// `[theme]`: which theme the agent UI and the portal use, and the operator's override folder.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct ThemeConfig {
    /// The theme of the agent UI and the admin pages (a folder name under `themes/`).
    pub agent: String,
    /// The theme of the customer portal and the login pages.
    pub portal: String,
    /// A folder whose `templates/`, `static/` and `locales/` override single files of every
    /// theme (empty: none). Read at start-up.
    pub override_dir: PathBuf,
}

impl Default for ThemeConfig {
    fn default() -> Self {
        Self { agent: DEFAULT_THEME.into(), portal: DEFAULT_THEME.into(), override_dir: PathBuf::new() }
    }
}

impl ThemeConfig {
    /// Both selected themes must be shipped ones; answers `(key, why)` for the first that is not.
    pub fn check(&self) -> Result<(), (String, String)> {
        let names = shipped_sources().into_keys().collect::<Vec<_>>();
        for (key, name) in [("theme.agent", &self.agent), ("theme.portal", &self.portal)] {
            if !names.contains(name) {
                return Err((key.into(), format!("no theme named `{name}` (shipped: {})", names.join(", "))));
            }
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Manifest {
    name: String,
    #[serde(default)]
    parent: Option<String>,
    #[serde(default)]
    description: String,
}

/// A layer's files by path inside it (`templates/login.html`, `static/kith.css`, ...).
pub type Files = BTreeMap<String, Arc<[u8]>>;

/// One theme folder as found: its manifest and files by path (`templates/login.html`, ...).
#[derive(Debug, Clone)]
struct Source {
    folder: String,
    manifest: Manifest,
    files: Files,
}

fn shipped_sources() -> BTreeMap<String, Source> {
    let mut by_folder: BTreeMap<String, Files> = BTreeMap::new();
    for (path, bytes) in shipped::SHIPPED {
        if let Some((folder, rest)) = path.split_once('/') {
            by_folder.entry(folder.to_string()).or_default().insert(rest.to_string(), Arc::from(*bytes));
        }
    }
    by_folder
        .into_iter()
        .filter_map(|(folder, files)| {
            let manifest = files.get("theme.toml").and_then(|b| std::str::from_utf8(b).ok()).map(toml::from_str);
            match manifest {
                Some(Ok(manifest)) => Some((folder.clone(), Source { folder, manifest, files })),
                Some(Err(e)) => {
                    tracing::warn!(theme = %folder, error = %e, "theme.toml does not parse; the theme is left out");
                    None
                }
                None => None,
            }
        })
        .collect()
}

/// The files of the operator's override folder, by path (`templates/x.html`, `static/y.css`).
fn override_files(dir: &Path) -> (Files, OverrideState) {
    let mut files = BTreeMap::new();
    if dir.as_os_str().is_empty() {
        return (files, OverrideState::default());
    }
    let mut state = OverrideState { dir: Some(dir.to_path_buf()), ..Default::default() };
    if !dir.is_dir() {
        tracing::warn!(dir = %dir.display(), "theme.override_dir is not a folder; no overrides are used");
        state.problems.push(format!("{} is not a folder", dir.display()));
        return (files, state);
    }
    fn walk(root: &Path, dir: &Path, out: &mut Files, depth: usize) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        for e in entries.filter_map(Result::ok) {
            let path = e.path();
            if path.is_dir() && depth < 8 {
                walk(root, &path, out, depth + 1);
            } else if let (Ok(rel), Ok(bytes)) = (path.strip_prefix(root), std::fs::read(&path)) {
                out.insert(rel.to_string_lossy().replace('\\', "/"), Arc::from(bytes));
            }
        }
    }
    walk(dir, dir, &mut files, 0);
    state.files = files.keys().cloned().collect();
    (files, state)
}

/// What the override folder holds and what went wrong with it (for the admin's themes page).
#[derive(Debug, Clone, Default, Serialize)]
pub struct OverrideState {
    pub dir: Option<PathBuf>,
    pub files: Vec<String>,
    /// Templates left out, renders that fell back: each a sentence naming the file.
    pub problems: Vec<String>,
}

/// A static file ready to serve.
#[derive(Debug, Clone)]
pub struct Asset {
    pub bytes: Arc<[u8]>,
    pub content_type: &'static str,
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next().unwrap_or_default() {
        "css" => "text/css; charset=utf-8",
        "js" => "text/javascript; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// One usable theme: its template layers (full first, built-in default last), its static URLs
/// and its messages.
pub struct Theme {
    pub name: String,
    pub display_name: String,
    pub description: String,
    pub parent: Option<String>,
    /// `layers[0]` has every layer; each next one drops the top layer; the last is `default` alone.
    layers: Vec<(String, tera::Tera)>,
    /// `kith.css` → `/static/default/kith.3f2a…css`.
    pub static_urls: Arc<HashMap<String, String>>,
    pub catalogs: Arc<Catalogs>,
}

impl std::fmt::Debug for Theme {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Theme").field("name", &self.name).field("layers", &self.layers.len()).finish()
    }
}

impl Theme {
    /// Renders `template`; a failure is retried one layer down (logged), so a broken override or
    /// child template still gives its parent's page.
    pub fn render(&self, template: &str, ctx: &tera::Context) -> Result<String, String> {
        let mut first_error = None;
        for (layer, tera) in &self.layers {
            match tera.render(template, ctx) {
                Ok(html) => {
                    if let Some(e) = &first_error {
                        tracing::warn!(theme = %self.name, template, served_by = %layer, error = %e,
                            "a theme template failed to render; a lower layer served the page");
                    }
                    return Ok(html);
                }
                Err(e) => {
                    if first_error.is_none() {
                        first_error = Some(error_chain(&e));
                    }
                }
            }
        }
        Err(first_error.unwrap_or_else(|| format!("no template {template}")))
    }

    /// The names of every template this theme can render (for the test that renders them all).
    pub fn template_names(&self) -> Vec<String> {
        // each layer's copies are also named `<layer>/<name>`: those are not listed again
        let layers: Vec<&str> = self.layers.iter().map(|(l, _)| l.as_str()).collect();
        let mut names: Vec<String> = self.layers[0]
            .1
            .get_template_names()
            .filter(|n| !n.split_once('/').is_some_and(|(first, _)| layers.contains(&first)))
            .map(str::to_string)
            .collect();
        names.sort();
        names
    }
}

/// A tera error with its causes ("Failed to render 'x'" alone says little).
pub fn error_chain(e: &tera::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// Every theme Kith ships, compiled, with the override folder applied, and their static files.
#[derive(Debug)]
pub struct Themes {
    by_name: BTreeMap<String, Arc<Theme>>,
    assets: HashMap<String, Asset>,
    pub overrides: OverrideState,
}

/// Templates get a function that reads the process environment unless it is replaced: no
/// template of Kith's may read the database URL or the SMTP password (RELIABILITY H7).
fn lock_down(t: &mut tera::Tera) {
    t.register_function("get_env", |_: &HashMap<String, tera::Value>| {
        Err(tera::Error::msg("get_env is not available in Kith's templates"))
    });
}

/// Adds a layer's `templates` (name → source) to a copy of `base`, each under its own name and
/// as `<layer>/<name>`. All at once when they compile together; otherwise one by one, in passes
/// (a template may extend another of the same layer), and what never compiles is left out and
/// named in `problems`.
fn add_layer(base: &tera::Tera, layer: &str, templates: &[(String, String)], problems: &mut Vec<String>) -> tera::Tera {
    let named = |(name, source): &(String, String)| {
        [(format!("{layer}/{name}"), source.clone()), (name.clone(), source.clone())]
    };
    let mut all = base.clone();
    if all.add_raw_templates(templates.iter().flat_map(named)).is_ok() {
        return all;
    }
    let mut current = base.clone();
    let mut pending: Vec<&(String, String)> = templates.iter().collect();
    loop {
        let before = pending.len();
        let mut failed = Vec::new();
        for t in pending {
            let mut next = current.clone();
            match next.add_raw_templates(named(t)) {
                Ok(()) => current = next,
                Err(e) => failed.push((t, error_chain(&e))),
            }
        }
        if failed.is_empty() || failed.len() == before {
            for ((name, _), why) in failed {
                tracing::warn!(layer, template = %name, error = %why,
                    "a theme template does not compile; the layer below serves it");
                problems.push(format!("{layer}: templates/{name} left out: {why}"));
            }
            return current;
        }
        pending = failed.into_iter().map(|(t, _)| t).collect();
    }
}

fn templates_of(files: &Files, layer: &str, problems: &mut Vec<String>) -> Vec<(String, String)> {
    files
        .iter()
        .filter_map(|(path, bytes)| {
            let name = path.strip_prefix("templates/")?;
            match std::str::from_utf8(bytes) {
                Ok(s) => Some((name.to_string(), s.to_string())),
                Err(_) => {
                    problems.push(format!("{layer}: templates/{name} is not UTF-8 and is left out"));
                    None
                }
            }
        })
        .collect()
}

impl Themes {
    /// Loads every shipped theme and applies `config.override_dir`. Fails only when the built-in
    /// default theme itself does not compile (a build defect).
    pub fn load(config: &ThemeConfig, languages: &[String]) -> Result<Themes, String> {
        let sources = shipped_sources();
        let (over, mut overrides) = override_files(&config.override_dir);
        let mut by_name = BTreeMap::new();
        let mut assets = HashMap::new();
        for name in sources.keys() {
            let chain = chain_of(&sources, name);
            let theme = build(&sources, &chain, &over, languages, &mut overrides.problems, &mut assets)?;
            by_name.insert(name.clone(), Arc::new(theme));
        }
        overrides.problems.dedup();
        Ok(Themes { by_name, assets, overrides })
    }

    /// The theme named `name`, or the built-in default (with a warning) if there is none.
    pub fn get(&self, name: &str) -> Arc<Theme> {
        match self.by_name.get(name).or_else(|| self.by_name.get(DEFAULT_THEME)) {
            Some(t) => t.clone(),
            None => unreachable_default(),
        }
    }

    pub fn names(&self) -> impl Iterator<Item = &Arc<Theme>> {
        self.by_name.values()
    }

    /// A static file by its hashed URL path (`default/kith.3f2a….css`).
    pub fn asset(&self, path: &str) -> Option<&Asset> {
        self.assets.get(path)
    }
}

#[allow(clippy::panic)]
fn unreachable_default() -> ! {
    // `Themes::load` fails when the default theme is missing, so this cannot be reached
    panic!("the built-in default theme is loaded")
}

/// `[default, ..., parent, name]`; an unknown parent or a cycle ends the chain at `default`.
fn chain_of(sources: &BTreeMap<String, Source>, name: &str) -> Vec<String> {
    let mut chain = vec![name.to_string()];
    let mut current = name.to_string();
    while current != DEFAULT_THEME {
        let parent =
            sources.get(&current).and_then(|s| s.manifest.parent.clone()).unwrap_or_else(|| DEFAULT_THEME.into());
        if chain.contains(&parent) || !sources.contains_key(&parent) {
            tracing::warn!(theme = %name, parent = %parent, "a theme's parent is unknown or circular; it inherits from default");
            if !chain.iter().any(|c| c == DEFAULT_THEME) {
                chain.push(DEFAULT_THEME.into());
            }
            break;
        }
        chain.push(parent.clone());
        current = parent;
    }
    chain.reverse();
    chain
}

fn build(
    sources: &BTreeMap<String, Source>,
    chain: &[String],
    over: &Files,
    languages: &[String],
    problems: &mut Vec<String>,
    assets: &mut HashMap<String, Asset>,
) -> Result<Theme, String> {
    let top = chain.last().cloned().unwrap_or_else(|| DEFAULT_THEME.into());
    let Some(default) = sources.get(DEFAULT_THEME) else { return Err("the built-in default theme is missing".into()) };
    // layers bottom-up: each theme of the chain, then the override folder
    let mut layer_files: Vec<(String, &Files)> =
        chain.iter().filter_map(|n| sources.get(n)).map(|s| (s.folder.clone(), &s.files)).collect();
    if !over.is_empty() {
        layer_files.push(("override".to_string(), over));
    }

    // static files and catalogs: the topmost layer's copy of each path wins
    let mut files: BTreeMap<&str, Arc<[u8]>> = BTreeMap::new();
    for (_, f) in &layer_files {
        for (path, bytes) in f.iter() {
            files.insert(path.as_str(), bytes.clone());
        }
    }
    let mut static_urls = HashMap::new();
    for (path, bytes) in &files {
        let Some(name) = path.strip_prefix("static/") else { continue };
        // URLs are written into pages unescaped (`static_url`): plain names only
        if !name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '/')) || name.contains("..")
        {
            problems.push(format!("static/{name}: only letters, digits, '.', '_', '-' and '/' are served"));
            continue;
        }
        let hash = hex10(bytes);
        let hashed = match name.rsplit_once('.') {
            Some((stem, ext)) => format!("{stem}.{hash}.{ext}"),
            None => format!("{name}.{hash}"),
        };
        let key = format!("{top}/{hashed}");
        static_urls.insert(name.to_string(), format!("/static/{key}"));
        assets.insert(key, Asset { bytes: bytes.clone(), content_type: content_type(name) });
    }
    let static_urls = Arc::new(static_urls);
    let catalogs = Arc::new(Catalogs::load(
        layer_files.iter().map(|(layer, f)| (layer.as_str(), *f)).collect::<Vec<_>>().as_slice(),
        languages,
        problems,
    ));

    // template layers, each compiled on top of the one below
    let mut base = tera::Tera::default();
    lock_down(&mut base);
    super::register_functions(&mut base, static_urls.clone(), catalogs.clone());
    let default_templates = templates_of(&default.files, DEFAULT_THEME, problems);
    let mut stack: Vec<(String, tera::Tera)> = Vec::new();
    let mut default_tera = base.clone();
    default_tera
        .add_raw_templates(default_templates.iter().flat_map(|(name, source)| {
            [(format!("{DEFAULT_THEME}/{name}"), source.clone()), (name.clone(), source.clone())]
        }))
        .map_err(|e| format!("the default theme's templates: {}", error_chain(&e)))?;
    stack.push((DEFAULT_THEME.to_string(), default_tera));
    for (layer, f) in layer_files.iter().skip(1) {
        let templates = templates_of(f, layer, problems);
        let below = &stack[stack.len() - 1].1;
        let next = add_layer(below, layer, &templates, problems);
        stack.push((layer.clone(), next));
    }
    stack.reverse();
    let source = sources.get(&top);
    Ok(Theme {
        name: top.clone(),
        display_name: source.map(|s| s.manifest.name.clone()).unwrap_or_else(|| top.clone()),
        description: source.map(|s| s.manifest.description.clone()).unwrap_or_default(),
        parent: source.and_then(|s| s.manifest.parent.clone()),
        layers: stack,
        static_urls,
        catalogs,
    })
}

fn hex10(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    digest.iter().take(5).map(|b| format!("{b:02x}")).collect()
}
