//! Step 3c (TLS key material): the NSS key log (`SSLKEYLOGFILE`, as Chromium, Firefox and curl
//! write it) and pcapng Decryption Secrets Blocks, indexed by the ClientHello random. Secrets
//! are never printed: [`Secret`]'s `Debug` shows only its length.

use std::collections::HashMap;
use std::sync::RwLock;

/// A secret (TLS 1.2 master secret or a TLS 1.3 traffic secret): 16 to [`SECRET_MAX`] bytes,
/// held inline (a session's secrets are copied out of the log for each connection).
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Secret {
    bytes: [u8; SECRET_MAX],
    len: u8,
}

/// The longest secret kept.
const SECRET_MAX: usize = 64;

impl Secret {
    /// `None` for a secret shorter than 16 bytes or longer than [`SECRET_MAX`].
    fn new(hex_text: &str) -> Option<Secret> {
        let n = hex_text.len() / 2;
        let mut bytes = [0u8; SECRET_MAX];
        (16..=SECRET_MAX).contains(&n).then_some(())?;
        hex_into(hex_text, bytes.get_mut(..n)?).then_some(Secret {
            bytes,
            len: n as u8,
        })
    }

    fn as_slice(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Secret({} bytes)", self.len)
    }
}

/// Which secret of a session a key log line gives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Slot {
    /// TLS 1.2 (and earlier): the master secret.
    Master,
    ClientEarly,
    ClientHandshake,
    ServerHandshake,
    ClientApp,
    ServerApp,
}

/// Key log labels we use, with the slot each fills. Other labels (`EXPORTER_SECRET`, …) are
/// valid and skipped.
const LABELS: [(&str, Slot); 6] = [
    ("CLIENT_RANDOM", Slot::Master),
    ("CLIENT_EARLY_TRAFFIC_SECRET", Slot::ClientEarly),
    ("CLIENT_HANDSHAKE_TRAFFIC_SECRET", Slot::ClientHandshake),
    ("SERVER_HANDSHAKE_TRAFFIC_SECRET", Slot::ServerHandshake),
    ("CLIENT_TRAFFIC_SECRET_0", Slot::ClientApp),
    ("SERVER_TRAFFIC_SECRET_0", Slot::ServerApp),
];
const SLOTS: usize = LABELS.len();

/// The secrets known for one ClientHello random.
#[derive(Clone, Debug, Default)]
pub(crate) struct Secrets([Option<Secret>; SLOTS]);

impl Secrets {
    pub(crate) fn get(&self, slot: Slot) -> Option<&[u8]> {
        let i = LABELS.iter().position(|(_, s)| *s == slot)?;
        self.0.get(i)?.as_ref().map(Secret::as_slice)
    }
}

/// pcapng DSB secrets type for a TLS key log (`TLSK`).
pub(crate) const DSB_TLS_KEY_LOG: u32 = 0x544c_534b;

/// Lines of a key log that were not used, by reason.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LoadReport {
    pub used: usize,
    pub malformed: usize,
}

/// Every secret known, shared by the reader (which adds DSB contents as it meets them) and the
/// connection tables (which look sessions up when their handshake is seen).
#[derive(Debug, Default)]
pub struct KeyLog {
    by_random: RwLock<HashMap<[u8; 32], Secrets>>,
}

#[cfg(test)]
fn hex(s: &str) -> Option<Vec<u8>> {
    let mut out = vec![0u8; s.len() / 2];
    hex_into(s, &mut out).then_some(out)
}

/// Hex digit pairs into `out`, which must be exactly half as long as `s`; whether they all
/// were digits. A table and a sized buffer: collecting `to_digit` pairs into an `Option<Vec>`
/// grew the buffer byte by byte (two secrets a connection, a visible share of a TLS capture's
/// run); the caller's buffer is on its stack.
fn hex_into(s: &str, out: &mut [u8]) -> bool {
    if s.len() != 2 * out.len() {
        return false;
    }
    for (o, p) in out.iter_mut().zip(s.as_bytes().chunks_exact(2)) {
        let (hi, lo) = (HEX_DIGITS[usize::from(p[0])], HEX_DIGITS[usize::from(p[1])]);
        if (hi | lo) > 0x0f {
            return false;
        }
        *o = hi << 4 | lo;
    }
    true
}

/// Each byte's hex digit value; 0xff for the bytes that are not hex digits.
const HEX_DIGITS: [u8; 256] = {
    let mut t = [0xffu8; 256];
    let mut i = 0;
    while i < 10 {
        t[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        t[b'a' as usize + i] = 10 + i as u8;
        t[b'A' as usize + i] = 10 + i as u8;
        i += 1;
    }
    t
};

/// Test vectors as printed in the RFCs: hex digits with whitespace between groups.
#[cfg(test)]
pub(crate) fn unhex(s: &str) -> Vec<u8> {
    let s: String = s.split_whitespace().collect();
    // Test data, written by hand: a bad vector should stop the test at once.
    hex(&s).expect("hex digits in pairs")
}

/// What a key log line gives.
#[derive(Debug, PartialEq, Eq)]
enum Line {
    /// A comment, a blank line, or a label we do not use.
    Skip,
    Malformed,
    /// The slot (index in [`LABELS`]) of this ClientHello random's secret.
    Use(usize, [u8; 32], Secret),
}

/// A line as key logs write it — a label we use, one space, the random's 64 hex digits, one
/// space, the secret's hex digits, nothing else — read by position; `None` for any other
/// line. [`any_line`] reads such a line the same (hex digits hold no whitespace, so its split
/// finds the same three fields), at about five times the instructions.
fn usual_line(line: &str) -> Option<(usize, [u8; 32], Secret)> {
    let b = line.as_bytes();
    let sp = memchr::memchr(b' ', b.get(..b.len().min(40))?)?;
    let i = LABELS.iter().position(|(l, _)| l.as_bytes() == &b[..sp])?;
    let rest = line.get(sp + 1..)?;
    (rest.as_bytes().get(64) == Some(&b' ')).then_some(())?;
    let mut random = [0u8; 32];
    hex_into(rest.get(..64)?, &mut random).then_some(())?;
    Some((i, random, Secret::new(rest.get(65..)?)?))
}

/// Any key log line: `LABEL <64 hex> <hex>` with a label we use, whitespace-separated and
/// trimmed; comments and blank lines are skipped, as are other labels.
fn any_line(line: &str) -> Line {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return Line::Skip;
    }
    let mut parts = line.split_ascii_whitespace();
    let (Some(label), Some(random), Some(secret), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Line::Malformed;
    };
    let Some(i) = LABELS.iter().position(|(l, _)| *l == label) else {
        return Line::Skip;
    };
    let mut r = [0u8; 32];
    let random = hex_into(random, &mut r).then_some(r);
    match (random, Secret::new(secret)) {
        (Some(random), Some(secret)) => Line::Use(i, random, secret),
        _ => Line::Malformed,
    }
}

impl KeyLog {
    /// Adds the lines of an NSS key log. Lines that are not `LABEL <64 hex> <hex>` with a
    /// label we use are skipped; comments and blank lines are ignored; the malformed ones are
    /// counted.
    pub fn add_text(&self, text: &str) -> LoadReport {
        let mut report = LoadReport::default();
        let Ok(mut map) = self.by_random.write() else {
            return report;
        };
        for line in text.lines() {
            match usual_line(line).map_or_else(|| any_line(line), |(i, r, s)| Line::Use(i, r, s)) {
                Line::Skip => {}
                Line::Malformed => report.malformed += 1,
                Line::Use(i, random, secret) => {
                    if let Some(slot) = map.entry(random).or_default().0.get_mut(i) {
                        *slot = Some(secret);
                        report.used += 1;
                    }
                }
            }
        }
        report
    }

    /// Adds a pcapng Decryption Secrets Block: only TLS key logs are used.
    pub(crate) fn add_dsb(&self, secrets_type: u32, data: &[u8]) -> LoadReport {
        if secrets_type != DSB_TLS_KEY_LOG {
            return LoadReport::default();
        }
        self.add_bytes(data)
    }

    /// Adds a key log file's bytes ([`KeyLog::add_text`] of their lossy text): checked as
    /// UTF-8 first, which a key log nearly always is (the lossy conversion's chunked scan
    /// cost 5.8 M instructions on an 826 KB log, the check about a tenth of that).
    pub fn add_bytes(&self, data: &[u8]) -> LoadReport {
        match std::str::from_utf8(data) {
            Ok(text) => self.add_text(text),
            Err(_) => self.add_text(&String::from_utf8_lossy(data)),
        }
    }

    /// The secrets for a ClientHello random.
    pub(crate) fn lookup(&self, client_random: &[u8; 32]) -> Option<Secrets> {
        self.by_random.read().ok()?.get(client_random).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// A line read by position gives what the general split gives it: lines near the
        /// usual shape, with the usual labels, hex digits, spaces, tabs, `\r` and other bytes.
        #[test]
        fn usual_lines_read_as_any_line(
            label in proptest::sample::select(
                vec!["CLIENT_RANDOM", "SERVER_TRAFFIC_SECRET_0", "EXPORTER_SECRET", "#"],
            ),
            // Empty a third of the time: about one case in thirty is a usual line.
            parts in proptest::collection::vec(
                proptest::sample::select(vec!["0", "a", "F", "g", " ", "\t", "\r", "é", "\u{a0}"]),
                0..3,
            ),
            random_len in proptest::sample::select(vec![64usize, 64, 64, 63, 65]),
            secret_len in proptest::sample::select(vec![30usize, 32, 64, 96, 128, 130]),
            seps in proptest::sample::select(
                vec![(" ", " "), (" ", " "), ("\t", " "), (" ", "  ")],
            ),
            at in 0usize..200,
        ) {
            let hex = |n: usize| "0123456789abcdef".chars().cycle().take(n).collect::<String>();
            let (random, secret) = (hex(random_len), hex(secret_len));
            let mut line = format!("{label}{}{random}{}{secret}", seps.0, seps.1);
            // Odd bytes spliced in at one place (at a character boundary).
            let mut cut = at.min(line.len());
            while !line.is_char_boundary(cut) {
                cut -= 1;
            }
            line.insert_str(cut, &parts.concat());
            if let Some(usual) = usual_line(&line) {
                proptest::prop_assert_eq!(Line::Use(usual.0, usual.1, usual.2), any_line(&line));
            }
        }
    }

    /// A file's bytes load as their lossy text: valid UTF-8 or not.
    #[test]
    fn bytes_load_as_their_lossy_text() {
        let good = format!("CLIENT_RANDOM {} {}", "ab".repeat(32), "cd".repeat(48));
        for bytes in [
            format!("{good}\n").into_bytes(),
            [good.as_bytes(), b"\n\xff\xfe bad line\n", good.as_bytes()].concat(),
        ] {
            let (a, b) = (KeyLog::default(), KeyLog::default());
            let text = String::from_utf8_lossy(&bytes);
            assert_eq!(a.add_bytes(&bytes), b.add_text(&text));
            let master = |k: &KeyLog| {
                k.lookup(&[0xab; 32])
                    .and_then(|s| s.get(Slot::Master).map(<[u8]>::to_vec))
            };
            assert_eq!(master(&a), master(&b));
            assert_eq!(master(&a), Some(vec![0xcd; 48]));
        }
    }

    /// The usual line is read by position, and its fields are the split's.
    #[test]
    fn usual_line_is_read_by_position() {
        let line = format!(
            "CLIENT_TRAFFIC_SECRET_0 {} {}",
            "ab".repeat(32),
            "cd".repeat(32)
        );
        let got = usual_line(&line).expect("usual shape");
        assert_eq!(got.0, 4);
        assert_eq!(Line::Use(got.0, got.1, got.2), any_line(&line));
        assert!(usual_line(&format!(" {line}")).is_none());
        assert!(usual_line(&format!("{line} ")).is_none());
    }

    #[test]
    fn hex_digits_in_pairs() {
        let cases: &[(&str, Option<&[u8]>)] = &[
            ("", Some(&[])),
            ("00ff", Some(&[0, 255])),
            ("aBcD", Some(&[0xab, 0xcd])),
            ("abc", None),
            ("0g", None),
            ("+1", None),
        ];
        for (text, want) in cases {
            assert_eq!(hex(text).as_deref(), *want, "{text}");
        }
    }

    #[test]
    fn parses_labels_skips_others_counts_malformed() {
        let r1 = "11".repeat(32);
        let text = format!(
            "# comment\n\nCLIENT_RANDOM {r1} {m}\nEXPORTER_SECRET {r1} {m}\n\
             SERVER_TRAFFIC_SECRET_0 {r1} {s}\nCLIENT_RANDOM zz {m}\nCLIENT_RANDOM {r1}\n",
            m = "ab".repeat(48),
            s = "cd".repeat(32)
        );
        let k = KeyLog::default();
        let rep = k.add_text(&text);
        assert_eq!(
            rep,
            LoadReport {
                used: 2,
                malformed: 2
            }
        );
        let s = k.lookup(&[0x11; 32]).expect("session");
        assert_eq!(s.get(Slot::Master), Some(&[0xab; 48][..]));
        assert_eq!(s.get(Slot::ServerApp), Some(&[0xcd; 32][..]));
        assert_eq!(s.get(Slot::ClientApp), None);
        assert!(k.lookup(&[0x12; 32]).is_none());
        // Never printed.
        assert!(!format!("{s:?}").contains("ab"));
    }

    #[test]
    fn dsb_of_another_type_is_ignored() {
        let k = KeyLog::default();
        let line = format!("CLIENT_RANDOM {} {}", "11".repeat(32), "ab".repeat(48));
        assert_eq!(k.add_dsb(0x1234, line.as_bytes()).used, 0);
        assert_eq!(k.add_dsb(DSB_TLS_KEY_LOG, line.as_bytes()).used, 1);
    }
}
