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
    /// Detail lines ever kept (all kinds): a cheap "anything new?" for [`Diagnostics::new_details`].
    kept: usize,
}

/// How many detail lines of each kind a producer has handed on ([`Diagnostics::new_details`]).
#[derive(Clone, Debug, Default)]
pub struct Shipped {
    per_kind: BTreeMap<WarnKind, usize>,
    kept: usize,
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
            self.kept += 1;
        }
    }

    /// The detail lines kept since the last call (with `shipped` as its memory), without
    /// counts: a producer whose lines are merged elsewhere in a global order keeps one
    /// `Diagnostics` for its whole run (so its memory and work stay bounded however many
    /// warnings it counts) and hands on just these lines at the place they arose; its counts
    /// follow once, at the end ([`Diagnostics::counts_only`]). Only the first lines of each kind
    /// can be among the first lines of a merge, so nothing the merge would keep is lost.
    pub fn new_details(&self, shipped: &mut Shipped) -> Option<Diagnostics> {
        if self.kept == shipped.kept {
            return None;
        }
        shipped.kept = self.kept;
        let mut out = Diagnostics::new();
        for (kind, lines) in &self.details {
            let sent = shipped.per_kind.entry(kind).or_insert(0);
            if let Some(new) = lines.get(*sent..).filter(|n| !n.is_empty()) {
                out.details.insert(kind, new.to_vec());
                out.kept += new.len();
                *sent = lines.len();
            }
        }
        Some(out)
    }

    /// The counts alone (see [`Diagnostics::new_details`]).
    pub fn counts_only(&self) -> Diagnostics {
        Diagnostics {
            counts: self.counts.clone(),
            ..Diagnostics::default()
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
                    self.kept += 1;
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

    /// Lines handed on as they arise plus counts at the end merge to what one `Diagnostics`
    /// fed directly holds.
    #[test]
    fn shipped_details_and_final_counts_equal_a_direct_merge() {
        let (mut direct, mut merged) = (Diagnostics::new(), Diagnostics::new());
        let (mut local, mut shipped) = (Diagnostics::new(), Shipped::default());
        for i in 0..100 {
            let kind = if i % 3 == 0 { "a" } else { "b" };
            direct.warn(kind, || format!("{kind} {i}"));
            local.warn(kind, || format!("{kind} {i}"));
            if let Some(d) = local.new_details(&mut shipped) {
                merged.merge(d);
            }
            assert!(local.new_details(&mut shipped).is_none());
        }
        merged.merge(local.counts_only());
        assert_eq!(
            format!("{:?}", direct.counts),
            format!("{:?}", merged.counts)
        );
        assert_eq!(direct.details, merged.details);
    }
}
