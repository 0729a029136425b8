//! The CORS engine: pure functions (no I/O) that decide a flow the way a given browser would,
//! following the Fetch standard (`#cors-check`, `#cors-preflight-fetch`, `#http-redirect-fetch`)
//! and each browser's recorded departures from it.

pub(crate) mod browser;
pub(crate) mod cache;
pub(crate) mod cookies;
pub(crate) mod counterfactual;
pub mod engine;
pub mod explain;
pub(crate) mod fix;
pub mod headers;
pub(crate) mod headview;
pub(crate) mod httpcache;
pub(crate) mod note;
pub(crate) mod recent;
pub use crate::origin;
pub(crate) mod reason;
pub(crate) mod registry;
pub mod resolve;

pub use browser::{Browser, PerBrowser, ALL_BROWSERS};
