//! The CORS engine: pure functions (no I/O) that decide a flow the way a given browser would,
//! following the Fetch standard (`#cors-check`, `#cors-preflight-fetch`, `#http-redirect-fetch`)
//! and each browser's recorded departures from it.

pub mod browser;
pub mod cache;
pub mod cookies;
pub mod counterfactual;
pub mod engine;
pub mod explain;
pub mod fix;
pub mod headers;
pub mod headview;
pub mod note;
pub mod origin;
pub mod reason;
pub mod registry;
pub mod resolve;

pub use browser::{Browser, PerBrowser, ALL_BROWSERS};
