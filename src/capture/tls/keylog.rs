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
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let mut parts = line.split_ascii_whitespace();
            let (Some(label), Some(random), Some(secret), None) =
                (parts.next(), parts.next(), parts.next(), parts.next())
            else {
                report.malformed += 1;
                continue;
            };
            let Some(i) = LABELS.iter().position(|(l, _)| *l == label) else {
                continue;
            };
            let mut r = [0u8; 32];
            let random = hex_into(random, &mut r).then_some(r);
            let secret = Secret::new(secret);
            let (Some(random), Some(secret)) = (random, secret) else {
                report.malformed += 1;
                continue;
            };
            if let Some(slot) = map.entry(random).or_default().0.get_mut(i) {
                *slot = Some(secret);
                report.used += 1;
            }
        }
        report
    }

    /// Adds a pcapng Decryption Secrets Block: only TLS key logs are used.
    pub(crate) fn add_dsb(&self, secrets_type: u32, data: &[u8]) -> LoadReport {
        if secrets_type != DSB_TLS_KEY_LOG {
            return LoadReport::default();
        }
        self.add_text(&String::from_utf8_lossy(data))
    }

    /// The secrets for a ClientHello random.
    pub(crate) fn lookup(&self, client_random: &[u8; 32]) -> Option<Secrets> {
        self.by_random.read().ok()?.get(client_random).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
