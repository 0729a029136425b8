//! Generates HARs whose request-controlled lists are as long as the readers allow (issue 18
//! item 1): a preflight announcing ~13,000 distinct header names (~60 KB, under the 64 KB HAR
//! string limit), answered with allow lists just as long, and its actual request. Shared by the
//! regression test (`tests/long_lists.rs`) and the bench (`benches/long_lists.rs`).

/// `n` distinct lower-case header names of three or four letters (`aaa`, `aab`, …).
pub fn names(n: usize) -> Vec<String> {
    (0..n)
        .map(|mut i| {
            let mut s = String::from("x");
            for _ in 0..3 {
                s.push(char::from(b'a' + (i % 26) as u8));
                i /= 26;
            }
            s
        })
        .collect()
}

/// What the generated flows contain besides the long announced list.
#[derive(Clone, Copy, Debug)]
pub struct Shape {
    /// Distinct names in `Access-Control-Request-Headers` (and in the allow list).
    pub names: usize,
    /// The actual request also carries every name as a header line (a Firefox/WebKit
    /// evaluation of a Chromium recording then judges each by its own safelist).
    pub request_lines: bool,
    /// The preflight's `Access-Control-Allow-Methods` lists this many methods before `PUT`.
    pub methods: usize,
}

fn header(name: &str, value: &str) -> String {
    format!("{{\"name\":\"{name}\",\"value\":\"{value}\"}}")
}

/// One entry; `error` is DevTools' `_error` of a request the browser failed (status 0).
fn entry(
    t_ms: u64,
    method: &str,
    url: &str,
    req: &[String],
    status: u16,
    resp: &[String],
    error: Option<&str>,
) -> String {
    format!(
        "{{\"startedDateTime\":\"2026-11-24T00:00:{:02}.{:03}Z\",\"time\":1.0,\
\"request\":{{\"method\":\"{method}\",\"url\":\"{url}\",\"httpVersion\":\"HTTP/1.1\",\
\"headers\":[{}],\"queryString\":[],\"cookies\":[],\"headersSize\":-1,\"bodySize\":0}},\
\"response\":{{\"status\":{status},\"statusText\":\"\",\"httpVersion\":\"HTTP/1.1\",\
\"headers\":[{}],\"cookies\":[],\"content\":{{\"size\":0,\"mimeType\":\"text/plain\"}},\
\"redirectURL\":\"\",\"headersSize\":-1,\"bodySize\":0{}}},\"cache\":{{}},\
\"timings\":{{\"send\":0,\"wait\":1,\"receive\":0}},\"_resourceType\":\"fetch\"}}",
        (t_ms / 1000) % 60,
        t_ms % 1000,
        req.join(","),
        resp.join(","),
        error.map_or_else(String::new, |e| format!(",\"_error\":\"{e}\""))
    )
}

/// A DevTools-style HAR of `pairs` preflight + request pairs. Every preflight announces
/// `shape.names` names; its allow list names all of them but the last (upper-cased, so the
/// case-insensitive comparison is exercised), so each flow is blocked on the last name and its
/// fix lists the missing one after scanning the whole list. DevTools records the blocked
/// request with status 0 and `_error`.
pub fn har(pairs: usize, shape: Shape) -> String {
    let list = names(shape.names);
    let announced = list.join(",");
    let allowed = list[..list.len().saturating_sub(1)]
        .iter()
        .map(|n| n.to_ascii_uppercase())
        .collect::<Vec<_>>()
        .join(",");
    let methods: Vec<String> = names(shape.methods)
        .into_iter()
        .map(|m| m.to_ascii_uppercase())
        .chain(["PUT".to_owned()])
        .collect();
    let origin = "https://app.example";
    let mut entries = Vec::with_capacity(pairs * 2);
    for i in 0..pairs {
        let url = format!("https://api.example/long/{i}");
        let t = (i as u64) * 10;
        entries.push(entry(
            t,
            "OPTIONS",
            &url,
            &[
                header("Origin", origin),
                header("Access-Control-Request-Method", "PUT"),
                header("Access-Control-Request-Headers", &announced),
            ],
            204,
            &[
                header("Access-Control-Allow-Origin", origin),
                header("Access-Control-Allow-Methods", &methods.join(",")),
                header("Access-Control-Allow-Headers", &allowed),
                header("Vary", &announced),
            ],
            None,
        ));
        let mut req = vec![header("Origin", origin)];
        if shape.request_lines {
            req.extend(list.iter().map(|n| header(n, "1")));
        }
        entries.push(entry(
            t + 1,
            "PUT",
            &url,
            &req,
            0,
            &[],
            Some("net::ERR_FAILED"),
        ));
    }
    format!(
        "{{\"log\":{{\"version\":\"1.2\",\"creator\":{{\"name\":\"WebInspector\",\"version\":\"537.36\"}},\
\"pages\":[],\"entries\":[\n{}\n]}}}}\n",
        entries.join(",\n")
    )
}
