//! Owns the per-thread memo of header readings across flows: a request's author headers
//! ([`author_headers`]) and each browser's unsafe names among them ([`judge_author_headers`]),
//! a sent hop's final unsafe names by its preflight's announced list ([`Finals`]), and a
//! preflight response's allow lists ([`AllowLists`]), looked up by the exact bytes each reads.
//!
//! A page sends the same few header sets again and again (pl20: two author sets cover 70 % of
//! its requests), and judging them was the largest per-flow cost of deciding (`unsafe_names`,
//! 8,700 instructions a flow). Exact: the first key holds every byte `author_headers` reads
//! (every name, and the values of `Cache-Control` and `Pragma`), and so fixes the author
//! headers' names; its entry ([`Authored`]) keeps each browser's and value encoding's answers
//! under the values of the author headers some browser has a value rule for
//! ([`has_value_rule`]: any other name is unsafe whatever its value), the rest of what
//! `judge_author_headers` reads, and under each announced list the final answers. A lookup
//! writes the key once into a scratch buffer and compares it whole. Bounded: a fixed number
//! of slots, of value sets per slot and of announced lists per value set, and keys longer than
//! [`MAX_KEY`] are judged without the memo.

use std::cell::RefCell;
use std::rc::Rc;

use super::browser::Browser;
use super::engine::{AllowLists, Names, ALLOW_HEADERS, ALLOW_METHODS, MAX_AGE};
use super::headers::{
    author_headers, has_value_rule, judge_author_headers, Positions, ValueEncoding,
};
use crate::model::Headers;

/// Slots per table: sets of [`WAYS`] slots, chosen by the key's hash, the most recently used
/// first. Direct-mapped (one slot per hash), two of pl20's six sets of request names shared a
/// slot and drove each other out (258 misses in 1,943 lookups), as did its two sets of allow
/// lists (79 in 638).
const SLOTS: usize = 64;
const WAYS: usize = 2;
/// `SLOTS / WAYS` as a power of two: the hash's top bits pick the set.
const SET_BITS: u32 = (SLOTS / WAYS).trailing_zeros();
/// Longer keys (hostile or unusual heads) are judged each time: copying them costs more than
/// the memo saves, and the table's memory stays small.
const MAX_KEY: usize = 1024;

/// A key: the byte pieces a judgement reads, in order (each is hashed and compared with its
/// length, so pieces cannot run together).
trait Key {
    /// Calls `f` on each piece until it returns `false`; whether every call returned `true`.
    fn pieces(&self, f: &mut impl FnMut(&[u8]) -> bool) -> bool;
}

/// One memo: `SLOTS` remembered (key, answer) pairs, a key stored as its pieces, each a
/// 4-byte length and its bytes.
struct Table<V> {
    slots: Vec<Option<(Vec<u8>, V)>>,
    /// The key asked, written as a stored one is (kept for its room).
    scratch: Vec<u8>,
}

const MIX: u64 = 0x9e37_79b9_7f4a_7c15;

fn mix(h: u64, word: u64) -> u64 {
    (h ^ word).wrapping_mul(MIX).rotate_left(29)
}

/// The first slot of the set of a key's hash `h`: the top bits of one more product (a
/// product's low bits mix least; taken modulo the slots, pl20's keys crowded two slots).
fn set_of(h: u64) -> usize {
    (h.wrapping_mul(MIX) >> (64 - SET_BITS)) as usize * WAYS
}

/// A written key's hash, by its eight-byte words (the comparison reads every byte; the hash
/// only spreads the keys over the sets).
fn hash_key(k: &[u8]) -> u64 {
    let (words, rest) = k.as_chunks::<8>();
    let h = words
        .iter()
        .fold(k.len() as u64, |h, w| mix(h, u64::from_le_bytes(*w)));
    mix(h, rest.iter().fold(0, |w, &b| w << 8 | u64::from(b)))
}

/// Writes `key`'s pieces into `out` (emptied first) as [`Table`] keeps them; `false` when
/// they are longer than [`MAX_KEY`] (`out` then holds the pieces before).
fn write_key(out: &mut Vec<u8>, key: &impl Key) -> bool {
    out.clear();
    key.pieces(&mut |p| {
        if out.len() + 4 + p.len() > MAX_KEY {
            return false;
        }
        // Within MAX_KEY, so the length fits.
        out.extend_from_slice(&(p.len() as u32).to_le_bytes());
        out.extend_from_slice(p);
        true
    })
}

/// Whether `stored` (pieces as [`Table`] keeps them) is exactly `key`'s pieces.
fn stored_is(stored: &[u8], key: &impl Key) -> bool {
    let mut rest = stored;
    let all = key.pieces(&mut |p| {
        let Some((len, after)) = rest.split_first_chunk::<4>() else {
            return false;
        };
        let same = u32::from_le_bytes(*len) as usize == p.len()
            && after.get(..p.len()).is_some_and(|b| b == p);
        rest = after.get(p.len()..).unwrap_or_default();
        same
    });
    all && rest.is_empty()
}

impl<V: Clone> Table<V> {
    const fn new() -> Self {
        Self {
            slots: Vec::new(),
            scratch: Vec::new(),
        }
    }

    /// The answer remembered under `key`, else `compute`'s, remembered. The key is written
    /// once and compared whole (walking its pieces twice, to hash and to compare, with a
    /// closure call per piece, was most of a lookup: 1,130 instructions for a request's
    /// names).
    fn get(&mut self, key: &impl Key, compute: impl FnOnce() -> V) -> V {
        let Self { slots, scratch } = self;
        if !write_key(scratch, key) {
            return compute();
        }
        if slots.is_empty() {
            slots.resize_with(SLOTS, || None);
        }
        let at = set_of(hash_key(scratch));
        let set = &mut slots[at..at + WAYS];
        let hit = set.iter().position(|slot| {
            slot.as_ref()
                .is_some_and(|(stored, _)| stored[..] == scratch[..])
        });
        if let Some(way) = hit {
            // The most recently used first.
            set[..=way].rotate_right(1);
            if let Some((_, answer)) = &set[0] {
                return answer.clone();
            }
        }
        let answer = compute();
        // The least recently used makes room, at the front.
        set.rotate_right(1);
        let (stored, kept) = set[0].get_or_insert_with(|| (Vec::new(), answer.clone()));
        stored.clear();
        stored.extend_from_slice(scratch);
        kept.clone_from(&answer);
        answer
    }
}

/// `key`'s pieces appended to `stored` as [`Table`] keeps them.
fn store(stored: &mut Vec<u8>, key: &impl Key) {
    key.pieces(&mut |p| {
        // Within MAX_KEY, so the length fits.
        stored.extend_from_slice(&(p.len() as u32).to_le_bytes());
        stored.extend_from_slice(p);
        true
    });
}

thread_local! {
    static AUTHORS: RefCell<Table<Rc<Authored>>> = const { RefCell::new(Table::new()) };
    static ALLOW_LISTS: RefCell<Table<Rc<AllowLists>>> = const { RefCell::new(Table::new()) };
}

/// [`AllowLists::parse`]'s key: the lines it reads (`Access-Control-Allow-Methods`, `-Headers`
/// and `-Max-Age`), in order, each after a piece naming which it is.
struct ListsKey<'a>(&'a Headers);

impl Key for ListsKey<'_> {
    fn pieces(&self, f: &mut impl FnMut(&[u8]) -> bool) -> bool {
        let is =
            |n: &[u8], want: &str| n.len() == want.len() && n.eq_ignore_ascii_case(want.as_bytes());
        self.0.iter().all(|(n, v)| {
            let kind: &[u8] = if is(n, ALLOW_METHODS) {
                b"m"
            } else if is(n, ALLOW_HEADERS) {
                b"h"
            } else if is(n, MAX_AGE) {
                b"a"
            } else {
                return true;
            };
            f(kind) && f(v)
        })
    }
}

/// A preflight response's allow lists ([`AllowLists::parse`] of its `headers`), remembered
/// by the lines they are read from ([`ListsKey`]): a server answers its preflights alike.
pub(crate) fn allow_lists(headers: &Headers) -> Rc<AllowLists> {
    let compute = || Rc::new(AllowLists::parse(headers));
    ALLOW_LISTS.with(|t| match t.try_borrow_mut() {
        Ok(mut t) => t.get(&ListsKey(headers), compute),
        Err(_) => compute(),
    })
}

/// [`author_headers`]'s key: every name, and the values of `Cache-Control` and `Pragma` (the
/// only values it reads).
struct AuthorKey<'a>(&'a [(&'a [u8], &'a [u8])]);

impl Key for AuthorKey<'_> {
    fn pieces(&self, f: &mut impl FnMut(&[u8]) -> bool) -> bool {
        self.0.iter().all(|(n, v)| {
            let reads_value =
                n.eq_ignore_ascii_case(b"cache-control") || n.eq_ignore_ascii_case(b"pragma");
            f(n) && (!reads_value || f(v))
        })
    }
}

/// What a set of header names tells, shared by the requests that send it: the positions of
/// its author headers ([`author_headers`]), and each browser's unsafe names among them
/// ([`judge_author_headers`]) by the values they read.
struct Authored {
    positions: Positions,
    /// Bit `j`: some browser has a value rule for the name of author header `j`
    /// ([`has_value_rule`]); `None` with more author headers than bits (judged each time).
    ruled: Option<u64>,
    /// The values of the ruled author headers (pieces as [`Table`] keeps them) and the
    /// answers for them; the last few sets of values seen, most recent last.
    judged: RefCell<ValueSets>,
}

/// Sets of values (pieces as [`Table`] keeps them) and their answers, most recent last.
type ValueSets = smallvec::SmallVec<[(Vec<u8>, Shared); 1]>;

/// Answers per browser and value encoding ([`slot_of`]), shared lists: a hit hands out the
/// list, not a copy of its strings.
type Answers = [Option<Names>; 6];

/// One set of values' answers, shared with the flows' hops that send them ([`HopJudged`]).
type Shared = Rc<RefCell<Answered>>;

/// What one request's names and values tell: each browser's judgement of its author headers,
/// and the hop's final unsafe names per preflight reading ([`HopJudged::finals`]).
#[derive(Default)]
struct Answered {
    judged: Answers,
    /// Per preflight reading (its key, as [`HopJudged::finals`] makes it), the final answers;
    /// the last few seen, most recent last.
    finals: smallvec::SmallVec<[(Vec<u8>, Finals); 1]>,
}

/// Preflight readings remembered per set of values.
const FINAL_SETS: usize = 4;

/// A sent hop's unsafe names as each browser announces them (the engine's `unsafe_names`), per
/// (browser, recorder, value encoding) ([`final_slot`]): a pure function of the request's
/// header names and read values ([`HopJudged`]) and its preflight's announced list, so shared
/// by every flow whose hop reads alike (a flow evaluated for three browsers and two
/// credentials readings asked them afresh: 5,600 instructions a flow on pl20).
pub(crate) type Finals = Rc<RefCell<[Option<Names>; FINAL_SLOTS]>>;

/// Browsers × recorders × value encodings.
const FINAL_SLOTS: usize = BROWSERS * BROWSERS * 2;
const BROWSERS: usize = crate::cors::ALL_BROWSERS.len();

/// The place of (`browser`, `recorder`, `enc`) in [`Finals`].
pub(crate) fn final_slot(browser: Browser, recorder: Browser, enc: ValueEncoding) -> usize {
    (browser as usize * BROWSERS + recorder as usize) * 2 + enc as usize
}

/// Sets of values remembered per set of names.
const VALUE_SETS: usize = 4;

fn slot_of(browser: Browser, enc: ValueEncoding) -> usize {
    browser as usize * 2 + enc as usize
}

/// The ruled author headers' values of one request.
struct ValuesKey<'a> {
    headers: &'a [(&'a [u8], &'a [u8])],
    positions: &'a [usize],
    ruled: u64,
}

impl Key for ValuesKey<'_> {
    fn pieces(&self, f: &mut impl FnMut(&[u8]) -> bool) -> bool {
        self.positions
            .iter()
            .enumerate()
            .filter(|(j, _)| self.ruled >> j & 1 == 1)
            .all(|(_, &i)| f(self.headers[i].1))
    }
}

impl Authored {
    fn new(headers: &[(&[u8], &[u8])]) -> Self {
        let positions = author_headers(headers);
        let ruled = (positions.len() <= 64).then(|| {
            positions.iter().enumerate().fold(0u64, |m, (j, &i)| {
                let name = headers[i].0;
                let any = crate::cors::ALL_BROWSERS
                    .iter()
                    .any(|&b| has_value_rule(b, name));
                m | u64::from(any) << j
            })
        });
        Self {
            positions,
            ruled,
            judged: RefCell::new(smallvec::SmallVec::new()),
        }
    }

    /// The answers remembered for the values of `headers` (a request with the names this was
    /// made for), made empty when new; `None` where they are not remembered (too many author
    /// headers, or values past [`MAX_KEY`]).
    fn answers(&self, headers: &[(&[u8], &[u8])]) -> Option<Shared> {
        let key = ValuesKey {
            headers,
            positions: &self.positions,
            ruled: self.ruled?,
        };
        let mut judged = self.judged.try_borrow_mut().ok()?;
        if let Some((_, shared)) = judged.iter().find(|(stored, _)| stored_is(stored, &key)) {
            return Some(shared.clone());
        }
        let mut len = 0;
        let short = key.pieces(&mut |p| {
            len += 4 + p.len();
            len <= MAX_KEY
        });
        if !short {
            return None;
        }
        if judged.len() == VALUE_SETS {
            judged.remove(0);
        }
        let mut stored = Vec::with_capacity(len);
        store(&mut stored, &key);
        let shared = Shared::default();
        judged.push((stored, shared.clone()));
        Some(shared)
    }
}

/// What one request's header names and values tell (a flow's hop keeps it for its browsers):
/// its author headers and the answers remembered for its values.
pub(crate) struct HopJudged {
    authored: Rc<Authored>,
    answers: Option<Shared>,
}

impl HopJudged {
    /// Looked up by the names ([`AuthorKey`]), then by the values of the author headers some
    /// browser has a value rule for.
    pub(crate) fn of(headers: &[(&[u8], &[u8])]) -> Self {
        let compute = || Rc::new(Authored::new(headers));
        let authored = AUTHORS.with(|t| match t.try_borrow_mut() {
            Ok(mut t) => t.get(&AuthorKey(headers), compute),
            Err(_) => compute(),
        });
        let answers = authored.answers(headers);
        Self { authored, answers }
    }

    /// `browser`'s unsafe names ([`judge_author_headers`]) where remembered.
    pub(crate) fn remembered(&self, browser: Browser, enc: ValueEncoding) -> Option<Names> {
        let answers = self.answers.as_ref()?.try_borrow().ok()?;
        answers.judged[slot_of(browser, enc)].clone()
    }

    /// `browser`'s unsafe names among `headers` (the request this was made for), remembered
    /// or judged now and remembered.
    pub(crate) fn judged(
        &self,
        browser: Browser,
        enc: ValueEncoding,
        headers: &[(&[u8], &[u8])],
    ) -> Names {
        if let Some(names) = self.remembered(browser, enc) {
            return names;
        }
        let names = Names::new(judge_author_headers(
            browser,
            headers,
            &self.authored.positions,
            enc,
        ));
        if let Some(mut answers) = self.answers.as_ref().and_then(|a| a.try_borrow_mut().ok()) {
            answers.judged[slot_of(browser, enc)] = Some(names.clone());
        }
        names
    }

    /// The final answers ([`Finals`]) of a sent hop with this request, by its preflight:
    /// `announced` is `None` without a recorded preflight, else its
    /// `Access-Control-Request-Headers` value as the engine reads it (`Headers::get_value`).
    /// `None` where the request's answers are not remembered, or the list is past [`MAX_KEY`].
    pub(crate) fn finals(&self, announced: Option<Option<&[u8]>>) -> Option<Finals> {
        let mut answered = self.answers.as_ref()?.try_borrow_mut().ok()?;
        let (tag, list): (u8, &[u8]) = match announced {
            None => (0, &[]),
            Some(None) => (1, &[]),
            Some(Some(list)) => (2, list),
        };
        if list.len() > MAX_KEY {
            return None;
        }
        let is = |k: &[u8]| k.split_first() == Some((&tag, list));
        if let Some((_, f)) = answered.finals.iter().find(|(k, _)| is(k)) {
            return Some(f.clone());
        }
        if answered.finals.len() == FINAL_SETS {
            answered.finals.remove(0);
        }
        let mut key = Vec::with_capacity(1 + list.len());
        key.push(tag);
        key.extend_from_slice(list);
        let finals = Finals::default();
        answered.finals.push((key, finals.clone()));
        Some(finals)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Names and values drawn from a small pool, so that lists repeat and collide in slots.
    fn header() -> impl Strategy<Value = (Vec<u8>, Vec<u8>)> {
        let names = prop::sample::select(vec![
            "Accept",
            "accept-language",
            "Content-Type",
            "cache-control",
            "Pragma",
            "X-Request-Id",
            "Range",
            "Cookie",
            "User-Agent",
            "Sec-Fetch-Mode",
            "pragmb",
            "Content-Language",
            "x-custom",
        ]);
        let values = prop::sample::select(vec![
            "no-cache",
            "max-age=0",
            "application/json",
            "text/plain;charset=UTF-8",
            "en-US,en;q=0.9",
            "bytes=0-",
            "caf\u{e9}",
            "",
            "a\"b",
            "0123456789012345678901234567890123456789012345678901234567890123456789\
             0123456789012345678901234567890123456789012345678901234567890123456789",
        ]);
        (names, values, prop::collection::vec(any::<u8>(), 0..3)).prop_map(|(n, v, extra)| {
            let mut v = v.as_bytes().to_vec();
            v.extend(extra.into_iter().filter(|b| *b > 0x20));
            (n.as_bytes().to_vec(), v)
        })
    }

    /// A one-piece key.
    struct One<'a>(&'a [u8]);

    impl Key for One<'_> {
        fn pieces(&self, f: &mut impl FnMut(&[u8]) -> bool) -> bool {
            f(self.0)
        }
    }

    /// A set keeps its two most recently used keys: two that share a set no longer drive each
    /// other out, and a third evicts the one used least recently. Each row: the key asked
    /// (an index into three keys of one set) and whether it was remembered.
    #[test]
    fn a_set_keeps_its_two_most_recent_keys() {
        let set = |k: &[u8]| {
            let mut written = Vec::new();
            write_key(&mut written, &One(k));
            set_of(hash_key(&written))
        };
        let keys: Vec<Vec<u8>> = (0..)
            .map(|i: u32| format!("key {i}").into_bytes())
            .filter(|k| set(k) == set(b"key 0"))
            .take(3)
            .collect();
        let mut table = Table::new();
        for (step, (k, remembered)) in [
            (0, false),
            (1, false),
            (0, true),
            (1, true),
            (0, true),
            (2, false),
            (0, true),
            (1, false),
            (2, false),
            (1, true),
        ]
        .into_iter()
        .enumerate()
        {
            let mut made = false;
            let answer = table.get(&One(&keys[k]), || {
                made = true;
                k
            });
            assert_eq!((answer, !made), (k, remembered), "step {step}");
        }
    }

    proptest! {
        /// Every answer, remembered or not, equals the judgement made afresh.
        #[test]
        fn the_memo_changes_no_judgement(
            lists in prop::collection::vec(prop::collection::vec(header(), 0..8), 1..40),
            long in any::<bool>(),
        ) {
            for list in &lists {
                let mut list = list.clone();
                if long {
                    // Past the key bound: a name without a value rule, and one with.
                    list.push((b"x-long".to_vec(), vec![b'a'; MAX_KEY]));
                    list.push((b"Accept".to_vec(), vec![b'a'; MAX_KEY]));
                }
                let headers: Vec<(&[u8], &[u8])> =
                    list.iter().map(|(n, v)| (&n[..], &v[..])).collect();
                let fresh = author_headers(&headers);
                let hop = HopJudged::of(&headers);
                prop_assert_eq!(&hop.authored.positions, &fresh);
                for b in crate::cors::ALL_BROWSERS {
                    for enc in [ValueEncoding::Latin1, ValueEncoding::Utf8] {
                        let want = judge_author_headers(b, &headers, &fresh, enc);
                        // Asked twice: the second answer is the remembered one.
                        prop_assert_eq!(&*hop.judged(b, enc, &headers), &want[..]);
                        prop_assert_eq!(
                            &*HopJudged::of(&headers).judged(b, enc, &headers),
                            &want[..]
                        );
                    }
                }
            }
        }
    }
}
