//! Long explanations of every CORS blocking reason (Chromium, Firefox, WebKit names): what it
//! means, common causes and the fix — the text behind `corscope explain`: name lookup, "did
//! you mean", search by pasted console text, and the plain-text rendering of a page. The pages
//! and templates themselves are the reason registry's (`registry.rs`, `docs/reasons/`).
//!
//! The names are Chromium's `Network.CorsError` values, Firefox's console identifiers (the
//! `security.properties` keys without their version digit) and corscope's stable identifiers for
//! WebKit's console templates (Chromium `services/network/public/mojom/cors.mojom`, Firefox
//! `dom/locales/en-US/chrome/security/security.properties`, WebKit
//! `Source/WebCore/loader/CrossOriginAccessControl.cpp`). Console templates are
//! byte-exact with these placeholders: `{url}` (the request URL; for a WebKit redirect, the
//! redirect target), `{origin}` (the page's origin), `{value}` (the offending header value or
//! token), `{status}`, `{method}`, `{header}`, `{schemes}`, and `{target_space}` /
//! `{resource_space}` (IP address spaces: `public`, `private`, `local`/`loopback`).
//!
//! WebKit's `MultipleAllowOriginValues` has the same name as Chromium's. A bare name resolves to
//! the Chromium entry; `safari:MultipleAllowOriginValues` reaches WebKit's.

use std::sync::OnceLock;

use super::browser::{Browser, ALL_BROWSERS};
use super::registry;

/// One reason, as one browser names it: its page (`docs/reasons/<browser>/<Name>.md`) and its
/// console template from the registry.
#[derive(Debug)]
pub struct Explanation {
    /// The identifier, e.g. `MissingAllowOriginHeader`, `CORSMissingAllowOrigin`,
    /// `PreflightNotSuccessful`.
    pub name: &'static str,
    pub browser: Browser,
    /// One line.
    pub summary: &'static str,
    /// The browser's console text, with the placeholders listed in the module docs.
    pub console: &'static str,
    /// Which check failed, on which response, the spec section, and how browsers differ.
    pub meaning: &'static str,
    pub causes: &'static [String],
    /// Steps in order. A line of a step that starts with four spaces is literal (a header line
    /// or a command) and is shown as is.
    pub fix: &'static [String],
    /// The same failure's name in the other browsers (as the recorded truths of
    /// `tests/data/chromium/truth*.json` pair them per scenario).
    pub equivalents: Vec<(Browser, &'static str)>,
}

use Browser::{Chromium, Firefox, Safari};

/// Every page with its console template, in the registry's order.
fn entries() -> &'static [Explanation] {
    static ENTRIES: OnceLock<Vec<Explanation>> = OnceLock::new();
    ENTRIES.get_or_init(|| {
        registry::pages()
            .iter()
            .map(|p| Explanation {
                name: p.name,
                browser: p.browser,
                summary: p.summary,
                // `every_page_has_a_template` keeps the fallback unused.
                console: registry::reason_named(p.browser, p.name).map_or("", |r| r.console),
                meaning: &p.meaning,
                causes: &p.causes,
                fix: &p.fix,
                equivalents: p.equivalents.to_vec(),
            })
            .collect()
    })
}

/// Old names that resolve to a current entry: (alias, browser, canonical name).
const ALIASES: &[(&str, Browser, &str)] = &[
    // Renamed when Private Network Access became Local Network Access (protocol r1581282).
    ("InsecurePrivateNetwork", Chromium, "InsecureLocalNetwork"),
    (
        "InvalidPrivateNetworkAccess",
        Chromium,
        "InvalidLocalNetworkAccess",
    ),
];

/// Every explanation: Chromium's first, then Firefox's, then WebKit's.
pub fn all() -> &'static [Explanation] {
    entries()
}

/// Case-insensitive; accepts Firefox's versioned .properties keys (`CORSMissingAllowOrigin2`,
/// `CORSPreflightDidNotSucceed3`), the `Preflight…`/`Redirect…` prefixed variants, and WebKit
/// identifiers.
///
/// A `browser:` qualifier (`chromium:`, `firefox:`, `safari:`/`webkit:`) restricts the search;
/// without one a name shared by two browsers (`MultipleAllowOriginValues`) gives Chromium's.
pub(crate) fn lookup(name: &str) -> Option<&'static Explanation> {
    let name = name.trim();
    if let Some((q, rest)) = name.split_once([':', '/']) {
        if let Some(b) = Browser::from_qualifier(q) {
            return resolve(Some(b), rest.trim());
        }
    }
    resolve(None, name)
}

#[cfg(test)]
/// Like [`lookup`], but only among `browser`'s names.
pub(crate) fn lookup_in(browser: Browser, name: &str) -> Option<&'static Explanation> {
    resolve(Some(browser), name.trim())
}

fn find_exact(browser: Option<Browser>, name: &str) -> Option<&'static Explanation> {
    let wanted = |b: Browser| allows(browser, b);
    if let Some(e) = entries()
        .iter()
        .find(|e| wanted(e.browser) && e.name.eq_ignore_ascii_case(name))
    {
        return Some(e);
    }
    let &(_, b, canonical) = ALIASES
        .iter()
        .find(|(alias, b, _)| wanted(*b) && alias.eq_ignore_ascii_case(name))?;
    entries()
        .iter()
        .find(|e| e.browser == b && e.name == canonical)
}

/// Whether a search limited to `filter` (None: every browser) may return `b`'s names.
fn allows(filter: Option<Browser>, b: Browser) -> bool {
    filter.is_none_or(|w| w == b)
}

/// Strips an ASCII prefix case-insensitively, keeping a non-empty rest.
fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    // `get` instead of slicing: a multi-byte character at the cut makes it None, not a panic.
    let head = s.get(..prefix.len())?;
    let rest = s.get(prefix.len()..)?;
    (head.eq_ignore_ascii_case(prefix) && !rest.is_empty()).then_some(rest)
}

fn resolve(browser: Option<Browser>, name: &str) -> Option<&'static Explanation> {
    if name.is_empty() {
        return None;
    }
    if let Some(e) = find_exact(browser, name) {
        return Some(e);
    }
    // Firefox's .properties keys carry a version digit (CORSMissingAllowOrigin2) that the
    // console category and MDN slug drop.
    if strip_prefix_ci(name, "CORS").is_some() && allows(browser, Firefox) {
        let base = name.trim_end_matches(|c: char| c.is_ascii_digit());
        if base.len() < name.len() {
            if let Some(e) = find_exact(Some(Firefox), base) {
                return Some(e);
            }
        }
    }
    // The mojom spelling of a Chromium enum value: kMissingAllowOriginHeader.
    if let Some(rest) = name.strip_prefix('k') {
        if rest.starts_with(|c: char| c.is_ascii_uppercase()) {
            if let Some(e) = find_exact(browser, rest) {
                return Some(e);
            }
        }
    }
    // WebKit writes failures on a redirect as "Redirect" + the inner identifier, and people
    // prefix a WebKit or Firefox reason with "Preflight" when it hit the OPTIONS response: the
    // inner reason explains both.
    for prefix in ["Redirect", "Preflight"] {
        if let Some(inner) = strip_prefix_ci(name, prefix) {
            if let Some(e) = find_exact(browser, inner) {
                return Some(e);
            }
        }
    }
    None
}

/// The explanations of the reasons whose console template matches a pasted console line
/// (Chromium's, Firefox's or WebKit's), best first; see [`registry::search_console`].
pub(crate) fn search_console(text: &str) -> Vec<&'static Explanation> {
    registry::search_console(text)
        .into_iter()
        .filter_map(|r| {
            entries()
                .iter()
                .find(|e| e.browser == r.browser && e.name == r.name)
        })
        .collect()
}

/// What `corscope explain QUERY` prints: the page of a reason name, or of the reason(s) a
/// pasted console message belongs to. `None`: neither. Other explainers (audit codes) chain
/// after this one.
pub(crate) fn explain_text(query: &str) -> Option<String> {
    // A bare name two browsers share (`MultipleAllowOriginValues`: Chromium and Safari) is
    // each browser's page; `browser:NAME` picks one.
    let name = query.trim();
    let shared: Vec<&Explanation> = entries()
        .iter()
        .filter(|e| e.name.eq_ignore_ascii_case(name))
        .collect();
    if shared.len() > 1 {
        return Some(pages(&shared, |e| {
            format!(
                "{} is a {} reason name; `corscope explain {}:{}` shows this page alone",
                e.name,
                e.browser.label(),
                e.browser.id(),
                e.name
            )
        }));
    }
    if let Some(e) = lookup(query) {
        return Some(render(e));
    }
    let found = search_console(query);
    if found.is_empty() {
        return None;
    }
    Some(pages(&found, |e| {
        format!(
            "recognised from the console text: {} [{}]",
            e.name,
            e.browser.label()
        )
    }))
}

/// Several explanation pages, each after a parenthesised line saying why it is shown.
fn pages(found: &[&Explanation], why: impl Fn(&Explanation) -> String) -> String {
    let mut out = String::new();
    for e in found {
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str(&format!("({})\n\n", why(e)));
        out.push_str(&render(e));
    }
    out
}

/// One line per reason of every browser, for `corscope explain --list`: browser, name (padded
/// to [`list_width`]), summary. The first two columns, joined by `:`, are a query `corscope
/// explain` answers.
pub(crate) fn list_lines() -> Vec<String> {
    let width = list_width();
    all()
        .iter()
        .map(|e| list_line(e.browser.id(), e.name, e.summary, width))
        .collect()
}

/// One line of `corscope explain --list`: the label (a browser, or the audit's), the name
/// padded to `width`, the summary.
pub(crate) fn list_line(label: &str, name: &str, summary: &str, width: usize) -> String {
    format!("{label:<8}  {name:<width$}  {summary}")
}

/// The width of the name column in [`list_lines`] (the audit's lines below them use it too).
pub(crate) fn list_width() -> usize {
    all().iter().map(|e| e.name.len()).max().unwrap_or(0)
}

/// Names close to `name` (edit distance or common prefix) for "did you mean" on a typo.
pub(crate) fn suggestions(name: &str) -> Vec<&'static str> {
    const MAX: usize = 8;
    // Bounds the edit-distance work on absurd input; real names are under 50 characters.
    const MAX_INPUT: usize = 100;
    let mut name = name.trim();
    if let Some((q, rest)) = name.split_once([':', '/']) {
        if Browser::from_qualifier(q).is_some() {
            name = rest.trim();
        }
    }
    let input: Vec<char> = name
        .chars()
        .take(MAX_INPUT)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    if input.is_empty() {
        return Vec::new();
    }
    let threshold = (input.len() / 5).clamp(1, 6);
    let mut scored: Vec<(usize, usize, &'static str)> = Vec::new();
    let names = entries()
        .iter()
        .map(|e| e.name)
        .chain(ALIASES.iter().map(|a| a.0));
    for cand in names {
        let c: Vec<char> = cand.chars().map(|c| c.to_ascii_lowercase()).collect();
        let dist = levenshtein(&input, &c);
        let common = input.iter().zip(&c).take_while(|(a, b)| a == b).count();
        let shorter = input.len().min(c.len());
        let prefix_like = (input.len() >= 4 && common == input.len())
            || (c.len() >= 6 && common == c.len())
            || (common >= 8 && common * 3 >= shorter * 2);
        if dist <= threshold {
            scored.push((0, dist, cand));
        } else if prefix_like {
            // Ranked after every near-typo; among themselves by closeness.
            scored.push((1, dist, cand));
        }
    }
    scored.sort();
    let mut out: Vec<&'static str> = Vec::new();
    for (_, _, n) in scored {
        // WebKit and Chromium share MultipleAllowOriginValues: list it once.
        if !out.contains(&n) {
            out.push(n);
        }
        if out.len() == MAX {
            break;
        }
    }
    out
}

fn levenshtein(a: &[char], b: &[char]) -> usize {
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.iter().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let subst = prev[j] + usize::from(ca != cb);
            cur[j + 1] = subst.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// Widest line [`render`] produces, in characters.
pub(crate) const RENDER_WIDTH: usize = 100;

/// Indent of the console text; the tests undo it to compare with [`Explanation::console`].
const CONSOLE_INDENT: &str = "    ";

/// The closing line of every page.
pub(crate) const BROWSER_ONLY_NOTE: &str =
    "CORS is enforced by browsers only: curl and server-to-server calls are not affected.";

/// The text `corscope explain NAME` prints: name and browser, summary, console message, meaning,
/// common causes, numbered fix steps, equivalents in other browsers, and a closing line that
/// CORS is enforced by browsers only (curl and server-to-server calls are not affected). Plain
/// text, ≤ 100 columns, no ANSI.
///
/// The console text is wrapped at single spaces: joining its lines (each without its four-space
/// indent) with one space gives the template back byte for byte.
pub(crate) fn render(e: &Explanation) -> String {
    let mut out = String::new();
    push_wrapped(
        &mut out,
        &format!("{} [{}]", e.name, e.browser.label()),
        "",
        "",
    );
    push_wrapped(&mut out, e.summary, "", "");
    out.push('\n');

    out.push_str("Console message (placeholders in braces):\n");
    push_wrapped(&mut out, e.console, CONSOLE_INDENT, CONSOLE_INDENT);
    out.push('\n');
    if let Some(note) = console_note(e) {
        push_wrapped(&mut out, note, "", "");
        out.push('\n');
    }

    out.push_str("What it means:\n");
    push_wrapped(&mut out, e.meaning, "  ", "  ");
    out.push('\n');

    out.push_str("Common causes:\n");
    for cause in e.causes {
        push_item(&mut out, cause, "  - ");
    }
    out.push('\n');

    out.push_str("How to fix it:\n");
    for (i, step) in e.fix.iter().enumerate() {
        push_item(&mut out, step, &format!("  {}. ", i + 1));
    }
    out.push('\n');

    out.push_str("The same failure in other browsers:\n");
    let mut any = false;
    for b in ALL_BROWSERS {
        let names: Vec<&str> = e
            .equivalents
            .iter()
            .filter(|(eb, _)| *eb == b)
            .map(|(_, n)| *n)
            .collect();
        if !names.is_empty() {
            any = true;
            let head = format!("  {}: ", b.label());
            let rest = " ".repeat(head.chars().count());
            push_wrapped(&mut out, &names.join(", "), &head, &rest);
        }
    }
    if !any {
        out.push_str("  none: no other browser reports this failure under a name of its own.\n");
    }
    out.push('\n');
    out.push_str(BROWSER_ONLY_NOTE);
    out.push('\n');
    out
}

/// What the stored template leaves out about the lines around it.
fn console_note(e: &Explanation) -> Option<&'static str> {
    match e.browser {
        Chromium if e.console.starts_with("Access to fetch at") => Some(
            "(For XMLHttpRequest Chromium writes 'XMLHttpRequest' instead of 'fetch', and the \
resource type for other loads; after redirects the URL is followed by \
(redirected from '{first_url}').)",
        ),
        Safari if e.name != "CannotLoad" => Some(
            "(WebKit follows it with 'Fetch API cannot load {url} due to access control \
checks.' (or XMLHttpRequest ...) and 'Failed to load resource: ' + the same reason.)",
        ),
        Firefox if e.console.starts_with("Cross-Origin Request Blocked") => Some(
            "(A failed preflight is followed by a second line, CORSDidNotSucceed, for the \
request it guarded; the first line is the reason.)",
        ),
        _ => None,
    }
}

/// One cause or fix step: prose lines wrap under `marker`; lines starting with four spaces are
/// literal (headers, commands) and keep their indentation under the item.
fn push_item(out: &mut String, item: &str, marker: &str) {
    let hang = " ".repeat(marker.chars().count());
    for (i, line) in item.split('\n').enumerate() {
        let first = if i == 0 { marker } else { hang.as_str() };
        if line.starts_with("    ") {
            let literal = format!("{hang}{line}");
            // A long literal still wraps, so the width promise holds for any input.
            push_wrapped(out, &literal, "", &format!("{hang}      "));
        } else {
            push_wrapped(out, line, first, &hang);
        }
    }
}

/// Greedy word wrap at single spaces to [`RENDER_WIDTH`] characters. A break consumes exactly
/// one space, so joining the lines (minus their prefixes) with one space restores `text`. A word
/// longer than the line is cut, keeping the width promise.
fn push_wrapped(out: &mut String, text: &str, first_prefix: &str, rest_prefix: &str) {
    let mut rest = text;
    let mut prefix = first_prefix;
    loop {
        // At least one character per line, whatever the prefix.
        let avail = RENDER_WIDTH.saturating_sub(prefix.chars().count()).max(1);
        if rest.chars().count() <= avail {
            out.push_str(prefix);
            out.push_str(rest);
            trim_line_end(out);
            out.push('\n');
            return;
        }
        let mut break_at = None;
        let mut cut_at = rest.len();
        let mut prev_space = true;
        for (n, (i, c)) in rest.char_indices().enumerate() {
            if n == avail {
                cut_at = i;
                // A space right after a full line is a break point too.
                if c == ' ' && !prev_space {
                    break_at = Some(i);
                }
                break;
            }
            if c == ' ' && !prev_space {
                break_at = Some(i);
            }
            prev_space = c == ' ';
        }
        out.push_str(prefix);
        // Both cut points come from `char_indices`, and the byte after `i` is the one-byte
        // space found there, so every slice below falls on a character boundary.
        match break_at {
            Some(i) => {
                out.push_str(&rest[..i]);
                rest = &rest[i + 1..];
            }
            None => {
                out.push_str(&rest[..cut_at]);
                rest = &rest[cut_at..];
            }
        }
        trim_line_end(out);
        out.push('\n');
        prefix = rest_prefix;
    }
}

fn trim_line_end(out: &mut String) {
    let keep = out.trim_end_matches(' ').len();
    out.truncate(keep);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every `CorsError` value of Chromium's `services/network/public/mojom/cors.mojom`, the
    /// removed PNA names and the pre-LNA names.
    const CHROMIUM_NAMES: &[&str] = &[
        "DisallowedByMode",
        "InvalidResponse",
        "WildcardOriginNotAllowed",
        "MissingAllowOriginHeader",
        "MultipleAllowOriginValues",
        "InvalidAllowOriginValue",
        "AllowOriginMismatch",
        "InvalidAllowCredentials",
        "CorsDisabledScheme",
        "PreflightInvalidStatus",
        "PreflightDisallowedRedirect",
        "PreflightWildcardOriginNotAllowed",
        "PreflightMissingAllowOriginHeader",
        "PreflightMultipleAllowOriginValues",
        "PreflightInvalidAllowOriginValue",
        "PreflightAllowOriginMismatch",
        "PreflightInvalidAllowCredentials",
        "PreflightMissingAllowExternal",
        "PreflightInvalidAllowExternal",
        "InvalidAllowMethodsPreflightResponse",
        "InvalidAllowHeadersPreflightResponse",
        "MethodDisallowedByPreflightResponse",
        "HeaderDisallowedByPreflightResponse",
        "RedirectContainsCredentials",
        "InsecureLocalNetwork",
        "InsecurePrivateNetwork",
        "InvalidLocalNetworkAccess",
        "InvalidPrivateNetworkAccess",
        "NoCorsRedirectModeNotFollow",
        "LocalNetworkAccessPermissionDenied",
        "PreflightMissingAllowPrivateNetwork",
        "PreflightInvalidAllowPrivateNetwork",
        "UnexpectedPrivateNetworkAccess",
        "PreflightMissingPrivateNetworkAccessId",
        "PreflightMissingPrivateNetworkAccessName",
        "PrivateNetworkAccessPermissionUnavailable",
        "PrivateNetworkAccessPermissionDenied",
    ];

    /// Firefox's identifiers (`security.properties` keys, `nsCORSListenerProxy.cpp`) and the
    /// warning's category.
    const FIREFOX_NAMES: &[&str] = &[
        "CORSDisabled",
        "CORSDidNotSucceed",
        "CORSOriginHeaderNotAdded",
        "CORSExternalRedirectNotAllowed",
        "CORSRequestNotHttp",
        "CORSMissingAllowOrigin",
        "CORSMultipleAllowOriginNotAllowed",
        "CORSAllowOriginNotMatchingOrigin",
        "CORSNotSupportingCredentials",
        "CORSMissingAllowCredentials",
        "CORSPreflightDidNotSucceed",
        "CORSInvalidAllowMethod",
        "CORSMethodNotFound",
        "CORSInvalidAllowHeader",
        "CORSMissingAllowHeaderFromPreflight",
        "CORSAllowHeaderFromPreflightDeprecation",
    ];

    /// The `security.properties` keys that carry a version digit, with their identifier.
    const FIREFOX_KEYS: &[(&str, &str)] = &[
        ("CORSDidNotSucceed2", "CORSDidNotSucceed"),
        ("CORSMissingAllowOrigin2", "CORSMissingAllowOrigin"),
        ("CORSPreflightDidNotSucceed3", "CORSPreflightDidNotSucceed"),
        (
            "CORSMissingAllowHeaderFromPreflight2",
            "CORSMissingAllowHeaderFromPreflight",
        ),
    ];

    /// corscope's names for WebKit's console templates (`CrossOriginAccessControl.cpp`,
    /// `CrossOriginPreflightChecker.cpp`), with every Redirect form of a reason that can occur
    /// on a 3xx.
    const WEBKIT_NAMES: &[&str] = &[
        "NotAllowedByAccessControlAllowOrigin",
        "MultipleAllowOriginValues",
        "CredentialsWithWildcard",
        "AllowCredentialsNotTrue",
        "PreflightNotSuccessful",
        "MethodNotAllowedByAllowMethods",
        "HeaderNotAllowedByAllowHeaders",
        "InvalidAllowMethods",
        "InvalidAllowHeaders",
        "RedirectNotAllowedByAccessControlAllowOrigin",
        "RedirectMultipleAllowOriginValues",
        "RedirectCredentialsWithWildcard",
        "RedirectAllowCredentialsNotTrue",
        "RedirectURLHasCredentials",
        "CannotLoad",
    ];

    /// One row per Chromium name with a Firefox counterpart (the same scenario's reason in
    /// `tests/data/chromium/truth.json` and `truth-firefox.json`).
    const CHROMIUM_TO_FIREFOX: &[(&str, &str)] = &[
        ("MissingAllowOriginHeader", "CORSMissingAllowOrigin"),
        (
            "PreflightMissingAllowOriginHeader",
            "CORSMissingAllowOrigin",
        ),
        (
            "MultipleAllowOriginValues",
            "CORSMultipleAllowOriginNotAllowed",
        ),
        (
            "MultipleAllowOriginValues",
            "CORSAllowOriginNotMatchingOrigin",
        ),
        (
            "PreflightMultipleAllowOriginValues",
            "CORSMultipleAllowOriginNotAllowed",
        ),
        (
            "PreflightMultipleAllowOriginValues",
            "CORSAllowOriginNotMatchingOrigin",
        ),
        (
            "InvalidAllowOriginValue",
            "CORSAllowOriginNotMatchingOrigin",
        ),
        (
            "PreflightInvalidAllowOriginValue",
            "CORSAllowOriginNotMatchingOrigin",
        ),
        ("AllowOriginMismatch", "CORSAllowOriginNotMatchingOrigin"),
        (
            "PreflightAllowOriginMismatch",
            "CORSAllowOriginNotMatchingOrigin",
        ),
        ("WildcardOriginNotAllowed", "CORSNotSupportingCredentials"),
        (
            "PreflightWildcardOriginNotAllowed",
            "CORSNotSupportingCredentials",
        ),
        ("InvalidAllowCredentials", "CORSMissingAllowCredentials"),
        (
            "PreflightInvalidAllowCredentials",
            "CORSMissingAllowCredentials",
        ),
        ("PreflightInvalidStatus", "CORSPreflightDidNotSucceed"),
        (
            "PreflightDisallowedRedirect",
            "CORSExternalRedirectNotAllowed",
        ),
        ("PreflightDisallowedRedirect", "CORSMissingAllowOrigin"),
        (
            "InvalidAllowMethodsPreflightResponse",
            "CORSInvalidAllowMethod",
        ),
        (
            "InvalidAllowHeadersPreflightResponse",
            "CORSInvalidAllowHeader",
        ),
        ("MethodDisallowedByPreflightResponse", "CORSMethodNotFound"),
        (
            "HeaderDisallowedByPreflightResponse",
            "CORSMissingAllowHeaderFromPreflight",
        ),
        ("CorsDisabledScheme", "CORSRequestNotHttp"),
        ("RedirectContainsCredentials", "CORSDidNotSucceed"),
    ];

    fn check_names(browser: Browser, names: &[&str]) {
        for name in names {
            let e = lookup_in(browser, name)
                .unwrap_or_else(|| panic!("{name} does not resolve for {browser:?}"));
            assert_eq!(e.browser, browser, "{name}");
            assert!(lookup(name).is_some(), "{name} needs a qualifier");
        }
    }

    #[test]
    fn every_chromium_name_resolves() {
        check_names(Chromium, CHROMIUM_NAMES);
        assert_eq!(
            lookup("InsecurePrivateNetwork").map(|e| e.name),
            Some("InsecureLocalNetwork")
        );
    }

    #[test]
    fn every_firefox_name_resolves() {
        check_names(Firefox, FIREFOX_NAMES);
    }

    #[test]
    fn every_webkit_name_resolves() {
        check_names(Safari, WEBKIT_NAMES);
    }

    #[test]
    fn every_entry_is_listed_in_a_test_list() {
        // The lists above are the browsers' own; an entry outside them would be invented.
        for e in all() {
            let list = match e.browser {
                Chromium => CHROMIUM_NAMES,
                Firefox => FIREFOX_NAMES,
                Safari => WEBKIT_NAMES,
            };
            assert!(list.contains(&e.name), "{} is not a browser's name", e.name);
        }
        let count = |b| all().iter().filter(|e| e.browser == b).count();
        assert_eq!(count(Chromium), CHROMIUM_NAMES.len() - ALIASES.len());
        assert_eq!(count(Firefox), FIREFOX_NAMES.len());
        assert_eq!(count(Safari), WEBKIT_NAMES.len());
    }

    #[test]
    fn names_are_unique_per_browser() {
        for (i, a) in all().iter().enumerate() {
            for b in &all()[i + 1..] {
                assert!(
                    a.browser != b.browser || !a.name.eq_ignore_ascii_case(b.name),
                    "{} twice",
                    a.name
                );
            }
        }
    }

    #[test]
    fn versioned_firefox_keys_resolve() {
        for (key, id) in FIREFOX_KEYS {
            let e = lookup(key).unwrap_or_else(|| panic!("{key}"));
            assert_eq!((e.browser, e.name), (Firefox, *id));
            assert_eq!(lookup_in(Firefox, key).map(|e| e.name), Some(*id));
        }
        // The digit strip is for Firefox keys only.
        assert!(lookup_in(Chromium, "CORSMissingAllowOrigin2").is_none());
        assert!(lookup("MissingAllowOriginHeader2").is_none());
    }

    #[test]
    fn lookup_is_case_insensitive() {
        let cases = [
            (
                "missingalloworiginheader",
                Chromium,
                "MissingAllowOriginHeader",
            ),
            (
                "MISSINGALLOWORIGINHEADER",
                Chromium,
                "MissingAllowOriginHeader",
            ),
            ("corsmissingalloworigin2", Firefox, "CORSMissingAllowOrigin"),
            (
                "CORSPREFLIGHTDIDNOTSUCCEED3",
                Firefox,
                "CORSPreflightDidNotSucceed",
            ),
            ("preflightnotsuccessful", Safari, "PreflightNotSuccessful"),
            ("  AllowOriginMismatch  ", Chromium, "AllowOriginMismatch"),
        ];
        for (input, browser, name) in cases {
            let e = lookup(input).unwrap_or_else(|| panic!("{input}"));
            assert_eq!((e.browser, e.name), (browser, name), "{input}");
        }
    }

    #[test]
    fn shared_name_needs_a_qualifier_for_webkit() {
        assert_eq!(
            lookup("MultipleAllowOriginValues").map(|e| e.browser),
            Some(Chromium)
        );
        for q in ["safari:", "WebKit:", "wk/", "safari: "] {
            let input = format!("{q}multiplealloworiginvalues");
            assert_eq!(lookup(&input).map(|e| e.browser), Some(Safari), "{input}");
        }
        assert_eq!(
            lookup("firefox:CORSMissingAllowOrigin2").map(|e| e.name),
            Some("CORSMissingAllowOrigin")
        );
        // A qualifier limits the search.
        assert!(lookup("firefox:MissingAllowOriginHeader").is_none());
    }

    #[test]
    fn prefixed_variants_resolve() {
        let cases = [
            // WebKit: a Redirect form with no entry of its own falls back to the inner reason.
            (
                "RedirectPreflightNotSuccessful",
                Safari,
                "PreflightNotSuccessful",
            ),
            (
                "PreflightNotAllowedByAccessControlAllowOrigin",
                Safari,
                "NotAllowedByAccessControlAllowOrigin",
            ),
            (
                "redirectnotallowedbyaccesscontrolalloworigin",
                Safari,
                "RedirectNotAllowedByAccessControlAllowOrigin",
            ),
            (
                "PreflightCredentialsWithWildcard",
                Safari,
                "CredentialsWithWildcard",
            ),
            (
                "kMissingAllowOriginHeader",
                Chromium,
                "MissingAllowOriginHeader",
            ),
            (
                "kPreflightInvalidStatus",
                Chromium,
                "PreflightInvalidStatus",
            ),
        ];
        for (input, browser, name) in cases {
            let e = lookup(input).unwrap_or_else(|| panic!("{input}"));
            assert_eq!((e.browser, e.name), (browser, name), "{input}");
        }
        for bad in ["", "Preflight", "Redirect", "CORS", "k", "nonsense", "é"] {
            assert!(lookup(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn every_entry_is_complete() {
        for e in all() {
            assert!(!e.causes.is_empty(), "{}: no cause", e.name);
            assert!(!e.fix.is_empty(), "{}: no fix step", e.name);
            assert!(
                !e.summary.is_empty() && !e.summary.contains('\n'),
                "{}",
                e.name
            );
            assert!(e.summary.chars().count() <= RENDER_WIDTH, "{}", e.name);
            assert!(
                !e.console.is_empty() && !e.console.contains('\n'),
                "{}",
                e.name
            );
            assert!(e.meaning.len() > 100, "{}: meaning too short", e.name);
            for s in e.causes.iter().chain(e.fix) {
                assert!(!s.trim().is_empty(), "{}: empty item", e.name);
            }
        }
    }

    #[test]
    fn meanings_cite_the_spec_where_a_spec_rule_applies() {
        // Browser-specific reasons (prefs, extensions, LNA/PNA) have no Fetch section.
        let no_spec = [
            "CORSDisabled",
            "CORSOriginHeaderNotAdded",
            "CORSDidNotSucceed",
            "InvalidResponse",
        ];
        for e in all() {
            let lna = e.meaning.contains("Network Access") || e.meaning.contains("RFC1918");
            if !no_spec.contains(&e.name) && !lna {
                assert!(e.meaning.contains("Fetch #"), "{}: no spec anchor", e.name);
            }
        }
    }

    #[test]
    fn every_equivalent_resolves_in_its_browser() {
        let mut checked = 0;
        for e in all() {
            for &(b, name) in &e.equivalents {
                assert_ne!(b, e.browser, "{}: equivalent in its own browser", e.name);
                let target =
                    lookup_in(b, name).unwrap_or_else(|| panic!("{}: {name} unknown", e.name));
                assert_eq!(target.browser, b);
                assert_eq!(target.name, name, "{}: use the canonical name", e.name);
                checked += 1;
            }
        }
        assert!(checked > 100, "only {checked} equivalents");
    }

    #[test]
    fn chromium_firefox_mapping_follows_the_recorded_truths() {
        for (cr_name, fx_name) in CHROMIUM_TO_FIREFOX {
            let cr_e = lookup_in(Chromium, cr_name).unwrap_or_else(|| panic!("{cr_name}"));
            assert!(
                cr_e.equivalents.contains(&(Firefox, fx_name)),
                "{cr_name} should list {fx_name}"
            );
        }
    }

    #[test]
    fn consoles_match_the_corpus() {
        // Texts recorded in tests/data/chromium/truth*.json, with placeholders.
        let recorded = [
            (
                Chromium,
                "MissingAllowOriginHeader",
                "Access to fetch at '{url}' from origin '{origin}' has been blocked by CORS \
policy: No 'Access-Control-Allow-Origin' header is present on the requested resource.",
            ),
            (
                Chromium,
                "PreflightInvalidStatus",
                "Access to fetch at '{url}' from origin '{origin}' has been blocked by CORS \
policy: Response to preflight request doesn't pass access control check: It does not have HTTP \
ok status.",
            ),
            (
                Firefox,
                "CORSMissingAllowOrigin",
                "Cross-Origin Request Blocked: The Same Origin Policy disallows reading the \
remote resource at {url}. (Reason: CORS header ‘Access-Control-Allow-Origin’ missing). Status \
code: {status}.",
            ),
            (
                Safari,
                "RedirectNotAllowedByAccessControlAllowOrigin",
                "Cross-origin redirection to {url} denied by Cross-Origin Resource Sharing \
policy: Origin {origin} is not allowed by Access-Control-Allow-Origin. Status code: {status}",
            ),
        ];
        for (b, name, text) in recorded {
            assert_eq!(lookup_in(b, name).map(|e| e.console), Some(text), "{name}");
        }
        for e in all().iter().filter(|e| e.browser == Firefox) {
            // Firefox quotes typographically; an ASCII quote means a mistyped template.
            assert!(!e.console.contains('\''), "{}", e.name);
        }
    }

    /// Undoes the console wrapping of `render`.
    fn console_block(page: &str) -> String {
        let mut lines = page
            .lines()
            .skip_while(|l| !l.starts_with("Console message"))
            .skip(1)
            .take_while(|l| l.starts_with(CONSOLE_INDENT));
        let mut text = String::new();
        if let Some(first) = lines.next() {
            text.push_str(&first[CONSOLE_INDENT.len()..]);
        }
        for l in lines {
            text.push(' ');
            text.push_str(&l[CONSOLE_INDENT.len()..]);
        }
        text
    }

    #[test]
    fn render_contains_the_console_text_and_fits() {
        for e in all() {
            let page = render(e);
            assert_eq!(console_block(&page), e.console, "{}", e.name);
            for line in page.lines() {
                assert!(
                    line.chars().count() <= RENDER_WIDTH,
                    "{}: {} columns: {line}",
                    e.name,
                    line.chars().count()
                );
                assert_eq!(line.trim_end(), line, "{}: trailing space", e.name);
            }
            assert!(!page.contains('\x1b') && !page.contains('\t'), "{}", e.name);
            assert!(page.starts_with(e.name), "{}", e.name);
            assert!(page.contains(e.browser.label()));
            assert!(page.contains("  1. "), "{}", e.name);
            assert!(page.trim_end().ends_with(BROWSER_ONLY_NOTE), "{}", e.name);
            for (_, n) in &e.equivalents {
                assert!(page.contains(n), "{}: equivalent {n} not shown", e.name);
            }
        }
    }

    #[test]
    fn render_keeps_example_header_lines_intact() {
        let e = lookup("PreflightInvalidStatus").expect("listed in CHROMIUM_NAMES");
        let page = render(e);
        assert!(page
            .lines()
            .any(|l| l.trim() == "Access-Control-Allow-Methods: GET, POST, PUT, DELETE"));
        assert!(page
            .lines()
            .any(|l| l.trim() == "Access-Control-Max-Age: 86400"));
    }

    #[test]
    fn wrapping_round_trips_and_cuts_long_words() {
        // A double space survives (the break takes one space), and a 250-character word is cut.
        let long = "x".repeat(250);
        let text = format!("a  b {long} c");
        let mut out = String::new();
        push_wrapped(&mut out, &text, "", "");
        let lines: Vec<&str> = out.lines().collect();
        assert!(lines.iter().all(|l| l.chars().count() <= RENDER_WIDTH));
        assert_eq!(lines.first(), Some(&"a  b"));
        assert_eq!(lines.concat(), format!("a  b{long} c"));
    }

    #[test]
    fn suggestions_find_typos_and_prefixes() {
        let s = suggestions("MissingAllowOrignHeader");
        assert_eq!(s.first(), Some(&"MissingAllowOriginHeader"), "{s:?}");
        assert!(suggestions("corsmissingalloworign").contains(&"CORSMissingAllowOrigin"));
        let s = suggestions("safari:PreflightNotSucessful");
        assert!(s.contains(&"PreflightNotSuccessful"), "{s:?}");
        let s = suggestions("PreflightInvalid");
        assert!(s.contains(&"PreflightInvalidStatus"), "{s:?}");
        assert!(s.len() <= 8);
        assert!(suggestions("").is_empty());
        assert!(suggestions("zzzzzzzzzzzzzzzzzzzzzzzz").is_empty());
        // Shared name listed once.
        let s = suggestions("MultipleAllowOriginValue");
        assert_eq!(
            s.iter()
                .filter(|n| **n == "MultipleAllowOriginValues")
                .count(),
            1
        );
    }
}
