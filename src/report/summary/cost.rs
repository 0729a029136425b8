//! Preflight cost per endpoint: how many preflights were sent, how many a proper
//! `Access-Control-Max-Age` would have avoided (an earlier identical preflight was still within
//! each browser's cap), and the time they added, in total and per page load.

use std::collections::{BTreeSet, HashMap};

use serde::Serialize;

use crate::cors::fix::SUGGESTED_MAX_AGE;
use crate::cors::PerBrowser;
use crate::model::{Exchange, Micros};

/// Identical preflights: same client, origin, URL, method, announced headers and credentials
/// mode (browsers keep credentialed and uncredentialed preflight results apart).
type TwinKey = (String, String, String, String, String, &'static str);

#[derive(Clone, Debug, Default)]
pub(crate) struct CostAcc {
    preflights: u64,
    /// Per browser: preflights whose twin was within the suggested max-age as that browser
    /// caps it.
    avoidable: PerBrowser<u64>,
    total_ms: f64,
    timed: u64,
    last: HashMap<TwinKey, Micros>,
    pages: BTreeSet<String>,
}

/// The figures for one endpoint.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct PreflightCost {
    pub preflights: u64,
    /// With `Access-Control-Max-Age: {max_age}`, per browser.
    pub max_age: u64,
    /// Written as `avoidable_chromium`, `avoidable_firefox`, `avoidable_safari`.
    #[serde(flatten, serialize_with = "serialize_avoidable")]
    pub avoidable: PerBrowser<u64>,
    /// Request to response time of the preflights, where the input timed them.
    pub total_ms: f64,
    pub timed: u64,
    /// Page loads that called the endpoint (HAR pages; else client + page origin).
    pub page_loads: u64,
    pub ms_per_page_load: f64,
}

fn serialize_avoidable<S: serde::Serializer>(v: &PerBrowser<u64>, s: S) -> Result<S::Ok, S::Error> {
    v.serialize_prefixed("avoidable", s)
}

/// Request to response time of an exchange: the HAR's total time, else its wait.
pub(crate) fn exchange_ms(x: &Exchange) -> Option<f64> {
    x.timings
        .total_ms
        .or(x.timings.wait_ms)
        .filter(|t| *t >= 0.0)
}

impl CostAcc {
    /// Counts one recorded preflight of this endpoint.
    pub(crate) fn preflight(
        &mut self,
        client: &str,
        origin: &str,
        credentials: &'static str,
        pf: &Exchange,
    ) {
        self.preflights += 1;
        if let Some(ms) = exchange_ms(pf) {
            self.total_ms += ms;
            self.timed += 1;
        }
        let h = &pf.request.headers;
        let key = (
            client.to_owned(),
            origin.to_owned(),
            pf.request.url.clone(),
            h.get_str("access-control-request-method")
                .unwrap_or_default(),
            h.get_str("access-control-request-headers")
                .unwrap_or_default()
                .to_ascii_lowercase(),
            credentials,
        );
        if let Some(prev) = self.last.insert(key, pf.time) {
            let age_s = pf.time.saturating_sub(prev) / 1_000_000;
            for (b, avoidable) in self.avoidable.iter_mut() {
                let cap = SUGGESTED_MAX_AGE.min(b.profile().max_age_cap);
                if age_s >= 0 && (age_s as u64) < cap {
                    *avoidable += 1;
                }
            }
        }
    }

    /// Notes the page load a flow of this endpoint belongs to.
    pub(crate) fn page(&mut self, page: String) {
        self.pages.insert(page);
    }

    pub(crate) fn finish(&self) -> PreflightCost {
        let loads = self.pages.len() as u64;
        PreflightCost {
            preflights: self.preflights,
            max_age: SUGGESTED_MAX_AGE,
            avoidable: self.avoidable,
            total_ms: self.total_ms,
            timed: self.timed,
            page_loads: loads,
            ms_per_page_load: if loads > 0 {
                self.total_ms / loads as f64
            } else {
                0.0
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{test_exchange, Flavour};

    fn pf(t_s: i64, ms: f64) -> Exchange {
        let mut x = test_exchange(
            Flavour::DevTools,
            "OPTIONS",
            "https://api.test/x",
            &[("Access-Control-Request-Method", "PUT")],
            Some((204, &[])),
            None,
        );
        x.time = t_s * 1_000_000;
        x.timings.total_ms = Some(ms);
        x
    }

    #[test]
    fn twins_within_each_cap_are_avoidable() {
        let mut c = CostAcc::default();
        // 0 s, then 100 s (within every cap), then 1000 s later (past Safari's 600 s), then
        // 9000 s later (past every cap at the suggested 7200 s).
        for (t, ms) in [(0, 10.0), (100, 20.0), (1100, 30.0), (10100, 40.0)] {
            c.preflight("c", "https://app.test", "omit", &pf(t, ms));
        }
        c.page("p1".into());
        c.page("p2".into());
        let r = c.finish();
        assert_eq!(r.preflights, 4);
        let json = serde_json::to_value(&r).expect("plain data serializes");
        for (field, want) in [
            ("avoidable_chromium", 2),
            ("avoidable_firefox", 2),
            ("avoidable_safari", 1),
        ] {
            assert_eq!(json[field], want, "{field}");
        }
        assert_eq!(r.total_ms, 100.0);
        assert_eq!(r.page_loads, 2);
        assert_eq!(r.ms_per_page_load, 50.0);
    }

    #[test]
    fn different_requests_are_not_twins() {
        let mut c = CostAcc::default();
        c.preflight("c", "https://app.test", "omit", &pf(0, 1.0));
        c.preflight("other-client", "https://app.test", "omit", &pf(1, 1.0));
        c.preflight("c", "https://b.test", "omit", &pf(2, 1.0));
        c.preflight("c", "https://app.test", "include", &pf(3, 1.0));
        assert_eq!(c.finish().avoidable[crate::cors::Browser::Chromium], 0);
    }
}
