//! Extra organization tabs, declared in `plugin.toml` under `[[tabs]]`
//! (manifest `provides = ["org-tab"]`).

use crate::PluginError;

/// Which tab, for which organization, which page (`page` counts from 1) and how many rows a page
/// holds.
///
/// ```
/// use kith_plugin_sdk::{OrgRef, org_tab::PageRequest};
/// let req = PageRequest { tab_id: "forms".into(), org: OrgRef { id: 3, name: "Example Ltd".into() }, page: 1, per_page: 20 };
/// ```
pub use crate::bindings::exports::kith::plugin::org_tab::PageRequest;

/// What the tab shows: a [`Table`] (preferred: Kith renders it in its own style) or HTML that
/// Kith sanitizes before anyone sees it.
///
/// ```
/// use kith_plugin_sdk::org_tab::TabContent;
/// let content = TabContent::Html("<p>Nothing sent yet.</p>".into());
/// ```
pub use crate::bindings::exports::kith::plugin::org_tab::TabContent;

/// One page of a table: column titles, the rows of this page, and `total` — the number of rows
/// on all pages (Kith draws the pager from it).
///
/// ```
/// use kith_plugin_sdk::org_tab::Table;
/// let table = Table { columns: vec!["Form".into()], rows: vec![vec!["NPS survey".into()]], total: 41 };
/// ```
pub use crate::bindings::exports::kith::plugin::org_tab::Table;

/// Renders a tab. The default fails with `internal("not implemented")`.
///
/// ```no_run
/// use kith_plugin_sdk::prelude::*;
///
/// struct Hello;
///
/// impl OrgTab for Hello {
///     fn render(req: PageRequest) -> Result<TabContent, PluginError> {
///         Ok(TabContent::Table(Table {
///             columns: vec!["Greeting".into()],
///             rows: vec![vec![format!("Hello, {}", req.org.name)]],
///             total: 1,
///         }))
///     }
/// }
///
/// kith_plugin_sdk::export!(Hello);
/// ```
pub trait OrgTab {
    /// Renders one page of the tab `req.tab_id` for `req.org`.
    fn render(req: PageRequest) -> Result<TabContent, PluginError> {
        let _ = req;
        Err(PluginError::internal("not implemented"))
    }
}

/// The rows of page `page` (from 1, as in [`PageRequest`]) of `rows`, `per_page` at a time.
///
/// ```
/// use kith_plugin_sdk::org_tab::page_of;
///
/// let rows: Vec<u32> = (1..=7).collect();
/// assert_eq!(page_of(&rows, 2, 3), &[4, 5, 6]);
/// assert_eq!(page_of(&rows, 3, 3), &[7]);
/// assert!(page_of(&rows, 9, 3).is_empty());
/// ```
pub fn page_of<T>(rows: &[T], page: u32, per_page: u32) -> &[T] {
    let per_page = per_page.max(1) as usize;
    let start = (page.max(1) as usize - 1).saturating_mul(per_page);
    let end = start.saturating_add(per_page).min(rows.len());
    rows.get(start..end).unwrap_or(&[])
}
