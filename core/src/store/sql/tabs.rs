//! What membership rules pull in: the organization tabs, rule previews, a user's tabs and
//! organizations, and the portal's organization tickets.
//!
//! Each rule becomes, per tab, a *branch* (an index-backed query for the ids and times of the
//! records it matches) and a *predicate* (the same condition on one record). A page takes the
//! newest `limit+1` of every branch after the cursor and merges them; the exact total counts,
//! for each rule in turn, the records of its branch that no earlier rule matched — so a record
//! pulled in by several rules counts once, without materializing the union. Rules are ordered
//! largest first (domains, phones, addresses, usernames), so the big branch is counted by one
//! index range and only the small ones pay for predicate checks. Which rules matched each row
//! (`matched_by`) is decided in Rust by `domain::organization::matches`, the SPEC table.

use std::collections::{HashMap, HashSet};

use sqlx::AssertSqlSafe;

use super::organizations::{RULE_COLUMNS, RuleRow, check_org_exists, load_orgs, load_rules, resolve_username};
use super::records::{load_calls, load_chats, load_surveys, load_tickets};
use super::users::load_users;
use super::{Conn, Pools};
use crate::clock::Timestamp;
use crate::domain::organization::{
    MatchedBy, Membership, OrganizationId, RecordFacts, Rule, RuleId, RuleKind, RuleSpec, Tab, TabItem, TabRecord,
    domain_and_parents, domain_of, matches,
};
use crate::domain::records::{AnyRecord, TicketState};
use crate::domain::user::{UserHistory, UserStats};
use crate::domain::{Error, Result, UserId};
use crate::store::{Cursor, Page, Subject, TabCounts, db_err, placeholders};

/// A value bound into an assembled statement.
enum Arg {
    Text(String),
    Int(i64),
    Bool(bool),
}

#[derive(Default)]
struct Args(Vec<Arg>);

impl Args {
    fn p(&mut self, a: Arg) -> String {
        self.0.push(a);
        format!("${}", self.0.len())
    }
    fn text(&mut self, s: &str) -> String {
        self.p(Arg::Text(s.to_string()))
    }
    fn int(&mut self, n: i64) -> String {
        self.p(Arg::Int(n))
    }
}

macro_rules! bind_all {
    ($q:expr, $args:expr) => {{
        let mut q = $q;
        for a in &$args.0 {
            q = match a {
                Arg::Text(s) => q.bind(s.clone()),
                Arg::Int(n) => q.bind(*n),
                Arg::Bool(b) => q.bind(*b),
            };
        }
        q
    }};
}

/// The table behind a tab and its time column.
fn table(tab: Tab) -> (&'static str, &'static str) {
    match tab {
        Tab::Users => ("users", "created_at"),
        Tab::Tickets => ("tickets", "created_at"),
        Tab::Chats => ("chats", "started_at"),
        Tab::Calls => ("calls", "at"),
        Tab::Surveys => ("surveys", "at"),
    }
}

fn domain_cond(tab: Tab, rule: &Rule, a: &mut Args) -> String {
    let mut c = format!("d.kind = {} AND d.domain = {}", a.int(tab.code()), a.text(&rule.value));
    if !rule.include_subdomains {
        c.push_str(&format!(" AND d.exact = {}", a.p(Arg::Bool(true))));
    }
    c
}

/// The ids (`id`) and times (`at`) of the records `rule` pulls into `tab`; None when the rule
/// cannot match anything (a username rule whose user was deleted).
fn branch(tab: Tab, rule: &Rule, a: &mut Args) -> Option<String> {
    let (t, at) = table(tab);
    let sql = match (tab, rule.kind) {
        (_, RuleKind::Domain) => {
            format!("SELECT d.record_id AS id, d.at AS at FROM record_domains d WHERE {}", domain_cond(tab, rule, a))
        }
        (Tab::Users, RuleKind::Username) => {
            format!("SELECT r.id AS id, r.created_at AS at FROM users r WHERE r.id = {}", a.int(rule.user_id?))
        }
        (Tab::Users, RuleKind::Email) => format!(
            "SELECT r.id AS id, r.created_at AS at FROM user_emails e JOIN users r ON r.id = e.user_id WHERE e.email = {}",
            a.text(&rule.value)
        ),
        (Tab::Users, RuleKind::Phone) => format!(
            "SELECT r.id AS id, r.created_at AS at FROM user_phones p JOIN users r ON r.id = p.user_id WHERE p.number = {}",
            a.text(&rule.value)
        ),
        (Tab::Tickets, RuleKind::Email) => format!(
            "SELECT ta.ticket_id AS id, ta.created_at AS at FROM ticket_addresses ta WHERE ta.email = {}",
            a.text(&rule.value)
        ),
        (Tab::Calls, RuleKind::Username) => format!(
            "SELECT r.id AS id, r.at AS at FROM calls r WHERE r.email IN (SELECT e.email FROM user_emails e WHERE e.user_id = {})",
            a.int(rule.user_id?)
        ),
        (Tab::Calls, RuleKind::Phone) => {
            format!("SELECT r.id AS id, r.at AS at FROM calls r WHERE r.phone = {}", a.text(&rule.value))
        }
        (_, RuleKind::Username) => {
            format!("SELECT r.id AS id, r.{at} AS at FROM {t} r WHERE r.user_id = {}", a.int(rule.user_id?))
        }
        (_, RuleKind::Email) => {
            format!("SELECT r.id AS id, r.{at} AS at FROM {t} r WHERE r.email = {}", a.text(&rule.value))
        }
        (_, RuleKind::Phone) => format!(
            "SELECT r.id AS id, r.{at} AS at FROM {t} r WHERE r.user_id IN (SELECT p.user_id FROM user_phones p WHERE p.number = {})",
            a.text(&rule.value)
        ),
    };
    Some(sql)
}

/// The same condition as [`branch`], on one record of the tab's table aliased `r`; never NULL.
fn predicate(tab: Tab, rule: &Rule, a: &mut Args) -> Option<String> {
    let sql = match (tab, rule.kind) {
        (_, RuleKind::Domain) => format!(
            "EXISTS (SELECT 1 FROM record_domains d WHERE d.record_id = r.id AND {})",
            domain_cond(tab, rule, a)
        ),
        (Tab::Users, RuleKind::Username) => format!("r.id = {}", a.int(rule.user_id?)),
        (Tab::Users, RuleKind::Email) => {
            format!("EXISTS (SELECT 1 FROM user_emails e WHERE e.user_id = r.id AND e.email = {})", a.text(&rule.value))
        }
        (Tab::Users, RuleKind::Phone) => format!(
            "EXISTS (SELECT 1 FROM user_phones p WHERE p.user_id = r.id AND p.number = {})",
            a.text(&rule.value)
        ),
        (Tab::Tickets, RuleKind::Email) => format!(
            "EXISTS (SELECT 1 FROM ticket_addresses ta WHERE ta.ticket_id = r.id AND ta.email = {})",
            a.text(&rule.value)
        ),
        (Tab::Calls, RuleKind::Username) => {
            format!("r.email IN (SELECT e.email FROM user_emails e WHERE e.user_id = {})", a.int(rule.user_id?))
        }
        (Tab::Calls, RuleKind::Phone) => format!("r.phone = {}", a.text(&rule.value)),
        (_, RuleKind::Username) => format!("r.user_id = {}", a.int(rule.user_id?)),
        (_, RuleKind::Email) => format!("r.email = {}", a.text(&rule.value)),
        (_, RuleKind::Phone) => {
            format!("r.user_id IN (SELECT p.user_id FROM user_phones p WHERE p.number = {})", a.text(&rule.value))
        }
    };
    Some(format!("COALESCE(({sql}), FALSE)"))
}

/// Above this many rules, rules of one kind are queried together (one branch per kind with a
/// list of values) instead of one branch each: the statements then grow linearly with the rules
/// (one rule after another re-checked against every earlier one grows with their square, and
/// SQLite refuses a compound of more than 500 selects).
const GROUP_ABOVE: usize = 16;

/// `$a, $b, ...` for `values`.
fn list(a: &mut Args, values: &[String]) -> String {
    values.iter().map(|v| a.text(v)).collect::<Vec<_>>().join(", ")
}

/// The ids and times of what `rules` pull into `tab`, one branch per rule kind (each without
/// duplicates within itself; branches may overlap each other).
fn grouped_branches(tab: Tab, rules: &[&Rule], a: &mut Args) -> Vec<String> {
    let (t, at) = table(tab);
    let values = |kind: RuleKind| -> Vec<String> {
        let mut v: Vec<String> = rules.iter().filter(|r| r.kind == kind).map(|r| r.value.clone()).collect();
        v.sort();
        v.dedup();
        v
    };
    let mut out = Vec::new();
    // a few domain rules keep a branch each: without DISTINCT, the index on (kind, domain, at)
    // yields a page's newest rows without reading a big domain's every record
    let domains: Vec<&&Rule> = rules.iter().filter(|r| r.kind == RuleKind::Domain).collect();
    if domains.len() <= GROUP_ABOVE {
        out.extend(domains.iter().filter_map(|r| branch(tab, r, a)));
    } else {
        let exact: Vec<String> = domains.iter().filter(|r| !r.include_subdomains).map(|r| r.value.clone()).collect();
        let below: Vec<String> = domains.iter().filter(|r| r.include_subdomains).map(|r| r.value.clone()).collect();
        let k = a.int(tab.code());
        let mut conds = Vec::new();
        if !exact.is_empty() {
            let l = list(a, &exact);
            conds.push(format!("(d.domain IN ({l}) AND d.exact = {})", a.p(Arg::Bool(true))));
        }
        if !below.is_empty() {
            conds.push(format!("d.domain IN ({})", list(a, &below)));
        }
        out.push(format!(
            "SELECT DISTINCT d.record_id AS id, d.at AS at FROM record_domains d WHERE d.kind = {k} AND ({})",
            conds.join(" OR ")
        ));
    }
    let users: Vec<i64> = rules.iter().filter(|r| r.kind == RuleKind::Username).filter_map(|r| r.user_id).collect();
    if !users.is_empty() {
        let l = users.iter().map(|u| a.int(*u)).collect::<Vec<_>>().join(", ");
        out.push(match tab {
            Tab::Users => format!("SELECT r.id AS id, r.created_at AS at FROM users r WHERE r.id IN ({l})"),
            Tab::Calls => format!(
                "SELECT r.id AS id, r.at AS at FROM calls r WHERE r.email IN (SELECT e.email FROM user_emails e WHERE e.user_id IN ({l}))"
            ),
            _ => format!("SELECT r.id AS id, r.{at} AS at FROM {t} r WHERE r.user_id IN ({l})"),
        });
    }
    let emails = values(RuleKind::Email);
    if !emails.is_empty() {
        let l = list(a, &emails);
        out.push(match tab {
            Tab::Users => format!(
                "SELECT DISTINCT r.id AS id, r.created_at AS at FROM user_emails e JOIN users r ON r.id = e.user_id WHERE e.email IN ({l})"
            ),
            Tab::Tickets => format!(
                "SELECT DISTINCT ta.ticket_id AS id, ta.created_at AS at FROM ticket_addresses ta WHERE ta.email IN ({l})"
            ),
            _ => format!("SELECT r.id AS id, r.{at} AS at FROM {t} r WHERE r.email IN ({l})"),
        });
    }
    let phones = values(RuleKind::Phone);
    if !phones.is_empty() {
        let l = list(a, &phones);
        out.push(match tab {
            Tab::Users => format!(
                "SELECT DISTINCT r.id AS id, r.created_at AS at FROM user_phones p JOIN users r ON r.id = p.user_id WHERE p.number IN ({l})"
            ),
            Tab::Calls => format!("SELECT r.id AS id, r.at AS at FROM calls r WHERE r.phone IN ({l})"),
            _ => format!(
                "SELECT r.id AS id, r.{at} AS at FROM {t} r WHERE r.user_id IN (SELECT p.user_id FROM user_phones p WHERE p.number IN ({l}))"
            ),
        });
    }
    out
}

/// Largest expected match sets first.
fn by_expected_size(rules: &[Rule]) -> Vec<&Rule> {
    let mut v: Vec<&Rule> = rules.iter().collect();
    v.sort_by_key(|r| match r.kind {
        RuleKind::Domain => 0,
        RuleKind::Phone => 1,
        RuleKind::Email => 2,
        RuleKind::Username => 3,
    });
    v
}

/// Extra condition on the tab's table (alias `r`), e.g. a ticket status filter.
type Filter<'a> = Option<&'a str>;

/// The SQL condition (on alias `r`) of a ticket state; the statuses are constants of ours.
fn state_condition(state: TicketState) -> &'static str {
    match state {
        TicketState::Open => "r.status IN ('open', 'pending')",
        TicketState::Resolved => "r.status IN ('resolved', 'closed')",
    }
}

/// The exact number of distinct records the rules pull into `tab`.
async fn count(conn: &mut Conn, tab: Tab, rules: &[Rule], filter: Filter<'_>) -> Result<i64> {
    let mut a = Args::default();
    let Some(expr) = any_count_expr(tab, rules, filter, &mut a) else { return Ok(0) };
    let sql = format!("SELECT CAST({expr} AS BIGINT)");
    bind_all!(sqlx::query_scalar::<_, i64>(AssertSqlSafe(sql)), a).fetch_one(&mut *conn).await.map_err(db_err)
}

/// The expression counting what `rules` pull into `tab`, however many rules there are; `None`
/// when nothing can match.
fn any_count_expr(tab: Tab, rules: &[Rule], filter: Filter<'_>, a: &mut Args) -> Option<String> {
    if rules.len() > GROUP_ABOVE {
        Some(count_grouped_expr(tab, rules, filter, a))
    } else {
        count_expr(tab, rules, filter, a)
    }
}

/// [`count`] for several rule sets, in one statement however many rules each has.
async fn counts_of(conn: &mut Conn, tab: Tab, sets: &[&[Rule]]) -> Result<Vec<i64>> {
    let mut out = vec![0; sets.len()];
    let mut a = Args::default();
    let mut selects = Vec::new();
    for (n, rules) in sets.iter().enumerate() {
        if let Some(expr) = any_count_expr(tab, rules, None, &mut a) {
            selects.push(format!("SELECT CAST({n} AS BIGINT), CAST({expr} AS BIGINT)"));
        }
    }
    if !selects.is_empty() {
        let sql = selects.join(" UNION ALL ");
        let rows: Vec<(i64, i64)> = bind_all!(sqlx::query_as::<_, (i64, i64)>(AssertSqlSafe(sql)), a)
            .fetch_all(&mut *conn)
            .await
            .map_err(db_err)?;
        for (n, c) in rows {
            if let Some(slot) = out.get_mut(n as usize) {
                *slot = c;
            }
        }
    }
    Ok(out)
}

/// The SQL expression [`count`] evaluates (its parameters added to `a`), or `None` when no
/// rule can match anything (the count is 0). For at most [`GROUP_ABOVE`] rules.
fn count_expr(tab: Tab, rules: &[Rule], filter: Filter<'_>, a: &mut Args) -> Option<String> {
    let (t, _) = table(tab);
    let mut parts = Vec::new();
    let mut earlier: Vec<&Rule> = Vec::new();
    for rule in by_expected_size(rules) {
        if earlier.is_empty() && filter.is_none() && rule.kind == RuleKind::Domain {
            // the first (largest) rule: a domain's count is kept in domain_counts
            let column = if rule.include_subdomains { "total" } else { "exact" };
            let (k, d) = (a.int(tab.code()), a.text(&rule.value));
            parts.push(format!(
                "COALESCE((SELECT c.{column} FROM domain_counts c WHERE c.kind = {k} AND c.domain = {d}), 0)"
            ));
            earlier.push(rule);
            continue;
        }
        let Some(b) = branch(tab, rule, a) else { continue };
        let mut conds: Vec<String> = earlier.iter().filter_map(|e| predicate(tab, e, a)).collect();
        if let Some(f) = filter {
            conds.insert(0, format!("NOT ({f})"));
        }
        let sql = if conds.is_empty() {
            format!("(SELECT COUNT(*) FROM ({b}) q)")
        } else {
            format!("(SELECT COUNT(*) FROM ({b}) q JOIN {t} r ON r.id = q.id WHERE NOT ({}))", conds.join(" OR "))
        };
        parts.push(sql);
        earlier.push(rule);
    }
    (!parts.is_empty()).then(|| format!("({})", parts.join(" + ")))
}

/// [`count`]'s expression for many rules, one that grows linearly with them: the first (largest)
/// domain rule from `domain_counts`, plus the distinct records the other rules pull in (queried
/// by kind) that the first does not.
fn count_grouped_expr(tab: Tab, rules: &[Rule], filter: Filter<'_>, a: &mut Args) -> String {
    let (t, _) = table(tab);
    let sorted = by_expected_size(rules);
    let mut conds = Vec::new();
    let (first, rest): (Option<String>, &[&Rule]) = match sorted.first() {
        Some(r) if filter.is_none() && r.kind == RuleKind::Domain => {
            let column = if r.include_subdomains { "total" } else { "exact" };
            let (k, d) = (a.int(tab.code()), a.text(&r.value));
            if let Some(p) = predicate(tab, r, a) {
                conds.push(format!("NOT ({p})"));
            }
            let first =
                format!("COALESCE((SELECT c.{column} FROM domain_counts c WHERE c.kind = {k} AND c.domain = {d}), 0)");
            (Some(first), &sorted[1..])
        }
        _ => (None, &sorted[..]),
    };
    if let Some(f) = filter {
        conds.push(f.to_string());
    }
    let branches = grouped_branches(tab, rest, a);
    let others = if branches.is_empty() {
        "0".to_string()
    } else {
        let union =
            branches.iter().map(|b| format!("SELECT g.id AS id FROM ({b}) g")).collect::<Vec<_>>().join(" UNION ");
        if conds.is_empty() {
            format!("(SELECT COUNT(*) FROM ({union}) u)")
        } else if filter.is_none() {
            // only the first (domain) rule's test, which needs the record's id alone: the union
            // itself is `r`, no join with the record table
            format!("(SELECT COUNT(*) FROM ({union}) r WHERE {})", conds.join(" AND "))
        } else {
            format!("(SELECT COUNT(*) FROM ({union}) u JOIN {t} r ON r.id = u.id WHERE {})", conds.join(" AND "))
        }
    };
    format!("({} + {others})", first.unwrap_or_else(|| "0".into()))
}

/// The query [`rules_page`] reads a page from: each rule's newest `limit` (id, at) after
/// `after`, as one UNION ALL (their union, deduplicated, is the page); `None` when no rule can
/// match anything.
fn page_sql(
    tab: Tab,
    rules: &[Rule],
    filter: Filter<'_>,
    limit: i64,
    after: Option<(i64, i64)>,
    a: &mut Args,
) -> Option<String> {
    let (t, _) = table(tab);
    let mut selects = Vec::new();
    let branches: Vec<String> = if rules.len() > GROUP_ABOVE {
        grouped_branches(tab, &rules.iter().collect::<Vec<_>>(), a)
    } else {
        rules.iter().filter_map(|rule| branch(tab, rule, a)).collect()
    };
    for (i, b) in branches.into_iter().enumerate() {
        let mut conds = Vec::new();
        if let Some((at, id)) = after {
            let (pa, pi) = (a.int(at), a.int(id));
            conds.push(format!("(b.at < {pa} OR (b.at = {pa} AND b.id < {pi}))"));
        }
        let join = match filter {
            Some(f) => {
                conds.push(f.to_string());
                format!(" JOIN {t} r ON r.id = b.id")
            }
            None => String::new(),
        };
        let cond = if conds.is_empty() { String::new() } else { format!(" WHERE {}", conds.join(" AND ")) };
        let lim = a.int(limit);
        selects.push(format!(
            "SELECT s{i}.id, s{i}.at FROM (SELECT b.id AS id, b.at AS at FROM ({b}) b{join}{cond} ORDER BY b.at DESC, b.id DESC LIMIT {lim}) s{i}"
        ));
    }
    (!selects.is_empty()).then(|| selects.join(" UNION ALL "))
}

/// How many records the rules pull into `tab` and the newest `limit` distinct (id, at) after
/// `after`, newest first: one statement (the count's row has id -1; ids are positive).
async fn count_and_page(
    conn: &mut Conn,
    tab: Tab,
    rules: &[Rule],
    filter: Filter<'_>,
    limit: i64,
    after: Option<(i64, i64)>,
) -> Result<(i64, Vec<(i64, i64)>)> {
    let mut a = Args::default();
    let count = any_count_expr(tab, rules, filter, &mut a).unwrap_or_else(|| "0".into());
    let mut sql = format!("SELECT CAST(-1 AS BIGINT), CAST({count} AS BIGINT)");
    if let Some(page) = page_sql(tab, rules, filter, limit, after, &mut a) {
        sql.push_str(" UNION ALL ");
        sql.push_str(&page);
    }
    let rows: Vec<(i64, i64)> = bind_all!(sqlx::query_as::<_, (i64, i64)>(AssertSqlSafe(sql)), a)
        .fetch_all(&mut *conn)
        .await
        .map_err(db_err)?;
    let total = rows.iter().find(|(id, _)| *id == -1).map_or(0, |(_, n)| *n);
    let mut rows: Vec<(i64, i64)> =
        rows.into_iter().filter(|(id, _)| *id != -1).collect::<HashSet<_>>().into_iter().collect();
    rows.sort_by_key(|&(id, at)| std::cmp::Reverse((at, id)));
    rows.truncate(limit as usize);
    Ok((total, rows))
}

/// The time of the newest record each rule set pulls in, all in one statement (each branch's
/// newest row, then the greatest per set).
async fn newest_at(conn: &mut Conn, sets: &[(Tab, Vec<Rule>)]) -> Result<Vec<Option<i64>>> {
    let mut a = Args::default();
    let mut selects = Vec::new();
    for (n, (tab, rules)) in sets.iter().enumerate() {
        let branches: Vec<String> = if rules.len() > GROUP_ABOVE {
            grouped_branches(*tab, &rules.iter().collect::<Vec<_>>(), &mut a)
        } else {
            rules.iter().filter_map(|rule| branch(*tab, rule, &mut a)).collect()
        };
        for (i, b) in branches.into_iter().enumerate() {
            selects.push(format!(
                "SELECT CAST({n} AS BIGINT) AS n, s{n}_{i}.at FROM (SELECT b.at AS at FROM ({b}) b ORDER BY b.at DESC LIMIT 1) s{n}_{i}"
            ));
        }
    }
    let mut out = vec![None; sets.len()];
    if selects.is_empty() {
        return Ok(out);
    }
    let sql = selects.join(" UNION ALL ");
    let rows: Vec<(i64, i64)> = bind_all!(sqlx::query_as::<_, (i64, i64)>(AssertSqlSafe(sql)), a)
        .fetch_all(&mut *conn)
        .await
        .map_err(db_err)?;
    for (n, at) in rows {
        if let Some(slot) = out.get_mut(n as usize) {
            *slot = Some(slot.map_or(at, |x: i64| x.max(at)));
        }
    }
    Ok(out)
}

/// The phones (E.164) of some accounts, on a reader.
pub async fn phones_of_users(pools: &Pools, users: &[i64]) -> Result<HashMap<i64, Vec<String>>> {
    let mut conn = pools.read().acquire().await.map_err(db_err)?;
    phones_of(&mut conn, users).await
}

/// The phones of some accounts.
async fn phones_of(conn: &mut Conn, users: &[i64]) -> Result<HashMap<i64, Vec<String>>> {
    let mut out: HashMap<i64, Vec<String>> = HashMap::new();
    if users.is_empty() {
        return Ok(out);
    }
    let mut q = sqlx::query_as::<_, (i64, String)>(AssertSqlSafe(format!(
        "SELECT user_id, number FROM user_phones WHERE user_id IN ({})",
        placeholders(1, users.len())
    )));
    for u in users {
        q = q.bind(*u);
    }
    for (u, n) in q.fetch_all(&mut *conn).await.map_err(db_err)? {
        out.entry(u).or_default().push(n);
    }
    Ok(out)
}

async fn emails_of(conn: &mut Conn, users: &[i64]) -> Result<HashMap<i64, Vec<String>>> {
    let mut out: HashMap<i64, Vec<String>> = HashMap::new();
    if users.is_empty() {
        return Ok(out);
    }
    let mut q = sqlx::query_as::<_, (i64, String)>(AssertSqlSafe(format!(
        "SELECT user_id, email FROM user_emails WHERE user_id IN ({})",
        placeholders(1, users.len())
    )));
    for u in users {
        q = q.bind(*u);
    }
    for (u, e) in q.fetch_all(&mut *conn).await.map_err(db_err)? {
        out.entry(u).or_default().push(e);
    }
    Ok(out)
}

/// Loads the records of `ids` with the facts rules are matched against.
/// The records of `ids` with what rules match them by; the accounts' phones only when
/// `account_phones` (what a phone rule's "matched by" needs).
async fn load_with_facts(
    conn: &mut Conn,
    tab: Tab,
    ids: &[i64],
    account_phones: bool,
) -> Result<Vec<(TabRecord, RecordFacts)>> {
    let mut out = Vec::with_capacity(ids.len());
    match tab {
        Tab::Users => {
            for u in load_users(conn, ids).await? {
                let facts = RecordFacts {
                    user_id: Some(u.id.0),
                    emails: u.emails.iter().map(|e| e.email.clone()).collect(),
                    phones: u.phones.iter().map(|p| p.number.clone()).collect(),
                    account_phones: Vec::new(),
                };
                out.push((TabRecord::User(Box::new(u)), facts));
            }
        }
        Tab::Tickets => {
            let items = load_tickets(conn, ids).await?;
            let accounts: Vec<i64> = items.iter().filter_map(|t| t.user_id.map(|u| u.0)).collect();
            let phones = if account_phones { phones_of(conn, &accounts).await? } else { HashMap::new() };
            for t in items {
                let uid = t.user_id.map(|u| u.0);
                let facts = RecordFacts {
                    user_id: uid,
                    emails: t.emails.clone(),
                    phones: Vec::new(),
                    account_phones: uid.and_then(|u| phones.get(&u).cloned()).unwrap_or_default(),
                };
                out.push((TabRecord::Record(AnyRecord::Ticket(t)), facts));
            }
        }
        Tab::Chats => {
            let items = load_chats(conn, ids).await?;
            let accounts: Vec<i64> = items.iter().filter_map(|t| t.user_id.map(|u| u.0)).collect();
            let phones = if account_phones { phones_of(conn, &accounts).await? } else { HashMap::new() };
            for c in items {
                let uid = c.user_id.map(|u| u.0);
                let facts = RecordFacts {
                    user_id: uid,
                    emails: c.email.iter().cloned().collect(),
                    phones: Vec::new(),
                    account_phones: uid.and_then(|u| phones.get(&u).cloned()).unwrap_or_default(),
                };
                out.push((TabRecord::Record(AnyRecord::Chat(c)), facts));
            }
        }
        Tab::Calls => {
            for c in load_calls(conn, ids).await? {
                let facts = RecordFacts {
                    user_id: None,
                    emails: c.email.iter().cloned().collect(),
                    phones: c.phone.iter().cloned().collect(),
                    account_phones: Vec::new(),
                };
                out.push((TabRecord::Record(AnyRecord::Call(c)), facts));
            }
        }
        Tab::Surveys => {
            let items = load_surveys(conn, ids).await?;
            let accounts: Vec<i64> = items.iter().filter_map(|t| t.user_id.map(|u| u.0)).collect();
            let phones = if account_phones { phones_of(conn, &accounts).await? } else { HashMap::new() };
            for s in items {
                let uid = s.user_id.map(|u| u.0);
                let facts = RecordFacts {
                    user_id: uid,
                    emails: s.email.iter().cloned().collect(),
                    phones: Vec::new(),
                    account_phones: uid.and_then(|u| phones.get(&u).cloned()).unwrap_or_default(),
                };
                out.push((TabRecord::Record(AnyRecord::Survey(s)), facts));
            }
        }
    }
    Ok(out)
}

/// One page of what `rules` pull into `tab`, each item with `matched_by` when asked.
pub async fn rules_page(
    conn: &mut Conn,
    tab: Tab,
    rules: &[Rule],
    filter: Filter<'_>,
    limit: i64,
    after: Option<Cursor>,
    with_matched_by: bool,
) -> Result<Page<TabItem>> {
    let after = match after {
        None => None,
        Some(Cursor { n: Some(at), id, .. }) => Some((at, id)),
        Some(_) => return Err(Error::invalid("cursor", "is not a cursor this list gave out")),
    };
    let (total, rows) = count_and_page(conn, tab, rules, filter, limit + 1, after).await?;
    let more = rows.len() as i64 > limit;
    let shown = &rows[..rows.len().min(limit as usize)];
    let next_cursor =
        if more { shown.last().map(|(id, at)| Cursor { s: None, n: Some(*at), id: *id }.encode()) } else { None };
    let ids: Vec<i64> = shown.iter().map(|(id, _)| *id).collect();
    let loaded = load_with_facts(conn, tab, &ids, with_matched_by).await?;
    let rule_users: Vec<i64> =
        rules.iter().filter(|r| r.kind == RuleKind::Username).filter_map(|r| r.user_id).collect();
    let rule_emails =
        if with_matched_by && tab == Tab::Calls { emails_of(conn, &rule_users).await? } else { HashMap::new() };
    let empty = Vec::new();
    let items = loaded
        .into_iter()
        .map(|(record, facts)| {
            let matched_by = with_matched_by.then(|| {
                rules
                    .iter()
                    .filter(|r| {
                        let ue = r.user_id.and_then(|u| rule_emails.get(&u)).unwrap_or(&empty);
                        matches(tab, r, ue, &facts)
                    })
                    .map(|r| MatchedBy { rule_id: r.id, kind: r.kind, value: r.value.clone() })
                    .collect()
            });
            TabItem { record, matched_by }
        })
        .collect();
    Ok(Page { items, total, next_cursor })
}

/// An organization's tab.
pub async fn org_tab(
    pools: &Pools,
    org: OrganizationId,
    tab: Tab,
    limit: i64,
    after: Option<Cursor>,
) -> Result<Page<TabItem>> {
    let mut conn = pools.read().acquire().await.map_err(db_err)?;
    let rules = load_rules(&mut conn, &[org.0]).await?;
    if rules.is_empty() {
        // no rules: the organization may still exist (an empty tab) or not (404)
        check_org_exists(&mut conn, org).await?;
    }
    rules_page(&mut conn, tab, &rules, None, limit, after, true).await
}

/// How many users each organization's rules pull in (0 for one without rules or not found):
/// two statements however many organizations (their rules, then every count).
pub async fn member_counts(pools: &Pools, orgs: &[OrganizationId]) -> Result<Vec<i64>> {
    let mut conn = pools.read().acquire().await.map_err(db_err)?;
    let ids: Vec<i64> = orgs.iter().map(|o| o.0).collect();
    let rules = load_rules(&mut conn, &ids).await?;
    let sets: Vec<Vec<Rule>> =
        ids.iter().map(|o| rules.iter().filter(|r| r.organization_id.0 == *o).cloned().collect()).collect();
    let refs: Vec<&[Rule]> = sets.iter().map(Vec::as_slice).collect();
    counts_of(&mut conn, Tab::Users, &refs).await
}

/// What a rule would pull in, nothing saved.
pub async fn preview(pools: &Pools, spec: &RuleSpec) -> Result<TabCounts> {
    let mut conn = pools.read().acquire().await.map_err(db_err)?;
    let (value, user_id) = if spec.kind == RuleKind::Username {
        let (id, name) = resolve_username(&mut conn, &spec.value).await?;
        (name.to_lowercase(), Some(id))
    } else {
        (spec.value.clone(), None)
    };
    let rule = Rule {
        id: RuleId(0),
        organization_id: OrganizationId(0),
        kind: spec.kind,
        value,
        include_subdomains: spec.include_subdomains,
        view_org_tickets: spec.view_org_tickets,
        user_id,
    };
    let rules = [rule];
    Ok(TabCounts {
        users: count(&mut conn, Tab::Users, &rules, None).await?,
        tickets: count(&mut conn, Tab::Tickets, &rules, None).await?,
        chats: count(&mut conn, Tab::Chats, &rules, None).await?,
        calls: count(&mut conn, Tab::Calls, &rules, None).await?,
        surveys: count(&mut conn, Tab::Surveys, &rules, None).await?,
    })
}

/// A user's account and addresses and numbers, loaded once for the rules built from them.
struct Person {
    id: i64,
    emails: Vec<String>,
    phones: Vec<String>,
}

impl Person {
    /// The user's addresses and phones, in one statement (kind 0 says the user exists).
    async fn load(conn: &mut Conn, user: i64) -> Result<Person> {
        let rows: Vec<(i64, String)> = sqlx::query_as(
            "SELECT CAST(0 AS BIGINT), '' FROM users WHERE id = $1
             UNION ALL SELECT CAST(1 AS BIGINT), email FROM user_emails WHERE user_id = $1
             UNION ALL SELECT CAST(2 AS BIGINT), number FROM user_phones WHERE user_id = $1",
        )
        .bind(user)
        .fetch_all(&mut *conn)
        .await
        .map_err(db_err)?;
        if !rows.iter().any(|(k, _)| *k == 0) {
            return Err(Error::NotFound);
        }
        let of = |kind: i64| rows.iter().filter(|(k, _)| *k == kind).map(|(_, v)| v.clone()).collect();
        Ok(Person { id: user, emails: of(1), phones: of(2) })
    }

    /// The person behind `user`: read, or taken from the user already read.
    async fn of(conn: &mut Conn, user: Subject<'_>) -> Result<Person> {
        match user {
            Subject::Id(id) => Person::load(conn, id.0).await,
            Subject::User(u) => Ok(Person::from_user(u)),
        }
    }

    fn from_user(u: &crate::domain::user::User) -> Person {
        Person {
            id: u.id.0,
            emails: u.emails.iter().map(|e| e.email.clone()).collect(),
            phones: u.phones.iter().map(|p| p.number.clone()).collect(),
        }
    }
}

/// The condition (on alias `m`, a membership rule) that a rule makes `person` a member, its
/// parameters added to `a`.
fn member_condition(person: &Person, a: &mut Args) -> String {
    let mut conds = vec![format!("(m.kind = 'username' AND m.user_id = {})", a.int(person.id))];
    for e in &person.emails {
        conds.push(format!("(m.kind = 'email' AND m.value = {})", a.text(e)));
    }
    for e in &person.emails {
        for (i, d) in domain_and_parents(domain_of(e)).into_iter().enumerate() {
            let v = a.text(d);
            if i == 0 {
                conds.push(format!("(m.kind = 'domain' AND m.value = {v})"));
            } else {
                conds.push(format!(
                    "(m.kind = 'domain' AND m.value = {v} AND m.include_subdomains = {})",
                    a.p(Arg::Bool(true))
                ));
            }
        }
    }
    for p in &person.phones {
        conds.push(format!("(m.kind = 'phone' AND m.value = {})", a.text(p)));
    }
    conds.join(" OR ")
}

/// The rules (of all organizations) that make `person` a member, grouped by organization.
async fn member_rules(conn: &mut Conn, person: &Person) -> Result<Vec<Rule>> {
    let mut a = Args::default();
    let cond = member_condition(person, &mut a);
    // every rule of each organization one of them matches, in one statement
    let sql = format!(
        "SELECT {RULE_COLUMNS} FROM membership_rules r WHERE r.organization_id IN
           (SELECT m.organization_id FROM membership_rules m WHERE {cond})
         ORDER BY r.id"
    );
    let rows: Vec<RuleRow> =
        bind_all!(sqlx::query_as::<_, RuleRow>(AssertSqlSafe(sql)), a).fetch_all(&mut *conn).await.map_err(db_err)?;
    Ok(rows.into_iter().map(Rule::from).collect())
}

/// The first `limit` organizations (A–Z) a user belongs to, ids and names, in one statement:
/// the chips of a user's header.
pub async fn user_organization_names(
    pools: &Pools,
    user: Subject<'_>,
    limit: i64,
) -> Result<Vec<(OrganizationId, String)>> {
    let mut conn = pools.read().acquire().await.map_err(db_err)?;
    let person = Person::of(&mut conn, user).await?;
    let mut a = Args::default();
    let cond = member_condition(&person, &mut a);
    let lim = a.int(limit);
    let sql = format!(
        "SELECT o.id, o.name FROM organizations o WHERE o.id IN
           (SELECT m.organization_id FROM membership_rules m WHERE {cond})
         ORDER BY o.name_key LIMIT {lim}"
    );
    let rows: Vec<(i64, String)> = bind_all!(sqlx::query_as::<_, (i64, String)>(AssertSqlSafe(sql)), a)
        .fetch_all(&mut *conn)
        .await
        .map_err(db_err)?;
    Ok(rows.into_iter().map(|(id, name)| (OrganizationId(id), name)).collect())
}

/// The organizations a user belongs to, each with its ticket count and the rules that match.
pub async fn user_organizations(pools: &Pools, user: Subject<'_>) -> Result<Vec<Membership>> {
    let mut conn = pools.read().acquire().await.map_err(db_err)?;
    let loaded;
    let u = match user {
        Subject::User(u) => u,
        Subject::Id(id) => {
            loaded = load_users(&mut conn, &[id.0]).await?.pop().ok_or(Error::NotFound)?;
            &loaded
        }
    };
    let facts = RecordFacts {
        user_id: Some(u.id.0),
        emails: u.emails.iter().map(|e| e.email.clone()).collect(),
        phones: u.phones.iter().map(|p| p.number.clone()).collect(),
        account_phones: Vec::new(),
    };
    let rules = member_rules(&mut conn, &Person::from_user(u)).await?;
    let mut by_org: Vec<(i64, Vec<Rule>)> = Vec::new();
    for r in rules {
        match by_org.iter_mut().find(|(o, _)| *o == r.organization_id.0) {
            Some((_, v)) => v.push(r),
            None => by_org.push((r.organization_id.0, vec![r])),
        }
    }
    let ids: Vec<i64> = by_org.iter().map(|(o, _)| *o).collect();
    let orgs = load_orgs(&mut conn, &ids).await?;
    // every organization's ticket count in one statement
    let sets: Vec<&[Rule]> = by_org.iter().map(|(_, rules)| rules.as_slice()).collect();
    let ticket_counts = counts_of(&mut conn, Tab::Tickets, &sets).await?;
    let mut out = Vec::new();
    for org in orgs {
        let Some(at) = by_org.iter().position(|(o, _)| *o == org.id.0) else { continue };
        let (rules, ticket_count) = (&by_org[at].1, ticket_counts[at]);
        let by: Vec<MatchedBy> = rules
            .iter()
            .filter(|r| matches(Tab::Users, r, &[], &facts))
            .map(|r| MatchedBy { rule_id: r.id, kind: r.kind, value: r.value.clone() })
            .collect();
        out.push(Membership { organization: org, ticket_count, matched_by: by });
    }
    out.sort_by_key(|m| m.organization.name.to_lowercase());
    Ok(out)
}

/// A user's own records as rules: their account and each of their addresses (and, for calls,
/// their phone numbers).
fn own_rules(person: &Person, tab: Tab) -> Vec<Rule> {
    let rule = |kind, value: String| Rule {
        id: RuleId(0),
        organization_id: OrganizationId(0),
        kind,
        value,
        include_subdomains: false,
        view_org_tickets: false,
        user_id: Some(person.id),
    };
    let mut rules = vec![rule(RuleKind::Username, String::new())];
    rules.extend(person.emails.iter().map(|e| rule(RuleKind::Email, e.clone())));
    if tab == Tab::Calls {
        rules.extend(person.phones.iter().map(|p| rule(RuleKind::Phone, p.clone())));
    }
    rules
}

/// A user's tickets (linked to the account or sent from one of their addresses), chats, calls
/// (from their addresses or numbers) or surveys.
pub async fn user_tab(
    pools: &Pools,
    user: Subject<'_>,
    tab: Tab,
    state: Option<TicketState>,
    limit: i64,
    after: Option<Cursor>,
) -> Result<Page<TabItem>> {
    let mut conn = pools.read().acquire().await.map_err(db_err)?;
    let person = Person::of(&mut conn, user).await?;
    let filter = state.map(state_condition);
    rules_page(&mut conn, tab, &own_rules(&person, tab), filter, limit, after, false).await
}

/// The counts of a user's Statistics tab: tickets (open, resolved), chats, calls and their
/// seconds, surveys.
pub async fn user_counts(pools: &Pools, user: Subject<'_>) -> Result<UserStats> {
    let mut conn = pools.read().acquire().await.map_err(db_err)?;
    let person = Person::of(&mut conn, user).await?;
    let rules: Vec<(Tab, Vec<Rule>)> = OWN_TABS.iter().map(|(tab, _)| (*tab, own_rules(&person, *tab))).collect();
    if rules.iter().any(|(_, r)| r.len() > GROUP_ABOVE) {
        return user_counts_apart(&mut conn, &rules).await;
    }
    // every count in one statement: each is a scalar subquery
    let mut a = Args::default();
    let mut cols: Vec<String> = Vec::new();
    let mut expr = |tab: Tab, rules: &[Rule], filter: Filter<'_>, a: &mut Args| {
        cols.push(format!("CAST({} AS BIGINT)", count_expr(tab, rules, filter, a).unwrap_or_else(|| "0".into())));
    };
    for (tab, r) in &rules {
        expr(*tab, r, None, &mut a);
    }
    let tickets = &rules[0].1;
    expr(Tab::Tickets, tickets, Some(state_condition(TicketState::Open)), &mut a);
    expr(Tab::Tickets, tickets, Some(state_condition(TicketState::Resolved)), &mut a);
    cols.push(call_seconds_expr(&rules[2].1, &mut a));
    let sql = format!("SELECT {}", cols.join(", "));
    let row: (i64, i64, i64, i64, i64, i64, i64) =
        bind_all!(sqlx::query_as(AssertSqlSafe(sql)), a).fetch_one(&mut *conn).await.map_err(db_err)?;
    Ok(UserStats {
        tickets: row.0,
        chats: row.1,
        calls: row.2,
        surveys: row.3,
        tickets_open: row.4,
        tickets_resolved: row.5,
        call_seconds: row.6,
    })
}

/// The seconds on calls a user's own rules pull in, as an SQL expression.
fn call_seconds_expr(rules: &[Rule], a: &mut Args) -> String {
    let branches: Vec<String> =
        rules.iter().filter_map(|r| branch(Tab::Calls, r, a)).map(|b| format!("SELECT b.id FROM ({b}) b")).collect();
    if branches.is_empty() {
        return "CAST(0 AS BIGINT)".into();
    }
    format!(
        "CAST((SELECT COALESCE(SUM(r.duration_secs), 0) FROM calls r WHERE r.id IN ({})) AS BIGINT)",
        branches.join(" UNION ")
    )
}

/// [`user_counts`] a statement per count, for a person with very many addresses and phones.
async fn user_counts_apart(conn: &mut Conn, rules: &[(Tab, Vec<Rule>)]) -> Result<UserStats> {
    let mut counts = UserStats::default();
    for (tab, r) in rules {
        let n = count(conn, *tab, r, None).await?;
        match tab {
            Tab::Tickets => {
                counts.tickets = n;
                counts.tickets_open = count(conn, *tab, r, Some(state_condition(TicketState::Open))).await?;
                counts.tickets_resolved = count(conn, *tab, r, Some(state_condition(TicketState::Resolved))).await?;
            }
            Tab::Chats => counts.chats = n,
            Tab::Calls => {
                counts.calls = n;
                let mut a = Args::default();
                let sql = format!("SELECT {}", call_seconds_expr(r, &mut a));
                counts.call_seconds = bind_all!(sqlx::query_scalar::<_, i64>(AssertSqlSafe(sql)), a)
                    .fetch_one(&mut *conn)
                    .await
                    .map_err(db_err)?;
            }
            Tab::Surveys => counts.surveys = n,
            Tab::Users => {}
        }
    }
    Ok(counts)
}

/// The tabs of a user's own records, with their names in the API.
const OWN_TABS: [(Tab, &str); 4] =
    [(Tab::Tickets, "tickets"), (Tab::Chats, "chats"), (Tab::Calls, "calls"), (Tab::Surveys, "surveys")];

/// A user's History tab: last login and the time of their newest ticket, chat, call, survey.
pub async fn user_history(pools: &Pools, user: Subject<'_>) -> Result<UserHistory> {
    let mut conn = pools.read().acquire().await.map_err(db_err)?;
    let person = Person::of(&mut conn, user).await?;
    let last_login_at = match user {
        Subject::User(u) => u.last_login_at,
        Subject::Id(id) => {
            let login: Option<Option<i64>> = sqlx::query_scalar("SELECT last_login_at FROM users WHERE id = $1")
                .bind(id.0)
                .fetch_optional(&mut *conn)
                .await
                .map_err(db_err)?;
            login.flatten().map(Timestamp)
        }
    };
    let mut out = UserHistory { last_login_at, ..Default::default() };
    out.logins = super::logins::login_events(&mut conn, UserId(person.id), 10).await?;
    let sets: Vec<(Tab, Vec<Rule>)> = OWN_TABS.iter().map(|(tab, _)| (*tab, own_rules(&person, *tab))).collect();
    let newest = newest_at(&mut conn, &sets).await?;
    for ((tab, _), at) in sets.iter().zip(newest) {
        let at = at.map(Timestamp);
        match tab {
            Tab::Tickets => out.last_ticket_at = at,
            Tab::Chats => out.last_chat_at = at,
            Tab::Calls => out.last_call_at = at,
            Tab::Surveys => out.last_survey_at = at,
            Tab::Users => {}
        }
    }
    Ok(out)
}

/// The organization rules that let `user` see their organizations' tickets in the portal: a
/// username rule naming them, or an email/domain rule matching one of their *verified*
/// addresses — each with `view_org_tickets`. Answers the full rule sets of those organizations.
pub async fn portal_org_rules(pools: &Pools, user: UserId) -> Result<Vec<Rule>> {
    let mut conn = pools.read().acquire().await.map_err(db_err)?;
    let Some(u) = load_users(&mut conn, &[user.0]).await?.pop() else { return Err(Error::NotFound) };
    let verified: Vec<String> = u.emails.iter().filter(|e| e.verified).map(|e| e.email.clone()).collect();
    let facts = RecordFacts { user_id: Some(u.id.0), emails: verified, ..Default::default() };
    let candidates = member_rules(&mut conn, &Person::from_user(&u)).await?;
    let orgs: HashSet<i64> = candidates
        .iter()
        .filter(|r| r.view_org_tickets && r.kind != RuleKind::Phone && matches(Tab::Users, r, &[], &facts))
        .map(|r| r.organization_id.0)
        .collect();
    Ok(candidates.into_iter().filter(|r| orgs.contains(&r.organization_id.0)).collect())
}

/// Tickets a portal user may see: theirs, or (scope organization) those of the organizations
/// [`portal_org_rules`] allows.
pub async fn portal_tickets(
    pools: &Pools,
    user: UserId,
    org_rules: Option<&[Rule]>,
    limit: i64,
    after: Option<Cursor>,
) -> Result<Page<TabItem>> {
    let mut conn = pools.read().acquire().await.map_err(db_err)?;
    match org_rules {
        Some(rules) => rules_page(&mut conn, Tab::Tickets, rules, None, limit, after, false).await,
        None => {
            let own = vec![Rule {
                id: RuleId(0),
                organization_id: OrganizationId(0),
                kind: RuleKind::Username,
                value: String::new(),
                include_subdomains: false,
                view_org_tickets: false,
                user_id: Some(user.0),
            }];
            rules_page(&mut conn, Tab::Tickets, &own, None, limit, after, false).await
        }
    }
}
