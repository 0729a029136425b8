//! `corscope explain` through the binary: `--list`, names, pasted console messages of each
//! browser (issue 15 item 7), and the error for an unknown query.

use std::process::Command;

fn corscope(args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_corscope"))
        .args(args)
        .output()
        .expect("corscope runs");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn list_has_every_reason_of_every_browser_and_audit_code_once() {
    let (code, out, _) = corscope(&["explain", "--list"]);
    assert_eq!(code, Some(0));
    let lines: Vec<&str> = out.lines().collect();
    // Every reason, then every audit code.
    assert_eq!(
        lines.len(),
        corscope::cors::explain::all().len() + corscope::audit::CODES.len()
    );
    assert!(
        lines.iter().any(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            f[..3] == ["audit", "CA005", "[low]"]
        }),
        "audit codes not listed: {out}"
    );
    for (browser, name) in [
        ("chromium", "MissingAllowOriginHeader"),
        ("chromium", "PreflightInvalidStatus"),
        ("firefox", "CORSMissingAllowOrigin"),
        ("safari", "RedirectNotAllowedByAccessControlAllowOrigin"),
        ("safari", "MultipleAllowOriginValues"),
    ] {
        assert!(
            lines.iter().any(|l| {
                let mut f = l.split_whitespace();
                f.next() == Some(browser) && f.next() == Some(name)
            }),
            "{browser} {name} not listed"
        );
    }
    // Every listed name explains.
    for l in &lines {
        let mut f = l.split_whitespace();
        let q = format!("{}:{}", f.next().unwrap_or(""), f.next().unwrap_or(""));
        assert_eq!(corscope(&["explain", &q]).0, Some(0), "{q}");
    }
}

/// A name two browsers share is each one's page; `browser:NAME` is one (a bare
/// `MultipleAllowOriginValues` showed Chromium's page alone, though `--list` names Safari's).
#[test]
fn a_name_two_browsers_share_explains_both() {
    let (code, out, _) = corscope(&["explain", "MultipleAllowOriginValues"]);
    assert_eq!(code, Some(0));
    assert!(out.contains("is a Chromium reason name"), "{out}");
    assert!(out.contains("is a Safari (WebKit) reason name"), "{out}");
    let (code, one, _) = corscope(&["explain", "safari:MultipleAllowOriginValues"]);
    assert_eq!(code, Some(0));
    assert!(!one.contains("reason name;"), "{one}");
    assert!(out.contains(&one), "the Safari page is part of both");
}

/// (pasted console text, browser label, reason it must be recognised as)
const PASTED: &[(&str, &str, &str)] = &[
    // Chrome's full line, as DevTools prints it (source prefix included).
    (
        "(index):1 Access to fetch at 'https://api.example.com/v1/items' from origin 'https://app.example.com' has been blocked by CORS policy: No 'Access-Control-Allow-Origin' header is present on the requested resource.",
        "Chromium",
        "MissingAllowOriginHeader",
    ),
    // XHR, after a redirect, with the withCredentials sentence.
    (
        "Access to XMLHttpRequest at 'https://api.example.com/b' (redirected from 'https://api.example.com/a') from origin 'https://app.example.com' has been blocked by CORS policy: The value of the 'Access-Control-Allow-Origin' header in the response must not be the wildcard '*' when the request's credentials mode is 'include'. The credentials mode of requests initiated by the XMLHttpRequest is controlled by the withCredentials attribute.",
        "Chromium",
        "WildcardOriginNotAllowed",
    ),
    (
        "Access to fetch at 'https://api.example.com/x' from origin 'https://app.example.com' has been blocked by CORS policy: Response to preflight request doesn't pass access control check: It does not have HTTP ok status.",
        "Chromium",
        "PreflightInvalidStatus",
    ),
    (
        "Access to fetch at 'https://api.example.com/x' from origin 'https://app.example.com' has been blocked by CORS policy: Request header field x-api-key is not allowed by Access-Control-Allow-Headers in preflight response.",
        "Chromium",
        "HeaderDisallowedByPreflightResponse",
    ),
    (
        "Cross-Origin Request Blocked: The Same Origin Policy disallows reading the remote resource at https://api.example.com/x. (Reason: CORS header ‘Access-Control-Allow-Origin’ missing). Status code: 404.",
        "Firefox",
        "CORSMissingAllowOrigin",
    ),
    // Straight quotes and DevTools' trailing link.
    (
        "Cross-Origin Request Blocked: The Same Origin Policy disallows reading the remote resource at https://api.example.com/x. (Reason: CORS header 'Access-Control-Allow-Origin' does not match 'https://other.example'). [Learn More]",
        "Firefox",
        "CORSAllowOriginNotMatchingOrigin",
    ),
    (
        "Cross-Origin Request Blocked: The Same Origin Policy disallows reading the remote resource at https://api.example.com/x. (Reason: header ‘x-api-key’ is not allowed according to header ‘Access-Control-Allow-Headers’ from CORS preflight response).",
        "Firefox",
        "CORSMissingAllowHeaderFromPreflight",
    ),
    (
        "[Error] Origin https://app.example.com is not allowed by Access-Control-Allow-Origin. Status code: 200",
        "Safari (WebKit)",
        "NotAllowedByAccessControlAllowOrigin",
    ),
    (
        "Cross-origin redirection to https://b.example/ denied by Cross-Origin Resource Sharing policy: Origin https://app.example.com is not allowed by Access-Control-Allow-Origin. Status code: 302",
        "Safari (WebKit)",
        "RedirectNotAllowedByAccessControlAllowOrigin",
    ),
    (
        "Preflight response is not successful. Status code: 403",
        "Safari (WebKit)",
        "PreflightNotSuccessful",
    ),
];

#[test]
fn pasted_console_messages_find_their_reason_in_each_browser() {
    for (text, browser, name) in PASTED {
        let (code, out, err) = corscope(&["explain", text]);
        assert_eq!(code, Some(0), "{text}: {err}");
        let want = format!("(recognised from the console text: {name} [{browser}])");
        assert_eq!(out.lines().next(), Some(want.as_str()), "{text}");
        assert!(
            out.lines().any(|l| l == format!("{name} [{browser}]")),
            "{text}: page not printed"
        );
    }
}

#[test]
fn unknown_query_points_to_the_list() {
    let (code, out, err) = corscope(&["explain", "the server is down"]);
    assert_eq!(code, Some(2));
    assert!(out.is_empty());
    assert!(err.contains("unknown reason 'the server is down'"), "{err}");
    assert!(err.contains("corscope explain --list"), "{err}");
    // A typo still gets its suggestion.
    let (_, _, err) = corscope(&["explain", "MissingAllowOrignHeader"]);
    assert!(
        err.contains("did you mean: MissingAllowOriginHeader"),
        "{err}"
    );
}
