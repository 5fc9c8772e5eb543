//! People in a real browser (headless Chromium), on SQLite and PostgreSQL:
//! - logging in on `/login` with a directory password (OpenLDAP slapd), logging out, then in
//!   with the identity provider's button (oidc-provider);
//! - an agent finding, opening and editing a user with the keyboard alone, with axe-core
//!   finding no WCAG 2.2 AA violation on any agent page, tab or edit state, light and dark, at
//!   1440 and 390 px (screenshots of the main screens go to `target/screenshots/`);
//! - the same agent with JavaScript switched off: search, sort, open, edit;
//! - a manager merging two users in the dialog with the keyboard (the moved counts shown, then
//!   the survivor's record), and ticking rows with `x` for a bulk label and a bulk delete;
//! - an agent commenting on a user with `n` and Ctrl+Enter (pinned to the header), pinning the
//!   record, and finding it again in the navigation with an organization filtered as they type;
//! - a default Agent creating a user with two addresses and a phone, seeing no Delete (and 403
//!   when posting it anyway), meeting another session's change as a conflict (Keep mine), and
//!   Back returning to the previous record on the tab it was left on.

use kith::config::{LdapProvider, OAuthProvider};
use kith_tests::chrome::{Chrome, axe_source, chrome_available, key};
use kith_tests::oidc_provider::{OidcProvider, free_port, oidc_provider_available};
use kith_tests::slapd::{ADMIN_DN, ADMIN_PASSWORD, BASE, Slapd, slapd_available};
use kith_tests::{Backend, TestApp, backend_tests};
use serde_json::json;

backend_tests!(
    a_person_logs_in_through_the_directory_and_the_identity_provider,
    an_agent_works_with_the_keyboard_alone_and_axe_finds_nothing,
    an_agent_works_with_javascript_off,
    a_manager_merges_in_a_dialog_and_acts_in_bulk,
    an_agent_comments_pins_and_filters_organizations,
    an_agent_creates_a_user_meets_a_conflict_and_goes_back,
);

async fn a_person_logs_in_through_the_directory_and_the_identity_provider(b: Backend) {
    if !(chrome_available() && slapd_available() && oidc_provider_available()) {
        return;
    }
    let slapd = Slapd::start();
    let op_port = free_port();
    let issuer = format!("http://127.0.0.1:{op_port}");
    let ldap = LdapProvider {
        id: "corp".into(),
        url: slapd.ldap_url.clone(),
        starttls: true,
        ca_file: slapd.ca_file.display().to_string(),
        bind_dn: ADMIN_DN.into(),
        bind_password: ADMIN_PASSWORD.into(),
        base_dn: BASE.into(),
        ..LdapProvider::default()
    };
    let oauth = OAuthProvider {
        id: "idp".into(),
        display_name: "Test IdP".into(),
        issuer: issuer.clone(),
        client_id: "kith".into(),
        client_secret: "a client secret that is long enough".into(),
        ..OAuthProvider::default()
    };
    let app = TestApp::start_with(b, None, move |c| {
        c.auth.ldap = vec![ldap];
        c.auth.oauth = vec![oauth];
    })
    .await;
    let clients = json!([{"client_id": "kith", "client_secret": "a client secret that is long enough",
        "redirect_uris": [format!("{}/api/v1/auth/oauth/idp/callback", app.base)]}]);
    let accounts = json!({"dana": {"email": "dana@idp.example", "email_verified": true, "name": "Dana Browser"}});
    let _op = OidcProvider::start_with_default(op_port, &clients, &accounts, "dana");

    let chrome = Chrome::start().await;
    chrome.goto(&format!("{}/login", app.base)).await;
    chrome.type_into("input[name=username]", "alice").await;
    chrome.type_into("input[name=password]", "alice's long secret").await;
    chrome.click("form[action='/login'] button").await;
    let page = chrome.wait_for_text("Logged in as").await;
    assert!(page.contains("Alice Archer") && page.contains("ldap:corp"), "{page}");

    chrome.click("form[action='/logout'] button").await;
    chrome.wait_for_text("Log in with Test IdP").await;
    chrome.click("a.button").await;
    let page = chrome.wait_for_text("Logged in as").await;
    assert!(page.contains("Dana Browser") && page.contains("oauth:idp"), "{page}");
    assert!(chrome.current_url().await.ends_with("/login"));
    chrome.quit().await;
}

/// An agent, a customer with two addresses and a phone, a ticket; answers the customer's id.
async fn agent_desk(app: &TestApp) -> i64 {
    app.create_user(json!({"username": "agent.ann", "display_name": "Ann Agent", "emails": [{"email": "ann@desk.example"}], "roles": ["Agent"], "password": "a long agent passphrase"}))
        .await;
    for i in 0..12 {
        app.create_user(json!({"username": format!("walker{i:02}"), "display_name": format!("Walker {i:02}"), "emails": [{"email": format!("walker{i:02}@walk.example")}]}))
            .await;
    }
    let id = app
        .create_user(json!({"username": "zoe.quist", "display_name": "Zoe Quist", "company": "Quist & Daughters",
            "emails": [{"email": "zoe@quist.example", "primary": true}, {"email": "zoe.q@home.example"}],
            "phones": [{"kind": "cell", "number": "+1 201 555 0142"}]}))
        .await;
    let (s, _) = app
        .post("/api/v1/tickets", json!({"subject": "Invoice missing", "user_id": id, "emails": ["zoe@quist.example"]}))
        .await;
    assert_eq!(s, reqwest::StatusCode::CREATED);
    id
}

async fn log_in(chrome: &Chrome, app: &TestApp, to: &str) {
    log_in_as(chrome, app, to, "agent.ann", "a long agent passphrase").await;
}

async fn log_in_as(chrome: &Chrome, app: &TestApp, to: &str, username: &str, password: &str) {
    chrome.goto(&format!("{}/login?return_to={}", app.base, to.replace('/', "%2F"))).await;
    chrome.type_into("input[name=username]", username).await;
    chrome.type_into("input[name=password]", password).await;
    chrome.click("form[action='/login'] button").await;
    chrome.wait_until(&format!("return location.pathname === '{to}'"), "logged in").await;
}

fn screenshot_dir() -> std::path::PathBuf {
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let dir = target.join("screenshots");
    std::fs::create_dir_all(&dir).expect("screenshot folder");
    dir
}

/// The page as it is, in light and then dark: what axe finds (each said with `what` and the
/// scheme) and, with `shot` (a path without its ending), a screenshot `<shot>-<scheme>.png` each.
async fn in_both_schemes(
    chrome: &Chrome,
    axe: Option<&str>,
    what: &str,
    shot: Option<std::path::PathBuf>,
) -> Vec<String> {
    let mut found = Vec::new();
    for scheme in ["light", "dark"] {
        chrome.execute("document.documentElement.setAttribute('data-theme', arguments[0])", json!([scheme])).await;
        if let Some(axe) = axe {
            found.extend(chrome.axe(axe).await.into_iter().map(|v| format!("{what} {scheme}: {v}")));
        }
        if let Some(shot) = &shot {
            let file = shot.with_file_name(format!(
                "{}-{scheme}.png",
                shot.file_name().and_then(|n| n.to_str()).unwrap_or("page")
            ));
            std::fs::write(&file, chrome.screenshot().await).expect("screenshot");
        }
    }
    found
}

fn backend_name(b: Backend) -> &'static str {
    if matches!(b, Backend::Sqlite) { "sqlite" } else { "postgres" }
}

async fn an_agent_works_with_the_keyboard_alone_and_axe_finds_nothing(b: Backend) {
    if !chrome_available() {
        return;
    }
    let app = TestApp::start(b).await;
    let zoe = agent_desk(&app).await;
    let chrome = Chrome::start().await;
    log_in(&chrome, &app, "/agent/users").await;

    // `/` → type part of the name → ↓ → Enter previews → Shift+Enter opens the record
    chrome.press(&["/"], &[]).await;
    assert!(chrome.focused().await.starts_with("INPUT#q"), "{}", chrome.focused().await);
    chrome.type_text("quis").await;
    chrome.wait_until("return location.search === '?q=quis'", "the search is in the URL").await;
    chrome
        .wait_until("return document.getElementById('result-count').textContent.trim() === 'One user'", "the count")
        .await;
    chrome.press(&[key::DOWN], &[]).await;
    assert!(chrome.focused().await.contains("Zoe Quist"), "{}", chrome.focused().await);
    chrome.press(&[key::ENTER], &[]).await;
    chrome
        .wait_until(&format!("return location.search.indexOf('selected={zoe}') >= 0 && !!document.querySelector('#preview-pane #record-title')"), "the preview")
        .await;
    assert!(chrome.focused().await.contains("Zoe Quist"), "focus stays on the row: {}", chrome.focused().await);
    chrome.press(&[key::ENTER], &[key::SHIFT]).await;
    chrome.wait_until(&format!("return location.pathname === '/agent/users/{zoe}'"), "the full record").await;
    // `]` → the next tab, the URL replaced, focus on the tab
    chrome.press(&["]"], &[]).await;
    chrome.wait_until(&format!("return location.pathname === '/agent/users/{zoe}/contact'"), "the contact tab").await;
    chrome.wait_until("return document.activeElement.id === 'tab-contact'", "focus on the chosen tab").await;
    // the tab's own panel, swapped in and settled (focus moves to the tab before its answer)
    chrome
        .wait_until(
            "return !!document.querySelector('#tabpanel[aria-labelledby=tab-contact]') && !document.querySelector('.htmx-request, .htmx-settling, .htmx-swapping')",
            "the contact panel settled",
        )
        .await;
    assert!(chrome.source().await.contains("zoe.q@home.example"));
    // `e` edits the first group; type; Ctrl+Enter saves; "Saved" announced; focus on the pencil
    chrome.press(&["e"], &[]).await;
    chrome.wait_until("return document.activeElement.id === 'f-contact-1'", "the form's first field").await;
    chrome.execute("document.activeElement.select()", json!([])).await;
    chrome.type_text("Quist Holdings").await;
    chrome.press(&[key::ENTER], &[key::CONTROL]).await;
    chrome
        .wait_until(
            "return document.getElementById('announce').textContent === 'Saved: Contact details'",
            "Saved announced",
        )
        .await;
    // the live region is filled as the answer is swapped in; focus moves once htmx has settled
    chrome.wait_until("return document.activeElement.classList.contains('pencil')", "focus back on the pencil").await;
    let (_, user) = app.get(&format!("/api/v1/users/{zoe}")).await;
    assert_eq!(user["company"], "Quist Holdings");
    // Esc cancels an edit and returns to the pencil
    chrome.press(&["e"], &[]).await;
    chrome.wait_until("return document.activeElement.id === 'f-contact-1'", "editing again").await;
    chrome.press(&[key::ESCAPE], &[]).await;
    chrome.wait_until("return document.activeElement.classList.contains('pencil')", "cancelled to the pencil").await;
    // shortcuts are inert in a field; `?` opens the overlay
    chrome.press(&["?"], &[]).await;
    chrome.wait_until("return document.getElementById('shortcut-help').open", "the overlay").await;
    chrome.press(&[key::ESCAPE], &[]).await;
    // Back returns to the directory with the record selected (the tab switch replaced the URL)
    chrome.back().await;
    chrome.wait_until(&format!("return location.search === '?q=quis&selected={zoe}'"), "back to the preview").await;

    // an organization: created, a domain rule previewed while typing (nothing saved yet) and
    // added, then its ticket listed with the rule that matched it
    chrome.goto(&format!("{}/agent/organizations/new", app.base)).await;
    chrome.type_into("#f-new-1", "Quist Group").await;
    chrome.click("#group-new button[type=submit]").await;
    chrome
        .wait_until(
            "return /\\/agent\\/organizations\\/\\d+\\/members$/.test(location.pathname)",
            "the new organization's members",
        )
        .await;
    let org_base = chrome.current_url().await.trim_end_matches("/members").to_string();
    chrome.type_into("#rule-value", "quist.example").await;
    chrome
        .wait_until(
            "return document.getElementById('rule-preview').textContent.indexOf('pulls in 1 users, 1 tickets') >= 0",
            "the live preview",
        )
        .await;
    assert!(chrome.source().await.contains("No rules yet"), "the preview saved nothing");
    chrome.click(".rule-form button[value=add]").await;
    chrome.wait_until("return document.getElementById('announce').textContent === 'Saved'", "the rule saved").await;
    chrome.goto(&format!("{org_base}/tickets")).await;
    let page = chrome.wait_for_text("Invoice missing").await;
    assert!(page.contains("Domain: quist.example"), "the matched rule is named");
    let org_path = org_base.trim_start_matches(&app.base).to_string();

    // axe on every page type, light and dark, wide and narrow; screenshots of the main ones
    let Some(axe) = axe_source() else { return chrome.quit().await };
    let mut pages: Vec<(String, String)> = vec![
        ("directory".into(), "/agent/users".into()),
        ("preview".into(), format!("/agent/users?q=quis&selected={zoe}")),
        ("record-edit".into(), format!("/agent/users/{zoe}?edit=identity")),
        ("contact-edit".into(), format!("/agent/users/{zoe}/contact?edit=contact")),
    ];
    for tab in [
        "details",
        "contact",
        "portal",
        "roles",
        "custom-fields",
        "comments",
        "tickets",
        "chats",
        "calls",
        "surveys",
        "organizations",
        "stats",
        "history",
        "changes",
    ] {
        pages.push((format!("tab-{tab}"), format!("/agent/users/{zoe}/{tab}")));
    }
    pages.push(("new-ticket".into(), format!("/agent/users/{zoe}/new/ticket")));
    pages.push(("new-call".into(), format!("/agent/users/{zoe}/new/call")));
    pages.push(("orgs".into(), "/agent/organizations".into()));
    pages.push(("org-new".into(), "/agent/organizations/new".into()));
    pages.push(("org-edit".into(), format!("{org_path}?edit=org")));
    for tab in ["details", "members", "comments", "users", "tickets", "chats", "calls", "surveys", "changes"] {
        pages.push((format!("org-{tab}"), format!("{org_path}/{tab}")));
    }
    let shots = screenshot_dir();
    let mut problems = Vec::new();
    for width in [1440, 390] {
        chrome.set_width(width).await;
        for (name, path) in &pages {
            chrome.goto(&format!("{}{path}", app.base)).await;
            let shot =
                ["directory", "preview", "tab-details", "record-edit", "tab-tickets", "org-members", "org-tickets"]
                    .contains(&name.as_str())
                    .then(|| shots.join(format!("{}-{name}-{width}", backend_name(b))));
            problems.extend(in_both_schemes(&chrome, Some(&axe), &format!("{path} {width}px"), shot).await);
        }
    }
    assert!(problems.is_empty(), "axe found {} violations:\n{}", problems.len(), problems.join("\n"));
    chrome.quit().await;
}

async fn an_agent_works_with_javascript_off(b: Backend) {
    if !chrome_available() {
        return;
    }
    let app = TestApp::start(b).await;
    let zoe = agent_desk(&app).await;
    let chrome = Chrome::start_without_javascript().await;
    log_in(&chrome, &app, "/agent/users").await;
    assert_eq!(chrome.execute("return 1", json!([])).await, json!(1), "WebDriver's own scripts still run");
    // search with Enter (the plain form)
    chrome.type_into("#q", "walker").await;
    chrome.type_into("#q", key::ENTER).await;
    chrome.wait_for_text("12 users").await;
    assert!(
        !chrome
            .execute("return document.documentElement.classList.contains('js')", json!([]))
            .await
            .as_bool()
            .unwrap_or(true)
    );
    // sort by username, descending (two clicks on the header link)
    chrome.click("th[aria-sort] a[href*='sort=username']").await;
    chrome.wait_until("return location.search.indexOf('sort=username&order=asc') >= 0", "sorted").await;
    chrome.click("th[aria-sort] a[href*='sort=username']").await;
    chrome.wait_until("return location.search.indexOf('order=desc') >= 0", "descending").await;
    let page = chrome.source().await;
    assert!(page.find("walker11").expect("11") < page.find("walker10").expect("10"), "descending");
    // open a record and edit a field
    chrome.goto(&format!("{}/agent/users?q=quist", app.base)).await;
    chrome.click("a.row-link").await;
    chrome.wait_until(&format!("return location.pathname === '/agent/users/{zoe}'"), "the record").await;
    chrome.click("#group-identity a.pencil").await;
    chrome.wait_until("return location.search === '?edit=identity'", "the edit state").await;
    chrome.execute("document.getElementById('f-identity-1').value = ''", json!([])).await;
    chrome.type_into("#f-identity-1", "Zoë Quist").await;
    chrome.click("#group-identity button[type=submit]").await;
    chrome.wait_for_text("✓ Saved").await;
    assert!(chrome.current_url().await.ends_with("?saved=identity#group-identity"));
    let (_, user) = app.get(&format!("/api/v1/users/{zoe}")).await;
    assert_eq!(user["display_name"], "Zoë Quist");
    // a tab is a link
    chrome.click("#tab-tickets").await;
    chrome.wait_for_text("Invoice missing").await;
    chrome.quit().await;
}

async fn a_manager_merges_in_a_dialog_and_acts_in_bulk(b: Backend) {
    if !chrome_available() {
        return;
    }
    let app = TestApp::start(b).await;
    let zoe = agent_desk(&app).await;
    app.create_user(json!({"username": "mgr.mia", "display_name": "Mia Manager", "emails": [{"email": "mia@desk.example"}], "roles": ["Manager"], "password": "a long manager passphrase"}))
        .await;
    let old = app
        .create_user(json!({"username": "zoe.old", "display_name": "Zoe Old Account", "emails": [{"email": "zoe.old@quist.example"}]}))
        .await;
    for subject in ["Old order", "Old refund"] {
        let (s, _) = app
            .post("/api/v1/tickets", json!({"subject": subject, "user_id": old, "emails": ["zoe.old@quist.example"]}))
            .await;
        assert_eq!(s, reqwest::StatusCode::CREATED);
    }
    let chrome = Chrome::start().await;
    let here = format!("/agent/users/{zoe}");
    log_in_as(&chrome, &app, &here, "mgr.mia", "a long manager passphrase").await;
    let axe = axe_source();
    let shots = screenshot_dir();
    let mut problems = Vec::new();
    let check = |name: &'static str| {
        let shot = shots.join(format!("{}-{name}-1440", backend_name(b)));
        in_both_schemes(&chrome, axe.as_deref(), name, Some(shot))
    };

    // `m` opens the merge dialog with focus in its search; type; Tab to the match; Enter
    chrome.press(&["m"], &[]).await;
    chrome.wait_until("return document.getElementById('dialog').open", "the merge dialog").await;
    chrome.wait_until("return document.activeElement.id === 'merge-q'", "focus in the dialog's search").await;
    chrome.type_text("old acc").await;
    chrome.wait_until("return !!document.querySelector('#merge-candidates a')", "the matching user").await;
    chrome.press(&[key::TAB], &[]).await;
    chrome.press(&[key::TAB], &[]).await;
    assert!(chrome.focused().await.contains("Zoe Old Account"), "{}", chrome.focused().await);
    chrome.press(&[key::ENTER], &[]).await;
    chrome.wait_until("return document.activeElement.matches('.form-actions button.danger')", "focus on Merge").await;
    let moves = chrome.execute("return document.getElementById('merge-moves').textContent", json!([])).await;
    assert!(moves.as_str().unwrap_or_default().contains("2 tickets"), "{moves}");
    problems.extend(check("merge-dialog").await);
    chrome.execute("document.documentElement.setAttribute('data-theme', 'light')", json!([])).await;
    chrome.press(&[key::ENTER], &[]).await;
    chrome.wait_until(&format!("return location.search === '?merged={old}'"), "the survivor's record").await;
    chrome.wait_for_text(&format!("User #{old} was merged into this user.")).await;
    let (_, stats) = app.get(&format!("/api/v1/users/{zoe}/stats")).await;
    assert_eq!(stats["tickets"], 3, "{stats}");
    // Esc closes the dialog and focus returns to the Merge button
    chrome.press(&["m"], &[]).await;
    chrome.wait_until("return document.getElementById('dialog').open", "the dialog again").await;
    chrome.press(&[key::ESCAPE], &[]).await;
    chrome
        .wait_until(
            "return !document.getElementById('dialog').open && document.activeElement.matches('[aria-keyshortcuts=m]')",
            "focus back on Merge",
        )
        .await;
    // the merge as a page (JavaScript off, or opened in a tab)
    chrome.goto(&format!("{}/agent/users/{zoe}/merge?q=walker", app.base)).await;
    problems.extend(check("merge-page").await);

    // bulk: `/`, type, ↓ x ↓ x ticks two rows; a label for both
    chrome.goto(&format!("{}/agent/users", app.base)).await;
    // the list's splitter moves with the keyboard (and is kept for the next page)
    chrome.execute("document.querySelector('.pane-handle').focus()", json!([])).await;
    let before =
        chrome.execute("return +document.querySelector('.pane-handle').getAttribute('aria-valuenow')", json!([])).await;
    chrome.press(&[key::HOME], &[]).await;
    chrome
        .wait_until(
            "return document.querySelector('.pane-handle').getAttribute('aria-valuenow') === '360'",
            "the narrowest list",
        )
        .await;
    let width = chrome
        .execute("return Math.round(document.getElementById('list').getBoundingClientRect().width)", json!([]))
        .await;
    assert_eq!(width, json!(360), "the list is as wide as the splitter says (was {before})");
    chrome.press(&[key::RIGHT], &[]).await;
    chrome
        .wait_until(
            "return document.querySelector('.pane-handle').getAttribute('aria-valuenow') === '376'",
            "16 px wider",
        )
        .await;
    chrome.goto(&format!("{}/agent/users", app.base)).await;
    chrome
        .wait_until("return document.querySelector('.pane-handle').getAttribute('aria-valuenow') === '376'", "kept")
        .await;
    chrome.execute("localStorage.removeItem('kith.listWidth')", json!([])).await;
    chrome.goto(&format!("{}/agent/users", app.base)).await;
    chrome.press(&["/"], &[]).await;
    chrome.type_text("walker").await;
    chrome
        .wait_until("return document.getElementById('result-count').textContent.trim() === '12 users'", "the walkers")
        .await;
    chrome.press(&[key::DOWN], &[]).await;
    chrome.press(&["x"], &[]).await;
    chrome.press(&[key::DOWN], &[]).await;
    chrome.press(&["x"], &[]).await;
    chrome.wait_until("return document.getElementById('bulk-count').textContent === '2 selected:'", "two ticked").await;
    chrome.type_into("#bulk-value", "VIP").await;
    chrome.click("#bulk button[type=submit]").await;
    chrome.wait_until("return location.search.indexOf('done=2') >= 0", "the bulk label").await;
    chrome.wait_for_text("Done: 2 users changed.").await;
    assert!(chrome.current_url().await.contains("q=walker"), "back to the same search");
    problems.extend(check("bulk-done").await);
    // a bulk delete asks first, naming the count
    chrome.execute("document.querySelector('#list-results input[name=ids]').checked = true", json!([])).await;
    chrome.execute("document.getElementById('bulk-action').value = 'delete'", json!([])).await;
    chrome.click("#bulk button[type=submit]").await;
    chrome.wait_for_text("Delete 1 user?").await;
    problems.extend(check("bulk-confirm").await);
    assert!(problems.is_empty(), "axe found {} violations:\n{}", problems.len(), problems.join("\n"));
    chrome.quit().await;
}

async fn an_agent_comments_pins_and_filters_organizations(b: Backend) {
    if !chrome_available() {
        return;
    }
    let app = TestApp::start(b).await;
    let zoe = agent_desk(&app).await;
    for name in ["Quist & Daughters", "Globex", "Initech"] {
        let (s, _) = app.post("/api/v1/organizations", json!({"name": name})).await;
        assert_eq!(s, reqwest::StatusCode::CREATED);
    }
    let chrome = Chrome::start().await;
    let here = format!("/agent/users/{zoe}");
    log_in(&chrome, &app, &here).await;

    // `n` opens the Comments tab in its box; Ctrl+Enter adds the comment; "Saved" is said
    chrome.press(&["n"], &[]).await;
    chrome.wait_until("return document.activeElement.id === 'comment-body'", "in the comment box").await;
    assert!(chrome.current_url().await.ends_with(&format!("{here}/comments#comment-body")));
    chrome.type_text("Prefers calls after 4 pm").await;
    chrome.execute("document.querySelector('#comments input[name=sticky]').checked = true", json!([])).await;
    chrome.press(&[key::ENTER], &[key::CONTROL]).await;
    chrome.wait_until("return !!document.querySelector('#comments li.sticky')", "the pinned comment listed").await;
    let saved = chrome.execute("return document.querySelector('#comments .saved').textContent", json!([])).await;
    assert!(saved.as_str().unwrap_or_default().contains("Saved"), "{saved}");
    // the header shows it on the record; the tab counts it
    chrome.goto(&format!("{}{here}", app.base)).await;
    let page = chrome.wait_for_text("Prefers calls after 4 pm").await;
    assert!(page.contains("class=\"pinned\""), "pinned in the header");
    let badge = chrome.execute("return document.querySelector('#tab-comments .badge').textContent", json!([])).await;
    assert_eq!(badge, json!("1"));

    // pin the record (☆), then it is in the navigation under Pinned
    chrome.click("form.pin button").await;
    chrome
        .wait_until(
            "return document.querySelector('form.pin button').getAttribute('aria-pressed') === 'true'",
            "pinned",
        )
        .await;
    chrome.goto(&format!("{}/agent/users", app.base)).await;
    chrome
        .wait_until(
            "return [...document.querySelectorAll('.records a')].some(a => a.textContent.indexOf('Zoe Quist') >= 0)",
            "Zoe among the pinned records",
        )
        .await;
    // the organizations filter as you type: the list alone changes, focus stays in the box
    chrome.click("#of").await;
    chrome.type_text("glo").await;
    chrome
        .wait_until(
            "var l = document.querySelectorAll('#org-list a'); return l.length === 1 && l[0].firstElementChild.textContent === 'Globex'",
            "only Globex",
        )
        .await;
    assert!(chrome.focused().await.starts_with("INPUT#of"), "{}", chrome.focused().await);
    // Enter in the filter, then the organization's view lists its members (none: no rules yet)
    chrome.click("#org-list a").await;
    chrome.wait_until("return location.search.indexOf('view=org') >= 0", "the organization's view").await;
    chrome.wait_for_text("No user matches.").await;

    let axe = axe_source();
    let shots = screenshot_dir();
    let mut problems = Vec::new();
    for width in [1440, 390] {
        chrome.set_width(width).await;
        for (name, path) in
            [("tab-comments", format!("{here}/comments")), ("directory-nav", "/agent/users?of=i".to_string())]
        {
            chrome.goto(&format!("{}{path}", app.base)).await;
            if name == "directory-nav" && width == 390 {
                // below 1280 px the navigation waits behind its button
                chrome.click(".nav-toggle").await;
            }
            let shot = shots.join(format!("{}-{name}-{width}", backend_name(b)));
            problems.extend(in_both_schemes(&chrome, axe.as_deref(), &format!("{path} {width}px"), Some(shot)).await);
        }
    }
    assert!(problems.is_empty(), "axe found {} violations:\n{}", problems.len(), problems.join("\n"));
    chrome.quit().await;
}

async fn an_agent_creates_a_user_meets_a_conflict_and_goes_back(b: Backend) {
    if !chrome_available() {
        return;
    }
    let app = TestApp::start(b).await;
    let zoe = agent_desk(&app).await;
    let chrome = Chrome::start().await;
    log_in(&chrome, &app, "/agent/users").await;

    // a new user: name, address and phone in the form, a second address on Contact info
    chrome.goto(&format!("{}/agent/users/new", app.base)).await;
    chrome.type_into("#f-new-user-1", "Mara Lind").await;
    chrome.type_into("#f-new-user-3", "mara@lind.example").await;
    chrome.type_into("#f-new-user-4", "+49 30 1234567").await;
    chrome.click("#group-new-user button[type=submit]").await;
    chrome.wait_until("return /^\\/agent\\/users\\/\\d+$/.test(location.pathname)", "the new user's record").await;
    let url = chrome.current_url().await;
    let mara: i64 = url.rsplit('/').next().and_then(|n| n.parse().ok()).expect("the new user's id");
    chrome.goto(&format!("{}/agent/users/{mara}/contact", app.base)).await;
    chrome.type_into("#add-email", "mara.l@home.example").await;
    chrome.press(&[key::ENTER], &[]).await;
    chrome
        .wait_until(
            "return document.getElementById('emails').textContent.indexOf('mara.l@home.example') >= 0",
            "the second address",
        )
        .await;
    let (_, user) = app.get(&format!("/api/v1/users/{mara}")).await;
    assert_eq!(user["emails"].as_array().map(Vec::len), Some(2), "{user}");
    assert_eq!(user["phones"][0]["number"], "+49301234567", "{user}");

    // a default Agent: no Delete offered; the form posted anyway is refused
    chrome.goto(&format!("{}/agent/users/{zoe}/tickets", app.base)).await;
    assert!(!chrome.source().await.contains("class=\"menu danger\""), "no Delete for a default Agent");
    let status = chrome
        .execute_async(&format!(
            "var done = arguments[arguments.length - 1];
             var csrf = document.querySelector('input[name=csrf]').value;
             fetch('/agent/users/{zoe}/delete', {{method: 'POST', body: new URLSearchParams({{csrf: csrf}})}})
               .then(function (r) {{ done(r.status); }});"
        ))
        .await;
    assert_eq!(status, json!(403));
    let (s, _) = app.get(&format!("/api/v1/users/{zoe}")).await;
    assert_eq!(s, reqwest::StatusCode::OK, "still there");

    // Back: from Mara's record to Zoe's, on the Tickets tab it was left on
    chrome.goto(&format!("{}/agent/users/{mara}", app.base)).await;
    chrome.back().await;
    chrome
        .wait_until(&format!("return location.pathname === '/agent/users/{zoe}/tickets'"), "back to Zoe's tickets")
        .await;
    chrome
        .wait_until(
            "return document.getElementById('tab-tickets').getAttribute('aria-selected') === 'true'",
            "the Tickets tab",
        )
        .await;

    // two sessions: while this one edits Mara, another saves her first; Keep mine wins
    chrome.goto(&format!("{}/agent/users/{mara}", app.base)).await;
    chrome.press(&["e"], &[]).await;
    chrome.wait_until("return document.activeElement.id === 'f-identity-1'", "editing the identity").await;
    let (s, _) = app.patch(&format!("/api/v1/users/{mara}"), json!({"display_name": "Mara Lind-Berg"})).await;
    assert_eq!(s, reqwest::StatusCode::OK);
    chrome.execute("document.activeElement.select()", json!([])).await;
    chrome.type_text("Mara Lindqvist").await;
    chrome.press(&[key::ENTER], &[key::CONTROL]).await;
    let page = chrome.wait_for_text("Someone changed this user while you were editing.").await;
    assert!(page.contains("Mara Lind-Berg"), "their value is shown");
    chrome.click("#group-identity .form-actions button[type=submit]").await;
    chrome
        .wait_until(
            "return document.getElementById('announce').textContent.indexOf('Saved') === 0",
            "saved after the conflict",
        )
        .await;
    let (_, user) = app.get(&format!("/api/v1/users/{mara}")).await;
    assert_eq!(user["display_name"], "Mara Lindqvist", "mine kept");
    chrome.quit().await;
}
