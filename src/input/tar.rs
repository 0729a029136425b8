//! Step 1a (archives): the captures or HAR in a tar archive, as captures are handed over from
//! hosts (`tar czf captures.tgz lb1/*.pcap*`), read as the archive streams by: every capture
//! member in archive order, joined as `cat` joins files (the capture reader reads on past each
//! file header, and a part out of time order is analysed as a capture of its own); or the
//! first HAR. Members are inputs by name ([`super::archive`]) or, unnamed, by a capture's magic;
//! members compressed on their own (`tcpdump -z gzip`'s rotated files) are passed on as they
//! are and decompressed as the next layer, so the archive's captures must be compressed alike.
//!
//! Each header is decoded by the `tar` crate's [`Header`] (octal and base-256 sizes, the
//! checksum, ustar prefixes) and pax records by its [`PaxExtensions`]; the walk over headers is
//! this module's: the crate's walker borrows the archive for each member (so it cannot sit
//! under a reader that owns the archive) and holds a pax or GNU long-name header whole, however
//! long it says it is. A cut archive gives every member byte before the cut, then the error.

use std::io::{self, BufRead, Read};
use std::sync::{Arc, Mutex};

use tar::{EntryType, Header, PaxExtensions};

use super::archive::{self, MemberKind};
use super::compressed::{Codec, Fault};
use crate::diag::{Diagnostics, WarnKind};

const BLOCK: usize = 512;
/// A pax or GNU long-name header read at most (a path is at most a few kilobytes).
const MAX_META: u64 = 1 << 20;
/// Where the ustar magic sits in a header (`ustar\0` POSIX, `ustar ` GNU).
const MAGIC_AT: usize = 257;

/// Whether a stream starting with `head` (at least [`super::compressed::HEAD_BYTES`] bytes, unless
/// shorter) is a tar archive: its first header's ustar magic. (Pre-POSIX archives, without it,
/// are not recognised.)
pub(crate) fn is_archive_start(head: &[u8]) -> bool {
    head.get(MAGIC_AT..MAGIC_AT + 5) == Some(b"ustar")
}

/// A tar archive's captures joined, or its HAR.
pub(crate) struct TarReader<R: BufRead> {
    inner: R,
    name: Arc<str>,
    warnings: Arc<Mutex<Diagnostics>>,
    /// Archive bytes consumed, and bytes handed on.
    consumed: u64,
    handed: u64,
    state: State,
    /// The first member read: its name, what it is and its compression.
    found: Option<(String, MemberKind, Option<Codec>)>,
    /// What a pax or GNU long-name header said of the next member.
    next_name: Option<String>,
    next_size: Option<u64>,
    /// Member names seen, for the error when none is an input (the first few).
    seen: Vec<String>,
}

enum State {
    Header,
    /// In a member's data: its first bytes (taken to tell what it is) still to hand on, the
    /// data bytes left after them, and whether it is handed on or passed over.
    Data {
        lead: Vec<u8>,
        left: u64,
        pad: u64,
        pass: bool,
    },
    /// The padding after a member's data.
    Pad(u64),
    Ended,
}

/// What a member's type makes of it.
enum Type {
    File,
    /// A pax header for the next member (`x`), or for all (`g`, not needed).
    Pax {
        global: bool,
    },
    /// A GNU long name (`L`) or long link name (`K`, not needed).
    LongName {
        link: bool,
    },
    Sparse,
    Other,
}

fn type_of(t: EntryType) -> Type {
    match t {
        EntryType::Regular | EntryType::Continuous => Type::File,
        EntryType::XHeader => Type::Pax { global: false },
        EntryType::XGlobalHeader => Type::Pax { global: true },
        EntryType::GNULongName => Type::LongName { link: false },
        EntryType::GNULongLink => Type::LongName { link: true },
        EntryType::GNUSparse => Type::Sparse,
        _ => Type::Other,
    }
}

/// The padding after `size` data bytes, to the next block.
fn padding(size: u64) -> u64 {
    (BLOCK as u64 - size % BLOCK as u64) % BLOCK as u64
}

impl<R: BufRead> TarReader<R> {
    pub(crate) fn new(inner: R, name: Arc<str>, warnings: Arc<Mutex<Diagnostics>>) -> Self {
        TarReader {
            inner,
            name,
            warnings,
            consumed: 0,
            handed: 0,
            state: State::Header,
            found: None,
            next_name: None,
            next_size: None,
            seen: Vec::new(),
        }
    }

    fn fault(&self, what: Fault) -> io::Error {
        Codec::Tar.error(what, self.consumed, self.handed)
    }

    fn warn(&self, kind: WarnKind, detail: impl FnOnce() -> String) {
        archive::warn(&self.warnings, &self.name, kind, detail);
    }

    /// Up to `n` archive bytes (fewer only at the input's end).
    fn take_upto(&mut self, n: usize) -> io::Result<Vec<u8>> {
        let b = archive::read_upto(&mut self.inner, n)?;
        self.consumed += b.len() as u64;
        Ok(b)
    }

    /// Passes over `n` archive bytes; `false` if the input ended first.
    fn skip(&mut self, mut n: u64) -> io::Result<bool> {
        while n > 0 {
            let avail = self.inner.fill_buf()?;
            if avail.is_empty() {
                return Ok(false);
            }
            let k = avail.len().min(usize::try_from(n).unwrap_or(usize::MAX));
            self.inner.consume(k);
            self.consumed += k as u64;
            n -= k as u64;
        }
        Ok(true)
    }

    /// The walk ends: an error if no member was read (what the archive holds instead).
    fn finish(&mut self) -> io::Result<()> {
        self.state = State::Ended;
        if self.found.is_some() {
            return Ok(());
        }
        let members = if self.seen.is_empty() {
            "none".to_owned()
        } else {
            self.seen.join(", ")
        };
        Err(self.fault(Fault::Contents(format!(
            "holds no HAR (`*.har`) or capture (`*.pcap`, `*.pcapng`, `*.cap`, or a capture's \
             first bytes); members: {members}"
        ))))
    }

    /// After the end blocks: bytes that are not the record's zero padding are garbage.
    fn check_tail(&mut self) -> io::Result<()> {
        loop {
            let avail = self.inner.fill_buf()?;
            if avail.is_empty() {
                return Ok(());
            }
            if let Some(i) = avail.iter().position(|b| *b != 0) {
                let at = self.consumed + i as u64;
                self.warn(WarnKind::TarTrailingGarbage, || {
                    format!("archive byte {at}: bytes after the archive's end ignored")
                });
                return Ok(());
            }
            let k = avail.len();
            self.inner.consume(k);
            self.consumed += k as u64;
        }
    }

    /// Reads the next header and decides what its member is for.
    fn next_member(&mut self) -> io::Result<()> {
        let at = self.consumed;
        let block = self.take_upto(BLOCK)?;
        if block.is_empty() {
            // Cut after a whole member (no end blocks): what was read stands.
            return self.finish();
        }
        if block.len() < BLOCK {
            return Err(self.fault(Fault::Cut));
        }
        if block.iter().all(|b| *b == 0) {
            self.finish()?;
            return self.check_tail();
        }
        let header = Header::from_byte_slice(&block);
        // The checksum: the header's bytes with its own field read as spaces.
        let sum: u32 = block[..148]
            .iter()
            .chain(&block[156..])
            .map(|b| u32::from(*b))
            .sum::<u32>()
            + 8 * u32::from(b' ');
        let size = header.entry_size();
        let (Ok(stored), Ok(size)) = (header.cksum(), size) else {
            return self.not_a_header(at);
        };
        if stored != sum {
            return self.not_a_header(at);
        }
        let size = self.next_size.take().unwrap_or(size);
        let name = self
            .next_name
            .take()
            .unwrap_or_else(|| String::from_utf8_lossy(&header.path_bytes()).into_owned());
        match type_of(header.entry_type()) {
            Type::Pax { global } => {
                let Some(data) = self.meta(&name, size)? else {
                    return Ok(());
                };
                if !global {
                    for ext in PaxExtensions::new(&data).flatten() {
                        match ext.key() {
                            Ok("path") => {
                                self.next_name =
                                    Some(String::from_utf8_lossy(ext.value_bytes()).into_owned())
                            }
                            Ok("size") => {
                                self.next_size = ext.value().ok().and_then(|v| v.parse().ok())
                            }
                            _ => {}
                        }
                    }
                }
                Ok(())
            }
            Type::LongName { link } => {
                let Some(data) = self.meta(&name, size)? else {
                    return Ok(());
                };
                if !link {
                    let end = data.iter().position(|b| *b == 0).unwrap_or(data.len());
                    self.next_name = Some(String::from_utf8_lossy(&data[..end]).into_owned());
                }
                Ok(())
            }
            Type::Sparse => {
                if archive::kind_of_name(&name).is_some() {
                    self.warn(WarnKind::TarMemberSkipped, || {
                        format!("member {name}: a GNU sparse file (not read)")
                    });
                }
                self.pass_over(size);
                Ok(())
            }
            Type::Other => {
                self.pass_over(size);
                Ok(())
            }
            Type::File => self.file(name, size),
        }
    }

    /// A header's bytes that are no header: the end of what can be read.
    fn not_a_header(&mut self, at: u64) -> io::Result<()> {
        if self.found.is_none() {
            return Err(self.fault(Fault::Damaged(format!(
                "no member header (its checksum does not match) at archive byte {at}"
            ))));
        }
        self.warn(WarnKind::TarTrailingGarbage, || {
            format!("archive byte {at}: not a member header; the rest of the archive is ignored")
        });
        self.finish()
    }

    fn pass_over(&mut self, size: u64) {
        self.state = State::Data {
            lead: Vec::new(),
            left: size,
            pad: padding(size),
            pass: false,
        };
    }

    /// A pax or long-name header's data (`None`, passed over, when longer than [`MAX_META`]).
    fn meta(&mut self, name: &str, size: u64) -> io::Result<Option<Vec<u8>>> {
        if size > MAX_META {
            self.warn(WarnKind::TarMemberSkipped, || {
                format!("header {name}: {size} bytes long (more than {MAX_META}); passed over")
            });
            self.pass_over(size);
            return Ok(None);
        }
        // `size` is at most MAX_META.
        let data = self.take_upto(size as usize)?;
        if (data.len() as u64) < size {
            return Err(self.fault(Fault::Cut));
        }
        self.state = State::Pad(padding(size));
        Ok(Some(data))
    }

    /// A regular file: read (handed on) if it is an input that fits with the first one.
    fn file(&mut self, name: String, size: u64) -> io::Result<()> {
        if self.seen.len() < 8 {
            self.seen.push(name.clone());
        }
        if name.ends_with('/') || archive::is_metadata(&name) {
            self.pass_over(size);
            return Ok(());
        }
        // Its first bytes say whether it is compressed, and a capture named otherwise.
        let lead = self.take_upto(usize::try_from(size.min(4)).unwrap_or(4))?;
        if (lead.len() as u64) < size.min(4) {
            return Err(self.fault(Fault::Cut));
        }
        let codec = Codec::of(&lead);
        let by_bytes = (codec.is_none()
            && super::detect(&lead).is_ok_and(|f| f != super::Format::Har))
        .then_some((MemberKind::Capture, None));
        let kind = archive::kind_of_name(&name)
            .map(|(kind, _)| (kind, codec))
            .or(by_bytes);
        let pass = match (&self.found, kind) {
            (_, None) | (_, Some((_, Some(Codec::Zip | Codec::Tar)))) => false,
            (None, Some((kind, codec))) => {
                self.found = Some((name.clone(), kind, codec));
                true
            }
            (Some((_, MemberKind::Capture, first_codec)), Some((MemberKind::Capture, codec)))
                if *first_codec == codec =>
            {
                true
            }
            (Some((first, first_kind, first_codec)), this) => {
                let why = archive::not_read(&name, first, (*first_kind, *first_codec), this);
                self.warn(WarnKind::TarMemberSkipped, || why);
                false
            }
        };
        let left = size - lead.len() as u64;
        self.state = State::Data {
            lead: if pass { lead } else { Vec::new() },
            left,
            pad: padding(size),
            pass,
        };
        Ok(())
    }
}

impl<R: BufRead> Read for TarReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            match &mut self.state {
                State::Ended => return Ok(0),
                State::Header => {
                    if let Err(e) = self.next_member() {
                        self.state = State::Ended;
                        return Err(e);
                    }
                }
                State::Pad(n) => {
                    let n = *n;
                    // Padding cut off after a whole member: what was read stands.
                    self.state = if self.skip(n)? {
                        State::Header
                    } else {
                        State::Ended
                    };
                    if matches!(self.state, State::Ended) {
                        self.finish()?;
                    }
                }
                State::Data {
                    lead,
                    left,
                    pad,
                    pass,
                } => {
                    if !lead.is_empty() {
                        let n = lead.len().min(buf.len());
                        buf[..n].copy_from_slice(&lead[..n]);
                        lead.drain(..n);
                        self.handed += n as u64;
                        return Ok(n);
                    }
                    if *left == 0 {
                        self.state = State::Pad(*pad);
                        continue;
                    }
                    if !*pass {
                        let n = *left;
                        if !self.skip(n)? {
                            self.state = State::Ended;
                            return Err(self.fault(Fault::Cut));
                        }
                        if let State::Data { left, .. } = &mut self.state {
                            *left = 0;
                        }
                        continue;
                    }
                    let want = buf.len().min(usize::try_from(*left).unwrap_or(usize::MAX));
                    let n = match self.inner.read(&mut buf[..want]) {
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                        other => other?,
                    };
                    if n == 0 {
                        self.state = State::Ended;
                        return Err(self.fault(Fault::Cut));
                    }
                    *left -= n as u64;
                    self.consumed += n as u64;
                    self.handed += n as u64;
                    return Ok(n);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::compressed::decode_all;
    use proptest::prelude::*;

    const PCAP_A: &[u8] = b"\xd4\xc3\xb2\xa1 first capture's bytes";
    const PCAP_B: &[u8] = b"\xd4\xc3\xb2\xa1 second capture's bytes";

    /// An archive written by the `tar` crate: `(name, bytes)` members in order, GNU headers
    /// (long names as `L` members) or ustar ones (long names as pax `path` records).
    fn archive(members: &[(&str, &[u8])], gnu: bool) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        for (name, data) in members {
            let mut h = if gnu {
                tar::Header::new_gnu()
            } else {
                tar::Header::new_ustar()
            };
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            if name.ends_with('/') {
                h.set_entry_type(tar::EntryType::Directory);
            }
            if !gnu && name.len() > 100 {
                b.append_pax_extensions([("path", name.as_bytes())])
                    .expect("a pax header");
                h.set_path("short-name").expect("a path");
                h.set_cksum();
                b.append(&h, *data).expect("a member");
            } else {
                b.append_data(&mut h, name, *data).expect("a member");
            }
        }
        b.into_inner().expect("an archive")
    }

    fn read(bytes: &[u8]) -> (Vec<u8>, Option<DecodeError>, Vec<String>) {
        let (out, err, d) = decode_all(Codec::Tar, bytes, 4096, 1000);
        let kinds = d.counts().map(|(k, _)| k.id().to_owned()).collect();
        (out, err, kinds)
    }

    use crate::input::compressed::DecodeError;

    /// Table: an archive's members and what is read of them (the bytes, the warnings, or the
    /// error's words).
    #[test]
    fn members_read_and_skipped() {
        let long = format!("{}/dump.pcap1", "d".repeat(120));
        let gz = [0x1f, 0x8b, 8, 0, 1, 2, 3];
        /// What, the members, the bytes read (or the error's words), the warnings.
        type Case<'a> = (
            &'a str,
            Vec<(&'a str, &'a [u8])>,
            Result<Vec<u8>, &'a str>,
            &'a [&'a str],
        );
        let cases: Vec<Case> = vec![
            (
                "one capture",
                vec![("a.pcap", PCAP_A)],
                Ok(PCAP_A.to_vec()),
                &[],
            ),
            (
                "rotated captures joined in archive order, beside other files",
                vec![
                    ("lb1/", b""),
                    ("lb1/README", b"notes"),
                    ("lb1/dump.pcap", PCAP_A),
                    ("lb1/._dump.pcap1", b"\xd4\xc3\xb2\xa1 a macOS fork"),
                    ("lb1/dump.pcap1", PCAP_B),
                ],
                Ok([PCAP_A, PCAP_B].concat()),
                &[],
            ),
            (
                "a capture told by its bytes, not its name",
                vec![("capture-2026-12-04", PCAP_A)],
                Ok(PCAP_A.to_vec()),
                &[],
            ),
            (
                "a HAR, then a capture and a second HAR not read",
                vec![("s.har", b"{}"), ("a.pcap", PCAP_A), ("t.har", b"{}")],
                Ok(b"{}".to_vec()),
                &["tar-member-skipped"],
            ),
            (
                "captures compressed otherwise than the first not read",
                vec![("a.pcap.gz", &gz), ("b.pcap", PCAP_B), ("c.pcap.gz", &gz)],
                Ok([gz, gz].concat()),
                &["tar-member-skipped"],
            ),
            (
                "nothing to read",
                vec![("README", b"notes"), ("x.zip", b"PK\x03\x04")],
                Err("holds no HAR"),
                &[],
            ),
            ("empty", vec![], Err("members: none"), &[]),
        ];
        for gnu in [true, false] {
            for (what, members, want, warns) in &cases {
                let (out, err, kinds) = read(&archive(members, gnu));
                match want {
                    Ok(bytes) => {
                        assert!(err.is_none(), "{what}: {err:?}");
                        assert_eq!(&out, bytes, "{what}");
                    }
                    Err(words) => {
                        let e = err.map(|e| e.to_string()).unwrap_or_default();
                        assert!(e.contains(words), "{what}: {e}");
                    }
                }
                assert_eq!(kinds, *warns, "{what}");
            }
            // A long name (GNU `L` member, or pax `path`) names the member after it.
            let (out, err, _) = read(&archive(&[(&long, PCAP_A)], gnu));
            assert!(err.is_none(), "{err:?}");
            assert_eq!(out, PCAP_A, "gnu {gnu}");
        }
    }

    #[test]
    fn garbage_after_the_end_or_a_broken_header_is_warned() {
        let whole = archive(&[("a.pcap", PCAP_A)], true);
        let mut tail = whole.clone();
        tail.extend_from_slice(b"left over");
        let (out, err, kinds) = read(&tail);
        assert!(err.is_none(), "{err:?}");
        assert_eq!(
            (out.as_slice(), kinds),
            (PCAP_A, vec!["tar-trailing-garbage".to_owned()])
        );
        // The second member's header damaged (its checksum no longer matches).
        let mut two = archive(&[("a.pcap", PCAP_A), ("b.pcap", PCAP_B)], true);
        two[1024 + 10] ^= 0x55;
        let (out, err, kinds) = read(&two);
        assert!(err.is_none(), "{err:?}");
        assert_eq!(
            (out.as_slice(), kinds),
            (PCAP_A, vec!["tar-trailing-garbage".to_owned()])
        );
        // The first header damaged: nothing is read.
        let mut first = whole;
        first[10] ^= 0x55;
        let (out, err, _) = read(&first);
        assert!(out.is_empty());
        assert!(err.is_some_and(|e| e.to_string().contains("checksum")));
    }

    /// A pax header longer than its bound is passed over, and the member read under its own
    /// name.
    #[test]
    fn an_overlong_pax_header_is_passed_over() {
        let mut b = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_ustar();
        let big = vec![b'x'; (MAX_META + 1) as usize];
        h.set_entry_type(tar::EntryType::XHeader);
        h.set_size(big.len() as u64);
        h.set_path("PaxHeader").unwrap();
        h.set_cksum();
        b.append(&h, big.as_slice()).unwrap();
        let mut h = tar::Header::new_ustar();
        h.set_size(PCAP_A.len() as u64);
        b.append_data(&mut h, "a.pcap", PCAP_A).unwrap();
        let (out, err, kinds) = read(&b.into_inner().unwrap());
        assert!(err.is_none(), "{err:?}");
        assert_eq!(
            (out.as_slice(), kinds),
            (PCAP_A, vec!["tar-member-skipped".to_owned()])
        );
    }

    /// An archive cut at any byte gives a prefix of what the whole one gives, then an error
    /// (or nothing more where the cut falls between members).
    #[test]
    fn a_cut_archive_gives_a_prefix() {
        let whole = archive(
            &[("x", b"skipped"), ("a.pcap", PCAP_A), ("b.pcap", PCAP_B)],
            true,
        );
        let (all, err, _) = read(&whole);
        assert!(err.is_none());
        for cut in 263..whole.len() {
            let (out, err, _) = read(&whole[..cut]);
            assert!(all.starts_with(&out), "cut at {cut}");
            if out.len() < all.len() && err.is_none() {
                // Only a cut between members (at a header, or in a member's padding) ends
                // quietly: what was read is whole members.
                assert!([0, PCAP_A.len()].contains(&out.len()), "cut at {cut}");
            }
            if let Some(e) = err {
                assert_eq!(e.codec, Codec::Tar);
            }
        }
    }

    proptest! {
        /// Bytes overwritten anywhere: no panic, and at most the members' own bytes come out
        /// (a damaged header ends the walk; a damaged size can only shorten or lengthen a
        /// member into the archive's other bytes).
        #[test]
        fn damaged_archives_never_panic(at in 0usize..3072, with in any::<u8>(), len in 1usize..64) {
            let mut a = archive(&[("a.pcap", PCAP_A), ("b.pcap", PCAP_B)], true);
            let end = (at + len).min(a.len());
            for b in &mut a[at.min(end)..end] {
                *b = with;
            }
            let (out, _, _) = read(&a);
            prop_assert!(out.len() <= a.len());
        }
    }
}
