//! Live inputs: a pipe or terminal (`tcpdump -U -w - | corscope -`) is read by one pump
//! thread, so that the readers above get what is available now (a read returns what has
//! arrived instead of waiting for a full buffer) and the input's stop flag (set by the CLI's
//! SIGINT handler or a closed output) ends the input even while the writer is silent. The
//! pump also records when data last arrived ([`Activity`]), which the pipeline's idle flush
//! reads. Every input, live or not, reads as ended once its stop flag is set ([`Stoppable`]).

use std::io::{self, Read};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, RecvTimeoutError, TryRecvError};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

/// Bytes per chunk read from the pipe (a pipe's default capacity).
const CHUNK: usize = 64 * 1024;
/// Chunks read ahead: a few MB at most.
const AHEAD: usize = 64;
/// How often a blocked read looks at the stop flag.
pub(crate) const STOP_POLL: Duration = Duration::from_millis(50);
/// The first read waits for this much (or the end): enough to tell the format.
const FIRST_READ: usize = 64;

/// Reads as ended once `stop` is set (also when the read under it fails because of the stop,
/// e.g. a gzip stream cut by it).
pub(crate) struct Stoppable<R> {
    inner: R,
    stop: Arc<AtomicBool>,
}

impl<R> Stoppable<R> {
    pub(crate) fn new(inner: R, stop: Arc<AtomicBool>) -> Self {
        Stoppable { inner, stop }
    }
}

impl<R: Read> Read for Stoppable<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let stopped = || self.stop.load(Ordering::Relaxed);
        if stopped() {
            return Ok(0);
        }
        match self.inner.read(buf) {
            Err(_) if stopped() => Ok(0),
            r => r,
        }
    }
}

/// When the pump last received data from its source, on the wall clock.
#[derive(Debug)]
pub struct Activity {
    start: Instant,
    /// Milliseconds from `start` to the last arrival.
    last_ms: AtomicU64,
    /// After how many milliseconds of silence a read that waits says so (0: never; see
    /// [`Activity::report_silence_after`]).
    silence_ms: AtomicU64,
}

impl Activity {
    fn new() -> Self {
        Activity {
            start: Instant::now(),
            last_ms: AtomicU64::new(0),
            silence_ms: AtomicU64::new(0),
        }
    }

    fn touch(&self) {
        let ms = u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_ms.store(ms, Ordering::Relaxed);
    }

    /// From now on, a read that waits for data once the source has been silent for `after`
    /// returns [`io::ErrorKind::WouldBlock`], once per silence, and reads on after it: the
    /// capture reader above then lets go what it held for later packets (`capture::Reorder`,
    /// the idle flush). Only for a reader that expects it: a capture's, read undecoded.
    pub(crate) fn report_silence_after(&self, after: Duration) {
        let ms = u64::try_from(after.as_millis()).unwrap_or(u64::MAX).max(1);
        self.silence_ms.store(ms, Ordering::Relaxed);
    }

    /// Whether a waiting read should say the source fell silent.
    fn silent(&self) -> bool {
        let ms = self.silence_ms.load(Ordering::Relaxed);
        ms > 0 && self.idle_for() >= Duration::from_millis(ms)
    }

    /// How long the source has been silent.
    pub(crate) fn idle_for(&self) -> Duration {
        let last = self.start + Duration::from_millis(self.last_ms.load(Ordering::Relaxed));
        Instant::now().saturating_duration_since(last)
    }
}

/// A stream read ahead by the pump thread (see the module docs).
pub(crate) struct Live {
    rx: Receiver<io::Result<Vec<u8>>>,
    chunk: Vec<u8>,
    at: usize,
    /// An error that arrived after data still to be handed on.
    error: Option<io::Error>,
    ended: bool,
    first: bool,
    /// This silence was reported already ([`Activity::report_silence_after`]).
    silence_told: bool,
    stop: Arc<AtomicBool>,
    activity: Arc<Activity>,
}

impl Live {
    /// Starts the pump on `inner`; reads end once `stop` is set.
    pub(crate) fn new<R: Read + Send + 'static>(
        mut inner: R,
        stop: Arc<AtomicBool>,
    ) -> io::Result<Live> {
        let (tx, rx) = sync_channel(AHEAD);
        let activity = Arc::new(Activity::new());
        let touched = activity.clone();
        thread::Builder::new()
            .name("input-live".into())
            .spawn(move || loop {
                let mut buf = vec![0; CHUNK];
                let msg = match inner.read(&mut buf) {
                    Ok(n) => {
                        buf.truncate(n);
                        touched.touch();
                        Ok(buf)
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => Err(e),
                };
                let last = !matches!(&msg, Ok(b) if !b.is_empty());
                // A closed channel: the reader above is gone, nothing more to do.
                if tx.send(msg).is_err() || last {
                    return;
                }
            })?;
        Ok(Live {
            rx,
            chunk: Vec::new(),
            at: 0,
            error: None,
            ended: false,
            first: true,
            silence_told: false,
            stop,
            activity,
        })
    }

    /// When data last arrived (for the pipeline's idle flush).
    pub(crate) fn activity(&self) -> Arc<Activity> {
        self.activity.clone()
    }

    /// The next chunk: at once if one is there, else waiting (unless `wait` is false).
    /// `None`: nothing now (`wait` false) or the input ended. A wait for data after the
    /// source has been silent long enough says so once, as `WouldBlock`
    /// ([`Activity::report_silence_after`]).
    fn next(&mut self, wait: bool) -> Option<io::Result<Vec<u8>>> {
        loop {
            if self.stop.load(Ordering::Relaxed) {
                self.ended = true;
                return None;
            }
            let got = if wait {
                match self.rx.recv_timeout(STOP_POLL) {
                    Ok(m) => Some(m),
                    Err(RecvTimeoutError::Timeout) => {
                        if !self.silence_told && self.activity.silent() {
                            self.silence_told = true;
                            let silent = io::Error::new(io::ErrorKind::WouldBlock, "input silent");
                            return Some(Err(silent));
                        }
                        continue;
                    }
                    Err(RecvTimeoutError::Disconnected) => None,
                }
            } else {
                match self.rx.try_recv() {
                    Ok(m) => Some(m),
                    Err(TryRecvError::Empty) => return None,
                    Err(TryRecvError::Disconnected) => None,
                }
            };
            match got {
                Some(Ok(b)) if b.is_empty() => self.ended = true,
                None => self.ended = true,
                Some(m) => {
                    self.silence_told = false;
                    return Some(m);
                }
            }
            return None;
        }
    }
}

impl Read for Live {
    /// Hands on what has arrived; waits only when nothing has (the first read: until enough
    /// to tell the format is there).
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut n = 0;
        while n < buf.len() {
            if let (Some(src), Some(dst)) = (self.chunk.get(self.at..), buf.get_mut(n..)) {
                let k = src.len().min(dst.len());
                if k > 0 {
                    dst[..k].copy_from_slice(&src[..k]);
                    self.at += k;
                    n += k;
                    continue;
                }
            }
            if self.ended {
                break;
            }
            if n == 0 {
                if let Some(e) = self.error.take() {
                    self.ended = true;
                    return Err(e);
                }
            }
            let wait = n == 0 || (self.first && n < FIRST_READ);
            match self.next(wait) {
                Some(Ok(b)) => {
                    self.chunk = b;
                    self.at = 0;
                }
                // Silence while nothing was handed on yet: said to the reader above, which
                // reads on (with something handed on, it just goes up as usual).
                Some(Err(e)) if e.kind() == io::ErrorKind::WouldBlock => {
                    if n == 0 {
                        self.first = false;
                        return Err(e);
                    }
                    break;
                }
                Some(Err(e)) => {
                    if n == 0 {
                        self.ended = true;
                        return Err(e);
                    }
                    self.error = Some(e);
                    break;
                }
                None => break,
            }
        }
        self.first = false;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A writer with pauses: each read returns what has arrived, before the writer is done.
    #[test]
    fn reads_return_what_has_arrived() {
        let (mut w, r) = std::os::unix::net::UnixStream::pair().unwrap();
        let mut live = Live::new(r, Arc::new(AtomicBool::new(false))).unwrap();
        let writer = thread::spawn(move || {
            use std::io::Write;
            w.write_all(&[1; 100]).unwrap();
            thread::sleep(Duration::from_millis(300));
            w.write_all(&[2; 10]).unwrap();
        });
        let mut buf = vec![0; 1 << 20];
        let t = std::time::Instant::now();
        let n = live.read(&mut buf).unwrap();
        assert_eq!(n, 100);
        assert!(
            t.elapsed() < Duration::from_millis(250),
            "did not wait for the writer"
        );
        assert_eq!(live.read(&mut buf).unwrap(), 10);
        writer.join().unwrap();
        assert_eq!(live.read(&mut buf).unwrap(), 0);
    }

    /// Armed, a read that waits after the source was silent long enough says so once
    /// (`WouldBlock`), then reads on: the data after the silence, then the end.
    #[test]
    fn a_waiting_read_says_the_source_fell_silent_once() {
        let (mut w, r) = std::os::unix::net::UnixStream::pair().unwrap();
        let mut live = Live::new(r, Arc::new(AtomicBool::new(false))).unwrap();
        live.activity()
            .report_silence_after(Duration::from_millis(100));
        let writer = thread::spawn(move || {
            use std::io::Write;
            w.write_all(&[1; 100]).unwrap();
            thread::sleep(Duration::from_millis(600));
            w.write_all(&[2; 10]).unwrap();
        });
        let mut buf = vec![0; 1 << 20];
        assert_eq!(live.read(&mut buf).unwrap(), 100);
        let silent = live.read(&mut buf).unwrap_err();
        assert_eq!(silent.kind(), io::ErrorKind::WouldBlock);
        // Once per silence: the next read waits for the data.
        assert_eq!(live.read(&mut buf).unwrap(), 10);
        writer.join().unwrap();
        assert_eq!(live.read(&mut buf).unwrap(), 0);
    }

    /// A capture fed through a pipe with a pause: the first flow's record comes out while
    /// the writer still holds the pipe open (with one and with several capture threads).
    #[test]
    fn first_record_arrives_before_the_writer_closes() {
        use crate::capture::testutil::{pcap, Conv};
        use crate::pipeline::{analyze_input, InputReport, Options};
        use std::io::Write;
        use std::sync::mpsc::channel;

        let mut frames = Vec::new();
        for (i, port) in [41500u16, 41501].into_iter().enumerate() {
            let mut c = Conv::new(port);
            // The second request a minute later: past the pairing window of the first.
            c.ts += i as i64 * 60_000_000;
            c.handshake();
            c.client(
                format!("GET /{i} HTTP/1.1\r\nHost: api.test\r\nOrigin: http://app.test\r\n\r\n")
                    .as_bytes(),
                1460,
            );
            c.server(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 1460);
            frames.extend(c.frames);
        }
        let bytes = pcap(&frames, 1, false, false);
        for workers in [1, 2] {
            let (mut w, r) = std::os::unix::net::UnixStream::pair().unwrap();
            let (seen_tx, seen_rx) = channel::<()>();
            let data = bytes.clone();
            let writer = thread::spawn(move || {
                for chunk in data.chunks(50) {
                    w.write_all(chunk).unwrap();
                    thread::sleep(Duration::from_millis(1));
                }
                // Hold the pipe open until a record came out (or give up).
                let seen = seen_rx.recv_timeout(Duration::from_secs(20)).is_ok();
                drop(w);
                seen
            });
            let stop = Arc::new(AtomicBool::new(false));
            let input = super::super::from_live("-".into(), r, &stop).unwrap();
            assert!(input.live);
            let opts = Options {
                capture_workers: workers,
                stop,
                ..Options::default()
            };
            let mut records = 0;
            let report = analyze_input(
                input,
                &opts,
                &mut |_| {
                    records += 1;
                    let _ = seen_tx.send(());
                },
                InputReport::default(),
            );
            assert!(
                writer.join().unwrap(),
                "{workers} workers: no record before the writer closed"
            );
            assert!(report.error.is_none(), "{:?}", report.error);
            assert_eq!(records, 2, "{workers} workers");
        }
    }

    /// A Chromium request on a keep-alive connection that has shown no credentials class
    /// yet (no preflight, no cookie: the time-order buffer holds it up to 30 s of capture
    /// time for one), then silence with the pipe held open: once the input has been silent
    /// for the idle flush, the reader lets it go and its record comes out, with the verdict
    /// the whole input gives (one and two capture threads). Before, it waited for later
    /// packets or the end of the input.
    #[test]
    fn a_request_waiting_for_its_connections_class_comes_out_on_silence() {
        use crate::capture::testutil::{pcap, Conv};
        use crate::pipeline::{analyze_input, InputReport, Options};
        use std::io::Write;
        use std::sync::mpsc::channel;

        const CHROME: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/156.0.0.0 Safari/537.36";
        let mut c = Conv::new(41600);
        c.handshake();
        let request = format!(
            "GET /r HTTP/1.1\r\nHost: api.test\r\nConnection: keep-alive\r\nUser-Agent: {CHROME}\r\nOrigin: http://app.test\r\n\r\n"
        );
        c.client(request.as_bytes(), 1460);
        c.server(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 1460);
        let bytes = pcap(&c.frames, 1, false, false);
        for workers in [1, 2] {
            let (mut w, r) = std::os::unix::net::UnixStream::pair().unwrap();
            let (seen_tx, seen_rx) = channel::<crate::report::Record>();
            let data = bytes.clone();
            let writer = thread::spawn(move || {
                w.write_all(&data).unwrap();
                // Held open until the record came out (or given up on).
                let seen = seen_rx.recv_timeout(Duration::from_secs(20)).ok();
                drop(w);
                seen
            });
            let stop = Arc::new(AtomicBool::new(false));
            let input = super::super::from_live("-".into(), r, &stop).unwrap();
            let opts = Options {
                capture_workers: workers,
                idle_flush: Duration::from_millis(300),
                stop,
                ..Options::default()
            };
            let report = analyze_input(
                input,
                &opts,
                &mut |r| {
                    let _ = seen_tx.send(r);
                },
                InputReport::default(),
            );
            let record = writer.join().unwrap();
            let record = record
                .unwrap_or_else(|| panic!("{workers} workers: no record before the writer closed"));
            assert!(report.error.is_none(), "{:?}", report.error);
            assert_eq!(record.url, "http://api.test/r", "{workers} workers");
            // No `Access-Control-Allow-Origin`: blocked in either credentials mode.
            assert_eq!(
                record.verdict,
                crate::cors::resolve::Verdict::Blocked,
                "{workers} workers"
            );
        }
    }
}
