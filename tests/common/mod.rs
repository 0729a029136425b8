//! Helpers shared by integration tests (and benches, by path).

pub mod long_lists;
