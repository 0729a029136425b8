//! Live input: a capture written slowly into a pipe (`tcpdump -U -w - | corscope -`).

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::channel;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use corscope::pipeline::{analyze_input, InputReport, Options};

/// The generator's pcap of `n` cross-origin exchanges a minute apart, written slowly.
fn slow_cors(n: u32) -> std::process::Child {
    Command::new("python3")
        .args(["tests/hostile_gen.py", "slow-cors", &n.to_string()])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 runs")
}

/// The binary reading standard input (a pipe) with `args`, its output piped.
fn from_stdin(args: &[&str]) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_corscope"))
        .arg("-")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("corscope runs")
}

/// A stop request (what the CLI's SIGINT handler makes) ends a live input whose writer is
/// silent but still holds the pipe: what was read is analysed and the report has no error.
#[test]
fn stop_request_ends_a_silent_live_input() {
    // 3 exchanges in 0.6 s, then the generator holds the pipe open for 3 s more.
    let mut child = slow_cors(3);
    let stdout = child.stdout.take().expect("piped");
    let stop = Arc::new(AtomicBool::new(false));
    let input = corscope::input::from_live(Arc::from("-"), stdout, &stop).expect("a pcap");
    let (seen_tx, seen_rx) = channel::<()>();
    let stopping = stop.clone();
    let stopper = thread::spawn(move || {
        // Two records are final before the pause (the third waits for its pairing window).
        for _ in 0..2 {
            seen_rx
                .recv_timeout(Duration::from_secs(20))
                .expect("records while the writer is silent");
        }
        stopping.store(true, Ordering::Relaxed);
        Instant::now()
    });
    let mut records = 0;
    let report = analyze_input(
        input,
        &Options {
            capture_workers: 2,
            stop,
            // No idle flush: the third record waits for the stop.
            idle_flush: Duration::ZERO,
            ..Options::default()
        },
        &mut |_| {
            records += 1;
            let _ = seen_tx.send(());
        },
        InputReport::default(),
    );
    let stopped_at = stopper.join().expect("stopper");
    assert!(
        stopped_at.elapsed() < Duration::from_secs(2),
        "the stop ended the input at once"
    );
    let _ = child.kill();
    let _ = child.wait();
    assert!(report.error.is_none(), "{:?}", report.error);
    assert_eq!(records, 3, "the open flow is decided at the end");
}

/// A live input that goes silent has what pairing holds decided after the idle flush's
/// delay, while the writer still holds the pipe open and no stop was requested (with one and
/// with two capture threads).
#[test]
fn idle_flush_decides_the_waiting_exchange_of_a_silent_input() {
    for workers in [1, 2] {
        // 3 exchanges in 0.6 s, then the generator holds the pipe open for 3 s more.
        let mut child = slow_cors(3);
        let stdout = child.stdout.take().expect("piped");
        let stop = Arc::new(AtomicBool::new(false));
        let input = corscope::input::from_live(Arc::from("-"), stdout, &stop).expect("a pcap");
        let opts = Options {
            capture_workers: workers,
            stop: stop.clone(),
            idle_flush: Duration::from_millis(300),
            ..Options::default()
        };
        let (seen_tx, seen_rx) = channel::<Instant>();
        let watcher = thread::spawn(move || {
            let mut times = Vec::new();
            while times.len() < 3 {
                match seen_rx.recv_timeout(Duration::from_secs(20)) {
                    Ok(t) => times.push(t),
                    Err(_) => break,
                }
            }
            // Whatever happened, end the input so the analysis returns.
            stop.store(true, Ordering::Relaxed);
            times
        });
        let report = analyze_input(
            input,
            &opts,
            &mut |_| {
                let _ = seen_tx.send(Instant::now());
            },
            InputReport::default(),
        );
        let times = watcher.join().expect("watcher");
        let _ = child.kill();
        let _ = child.wait();
        assert!(report.error.is_none(), "{:?}", report.error);
        assert_eq!(times.len(), 3, "{workers} workers: every exchange decided");
        // The third record came after the silence began, well before the writer's 3 s hold
        // ended (the pipe's end would come after it; the stop comes after the third record).
        let gap = times[2] - times[1];
        assert!(
            gap < Duration::from_millis(2000),
            "{workers} workers: the third record took {gap:?} after the second"
        );
    }
}

/// Through the binary: the first record line arrives while the writer still holds the pipe.
/// Needs the CLI to flush each record line on a pipe (issue 15 item 1, the CLI side): enable
/// once that is merged.
#[test]
fn binary_prints_the_first_record_before_the_writer_closes() {
    let mut child = slow_cors(3);
    let mut gen_out = child.stdout.take().expect("piped");
    let mut corscope = from_stdin(&["--format", "ndjson"]);
    let mut stdin = corscope.stdin.take().expect("piped");
    let start = Instant::now();
    let pump = thread::spawn(move || {
        let _ = std::io::copy(&mut gen_out, &mut stdin);
        let _ = stdin.flush();
        Instant::now()
    });
    let mut lines = BufReader::new(corscope.stdout.take().expect("piped")).lines();
    let first = lines.next().expect("a record").expect("utf-8");
    let first_at = Instant::now();
    assert!(first.contains("\"index\":0"), "{first}");
    let closed_at = pump.join().expect("pump");
    let _ = child.wait();
    let _ = corscope.wait();
    assert!(
        first_at < closed_at,
        "first record after {:?}, writer closed after {:?}",
        first_at - start,
        closed_at - start
    );
}

/// Through the binary, the corpus's Chromium capture written at once into a pipe held open:
/// after the idle flush's silence every record comes out, the file's, at one and two threads
/// (most had waited for their connection's credentials class, 30 s of capture time that a
/// silent input never brings: round 28's binary printed 17 of the 116 before the end).
#[test]
fn binary_prints_what_waited_for_a_connections_class_on_silence() {
    let dir = env!("CARGO_MANIFEST_DIR");
    let capture =
        std::fs::read(format!("{dir}/tests/data/captures/chromium.pcap")).expect("fixture");
    let from_file = Command::new(env!("CARGO_BIN_EXE_corscope"))
        .args([
            "tests/data/captures/chromium.pcap",
            "--format",
            "ndjson",
            "--all",
        ])
        .current_dir(dir)
        .output()
        .expect("corscope runs");
    // A record without its source (a path against `-`), which `location` starts with too.
    let unsourced = |line: &str| -> String {
        let mut v: serde_json::Value = serde_json::from_str(line).expect("a JSON record");
        if let Some(o) = v.as_object_mut() {
            let source = o.remove("source").unwrap_or_default();
            let source = source.as_str().unwrap_or_default().to_owned();
            if let Some(serde_json::Value::String(l)) = o.get_mut("location") {
                *l = l.replacen(&source, "", 1);
            }
        }
        v.to_string()
    };
    let want: Vec<String> = String::from_utf8_lossy(&from_file.stdout)
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(want.len(), 116);
    for jobs in ["1", "2"] {
        let mut corscope = from_stdin(&[
            "--format",
            "ndjson",
            "--all",
            "--idle-flush",
            "1",
            "--jobs",
            jobs,
        ]);
        let mut stdin = corscope.stdin.take().expect("piped");
        stdin.write_all(&capture).expect("written");
        stdin.flush().expect("flushed");
        let (tx, rx) = channel::<String>();
        let stdout = corscope.stdout.take().expect("piped");
        let reader = thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        // The pipe stays open: what comes out comes from the silence.
        let mut lines = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(20);
        while lines.len() < want.len() && Instant::now() < deadline {
            if let Ok(l) = rx.recv_timeout(Duration::from_millis(100)) {
                lines.push(l);
            }
        }
        let at_silence = lines.len();
        drop(stdin);
        lines.extend(rx.iter());
        reader.join().expect("reader");
        let _ = corscope.wait();
        assert_eq!(
            at_silence,
            want.len(),
            "--jobs {jobs}: records before the end of the input"
        );
        assert_eq!(lines.len(), want.len(), "--jobs {jobs}: records");
        for (i, (got, want)) in lines.iter().zip(&want).enumerate() {
            assert!(
                unsourced(got) == unsourced(want),
                "--jobs {jobs}: record {i} differs from the file's"
            );
        }
    }
}
