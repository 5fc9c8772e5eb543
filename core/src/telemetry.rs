//! Logs, request ids and Prometheus metrics.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use tower_http::request_id::{MakeRequestId, RequestId};
use tracing_subscriber::EnvFilter;

use crate::config::{LogConfig, LogFormat};

/// Starts logging to stderr in the configured format. Safe to call twice (the second is a no-op).
pub fn init(log: &LogConfig) {
    let filter = EnvFilter::try_new(&log.level).unwrap_or_else(|_| EnvFilter::new("info"));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(ansi);
    let _ = match log.format {
        LogFormat::Json => builder.json().with_current_span(true).with_span_list(false).try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

/// Request ids: 16 random hex digits, unless the client sent `x-request-id` (kept if sane).
#[derive(Clone, Copy, Debug, Default)]
pub struct RandomRequestId;

impl MakeRequestId for RandomRequestId {
    fn make_request_id<B>(&mut self, _request: &axum::http::Request<B>) -> Option<RequestId> {
        let mut b = [0u8; 8];
        getrandom::fill(&mut b).ok()?;
        let id = crate::auth::hex(&b);
        HeaderValue::from_str(&id).ok().map(RequestId::new)
    }
}

/// Latency bucket bounds, seconds.
const BUCKETS: [f64; 12] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0];

#[derive(Default, Debug)]
struct Series {
    count: u64,
    sum: f64,
    buckets: [u64; BUCKETS.len()],
}

/// Request counts by route and status, latencies by route; rendered in Prometheus text format.
#[derive(Default, Debug)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, String, u16), u64>>,
    latency: Mutex<BTreeMap<(String, String), Series>>,
}

impl Metrics {
    pub fn observe(&self, method: &str, route: &str, status: u16, seconds: f64) {
        if let Ok(mut r) = self.requests.lock() {
            *r.entry((method.to_string(), route.to_string(), status)).or_default() += 1;
        }
        if let Ok(mut l) = self.latency.lock() {
            let s = l.entry((method.to_string(), route.to_string())).or_default();
            s.count += 1;
            s.sum += seconds;
            for (i, b) in BUCKETS.iter().enumerate() {
                if seconds <= *b {
                    s.buckets[i] += 1;
                }
            }
        }
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        out.push_str("# HELP kith_http_requests_total HTTP requests answered, by route and status.\n");
        out.push_str("# TYPE kith_http_requests_total counter\n");
        if let Ok(r) = self.requests.lock() {
            for ((m, route, status), n) in r.iter() {
                out.push_str(&format!(
                    "kith_http_requests_total{{method=\"{m}\",route=\"{}\",status=\"{status}\"}} {n}\n",
                    escape(route)
                ));
            }
        }
        out.push_str("# HELP kith_http_request_duration_seconds Time to answer, by route.\n");
        out.push_str("# TYPE kith_http_request_duration_seconds histogram\n");
        if let Ok(l) = self.latency.lock() {
            for ((m, route), s) in l.iter() {
                let labels = format!("method=\"{m}\",route=\"{}\"", escape(route));
                for (i, b) in BUCKETS.iter().enumerate() {
                    out.push_str(&format!(
                        "kith_http_request_duration_seconds_bucket{{{labels},le=\"{b}\"}} {}\n",
                        s.buckets[i]
                    ));
                }
                out.push_str(&format!(
                    "kith_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}\n",
                    s.count
                ));
                out.push_str(&format!("kith_http_request_duration_seconds_sum{{{labels}}} {}\n", s.sum));
                out.push_str(&format!("kith_http_request_duration_seconds_count{{{labels}}} {}\n", s.count));
            }
        }
        out
    }
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

/// Middleware: times every request and counts it under its route template (`/api/v1/users/{id}`),
/// never the raw path, so ids do not explode the series count; and tells the client where the
/// time went: `Server-Timing: total;dur=1.84, db;dur=0.92;desc="3 calls"` (milliseconds; the
/// database part is every store call the request made, see [`crate::store::timing`]).
pub async fn track(State(metrics): State<std::sync::Arc<Metrics>>, req: Request, next: Next) -> Response {
    let route =
        req.extensions().get::<MatchedPath>().map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    // a fixed set of labels: a client inventing methods must not grow the series without end
    let method = match req.method().as_str() {
        m @ ("GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE" | "OPTIONS") => m,
        _ => "other",
    }
    .to_string();
    let start = Instant::now();
    let db = std::sync::Arc::new(crate::store::timing::DbTiming::default());
    let mut res = crate::store::timing::measure(db.clone(), next.run(req)).await;
    let total = start.elapsed();
    metrics.observe(&method, &route, res.status().as_u16(), total.as_secs_f64());
    let header = format!(
        "total;dur={:.2}, db;dur={:.2};desc=\"{} calls\"",
        total.as_secs_f64() * 1000.0,
        db.duration().as_secs_f64() * 1000.0,
        db.calls()
    );
    if let Ok(v) = axum::http::HeaderValue::from_str(&header) {
        res.headers_mut().insert("server-timing", v);
    }
    res
}
