//! Origins (`#origin`): serialization, same-origin comparison, redirect targets, and the URL
//! validity test Chromium applies to `Access-Control-Allow-Origin` values.

use url::Url;

/// The serialized origin of `url` (`scheme://host[:port]`, default port omitted, never a
/// trailing slash); `null` for opaque origins; `None` when `url` is not a URL at all.
pub fn origin_of(url: &str) -> Option<String> {
    // Deciding one flow asks for the origins of the same few URLs (request, page, redirect
    // targets) dozens of times, and a URL parse was the single largest cost of resolution:
    // the last few answers are kept per thread. Exact: the same string, the same answer.
    // A plain URL's origin is read off it at once, cheaper than a search of the memo.
    if let Some(origin) = plain_origin(url) {
        return Some(origin.to_owned());
    }
    RECENT_ORIGINS.with(|cell| {
        let Ok(mut recent) = cell.try_borrow_mut() else {
            return parse_origin(url);
        };
        if let Some(i) = recent.iter().position(|(u, _)| u == url) {
            let hit = recent.remove(i)?;
            let answer = hit.1.clone();
            recent.push_front(hit);
            return answer;
        }
        let answer = parse_origin(url);
        if recent.len() >= RECENT_ORIGINS_KEPT {
            recent.pop_back();
        }
        recent.push_front((url.to_owned(), answer.clone()));
        answer
    })
}

/// URLs whose origins are remembered per thread (see [`origin_of`]).
const RECENT_ORIGINS_KEPT: usize = 8;

thread_local! {
    static RECENT_ORIGINS: std::cell::RefCell<std::collections::VecDeque<(String, Option<String>)>> =
        const { std::cell::RefCell::new(std::collections::VecDeque::new()) };
}

fn parse_origin(url: &str) -> Option<String> {
    if let Some(origin) = plain_origin(url) {
        return Some(origin.to_owned());
    }
    Url::parse(url)
        .ok()
        .map(|u| u.origin().ascii_serialization())
}

/// The origin of an `http`/`https` URL already written the way the URL parser would serialize
/// its origin (lower-case ASCII host labels, no default, empty or zero-led port, no user info),
/// read without a parse: most URLs in real traffic. `None` means "ask the parser" (checked
/// against it by a property test).
pub(crate) fn plain_origin(url: &str) -> Option<&str> {
    // One pass over bytes: a `str` search and `split` per label cost about a thousand
    // instructions per URL, asked for every exchange and again by the engine.
    let b = url.as_bytes();
    let (start, default_port): (usize, &[u8]) = if b.starts_with(b"http://") {
        (7, b"80")
    } else if b.starts_with(b"https://") {
        (8, b"443")
    } else {
        return None;
    };
    let rest = &b[start..];
    // The host: labels of lower-case letters, digits and `-`, not empty, not IDNA (`xn--`).
    let label_ok = |l: &[u8]| !l.is_empty() && !l.starts_with(b"xn--");
    let (mut label, mut named) = (0, false);
    let mut host_end = 0;
    while let Some(&c) = rest.get(host_end) {
        match c {
            b'a'..=b'z' => named = true,
            b'0'..=b'9' | b'-' => {}
            b'.' => {
                if !label_ok(&rest[label..host_end]) {
                    return None;
                }
                (label, named) = (host_end + 1, false);
            }
            _ => break,
        }
        host_end += 1;
    }
    // A last label that reads as a number (decimal, or `0x` hex) makes the host an IPv4
    // address to the parser.
    let last = &rest[label..host_end];
    if !(label_ok(last) && named && !last.starts_with(b"0x")) {
        return None;
    }
    let is_end = |c: Option<&u8>| matches!(c, None | Some(b'/' | b'?' | b'#'));
    let end = match rest.get(host_end) {
        c if is_end(c) => host_end,
        Some(b':') => {
            let p_end = host_end
                + 1
                + rest[host_end + 1..]
                    .iter()
                    .take_while(|d| d.is_ascii_digit())
                    .count();
            let p = &rest[host_end + 1..p_end];
            if !is_end(rest.get(p_end))
                || !(1..=5).contains(&p.len())
                || p[0] == b'0'
                || p == default_port
            {
                return None;
            }
            // At most five digits: no overflow.
            let value = p.iter().fold(0u32, |n, d| n * 10 + u32::from(d - b'0'));
            if value > 65_535 {
                return None;
            }
            p_end
        }
        // Anything else in the host (upper case, `@`, `[`…) is the parser's to read.
        _ => return None,
    };
    Some(&url[..start + end])
}

/// Whether the rest of a URL after its [`plain_origin`] (its path, and query if any) is already
/// what the URL parser writes back: it starts with `/`, holds only characters that are never
/// escaped (a `%` only before two hex digits) and no dot segment (`/.` or `/%2e` anywhere, a
/// conservative rule). `false` means "ask the parser".
pub(crate) fn is_plain_path(bytes: &[u8]) -> bool {
    bytes.first() == Some(&b'/')
        && bytes.iter().enumerate().all(|(i, &b)| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'~' => true,
            b'!' | b'$' | b'&' | b'(' | b')' | b'*' | b'+' | b',' | b';' | b'=' | b':' | b'@' => {
                true
            }
            b'/' | b'?' => true,
            // Not the start of a dot segment (`/.`, `/%2e`), not after one either.
            b'.' => i > 0 && bytes[i - 1] != b'/',
            b'%' => {
                let hex = |j: usize| bytes.get(j).is_some_and(u8::is_ascii_hexdigit);
                hex(i + 1)
                    && hex(i + 2)
                    && !matches!(bytes.get(i + 1..i + 3), Some([b'2', b'e' | b'E']))
            }
            _ => false,
        })
}

/// Parses an `Origin` / page-origin string into its canonical serialization, so that
/// `http://A.test:80` and `http://a.test` compare equal.
pub fn canonical_origin(origin: &str) -> Option<String> {
    if origin == "null" {
        return Some("null".into());
    }
    origin_of(origin).filter(|o| o != "null")
}

pub fn same_origin(a: &str, b: &str) -> bool {
    // Plain URLs compare by their origin text, with nothing allocated (never `null`).
    if let (Some(x), Some(y)) = (plain_origin(a), plain_origin(b)) {
        return x == y;
    }
    match (origin_of(a), origin_of(b)) {
        (Some(x), Some(y)) => x == y && x != "null",
        _ => false,
    }
}

/// A redirect target (`Location`, possibly relative) resolved against the URL it came from.
pub fn resolve_location(base: &str, location: &str) -> Option<Url> {
    Url::parse(base).ok()?.join(location).ok()
}

/// The URL the redirect to `location` requests: a fragment (`Location: /next#part`) stays in
/// the browser and is never sent (a capture and a DevTools export list the URL without it).
pub fn redirect_request_url(base: &str, location: &str) -> Option<String> {
    let mut url = resolve_location(base, location)?;
    url.set_fragment(None);
    Some(url.into())
}

/// Whether a URL carries `user:password@`.
pub fn has_credentials(url: &Url) -> bool {
    !url.username().is_empty() || url.password().is_some()
}

/// The URL with any userinfo removed, as WebKit prints a redirect target.
pub fn without_credentials(url: &Url) -> String {
    let mut u = url.clone();
    // Setting userinfo only fails for URLs that cannot have it, which have none to remove.
    let _ = u.set_username("");
    let _ = u.set_password(None);
    u.to_string()
}

/// Chromium's `GURL(value).is_valid()` for ACAO values: anything with a scheme parses
/// (`app.test:8080` has scheme `app.test`); empty strings and scheme-less text do not.
pub fn gurl_valid(value: &str) -> bool {
    Url::parse(value).is_ok()
}

/// `http` or `https`: the schemes for which CORS applies (`url::GetCorsEnabledSchemes`).
pub fn is_http_scheme(url: &str) -> bool {
    // Compared in place, the first eight bytes as one word: every cross-origin hop of every
    // reading asks, and a byte-wise case-blind compare was sixty instructions. Setting bit
    // 0x20 lower-cases a letter and makes no other byte one (only `H` and `h` OR to `h`);
    // it is set at the letters' places only, so `:` and `/` compare exactly.
    const HTTP: u64 = u64::from_le_bytes(*b"http://\0");
    const HTTPS: u64 = u64::from_le_bytes(*b"https://");
    const FOLD_HTTP: u64 = u64::from_le_bytes([0x20, 0x20, 0x20, 0x20, 0, 0, 0, 0]);
    const FOLD_HTTPS: u64 = u64::from_le_bytes([0x20, 0x20, 0x20, 0x20, 0x20, 0, 0, 0]);
    const SEVEN: u64 = u64::from_le_bytes([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0]);
    let b = url.as_bytes();
    match b.first_chunk::<8>() {
        Some(head) => {
            let w = u64::from_le_bytes(*head);
            (w | FOLD_HTTP) & SEVEN == HTTP || w | FOLD_HTTPS == HTTPS
        }
        None => b.eq_ignore_ascii_case(b"http://"),
    }
}

/// Whether a host is on the loopback or a private network (for Local Network Access notes).
pub fn is_potentially_trustworthy(url: &str) -> bool {
    match Url::parse(url) {
        Ok(u) => {
            u.scheme() == "https"
                || matches!(u.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"))
                || u.host_str().is_some_and(|h| h.ends_with(".localhost"))
        }
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_serialize_without_default_port_or_slash() {
        assert_eq!(origin_of("http://a.test:80/x").unwrap(), "http://a.test");
        assert_eq!(
            origin_of("https://A.test:8443/").unwrap(),
            "https://a.test:8443"
        );
        assert_eq!(
            canonical_origin("http://App.test:8080").unwrap(),
            "http://app.test:8080"
        );
        assert!(same_origin("https://a:443/x", "https://a/y"));
        assert!(!same_origin("http://a:8080/", "http://a:8081/"));
    }

    #[test]
    fn plain_origins_read_without_a_parse() {
        let cases = [
            ("http://a.test/x?y", Some("http://a.test")),
            (
                "https://api.a-b.test:8443",
                Some("https://api.a-b.test:8443"),
            ),
            ("http://a.test?q", Some("http://a.test")),
            ("http://a.test#f", Some("http://a.test")),
            ("http://A.test/", None),
            ("http://a.test:80/", None),
            ("https://a.test:443/", None),
            ("http://a.test:/", None),
            ("http://a.test:080/", None),
            ("http://u@a.test/", None),
            ("http://1.2.3.4/", None),
            ("http://a.0x1f/", None),
            ("http://xn--nxasmq6b.test/", None),
            ("http://a.test./", None),
            ("http://a.test\\x", None),
            ("ftp://a.test/", None),
        ];
        for (url, want) in cases {
            assert_eq!(plain_origin(url), want, "{url}");
        }
    }

    proptest::proptest! {
        /// Where the fast path answers, it answers as the parser does.
        #[test]
        fn plain_origin_agrees_with_the_parser(
            scheme in "https?",
            host in "[a-z0-9-]{1,8}(\\.[a-z0-9-]{1,8}){0,2}|[a-zA-Z0-9.-]{1,12}|[0-9]{1,3}(\\.[0-9]{1,3}){3}|[a-z]{1,5}\\.0x[0-9a-f]{1,3}",
            port in proptest::option::of("[0-9]{0,6}"),
            tail in "[/?#]?[a-z/]{0,6}",
        ) {
            let url = match &port {
                Some(p) => format!("{scheme}://{host}:{p}{tail}"),
                None => format!("{scheme}://{host}{tail}"),
            };
            if let Some(fast) = plain_origin(&url) {
                let parsed = Url::parse(&url).map(|u| u.origin().ascii_serialization());
                proptest::prop_assert_eq!(Ok(fast.to_owned()), parsed, "{}", url);
            }
        }
    }

    proptest::proptest! {
        /// Compared in place, the scheme test answers as lower-casing the first eight bytes
        /// (the whole text where eight is not a character boundary) did.
        #[test]
        fn http_scheme_as_lowered(url in "(?i:https?|wss?|ftp|hxxp)?[:\x1a\x0f]?[/\x0f]{0,2}[a-zé.:/\x08]{0,6}") {
            let lower = url.get(..8).unwrap_or(&url).to_ascii_lowercase();
            let want = lower.starts_with("http://") || lower.starts_with("https://");
            proptest::prop_assert_eq!(is_http_scheme(&url), want, "{}", url);
        }
    }

    #[test]
    fn gurl_validity_matches_chromium_corpus() {
        assert!(gurl_valid("app.test:8080"));
        assert!(gurl_valid("http://*.test"));
        assert!(gurl_valid("http://APP.test:8080"));
        assert!(!gurl_valid(""));
        assert!(!gurl_valid("*.test"));
    }

    #[test]
    fn redirect_targets() {
        let u = resolve_location("http://api.test:8081/s/a/start", "/s/a/final").unwrap();
        assert_eq!(u.as_str(), "http://api.test:8081/s/a/final");
        let c = resolve_location("http://a.test/", "http://user:secret@b.test/f").unwrap();
        assert!(has_credentials(&c));
        assert_eq!(without_credentials(&c), "http://b.test/f");
        // The request a redirect leads to carries no fragment (probe-variants2 `r-302-fragment`:
        // the next hop, listed without it, was not found).
        for (location, want) in [
            ("/s/b#frag", "http://api.test:8081/s/b"),
            ("#only", "http://api.test:8081/s/a/start?q=1"),
            ("http://b.test/x?y#z", "http://b.test/x?y"),
        ] {
            let got = redirect_request_url("http://api.test:8081/s/a/start?q=1", location);
            assert_eq!(got.as_deref(), Some(want), "{location}");
        }
    }
}
