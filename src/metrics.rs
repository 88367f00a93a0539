//! In-process Prometheus metrics: request counts and latency histograms by
//! matched route, method and status class, plus database pool use. Labels never
//! carry organisation ids, tokens or amounts — only route patterns.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;

/// Latency histogram bucket bounds, in seconds.
pub const BUCKETS: [f64; 12] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0];

#[derive(Default, Clone)]
struct Series {
    count: u64,
    sum_seconds: f64,
    buckets: [u64; BUCKETS.len()],
}

/// Request metrics, shared by every worker.
#[derive(Default)]
pub struct Metrics {
    series: Mutex<BTreeMap<(String, String, String), Series>>,
}

impl Metrics {
    /// Records one finished request.
    pub fn observe(&self, route: &str, method: &str, status: u16, seconds: f64) {
        let class = format!("{}xx", status / 100);
        let mut map = self.series.lock().unwrap_or_else(|p| p.into_inner());
        let s = map.entry((route.to_owned(), method.to_owned(), class)).or_default();
        s.count += 1;
        s.sum_seconds += seconds;
        for (i, bound) in BUCKETS.iter().enumerate() {
            if seconds <= *bound {
                s.buckets[i] += 1;
            }
        }
    }

    /// The Prometheus text exposition, with pool gauges appended.
    pub fn render(&self, pool_connections: u32, pool_idle: u32, pool_max: u32) -> String {
        let map = self.series.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let mut out = String::new();
        out.push_str(
            "# HELP pilotledger_http_requests_total HTTP requests by matched route, method and status class.\n",
        );
        out.push_str("# TYPE pilotledger_http_requests_total counter\n");
        for ((route, method, class), s) in &map {
            let _ = writeln!(
                out,
                "pilotledger_http_requests_total{{route=\"{route}\",method=\"{method}\",status=\"{class}\"}} {}",
                s.count
            );
        }
        out.push_str("# HELP pilotledger_http_request_duration_seconds Request latency by matched route and method.\n");
        out.push_str("# TYPE pilotledger_http_request_duration_seconds histogram\n");
        let mut by_route: BTreeMap<(String, String), Series> = BTreeMap::new();
        for ((route, method, _), s) in &map {
            let agg = by_route.entry((route.clone(), method.clone())).or_default();
            agg.count += s.count;
            agg.sum_seconds += s.sum_seconds;
            for (i, b) in s.buckets.iter().enumerate() {
                agg.buckets[i] += b;
            }
        }
        for ((route, method), s) in &by_route {
            let labels = format!("route=\"{route}\",method=\"{method}\"");
            for (i, bound) in BUCKETS.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "pilotledger_http_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {}",
                    s.buckets[i]
                );
            }
            let _ = writeln!(
                out,
                "pilotledger_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
                s.count
            );
            let _ = writeln!(
                out,
                "pilotledger_http_request_duration_seconds_sum{{{labels}}} {}",
                s.sum_seconds
            );
            let _ = writeln!(
                out,
                "pilotledger_http_request_duration_seconds_count{{{labels}}} {}",
                s.count
            );
        }
        out.push_str("# HELP pilotledger_db_pool_connections Open database connections.\n# TYPE pilotledger_db_pool_connections gauge\n");
        let _ = writeln!(out, "pilotledger_db_pool_connections {pool_connections}");
        out.push_str(
            "# HELP pilotledger_db_pool_idle Idle database connections.\n# TYPE pilotledger_db_pool_idle gauge\n",
        );
        let _ = writeln!(out, "pilotledger_db_pool_idle {pool_idle}");
        out.push_str(
            "# HELP pilotledger_db_pool_in_use Database connections in use.\n# TYPE pilotledger_db_pool_in_use gauge\n",
        );
        let _ = writeln!(
            out,
            "pilotledger_db_pool_in_use {}",
            pool_connections.saturating_sub(pool_idle)
        );
        out.push_str("# HELP pilotledger_db_pool_max Pool size.\n# TYPE pilotledger_db_pool_max gauge\n");
        let _ = writeln!(out, "pilotledger_db_pool_max {pool_max}");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn observations_land_in_counters_and_cumulative_buckets() {
        let m = Metrics::default();
        m.observe("/v1/pilots", "GET", 200, 0.003);
        m.observe("/v1/pilots", "GET", 404, 0.2);
        let text = m.render(3, 1, 8);
        assert!(text.contains("pilotledger_http_requests_total{route=\"/v1/pilots\",method=\"GET\",status=\"2xx\"} 1"));
        assert!(text.contains("pilotledger_http_requests_total{route=\"/v1/pilots\",method=\"GET\",status=\"4xx\"} 1"));
        assert!(text.contains("le=\"0.0025\"} 0"));
        assert!(text.contains("le=\"0.005\"} 1"));
        assert!(text.contains("le=\"0.25\"} 2"));
        assert!(text.contains("pilotledger_http_request_duration_seconds_count{route=\"/v1/pilots\",method=\"GET\"} 2"));
        assert!(text.contains("pilotledger_db_pool_in_use 2"));
    }
}
