//! Reading the spool file back (the second pass): each record where the index says it is, in
//! the order the second pass asks for them.
//!
//! Records come back in time order, which for most files is the order they were written in:
//! then a record that starts where the last read ended is read with a window of the records
//! after it (one read for many records, instead of a seek and a read for each, which were a
//! tenth of the run's time on a large file). Any other record is read alone, so a file in
//! reverse or shuffled order reads nothing twice.

use std::fs::File;
use std::io;

/// Bytes read ahead for records that follow each other (a larger window saved no time
/// measurably and held more memory).
const WINDOW: usize = 64 << 10;

pub(super) struct SpoolFile {
    file: File,
    window: Vec<u8>,
    /// The file offset of `window[0]`.
    start: u64,
}

impl SpoolFile {
    pub(super) fn new(file: File) -> Self {
        SpoolFile {
            file,
            window: Vec::new(),
            start: 0,
        }
    }

    /// The `len` bytes at `offset`.
    pub(super) fn record(&mut self, offset: u64, len: usize) -> io::Result<&[u8]> {
        let end = self.start + self.window.len() as u64;
        let wanted = offset.checked_add(len as u64).ok_or_else(too_far)?;
        if offset < self.start || wanted > end {
            let ahead = if offset == end { WINDOW.max(len) } else { len };
            self.window.resize(ahead, 0);
            let got = read_at_least(&self.file, offset, &mut self.window, len)?;
            self.window.truncate(got);
            self.start = offset;
        }
        let at = usize::try_from(offset - self.start).map_err(|_| too_far())?;
        Ok(&self.window[at..at + len])
    }
}

fn too_far() -> io::Error {
    io::Error::other("spool record offset out of range")
}

/// Reads into `buf` from `offset` until it is full or the file ends; at least `min` bytes.
fn read_at_least(file: &File, offset: u64, buf: &mut [u8], min: usize) -> io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match read_at(file, &mut buf[got..], offset + got as u64) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    if got < min {
        return Err(io::ErrorKind::UnexpectedEof.into());
    }
    Ok(got)
}

#[cfg(unix)]
fn read_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    std::os::unix::fs::FileExt::read_at(file, buf, offset)
}

#[cfg(not(unix))]
fn read_at(mut file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    use std::io::{Read, Seek};
    file.seek(io::SeekFrom::Start(offset))?;
    file.read(buf)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// Records read back in any order (forward, backward, jumping, one past the end) are
    /// the bytes written at their place.
    #[test]
    fn records_read_back_in_any_order() {
        let mut f = tempfile::tempfile().unwrap();
        let data: Vec<u8> = (0..3 * WINDOW as u32 + 77)
            .map(|i| (i * 31 % 251) as u8)
            .collect();
        f.write_all(&data).unwrap();
        let mut s = SpoolFile::new(f);
        let len = 1000;
        let offsets: Vec<u64> = (0..(data.len() / len) as u64)
            .map(|i| i * len as u64)
            .collect();
        let mut orders = vec![offsets.clone(), offsets.iter().rev().copied().collect()];
        orders.push(
            offsets
                .iter()
                .map(|o| (o * 7919) % data.len() as u64)
                .collect(),
        );
        for order in orders {
            for o in order {
                let n = len.min(data.len() - o as usize);
                let got = s.record(o, n).unwrap();
                assert_eq!(got, &data[o as usize..o as usize + n], "{o}");
            }
        }
        // A whole-window record, then past the end of the file.
        let big = WINDOW + 10;
        assert_eq!(s.record(5, big).unwrap(), &data[5..5 + big]);
        assert!(s.record(data.len() as u64 - 3, 10).is_err());
    }
}
