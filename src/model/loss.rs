//! What a capture lost of what clients sent: the record the capture reader writes where it
//! declares request bytes lost (`tcp-gap`, `tcp-ack-unseen`, `tcp-gap-window`), or leaves them
//! unread (a TLS connection it cannot decrypt) or the input stops early, and pairing
//! reads where a request is missing after its preflight, so that an absence the capture may
//! have caused is never read as the browser's decision (`Evidence::absence_may_be_loss`).
//!
//! Bounded however long the capture runs: only what pairing can still ask about is kept
//! ([`RETAIN_US`] of capture time behind the newest loss, at most [`MAX_LOSSES`] entries); what
//! the cap drops is remembered as one span that answers "maybe lost" for every client, so a
//! capture that loses more than the cap holds stays cautious, never confident.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};

use super::Micros;

/// How far behind the newest loss an entry is kept: pairing decides a preflight without its
/// request at most its horizon (`--pairing-window`, 15 s by default) after it, plus the
/// capture's clock lag; four times that leaves room for a wider window.
pub(crate) const RETAIN_US: Micros = 120_000_000;
/// Entries kept at once (a busy tap losing a packet every few milliseconds stays within it
/// over [`RETAIN_US`]; beyond it the oldest are folded into [`LossLog`]'s `overflow`).
pub(crate) const MAX_LOSSES: usize = 4096;

/// How many of the newest entries a loss may be merged into (connections losing at once
/// interleave their entries; a few are enough to find the same connection's last one).
const MERGE_LOOKBACK: usize = 8;

/// Bytes a client sent to a server that the capture does not hold.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Loss {
    /// The connection's client address (as `Exchange::client` names a direct client).
    pub client: Arc<str>,
    /// The server's `ip:port` (as `Evidence::server_ip`).
    pub server: Arc<str>,
    /// The lost bytes were sent after this time (the connection's latest request before
    /// them; `Micros::MIN` when the connection showed none) …
    pub after: Micros,
    /// … and before this one (the packet that showed they were lost).
    pub by: Micros,
}

#[derive(Debug, Default)]
struct Log {
    losses: VecDeque<Loss>,
    /// The latest `by` of an entry dropped by [`MAX_LOSSES`]: every client may have lost
    /// bytes up to then.
    overflow: Option<Micros>,
    /// Where the input stopped early (damaged, cut off): every client may have lost what it
    /// sent from then on.
    cut: Option<Micros>,
    /// Where a capture that read to its end ends (its latest packet): what clients sent after
    /// it is not in it, though nothing was lost.
    end: Option<Micros>,
}

/// The losses of one capture, shared by its reader (which writes, in capture order, on the
/// thread that emits exchanges) and its pairing (which asks, on that same thread, so the
/// answer is the same for every `--jobs`).
#[derive(Debug, Default)]
pub struct LossLog {
    log: Mutex<Log>,
}

impl LossLog {
    pub fn new() -> Arc<LossLog> {
        Arc::default()
    }

    /// Records `losses` (in capture order) and forgets what no question can reach any more.
    pub(crate) fn record(&self, losses: impl IntoIterator<Item = Loss>) {
        // A panic elsewhere while the lock was held leaves a list that is still valid.
        let mut log = self.log.lock().unwrap_or_else(PoisonError::into_inner);
        for mut l in losses {
            // Packets swapped in arrival can show the loss (a server's ACK past it) before the
            // request that precedes the lost bytes arrives: `by` then precedes `after`. The
            // bytes were sent around both times, so the span covers both (else a question
            // from that request on would miss the loss and read its absence as a decision).
            if l.by < l.after {
                std::mem::swap(&mut l.after, &mut l.by);
            }
            let cutoff = l.by.saturating_sub(RETAIN_US);
            while log.losses.front().is_some_and(|f| f.by < cutoff) {
                log.losses.pop_front();
            }
            if let Some(e) = log.losses.iter_mut().rev().take(MERGE_LOOKBACK).find(|e| {
                e.after <= l.by && l.after <= e.by && e.server == l.server && e.client == l.client
            }) {
                // Spans that meet are one span for every question (`may_have_lost` asks
                // whether a span meets its own): a stopped connection losing each segment
                // the client sends stays one entry instead of filling the cap.
                e.after = e.after.min(l.after);
                e.by = e.by.max(l.by);
                continue;
            }
            if log.losses.len() >= MAX_LOSSES {
                if let Some(f) = log.losses.pop_front() {
                    log.overflow = Some(log.overflow.map_or(f.by, |o| o.max(f.by)));
                }
            }
            log.losses.push_back(l);
        }
    }

    /// Records that the input stopped early, its last exchange at `at`: whatever any client
    /// sent after it is lost. Reading has ended, so only questions about the end follow (and
    /// any asked before reached no further than `at`).
    pub(crate) fn cut(&self, at: Micros) {
        let mut log = self.log.lock().unwrap_or_else(PoisonError::into_inner);
        log.cut = Some(at);
    }

    /// Records that a capture read to its end, its latest packet at `at` (a capture begins
    /// and ends where it was started and stopped, or rotated: a request sent just after its
    /// preflight's answer can be past the end). As with [`Self::cut`], reading has ended.
    pub(crate) fn end(&self, at: Micros) {
        let mut log = self.log.lock().unwrap_or_else(PoisonError::into_inner);
        log.end = Some(at);
    }

    /// Where a capture that read to its end ends ([`Self::end`]).
    pub(crate) fn ended_at(&self) -> Option<Micros> {
        let log = self.log.lock().unwrap_or_else(PoisonError::into_inner);
        log.end
    }

    /// Whether the input stopped early before `to` (for a question that names no server: an
    /// export's entry without the server's address).
    pub(crate) fn cut_reaches(&self, to: Micros) -> bool {
        let log = self.log.lock().unwrap_or_else(PoisonError::into_inner);
        log.cut.is_some_and(|c| to >= c)
    }

    #[cfg(test)]
    /// What is kept, oldest first.
    pub(crate) fn entries(&self) -> Vec<Loss> {
        let log = self.log.lock().unwrap_or_else(PoisonError::into_inner);
        log.losses.iter().cloned().collect()
    }

    /// Whether the capture may have lost bytes `client` sent to `server` between `from` and
    /// `to` (`client` `None`: any client's, for a request that came through a proxy).
    pub(crate) fn may_have_lost(
        &self,
        client: Option<&str>,
        server: &str,
        from: Micros,
        to: Micros,
    ) -> bool {
        let log = self.log.lock().unwrap_or_else(PoisonError::into_inner);
        log.overflow.is_some_and(|o| o >= from)
            || log.cut.is_some_and(|c| to >= c)
            || log.losses.iter().any(|l| {
                l.by >= from
                    && l.after <= to
                    && *l.server == *server
                    && client.is_none_or(|c| *l.client == *c)
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loss(client: &str, server: &str, after: Micros, by: Micros) -> Loss {
        Loss {
            client: client.into(),
            server: server.into(),
            after,
            by,
        }
    }

    /// A loss counts for the client and server it was on, when its span meets the question's.
    #[test]
    fn a_loss_answers_for_its_client_server_and_time() {
        let log = LossLog::new();
        log.record([loss("10.0.0.2", "10.0.0.9:80", 1_000, 5_000)]);
        // (client, server, from, to, may have lost)
        let cases: &[(Option<&str>, &str, Micros, Micros, bool)] = &[
            (Some("10.0.0.2"), "10.0.0.9:80", 0, 10_000, true),
            (Some("10.0.0.2"), "10.0.0.9:80", 4_000, 14_000, true),
            // Lost before the question's span began (found before it).
            (Some("10.0.0.2"), "10.0.0.9:80", 6_000, 16_000, false),
            // Sent after the span's end.
            (Some("10.0.0.2"), "10.0.0.9:80", 0, 900, false),
            // Another client, another server.
            (Some("10.0.0.3"), "10.0.0.9:80", 0, 10_000, false),
            (Some("10.0.0.2"), "10.0.0.9:443", 0, 10_000, false),
            // Through a proxy: any client.
            (None, "10.0.0.9:80", 0, 10_000, true),
        ];
        for &(client, server, from, to, want) in cases {
            assert_eq!(
                log.may_have_lost(client, server, from, to),
                want,
                "{client:?} {server} {from}..{to}"
            );
        }
    }

    /// A loss shown (by a server's ACK) before the request that precedes it arrived, packets
    /// swapped in arrival, still answers for the time from that request on.
    #[test]
    fn a_loss_shown_before_the_request_before_it_arrived_covers_both_times() {
        let log = LossLog::new();
        // The preflight before the lost request arrived at 5_000, the ACK past it at 4_000.
        log.record([loss("10.0.0.2", "10.0.0.9:80", 5_000, 4_000)]);
        assert_eq!(log.entries()[0].after, 4_000);
        assert_eq!(log.entries()[0].by, 5_000);
        // (from, to, may have lost): the preflight asks from its own time on.
        let cases: &[(Micros, Micros, bool)] = &[
            (5_000, 20_000, true),
            (4_500, 19_500, true),
            (5_001, 20_000, false),
            (0, 3_999, false),
        ];
        for &(from, to, want) in cases {
            assert_eq!(
                log.may_have_lost(Some("10.0.0.2"), "10.0.0.9:80", from, to),
                want,
                "{from}..{to}"
            );
        }
    }

    /// An input cut off leaves every question whose span reaches its last exchange open, for
    /// any client and server; what was answered before the cut stays answered.
    #[test]
    fn a_cut_input_may_have_lost_everything_after_it() {
        let log = LossLog::new();
        log.cut(10_000);
        // (from, to, may have lost)
        let cases: &[(Micros, Micros, bool)] = &[
            (9_000, 24_000, true),
            (10_000, 25_000, true),
            (0, 9_999, false),
        ];
        for &(from, to, want) in cases {
            assert_eq!(
                log.may_have_lost(Some("a"), "s:1", from, to),
                want,
                "{from}..{to}"
            );
            assert_eq!(
                log.may_have_lost(None, "t:2", from, to),
                want,
                "{from}..{to}"
            );
        }
    }

    /// A connection losing every segment its client sends (a stopped HTTP/2 or TLS stream)
    /// keeps one entry, answering as the separate ones would; spans that do not meet stay
    /// apart.
    #[test]
    fn spans_that_meet_are_kept_as_one() {
        let log = LossLog::new();
        let segments = (0..2 * MAX_LOSSES as Micros).map(|i| loss("a", "s:1", 100 + i, 101 + i));
        log.record(segments);
        // Another connection losing at the same time, between them.
        log.record([
            loss("b", "s:1", 50, 60),
            loss("a", "s:1", 2 * MAX_LOSSES as Micros + 100, 9_999_000),
        ]);
        log.record([
            loss("a", "s:2", 10, 20),
            loss("a", "s:1", 10_000_000, 10_000_001),
        ]);
        assert_eq!(
            log.entries(),
            vec![
                loss("a", "s:1", 100, 9_999_000),
                loss("b", "s:1", 50, 60),
                loss("a", "s:2", 10, 20),
                loss("a", "s:1", 10_000_000, 10_000_001),
            ]
        );
        assert!(log.may_have_lost(Some("a"), "s:1", 0, 100));
        assert!(!log.may_have_lost(Some("a"), "s:1", 9_999_001, 9_999_999));
        assert!(!log.may_have_lost(Some("b"), "s:1", 61, 1_000));
    }

    /// Memory stays bounded: old entries go by time, and beyond the cap the dropped ones leave
    /// a span in which every client may have lost bytes (cautious, never confident).
    #[test]
    fn the_log_is_bounded_and_stays_cautious() {
        let log = LossLog::new();
        log.record([loss("a", "s:1", 0, 10)]);
        log.record([loss("b", "s:1", RETAIN_US + 100, RETAIN_US + 200)]);
        assert!(!log.may_have_lost(Some("a"), "s:1", 0, 100));
        let many = (0..MAX_LOSSES as Micros + 10).map(|i| {
            let t = 2 * RETAIN_US + i;
            loss("c", "s:1", t, t)
        });
        log.record(many);
        let kept = log.log.lock().map(|l| l.losses.len()).unwrap_or(0);
        assert_eq!(kept, MAX_LOSSES);
        // "d" lost nothing, but what the cap dropped could have been its.
        assert!(log.may_have_lost(Some("d"), "s:1", 2 * RETAIN_US, 2 * RETAIN_US + 5));
        assert!(!log.may_have_lost(Some("d"), "s:1", 3 * RETAIN_US, 3 * RETAIN_US + 5));
    }
}
