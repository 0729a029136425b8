//! Rotated captures in a tar archive written by the `tar` crate, damaged, through the input
//! layer (`input::from_reader`: `input::tar`'s walk over headers, then detection). The first
//! byte picks the mode: bit 0, GNU headers or ustar ones; bit 1, the members' directory name
//! long (over 100 bytes: a GNU long-name member, or a pax `path` record); bits 2-3: the archive
//! cut (at (k + 1) / 17 of its length, k = bits 4-7), a byte flipped (the k-th from the end),
//! garbage appended, or left whole. A text member comes first, as beside real captures.
//!
//! Oracle: what the input layer reads from the archive is a prefix of the two capture members
//! joined, all of it when the archive is whole or only garbage was appended (a flipped byte:
//! no panic).
#![no_main]

#[path = "archives.rs"]
mod archives;

use libfuzzer_sys::fuzz_target;

const PCAP_MAGIC: &[u8] = b"\xd4\xc3\xb2\xa1";

fn archive(members: &[(String, &[u8])], gnu: bool) -> Option<Vec<u8>> {
    let mut b = tar::Builder::new(Vec::new());
    for (name, data) in members {
        let mut h = if gnu {
            tar::Header::new_gnu()
        } else {
            tar::Header::new_ustar()
        };
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        if !gnu && name.len() > 100 {
            b.append_pax_extensions([("path", name.as_bytes())]).ok()?;
            h.set_path("pax-named").ok()?;
            h.set_cksum();
            b.append(&h, *data).ok()?;
        } else {
            b.append_data(&mut h, name, *data).ok()?;
        }
    }
    b.into_inner().ok()
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let (gnu, long) = (mode & 1 != 0, mode & 2 != 0);
    let dir = if long {
        "d".repeat(120)
    } else {
        "lb1".to_owned()
    };
    let (a, b) = rest.split_at(rest.len() / 2);
    let first = [PCAP_MAGIC, a].concat();
    let second = [PCAP_MAGIC, b].concat();
    let members = [
        (format!("{dir}/README"), &b"notes"[..]),
        (format!("{dir}/dump.pcap"), first.as_slice()),
        (format!("{dir}/dump.pcap1"), second.as_slice()),
    ];
    let Some(t) = archive(&members, gnu) else {
        return;
    };
    let joined = [first.as_slice(), second.as_slice()].concat();
    archives::check(mode, t, "fuzz.tar", "tar extraction", &joined);
});
