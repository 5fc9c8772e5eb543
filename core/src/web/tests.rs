//! The web foundation's own checks: every template of every shipped theme renders in every
//! language with hostile fixture data (RELIABILITY H6) and no undefined variable; the catalogs
//! are complete; themes inherit; the override folder works and fails safe; templates cannot read
//! the environment (H7).

use std::collections::BTreeSet;
use std::path::Path;

use super::theme::{Theme, ThemeConfig, Themes};

const PAYLOAD: &str = "\"'><script>x()</script><img src=x onerror=x()>";

fn languages() -> Vec<String> {
    vec!["en".into(), "de".into()]
}

fn load(config: &ThemeConfig) -> Themes {
    Themes::load(config, &languages()).unwrap_or_else(|e| panic!("themes load: {e}"))
}

/// Every context a template is rendered with in the test: the common keys, and for each page
/// the values it reads, set to markup that would break out of text or an attribute.
fn contexts(template: &str, lang: &str) -> Vec<tera::Context> {
    let mut base = tera::Context::new();
    base.insert("lang", lang);
    base.insert("dir", "ltr");
    base.insert("theme_pref", "system");
    base.insert("time_zone", "Europe/Berlin");
    for key in ["error", "username", "csrf", "email", "token", "message", "request_id"] {
        base.insert(key, PAYLOAD);
    }
    base.insert("min_length", &8);
    base.insert("return_to", PAYLOAD);
    base.insert("me", PAYLOAD);
    let card = serde_json::json!({
        "id": 7, "display_name": PAYLOAD, "username": PAYLOAD, "disabled": true,
        "emails": [{"email": PAYLOAD, "primary": true, "verified": true}],
        "phones": [{"kind": "cell", "number": PAYLOAD, "raw": PAYLOAD}], "roles": [PAYLOAD], "labels": [PAYLOAD],
        "company": PAYLOAD, "website": PAYLOAD, "time_zone": PAYLOAD, "local_time": PAYLOAD, "language": "en",
        "summary": PAYLOAD, "auth_method": PAYLOAD, "created": PAYLOAD, "created_iso": PAYLOAD,
        "last_login": PAYLOAD, "last_login_iso": PAYLOAD, "href": "/agent/users/7",
        "initials": PAYLOAD, "primary_email": PAYLOAD, "is_agent": true, "version": 3,
        "label_links": [{"name": PAYLOAD, "href": PAYLOAD}],
    });
    base.insert("preview", &card);
    base.insert("user", &card);
    for key in ["q", "view", "sort", "order"] {
        base.insert(key, PAYLOAD);
    }
    base.insert(
        "nav",
        &serde_json::json!([
        {"key": "view-everyone", "label": "", "href": PAYLOAD, "current": true, "count": "capped"},
        {"key": null, "label": PAYLOAD, "href": PAYLOAD, "current": false, "count": "12"},
        {"key": "label", "label": PAYLOAD, "href": PAYLOAD, "current": false, "count": null}]),
    );
    base.insert("counted", &false);
    base.insert("views_href", PAYLOAD);
    base.insert(
        "columns",
        &serde_json::json!([{"key": "username", "label": PAYLOAD, "href": PAYLOAD, "sorted": "ascending"}]),
    );
    base.insert(
        "rows",
        &serde_json::json!([{"id": 7, "display_name": PAYLOAD, "username": PAYLOAD, "email": PAYLOAD,
        "verified": true, "roles": PAYLOAD, "last_login": PAYLOAD, "created": PAYLOAD, "href": PAYLOAD,
        "preview_href": PAYLOAD, "selected": true}]),
    );
    base.insert("total", &12);
    base.insert("more_href", PAYLOAD);
    base.insert("first_href", PAYLOAD);
    base.insert("fragment", &true);
    base.insert(
        "stats",
        &serde_json::json!({"tickets_open": 1, "tickets_resolved": 2, "chats": 3, "calls": 4, "surveys": 5}),
    );
    base.insert("providers", &serde_json::json!([{"id": PAYLOAD, "name": PAYLOAD}]));
    base.insert("shortcuts", &true);
    for key in ["base", "saved", "ticket_state"] {
        base.insert(key, PAYLOAD);
    }
    for key in ["may_edit", "may_delete", "may_merge", "full_page"] {
        base.insert(key, &true);
    }
    base.insert("version", &3);
    // what a partial is included with (a loop's variables)
    base.insert("act", "remove");
    base.insert("delete_text", "delete-confirm");
    base.insert("delete_name", PAYLOAD);
    base.insert("pin_kind", "user");
    base.insert("pin_id", &7);
    base.insert("e", &serde_json::json!({"email": PAYLOAD, "primary": false, "verified": true}));
    base.insert("call_minutes", &4);
    base.insert(
        "tab_list",
        &serde_json::json!([{"id": "details", "href": PAYLOAD, "key": "tab-details"}, {"id": "tabs-x", "href": PAYLOAD, "key": null, "label": PAYLOAD, "count": 3}]),
    );
    base.insert("record_kind", "user");
    base.insert("tab", "details");
    base.insert("notice", &serde_json::json!({"for": "emails", "text": PAYLOAD}));
    let field = |kind: &str, label_is_key: bool| {
        serde_json::json!({"name": PAYLOAD, "label": if label_is_key { "field-company" } else { PAYLOAD },
            "label_is_key": label_is_key, "kind": kind, "value": PAYLOAD, "checked": true,
            "options": [[PAYLOAD, PAYLOAD, true], [PAYLOAD, PAYLOAD, false]], "hint_key": "hint-labels",
            "autocomplete": "name", "error": PAYLOAD, "empty": false})
    };
    let fields: Vec<serde_json::Value> = ["text", "textarea", "select", "checkbox", "checkboxes", "url"]
        .iter()
        .flat_map(|k| [field(k, true), field(k, false)])
        .collect();
    let group = |name: &str, editing: bool, theirs: bool| {
        serde_json::json!({"name": name, "tab": "details", "fields": fields, "editing": editing, "saved": true,
            "may_edit": true, "form_error": PAYLOAD, "version": 3,
            "theirs": if theirs { serde_json::json!([[PAYLOAD, "field-company", PAYLOAD], [PAYLOAD, PAYLOAD, ""]]) } else { serde_json::json!([]) },
            "edit_href": PAYLOAD, "view_href": PAYLOAD, "action": PAYLOAD, "empty_count": 2})
    };
    base.insert(
        "groups",
        &serde_json::json!([
            group("identity", false, false),
            group("custom", false, false),
            group("contact", true, false),
            group("roles", true, true)
        ]),
    );
    base.insert("g", &group("identity", true, true));
    base.insert("orgs", &serde_json::json!([{"id": 1, "name": PAYLOAD, "ticket_count": 3, "matched_by": [{"rule_id": 1, "kind": "domain", "value": PAYLOAD}]}]));
    let when = serde_json::json!({"text": PAYLOAD, "iso": PAYLOAD});
    base.insert(
        "history",
        &serde_json::json!({"last_login": when, "last_ticket": null, "last_chat": when, "last_call": null,
        "last_survey": when, "logins": [{"at": when, "method": PAYLOAD}]}),
    );
    base.insert("changes", &serde_json::json!([{"at": when, "actor": PAYLOAD, "source": PAYLOAD, "field": PAYLOAD, "old": PAYLOAD, "new": PAYLOAD}]));
    let record_rows = serde_json::json!([{"id": 1, "subject": PAYLOAD, "status": PAYLOAD, "emails": PAYLOAD, "email": PAYLOAD,
        "phone": PAYLOAD, "direction": PAYLOAD, "duration": PAYLOAD, "name": PAYLOAD, "score": 3, "at": when}]);
    base.insert(
        "org",
        &serde_json::json!({"id": 3, "name": PAYLOAD, "initials": PAYLOAD, "website": PAYLOAD, "phone": PAYLOAD,
            "employees": PAYLOAD, "place": PAYLOAD, "labels": [PAYLOAD], "summary": PAYLOAD, "comment_count": 2,
            "created": PAYLOAD, "created_iso": PAYLOAD, "href": PAYLOAD, "version": 2}),
    );
    base.insert("may_create", &true);
    base.insert("flash", PAYLOAD);
    base.insert("may_bulk", &true);
    base.insert(
        "bulk_actions",
        &["add_label", "remove_label", "add_role", "remove_role", "disable", "enable", "delete"],
    );
    base.insert("done", &3);
    base.insert("count", &12);
    base.insert("names", &[PAYLOAD, PAYLOAD]);
    base.insert("more", &10);
    base.insert("posted", &serde_json::json!({"ids": [1, 2], "action": PAYLOAD, "value": PAYLOAD}));
    base.insert("for_name", PAYLOAD);
    let mut side = card.clone();
    side["counts"] = serde_json::json!({"tickets": 12, "chats": 1, "calls": 0, "surveys": 2, "organizations": 1,
        "emails": 2, "phones": 1});
    base.insert("this", &side);
    base.insert("candidates", &serde_json::json!([{"id": 8, "name": PAYLOAD, "email": PAYLOAD, "href": PAYLOAD}]));
    base.insert("searched", &true);
    base.insert("in_dialog", &true);
    base.insert("title_key", "user-new");
    base.insert("may_comment", &true);
    base.insert("list_kind", "users");
    base.insert(
        "org_nav",
        &serde_json::json!({"items": [{"name": PAYLOAD, "href": PAYLOAD, "current": true, "count": 3},
            {"name": PAYLOAD, "href": PAYLOAD, "current": false, "count": null}],
            "counted": false, "refresh": PAYLOAD}),
    );
    base.insert("of", PAYLOAD);
    base.insert("oob_pinned", &true);
    base.insert("org_chips", &serde_json::json!([{"name": PAYLOAD, "href": PAYLOAD}]));
    base.insert("more_orgs", &true);
    base.insert("org_view", &false);
    base.insert("pinned_record", &true);
    base.insert(
        "records_nav",
        &serde_json::json!({"pinned": [{"name": PAYLOAD, "kind": "user", "href": PAYLOAD}],
            "recent": [{"name": PAYLOAD, "kind": "organization", "href": PAYLOAD}]}),
    );
    base.insert("rules", &serde_json::json!([{"id": 1, "organization_id": 3, "kind": "domain", "value": PAYLOAD, "include_subdomains": true, "view_org_tickets": true}]));
    base.insert("rule_form", &serde_json::json!({"typed": {"kind": "domain", "value": PAYLOAD, "include_subdomains": true, "view_org_tickets": true},
        "errors": {"value": PAYLOAD}, "confirm": true, "preview": {"users": 1, "tickets": 2, "chats": 3, "calls": 4, "surveys": 5}}));
    base.insert("comment_form", &serde_json::json!({"body": PAYLOAD, "sticky": true, "errors": {"body": PAYLOAD}}));
    base.insert(
        "comments",
        &serde_json::json!([{"id": 1, "author": PAYLOAD, "body": PAYLOAD, "at": when, "sticky": true, "may_delete": true},
            {"id": 2, "author": PAYLOAD, "body": PAYLOAD, "at": when, "sticky": false, "may_delete": false}]),
    );
    base.insert("pinned", &serde_json::json!([{"author": PAYLOAD, "body": PAYLOAD, "at": PAYLOAD}]));
    match template {
        "agent/org.html" | "agent/org_panel.html" | "agent/org_rows.html" => {
            let org_rows = serde_json::json!([{"id": 1, "name": PAYLOAD, "email": PAYLOAD, "href": PAYLOAD, "subject": PAYLOAD,
                "status": PAYLOAD, "emails": PAYLOAD, "phone": PAYLOAD, "direction": PAYLOAD, "at": when,
                "matched_by": [{"rule_id": 1, "kind": "email", "value": PAYLOAD}]}]);
            let plugins = [
                serde_json::json!({"title": PAYLOAD, "error": {"message": PAYLOAD}}),
                serde_json::json!({"title": PAYLOAD, "kind": "table", "columns": [PAYLOAD], "rows": [[PAYLOAD]], "total": 1}),
                // a plugin's HTML is sanitized by the plugin service before it gets here
                serde_json::json!({"title": PAYLOAD, "kind": "html", "html": "<p>cleaned</p>"}),
            ];
            let mut out = Vec::new();
            for tab in super::organizations::TABS.iter().copied().chain(["tabs-forms"]) {
                for (i, plugin) in plugins.iter().enumerate() {
                    if i > 0 && tab != "tabs-forms" {
                        continue;
                    }
                    let mut c = base.clone();
                    c.insert("tab", tab);
                    c.insert("record_kind", "organization");
                    c.insert("rows", &org_rows);
                    c.insert("list_kind", if tab == "details" || tab.starts_with("tabs-") { "users" } else { tab });
                    c.insert("plugin", plugin);
                    out.push(c);
                }
            }
            return out;
        }
        "agent/orgs.html" | "agent/orgs_results.html" => {
            base.insert(
                "rows",
                &serde_json::json!([{"id": 3, "name": PAYLOAD, "website": PAYLOAD, "phone": PAYLOAD, "labels": [PAYLOAD],
                    "href": PAYLOAD, "preview_href": PAYLOAD, "selected": true}]),
            );
            base.insert(
                "columns",
                &serde_json::json!([{"key": "name", "href": PAYLOAD, "sorted": "descending"}, {"key": "website", "href": PAYLOAD, "sorted": "none"}]),
            );
            return vec![base];
        }
        "agent/bulk.html" => {
            // the confirmation, and a refusal
            let mut confirm = base.clone();
            confirm.insert("error", &Option::<String>::None);
            return vec![base, confirm];
        }
        "agent/merge.html" | "agent/merge_body.html" => {
            // before the other user is chosen, and after (side by side)
            let mut chosen = base.clone();
            chosen.insert("survivor", &side);
            chosen.insert("source", &side);
            chosen.insert("swap_href", PAYLOAD);
            chosen.insert("action", PAYLOAD);
            let mut page = chosen.clone();
            page.insert("in_dialog", &false);
            return vec![base, chosen, page];
        }
        "agent/user.html" | "agent/record_tabs.html" | "agent/user_panel.html" => {
            return super::users::TABS
                .iter()
                .map(|tab| {
                    let mut c = base.clone();
                    c.insert("tab", tab);
                    if ["tickets", "chats", "calls", "surveys"].contains(tab) {
                        c.insert("rows", &record_rows);
                    }
                    c
                })
                .collect();
        }
        _ => {}
    }
    match template {
        "login.html" => {
            base.remove("user");
            let mut logged_in = base.clone();
            logged_in.insert(
                "user",
                &serde_json::json!({"display_name": PAYLOAD, "username": PAYLOAD, "auth_method": PAYLOAD}),
            );
            vec![base, logged_in]
        }
        "password.html" => ["forgot", "sent", "reset", "done", "dead"]
            .iter()
            .map(|m| {
                let mut c = base.clone();
                c.insert("mode", m);
                c
            })
            .collect(),
        "error.html" => [403, 404, 422, 500]
            .iter()
            .map(|s| {
                let mut c = base.clone();
                c.insert("status", s);
                c
            })
            .collect(),
        _ => vec![base],
    }
}

fn render_all(theme: &Theme) -> Vec<(String, String)> {
    let mut pages = Vec::new();
    for name in theme.template_names() {
        for lang in languages() {
            for ctx in contexts(&name, &lang) {
                let html = theme.render(&name, &ctx).unwrap_or_else(|e| panic!("{} {name} ({lang}): {e}", theme.name));
                pages.push((format!("{}:{name}:{lang}", theme.name), html));
            }
        }
    }
    pages
}

#[test]
fn every_template_of_every_theme_renders_and_escapes_every_value() {
    let themes = load(&ThemeConfig::default());
    let names: Vec<&str> = themes.names().map(|t| t.name.as_str()).collect();
    assert!(names.contains(&"default") && names.contains(&"contrast"), "{names:?}");
    let mut rendered = 0;
    for theme in themes.names() {
        for (which, page) in render_all(theme) {
            rendered += 1;
            assert!(!page.contains("<script>x()") && !page.contains("<img"), "{which}: {page}");
            assert!(!page.contains("\"'>"), "{which}: an attribute is broken out of: {page}");
        }
    }
    assert!(rendered >= 40, "rendered {rendered} pages");
    assert!(themes.overrides.problems.is_empty(), "{:?}", themes.overrides.problems);
}

/// The shipped templates' sources, from the binary's embedded copy.
fn shipped_templates() -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../themes");
    let mut out = Vec::new();
    fn walk(dir: &Path, out: &mut Vec<(String, String)>) {
        for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "html") {
                out.push((p.display().to_string(), std::fs::read_to_string(&p).unwrap_or_default()));
            }
        }
    }
    walk(&root, &mut out);
    out
}

#[test]
fn no_template_marks_a_value_safe() {
    for (path, source) in shipped_templates() {
        assert!(!source.replace(' ', "").contains("|safe"), "{path} marks a value safe");
    }
}

#[test]
fn every_language_has_every_message_the_templates_use() {
    let themes = load(&ThemeConfig::default());
    let theme = themes.get("default");
    let en = theme.catalogs.keys("en");
    let de = theme.catalogs.keys("de");
    let missing_de: Vec<_> = en.difference(&de).collect();
    let missing_en: Vec<_> = de.difference(&en).collect();
    assert!(missing_de.is_empty(), "German lacks {missing_de:?}");
    assert!(missing_en.is_empty(), "English lacks {missing_en:?}");
    // every literal key a template asks for exists (keys built from parts, like the error
    // pages' `"error-" ~ status ~ "-title"`, are covered by rendering every status above)
    let mut used = BTreeSet::new();
    for (_, source) in shipped_templates() {
        for part in source.split("t(key=\"").skip(1) {
            // a key built from parts (`"error-" ~ status ~ ...`) is not a literal
            if let Some(key) = part.split('"').next().filter(|k| !k.ends_with('-')) {
                used.insert(key.to_string());
            }
        }
    }
    assert!(used.len() > 20, "{used:?}");
    for key in &used {
        assert!(en.contains(key) && de.contains(key), "message `{key}` is missing in a language");
    }
    // German really is German
    assert_eq!(theme.catalogs.text("de", "login-title"), "Anmelden");
    assert_eq!(
        theme.catalogs.text_with("de", "throttled", &[("seconds", "3".into())]),
        "Zu viele Versuche; bitte in 3 s erneut versuchen."
    );
}

#[test]
fn a_child_theme_inherits_and_overrides_a_template_and_a_stylesheet() {
    let themes = load(&ThemeConfig::default());
    let (default, contrast) = (themes.get("default"), themes.get("contrast"));
    assert_eq!(contrast.parent.as_deref(), Some("default"));
    let css = |t: &Theme, f: &str| t.static_urls.get(f).cloned().unwrap_or_default();
    assert_ne!(css(&default, "theme.css"), css(&contrast, "theme.css"), "theme.css is the child's own");
    // kith.css is inherited unchanged (same bytes, so the same hash, under the child's name)
    let hash = |u: String| u.rsplit('/').next().unwrap_or_default().to_string();
    assert_eq!(hash(css(&default, "kith.css")), hash(css(&contrast, "kith.css")));
    let served = themes.asset(css(&contrast, "theme.css").trim_start_matches("/static/")).map(|a| a.bytes.to_vec());
    assert!(String::from_utf8(served.unwrap_or_default()).unwrap_or_default().contains("High contrast"));
    let ctx = &contexts("login.html", "en")[0];
    let page = contrast.render("login.html", ctx).unwrap_or_else(|e| panic!("{e}"));
    assert!(page.contains("High contrast"), "the child's brand partial: {page}");
    assert!(page.contains("User name"), "the parent's login template");
    assert!(!default.render("login.html", ctx).unwrap_or_default().contains("High contrast"));
}

#[test]
fn the_override_folder_replaces_one_template_and_a_broken_one_falls_back() {
    let dir = std::env::temp_dir().join(format!("kith-override-{}", crate::auth::random_string(8)));
    let templates = dir.join("templates");
    std::fs::create_dir_all(&templates).unwrap_or_else(|e| panic!("{e}"));
    std::fs::create_dir_all(dir.join("static")).unwrap_or_else(|e| panic!("{e}"));
    // replaces one block of the default login page, extending the theme's own version
    std::fs::write(
        templates.join("login.html"),
        r#"{% extends "default/login.html" %}{% block title %}Operator login{% endblock title %}"#,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    // does not compile: left out, the theme's own serves
    std::fs::write(templates.join("password.html"), "{% if %}broken").unwrap_or_else(|e| panic!("{e}"));
    // compiles but fails when rendered (an undefined variable): the layer below serves
    std::fs::write(templates.join("error.html"), "{{ no_such_variable.at_all }}").unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(dir.join("static/theme.css"), "/* operator colours */").unwrap_or_else(|e| panic!("{e}"));

    let themes = load(&ThemeConfig { override_dir: dir.clone(), ..ThemeConfig::default() });
    let theme = themes.get("default");
    let login = theme.render("login.html", &contexts("login.html", "en")[0]).unwrap_or_else(|e| panic!("{e}"));
    assert!(login.contains("<title>Operator login · Kith</title>"), "{login}");
    assert!(login.contains("User name"), "the rest of the page is the theme's");
    let password = theme.render("password.html", &contexts("password.html", "en")[0]).unwrap_or_else(|e| panic!("{e}"));
    assert!(password.contains("Send the link"), "the broken override fell back: {password}");
    let error = theme.render("error.html", &contexts("error.html", "en")[1]).unwrap_or_else(|e| panic!("{e}"));
    assert!(error.contains("Not found"), "a render failure fell back: {error}");
    assert!(
        themes.overrides.problems.iter().any(|p| p.contains("password.html")),
        "the broken template is named: {:?}",
        themes.overrides.problems
    );
    assert_eq!(themes.overrides.files.len(), 4);
    let css = theme.static_urls.get("theme.css").cloned().unwrap_or_default();
    let bytes = themes.asset(css.trim_start_matches("/static/")).map(|a| a.bytes.to_vec()).unwrap_or_default();
    assert_eq!(bytes, b"/* operator colours */");
    // the contrast theme gets the operator's files too
    assert!(
        themes
            .get("contrast")
            .render("login.html", &contexts("login.html", "en")[0])
            .unwrap_or_default()
            .contains("Operator login")
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_missing_theme_is_refused_by_config_and_falls_back_at_run_time() {
    let bad = ThemeConfig { portal: "nope".into(), ..ThemeConfig::default() };
    let err = bad.check().err().unwrap_or_default();
    assert_eq!(err.0, "theme.portal");
    assert!(err.1.contains("contrast") && err.1.contains("default"), "{}", err.1);
    let themes = load(&ThemeConfig::default());
    assert_eq!(themes.get("nope").name, "default");
}

/// RELIABILITY H7: the environment is out of a template's reach.
#[test]
fn templates_cannot_read_the_environment() {
    let dir = std::env::temp_dir().join(format!("kith-override-{}", crate::auth::random_string(8)));
    std::fs::create_dir_all(dir.join("templates")).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(dir.join("templates/env.html"), r#"{{ get_env(name="PATH") }}"#).unwrap_or_else(|e| panic!("{e}"));
    let themes = load(&ThemeConfig { override_dir: dir.clone(), ..ThemeConfig::default() });
    let err = themes.get("default").render("env.html", &tera::Context::new()).err().unwrap_or_default();
    assert!(err.contains("get_env is not available"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}
