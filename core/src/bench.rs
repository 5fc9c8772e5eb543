//! `kith bench`: latency of the operations agents wait on, measured through the whole app
//! (routing, authentication, JSON) in-process against the configured database — typically one
//! filled by `kith demo-data`. Reports p50/p99 per operation and the process's memory.

use std::time::Instant;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

use crate::domain::organization::{RuleKind, RuleSpec};
use crate::domain::{Error, Result};
use crate::http::{AppState, app};

/// One measured operation.
#[derive(Debug, Clone)]
pub struct Measured {
    pub name: String,
    pub detail: String,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub mean_ms: f64,
    pub runs: usize,
}

async fn get(router: &axum::Router, token: &str, path: &str) -> Result<Value> {
    let req = Request::get(path)
        .header("authorization", format!("Bearer {token}"))
        .body(Body::empty())
        .map_err(|e| Error::Internal(e.to_string()))?;
    let res = router.clone().oneshot(req).await.map_err(|e| Error::Internal(e.to_string()))?;
    let status = res.status();
    let bytes = res.into_body().collect().await.map_err(|e| Error::Internal(e.to_string()))?.to_bytes();
    if status != StatusCode::OK {
        return Err(Error::Internal(format!("GET {path}: {status} {}", String::from_utf8_lossy(&bytes))));
    }
    serde_json::from_slice(&bytes).map_err(|e| Error::Internal(e.to_string()))
}

fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// Runs `paths` (one "operation" = all of them in turn) `runs` times after `warmup` rounds.
async fn measure(
    router: &axum::Router,
    token: &str,
    name: &str,
    detail: String,
    paths: &[String],
    runs: usize,
) -> Result<Measured> {
    for _ in 0..runs.div_ceil(10) {
        for p in paths {
            get(router, token, p).await?;
        }
    }
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let t = Instant::now();
        for p in paths {
            get(router, token, p).await?;
        }
        times.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    let mean = times.iter().sum::<f64>() / times.len().max(1) as f64;
    times.sort_by(f64::total_cmp);
    Ok(Measured {
        name: name.into(),
        detail,
        p50_ms: percentile(&times, 0.5),
        p99_ms: percentile(&times, 0.99),
        mean_ms: mean,
        runs,
    })
}

/// Resident and peak memory of this process, in MiB (Linux).
pub fn memory_mib() -> (f64, f64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<f64>().ok())
            .map_or(0.0, |kb| kb / 1024.0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// The benchmark: picks its subjects from the data, then measures each operation.
pub async fn run(state: AppState, token: &str, runs: usize) -> Result<Vec<Measured>> {
    let store = state.store.clone();
    let router = app(state);
    // the organization whose domain rule pulls in the number of tickets closest to 100,000,
    // among the twenty largest (demo data: organization ids in size order)
    let mut best: Option<(i64, i64, String)> = None;
    for id in 1..=20 {
        let Ok(rules) = store.list_rules(crate::domain::organization::OrganizationId(id)).await else { continue };
        let Some(domain) = rules.iter().find(|r| r.kind == RuleKind::Domain) else { continue };
        let spec = RuleSpec {
            kind: RuleKind::Domain,
            value: domain.value.clone(),
            include_subdomains: domain.include_subdomains,
            view_org_tickets: false,
        };
        let n = store.preview_rule(&spec).await?.tickets;
        if best.as_ref().is_none_or(|(_, b, _)| (n - 100_000).abs() < (b - 100_000).abs()) {
            best = Some((id, n, domain.value.clone()));
        }
    }
    let Some((org, domain_tickets, domain)) = best else {
        return Err(Error::invalid("database", "no organizations with a domain rule: run `kith demo-data` first"));
    };
    let rules = store.list_rules(crate::domain::organization::OrganizationId(org)).await?;
    let first_page = get(&router, token, &format!("/api/v1/organizations/{org}/tickets")).await?;
    let users_page = get(&router, token, &format!("/api/v1/organizations/{org}/users")).await?;
    // a user of that organization with tickets, for the user page
    let user_id = users_page["items"][0]["id"].as_i64().unwrap_or(1);
    let email = users_page["items"][0]["emails"][0]["email"].as_str().unwrap_or("").to_string();
    let email_fragment: String = email.split('@').next().unwrap_or("").chars().skip(2).collect();
    let name_fragment = users_page["items"][0]["display_name"]
        .as_str()
        .and_then(|n| n.split_whitespace().last())
        .unwrap_or("smith")
        .to_lowercase();
    let name_hits = get(&router, token, &format!("/api/v1/users?q={name_fragment}&limit=1")).await?["total"].clone();
    let email_hits = get(&router, token, &format!("/api/v1/users?q={email_fragment}&limit=1")).await?["total"].clone();

    let mut out = Vec::new();
    out.push(
        measure(
            &router,
            token,
            "organization tickets tab, first page with total",
            format!(
                "org {org}: {} rules, domain {domain} matches {domain_tickets} tickets, tab total {}",
                rules.len(),
                first_page["total"]
            ),
            &[format!("/api/v1/organizations/{org}/tickets")],
            runs,
        )
        .await?,
    );
    out.push(
        measure(
            &router,
            token,
            "user search, name fragment",
            format!("q={name_fragment} ({name_hits} matches)"),
            &[format!("/api/v1/users?q={name_fragment}")],
            runs,
        )
        .await?,
    );
    out.push(
        measure(
            &router,
            token,
            "user search, e-mail fragment",
            format!("q={email_fragment} ({email_hits} matches)"),
            &[format!("/api/v1/users?q={email_fragment}")],
            runs,
        )
        .await?,
    );
    out.push(
        measure(
            &router,
            token,
            "organization users tab, first page with total",
            format!("org {org}: {} members", users_page["total"]),
            &[format!("/api/v1/organizations/{org}/users")],
            runs,
        )
        .await?,
    );
    out.push(
        measure(
            &router,
            token,
            "one user's page data",
            format!("user {user_id}: record, open tickets, organizations, stats (4 requests)"),
            &[
                format!("/api/v1/users/{user_id}"),
                format!("/api/v1/users/{user_id}/tickets?state=open"),
                format!("/api/v1/users/{user_id}/organizations"),
                format!("/api/v1/users/{user_id}/stats"),
            ],
            runs,
        )
        .await?,
    );
    Ok(out)
}
