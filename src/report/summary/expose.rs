//! Evidence that a page read a response header: its value came back in a later request of the
//! same client (a CSRF token, a request id, an ETag in `If-Match`). Such a header must be listed
//! in `Access-Control-Expose-Headers` for the page to read it cross-origin.

use std::collections::HashMap;

use crate::model::{escape_bytes, trim_http_ws, Headers};

/// Values remembered at most; past it new ones are not (memory stays bounded).
const KEPT: usize = 100_000;

/// Response headers a page can read without exposing them, or that are not the server's data.
const NOT_DATA: &[&str] = &[
    "cache-control",
    "content-language",
    "content-length",
    "content-type",
    "expires",
    "last-modified",
    "pragma",
    "date",
    "server",
    "vary",
    "set-cookie",
    "connection",
    "keep-alive",
    "transfer-encoding",
    "content-encoding",
    "age",
    "via",
    "alt-svc",
    "strict-transport-security",
];

/// Request headers whose values the browser writes, not the page.
const BROWSER_WRITTEN: &[&str] = &[
    "origin",
    "referer",
    "cookie",
    "host",
    "user-agent",
    "accept",
    "accept-encoding",
    "accept-language",
    "connection",
    "content-length",
];

/// (client, value) → (endpoint, response header name).
#[derive(Clone, Debug, Default)]
pub(crate) struct ReadHeaders {
    values: HashMap<(String, String), (String, String)>,
}

fn usable(v: &[u8]) -> Option<String> {
    let v = trim_http_ws(v);
    (8..=512).contains(&v.len()).then(|| escape_bytes(v))
}

impl ReadHeaders {
    /// Remembers the data headers of a cross-origin response of `endpoint`.
    pub(crate) fn response(&mut self, client: &str, endpoint: &str, headers: &Headers) {
        for (n, v) in headers.iter() {
            let name = escape_bytes(n).to_ascii_lowercase();
            if NOT_DATA.contains(&name.as_str()) || name.starts_with("access-control-") {
                continue;
            }
            let Some(v) = usable(v) else { continue };
            if self.values.len() >= KEPT {
                return;
            }
            self.values
                .entry((client.to_owned(), v))
                .or_insert_with(|| (endpoint.to_owned(), name));
        }
    }

    /// The (endpoint, header) pairs whose values a request of `client` carries.
    pub(crate) fn reads(&self, client: &str, headers: &Headers) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for (n, v) in headers.iter() {
            let name = escape_bytes(n).to_ascii_lowercase();
            if BROWSER_WRITTEN.contains(&name.as_str()) || name.starts_with("sec-") {
                continue;
            }
            let Some(v) = usable(v) else { continue };
            if let Some(hit) = self.values.get(&(client.to_owned(), v)) {
                if !out.contains(hit) {
                    out.push(hit.clone());
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_sent_back_was_read() {
        let mut r = ReadHeaders::default();
        let resp: Headers = [
            ("X-CSRF-Token", "c2VjcmV0LXRva2Vu"),
            ("Content-Type", "application/json; charset=utf-8"),
            ("Date", "Mon, 30 Nov 2026 08:00:00 GMT"),
        ]
        .into_iter()
        .collect();
        r.response("c", "E", &resp);
        let req: Headers = [("x-csrf-token", " c2VjcmV0LXRva2Vu ")]
            .into_iter()
            .collect();
        assert_eq!(
            r.reads("c", &req),
            [("E".to_owned(), "x-csrf-token".to_owned())]
        );
        // Another client, a safelisted header, a browser-written value: no evidence.
        assert!(r.reads("other", &req).is_empty());
        let ct: Headers = [("Content-Type", "application/json; charset=utf-8")]
            .into_iter()
            .collect();
        assert!(r.reads("c", &ct).is_empty());
        let referer: Headers = [("Referer", "c2VjcmV0LXRva2Vu")].into_iter().collect();
        assert!(r.reads("c", &referer).is_empty());
    }
}
