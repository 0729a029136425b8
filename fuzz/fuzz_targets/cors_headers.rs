//! The CORS header and origin parsers (`cors::headers`, `cors::origin`), the max-age readers and
//! `cors::engine::check_access`, for all three browsers. Input: lines; the first is the request
//! origin, the others are `name: value` header lines (seeds: `fuzz/seeds/cors_headers/`).
//! Checks: no panic, plus properties every parser must keep (sorted and unique name lists,
//! tokens only in parsed allow lists, Chromium's safelist a superset of the standard one, a
//! check that passes with credentials passes without).
#![no_main]

use corscope::cors::engine::check_access;
use corscope::cors::headers::{
    is_safelisted_request_header, is_token, mime_essence, parse_allow_list,
    parse_request_headers_list, unsafe_request_header_names, ListParse,
};
use corscope::cors::origin::{
    canonical_origin, gurl_valid, has_credentials, is_http_scheme, is_potentially_trustworthy,
    origin_of, resolve_location, same_origin, without_credentials,
};
use corscope::cors::{Browser, ALL_BROWSERS};
use corscope::model::Headers;
use libfuzzer_sys::fuzz_target;

fn sorted_unique(v: &[String]) -> bool {
    v.windows(2).all(|w| w[0] < w[1])
}

fuzz_target!(|data: &[u8]| {
    let mut lines = data.split(|b| *b == b'\n');
    let origin_line = lines.next().unwrap_or(&[]);
    let origin_text = String::from_utf8_lossy(origin_line);
    let origin = origin_text.trim();
    let mut headers = Headers::new();
    for line in lines {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let (name, value) = match line.iter().position(|b| *b == b':') {
            Some(c) => (&line[..c], &line[c + 1..]),
            None => (line, &b""[..]),
        };
        headers.push(name, value);
    }

    // Allow lists: every item a token, never empty; absent only without the header.
    for name in [
        "access-control-allow-methods",
        "access-control-allow-headers",
    ] {
        match parse_allow_list(headers.get_all(name)) {
            ListParse::Absent => assert!(!headers.contains(name)),
            ListParse::Items(items) => {
                assert!(items.iter().all(|i| is_token(i.as_bytes())))
            }
            ListParse::Invalid(_) => {}
        }
    }
    // Parsing the whole line as a list too (any bytes).
    let _ = parse_allow_list(std::iter::once(data));

    for (name, value) in headers.iter() {
        let v = parse_request_headers_list(value);
        assert!(sorted_unique(&v));
        assert!(v
            .iter()
            .all(|n| !n.is_empty() && *n == n.to_ascii_lowercase()));
        if let Some(e) = mime_essence(value) {
            assert_eq!(e.matches('/').count(), 1);
            assert_eq!(e, e.to_ascii_lowercase());
        }
        let sl: Vec<bool> = ALL_BROWSERS
            .iter()
            .map(|b| is_safelisted_request_header(*b, name, value))
            .collect();
        // Chromium's safelist is the standard one plus client hints.
        assert!(!sl[1] || sl[0], "Firefox safelists what Chromium does not");
        assert!(!sl[2] || sl[0], "Safari safelists what Chromium does not");
        if value.len() > 128 {
            assert!(sl.iter().all(|s| !s));
        }
        let text = String::from_utf8_lossy(value);
        for b in ALL_BROWSERS {
            if let Some(age) = b.max_age(Some(&text)) {
                assert!(age <= b.profile().max_age_cap);
            }
        }
        let _ = Browser::from_user_agent(&text);
        // Origins and URLs from header values.
        let _ = canonical_origin(&text);
        let _ = gurl_valid(&text);
        let _ = is_http_scheme(&text);
        let _ = is_potentially_trustworthy(&text);
        if let Some(u) = resolve_location(origin, &text) {
            let _ = has_credentials(&u);
            let stripped = without_credentials(&u);
            if let Ok(s) = url::Url::parse(&stripped) {
                assert!(!has_credentials(&s), "credentials survive: {stripped}");
            }
        }
        assert_eq!(same_origin(origin, &text), same_origin(&text, origin));
    }
    for b in ALL_BROWSERS {
        let names = unsafe_request_header_names(b, headers.iter());
        assert!(sorted_unique(&names));
    }

    // The origin parsers: canonicalisation is idempotent.
    if let Some(c) = canonical_origin(origin) {
        assert_eq!(
            canonical_origin(&c).as_deref(),
            Some(c.as_str()),
            "{origin:?}"
        );
    }
    let _ = origin_of(origin);

    // The CORS check: passing with credentials implies passing without.
    for b in ALL_BROWSERS {
        let with = check_access(b, &headers, origin, true, false);
        let without = check_access(b, &headers, origin, false, false);
        if with.is_ok() {
            assert!(without.is_ok(), "{b}: passes only with credentials");
        }
    }
});
