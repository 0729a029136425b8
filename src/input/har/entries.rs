//! The first pass's work on each captured entry: its JSON parsed and checked, made into a
//! spool [`record`] and the facts the index keeps. Entries are handed over in
//! batches, worked out on the scanner's thread or (with workers) on a thread of their own
//! while the scanner reads on, and applied to the index in file order either way, so the
//! index, the counts and the warnings do not depend on where the work ran.
//!
//! Parsing is half of the first pass; with a worker the two halves overlap, and nothing
//! downstream can start before the first pass ends (the second one sorts by time).

use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::Arc;
use std::thread::Scope;

use super::{check_entry, head_excess, is_document, record, tie_break, EntryIndex, HarMeta};
use super::{RawEntry, WarnKind};
use crate::diag::Diagnostics;
use crate::model::Micros;

/// A batch is handed over once its entries' JSON reaches this many bytes…
const BATCH_BYTES: usize = 256 << 10;
/// …or it holds this many entries.
const BATCH_ENTRIES: usize = 512;
/// Batches with the worker at most (each about `BATCH_BYTES` plus its records).
const IN_FLIGHT: usize = 4;

/// What the index keeps of a valid entry besides its record.
struct Parsed {
    /// `None`: no valid `startedDateTime` (the index places it).
    time: Option<Micros>,
    tie: u64,
    /// This entry is its page's document request: (pageref, URL).
    document: Option<(String, String)>,
    head_excess: Option<i64>,
}

/// Entries on their way from the scanner to the index.
#[derive(Default)]
struct Batch {
    /// The entries' JSON, one after another.
    json: Vec<u8>,
    /// Per entry: its number in `log.entries`, its first byte in the file, its end in `json`.
    entries: Vec<(u64, u64, usize)>,
    /// Filled by [`Batch::work`]: the records one after another, and per entry what it gave
    /// (`None`: skipped, with a warning in `diag`) and its record's end in `records`.
    records: Vec<u8>,
    parsed: Vec<(Option<Parsed>, usize)>,
    diag: Diagnostics,
}

impl Batch {
    fn is_full(&self) -> bool {
        self.json.len() >= BATCH_BYTES || self.entries.len() >= BATCH_ENTRIES
    }

    /// Parses and checks every entry (the part that needs nothing but the entry).
    fn work(&mut self, source: &Arc<str>) {
        let mut from = 0;
        for &(entry, start, end) in &self.entries {
            let json = &self.json[from..end];
            from = end;
            let parsed = parse(
                json,
                entry,
                start,
                source,
                &mut self.diag,
                &mut self.records,
            );
            self.parsed.push((parsed, self.records.len()));
        }
    }

    /// Applies the worked batch to the index, in entry order, and empties it for reuse.
    fn apply(&mut self, index: &mut EntryIndex, meta: &mut HarMeta, diag: &mut Diagnostics) {
        let mut from = 0;
        for ((parsed, end), &(entry, _, _)) in self.parsed.drain(..).zip(&self.entries) {
            let record = &self.records[from..end];
            from = end;
            match parsed {
                Some(p) => index.add(entry, p.time, p.tie, p.document, p.head_excess, record),
                None => meta.skipped_entries += 1,
            }
        }
        diag.merge(std::mem::take(&mut self.diag));
        self.json.clear();
        self.entries.clear();
        self.records.clear();
    }
}

/// Entry number `entry` (at byte `start`) parsed and checked: what the index keeps, with its
/// record appended to `record`; `None`, with a warning, for an entry that cannot be analysed.
fn parse(
    json: &[u8],
    entry: u64,
    start: u64,
    source: &Arc<str>,
    diag: &mut Diagnostics,
    record: &mut Vec<u8>,
) -> Option<Parsed> {
    // The scanner copied the entry as it is in the file: valid UTF-8 almost always, and then
    // read as a `str`, which is checked here once instead of string by string. Other bytes go
    // through `from_slice`, which says where they are wrong (and reads valid bytes the same).
    let parsed = match std::str::from_utf8(json) {
        Ok(text) => serde_json::from_str::<RawEntry>(text),
        Err(_) => serde_json::from_slice::<RawEntry>(json),
    };
    let raw = match parsed {
        Ok(raw) => raw,
        Err(e) => {
            diag.warn(WarnKind::HarEntryInvalid, || {
                format!("{source}: entry {entry} (byte {start}): {e}")
            });
            return None;
        }
    };
    let time = check_entry(&raw, entry, source, diag)?;
    let document = match raw.pageref.as_deref() {
        Some(page) if is_document(&raw) => Some((page.to_owned(), raw.request.url.to_string())),
        _ => None,
    };
    let head_excess = raw.response.as_ref().and_then(head_excess);
    record::write(&raw, record);
    Some(Parsed {
        time,
        tie: tie_break(&raw),
        document,
        head_excess,
    })
}

/// Where captured entries go: batched, and worked out here or by the worker.
pub(super) struct Entries {
    source: Arc<str>,
    batch: Batch,
    worker: Option<Worker>,
}

struct Worker {
    jobs: SyncSender<Batch>,
    done: Receiver<Batch>,
    in_flight: usize,
    /// Batches back from the worker, for reuse.
    spare: Vec<Batch>,
}

impl Entries {
    /// Entries worked out on the scanner's thread.
    pub(super) fn here(source: Arc<str>) -> Self {
        Entries {
            source,
            batch: Batch::default(),
            worker: None,
        }
    }

    /// Entries worked out by a thread of `scope` (here, if it cannot be started). The
    /// thread ends once this is dropped.
    pub(super) fn with_worker<'s>(scope: &'s Scope<'s, '_>, source: Arc<str>) -> Self {
        let (jobs, inbox) = sync_channel::<Batch>(IN_FLIGHT);
        let (outbox, done) = sync_channel::<Batch>(IN_FLIGHT);
        let name = source.clone();
        let spawned = std::thread::Builder::new()
            .name("har-entries".into())
            .spawn_scoped(scope, move || {
                for mut batch in inbox {
                    batch.work(&name);
                    if outbox.send(batch).is_err() {
                        break;
                    }
                }
            });
        let mut entries = Self::here(source);
        if spawned.is_ok() {
            entries.worker = Some(Worker {
                jobs,
                done,
                in_flight: 0,
                spare: Vec::new(),
            });
        }
        entries
    }

    /// Takes entry number `entry` (its JSON, from byte `start`); batches that are done are
    /// applied to the index.
    pub(super) fn push(
        &mut self,
        json: &[u8],
        entry: u64,
        start: u64,
        index: &mut EntryIndex,
        meta: &mut HarMeta,
        diag: &mut Diagnostics,
    ) {
        self.batch.json.extend_from_slice(json);
        let end = self.batch.json.len();
        self.batch.entries.push((entry, start, end));
        if self.batch.is_full() {
            self.hand_over(index, meta, diag);
        }
    }

    /// Hands the batch over (to the worker, or works it here) and applies what is done.
    fn hand_over(&mut self, index: &mut EntryIndex, meta: &mut HarMeta, diag: &mut Diagnostics) {
        if self.batch.entries.is_empty() {
            return;
        }
        let Some(w) = &mut self.worker else {
            self.batch.work(&self.source);
            self.batch.apply(index, meta, diag);
            return;
        };
        // Wait for the oldest batch while the worker holds as many as it may.
        while w.in_flight >= IN_FLIGHT && w.receive(true, index, meta, diag) {}
        let next = w.spare.pop().unwrap_or_default();
        let batch = std::mem::replace(&mut self.batch, next);
        match w.jobs.send(batch) {
            Ok(()) => w.in_flight += 1,
            Err(e) => {
                // The worker is gone (it cannot fail, but if it did): everything it still
                // held is lost with it, so the rest is worked out here.
                let mut batch = e.0;
                self.worker = None;
                batch.work(&self.source);
                batch.apply(index, meta, diag);
                return;
            }
        }
        while w.receive(false, index, meta, diag) {}
    }

    /// Works out and applies every entry taken so far, in order: before anything else adds
    /// to the index, the counts or the warnings, and at the end of the first pass.
    pub(super) fn finish(
        &mut self,
        index: &mut EntryIndex,
        meta: &mut HarMeta,
        diag: &mut Diagnostics,
    ) {
        self.hand_over(index, meta, diag);
        if let Some(w) = &mut self.worker {
            while w.in_flight > 0 && w.receive(true, index, meta, diag) {}
        }
    }
}

impl Worker {
    /// Applies the oldest batch back from the worker (waiting for it if `wait`); false when
    /// none was.
    fn receive(
        &mut self,
        wait: bool,
        index: &mut EntryIndex,
        meta: &mut HarMeta,
        diag: &mut Diagnostics,
    ) -> bool {
        if self.in_flight == 0 {
            return false;
        }
        let got = if wait {
            self.done.recv().ok()
        } else {
            self.done.try_recv().ok()
        };
        let Some(mut batch) = got else {
            return false;
        };
        self.in_flight -= 1;
        batch.apply(index, meta, diag);
        self.spare.push(batch);
        true
    }
}
