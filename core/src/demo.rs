//! `kith demo-data`: a deterministic, realistic data set — companies with their domains and
//! rules, people with addresses and phones, and their tickets, chats, calls and surveys —
//! bulk-loaded fast enough to build a million users and ten million tickets in minutes.
//!
//! Company sizes follow a long tail (weight 1/(rank+10)): the largest organization holds about
//! one percent of company users, the smallest a handful. A quarter of the users write from
//! public mail providers. Tickets are generated user by user in organization order, so rows
//! sharing a domain land next to each other in the indexes.

use std::time::Instant;

use crate::domain::organization::domain_and_parents;
use crate::domain::user::{Email, Phone, PhoneKind, UserFields, UserRules};
use crate::domain::{Error, Result};
use crate::store::{Store, USER_COLUMNS, Val, user_values};

/// The columns of a demo user's row: its id, the columns every user write fills, its times.
static USER_ROW_COLUMNS: std::sync::LazyLock<Vec<&'static str>> = std::sync::LazyLock::new(|| {
    std::iter::once("id").chain(USER_COLUMNS).chain(["created_at", "updated_at"]).collect()
});

/// How much to generate.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    pub users: u64,
    pub organizations: u64,
    pub tickets: u64,
    pub chats: u64,
    pub calls: u64,
    pub surveys: u64,
    pub seed: u64,
    /// Languages users may have (from the configuration).
    pub languages: Vec<String>,
}

/// What was generated.
#[derive(Debug, Clone, Default)]
pub struct DemoSummary {
    pub users: u64,
    pub organizations: u64,
    pub rules: u64,
    pub tickets: u64,
    pub chats: u64,
    pub calls: u64,
    pub surveys: u64,
    pub seconds: f64,
}

/// A deterministic random source (SplitMix64).
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn pick<'a>(&mut self, items: &'a [&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
}

const FIRST: &[&str] = &[
    "james",
    "mary",
    "john",
    "patricia",
    "robert",
    "jennifer",
    "michael",
    "linda",
    "william",
    "elizabeth",
    "david",
    "barbara",
    "richard",
    "susan",
    "joseph",
    "jessica",
    "thomas",
    "sarah",
    "charles",
    "karen",
    "daniel",
    "nancy",
    "matthew",
    "lisa",
    "anthony",
    "betty",
    "mark",
    "margaret",
    "donald",
    "sandra",
    "steven",
    "ashley",
    "paul",
    "kimberly",
    "andrew",
    "emily",
    "joshua",
    "donna",
    "kenneth",
    "michelle",
    "kevin",
    "carol",
    "brian",
    "amanda",
    "george",
    "melissa",
    "timothy",
    "deborah",
    "ronald",
    "stephanie",
    "jason",
    "rebecca",
    "edward",
    "laura",
    "jeffrey",
    "helen",
    "ryan",
    "sharon",
    "jacob",
    "cynthia",
    "lukas",
    "anna",
    "jonas",
    "lena",
    "felix",
    "marie",
    "noah",
    "sophie",
    "elias",
    "hannah",
    "ben",
    "mia",
    "paul",
    "emma",
    "leon",
    "lea",
    "finn",
    "clara",
    "yuki",
    "hiro",
    "sakura",
    "ken",
    "aiko",
    "ravi",
    "priya",
    "arjun",
    "ananya",
    "omar",
    "fatima",
    "ali",
    "leila",
    "mateo",
    "lucia",
    "diego",
    "sofia",
    "chen",
    "wei",
    "li",
    "ming",
];
const LAST: &[&str] = &[
    "smith",
    "johnson",
    "williams",
    "brown",
    "jones",
    "garcia",
    "miller",
    "davis",
    "rodriguez",
    "martinez",
    "hernandez",
    "lopez",
    "gonzalez",
    "wilson",
    "anderson",
    "thomas",
    "taylor",
    "moore",
    "jackson",
    "martin",
    "lee",
    "perez",
    "thompson",
    "white",
    "harris",
    "sanchez",
    "clark",
    "ramirez",
    "lewis",
    "robinson",
    "walker",
    "young",
    "allen",
    "king",
    "wright",
    "scott",
    "torres",
    "nguyen",
    "hill",
    "flores",
    "green",
    "adams",
    "nelson",
    "baker",
    "hall",
    "rivera",
    "campbell",
    "mitchell",
    "carter",
    "roberts",
    "mueller",
    "schmidt",
    "schneider",
    "fischer",
    "weber",
    "meyer",
    "wagner",
    "becker",
    "schulz",
    "hoffmann",
    "tanaka",
    "suzuki",
    "sato",
    "watanabe",
    "ito",
    "kumar",
    "sharma",
    "patel",
    "singh",
    "gupta",
    "khan",
    "ahmed",
    "hassan",
    "silva",
    "santos",
    "oliveira",
    "costa",
    "wang",
    "zhang",
    "liu",
    "yang",
    "huang",
    "zhao",
    "novak",
    "kowalski",
    "nowak",
    "dubois",
    "moreau",
    "laurent",
    "rossi",
    "russo",
    "ferrari",
    "jensen",
    "hansen",
    "nielsen",
    "larsen",
    "berg",
    "lindqvist",
];
const WORDS: &[&str] = &[
    "acme",
    "globex",
    "initech",
    "umbrella",
    "stark",
    "wayne",
    "wonka",
    "tyrell",
    "cyberdyne",
    "soylent",
    "hooli",
    "vandelay",
    "bluth",
    "dunder",
    "pied",
    "aperture",
    "black",
    "blue",
    "bright",
    "cedar",
    "clear",
    "cloud",
    "coastal",
    "copper",
    "crystal",
    "delta",
    "eagle",
    "east",
    "echo",
    "ember",
    "falcon",
    "forest",
    "fox",
    "frontier",
    "galaxy",
    "gold",
    "granite",
    "green",
    "harbor",
    "hawk",
    "horizon",
    "iron",
    "jade",
    "lake",
    "legacy",
    "liberty",
    "lime",
    "lunar",
    "maple",
    "meadow",
    "mesa",
    "metro",
    "mint",
    "north",
    "nova",
    "oak",
    "ocean",
    "omega",
    "orbit",
    "peak",
    "pine",
    "pioneer",
    "pixel",
    "polar",
    "prime",
    "pulse",
    "quantum",
    "quartz",
    "rapid",
    "red",
    "ridge",
    "river",
    "rock",
    "royal",
    "sage",
    "silver",
    "sky",
    "solar",
    "south",
    "spark",
    "spring",
    "star",
    "stone",
    "summit",
    "sun",
    "swift",
    "terra",
    "tide",
    "titan",
    "true",
    "union",
    "urban",
    "valley",
    "vertex",
    "vista",
    "west",
    "wild",
    "willow",
    "wind",
    "wolf",
    "zen",
    "apex",
    "arc",
    "atlas",
    "aurora",
    "beacon",
    "bolt",
    "bridge",
    "canyon",
    "cascade",
    "core",
    "crest",
    "data",
    "dawn",
    "dynamo",
    "edge",
    "element",
    "flux",
    "forge",
    "fusion",
    "grid",
    "haven",
    "helix",
    "hub",
    "icon",
    "ion",
    "key",
    "kinetic",
    "link",
    "logic",
    "loop",
    "matrix",
    "motion",
];
const TAIL: &[&str] =
    &["labs", "works", "systems", "group", "tech", "soft", "media", "foods", "logistics", "health", "energy", "bank"];
const TLDS: &[&str] = &["com", "com", "com", "net", "io", "de", "co.uk", "org", "fr", "jp"];
const PUBLIC: &[&str] = &["gmail.com", "outlook.com", "yahoo.com", "icloud.com", "gmx.de", "web.de", "proton.me"];
const AREAS: &[&str] = &["201", "212", "310", "415", "512", "617", "646", "702", "713", "206", "303", "404"];
const ZONES: &[&str] =
    &["UTC", "America/New_York", "America/Los_Angeles", "Europe/Berlin", "Europe/London", "Asia/Tokyo"];
const SUBJECTS: &[&str] = &[
    "Cannot log in",
    "Invoice question",
    "Refund request",
    "Password reset not arriving",
    "Feature request",
    "Bug in export",
    "Shipping delay",
    "Upgrade our plan",
    "Cancel subscription",
    "API rate limits",
    "Integration broken",
    "Data import failed",
    "Billing address change",
    "Security question",
    "Slow dashboard",
];
const CITIES: &[&str] = &["Springfield", "Berlin", "London", "Austin", "Tokyo", "Paris", "Madrid", "Toronto", "Sydney"];

fn title(s: &str) -> String {
    let mut c = s.chars();
    c.next().map(|f| f.to_uppercase().chain(c).collect()).unwrap_or_default()
}

/// A US number in E.164 with a plausible exchange.
fn phone(rng: &mut Rng) -> String {
    format!("+1{}{}{:04}", rng.pick(AREAS), 200 + rng.below(800), rng.below(10_000))
}

/// The `record_domains` rows of some addresses.
fn domain_rows(kind: i64, id: i64, emails: &[&str], at: i64, out: &mut Vec<Vec<Val>>) {
    let mut seen: Vec<(String, bool)> = Vec::new();
    for e in emails {
        let d = e.rsplit_once('@').map_or("", |(_, d)| d);
        for (i, p) in domain_and_parents(d).into_iter().enumerate() {
            match seen.iter_mut().find(|(s, _)| s == p) {
                Some((_, exact)) => *exact |= i == 0,
                None => seen.push((p.to_string(), i == 0)),
            }
        }
    }
    for (d, exact) in seen {
        out.push(vec![Val::I(kind), Val::I(id), Val::T(d), Val::B(exact), Val::I(at)]);
    }
}

const RD_COLS: &[&str] = &["kind", "record_id", "domain", "exact", "at"];
const CHUNK: usize = 50_000;

/// A batch of rows for one table.
type Batch = (&'static str, &'static [&'static str], Vec<Vec<Val>>);

/// Inserts batches on a task of its own, in the order sent, so generating the next batch
/// overlaps with writing the last one.
struct Writer {
    tx: tokio::sync::mpsc::Sender<Batch>,
    task: tokio::task::JoinHandle<Result<()>>,
}

impl Writer {
    fn new(store: &Store) -> Writer {
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Batch>(4);
        let store = store.clone();
        let task = tokio::spawn(async move {
            while let Some((table, cols, rows)) = rx.recv().await {
                store.bulk_insert(table, cols, &rows).await?;
            }
            Ok(())
        });
        Writer { tx, task }
    }

    /// Queues `rows` (taken, leaving the vector empty).
    async fn send(
        &mut self,
        table: &'static str,
        cols: &'static [&'static str],
        rows: &mut Vec<Vec<Val>>,
    ) -> Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        if self.tx.send((table, cols, std::mem::take(rows))).await.is_err() {
            // the writer stopped: its error says why
            return Err(self.failure().await);
        }
        Ok(())
    }

    async fn failure(&mut self) -> Error {
        match (&mut self.task).await {
            Ok(Err(e)) => e,
            Ok(Ok(())) => Error::Internal("the bulk writer stopped".into()),
            Err(e) => Error::Internal(e.to_string()),
        }
    }

    /// Waits until everything sent is written.
    async fn finish(self) -> Result<()> {
        drop(self.tx);
        self.task.await.map_err(|e| Error::Internal(e.to_string()))?
    }
}

/// What later phases need of a user.
struct DemoUser {
    org: u32,
    email: String,
    created: i64,
}

/// Progress lines on standard error: phase, done/total, rate.
struct Progress {
    phase: &'static str,
    total: u64,
    start: Instant,
}

impl Progress {
    fn new(phase: &'static str, total: u64) -> Progress {
        eprintln!("{phase}: 0/{total}");
        Progress { phase, total, start: Instant::now() }
    }
    fn at(&self, done: u64) {
        let secs = self.start.elapsed().as_secs_f64().max(0.001);
        eprintln!("{}: {done}/{} ({:.0}/s, {:.1}s)", self.phase, self.total, done as f64 / secs, secs);
    }
}

/// Generates and loads the data set; answers what it made.
pub async fn generate(store: &Store, o: &DemoOptions) -> Result<DemoSummary> {
    if o.users == 0 && (o.tickets > 0 || o.chats > 0 || o.surveys > 0) {
        return Err(Error::invalid("users", "records need users to belong to"));
    }
    let started = Instant::now();
    let now = store.now();
    let year_ms: i64 = 365 * 86_400_000;
    let mut rng = Rng(o.seed ^ 0x4B49_5448);
    let base_user = store.max_id("users").await?;
    let base_email = store.max_id("user_emails").await?;
    let base_phone = store.max_id("user_phones").await?;
    let base_org = store.max_id("organizations").await?;
    let base_rule = store.max_id("membership_rules").await?;
    let mut bases = [0i64; 4];
    for (b, table) in bases.iter_mut().zip(["tickets", "chats", "calls", "surveys"]) {
        *b = store.max_id(table).await?;
    }
    let set_aside = store.bulk_drop_indexes().await?;
    let mut w = Writer::new(store);
    eprintln!(
        "set aside {set_aside} secondary indexes and triggers; they are rebuilt at the end (an interrupted load is repaired at the next start)"
    );

    // ---- organizations ----
    let n_orgs = o.organizations as usize;
    let mut org_domains: Vec<String> = Vec::with_capacity(n_orgs);
    let mut org_lines: Vec<String> = Vec::with_capacity(n_orgs);
    let p = Progress::new("organizations", o.organizations);
    let mut rows = Vec::new();
    for k in 0..n_orgs {
        let g = base_org as usize + k;
        let (w1, w2) = (WORDS[g % WORDS.len()], TAIL[(g / WORDS.len()) % TAIL.len()]);
        let round = g / (WORDS.len() * TAIL.len());
        let tld = TLDS[g % TLDS.len()];
        let stem = if round == 0 { format!("{w1}{w2}") } else { format!("{w1}{w2}{round}") };
        let domain = format!("{stem}.{tld}");
        let name = if round == 0 {
            format!("{} {}", title(w1), title(w2))
        } else {
            format!("{} {} {round}", title(w1), title(w2))
        };
        let line = phone(&mut rng);
        let raw_phone = format!("+1 ({}) {}-{}", &line[2..5], &line[5..8], &line[8..]);
        let website = format!("https://www.{domain}");
        let employees = ["1-10", "11-25", "26-50", "51-200", "201-1000", "1000+"][rng.below(6) as usize];
        let digits: String = raw_phone.chars().filter(char::is_ascii_digit).collect();
        let search = format!("{}\n{}\n{}\n{digits}", name.to_lowercase(), website, raw_phone.to_lowercase());
        rows.push(vec![
            Val::I((g + 1) as i64),
            Val::T(name.clone()),
            Val::T(name.to_lowercase()),
            Val::T(website.clone()),
            Val::T(domain.clone()),
            Val::T(raw_phone.clone()),
            Val::T(raw_phone.to_lowercase()),
            Val::T(employees.into()),
            Val::T(rng.pick(CITIES).into()),
            Val::T(search),
            Val::I(now - rng.below(5 * year_ms as u64) as i64),
            Val::I(now),
        ]);
        org_domains.push(domain);
        org_lines.push(line);
        if rows.len() == CHUNK || k + 1 == n_orgs {
            w.send(
                "organizations",
                &[
                    "id",
                    "name",
                    "name_key",
                    "website",
                    "website_key",
                    "phone",
                    "phone_key",
                    "employees",
                    "city",
                    "search_text",
                    "created_at",
                    "updated_at",
                ],
                &mut rows,
            )
            .await?;
            p.at(k as u64 + 1);
        }
    }

    // ---- users ----
    // cumulative company-size weights for the long tail
    let mut cumulative: Vec<f64> = Vec::with_capacity(n_orgs);
    let mut acc = 0.0;
    for k in 0..n_orgs {
        acc += 1.0 / (k as f64 + 10.0);
        cumulative.push(acc);
    }
    let n_users = o.users as usize;
    let mut users: Vec<DemoUser> = Vec::with_capacity(n_users);
    let mut members: Vec<Vec<u32>> = vec![Vec::new(); n_orgs];
    let mut line_holders: Vec<u8> = vec![0; n_orgs];
    let p = Progress::new("users", o.users);
    let rules = UserRules {
        default_region: "US".into(),
        languages: o.languages.clone(),
        default_time_zone: "UTC".into(),
        password_min_length: 8,
        password_max_length: 128,
    };
    let user_cols: &'static [&'static str] = &USER_ROW_COLUMNS;
    let (mut urows, mut erows, mut prows, mut drows) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut email_id, mut phone_id) = (base_email, base_phone);
    for i in 0..n_users {
        let gid = base_user + i as i64 + 1;
        let first = rng.pick(FIRST);
        let last = rng.pick(LAST);
        let org = if n_orgs > 0 && rng.chance(75) {
            let x = rng.unit() * acc;
            cumulative.partition_point(|c| *c < x).min(n_orgs - 1) as u32
        } else {
            u32::MAX
        };
        let domain = if org == u32::MAX { rng.pick(PUBLIC).to_string() } else { org_domains[org as usize].clone() };
        let username = format!("{first}.{last}{gid}");
        let display = format!("{} {}", title(first), title(last));
        let email = format!("{first}.{last}{gid}@{domain}");
        let mut emails = vec![email.clone()];
        if org != u32::MAX && rng.chance(15) {
            emails.push(format!("{first}{gid}@{}", rng.pick(PUBLIC)));
        }
        let verified = rng.chance(70);
        let mut phones: Vec<(String, String, &str)> = Vec::new();
        if rng.chance(50) {
            let n = phone(&mut rng);
            let raw = format!("({}) {}-{}", &n[2..5], &n[5..8], &n[8..]);
            phones.push((n, raw, "cell"));
        }
        // the company's main line: a few contacts per company list it, whatever its size
        if org != u32::MAX && line_holders[org as usize] < 8 && rng.chance(5) {
            line_holders[org as usize] += 1;
            let n = org_lines[org as usize].clone();
            let raw = format!("+1 ({}) {}-{}", &n[2..5], &n[5..8], &n[8..]);
            phones.push((n, raw, "work"));
        }
        let company = if org == u32::MAX {
            String::new()
        } else {
            org_domains[org as usize].split('.').next().unwrap_or("").to_string()
        };
        let created = now - rng.below(5 * year_ms as u64) as i64;
        // the row is derived from the user's fields by the same functions every write uses
        let fields = UserFields {
            username: username.clone(),
            display_name: display.clone(),
            emails: emails
                .iter()
                .enumerate()
                .map(|(pos, e)| Email { email: e.clone(), primary: pos == 0, verified: pos == 0 && verified })
                .collect(),
            phones: phones
                .iter()
                .map(|(n, raw, kind)| Phone { kind: PhoneKind::parse(kind), number: n.clone(), raw: raw.clone() })
                .collect(),
            time_zone: rng.pick(ZONES).to_string(),
            company,
            ..UserFields::defaults(&rules)
        };
        let mut row = vec![Val::I(gid)];
        row.extend(user_values(&fields));
        row.extend([Val::I(created), Val::I(created)]);
        urows.push(row);
        for (pos, e) in emails.iter().enumerate() {
            email_id += 1;
            let d = e.rsplit_once('@').map_or("", |(_, d)| d).to_string();
            erows.push(vec![
                Val::I(email_id),
                Val::I(gid),
                Val::T(e.clone()),
                Val::T(d),
                Val::B(pos == 0),
                Val::B(pos == 0 && verified),
                Val::I(pos as i64),
            ]);
        }
        for (pos, (n, raw, kind)) in phones.iter().enumerate() {
            phone_id += 1;
            prows.push(vec![
                Val::I(phone_id),
                Val::I(gid),
                Val::T((*kind).into()),
                Val::T(n.clone()),
                Val::T(raw.clone()),
                Val::I(pos as i64),
            ]);
        }
        let refs: Vec<&str> = emails.iter().map(String::as_str).collect();
        domain_rows(1, gid, &refs, created, &mut drows);
        if org != u32::MAX {
            members[org as usize].push(i as u32);
        }
        users.push(DemoUser { org, email, created });
        if urows.len() == CHUNK || i + 1 == n_users {
            w.send("users", user_cols, &mut urows).await?;
            w.send(
                "user_emails",
                &["id", "user_id", "email", "domain", "is_primary", "verified", "position"],
                &mut erows,
            )
            .await?;
            w.send("user_phones", &["id", "user_id", "kind", "number", "raw", "position"], &mut prows).await?;
            w.send("record_domains", RD_COLS, &mut drows).await?;
            p.at(i as u64 + 1);
        }
    }

    // ---- membership rules: the domain, two addresses, two usernames, the main line ----
    let p = Progress::new("membership rules", o.organizations * 6);
    let mut rule_id = base_rule;
    let mut rrows = Vec::new();
    for (k, domain) in org_domains.iter().enumerate() {
        let org_id = base_org + k as i64 + 1;
        let mut add = |kind: &str, value: String, user: Option<i64>, sub: bool, view: bool| {
            rule_id += 1;
            rrows.push(vec![
                Val::I(rule_id),
                Val::I(org_id),
                Val::T(kind.into()),
                Val::T(value),
                user.map_or(Val::NullI, Val::I),
                Val::B(sub),
                Val::B(view),
                Val::I(now),
            ]);
        };
        let sub = rng.chance(20);
        let view = rng.chance(30);
        add("domain", domain.clone(), None, sub, view);
        let m = &members[k];
        let mut used: Vec<u32> = Vec::new();
        for kind in ["email", "email", "username", "username"] {
            if m.len() <= used.len() {
                break;
            }
            let mut pick = m[rng.below(m.len() as u64) as usize];
            let mut tries = 0;
            while used.contains(&pick) && tries < 10 {
                pick = m[rng.below(m.len() as u64) as usize];
                tries += 1;
            }
            if used.contains(&pick) {
                continue;
            }
            used.push(pick);
            let gid = base_user + pick as i64 + 1;
            let u = &users[pick as usize];
            if kind == "email" {
                // key contacts named by address, usually inside the domain rule as well
                add("email", u.email.clone(), None, false, false);
            } else {
                let value = u.email.split('@').next().unwrap_or("").to_string();
                add("username", value, Some(gid), false, false);
            }
        }
        add("phone", org_lines[k].clone(), None, false, false);
        if rrows.len() >= CHUNK || k + 1 == n_orgs {
            w.send(
                "membership_rules",
                &[
                    "id",
                    "organization_id",
                    "kind",
                    "value",
                    "user_id",
                    "include_subdomains",
                    "view_org_tickets",
                    "created_at",
                ],
                &mut rrows,
            )
            .await?;
            p.at((k as u64 + 1) * 6);
        }
    }
    let rules = (rule_id - base_rule) as u64;

    // ---- tickets, user by user in organization order ----
    let mut order: Vec<u32> = members.iter().flatten().copied().collect();
    order.extend(users.iter().enumerate().filter(|(_, u)| u.org == u32::MAX).map(|(i, _)| i as u32));
    let tickets = load_tickets(&mut w, bases[0], o, &mut rng, &users, &order, base_user, &org_domains, now).await?;
    let chats = load_simple(&mut w, bases[1], "chats", o.chats, &mut rng, &users, base_user, now).await?;
    let calls = load_simple(&mut w, bases[2], "calls", o.calls, &mut rng, &users, base_user, now).await?;
    let surveys = load_simple(&mut w, bases[3], "surveys", o.surveys, &mut rng, &users, base_user, now).await?;
    w.finish().await?;
    let rebuild = Instant::now();
    let rebuilt = store
        .bulk_restore_indexes(&|s: &str| {
            let name = s.split_whitespace().take(6).collect::<Vec<_>>().join(" ");
            eprintln!("rebuilding: {name} ... ({:.1}s)", rebuild.elapsed().as_secs_f64());
        })
        .await?;
    eprintln!("rebuilt {rebuilt} indexes and triggers in {:.1}s; analyzing", rebuild.elapsed().as_secs_f64());
    store.bulk_finish().await?;
    Ok(DemoSummary {
        users: o.users,
        organizations: o.organizations,
        rules,
        tickets,
        chats,
        calls,
        surveys,
        seconds: started.elapsed().as_secs_f64(),
    })
}

#[allow(clippy::too_many_arguments)]
async fn load_tickets(
    w: &mut Writer,
    base: i64,
    o: &DemoOptions,
    rng: &mut Rng,
    users: &[DemoUser],
    order: &[u32],
    base_user: i64,
    org_domains: &[String],
    now: i64,
) -> Result<u64> {
    if o.tickets == 0 || users.is_empty() {
        return Ok(0);
    }
    let p = Progress::new("tickets", o.tickets);
    // each user gets a share of the tickets, weighted 0.5..1.5 around the mean
    let weights: Vec<f64> = order.iter().map(|_| 0.5 + rng.unit()).collect();
    let sum: f64 = weights.iter().sum();
    let (mut trows, mut arows, mut drows) = (Vec::new(), Vec::new(), Vec::new());
    let mut made: u64 = 0;
    let mut acc = 0.0;
    let mut id = base;
    for (slot, &ui) in order.iter().enumerate() {
        acc += weights[slot];
        let target = ((acc / sum) * o.tickets as f64).round() as u64;
        let u = &users[ui as usize];
        while made < target.min(o.tickets) {
            made += 1;
            id += 1;
            let at = u.created + rng.below((now - u.created).max(1) as u64) as i64;
            let status =
                ["open", "pending", "resolved", "closed", "closed", "resolved", "resolved"][rng.below(7) as usize];
            let stranger = u.org != u32::MAX && rng.chance(10);
            let (user_id, mut emails) = if stranger {
                (Val::NullI, vec![format!("contact{}@{}", rng.below(50), org_domains[u.org as usize])])
            } else if rng.chance(15) {
                (Val::NullI, vec![u.email.clone()])
            } else {
                (Val::I(base_user + ui as i64 + 1), vec![u.email.clone()])
            };
            if rng.chance(10) {
                let other = &users[order[rng.below(order.len() as u64) as usize] as usize];
                if other.email != emails[0] {
                    emails.push(other.email.clone());
                }
            }
            let subject = SUBJECTS[rng.below(SUBJECTS.len() as u64) as usize];
            trows.push(vec![
                Val::I(id),
                Val::T(subject.into()),
                Val::T(status.into()),
                user_id,
                Val::I(at),
                Val::I(at),
            ]);
            for (pos, e) in emails.iter().enumerate() {
                arows.push(vec![Val::I(id), Val::T(e.clone()), Val::I(pos as i64), Val::I(at)]);
            }
            let refs: Vec<&str> = emails.iter().map(String::as_str).collect();
            domain_rows(2, id, &refs, at, &mut drows);
            if trows.len() == CHUNK {
                flush_tickets(w, &mut trows, &mut arows, &mut drows).await?;
                if made.is_multiple_of(500_000) {
                    p.at(made);
                }
            }
        }
    }
    flush_tickets(w, &mut trows, &mut arows, &mut drows).await?;
    p.at(made);
    Ok(made)
}

async fn flush_tickets(
    w: &mut Writer,
    t: &mut Vec<Vec<Val>>,
    a: &mut Vec<Vec<Val>>,
    d: &mut Vec<Vec<Val>>,
) -> Result<()> {
    w.send("tickets", &["id", "subject", "status", "user_id", "created_at", "updated_at"], t).await?;
    w.send("ticket_addresses", &["ticket_id", "email", "position", "created_at"], a).await?;
    w.send("record_domains", RD_COLS, d).await
}

/// Chats, calls or surveys from random users.
#[allow(clippy::too_many_arguments)]
async fn load_simple(
    w: &mut Writer,
    base: i64,
    table: &'static str,
    n: u64,
    rng: &mut Rng,
    users: &[DemoUser],
    base_user: i64,
    now: i64,
) -> Result<u64> {
    if n == 0 || users.is_empty() {
        return Ok(0);
    }
    let p = Progress::new(table, n);
    let (kind, cols): (i64, &[&str]) = match table {
        "chats" => (3, &["id", "user_id", "email", "started_at"]),
        "calls" => (4, &["id", "email", "phone", "phone_raw", "direction", "duration_secs", "at"]),
        _ => (5, &["id", "user_id", "email", "name", "score", "at"]),
    };
    let (mut rows, mut drows) = (Vec::new(), Vec::new());
    for i in 0..n {
        let id = base + i as i64 + 1;
        let ui = rng.below(users.len() as u64) as usize;
        let u = &users[ui];
        let uid = Val::I(base_user + ui as i64 + 1);
        let at = u.created + rng.below((now - u.created).max(1) as u64) as i64;
        let email = u.email.clone();
        let (row, addr) = match kind {
            3 => {
                let linked = rng.chance(70);
                (
                    vec![Val::I(id), if linked { uid } else { Val::NullI }, Val::T(email.clone()), Val::I(at)],
                    Some(email),
                )
            }
            4 => {
                let with_email = rng.chance(50);
                let number = phone(rng);
                let raw = format!("({}) {}-{}", &number[2..5], &number[5..8], &number[8..]);
                let dir = if rng.chance(60) { "inbound" } else { "outbound" };
                let row = vec![
                    Val::I(id),
                    if with_email { Val::T(email.clone()) } else { Val::NullT },
                    Val::T(number),
                    Val::T(raw),
                    Val::T(dir.into()),
                    Val::I(30 + rng.below(1800) as i64),
                    Val::I(at),
                ];
                (row, with_email.then_some(email))
            }
            _ => {
                let name = ["CSAT", "NPS", "Onboarding"][rng.below(3) as usize];
                let row = vec![
                    Val::I(id),
                    uid,
                    Val::T(email.clone()),
                    Val::T(name.into()),
                    Val::I(1 + rng.below(10) as i64),
                    Val::I(at),
                ];
                (row, Some(email))
            }
        };
        rows.push(row);
        if let Some(a) = addr {
            domain_rows(kind, id, &[a.as_str()], at, &mut drows);
        }
        if rows.len() == CHUNK || i + 1 == n {
            w.send(table, cols, &mut rows).await?;
            w.send("record_domains", RD_COLS, &mut drows).await?;
            p.at(i + 1);
        }
    }
    Ok(n)
}
