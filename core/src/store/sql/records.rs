//! Tickets, live chats, call logs and surveys, with the address indexes membership rules use
//! (`ticket_addresses`, `record_domains`).

use std::collections::{BTreeMap, HashMap};

use sqlx::{AssertSqlSafe, FromRow};

use super::{Conn, FOR_UPDATE, Pools, begin_write};
use crate::clock::{Millis, Timestamp};
use crate::domain::organization::{Tab, domain_and_parents, domain_of};
use crate::domain::records::{
    AnyRecord, Call, Chat, Direction, RecordFields, RecordKind, Survey, Ticket, TicketStatus,
};
use crate::domain::{Error, Result, UserId};
use crate::store::{db_err, placeholders};

/// Rewrites a record's rows in `record_domains`: each address's domain (exact) and its
/// parents of two or more labels.
pub async fn set_record_domains(conn: &mut Conn, tab: Tab, id: i64, emails: &[String], at: Millis) -> Result<()> {
    sqlx::query("DELETE FROM record_domains WHERE kind = $1 AND record_id = $2")
        .bind(tab.code())
        .bind(id)
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
    for (domain, exact) in domain_rows(emails) {
        sqlx::query("INSERT INTO record_domains (kind, record_id, domain, exact, at) VALUES ($1, $2, $3, $4, $5)")
            .bind(tab.code())
            .bind(id)
            .bind(domain)
            .bind(exact)
            .bind(at)
            .execute(&mut *conn)
            .await
            .map_err(db_err)?;
    }
    Ok(())
}

/// Domain → whether some address is exactly at it.
pub fn domain_rows(emails: &[String]) -> BTreeMap<String, bool> {
    let mut rows: BTreeMap<String, bool> = BTreeMap::new();
    for e in emails {
        for (i, d) in domain_and_parents(domain_of(e)).into_iter().enumerate() {
            if d.is_empty() {
                continue;
            }
            let exact = rows.entry(d.to_string()).or_insert(false);
            *exact |= i == 0;
        }
    }
    rows
}

async fn check_user_exists(conn: &mut Conn, user: Option<i64>) -> Result<()> {
    if let Some(id) = user {
        let found: Option<i64> = sqlx::query_scalar("SELECT id FROM users WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *conn)
            .await
            .map_err(db_err)?;
        if found.is_none() {
            return Err(Error::invalid("user_id", "no such user"));
        }
    }
    Ok(())
}

/// What an edit of a ticket starts from.
#[derive(FromRow)]
struct TicketRow {
    subject: String,
    status: String,
    user_id: Option<i64>,
    created_at: i64,
}

/// Tickets by id with their addresses, in one statement (a row per address), in `ids`' order.
pub async fn load_tickets(conn: &mut Conn, ids: &[i64]) -> Result<Vec<Ticket>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let list = placeholders(1, ids.len());
    let mut q = sqlx::query_as::<_, TicketAddressRow>(AssertSqlSafe(format!(
        "SELECT t.id, t.subject, t.status, t.user_id, t.created_at, t.updated_at, a.email
         FROM tickets t LEFT JOIN ticket_addresses a ON a.ticket_id = t.id
         WHERE t.id IN ({list}) ORDER BY t.id, a.position"
    )));
    for id in ids {
        q = q.bind(*id);
    }
    let mut by_id: HashMap<i64, Ticket> = HashMap::new();
    for r in q.fetch_all(&mut *conn).await.map_err(db_err)? {
        let t = by_id.entry(r.id).or_insert_with(|| Ticket {
            id: r.id,
            subject: r.subject,
            status: TicketStatus::parse(&r.status).unwrap_or(TicketStatus::Open),
            user_id: r.user_id.map(UserId),
            emails: Vec::new(),
            created_at: Timestamp(r.created_at),
            updated_at: Timestamp(r.updated_at),
        });
        t.emails.extend(r.email);
    }
    Ok(ids.iter().filter_map(|id| by_id.remove(id)).collect())
}

#[derive(FromRow)]
struct TicketAddressRow {
    id: i64,
    subject: String,
    status: String,
    user_id: Option<i64>,
    created_at: i64,
    updated_at: i64,
    email: Option<String>,
}

#[derive(FromRow)]
struct ChatRow {
    id: i64,
    user_id: Option<i64>,
    email: Option<String>,
    started_at: i64,
}

pub async fn load_chats(conn: &mut Conn, ids: &[i64]) -> Result<Vec<Chat>> {
    let rows: Vec<ChatRow> =
        fetch_by_ids(conn, "SELECT id, user_id, email, started_at FROM chats WHERE id IN ({list})", ids).await?;
    let mut by_id: HashMap<i64, Chat> = rows
        .into_iter()
        .map(|r| {
            (
                r.id,
                Chat { id: r.id, user_id: r.user_id.map(UserId), email: r.email, started_at: Timestamp(r.started_at) },
            )
        })
        .collect();
    Ok(ids.iter().filter_map(|id| by_id.remove(id)).collect())
}

#[derive(FromRow)]
struct CallRow {
    id: i64,
    email: Option<String>,
    phone: Option<String>,
    direction: String,
    duration_secs: i64,
    at: i64,
}

pub async fn load_calls(conn: &mut Conn, ids: &[i64]) -> Result<Vec<Call>> {
    let rows: Vec<CallRow> = fetch_by_ids(
        conn,
        "SELECT id, email, phone, direction, duration_secs, at FROM calls WHERE id IN ({list})",
        ids,
    )
    .await?;
    let mut by_id: HashMap<i64, Call> = rows
        .into_iter()
        .map(|r| {
            let c = Call {
                id: r.id,
                email: r.email,
                phone: r.phone,
                direction: Direction::parse(&r.direction),
                duration_secs: r.duration_secs,
                at: Timestamp(r.at),
            };
            (r.id, c)
        })
        .collect();
    Ok(ids.iter().filter_map(|id| by_id.remove(id)).collect())
}

#[derive(FromRow)]
struct SurveyRow {
    id: i64,
    user_id: Option<i64>,
    email: Option<String>,
    name: String,
    score: Option<i64>,
    at: i64,
}

pub async fn load_surveys(conn: &mut Conn, ids: &[i64]) -> Result<Vec<Survey>> {
    let rows: Vec<SurveyRow> =
        fetch_by_ids(conn, "SELECT id, user_id, email, name, score, at FROM surveys WHERE id IN ({list})", ids).await?;
    let mut by_id: HashMap<i64, Survey> = rows
        .into_iter()
        .map(|r| {
            let s = Survey {
                id: r.id,
                user_id: r.user_id.map(UserId),
                email: r.email,
                name: r.name,
                score: r.score,
                at: Timestamp(r.at),
            };
            (r.id, s)
        })
        .collect();
    Ok(ids.iter().filter_map(|id| by_id.remove(id)).collect())
}

/// Runs `sql` (with `{list}` standing for the id placeholders) for `ids`.
async fn fetch_by_ids<T>(conn: &mut Conn, sql: &str, ids: &[i64]) -> Result<Vec<T>>
where
    T: for<'r> FromRow<'r, <super::DB as sqlx::Database>::Row> + Send + Unpin,
{
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = sql.replace("{list}", &placeholders(1, ids.len()));
    let mut q = sqlx::query_as::<_, T>(AssertSqlSafe(sql));
    for id in ids {
        q = q.bind(*id);
    }
    q.fetch_all(&mut *conn).await.map_err(db_err)
}

/// A record's current fields, for applying an edit over.
async fn current_fields(conn: &mut Conn, kind: RecordKind, id: i64) -> Result<RecordFields> {
    let table = match kind {
        RecordKind::Ticket => "tickets",
        RecordKind::Chat => "chats",
        RecordKind::Call => "calls",
        RecordKind::Survey => "surveys",
    };
    let locked: Option<i64> =
        sqlx::query_scalar(AssertSqlSafe(format!("SELECT id FROM {table} WHERE id = $1{FOR_UPDATE}")))
            .bind(id)
            .fetch_optional(&mut *conn)
            .await
            .map_err(db_err)?;
    if locked.is_none() {
        return Err(Error::NotFound);
    }
    let mut f = RecordFields::default();
    match kind {
        RecordKind::Ticket => {
            let r: TicketRow = sqlx::query_as("SELECT subject, status, user_id, created_at FROM tickets WHERE id = $1")
                .bind(id)
                .fetch_one(&mut *conn)
                .await
                .map_err(db_err)?;
            f.subject = r.subject;
            f.status = TicketStatus::parse(&r.status);
            f.user_id = r.user_id;
            f.at = r.created_at;
            f.emails = sqlx::query_scalar("SELECT email FROM ticket_addresses WHERE ticket_id = $1 ORDER BY position")
                .bind(id)
                .fetch_all(&mut *conn)
                .await
                .map_err(db_err)?;
        }
        RecordKind::Chat => {
            let r: ChatRow = sqlx::query_as("SELECT id, user_id, email, started_at FROM chats WHERE id = $1")
                .bind(id)
                .fetch_one(&mut *conn)
                .await
                .map_err(db_err)?;
            (f.user_id, f.email, f.at) = (r.user_id, r.email, r.started_at);
        }
        RecordKind::Call => {
            let (email, phone, raw, dir, dur, at): (Option<String>, Option<String>, String, String, i64, i64) =
                sqlx::query_as("SELECT email, phone, phone_raw, direction, duration_secs, at FROM calls WHERE id = $1")
                    .bind(id)
                    .fetch_one(&mut *conn)
                    .await
                    .map_err(db_err)?;
            (f.email, f.phone, f.phone_raw, f.direction, f.duration_secs, f.at) =
                (email, phone, raw, Some(Direction::parse(&dir)), dur, at);
        }
        RecordKind::Survey => {
            let r: SurveyRow = sqlx::query_as("SELECT id, user_id, email, name, score, at FROM surveys WHERE id = $1")
                .bind(id)
                .fetch_one(&mut *conn)
                .await
                .map_err(db_err)?;
            (f.user_id, f.email, f.name, f.score, f.at) = (r.user_id, r.email, r.name, r.score, r.at);
        }
    }
    Ok(f)
}

/// Writes a record (insert when `id` is None) and its address index rows; answers its id.
async fn write_record(
    conn: &mut Conn,
    kind: RecordKind,
    id: Option<i64>,
    f: &RecordFields,
    now: Millis,
) -> Result<i64> {
    check_user_exists(conn, f.user_id).await?;
    let id = match (kind, id) {
        (RecordKind::Ticket, None) => sqlx::query_scalar(
            "INSERT INTO tickets (subject, status, user_id, created_at, updated_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(&f.subject)
        .bind(f.status.unwrap_or(TicketStatus::Open).as_str())
        .bind(f.user_id)
        .bind(f.at)
        .bind(now.max(f.at))
        .fetch_one(&mut *conn)
        .await
        .map_err(db_err)?,
        (RecordKind::Ticket, Some(id)) => {
            sqlx::query("UPDATE tickets SET subject = $1, status = $2, user_id = $3, updated_at = $4 WHERE id = $5")
                .bind(&f.subject)
                .bind(f.status.unwrap_or(TicketStatus::Open).as_str())
                .bind(f.user_id)
                .bind(now)
                .bind(id)
                .execute(&mut *conn)
                .await
                .map_err(db_err)?;
            id
        }
        (RecordKind::Chat, None) => {
            sqlx::query_scalar("INSERT INTO chats (user_id, email, started_at) VALUES ($1, $2, $3) RETURNING id")
                .bind(f.user_id)
                .bind(&f.email)
                .bind(f.at)
                .fetch_one(&mut *conn)
                .await
                .map_err(db_err)?
        }
        (RecordKind::Chat, Some(id)) => {
            sqlx::query("UPDATE chats SET user_id = $1, email = $2, started_at = $3 WHERE id = $4")
                .bind(f.user_id)
                .bind(&f.email)
                .bind(f.at)
                .bind(id)
                .execute(&mut *conn)
                .await
                .map_err(db_err)?;
            id
        }
        (RecordKind::Call, None) => sqlx::query_scalar(
            "INSERT INTO calls (email, phone, phone_raw, direction, duration_secs, at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(&f.email)
        .bind(&f.phone)
        .bind(&f.phone_raw)
        .bind(f.direction.unwrap_or(Direction::Inbound).as_str())
        .bind(f.duration_secs)
        .bind(f.at)
        .fetch_one(&mut *conn)
        .await
        .map_err(db_err)?,
        (RecordKind::Call, Some(id)) => {
            sqlx::query(
                "UPDATE calls SET email = $1, phone = $2, phone_raw = $3, direction = $4, duration_secs = $5, at = $6 WHERE id = $7",
            )
            .bind(&f.email)
            .bind(&f.phone)
            .bind(&f.phone_raw)
            .bind(f.direction.unwrap_or(Direction::Inbound).as_str())
            .bind(f.duration_secs)
            .bind(f.at)
            .bind(id)
            .execute(&mut *conn)
            .await
            .map_err(db_err)?;
            id
        }
        (RecordKind::Survey, None) => sqlx::query_scalar(
            "INSERT INTO surveys (user_id, email, name, score, at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(f.user_id)
        .bind(&f.email)
        .bind(&f.name)
        .bind(f.score)
        .bind(f.at)
        .fetch_one(&mut *conn)
        .await
        .map_err(db_err)?,
        (RecordKind::Survey, Some(id)) => {
            sqlx::query("UPDATE surveys SET user_id = $1, email = $2, name = $3, score = $4, at = $5 WHERE id = $6")
                .bind(f.user_id)
                .bind(&f.email)
                .bind(&f.name)
                .bind(f.score)
                .bind(f.at)
                .bind(id)
                .execute(&mut *conn)
                .await
                .map_err(db_err)?;
            id
        }
    };
    let (tab, emails) = match kind {
        RecordKind::Ticket => {
            sqlx::query("DELETE FROM ticket_addresses WHERE ticket_id = $1")
                .bind(id)
                .execute(&mut *conn)
                .await
                .map_err(db_err)?;
            for (pos, e) in f.emails.iter().enumerate() {
                sqlx::query(
                    "INSERT INTO ticket_addresses (ticket_id, email, position, created_at) VALUES ($1, $2, $3, $4)",
                )
                .bind(id)
                .bind(e)
                .bind(pos as i64)
                .bind(f.at)
                .execute(&mut *conn)
                .await
                .map_err(db_err)?;
            }
            (Tab::Tickets, f.emails.clone())
        }
        RecordKind::Chat => (Tab::Chats, f.email.iter().cloned().collect()),
        RecordKind::Call => (Tab::Calls, f.email.iter().cloned().collect()),
        RecordKind::Survey => (Tab::Surveys, f.email.iter().cloned().collect()),
    };
    set_record_domains(conn, tab, id, &emails, f.at).await?;
    Ok(id)
}

pub async fn get_record(pools: &Pools, kind: RecordKind, id: i64) -> Result<AnyRecord> {
    let mut conn = pools.read().acquire().await.map_err(db_err)?;
    load_one(&mut conn, kind, id).await
}

async fn load_one(conn: &mut Conn, kind: RecordKind, id: i64) -> Result<AnyRecord> {
    let ids = [id];
    let r = match kind {
        RecordKind::Ticket => load_tickets(conn, &ids).await?.pop().map(AnyRecord::Ticket),
        RecordKind::Chat => load_chats(conn, &ids).await?.pop().map(AnyRecord::Chat),
        RecordKind::Call => load_calls(conn, &ids).await?.pop().map(AnyRecord::Call),
        RecordKind::Survey => load_surveys(conn, &ids).await?.pop().map(AnyRecord::Survey),
    };
    r.ok_or(Error::NotFound)
}

/// Creates a record; `fields` are checked by the domain, the linked user here.
pub async fn create_record(pools: &Pools, kind: RecordKind, fields: &RecordFields, now: Millis) -> Result<AnyRecord> {
    let mut tx = begin_write(pools).await.map_err(db_err)?;
    let id = write_record(&mut tx, kind, None, fields, now).await?;
    let out = load_one(&mut tx, kind, id).await?;
    tx.commit().await.map_err(db_err)?;
    Ok(out)
}

/// Edits a record in one transaction: `edit` gets the current fields and returns the new ones.
pub async fn update_record<F>(pools: &Pools, kind: RecordKind, id: i64, edit: F, now: Millis) -> Result<AnyRecord>
where
    F: FnOnce(RecordFields) -> Result<RecordFields> + Send,
{
    let mut tx = begin_write(pools).await.map_err(db_err)?;
    let current = current_fields(&mut tx, kind, id).await?;
    let new = edit(current)?;
    write_record(&mut tx, kind, Some(id), &new, now).await?;
    let out = load_one(&mut tx, kind, id).await?;
    tx.commit().await.map_err(db_err)?;
    Ok(out)
}
