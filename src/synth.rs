//! Synthetic inputs for benchmarks and memory tests: a deterministic generator of realistic CORS
//! traffic as a DevTools-style HAR (preflights, actual requests, a share of misconfigured
//! servers, base64 response bodies), seeded so every run writes the same bytes.

use std::io::{self, Write};

/// A small deterministic PRNG (SplitMix64): reproducible across platforms and versions.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
}

#[derive(Clone, Debug)]
pub struct HarSpec {
    pub seed: u64,
    /// Stop after roughly this many bytes.
    pub target_bytes: u64,
    /// Response body size range (bytes before base64).
    pub body_min: usize,
    pub body_max: usize,
}

impl Default for HarSpec {
    fn default() -> Self {
        Self {
            seed: 1,
            target_bytes: 64 << 20,
            body_min: 2 << 10,
            body_max: 24 << 10,
        }
    }
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

#[allow(clippy::too_many_arguments)] // a private writer helper; a struct would only rename the list
fn entry(
    out: &mut dyn Write,
    t_ms: u64,
    method: &str,
    url: &str,
    req: &[(&str, String)],
    status: u16,
    resp: &[(&str, String)],
    body_b64: usize,
    rng: &mut Rng,
    extra: &str,
) -> io::Result<u64> {
    let secs = t_ms / 1000;
    let time = format!(
        "2026-11-24T{:02}:{:02}:{:02}.{:03}Z",
        (secs / 3600) % 24,
        (secs / 60) % 60,
        secs % 60,
        t_ms % 1000
    );
    let hdrs = |h: &[(&str, String)]| {
        h.iter()
            .map(|(n, v)| format!("{{\"name\":\"{n}\",\"value\":\"{v}\"}}"))
            .collect::<Vec<_>>()
            .join(",")
    };
    let head = format!(
        "{{\"startedDateTime\":\"{time}\",\"time\":12.5,\"request\":{{\"method\":\"{method}\",\"url\":\"{url}\",\"httpVersion\":\"HTTP/1.1\",\"headers\":[{}],\"queryString\":[],\"cookies\":[],\"headersSize\":-1,\"bodySize\":0}},\"response\":{{\"status\":{status},\"statusText\":\"\",\"httpVersion\":\"HTTP/1.1\",\"headers\":[{}],\"cookies\":[],\"content\":{{\"size\":{},\"mimeType\":\"application/json\",\"encoding\":\"base64\",\"text\":\"",
        hdrs(req),
        hdrs(resp),
        body_b64 * 3 / 4
    );
    out.write_all(head.as_bytes())?;
    let mut written = head.len() as u64;
    let mut line = [0u8; 4096];
    let mut left = body_b64;
    while left > 0 {
        let n = left.min(line.len());
        for b in line[..n].iter_mut() {
            *b = B64[(rng.next_u64() & 63) as usize];
        }
        out.write_all(&line[..n])?;
        left -= n;
        written += n as u64;
    }
    let tail = format!(
        "\"}},\"redirectURL\":\"\",\"headersSize\":-1,\"bodySize\":{body_b64}{extra}}},\"cache\":{{}},\"timings\":{{\"blocked\":-1,\"dns\":-1,\"connect\":-1,\"send\":0,\"wait\":10.1,\"receive\":2.4}},\"_resourceType\":\"fetch\",\"_initiator\":{{\"type\":\"script\"}}}}"
    );
    out.write_all(tail.as_bytes())?;
    Ok(written + tail.len() as u64)
}

/// Counts what passes through, so the size target needs no bookkeeping at each write.
struct Counting<'a> {
    inner: &'a mut dyn Write,
    n: u64,
}

impl Write for Counting<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let k = self.inner.write(buf)?;
        self.n += k as u64;
        Ok(k)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Writes a DevTools-style HAR of about `spec.target_bytes`; returns (bytes, entries).
pub fn write_har(out: &mut dyn Write, spec: &HarSpec) -> io::Result<(u64, u64)> {
    let mut counting = Counting { inner: out, n: 0 };
    let (_, entries) = write_har_inner(&mut counting, spec)?;
    Ok((counting.n, entries))
}

fn write_har_inner(out: &mut dyn Write, spec: &HarSpec) -> io::Result<(u64, u64)> {
    let mut rng = Rng::new(spec.seed);
    let head = "{\"log\":{\"version\":\"1.2\",\"creator\":{\"name\":\"WebInspector\",\"version\":\"537.36\"},\"browser\":{\"name\":\"Chromium\",\"version\":\"156\"},\"pages\":[{\"startedDateTime\":\"2026-11-24T00:00:00.000Z\",\"id\":\"page_1\",\"title\":\"https://app.example.com/\",\"pageTimings\":{}}],\"entries\":[\n";
    out.write_all(head.as_bytes())?;
    let mut bytes = head.len() as u64;
    let mut entries = 0u64;
    let mut t = 0u64;
    let origin = "https://app.example.com".to_string();
    while bytes < spec.target_bytes {
        let api = rng.below(40);
        let misconfigured = api % 7 == 3;
        let path = format!("https://api{api}.example.net/v1/items/{}", rng.below(1000));
        let preflight = rng.below(3) == 0;
        let body = spec.body_min + rng.below((spec.body_max - spec.body_min + 1) as u64) as usize;
        let body_b64 = body.div_ceil(3) * 4;
        let sep = |entries: u64| if entries == 0 { "" } else { ",\n" };
        let acao = if misconfigured {
            "https://other.example.com".to_string()
        } else {
            origin.clone()
        };
        if preflight {
            out.write_all(sep(entries).as_bytes())?;
            bytes += entry(
                out,
                t,
                "PUT",
                &path,
                &[
                    ("Origin", origin.clone()),
                    ("Content-Type", "application/json".into()),
                ],
                200,
                &[
                    ("Access-Control-Allow-Origin", acao.clone()),
                    ("Content-Type", "application/json".into()),
                ],
                body_b64,
                &mut rng,
                if misconfigured {
                    ",\"_error\":\"net::ERR_FAILED\""
                } else {
                    ""
                },
            )?;
            entries += 1;
            out.write_all(b",\n")?;
            bytes += entry(
                out,
                t + 1,
                "OPTIONS",
                &path,
                &[
                    ("Origin", origin.clone()),
                    ("Access-Control-Request-Method", "PUT".into()),
                    ("Access-Control-Request-Headers", "content-type".into()),
                ],
                204,
                &[
                    ("Access-Control-Allow-Origin", acao),
                    ("Access-Control-Allow-Methods", "GET, PUT".into()),
                    ("Access-Control-Allow-Headers", "Content-Type".into()),
                ],
                0,
                &mut rng,
                "",
            )?;
        } else {
            out.write_all(sep(entries).as_bytes())?;
            bytes += entry(
                out,
                t,
                "GET",
                &path,
                &[
                    ("Origin", origin.clone()),
                    ("Accept", "application/json".into()),
                ],
                200,
                &[
                    ("Access-Control-Allow-Origin", acao),
                    ("Content-Type", "application/json".into()),
                ],
                body_b64,
                &mut rng,
                if misconfigured {
                    ",\"_error\":\"net::ERR_FAILED\""
                } else {
                    ""
                },
            )?;
        }
        entries += 1;
        t += 1 + rng.below(40);
    }
    out.write_all(b"\n]}}\n")?;
    Ok((bytes + 5, entries))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generator_is_deterministic_and_readable() {
        let spec = HarSpec {
            target_bytes: 200_000,
            ..HarSpec::default()
        };
        let mut a = Vec::new();
        let mut b = Vec::new();
        let (n, entries) = write_har(&mut a, &spec).unwrap();
        write_har(&mut b, &spec).unwrap();
        assert_eq!(a, b);
        assert_eq!(n as usize, a.len());
        let doc: serde_json::Value = serde_json::from_slice(&a).unwrap();
        assert_eq!(
            doc["log"]["entries"].as_array().unwrap().len() as u64,
            entries
        );
    }
}
