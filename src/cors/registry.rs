//! The reason registry: one table that says, for each browser, under which name and with which
//! console template it reports each failure corscope decides (keyed by failure kind and stage),
//! the fix template of each failure kind, and the explanation pages (`docs/reasons/<browser>/
//! <Name>.md`, compiled in by `build.rs`). Records, `corscope explain` and the console-message
//! search all read it, so a name, a message and its page cannot drift apart.
//!
//! Templates are byte-exact with `{placeholder}`s: `{url}`, `{origin}`, `{value}`, `{status}`,
//! `{method}`, `{header}`, `{schemes}` (and, for reasons corscope documents but never decides,
//! `{target_space}` / `{resource_space}`). What each placeholder holds is the browser's choice
//! (WebKit names the request's origin, Chromium the page's; see `Blocked::placeholder`).

use std::borrow::Cow;
use std::sync::OnceLock;

use super::browser::Browser;

/// A failed check, without its values: the key of the registry (see `reason::Failure`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Kind {
    AllowOriginMissing,
    WildcardWithCredentials,
    AllowOriginMultiple,
    AllowOriginMismatch,
    AllowOriginInvalid,
    AllowCredentialsNotTrue,
    PreflightStatus,
    PreflightRedirect,
    AllowMethodsInvalid,
    AllowHeadersInvalid,
    MethodNotAllowed,
    HeaderNotAllowed,
    RedirectCredentials,
    DisallowedByMode,
    DisabledScheme,
}

impl Kind {
    #[cfg(test)]
    pub(crate) const ALL: [Kind; 15] = [
        Kind::AllowOriginMissing,
        Kind::WildcardWithCredentials,
        Kind::AllowOriginMultiple,
        Kind::AllowOriginMismatch,
        Kind::AllowOriginInvalid,
        Kind::AllowCredentialsNotTrue,
        Kind::PreflightStatus,
        Kind::PreflightRedirect,
        Kind::AllowMethodsInvalid,
        Kind::AllowHeadersInvalid,
        Kind::MethodNotAllowed,
        Kind::HeaderNotAllowed,
        Kind::RedirectCredentials,
        Kind::DisallowedByMode,
        Kind::DisabledScheme,
    ];
}

/// A set of `reason::Stage`s, as a bit mask.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Stages(u8);

impl Stages {
    const REQUEST: u8 = 1;
    const PREFLIGHT_BIT: u8 = 2;
    const REDIRECT_BIT: u8 = 4;
    const ACTUAL: u8 = 8;
    pub(crate) const ANY: Stages = Stages(15);
    pub(crate) const PREFLIGHT: Stages = Stages(Self::PREFLIGHT_BIT);
    pub(crate) const NOT_PREFLIGHT: Stages =
        Stages(Self::REQUEST | Self::REDIRECT_BIT | Self::ACTUAL);
    pub(crate) const REDIRECT: Stages = Stages(Self::REDIRECT_BIT);
    pub(crate) const NOT_REDIRECT: Stages =
        Stages(Self::REQUEST | Self::PREFLIGHT_BIT | Self::ACTUAL);

    pub(crate) fn contains(self, stage: super::reason::Stage) -> bool {
        use super::reason::Stage;
        let bit = match stage {
            Stage::Request => Self::REQUEST,
            Stage::Preflight => Self::PREFLIGHT_BIT,
            Stage::Redirect => Self::REDIRECT_BIT,
            Stage::Actual => Self::ACTUAL,
        };
        self.0 & bit != 0
    }
}

/// A failure kind at some stages.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Case {
    pub kind: Kind,
    pub stages: Stages,
}

/// One browser's name for one or more failures, with its console template.
#[derive(Debug)]
pub(crate) struct Reason {
    pub browser: Browser,
    /// The browser's identifier: Chromium's `Network.CorsError` value, Firefox's console
    /// identifier (its `security.properties` key without the version digit), corscope's stable
    /// name for a WebKit console template. Empty where the browser gives none (Firefox's
    /// TypeError for a same-origin-mode request).
    pub name: &'static str,
    pub console: &'static str,
    /// The failures corscope reports under this name; empty for names documented only
    /// (Local Network Access, Firefox's preference and extension failures...).
    pub when: &'static [Case],
    /// The placeholder whose value is the failed parameter (DevTools' `failedParameter`).
    pub parameter: Option<&'static str>,
    /// Chromium appends [`XHR_CREDENTIALS_NOTE`] when XMLHttpRequest made the request.
    pub xhr_credentials_note: bool,
}

/// Chromium's sentence after a credentials failure of an XMLHttpRequest.
pub(crate) const XHR_CREDENTIALS_NOTE: &str = " The credentials mode of requests initiated by the XMLHttpRequest is controlled by the withCredentials attribute.";

/// Chromium's console frame (`cors_error_string.cc`) as written for fetch(): other initiators
/// and redirects change its first words (see `reason.rs`).
pub(crate) const CHROMIUM_FRAME: &str =
    "Access to fetch at '{url}' from origin '{origin}' has been blocked by CORS policy: ";

/// The schemes Chromium 156 lists in `CorsDisabledScheme`.
pub(crate) const CHROMIUM_CORS_SCHEMES: &str =
    "chrome, chrome-extension, chrome-untrusted, data, http, https, isolated-app";

macro_rules! cr {
    ($detail:tt) => {
        concat!(
            "Access to fetch at '{url}' from origin '{origin}' has been blocked by CORS policy: ",
            $detail
        )
    };
}

/// The same frame for the `Preflight*` reasons, which Chromium prefixes.
macro_rules! cr_pf {
    ($detail:tt) => {
        concat!(
            "Access to fetch at '{url}' from origin '{origin}' has been blocked by CORS policy: ",
            "Response to preflight request doesn't pass access control check: ",
            $detail
        )
    };
}

/// Firefox's frame (`security.properties`, CORS* keys).
macro_rules! fx {
    ($reason:tt) => {
        concat!(
            "Cross-Origin Request Blocked: The Same Origin Policy disallows reading the remote ",
            "resource at {url}. (Reason: ",
            $reason,
            ")."
        )
    };
}

/// Firefox's frame for the keys that append the status code.
macro_rules! fx_status {
    ($reason:tt) => {
        concat!(
            "Cross-Origin Request Blocked: The Same Origin Policy disallows reading the remote ",
            "resource at {url}. (Reason: ",
            $reason,
            "). Status code: {status}."
        )
    };
}

/// WebKit's reason line for a failure on a redirect (3xx) response.
macro_rules! wk_redirect {
    ($inner:tt) => {
        concat!(
            "Cross-origin redirection to {url} denied by Cross-Origin Resource Sharing policy: ",
            $inner
        )
    };
}

/// Every name of every browser: Chromium's (`cors.mojom` `CorsError`), Firefox's
/// (`security.properties`), WebKit's (corscope's names for its console templates).
/// A (kind, stage, browser) is found at its first row; the first row of a name gives the
/// console template its explanation page shows.
pub(crate) static REASONS: &[Reason] = &[
    Reason {
        browser: Browser::Chromium,
        name: "DisallowedByMode",
        console: "Fetch API cannot load {url}. Request mode is \"same-origin\" but the URL's \
origin is not same as the request origin {origin}.",
        when: &[Case {
            kind: Kind::DisallowedByMode,
            stages: Stages::ANY,
        }],
        parameter: None,
        xhr_credentials_note: false,
    },
    Reason {
        browser: Browser::Chromium,
        name: "InvalidResponse",
        console: cr!("The response is invalid."),
        when: &[],
        parameter: None,
        xhr_credentials_note: false,
    },
    Reason {
        browser: Browser::Chromium,
        name: "WildcardOriginNotAllowed",
        console: cr!(
            "The value of the 'Access-Control-Allow-Origin' header in the response must \
not be the wildcard '*' when the request's credentials mode is 'include'."
        ),
        when: &[Case {
            kind: Kind::WildcardWithCredentials,
            stages: Stages::NOT_PREFLIGHT,
        }],
        parameter: None,
        xhr_credentials_note: true,
    },
    Reason {
        browser: Browser::Chromium,
        name: "MissingAllowOriginHeader",
        console: cr!(
            "No 'Access-Control-Allow-Origin' header is present on the requested \
resource."
        ),
        when: &[Case {
            kind: Kind::AllowOriginMissing,
            stages: Stages::NOT_PREFLIGHT,
        }],
        parameter: None,
        xhr_credentials_note: false,
    },
    Reason {
        browser: Browser::Chromium,
        name: "MultipleAllowOriginValues",
        console: cr!(
            "The 'Access-Control-Allow-Origin' header contains multiple values '{value}', \
but only one is allowed. Have the server send the header with a valid value."
        ),
        when: &[Case {
            kind: Kind::AllowOriginMultiple,
            stages: Stages::NOT_PREFLIGHT,
        }],
        parameter: Some("value"),
        xhr_credentials_note: false,
    },
    Reason {
        browser: Browser::Chromium,
        name: "InvalidAllowOriginValue",
        console: cr!(
            "The 'Access-Control-Allow-Origin' header contains the invalid value \
'{value}'. Have the server send the header with a valid value."
        ),
        when: &[Case {
            kind: Kind::AllowOriginInvalid,
            stages: Stages::NOT_PREFLIGHT,
        }],
        parameter: Some("value"),
        xhr_credentials_note: false,
    },
    Reason {
        browser: Browser::Chromium,
        name: "AllowOriginMismatch",
        console: cr!(
            "The 'Access-Control-Allow-Origin' header has a value '{value}' that is not \
equal to the supplied origin. Have the server send the header with a valid value."
        ),
        when: &[Case {
            kind: Kind::AllowOriginMismatch,
            stages: Stages::NOT_PREFLIGHT,
        }],
        parameter: Some("value"),
        xhr_credentials_note: false,
    },
    Reason {
        browser: Browser::Chromium,
        name: "InvalidAllowCredentials",
        console: cr!(
            "The value of the 'Access-Control-Allow-Credentials' header in the response \
is '{value}' which must be 'true' when the request's credentials mode is 'include'."
        ),
        when: &[Case {
            kind: Kind::AllowCredentialsNotTrue,
            stages: Stages::NOT_PREFLIGHT,
        }],
        parameter: Some("value"),
        xhr_credentials_note: true,
    },
    Reason {
        browser: Browser::Chromium,
        name: "CorsDisabledScheme",
        console: cr!(
            "Cross origin requests are only supported for protocol schemes: \
{schemes}."
        ),
        when: &[Case {
            kind: Kind::DisabledScheme,
            stages: Stages::ANY,
        }],
        parameter: None,
        xhr_credentials_note: false,
    },
    Reason {
        browser: Browser::Chromium,
        name: "PreflightInvalidStatus",
        console: cr_pf!("It does not have HTTP ok status."),
        when: &[Case {
            kind: Kind::PreflightStatus,
            stages: Stages::ANY,
        }],
        parameter: None,
        xhr_credentials_note: false,
    },
    Reason {
        browser: Browser::Chromium,
        name: "PreflightDisallowedRedirect",
        console: cr_pf!("Redirect is not allowed for a preflight request."),
        when: &[Case {
            kind: Kind::PreflightRedirect,
            stages: Stages::ANY,
        }],
        parameter: None,
        xhr_credentials_note: false,
    },
    Reason {
        browser: Browser::Chromium,
        name: "PreflightWildcardOriginNotAllowed",
        console: cr_pf!(
            "The value of the 'Access-Control-Allow-Origin' header in the response \
must not be the wildcard '*' when the request's credentials mode is 'include'."
        ),
        when: &[Case {
            kind: Kind::WildcardWithCredentials,
            stages: Stages::PREFLIGHT,
        }],
        parameter: None,
        xhr_credentials_note: true,
    },
    Reason {
        browser: Browser::Chromium,
        name: "PreflightMissingAllowOriginHeader",
        console: cr_pf!(
            "No 'Access-Control-Allow-Origin' header is present on the requested \
resource."
        ),
        when: &[Case {
            kind: Kind::AllowOriginMissing,
            stages: Stages::PREFLIGHT,
        }],
        parameter: None,
        xhr_credentials_note: false,
    },
    Reason {
        browser: Browser::Chromium,
        name: "PreflightMultipleAllowOriginValues",
        console: cr_pf!(
            "The 'Access-Control-Allow-Origin' header contains multiple values \
'{value}', but only one is allowed. Have the server send the header with a valid value."
        ),
        when: &[Case {
            kind: Kind::AllowOriginMultiple,
            stages: Stages::PREFLIGHT,
        }],
        parameter: Some("value"),
        xhr_credentials_note: false,
    },
    Reason {
        browser: Browser::Chromium,
        name: "PreflightInvalidAllowOriginValue",
        console: cr_pf!(
            "The 'Access-Control-Allow-Origin' header contains the invalid value \
'{value}'. Have the server send the header with a valid value."
        ),
        when: &[Case {
            kind: Kind::AllowOriginInvalid,
            stages: Stages::PREFLIGHT,
        }],
        parameter: Some("value"),
        xhr_credentials_note: false,
    },
    Reason {
        browser: Browser::Chromium,
        name: "PreflightAllowOriginMismatch",
        console: cr_pf!(
            "The 'Access-Control-Allow-Origin' header has a value '{value}' that is \
not equal to the supplied origin. Have the server send the header with a valid value."
        ),
        when: &[Case {
            kind: Kind::AllowOriginMismatch,
            stages: Stages::PREFLIGHT,
        }],
        parameter: Some("value"),
        xhr_credentials_note: false,
    },
    Reason {
        browser: Browser::Chromium,
        name: "PreflightInvalidAllowCredentials",
        console: cr_pf!(
            "The value of the 'Access-Control-Allow-Credentials' header in the \
response is '{value}' which must be 'true' when the request's credentials mode is 'include'."
        ),
        when: &[Case {
            kind: Kind::AllowCredentialsNotTrue,
            stages: Stages::PREFLIGHT,
        }],
        parameter: Some("value"),
        xhr_credentials_note: true,
    },
    Reason {
        browser: Browser::Chromium,
        name: "PreflightMissingAllowExternal",
        console: cr_pf!(
            "No 'Access-Control-Allow-External' header was present in the preflight \
response for this external request (This is an experimental header which is defined in \
'https://wicg.github.io/cors-rfc1918/')."
        ),
        when: &[],
        parameter: None,
        xhr_credentials_note: false,
    },
    Reason {
        browser: Browser::Chromium,
        name: "PreflightInvalidAllowExternal",
        console: cr_pf!(
            "The 'Access-Control-Allow-External' header in the preflight response for \
this external request had a value of '{value}',  not 'true' (This is an experimental header \
which is defined in 'https://wicg.github.io/cors-rfc1918/')."
        ),
        when: &[],
        parameter: None,
        xhr_credentials_note: false,
    },
    Reason {
        browser: Browser::Chromium,
        name: "InvalidAllowMethodsPreflightResponse",
        console: cr!(
            "Cannot parse Access-Control-Allow-Methods response header field in \
preflight response."
        ),
        when: &[Case {
            kind: Kind::AllowMethodsInvalid,
            stages: Stages::ANY,
        }],
        parameter: None,
        xhr_credentials_note: false,
    },
    Reason {
        browser: Browser::Chromium,
        name: "InvalidAllowHeadersPreflightResponse",
        console: cr!(
            "Cannot parse Access-Control-Allow-Headers response header field in \
preflight response."
        ),
        when: &[Case {
            kind: Kind::AllowHeadersInvalid,
            stages: Stages::ANY,
        }],
        parameter: None,
        xhr_credentials_note: false,
    },
    Reason {
        browser: Browser::Chromium,
        name: "MethodDisallowedByPreflightResponse",
        console: cr!(
            "Method {method} is not allowed by Access-Control-Allow-Methods in preflight \
response."
        ),
        when: &[Case {
            kind: Kind::MethodNotAllowed,
            stages: Stages::ANY,
        }],
        parameter: Some("method"),
        xhr_credentials_note: false,
    },
    Reason {
        browser: Browser::Chromium,
        name: "HeaderDisallowedByPreflightResponse",
        console: cr!(
            "Request header field {header} is not allowed by Access-Control-Allow-Headers \
in preflight response."
        ),
        when: &[Case {
            kind: Kind::HeaderNotAllowed,
            stages: Stages::ANY,
        }],
        parameter: Some("header"),
        xhr_credentials_note: false,
    },
    Reason {
        browser: Browser::Chromium,
        name: "RedirectContainsCredentials",
        console: cr!(
            "Redirect location '{value}' contains a username and password, which is \
disallowed for cross-origin requests."
        ),
        when: &[Case {
            kind: Kind::RedirectCredentials,
            stages: Stages::ANY,
        }],
        parameter: Some("value"),
        xhr_credentials_note: false,
    },
    Reason {
        browser: Browser::Chromium,
        name: "InsecureLocalNetwork",
        console: cr!(
            "The request client is not a secure context and the resource is in \
more-private address space `{resource_space}`."
        ),
        when: &[],
        parameter: None,
        xhr_credentials_note: false,
    },
    Reason {
        browser: Browser::Chromium,
        name: "InvalidLocalNetworkAccess",
        console: cr!(
            "Request had a target IP address space of `{target_space}` yet the resource \
is in address space `{resource_space}`."
        ),
        when: &[],
        parameter: None,
        xhr_credentials_note: false,
    },
    Reason {
        browser: Browser::Chromium,
        name: "NoCorsRedirectModeNotFollow",
        console: "Fetch API cannot load {url}. Request mode is \"no-cors\" but the redirect mode \
is not \"follow\".",
        when: &[],
        parameter: None,
        xhr_credentials_note: false,
    },
    Reason {
        browser: Browser::Chromium,
        name: "LocalNetworkAccessPermissionDenied",
        console: cr!(
            "Permission was denied for this request to access the `{target_space}` \
address space."
        ),
        when: &[],
        parameter: None,
        xhr_credentials_note: false,
    },
    Reason {
        browser: Browser::Chromium,
        name: "PreflightMissingAllowPrivateNetwork",
        console: cr_pf!(
            "No 'Access-Control-Allow-Private-Network' header was present in the \
preflight response for this private network request targeting the `{target_space}` address \
space."
        ),
        when: &[],
        parameter: None,
        xhr_credentials_note: false,
    },
    Reason {
        browser: Browser::Chromium,
        name: "PreflightInvalidAllowPrivateNetwork",
        console: cr_pf!(
            "The 'Access-Control-Allow-Private-Network' header in the preflight \
response for this private network request targeting the `{target_space}` address space had a \
value of '{value}',  not 'true'."
        ),
        when: &[],
        parameter: None,
        xhr_credentials_note: false,
    },
    Reason {
        browser: Browser::Chromium,
        name: "UnexpectedPrivateNetworkAccess",
        console: cr!(
            "Request had no target IP address space, yet the resource is in address \
space `{resource_space}`."
        ),
        when: &[],
        parameter: None,
        xhr_credentials_note: false,
    },
    Reason {
        browser: Browser::Chromium,
        name: "PreflightMissingPrivateNetworkAccessId",
        console: cr!(
            "No 'Private-Network-Access-Id' header was present in the preflight response \
for this private network request targeting the `{target_space}` address space."
        ),
        when: &[],
        parameter: None,
        xhr_credentials_note: false,
    },
    Reason {
        browser: Browser::Chromium,
        name: "PreflightMissingPrivateNetworkAccessName",
        console: cr!(
            "No 'Private-Network-Access-Name' header was present in the preflight \
response for this private network request targeting the `{target_space}` address space."
        ),
        when: &[],
        parameter: None,
        xhr_credentials_note: false,
    },
    Reason {
        browser: Browser::Chromium,
        name: "PrivateNetworkAccessPermissionUnavailable",
        console: cr!(
            "Unable to ask for permission to access the `{target_space}` IP address \
space."
        ),
        when: &[],
        parameter: None,
        xhr_credentials_note: false,
    },
    Reason {
        browser: Browser::Chromium,
        name: "PrivateNetworkAccessPermissionDenied",
        console: cr!(
            "Permission was denied for this request to access the `{target_space}` \
address space."
        ),
        when: &[],
        parameter: None,
        xhr_credentials_note: false,
    },
    Reason {
        browser: Browser::Firefox,
        name: "CORSDisabled",
        console: fx!("CORS disabled"),
        when: &[],
        parameter: None,
        xhr_credentials_note: false,
    },
    Reason {
        browser: Browser::Firefox,
        name: "CORSDidNotSucceed",
        console: fx_status!("CORS request did not succeed"),
        when: &[Case {
            kind: Kind::RedirectCredentials,
            stages: Stages::ANY,
        }],
        parameter: None,
        xhr_credentials_note: false,
    },
    Reason {
        browser: Browser::Firefox,
        name: "CORSOriginHeaderNotAdded",
        console: fx!("CORS header ‘Origin’ cannot be added"),
        when: &[],
        parameter: None,
        xhr_credentials_note: false,
    },
    Reason {
        browser: Browser::Firefox,
        name: "CORSExternalRedirectNotAllowed",
        console: fx!("CORS request external redirect not allowed"),
        when: &[Case {
            kind: Kind::PreflightRedirect,
            stages: Stages::ANY,
        }],
        parameter: None,
        xhr_credentials_note: false,
    },
    Reason {
        browser: Browser::Firefox,
        name: "CORSRequestNotHttp",
        console: fx!("CORS request not http"),
        when: &[Case {
            kind: Kind::DisabledScheme,
            stages: Stages::ANY,
        }],
        parameter: None,
        xhr_credentials_note: false,
    },
    Reason {
        browser: Browser::Firefox,
        name: "CORSMissingAllowOrigin",
        console: fx_status!("CORS header ‘Access-Control-Allow-Origin’ missing"),
        when: &[Case {
            kind: Kind::AllowOriginMissing,
            stages: Stages::ANY,
        }],
        parameter: None,
        xhr_credentials_note: false,
    },
    Reason {
        browser: Browser::Firefox,
        name: "CORSMultipleAllowOriginNotAllowed",
        console: fx!("Multiple CORS header ‘Access-Control-Allow-Origin’ not allowed"),
        when: &[Case {
            kind: Kind::AllowOriginMultiple,
            stages: Stages::ANY,
        }],
        parameter: None,
        xhr_credentials_note: false,
    },
    Reason {
        browser: Browser::Firefox,
        name: "CORSAllowOriginNotMatchingOrigin",
        console: fx!("CORS header ‘Access-Control-Allow-Origin’ does not match ‘{value}’"),
        when: &[
            Case {
                kind: Kind::AllowOriginMismatch,
                stages: Stages::ANY,
            },
            Case {
                kind: Kind::AllowOriginInvalid,
                stages: Stages::ANY,
            },
        ],
        parameter: Some("value"),
        xhr_credentials_note: false,
    },
    Reason {
        browser: Browser::Firefox,
        name: "CORSNotSupportingCredentials",
        console: "Cross-Origin Request Blocked: The Same Origin Policy disallows reading the \
remote resource at ‘{url}’. (Reason: Credential is not supported if the CORS header \
‘Access-Control-Allow-Origin’ is ‘*’).",
        when: &[Case {
            kind: Kind::WildcardWithCredentials,
            stages: Stages::ANY,
        }],
        parameter: None,
        xhr_credentials_note: false,
    },
    Reason {
        browser: Browser::Firefox,
        name: "CORSMissingAllowCredentials",
        console: fx!("expected ‘true’ in CORS header ‘Access-Control-Allow-Credentials’"),
        when: &[Case {
            kind: Kind::AllowCredentialsNotTrue,
            stages: Stages::ANY,
        }],
        parameter: None,
        xhr_credentials_note: false,
    },
    Reason {
        browser: Browser::Firefox,
        name: "CORSPreflightDidNotSucceed",
        console: fx_status!("CORS preflight response did not succeed"),
        when: &[Case {
            kind: Kind::PreflightStatus,
            stages: Stages::ANY,
        }],
        parameter: None,
        xhr_credentials_note: false,
    },
    Reason {
        browser: Browser::Firefox,
        name: "CORSInvalidAllowMethod",
        console: fx!("invalid token ‘{value}’ in CORS header ‘Access-Control-Allow-Methods’"),
        when: &[Case {
            kind: Kind::AllowMethodsInvalid,
            stages: Stages::ANY,
        }],
        parameter: Some("value"),
        xhr_credentials_note: false,
    },
    Reason {
        browser: Browser::Firefox,
        name: "CORSMethodNotFound",
        console: fx!("Did not find method in CORS header ‘Access-Control-Allow-Methods’"),
        when: &[Case {
            kind: Kind::MethodNotAllowed,
            stages: Stages::ANY,
        }],
        parameter: None,
        xhr_credentials_note: false,
    },
    Reason {
        browser: Browser::Firefox,
        name: "CORSInvalidAllowHeader",
        console: fx!("invalid token ‘{value}’ in CORS header ‘Access-Control-Allow-Headers’"),
        when: &[Case {
            kind: Kind::AllowHeadersInvalid,
            stages: Stages::ANY,
        }],
        parameter: Some("value"),
        xhr_credentials_note: false,
    },
    Reason {
        browser: Browser::Firefox,
        name: "CORSMissingAllowHeaderFromPreflight",
        console: fx!("header ‘{header}’ is not allowed according to header \
‘Access-Control-Allow-Headers’ from CORS preflight response"),
        when: &[Case {
            kind: Kind::HeaderNotAllowed,
            stages: Stages::ANY,
        }],
        parameter: Some("header"),
        xhr_credentials_note: false,
    },
    Reason {
        browser: Browser::Firefox,
        name: "CORSAllowHeaderFromPreflightDeprecation",
        console: "Cross-Origin Request Warning: The Same Origin Policy will disallow reading the \
remote resource at {url} soon. (Reason: When the `Access-Control-Allow-Headers` is `*`, the \
`Authorization` header is not covered. To include the `Authorization` header, it must be \
explicitly listed in CORS header `Access-Control-Allow-Headers`).",
        when: &[],
        parameter: None,
        xhr_credentials_note: false,
    },
    Reason {
        browser: Browser::Safari,
        name: "NotAllowedByAccessControlAllowOrigin",
        console: "Origin {origin} is not allowed by Access-Control-Allow-Origin. Status code: \
{status}",
        when: &[
            Case {
                kind: Kind::AllowOriginMissing,
                stages: Stages::NOT_REDIRECT,
            },
            Case {
                kind: Kind::AllowOriginMismatch,
                stages: Stages::NOT_REDIRECT,
            },
            Case {
                kind: Kind::AllowOriginInvalid,
                stages: Stages::NOT_REDIRECT,
            },
        ],
        parameter: Some("origin"),
        xhr_credentials_note: false,
    },
    Reason {
        browser: Browser::Safari,
        name: "MultipleAllowOriginValues",
        console: "Access-Control-Allow-Origin cannot contain more than one origin.",
        when: &[Case {
            kind: Kind::AllowOriginMultiple,
            stages: Stages::NOT_REDIRECT,
        }],
        parameter: None,
        xhr_credentials_note: false,
    },
    Reason {
        browser: Browser::Safari,
        name: "CredentialsWithWildcard",
        console: "Cannot use wildcard in Access-Control-Allow-Origin when credentials flag is \
true.",
        when: &[Case {
            kind: Kind::WildcardWithCredentials,
            stages: Stages::NOT_REDIRECT,
        }],
        parameter: None,
        xhr_credentials_note: false,
    },
    Reason {
        browser: Browser::Safari,
        name: "AllowCredentialsNotTrue",
        console: "Credentials flag is true, but Access-Control-Allow-Credentials is not \
\"true\".",
        when: &[Case {
            kind: Kind::AllowCredentialsNotTrue,
            stages: Stages::NOT_REDIRECT,
        }],
        parameter: None,
        xhr_credentials_note: false,
    },
    Reason {
        browser: Browser::Safari,
        name: "PreflightNotSuccessful",
        console: "Preflight response is not successful. Status code: {status}",
        when: &[
            Case {
                kind: Kind::PreflightStatus,
                stages: Stages::ANY,
            },
            Case {
                kind: Kind::PreflightRedirect,
                stages: Stages::ANY,
            },
        ],
        parameter: None,
        xhr_credentials_note: false,
    },
    Reason {
        browser: Browser::Safari,
        name: "MethodNotAllowedByAllowMethods",
        console: "Method {method} is not allowed by Access-Control-Allow-Methods.",
        when: &[Case {
            kind: Kind::MethodNotAllowed,
            stages: Stages::ANY,
        }],
        parameter: Some("method"),
        xhr_credentials_note: false,
    },
    Reason {
        browser: Browser::Safari,
        name: "HeaderNotAllowedByAllowHeaders",
        console: "Request header field {header} is not allowed by Access-Control-Allow-Headers.",
        when: &[Case {
            kind: Kind::HeaderNotAllowed,
            stages: Stages::ANY,
        }],
        parameter: Some("header"),
        xhr_credentials_note: false,
    },
    Reason {
        browser: Browser::Safari,
        name: "InvalidAllowMethods",
        console: "Header Access-Control-Allow-Methods has an invalid value: {value}",
        when: &[Case {
            kind: Kind::AllowMethodsInvalid,
            stages: Stages::ANY,
        }],
        parameter: Some("value"),
        xhr_credentials_note: false,
    },
    Reason {
        browser: Browser::Safari,
        name: "InvalidAllowHeaders",
        console: "Header Access-Control-Allow-Headers has an invalid value: {value}",
        when: &[Case {
            kind: Kind::AllowHeadersInvalid,
            stages: Stages::ANY,
        }],
        parameter: Some("value"),
        xhr_credentials_note: false,
    },
    Reason {
        browser: Browser::Safari,
        name: "RedirectNotAllowedByAccessControlAllowOrigin",
        console: wk_redirect!(
            "Origin {origin} is not allowed by Access-Control-Allow-Origin. \
Status code: {status}"
        ),
        when: &[
            Case {
                kind: Kind::AllowOriginMissing,
                stages: Stages::REDIRECT,
            },
            Case {
                kind: Kind::AllowOriginMismatch,
                stages: Stages::REDIRECT,
            },
            Case {
                kind: Kind::AllowOriginInvalid,
                stages: Stages::REDIRECT,
            },
        ],
        parameter: Some("origin"),
        xhr_credentials_note: false,
    },
    Reason {
        browser: Browser::Safari,
        name: "RedirectMultipleAllowOriginValues",
        console: wk_redirect!("Access-Control-Allow-Origin cannot contain more than one origin."),
        when: &[Case {
            kind: Kind::AllowOriginMultiple,
            stages: Stages::REDIRECT,
        }],
        parameter: None,
        xhr_credentials_note: false,
    },
    Reason {
        browser: Browser::Safari,
        name: "RedirectCredentialsWithWildcard",
        console: wk_redirect!(
            "Cannot use wildcard in Access-Control-Allow-Origin when \
credentials flag is true."
        ),
        when: &[Case {
            kind: Kind::WildcardWithCredentials,
            stages: Stages::REDIRECT,
        }],
        parameter: None,
        xhr_credentials_note: false,
    },
    Reason {
        browser: Browser::Safari,
        name: "RedirectAllowCredentialsNotTrue",
        console: wk_redirect!(
            "Credentials flag is true, but Access-Control-Allow-Credentials is \
not \"true\"."
        ),
        when: &[Case {
            kind: Kind::AllowCredentialsNotTrue,
            stages: Stages::REDIRECT,
        }],
        parameter: None,
        xhr_credentials_note: false,
    },
    Reason {
        browser: Browser::Safari,
        name: "RedirectURLHasCredentials",
        console: wk_redirect!("redirection URL {value} has credentials"),
        when: &[Case {
            kind: Kind::RedirectCredentials,
            stages: Stages::ANY,
        }],
        parameter: Some("value"),
        xhr_credentials_note: false,
    },
    Reason {
        browser: Browser::Safari,
        name: "CannotLoad",
        console: "Fetch API cannot load {url}.",
        when: &[Case {
            kind: Kind::DisallowedByMode,
            stages: Stages::ANY,
        }],
        parameter: None,
        xhr_credentials_note: false,
    },
    Reason {
        browser: Browser::Firefox,
        name: "",
        console: "TypeError: NetworkError when attempting to fetch resource.",
        when: &[Case {
            kind: Kind::DisallowedByMode,
            stages: Stages::ANY,
        }],
        parameter: None,
        xhr_credentials_note: false,
    },
    Reason {
        browser: Browser::Safari,
        name: "CannotLoad",
        console: "Cross origin requests are only supported for HTTP.",
        when: &[Case {
            kind: Kind::DisabledScheme,
            stages: Stages::ANY,
        }],
        parameter: None,
        xhr_credentials_note: false,
    },
];

/// The fix for each failure kind, written from the flow's own values: `{on}` (which response
/// of which URL), `{url}`, `{origin}` (the request's), `{allow_origin}` (the header(s) to send),
/// `{error_status}`, `{value}`, `{hint}`, `{was}`, `{answered}`, `{raw}`, `{method}`,
/// `{missing}`, `{target}`, `{star_note}` / `{star_paren}` (credentials make `*` literal).
pub(crate) static FIXES: &[(Kind, &str)] = &[
    (Kind::AllowOriginMissing, "send {allow_origin} on {on}{error_status}, with `Vary: Origin` if the value depends on the request"),
    (Kind::AllowOriginMultiple, "send exactly one origin in `Access-Control-Allow-Origin` on {on}: `{origin}` (it was `{value}`; a proxy or CDN adding a second header, or a list of origins, causes this — pick the request's Origin from an allow-list instead)"),
    (Kind::AllowOriginMismatch, "send {allow_origin} on {on}; it sent `{value}`, which is not the page's origin byte for byte{hint}"),
    (Kind::AllowOriginInvalid, "send {allow_origin} on {on}; it sent `{value}`, which is not the page's origin byte for byte{hint}"),
    (Kind::WildcardWithCredentials, "on {on}, reply with the request's origin `{origin}` instead of `*` and add `Access-Control-Allow-Credentials: true` — or make the request without credentials (`credentials: 'omit'` / `withCredentials = false`)"),
    (Kind::AllowCredentialsNotTrue, "add `Access-Control-Allow-Credentials: true` (exactly, lower case) to {on}{was} — or drop credentials from the request"),
    (Kind::PreflightStatus, "make the OPTIONS request to `{url}` answer 200 or 204 with the CORS headers (it answered {answered}): handle OPTIONS before authentication, routing or method checks"),
    (Kind::PreflightRedirect, "answer the OPTIONS request at `{url}` directly instead of redirecting it (preflights never follow redirects), or call the final URL from the page"),
    (Kind::AllowMethodsInvalid, "make `Access-Control-Allow-Methods` on {on} a comma-separated list of method names (it was `{raw}`), e.g. `Access-Control-Allow-Methods: GET, POST, {method}`"),
    (Kind::AllowHeadersInvalid, "make `Access-Control-Allow-Headers` on {on} a comma-separated list of header names (it was `{raw}`)"),
    (Kind::MethodNotAllowed, "add `{method}` to `Access-Control-Allow-Methods` on {on}, e.g. `Access-Control-Allow-Methods: {method}` (method names are case-sensitive{star_note})"),
    (Kind::HeaderNotAllowed, "add `Access-Control-Allow-Headers: {missing}` to {on}{star_paren}"),
    (Kind::RedirectCredentials, "remove the user name and password from the redirect target `{target}` (sent by `{url}`); cross-origin requests may not follow such redirects"),
    (Kind::DisallowedByMode, "use `mode: 'cors'` for cross-origin requests (or make the request same-origin)"),
    (Kind::DisabledScheme, "serve `{url}` over http or https; CORS requests only go to those schemes"),
];

/// The fix template of `kind`.
pub(crate) fn fix_template(kind: Kind) -> &'static str {
    FIXES
        .iter()
        .find(|(k, _)| *k == kind)
        .map_or("", |(_, t)| t)
}

/// The row under which `browser` reports `kind` at `stage`.
pub(crate) fn reason_for(
    browser: Browser,
    kind: Kind,
    stage: super::reason::Stage,
) -> Option<&'static Reason> {
    REASONS.iter().find(|r| {
        r.browser == browser
            && r.when
                .iter()
                .any(|c| c.kind == kind && c.stages.contains(stage))
    })
}

/// The first row of `browser` named `name` (exact spelling).
pub(crate) fn reason_named(browser: Browser, name: &str) -> Option<&'static Reason> {
    REASONS
        .iter()
        .find(|r| r.browser == browser && !r.name.is_empty() && r.name == name)
}

/// Fills a template's `{placeholder}`s with `fill(name)`; a placeholder it does not know (or a
/// brace that opens none) is kept as written.
pub(crate) fn render<'v>(template: &str, fill: impl FnMut(&str) -> Option<Cow<'v, str>>) -> String {
    let mut out = String::with_capacity(template.len() + 64);
    render_into(&mut out, template, fill);
    out
}

/// [`render`], appended to `out` (a message that begins with other words is written once).
pub(crate) fn render_into<'v>(
    out: &mut String,
    template: &str,
    mut fill: impl FnMut(&str) -> Option<Cow<'v, str>>,
) {
    let mut rest = template;
    // Bytes, not chars: `{`, `}`, `_` and the letters are ASCII, so every index found is a
    // character boundary (a char search decoded every character of every message).
    while let Some(open) = memchr::memchr(b'{', rest.as_bytes()) {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let name_len = after
            .bytes()
            .position(|c| !(c.is_ascii_lowercase() || c == b'_'))
            .unwrap_or(after.len());
        let name = &after[..name_len];
        match (after.as_bytes().get(name_len) == Some(&b'}') && !name.is_empty())
            .then(|| fill(name))
            .flatten()
        {
            Some(v) => {
                out.push_str(&v);
                rest = &after[name_len + 1..];
            }
            None => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
}

// ------------------------------------------------------------------- console search

/// The reasons whose console template matches `text`, a console line as pasted (with or
/// without DevTools' source prefix and trailing links), best first: the most template text
/// matched wins, ties are all returned. Chromium's frame may name another initiator
/// (`XMLHttpRequest`, `script`…) and a redirect (`(redirected from '…')`); typographic and
/// straight quotes and runs of white space are treated alike.
pub(crate) fn search_console(text: &str) -> Vec<&'static Reason> {
    // Below this much matched template text a match says nothing (`Fetch API cannot load`).
    const MIN_LITERAL: usize = 15;
    let text = normalize_pasted(text);
    let mut best: Vec<&'static Reason> = Vec::new();
    let mut best_score = MIN_LITERAL;
    for r in REASONS.iter().filter(|r| !r.name.is_empty()) {
        let Some(score) = template_score(&normalize(r.console), &text) else {
            continue;
        };
        if score > best_score {
            best_score = score;
            best.clear();
        }
        let same = |b: &&Reason| b.browser == r.browser && b.name == r.name;
        if score == best_score && !best.iter().any(same) {
            best.push(r);
        }
    }
    best
}

/// The reason `browser` names in the console line `text` a recording kept (a Safari export's
/// `_error`, a Playwright `_failureText`: the browser's own words), with the value of the
/// reason's failed parameter read from the text; `None` unless exactly one of the browser's
/// names has the best-matching template.
pub(crate) fn reason_from_console(
    browser: Browser,
    text: &str,
) -> Option<(&'static Reason, Option<String>)> {
    let found: Vec<_> = search_console(text)
        .into_iter()
        .filter(|r| r.browser == browser)
        .collect();
    let [r] = found[..] else { return None };
    let value = r.parameter.and_then(|p| {
        let (template, text) = (normalize(r.console), normalize_pasted(text));
        let (_, values) = match_template(&template, &text)?;
        let (_, v) = values.into_iter().find(|(name, _)| *name == p)?;
        Some(v.to_owned())
    });
    Some((r, value))
}

/// Quotes and white space as the templates write them.
fn normalize(s: &str) -> String {
    let s = s.replace(['‘', '’'], "'");
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// [`normalize`], and Chromium's frame back to the fetch() form of the templates.
fn normalize_pasted(text: &str) -> String {
    let mut t = normalize(text);
    if let Some(i) = t.find("Access to ") {
        let rest = &t[i + "Access to ".len()..];
        // `Access to XMLHttpRequest at '…'`: the initiator is one word.
        if let Some(sp) = rest.find(" at '").filter(|&sp| !rest[..sp].contains(' ')) {
            t = format!("{}Access to fetch{}", &t[..i], &rest[sp..]);
        }
    }
    if let Some(i) = t.find(" (redirected from '") {
        if let Some(end) = t[i..].find("') from origin '") {
            t.replace_range(i..i + end + 2, "");
        }
    }
    let note = normalize(XHR_CREDENTIALS_NOTE);
    if let Some(i) = t.find(&note) {
        t.replace_range(i..i + note.len(), "");
    }
    t
}

/// How much literal text of `template` matched `text` if the template, with each placeholder
/// standing for any text, occurs in `text`; `None` if it does not.
fn template_score(template: &str, text: &str) -> Option<usize> {
    match_template(template, text).map(|(score, _)| score)
}

/// Where `template` occurs in `text`, each placeholder standing for any text (wildcards on
/// both ends and between literals: leftmost matches of the literals, in order, decide it):
/// how much literal text matched, and the text each placeholder stood for.
fn match_template<'p, 't>(
    template: &'p str,
    text: &'t str,
) -> Option<(usize, Vec<(&'p str, &'t str)>)> {
    let (mut at, mut score) = (0, 0);
    let mut values = Vec::new();
    let mut pending: Option<&str> = None;
    let mut rest = template;
    loop {
        let open = rest.find('{');
        let lit = &rest[..open.unwrap_or(rest.len())];
        if !lit.is_empty() {
            let found = text[at..].find(lit)?;
            if let Some(name) = pending.take() {
                values.push((name, &text[at..at + found]));
            }
            at += found + lit.len();
            score += lit.len();
        }
        let Some(open) = open else { break };
        let Some(close) = rest[open..].find('}') else {
            // An unclosed brace (no template has one): the rest, from before the brace, is
            // a last literal of its own.
            text[at..].find(rest)?;
            score += rest.len();
            break;
        };
        pending = Some(&rest[open + 1..open + close]);
        rest = &rest[open + close + 1..];
    }
    if let Some(name) = pending {
        values.push((name, &text[at..]));
    }
    Some((score, values))
}

// ------------------------------------------------------------------------------ pages

/// An explanation page (`docs/reasons/<browser>/<Name>.md`): front matter (`name`, `browser`,
/// `summary`, `equivalents`), then `## What it means`, `## Common causes` (a `-` list) and
/// `## How to fix it` (a numbered list). An item's continuation lines are indented by its
/// marker's width; a line indented four more is literal (a header line or a command).
#[derive(Debug)]
pub(crate) struct Page {
    pub browser: Browser,
    pub name: &'static str,
    pub summary: &'static str,
    pub meaning: String,
    pub causes: Vec<String>,
    pub fix: Vec<String>,
    /// The same failure's names in the other browsers.
    pub equivalents: Vec<(Browser, &'static str)>,
}

mod sources {
    // (browser directory, file name without `.md`, text), written by build.rs.
    include!(concat!(env!("OUT_DIR"), "/reason_pages.rs"));
}

#[cfg(test)]
/// The directory of a browser's pages: its id.
pub(crate) fn page_dir(b: Browser) -> &'static str {
    b.id()
}

/// Every page, parsed once; in the order of [`REASONS`] (Chromium's, Firefox's, WebKit's).
pub(crate) fn pages() -> &'static [Page] {
    static PAGES: OnceLock<Vec<Page>> = OnceLock::new();
    PAGES.get_or_init(|| {
        let mut pages: Vec<Page> = sources::PAGES
            .iter()
            .map(|(dir, file, text)| match parse_page(text) {
                Ok(p) => p,
                // The pages are compiled in and `every_page_parses` checks them all: a bad
                // page is a build defect, not an input error.
                Err(e) => panic!("docs/reasons/{dir}/{file}.md: {e}"),
            })
            .collect();
        let rank = |p: &Page| {
            REASONS
                .iter()
                .position(|r| r.browser == p.browser && r.name == p.name)
                .unwrap_or(usize::MAX)
        };
        pages.sort_by_key(rank);
        pages
    })
}

#[cfg(test)]
/// The page of `browser`'s reason `name` (exact spelling).
pub(crate) fn page(browser: Browser, name: &str) -> Option<&'static Page> {
    pages()
        .iter()
        .find(|p| p.browser == browser && p.name == name)
}

fn parse_page(text: &'static str) -> Result<Page, String> {
    let body = text
        .strip_prefix("---\n")
        .ok_or("no front matter (`---` on the first line)")?;
    let (front, body) = body
        .split_once("\n---\n")
        .ok_or("front matter not closed by `---`")?;
    let (mut name, mut browser, mut summary) = (None, None, None);
    let mut equivalents = Vec::new();
    for line in front.lines() {
        if let Some(eq) = line.strip_prefix("  - ") {
            let (b, n) = eq
                .split_once(": ")
                .ok_or("equivalent without `browser: Name`")?;
            equivalents.push((b.parse::<Browser>()?, n.trim()));
            continue;
        }
        match line.split_once(':') {
            Some(("name", v)) => name = Some(v.trim()),
            Some(("browser", v)) => browser = Some(v.trim().parse::<Browser>()?),
            Some(("summary", v)) => summary = Some(v.trim()),
            Some(("equivalents", "")) => {}
            _ => return Err(format!("unknown front matter line `{line}`")),
        }
    }
    let mut sections: Vec<(&str, Vec<&str>)> = Vec::new();
    for line in body.lines() {
        if let Some(h) = line.strip_prefix("## ") {
            sections.push((h, Vec::new()));
        } else if let Some((_, lines)) = sections.last_mut() {
            lines.push(line);
        }
    }
    let section = |title: &str| {
        sections
            .iter()
            .find(|(h, _)| *h == title)
            .map(|(_, l)| l.as_slice())
            .ok_or(format!("no `## {title}` section"))
    };
    let meaning = section("What it means")?
        .iter()
        .filter(|l| !l.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join(" ");
    Ok(Page {
        browser: browser.ok_or("no `browser:`")?,
        name: name.ok_or("no `name:`")?,
        summary: summary.ok_or("no `summary:`")?,
        meaning,
        causes: list_items(section("Common causes")?)?,
        fix: list_items(section("How to fix it")?)?,
        equivalents,
    })
}

/// The items of a Markdown list, continuation lines joined with `\n` after removing the
/// marker's width of indentation.
fn list_items(lines: &[&str]) -> Result<Vec<String>, String> {
    let mut items: Vec<String> = Vec::new();
    let mut indent = 0;
    for line in lines {
        if line.is_empty() {
            continue;
        }
        let marker = if line.starts_with("- ") {
            Some(2)
        } else {
            let digits = line.bytes().take_while(u8::is_ascii_digit).count();
            (digits > 0 && line[digits..].starts_with(". ")).then_some(digits + 2)
        };
        match marker {
            Some(m) => {
                indent = m;
                items.push(line[m..].to_owned());
            }
            None => {
                let item = items.last_mut().ok_or("text before the first list item")?;
                let cont = line
                    .get(..indent)
                    .filter(|p| p.bytes().all(|b| b == b' '))
                    .map(|_| &line[indent..])
                    .ok_or_else(|| {
                        format!("continuation line not indented by {indent}: `{line}`")
                    })?;
                item.push('\n');
                item.push_str(cont);
            }
        }
    }
    if items.is_empty() {
        return Err("an empty list".into());
    }
    Ok(items)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cors::browser::ALL_BROWSERS;
    use crate::cors::reason::{Blocked, Failure, Initiator, MessageContext, Stage};

    const STAGES: [Stage; 4] = [
        Stage::Request,
        Stage::Preflight,
        Stage::Redirect,
        Stage::Actual,
    ];

    #[test]
    fn every_page_parses_and_names_a_row_and_every_row_has_a_page() {
        assert_eq!(pages().len(), sources::PAGES.len());
        for (dir, file, _) in sources::PAGES {
            let p = pages()
                .iter()
                .find(|p| page_dir(p.browser) == *dir && p.name == *file)
                .unwrap_or_else(|| {
                    panic!("{dir}/{file}.md: name or browser differs from its path")
                });
            assert!(
                reason_named(p.browser, p.name).is_some(),
                "{dir}/{file}.md has no row (no console template)"
            );
        }
        for r in REASONS.iter().filter(|r| !r.name.is_empty()) {
            assert!(
                page(r.browser, r.name).is_some(),
                "{:?} {} has no page docs/reasons/{}/{}.md",
                r.browser,
                r.name,
                page_dir(r.browser),
                r.name
            );
        }
    }

    #[test]
    fn every_failure_has_a_row_in_every_browser_at_every_stage() {
        for kind in Kind::ALL {
            for stage in STAGES {
                for b in ALL_BROWSERS {
                    assert!(
                        reason_for(b, kind, stage).is_some(),
                        "{b:?} {kind:?} at {stage:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn every_kind_has_exactly_one_fix() {
        for kind in Kind::ALL {
            assert_eq!(
                FIXES.iter().filter(|(k, _)| *k == kind).count(),
                1,
                "{kind:?}"
            );
        }
    }

    /// One failure of each kind with the values messages quote.
    fn failure(kind: Kind) -> Failure {
        match kind {
            Kind::AllowOriginMissing => Failure::AllowOriginMissing,
            Kind::WildcardWithCredentials => Failure::WildcardWithCredentials,
            Kind::AllowOriginMultiple => Failure::AllowOriginMultiple {
                value: "https://a.example, https://b.example".into(),
            },
            Kind::AllowOriginMismatch => Failure::AllowOriginMismatch {
                value: "https://other.example".into(),
            },
            Kind::AllowOriginInvalid => Failure::AllowOriginInvalid {
                value: "nonsense".into(),
            },
            Kind::AllowCredentialsNotTrue => Failure::AllowCredentialsNotTrue {
                value: Some("TRUE".into()),
            },
            Kind::PreflightStatus => Failure::PreflightStatus,
            Kind::PreflightRedirect => Failure::PreflightRedirect,
            Kind::AllowMethodsInvalid => Failure::AllowMethodsInvalid {
                token: "GET PUT".into(),
                raw: "GET PUT, DELETE".into(),
            },
            Kind::AllowHeadersInvalid => Failure::AllowHeadersInvalid {
                token: "a;b".into(),
                raw: "a;b".into(),
            },
            Kind::MethodNotAllowed => Failure::MethodNotAllowed {
                method: "PATCH".into(),
            },
            Kind::HeaderNotAllowed => Failure::HeaderNotAllowed {
                name: "x-api-key".into(),
                as_written: "X-Api-Key".into(),
            },
            Kind::RedirectCredentials => Failure::RedirectCredentials {
                url: "https://u:p@b.example/next".into(),
                url_without_credentials: "https://b.example/next".into(),
            },
            Kind::DisallowedByMode => Failure::DisallowedByMode,
            Kind::DisabledScheme => Failure::DisabledScheme,
        }
    }

    #[test]
    fn every_emitted_message_fills_its_template_and_is_found_by_it() {
        let mut checked = 0;
        for kind in Kind::ALL {
            for stage in STAGES {
                for initiator in [Initiator::Fetch, Initiator::Xhr, Initiator::Other("font")] {
                    for last_url in ["https://api.example/r", "https://api2.example/r"] {
                        let b = Blocked {
                            failure: failure(kind),
                            stage,
                            status: Some(403),
                            url: last_url.into(),
                            location: Some("https://c.example/next".into()),
                            request_origin: "https://app.example".into(),
                            hop: 0,
                        };
                        let ctx = MessageContext {
                            first_url: "https://api.example/r",
                            last_url,
                            page_origin: "https://app.example",
                            initiator,
                        };
                        for browser in ALL_BROWSERS {
                            let named = b.names(browser, &ctx);
                            let row = reason_for(browser, kind, stage).expect("checked above");
                            assert_eq!(named.reason.unwrap_or(""), row.name);
                            let m = &named.message;
                            assert!(!m.is_empty(), "{browser:?} {kind:?}");
                            // Every placeholder filled.
                            for p in [
                                "{url}",
                                "{origin}",
                                "{value}",
                                "{status}",
                                "{method}",
                                "{header}",
                                "{schemes}",
                            ] {
                                assert!(!m.contains(p), "{browser:?} {kind:?}: {m}");
                            }
                            if let Some(p) = &named.parameter {
                                assert!(
                                    m.contains(p.as_str()) || p.is_empty(),
                                    "{browser:?} {kind:?}: {p} not in {m}"
                                );
                            }
                            // The search finds the emitted reason from its own message.
                            if !row.name.is_empty() {
                                let found = search_console(m);
                                assert!(
                                    found
                                        .iter()
                                        .any(|r| r.browser == browser && r.name == row.name),
                                    "{browser:?} {kind:?} {stage:?}: `{m}` found {:?}",
                                    found.iter().map(|r| r.name).collect::<Vec<_>>()
                                );
                            }
                            checked += 1;
                        }
                    }
                }
            }
        }
        assert_eq!(checked, Kind::ALL.len() * 4 * 3 * 2 * 3);
    }

    #[test]
    fn render_fills_known_placeholders_and_keeps_the_rest() {
        let fill = |n: &str| match n {
            "a" => Some(Cow::Borrowed("1")),
            "b_c" => Some(Cow::Borrowed("{a}")),
            _ => None,
        };
        let cases = [
            ("x{a}y", "x1y"),
            ("{b_c}", "{a}"),
            ("{zz} {a}", "{zz} 1"),
            ("{ {a} }", "{ 1 }"),
            ("{", "{"),
            ("{a", "{a"),
            ("é{a}é", "é1é"),
            ("", ""),
        ];
        for (t, want) in cases {
            assert_eq!(render(t, fill), want, "{t}");
        }
    }

    #[test]
    fn bad_pages_are_reported_with_the_problem() {
        let cases = [
            ("no front matter", "# x\n"),
            ("not closed", "---\nname: X\n"),
            ("unknown front matter", "---\nname: X\ncolour: red\n---\n"),
            ("section", "---\nname: X\nbrowser: firefox\nsummary: s\n---\n## What it means\n\nm\n"),
            (
                "not indented",
                "---\nname: X\nbrowser: firefox\nsummary: s\n---\n## What it means\n\nm\n## Common causes\n\n- a\nb\n## How to fix it\n\n1. f\n",
            ),
            ("browser", "---\nname: X\nbrowser: lynx\nsummary: s\n---\n"),
        ];
        for (what, text) in cases {
            let text: &'static str = Box::leak(text.to_owned().into_boxed_str());
            assert!(parse_page(text).is_err(), "{what}");
        }
        let ok = "---\nname: X\nbrowser: safari\nsummary: s\n---\n## What it means\n\nm\n\n## Common causes\n\n- a\n  b\n\n## How to fix it\n\n1. f\n       literal\n10. g\n";
        let p = parse_page(ok).expect("a valid page");
        assert_eq!(p.causes, ["a\nb"]);
        assert_eq!(p.fix, ["f\n    literal", "g"]);
    }

    /// A recorded console line names the browser's reason and its failed parameter.
    #[test]
    fn reasons_read_from_recorded_console_lines() {
        let cases = [
            (
                "Origin http://app.test:8080 is not allowed by Access-Control-Allow-Origin. Status code: 200",
                Some(("NotAllowedByAccessControlAllowOrigin", Some("http://app.test:8080"))),
            ),
            (
                "Method PUT is not allowed by Access-Control-Allow-Methods.",
                Some(("MethodNotAllowedByAllowMethods", Some("PUT"))),
            ),
            (
                "Request header field x-api-key is not allowed by Access-Control-Allow-Headers.",
                Some(("HeaderNotAllowedByAllowHeaders", Some("x-api-key"))),
            ),
            ("Preflight response is not successful. Status code: 405", Some(("PreflightNotSuccessful", None))),
            (
                "Cross-origin redirection to http://b.test/r denied by Cross-Origin Resource Sharing policy: Origin http://a.test is not allowed by Access-Control-Allow-Origin. Status code: 302",
                Some(("RedirectNotAllowedByAccessControlAllowOrigin", Some("http://a.test"))),
            ),
            ("net::ERR_FAILED", None),
            ("", None),
        ];
        for (text, want) in cases {
            let got = reason_from_console(Browser::Safari, text);
            assert_eq!(
                got.as_ref().map(|(r, v)| (r.name, v.as_deref())),
                want,
                "{text}"
            );
        }
    }

    #[test]
    fn search_ignores_unrelated_text() {
        for text in [
            "",
            "Failed to fetch",
            "TypeError: Load failed",
            "status code 200",
        ] {
            assert!(search_console(text).is_empty(), "{text}");
        }
    }
}
