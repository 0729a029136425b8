//! Endpoint grouping: a request URL becomes its target origin plus a route pattern, with ids,
//! UUIDs, hashes, numbers and dates in path segments collapsed to `{id}` and query values to
//! `…`, so that `/v1/items/17?x=1` and `/v1/items/42?x=9` are one endpoint.

/// What a key writes for a path segment that is a value ([`is_id_segment`]).
pub(crate) const ID: &str = "{id}";
/// What a key writes for a segment's path parameters (`;jsessionid=…`).
pub(crate) const PARAMS: &str = ";…";

/// `origin` + route pattern, e.g. `https://api.example.com/v1/items/{id}?page=…`. An unparsable
/// URL is its own endpoint (as written).
pub(crate) fn endpoint_key(url: &str) -> String {
    let Ok(u) = url::Url::parse(url) else {
        return url.to_owned();
    };
    let mut out = u.origin().ascii_serialization();
    let path = u.path();
    for (i, seg) in path.split('/').enumerate() {
        if i == 0 {
            continue;
        }
        out.push('/');
        // Path parameters (`;jsessionid=…`) vary per session like ids: one endpoint.
        let (seg, params) = match seg.split_once(';') {
            Some((s, _)) => (s, true),
            None => (seg, false),
        };
        out.push_str(if is_id_segment(seg) { ID } else { seg });
        if params {
            out.push_str(PARAMS);
        }
    }
    if path.is_empty() {
        out.push('/');
    }
    let mut keys: Vec<String> = u.query_pairs().map(|(k, _)| k.into_owned()).collect();
    keys.sort();
    keys.dedup();
    if !keys.is_empty() {
        out.push('?');
        let parts: Vec<String> = keys.iter().map(|k| format!("{k}=…")).collect();
        out.push_str(&parts.join("&"));
    }
    out
}

/// The path of an endpoint key (after its origin, before its query), as the key writes it.
pub(crate) fn key_path(key: &str) -> &str {
    let after_scheme = key.find("://").map_or(0, |i| i + 3);
    let rest = &key[after_scheme..];
    let path = rest.find('/').map_or("/", |i| &rest[i..]);
    path.split('?').next().unwrap_or(path)
}

/// The part of an endpoint key's path ([`key_path`]) that a server's prefix match covers: up
/// to its first templated part ([`ID`], [`PARAMS`]), without the query.
/// `/v1/items/{id}/tags` → `/v1/items/`.
pub(crate) fn route_prefix(path: &str) -> &str {
    let p = path.split('?').next().unwrap_or(path);
    let cut = [p.find(ID), p.find(PARAMS)]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(p.len());
    &p[..cut]
}

/// Whether a path segment is a value rather than a name: a number, a UUID, a hex hash, a date,
/// or a long token mixing letters and digits. Words (`items`, `d-simple-get-no-acao`, `v1`)
/// stay as they are.
pub(crate) fn is_id_segment(seg: &str) -> bool {
    let s = seg;
    if s.is_empty() {
        return false;
    }
    let all = |f: fn(char) -> bool| s.chars().all(f);
    let digits = s.chars().filter(char::is_ascii_digit).count();
    let letters = s.chars().filter(char::is_ascii_alphabetic).count();
    // Plain numbers.
    if all(|c| c.is_ascii_digit()) {
        return true;
    }
    // UUID: 8-4-4-4-12 hex.
    let parts: Vec<&str> = s.split('-').collect();
    if parts.iter().map(|p| p.len()).eq([8, 4, 4, 4, 12])
        && parts
            .iter()
            .all(|p| p.chars().all(|c| c.is_ascii_hexdigit()))
    {
        return true;
    }
    // Dates: 2024-01-31, 2024_01_31, 20240131T101500Z and similar (digits plus separators).
    if digits >= 6
        && s.chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '-' | '_' | '.' | ':' | 'T' | 'Z'))
    {
        return true;
    }
    // Hex hashes and object ids: 8+ hex characters with at least one digit (so that words made
    // of hex letters, like `facade` or `added`, stay).
    if s.len() >= 8 && all(|c| c.is_ascii_hexdigit()) && digits > 0 {
        return true;
    }
    // Long opaque tokens (base64url, ULIDs): 16+ characters of letters, digits and `-_`, at
    // least a quarter of them digits (route names are words, with few digits if any).
    if s.len() >= 16
        && all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        && digits * 4 >= s.len()
        && letters > 0
    {
        return true;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns() {
        let cases = [
            ("https://a.test/v1/items/17", "https://a.test/v1/items/{id}"),
            (
                "https://a.test/v1/items/42/",
                "https://a.test/v1/items/{id}/",
            ),
            (
                "https://a.test/u/3f2504e0-4f89-11d3-9a0c-0305e82c3301/x",
                "https://a.test/u/{id}/x",
            ),
            (
                "https://a.test/blob/9c1185a5c5e9fc54612808977ee8f548b2258d31",
                "https://a.test/blob/{id}",
            ),
            ("https://a.test/day/2024-01-31", "https://a.test/day/{id}"),
            ("https://a.test/day/20240131", "https://a.test/day/{id}"),
            (
                "https://a.test/s/d-simple-get-no-acao/r",
                "https://a.test/s/d-simple-get-no-acao/r",
            ),
            ("https://a.test/v2/users/me", "https://a.test/v2/users/me"),
            ("https://a.test/facade/added", "https://a.test/facade/added"),
            (
                "https://a.test/t/01ARZ3NDEKTSV4RRFFQ69G5FAV",
                "https://a.test/t/{id}",
            ),
            (
                "https://a.test/search?q=cats&page=2&q=dogs",
                "https://a.test/search?page=…&q=…",
            ),
            ("https://a.test", "https://a.test/"),
            ("http://api.test:8081/r?x=1", "http://api.test:8081/r?x=…"),
            ("not a url", "not a url"),
            // Path parameters vary per session: one endpoint, as ids.
            (
                "https://a.test/cart;jsessionid=0A1B2C3D4E5F",
                "https://a.test/cart;…",
            ),
            ("https://a.test/17;v=2/x", "https://a.test/{id};…/x"),
            ("https://a.test/a%20b/r", "https://a.test/a%20b/r"),
        ];
        for (url, want) in cases {
            assert_eq!(endpoint_key(url), want, "{url}");
        }
    }

    /// The path of a key as the key writes it (`{id}` not percent-encoded, as a URL parser
    /// would write it: the server snippets then matched a literal `%7Bid%7D`).
    #[test]
    fn key_paths() {
        for (key, want) in [
            ("https://a.test/v1/items/{id}?v=…", "/v1/items/{id}"),
            ("https://a.test/", "/"),
            ("https://a.test", "/"),
            ("http://api.test:8081/cart;…", "/cart;…"),
            ("not a url", "/"),
        ] {
            assert_eq!(key_path(key), want, "{key}");
        }
    }

    #[test]
    fn ids_collapse_to_one_endpoint() {
        assert_eq!(
            endpoint_key("https://a.test/v1/items/1"),
            endpoint_key("https://a.test/v1/items/100")
        );
        assert_ne!(
            endpoint_key("https://a.test/v1/items/1"),
            endpoint_key("https://b.test/v1/items/1")
        );
    }

    proptest::proptest! {
        #[test]
        fn any_number_is_an_id(n in 0u64..u64::MAX) {
            proptest::prop_assert!(is_id_segment(&n.to_string()));
        }

        #[test]
        fn never_panics(s in "\\PC*") {
            let _ = endpoint_key(&s);
            let _ = is_id_segment(&s);
        }

        /// The path read back from any key is a path (starts with `/`), without the query,
        /// and part of the key.
        #[test]
        fn key_paths_are_paths_of_their_keys(s in "\\PC*") {
            let key = endpoint_key(&s);
            let path = key_path(&key);
            proptest::prop_assert!(path.starts_with('/'), "{path:?} of {key:?}");
            proptest::prop_assert!(!path.contains('?'));
            proptest::prop_assert!(path == "/" || key.contains(path));
        }
    }
}
