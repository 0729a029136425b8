//! Non-fatal problems met while reading inputs (skipped packets, gaps, limits hit, encrypted
//! traffic): counted per kind for the summary, with the first details kept for `-v`.

use std::collections::BTreeMap;

/// How many detail lines are kept per kind; the counts are always exact.
pub const MAX_DETAILS_PER_KIND: usize = 20;

/// A kind of warning. Kinds are stable identifiers shown in summaries (`tcp-gap`, …).
pub type WarnKind = &'static str;

#[derive(Clone, Debug, Default)]
pub struct Diagnostics {
    counts: BTreeMap<WarnKind, u64>,
    details: BTreeMap<WarnKind, Vec<String>>,
}

impl Diagnostics {
    pub fn new() -> Self {
        Self::default()
    }

    /// Counts one occurrence of `kind`; `detail` is only built while the kind still has room,
    /// so hot paths pay nothing for the message after the first few.
    pub fn warn(&mut self, kind: WarnKind, detail: impl FnOnce() -> String) {
        *self.counts.entry(kind).or_insert(0) += 1;
        let d = self.details.entry(kind).or_default();
        if d.len() < MAX_DETAILS_PER_KIND {
            d.push(detail());
        }
    }

    /// Adds `n` occurrences without details.
    pub fn add(&mut self, kind: WarnKind, n: u64) {
        if n > 0 {
            *self.counts.entry(kind).or_insert(0) += n;
        }
    }

    pub fn count(&self, kind: WarnKind) -> u64 {
        self.counts.get(kind).copied().unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.counts.is_empty()
    }

    pub fn counts(&self) -> impl Iterator<Item = (WarnKind, u64)> + '_ {
        self.counts.iter().map(|(k, v)| (*k, *v))
    }

    pub fn details(&self, kind: WarnKind) -> &[String] {
        self.details.get(kind).map_or(&[], |v| v.as_slice())
    }

    pub fn merge(&mut self, other: Diagnostics) {
        for (k, v) in other.counts {
            *self.counts.entry(k).or_insert(0) += v;
        }
        for (k, v) in other.details {
            let d = self.details.entry(k).or_default();
            for line in v {
                if d.len() < MAX_DETAILS_PER_KIND {
                    d.push(line);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_exact_and_details_capped() {
        let mut d = Diagnostics::new();
        for i in 0..50 {
            d.warn("tcp-gap", || format!("gap {i}"));
        }
        assert_eq!(d.count("tcp-gap"), 50);
        assert_eq!(d.details("tcp-gap").len(), MAX_DETAILS_PER_KIND);
        let mut e = Diagnostics::new();
        e.add("tcp-gap", 5);
        d.merge(e);
        assert_eq!(d.count("tcp-gap"), 55);
    }
}
