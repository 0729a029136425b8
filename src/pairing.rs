//! Pairing: turns the time-ordered exchange stream into flows — a request with the preflight
//! that guarded it and the redirect hops that followed — keyed by (client, URL, method) and
//! decided within a bounded time window, so memory follows the window and not the input.

use std::sync::Arc;

use crate::model::{Exchange, Flavour, Micros};

/// One request of a redirect chain, with its preflight.
#[derive(Clone, Debug)]
pub struct FlowHop {
    /// The request and its response. For a preflight that was never followed, a request
    /// rebuilt from the preflight (method from `Access-Control-Request-Method`, no response).
    pub exchange: Exchange,
    /// `false` when the request itself never appeared (rebuilt from its preflight).
    pub sent: bool,
    pub preflight: Option<Exchange>,
}

/// What the page asked for, as one unit: the first request and every redirect hop after it.
#[derive(Clone, Debug)]
pub struct Flow {
    pub hops: Vec<FlowHop>,
    pub client: Arc<str>,
    pub flavour: Flavour,
}

impl Flow {
    pub fn first(&self) -> &FlowHop {
        // A flow is only ever built with at least one hop (see `Pairer::build_flow`).
        &self.hops[0]
    }

    pub fn last(&self) -> &FlowHop {
        &self.hops[self.hops.len() - 1]
    }

    pub fn time(&self) -> Micros {
        self.first().exchange.time
    }
}
