//! A minimal cookie jar per client, fed by the `Set-Cookie` headers the input shows, used for
//! one deduction only: a same-site request that carries no `Cookie` although the jar holds one
//! the browser would attach was not sent with `credentials: 'include'`.

use std::collections::HashMap;
use std::sync::Arc;

use url::Url;

/// Cookies remembered per client; the oldest go first past this (a deduction aid, not a store).
pub(crate) const MAX_COOKIES_PER_CLIENT: usize = 256;

#[derive(Clone, Debug, PartialEq, Eq)]
struct Cookie {
    name: String,
    /// Lower-case domain; for host-only cookies the exact host.
    domain: String,
    host_only: bool,
    path: String,
    secure: bool,
    /// `SameSite=None`: sent cross-site too (where third-party cookies are allowed).
    same_site_none: bool,
}

#[derive(Debug, Default)]
pub(crate) struct CookieJar {
    jars: HashMap<Arc<str>, Vec<Cookie>>,
    /// The last URL a cookie was set from and its host: every `Set-Cookie` line of a
    /// response comes with the same URL, and parsing a long one per line made a response
    /// cost lines x URL length (issue 18).
    last_url: Option<(String, Option<String>)>,
}

fn host_of(url: &Url) -> Option<String> {
    url.host_str()
        .map(|h| h.trim_end_matches('.').to_ascii_lowercase())
}

fn domain_match(host: &str, domain: &str) -> bool {
    // `host` ends with `.` + `domain` (compared in place, no string built per cookie).
    host == domain
        || host
            .strip_suffix(domain)
            .is_some_and(|rest| rest.ends_with('.'))
}

impl CookieJar {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Records a `Set-Cookie` value received from `url` (RFC 6265 §5.2, the parts that matter
    /// here; `Max-Age<=0` deletes).
    pub(crate) fn set(&mut self, client: &Arc<str>, url: &str, value: &str) {
        if self.last_url.as_ref().is_none_or(|(u, _)| u != url) {
            let host = Url::parse(url).ok().and_then(|u| host_of(&u));
            self.last_url = Some((url.to_owned(), host));
        }
        let Some(host) = self.last_url.as_ref().and_then(|(_, h)| h.clone()) else {
            return;
        };
        let mut parts = value.split(';');
        let Some((name, _)) = parts.next().and_then(|nv| nv.split_once('=')) else {
            return;
        };
        let mut c = Cookie {
            name: name.trim().to_owned(),
            domain: host.clone(),
            host_only: true,
            path: "/".into(),
            secure: false,
            same_site_none: false,
        };
        let mut delete = false;
        for attr in parts {
            let (k, v) = attr.split_once('=').unwrap_or((attr, ""));
            let (k, v) = (k.trim().to_ascii_lowercase(), v.trim());
            match k.as_str() {
                "domain" => {
                    let d = v.trim_start_matches('.').to_ascii_lowercase();
                    // A Domain the setting host is not inside is rejected by the browser.
                    if d.is_empty() || !domain_match(&host, &d) {
                        return;
                    }
                    c.domain = d;
                    c.host_only = false;
                }
                "path" if v.starts_with('/') => c.path = v.to_owned(),
                "secure" => c.secure = true,
                "samesite" => c.same_site_none = v.eq_ignore_ascii_case("none"),
                "max-age" => delete = v.parse::<i64>().is_ok_and(|n| n <= 0),
                _ => {}
            }
        }
        let jar = self.jars.entry(client.clone()).or_default();
        jar.retain(|o| !(o.name == c.name && o.domain == c.domain && o.path == c.path));
        if !delete {
            if jar.len() >= MAX_COOKIES_PER_CLIENT {
                jar.remove(0);
            }
            jar.push(c);
        }
    }

    /// Whether a credentialed request from `page_origin` to `url` would carry a cookie from this
    /// jar, counting only cookies that reach it for certain: same-site ones (both hosts inside
    /// the cookie's domain), so that third-party-cookie blocking cannot explain their absence.
    pub(crate) fn would_send(&self, client: &Arc<str>, page_origin: &str, url: &str) -> bool {
        // Only domain cookies can count (`same_site` below): without one, nothing to parse.
        let Some(jar) = self
            .jars
            .get(client)
            .filter(|jar| jar.iter().any(|c| !c.host_only))
        else {
            return false;
        };
        let (Ok(target), Ok(page)) = (Url::parse(url), Url::parse(page_origin)) else {
            return false;
        };
        let (Some(th), Some(ph)) = (host_of(&target), host_of(&page)) else {
            return false;
        };
        // Schemeful same-site: an http page and an https API are cross-site.
        if target.scheme() != page.scheme() {
            return false;
        }
        jar.iter().any(|c| {
            let reaches = if c.host_only {
                th == c.domain
            } else {
                domain_match(&th, &c.domain)
            };
            let same_site = !c.host_only && domain_match(&ph, &c.domain);
            reaches
                && same_site
                && (!c.secure || target.scheme() == "https")
                && target.path().starts_with(&c.path)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_site_domain_cookie_would_be_sent() {
        let c: Arc<str> = Arc::from("c");
        let mut jar = CookieJar::new();
        jar.set(
            &c,
            "http://portal.test:9280/page",
            "sess=1; Domain=portal.test; Path=/; SameSite=Lax",
        );
        assert!(jar.would_send(
            &c,
            "http://portal.test:9280",
            "http://api.portal.test:9282/s/x"
        ));
        // Cross-site: third-party cookie rules could explain a missing Cookie, so no deduction.
        assert!(!jar.would_send(&c, "http://portal.test:9280", "http://svc.example.net/x"));
        // Another client's browser has its own jar.
        assert!(!jar.would_send(
            &Arc::from("d"),
            "http://portal.test:9280",
            "http://api.portal.test:9282/"
        ));
        jar.set(
            &c,
            "http://portal.test:9280/",
            "sess=; Domain=portal.test; Path=/; Max-Age=0",
        );
        assert!(!jar.would_send(
            &c,
            "http://portal.test:9280",
            "http://api.portal.test:9282/s/x"
        ));
    }

    #[test]
    fn foreign_domain_and_secure_cookies_are_not_counted() {
        let c: Arc<str> = Arc::from("c");
        let mut jar = CookieJar::new();
        jar.set(&c, "http://portal.test/", "a=1; Domain=other.test");
        jar.set(&c, "http://portal.test/", "b=1; Domain=portal.test; Secure");
        assert!(!jar.would_send(&c, "http://portal.test", "http://api.portal.test/"));
    }
}
