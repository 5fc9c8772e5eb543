//! Agent-only comments on organizations and users: one shape, two tables. A user's comments
//! may be sticky (shown in the record's header, as SmarterTrack shows them on every ticket).

use sqlx::AssertSqlSafe;

use super::{Conn, FOR_UPDATE, Pools, begin_write};
use crate::clock::{Millis, Timestamp};
use crate::domain::change::{Actor, ActorKind};
use crate::domain::{Error, Result};
use crate::store::{Comment, CommentOn, Page, db_err, split_id_page};

/// The table holding `on`'s comments, its owner column and the owners' table.
fn table(on: CommentOn) -> (&'static str, &'static str, &'static str) {
    match on {
        CommentOn::Organization(_) => ("organization_comments", "organization_id", "organizations"),
        CommentOn::User(_) => ("user_comments", "user_id", "users"),
    }
}

/// 404 unless the commented record exists; with `lock`, holds its row until the transaction ends.
async fn check_owner(conn: &mut Conn, on: CommentOn, lock: bool) -> Result<()> {
    let (_, _, owners) = table(on);
    let lock = if lock { FOR_UPDATE } else { "" };
    let found: Option<i64> = sqlx::query_scalar(AssertSqlSafe(format!("SELECT id FROM {owners} WHERE id = $1{lock}")))
        .bind(on.id())
        .fetch_optional(&mut *conn)
        .await
        .map_err(db_err)?;
    found.map(|_| ()).ok_or(Error::NotFound)
}

pub async fn add_comment(
    pools: &Pools,
    on: CommentOn,
    author: &Actor,
    body: &str,
    sticky: bool,
    now: Millis,
) -> Result<Comment> {
    let (comments, owner, _) = table(on);
    let mut tx = begin_write(pools).await.map_err(db_err)?;
    check_owner(&mut tx, on, true).await?;
    let (cols, vals) = if matches!(on, CommentOn::User(_)) { (", sticky", ", $6") } else { ("", "") };
    let sql = format!(
        "INSERT INTO {comments} ({owner}, author_id, author_name, body, created_at{cols})
         VALUES ($1, $2, $3, $4, $5{vals}) RETURNING id"
    );
    let mut q = sqlx::query_scalar::<_, i64>(AssertSqlSafe(sql))
        .bind(on.id())
        .bind(author.id)
        .bind(&author.name)
        .bind(body)
        .bind(now);
    if matches!(on, CommentOn::User(_)) {
        q = q.bind(sticky);
    }
    let id = q.fetch_one(&mut *tx).await.map_err(db_err)?;
    tx.commit().await.map_err(db_err)?;
    Ok(Comment { id, author: author.clone(), body: body.to_string(), sticky, created_at: Timestamp(now) })
}

type Row = (i64, Option<i64>, String, String, bool, i64);

fn comment_of((id, author_id, name, body, sticky, at): Row) -> Comment {
    Comment {
        id,
        author: Actor { kind: ActorKind::Agent, id: author_id, name },
        body,
        sticky,
        created_at: Timestamp(at),
    }
}

/// The columns a comment is read from (organizations' comments are never sticky).
fn select(on: CommentOn) -> &'static str {
    match on {
        CommentOn::Organization(_) => "id, author_id, author_name, body, FALSE AS sticky, created_at",
        CommentOn::User(_) => "id, author_id, author_name, body, sticky, created_at",
    }
}

/// A page of comments, newest first, with the total.
pub async fn list_comments(pools: &Pools, on: CommentOn, limit: i64, cursor: Option<i64>) -> Result<Page<Comment>> {
    let (comments, owner, _) = table(on);
    let mut conn = pools.read().acquire().await.map_err(db_err)?;
    check_owner(&mut conn, on, false).await?;
    let total: i64 = sqlx::query_scalar(AssertSqlSafe(format!("SELECT COUNT(*) FROM {comments} WHERE {owner} = $1")))
        .bind(on.id())
        .fetch_one(&mut *conn)
        .await
        .map_err(db_err)?;
    let rows: Vec<Row> = sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {} FROM {comments} WHERE {owner} = $1 AND id < $2 ORDER BY id DESC LIMIT $3",
        select(on)
    )))
    .bind(on.id())
    .bind(cursor.unwrap_or(i64::MAX))
    .bind(limit + 1)
    .fetch_all(&mut *conn)
    .await
    .map_err(db_err)?;
    let (rows, next_cursor) = split_id_page(rows, limit, |r| r.0);
    Ok(Page { items: rows.into_iter().map(comment_of).collect(), total, next_cursor })
}

/// A user's sticky comments, newest first, at most `limit` (what the record's header shows;
/// the count of all comments comes with the user).
pub async fn sticky_comments(pools: &Pools, on: CommentOn, limit: i64) -> Result<Vec<Comment>> {
    let (comments, owner, _) = table(on);
    let sticky = if matches!(on, CommentOn::User(_)) { "sticky" } else { "FALSE" };
    let rows: Vec<Row> = sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {} FROM {comments} WHERE {owner} = $1 AND {sticky} ORDER BY id DESC LIMIT $2",
        select(on)
    )))
    .bind(on.id())
    .bind(limit)
    .fetch_all(pools.read())
    .await
    .map_err(db_err)?;
    Ok(rows.into_iter().map(comment_of).collect())
}

/// Sets or clears a user comment's sticky flag; 404 unless the comment is the user's.
pub async fn set_sticky(pools: &Pools, on: CommentOn, comment: i64, sticky: bool) -> Result<Comment> {
    let (comments, owner, _) = table(on);
    if !matches!(on, CommentOn::User(_)) {
        return Err(Error::invalid("sticky", "only a user's comments can be sticky"));
    }
    let mut tx = begin_write(pools).await.map_err(db_err)?;
    let row: Option<Row> = sqlx::query_as(AssertSqlSafe(format!(
        "UPDATE {comments} SET sticky = $1 WHERE id = $2 AND {owner} = $3 RETURNING {}",
        select(on)
    )))
    .bind(sticky)
    .bind(comment)
    .bind(on.id())
    .fetch_optional(&mut *tx)
    .await
    .map_err(db_err)?;
    tx.commit().await.map_err(db_err)?;
    row.map(comment_of).ok_or(Error::NotFound)
}

/// Who wrote a comment (`None` once their account is gone); 404 unless it is `on`'s.
pub async fn comment_author(pools: &Pools, on: CommentOn, comment: i64) -> Result<Option<i64>> {
    let (comments, owner, _) = table(on);
    let mut conn = pools.read().acquire().await.map_err(db_err)?;
    let row: Option<Option<i64>> =
        sqlx::query_scalar(AssertSqlSafe(format!("SELECT author_id FROM {comments} WHERE id = $1 AND {owner} = $2")))
            .bind(comment)
            .bind(on.id())
            .fetch_optional(&mut *conn)
            .await
            .map_err(db_err)?;
    row.ok_or(Error::NotFound)
}

/// Deletes a comment; 404 unless it is `on`'s. Answers the deleted comment.
pub async fn delete_comment(pools: &Pools, on: CommentOn, comment: i64) -> Result<Comment> {
    let (comments, owner, _) = table(on);
    let mut tx = begin_write(pools).await.map_err(db_err)?;
    let row: Option<Row> = sqlx::query_as(AssertSqlSafe(format!(
        "DELETE FROM {comments} WHERE id = $1 AND {owner} = $2 RETURNING {}",
        select(on)
    )))
    .bind(comment)
    .bind(on.id())
    .fetch_optional(&mut *tx)
    .await
    .map_err(db_err)?;
    tx.commit().await.map_err(db_err)?;
    row.map(comment_of).ok_or(Error::NotFound)
}
