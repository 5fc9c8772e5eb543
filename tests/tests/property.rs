//! Property test: random users, addresses, phones, rules and records; every organization tab's
//! answer (walked page by page) equals a plain in-memory reference of the SPEC 3 table written
//! here, separately from Kith's own matching code. Users then gain, lose and drop addresses and
//! some are deleted, and every tab is checked again.

use std::collections::{BTreeMap, BTreeSet};

use kith_tests::{Backend, Rng, TestApp, backend_tests};
use reqwest::StatusCode;
use serde_json::json;

backend_tests!(organization_tabs_equal_the_reference);

const SEEDS: u64 = 4;
const DOMAINS: [&str; 6] =
    ["acme.test", "sales.acme.test", "eu.sales.acme.test", "notacme.test", "other.test", "acme.test.example"];
const PHONES: [&str; 4] = ["+12015550101", "+12015550102", "+12015550103", "+12015550104"];
const TABS: [&str; 5] = ["users", "tickets", "chats", "calls", "surveys"];

#[derive(Clone, Debug)]
struct RUser {
    id: i64,
    username: String,
    emails: Vec<String>,
    phones: Vec<String>,
    created: String,
    alive: bool,
}

#[derive(Clone, Debug)]
struct RRecord {
    id: i64,
    tab: &'static str,
    user: Option<i64>,
    emails: Vec<String>,
    phone: Option<String>,
    at: String,
}

#[derive(Clone, Debug)]
struct RRule {
    id: i64,
    kind: &'static str,
    value: String,
    sub: bool,
    user: Option<i64>,
}

struct World {
    users: Vec<RUser>,
    records: Vec<RRecord>,
    orgs: Vec<(i64, Vec<RRule>)>,
}

impl World {
    fn user(&self, id: i64) -> Option<&RUser> {
        self.users.iter().find(|u| u.id == id && u.alive)
    }
}

fn domain(addr: &str) -> &str {
    addr.split('@').nth(1).unwrap_or("")
}

fn domain_match(d: &str, rule: &str, sub: bool) -> bool {
    d == rule || (sub && d.ends_with(&format!(".{rule}")))
}

/// The SPEC 3 table, cell by cell. For the users tab the "record" is the user.
fn reference_match(w: &World, tab: &str, rule: &RRule, rec: &RRecord) -> bool {
    let rule_user = rule.user.and_then(|u| w.user(u));
    let account = rec.user.and_then(|u| w.user(u));
    match rule.kind {
        "domain" => rec.emails.iter().any(|e| domain_match(domain(e), &rule.value, rule.sub)),
        "email" => rec.emails.contains(&rule.value),
        "username" => match (tab, rule_user) {
            (_, None) => false,
            ("users", Some(u)) => rec.id == u.id,
            ("calls", Some(u)) => rec.emails.iter().any(|e| u.emails.contains(e)),
            (_, Some(u)) => rec.user == Some(u.id),
        },
        "phone" => match tab {
            "users" | "calls" => {
                rec.phone.as_deref() == Some(rule.value.as_str())
                    || (tab == "users" && w.user(rec.id).is_some_and(|u| u.phones.contains(&rule.value)))
            }
            _ => account.is_some_and(|u| u.phones.contains(&rule.value)),
        },
        _ => false,
    }
}

/// What the reference says a tab holds: id → (time, matched rule ids), newest first.
fn reference_tab(w: &World, tab: &str, rules: &[RRule]) -> Vec<(String, i64, Vec<i64>)> {
    let candidates: Vec<RRecord> = if tab == "users" {
        w.users
            .iter()
            .filter(|u| u.alive)
            .map(|u| RRecord {
                id: u.id,
                tab: "users",
                user: Some(u.id),
                emails: u.emails.clone(),
                phone: None,
                at: u.created.clone(),
            })
            .collect()
    } else {
        w.records.iter().filter(|r| r.tab == tab).cloned().collect()
    };
    let mut out: Vec<(String, i64, Vec<i64>)> = candidates
        .iter()
        .filter_map(|rec| {
            let mut by: Vec<i64> = rules.iter().filter(|r| reference_match(w, tab, r, rec)).map(|r| r.id).collect();
            by.sort();
            (!by.is_empty()).then(|| (rec.at.clone(), rec.id, by))
        })
        .collect();
    out.sort_by(|a, b| (&b.0, b.1).cmp(&(&a.0, a.1)));
    out
}

fn time(rng: &mut Rng) -> String {
    // few distinct seconds, so equal times (and the id tie-break) are common
    format!("2026-03-{:02}T10:00:{:02}.000Z", 1 + rng.below(3), rng.below(4))
}

async fn build(app: &TestApp, rng: &mut Rng) -> World {
    let mut w = World { users: Vec::new(), records: Vec::new(), orgs: Vec::new() };
    let n_users = 10 + rng.below(8);
    for i in 0..n_users {
        let mut emails: Vec<String> = Vec::new();
        for j in 0..1 + rng.below(3) {
            emails.push(format!("u{i}m{j}@{}", rng.pick(&DOMAINS)));
        }
        let mut phones: Vec<String> = Vec::new();
        for _ in 0..rng.below(3) {
            let p = rng.pick(&PHONES).to_string();
            if !phones.contains(&p) {
                phones.push(p);
            }
        }
        let body = json!({
            "username": format!("user{i}"),
            "emails": emails.iter().map(|e| json!({"email": e, "verified": true})).collect::<Vec<_>>(),
            "phones": phones.iter().map(|p| json!({"kind": "cell", "number": p})).collect::<Vec<_>>(),
        });
        let (status, v) = app.post("/api/v1/users", body).await;
        assert_eq!(status, StatusCode::CREATED, "{v}");
        w.users.push(RUser {
            id: v["id"].as_i64().expect("id"),
            username: format!("user{i}"),
            emails,
            phones,
            created: v["created_at"].as_str().expect("created").to_string(),
            alive: true,
        });
    }
    let address = |rng: &mut Rng, w: &World| -> String {
        if rng.chance(60) {
            let u = rng.pick(&w.users);
            rng.pick(&u.emails).clone()
        } else {
            format!("stranger{}@{}", rng.below(5), rng.pick(&DOMAINS))
        }
    };
    for tab in ["tickets", "chats", "calls", "surveys"] {
        for k in 0..12 + rng.below(10) {
            let user = if tab != "calls" && rng.chance(50) { Some(rng.pick(&w.users).id) } else { None };
            let at = time(rng);
            let (body, emails, phone) = match tab {
                "tickets" => {
                    let mut emails: Vec<String> = Vec::new();
                    for _ in 0..rng.below(4) {
                        let e = address(rng, &w);
                        if !emails.contains(&e) {
                            emails.push(e);
                        }
                    }
                    (
                        json!({"subject": format!("t{k}"), "user_id": user, "emails": emails, "created_at": at}),
                        emails,
                        None,
                    )
                }
                "calls" => {
                    let email = rng.chance(60).then(|| address(rng, &w));
                    let phone = (email.is_none() || rng.chance(50)).then(|| rng.pick(&PHONES).to_string());
                    (json!({"email": email, "phone": phone, "at": at}), email.into_iter().collect(), phone)
                }
                _ => {
                    let email = (user.is_none() || rng.chance(50)).then(|| address(rng, &w));
                    let mut body = json!({"user_id": user, "email": email});
                    if tab == "chats" {
                        body["started_at"] = json!(at);
                    } else {
                        body["at"] = json!(at);
                        body["name"] = json!("CSAT");
                    }
                    (body, email.into_iter().collect(), None)
                }
            };
            let (status, v) = app.post(&format!("/api/v1/{tab}"), body).await;
            assert_eq!(status, StatusCode::CREATED, "{v}");
            w.records.push(RRecord { id: v["id"].as_i64().expect("id"), tab, user, emails, phone, at });
        }
    }
    for o in 0..5 {
        let (status, v) = app.post("/api/v1/organizations", json!({"name": format!("org{o}")})).await;
        assert_eq!(status, StatusCode::CREATED, "{v}");
        let oid = v["id"].as_i64().expect("id");
        let mut rules = Vec::new();
        for _ in 0..2 + rng.below(7) {
            let (kind, value, sub, user): (&'static str, String, bool, Option<i64>) = match rng.below(4) {
                0 => ("domain", rng.pick(&DOMAINS).to_string(), rng.chance(50), None),
                1 => ("email", address(rng, &w), false, None),
                2 => {
                    let u = rng.pick(&w.users);
                    ("username", u.username.clone(), false, Some(u.id))
                }
                _ => ("phone", rng.pick(&PHONES).to_string(), false, None),
            };
            let (status, v) = app
                .post(
                    &format!("/api/v1/organizations/{oid}/members"),
                    json!({"kind": kind, "value": value, "include_subdomains": sub}),
                )
                .await;
            if status == StatusCode::CONFLICT {
                continue; // the same rule drawn twice
            }
            assert_eq!(status, StatusCode::CREATED, "{v}");
            rules.push(RRule { id: v["id"].as_i64().expect("id"), kind, value, sub, user });
        }
        w.orgs.push((oid, rules));
    }
    // one organization with many rules: above 16, rules of a kind are matched together
    let (status, v) = app.post("/api/v1/organizations", json!({"name": "many rules"})).await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
    let oid = v["id"].as_i64().expect("id");
    let mut wanted: Vec<(&'static str, String, bool, Option<i64>)> = Vec::new();
    for d in DOMAINS {
        wanted.push(("domain", d.to_string(), rng.chance(50), None));
    }
    for p in PHONES {
        wanted.push(("phone", p.to_string(), false, None));
    }
    for _ in 0..10 {
        wanted.push(("email", address(rng, &w), false, None));
    }
    for _ in 0..8 {
        let u = rng.pick(&w.users);
        wanted.push(("username", u.username.clone(), false, Some(u.id)));
    }
    let mut rules = Vec::new();
    for (kind, value, sub, user) in wanted {
        let (status, v) = app
            .post(
                &format!("/api/v1/organizations/{oid}/members"),
                json!({"kind": kind, "value": value, "include_subdomains": sub}),
            )
            .await;
        if status == StatusCode::CONFLICT {
            continue;
        }
        assert_eq!(status, StatusCode::CREATED, "{v}");
        rules.push(RRule { id: v["id"].as_i64().expect("id"), kind, value, sub, user });
    }
    assert!(rules.len() > 16, "{} rules", rules.len());
    w.orgs.push((oid, rules));
    w
}

/// Users gain, lose and change addresses and phones; some are deleted.
async fn mutate(app: &TestApp, rng: &mut Rng, w: &mut World) {
    for i in 0..w.users.len() {
        if !w.users[i].alive || !rng.chance(40) {
            continue;
        }
        let id = w.users[i].id;
        if rng.chance(20) {
            let (status, _) = app.delete(&format!("/api/v1/users/{id}")).await;
            assert_eq!(status, StatusCode::NO_CONTENT);
            w.users[i].alive = false;
            for r in w.records.iter_mut().filter(|r| r.user == Some(id)) {
                r.user = None;
            }
            continue;
        }
        let mut emails = vec![format!("u{i}moved{}@{}", rng.below(1000), rng.pick(&DOMAINS))];
        if rng.chance(50) {
            emails.push(w.users[i].emails[0].clone());
        }
        let phones: Vec<String> = if rng.chance(50) { vec![rng.pick(&PHONES).to_string()] } else { Vec::new() };
        let (status, v) = app
            .patch(
                &format!("/api/v1/users/{id}"),
                json!({"emails": emails.iter().map(|e| json!({"email": e})).collect::<Vec<_>>(),
                       "phones": phones.iter().map(|p| json!({"number": p})).collect::<Vec<_>>()}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{v}");
        w.users[i].emails = emails;
        w.users[i].phones = phones;
    }
}

/// Compares every tab of every organization; answers how many (record, tab) facts were checked.
async fn check(app: &TestApp, rng: &mut Rng, w: &World) -> usize {
    let mut checked = 0;
    for (oid, rules) in &w.orgs {
        for tab in TABS {
            let want = reference_tab(w, tab, rules);
            let limit = 1 + rng.below(7);
            let got: Vec<(i64, Vec<i64>)> = app
                .walk(&format!("/api/v1/organizations/{oid}/{tab}"), limit)
                .await
                .iter()
                .map(|item| {
                    let mut by: Vec<i64> = item["matched_by"]
                        .as_array()
                        .expect("matched_by")
                        .iter()
                        .filter_map(|m| m["rule_id"].as_i64())
                        .collect();
                    by.sort();
                    (item["id"].as_i64().expect("id"), by)
                })
                .collect();
            let want_rows: Vec<(i64, Vec<i64>)> = want.iter().map(|(_, id, by)| (*id, by.clone())).collect();
            if got != want_rows {
                let g: BTreeMap<i64, Vec<i64>> = got.iter().cloned().collect();
                let wm: BTreeMap<i64, Vec<i64>> = want_rows.iter().cloned().collect();
                let only_got: BTreeSet<_> = g.keys().filter(|k| !wm.contains_key(k)).collect();
                let only_want: BTreeSet<_> = wm.keys().filter(|k| !g.contains_key(k)).collect();
                panic!(
                    "org {oid} tab {tab}: Kith and the reference differ\nrules: {rules:?}\nonly Kith: {only_got:?}\nonly reference: {only_want:?}\nKith: {got:?}\nreference: {want_rows:?}"
                );
            }
            // candidates that are correctly absent count as checked facts too
            checked += if tab == "users" { w.users.len() } else { w.records.iter().filter(|r| r.tab == tab).count() };
        }
    }
    checked
}

async fn organization_tabs_equal_the_reference(b: Backend) {
    let mut total = 0;
    for seed in 0..SEEDS {
        let app = TestApp::start(b).await;
        let mut rng = Rng::new(0x5EED_0000 + seed);
        let mut w = build(&app, &mut rng).await;
        total += check(&app, &mut rng, &w).await;
        for _ in 0..2 {
            mutate(&app, &mut rng, &mut w).await;
            total += check(&app, &mut rng, &w).await;
        }
    }
    eprintln!("{b:?}: {total} (record, organization tab) cases agreed with the reference");
    assert!(total > 2000, "too few cases: {total}");
}
