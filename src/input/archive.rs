//! Step 1a (archives, shared): which members of an archive (zip, tar) are inputs, told from
//! their names: a HAR, or a capture as capture tools name them (also `tcpdump -C`'s rotated
//! `name.pcap1`, `name.pcap2`, …), each maybe compressed on its own (`tcpdump -z gzip`'s
//! `name.pcap1.gz`); and which are an archiver's metadata, never read.

use std::io::{self, Read};
use std::sync::Mutex;

use super::compressed::Codec;
use crate::diag::{Diagnostics, WarnKind};

/// What an archive member is read as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum MemberKind {
    Har,
    Capture,
}

/// A member named as an input: what it is, and the compression its name says it is in.
pub(crate) fn kind_of_name(name: &str) -> Option<(MemberKind, Option<Codec>)> {
    let base = name.rsplit('/').next().unwrap_or(name).to_ascii_lowercase();
    let (stem, codec) = match Codec::of_suffix(&base) {
        Some((codec, suffix)) => (&base[..base.len() - suffix.len()], Some(codec)),
        None => (base.as_str(), None),
    };
    if stem.ends_with(".har") {
        return Some((MemberKind::Har, codec));
    }
    // A rotated file's number follows its extension.
    let unnumbered = stem.trim_end_matches(|c: char| c.is_ascii_digit());
    [".pcap", ".pcapng", ".cap"]
        .iter()
        .any(|ext| unnumbered.ends_with(ext))
        .then_some((MemberKind::Capture, codec))
}

/// A member after the first input read whose bytes are not read, and why, for the warning:
/// `first` and what it is, and what this one is (`None`: told by name only, in a zip).
pub(crate) fn not_read(
    name: &str,
    first: &str,
    first_is: (MemberKind, Option<Codec>),
    this: Option<(MemberKind, Option<Codec>)>,
) -> String {
    match (first_is, this) {
        ((MemberKind::Capture, that), Some((MemberKind::Capture, this))) if this != that => {
            let how = |c: Option<Codec>| c.map_or("not compressed", Codec::name);
            format!(
                "member {name}: {}, the first capture ({first}) {}; the archive's captures are \
                 read joined, so only those compressed alike are read (extract the archive to \
                 analyse each file)",
                how(this),
                how(that)
            )
        }
        _ => format!(
            "member {name}: only {first} is read (extract the archive to analyse each file)"
        ),
    }
}

/// Up to `n` bytes of `r` (fewer only where it ends): a header, read whole.
pub(crate) fn read_upto(r: &mut impl Read, n: usize) -> io::Result<Vec<u8>> {
    let mut b = Vec::with_capacity(n);
    r.take(n as u64).read_to_end(&mut b)?;
    Ok(b)
}

/// Warns `kind` about the archive `name` (the input's warnings, for its report).
pub(crate) fn warn(
    warnings: &Mutex<Diagnostics>,
    name: &str,
    kind: WarnKind,
    detail: impl FnOnce() -> String,
) {
    if let Ok(mut w) = warnings.lock() {
        w.warn(kind, || format!("{name}: {}", detail()));
    }
}

/// What archivers add beside the files: macOS's resource forks (`__MACOSX/`, `._name`).
pub(crate) fn is_metadata(name: &str) -> bool {
    let base = name.rsplit('/').next().unwrap_or(name);
    name.starts_with("__MACOSX/") || base.starts_with("._")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Table: a member's name and what it is read as.
    #[test]
    fn names_say_what_a_member_is() {
        use MemberKind::{Capture, Har};
        type Case = (&'static str, Option<(MemberKind, Option<Codec>)>);
        let cases: &[Case] = &[
            ("session.har", Some((Har, None))),
            ("exports/Session.HAR", Some((Har, None))),
            ("session.har.gz", Some((Har, Some(Codec::Gzip)))),
            ("edge.pcap", Some((Capture, None))),
            ("edge.pcapng", Some((Capture, None))),
            ("old.cap", Some((Capture, None))),
            // tcpdump -C: the first file has no number, the next ones do.
            ("lb1/dump.pcap1", Some((Capture, None))),
            ("lb1/dump.pcap12.gz", Some((Capture, Some(Codec::Gzip)))),
            ("dump.pcapng.zst", Some((Capture, Some(Codec::Zstd)))),
            ("dump.pcap.lz4", Some((Capture, Some(Codec::Lz4)))),
            ("README.txt", None),
            ("dump.pcap.txt", None),
            ("har", None),
            ("notes.har.json", None),
            ("dump.gz", None),
            ("dir.pcap/", None),
        ];
        for (name, want) in cases {
            assert_eq!(kind_of_name(name), *want, "{name}");
        }
    }

    #[test]
    fn archiver_metadata_is_known() {
        assert!(is_metadata("__MACOSX/x/._a.har"));
        assert!(is_metadata("x/._a.pcap"));
        assert!(!is_metadata("x/a.pcap"));
    }
}
