//! What a portal user sees of their own: their tickets, and their organizations' tickets where
//! SPEC section 3 allows (a `username` rule naming them with `view_org_tickets`, or an `email` /
//! `domain` rule with it matching one of their verified addresses) — decided here for the API
//! and the portal pages alike.

use super::Caller;
use super::params::{parse_cursor, parse_limit};
use crate::app::App;
use crate::domain::organization::TabItem;
use crate::domain::{Error, Result};
use crate::store::Page;

/// Whose tickets a portal list shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Tickets linked to the caller's account.
    Mine,
    /// Every ticket of the caller's organizations that allow it.
    Organization,
}

impl Scope {
    /// `mine` (the default) or `organization`.
    pub fn parse(s: Option<&str>) -> Result<Scope> {
        match s.unwrap_or("mine") {
            "mine" | "" => Ok(Scope::Mine),
            "organization" => Ok(Scope::Organization),
            _ => Err(Error::invalid("scope", "must be mine or organization")),
        }
    }
}

/// Whether the caller may see any organization's tickets.
pub async fn may_see_organization_tickets(app: &App, caller: &Caller) -> Result<bool> {
    Ok(!app.store.portal_org_rules(caller.id).await?.is_empty())
}

/// The caller's tickets in `scope`, newest first; `Forbidden` for an organization scope no
/// rule grants.
pub async fn tickets(
    app: &App,
    caller: &Caller,
    scope: Scope,
    limit: Option<&str>,
    cursor: Option<&str>,
) -> Result<Page<TabItem>> {
    let (limit, after) = (parse_limit(limit)?, parse_cursor(cursor)?);
    match scope {
        Scope::Mine => app.store.portal_tickets(caller.id, None, limit, after).await,
        Scope::Organization => {
            let rules = app.store.portal_org_rules(caller.id).await?;
            if rules.is_empty() {
                return Err(Error::Forbidden("you may not see your organization's tickets".into()));
            }
            app.store.portal_tickets(caller.id, Some(&rules), limit, after).await
        }
    }
}
