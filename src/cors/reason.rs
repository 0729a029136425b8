//! What failed, in browser-neutral terms (`Failure`), and how each browser names it, which
//! parameter it reports and the console message it prints (cors.md 2.1, 3.1, 7.1).

use super::browser::Browser;

/// Which response (or step) a failure belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    /// Before anything was sent (request mode, scheme).
    Request,
    /// The CORS preflight (OPTIONS) response.
    Preflight,
    /// A redirect (3xx) response of the actual request.
    Redirect,
    /// The final response of the actual request.
    Actual,
}

/// A failed check. Each browser's engine classifies ACAO failures by its own order, so the
/// variant is already the browser's view; `Blocked::names` turns it into that browser's words.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Failure {
    AllowOriginMissing,
    WildcardWithCredentials,
    /// Several origins: Chromium (space/comma/lines), Firefox (lines), WebKit (comma/lines).
    AllowOriginMultiple {
        value: String,
    },
    /// Not the request's origin (also `null`, and Chromium's GURL-valid values).
    AllowOriginMismatch {
        value: String,
    },
    /// Chromium only: not equal and not even a URL (`GURL` invalid).
    AllowOriginInvalid {
        value: String,
    },
    /// Credentials mode `include` and ACAC is not exactly `true` (`None`: absent).
    AllowCredentialsNotTrue {
        value: Option<String>,
    },
    PreflightStatus,
    PreflightRedirect,
    AllowMethodsInvalid {
        token: String,
        raw: String,
    },
    AllowHeadersInvalid {
        token: String,
        raw: String,
    },
    MethodNotAllowed {
        method: String,
    },
    /// `name` lower-case as Chromium/Firefox report it; `as_written` as the page set it (WebKit).
    HeaderNotAllowed {
        name: String,
        as_written: String,
    },
    RedirectCredentials {
        url: String,
        url_without_credentials: String,
    },
    DisallowedByMode,
    DisabledScheme,
}

/// A blocking decision with the context messages need.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Blocked {
    pub failure: Failure,
    pub stage: Stage,
    /// Status of the response that failed, where one was received.
    pub status: Option<u16>,
    /// The URL whose response failed (the preflight's, a redirect hop's or the final one).
    pub url: String,
    /// For redirect failures: where the redirect pointed.
    pub location: Option<String>,
    /// The serialized origin the request carried (`null` after a tainting redirect).
    pub request_origin: String,
    /// The hop of the redirect chain (0 = the request the page made).
    pub hop: usize,
}

/// How a browser words one blocked request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Named {
    pub reason: Option<&'static str>,
    pub parameter: Option<String>,
    pub message: String,
}

/// What the page called, for Chromium's `Access to {kind} at …` frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Initiator {
    Fetch,
    Xhr,
    Other(&'static str),
}

impl Initiator {
    pub fn from_resource_type(t: Option<&str>) -> Initiator {
        match t.map(str::to_ascii_lowercase).as_deref() {
            Some("xhr") => Initiator::Xhr,
            Some("font") => Initiator::Other("font"),
            Some("script") => Initiator::Other("script"),
            Some("stylesheet") => Initiator::Other("stylesheet"),
            Some("image") => Initiator::Other("image"),
            Some("eventsource") => Initiator::Other("eventsource"),
            _ => Initiator::Fetch,
        }
    }
}

/// Context shared by all three browsers' messages.
pub struct MessageContext<'a> {
    /// The URL the page asked for.
    pub first_url: &'a str,
    /// The last URL of the chain (Chromium names it).
    pub last_url: &'a str,
    /// The page's origin (Chromium's message shows it even when the request was tainted).
    pub page_origin: &'a str,
    pub initiator: Initiator,
    pub credentials_include: bool,
}

fn or_none(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_owned())
}

impl Blocked {
    pub fn names(&self, browser: Browser, ctx: &MessageContext) -> Named {
        match browser {
            Browser::Chromium => self.chromium(ctx),
            Browser::Firefox => self.firefox(),
            Browser::Safari => self.webkit(ctx),
        }
    }

    fn chromium(&self, ctx: &MessageContext) -> Named {
        use Failure::*;
        let pf = self.stage == Stage::Preflight;
        let xhr_creds = if ctx.initiator == Initiator::Xhr {
            " The credentials mode of requests initiated by the XMLHttpRequest is controlled by the withCredentials attribute."
        } else {
            ""
        };
        let (base, param, detail): (&'static str, Option<String>, String) = match &self.failure {
            AllowOriginMissing => (
                "MissingAllowOriginHeader",
                None,
                "No 'Access-Control-Allow-Origin' header is present on the requested resource.".into(),
            ),
            WildcardWithCredentials => (
                "WildcardOriginNotAllowed",
                None,
                format!("The value of the 'Access-Control-Allow-Origin' header in the response must not be the wildcard '*' when the request's credentials mode is 'include'.{xhr_creds}"),
            ),
            AllowOriginMultiple { value } => (
                "MultipleAllowOriginValues",
                or_none(value),
                format!("The 'Access-Control-Allow-Origin' header contains multiple values '{value}', but only one is allowed. Have the server send the header with a valid value."),
            ),
            AllowOriginMismatch { value } => (
                "AllowOriginMismatch",
                or_none(value),
                format!("The 'Access-Control-Allow-Origin' header has a value '{value}' that is not equal to the supplied origin. Have the server send the header with a valid value."),
            ),
            AllowOriginInvalid { value } => (
                "InvalidAllowOriginValue",
                or_none(value),
                format!("The 'Access-Control-Allow-Origin' header contains the invalid value '{value}'. Have the server send the header with a valid value."),
            ),
            AllowCredentialsNotTrue { value } => {
                let v = value.as_deref().unwrap_or("");
                (
                    "InvalidAllowCredentials",
                    or_none(v),
                    format!("The value of the 'Access-Control-Allow-Credentials' header in the response is '{v}' which must be 'true' when the request's credentials mode is 'include'.{xhr_creds}"),
                )
            }
            PreflightStatus => ("PreflightInvalidStatus", None, "It does not have HTTP ok status.".into()),
            PreflightRedirect => (
                "PreflightDisallowedRedirect",
                None,
                "Redirect is not allowed for a preflight request.".into(),
            ),
            AllowMethodsInvalid { .. } => (
                "InvalidAllowMethodsPreflightResponse",
                None,
                "Cannot parse Access-Control-Allow-Methods response header field in preflight response.".into(),
            ),
            AllowHeadersInvalid { .. } => (
                "InvalidAllowHeadersPreflightResponse",
                None,
                "Cannot parse Access-Control-Allow-Headers response header field in preflight response.".into(),
            ),
            MethodNotAllowed { method } => (
                "MethodDisallowedByPreflightResponse",
                Some(method.clone()),
                format!("Method {method} is not allowed by Access-Control-Allow-Methods in preflight response."),
            ),
            HeaderNotAllowed { name, .. } => (
                "HeaderDisallowedByPreflightResponse",
                Some(name.clone()),
                format!("Request header field {name} is not allowed by Access-Control-Allow-Headers in preflight response."),
            ),
            // Chromium 156 leaves the parameter empty, so its message reads `location ''`.
            RedirectCredentials { .. } => (
                "RedirectContainsCredentials",
                None,
                "Redirect location '' contains a username and password, which is disallowed for cross-origin requests.".into(),
            ),
            DisallowedByMode => {
                return Named {
                    reason: Some("DisallowedByMode"),
                    parameter: None,
                    message: format!(
                        "Fetch API cannot load {}. Request mode is \"same-origin\" but the URL's origin is not same as the request origin {}.",
                        ctx.first_url, ctx.page_origin
                    ),
                }
            }
            DisabledScheme => (
                "CorsDisabledScheme",
                None,
                "Cross origin requests are only supported for protocol schemes: chrome, chrome-extension, chrome-untrusted, data, http, https, isolated-app.".into(),
            ),
        };
        let acao_family = matches!(
            self.failure,
            AllowOriginMissing
                | WildcardWithCredentials
                | AllowOriginMultiple { .. }
                | AllowOriginMismatch { .. }
                | AllowOriginInvalid { .. }
                | AllowCredentialsNotTrue { .. }
        );
        let reason: &'static str = if pf && acao_family {
            preflight_variant(base)
        } else {
            base
        };
        let kind = match ctx.initiator {
            Initiator::Fetch => "fetch",
            Initiator::Xhr => "XMLHttpRequest",
            Initiator::Other(k) => k,
        };
        let redirected = if ctx.last_url != ctx.first_url {
            format!("(redirected from '{}') ", ctx.first_url)
        } else {
            String::new()
        };
        let prefix = if reason.starts_with("Preflight") {
            "Response to preflight request doesn't pass access control check: "
        } else {
            ""
        };
        Named {
            reason: Some(reason),
            parameter: param,
            message: format!(
                "Access to {kind} at '{}' {redirected}from origin '{}' has been blocked by CORS policy: {prefix}{detail}",
                ctx.last_url, ctx.page_origin
            ),
        }
    }

    fn firefox(&self) -> Named {
        use Failure::*;
        let status = self
            .status
            .map_or_else(|| "(null)".to_string(), |s| s.to_string());
        let (reason, param, text, with_status): (Option<&'static str>, Option<String>, String, bool) =
            match &self.failure {
                AllowOriginMissing => (
                    Some("CORSMissingAllowOrigin"),
                    None,
                    "CORS header ‘Access-Control-Allow-Origin’ missing".into(),
                    true,
                ),
                WildcardWithCredentials => (
                    Some("CORSNotSupportingCredentials"),
                    None,
                    "Credential is not supported if the CORS header ‘Access-Control-Allow-Origin’ is ‘*’".into(),
                    false,
                ),
                AllowOriginMultiple { .. } => (
                    Some("CORSMultipleAllowOriginNotAllowed"),
                    None,
                    "Multiple CORS header ‘Access-Control-Allow-Origin’ not allowed".into(),
                    false,
                ),
                AllowOriginMismatch { value } | AllowOriginInvalid { value } => (
                    Some("CORSAllowOriginNotMatchingOrigin"),
                    Some(value.clone()),
                    format!("CORS header ‘Access-Control-Allow-Origin’ does not match ‘{value}’"),
                    false,
                ),
                AllowCredentialsNotTrue { .. } => (
                    Some("CORSMissingAllowCredentials"),
                    None,
                    "expected ‘true’ in CORS header ‘Access-Control-Allow-Credentials’".into(),
                    false,
                ),
                PreflightStatus => (
                    Some("CORSPreflightDidNotSucceed"),
                    None,
                    "CORS preflight response did not succeed".into(),
                    true,
                ),
                PreflightRedirect => (
                    Some("CORSExternalRedirectNotAllowed"),
                    None,
                    "CORS request external redirect not allowed".into(),
                    false,
                ),
                AllowMethodsInvalid { token, .. } => (
                    Some("CORSInvalidAllowMethod"),
                    Some(token.clone()),
                    format!("invalid token ‘{token}’ in CORS header ‘Access-Control-Allow-Methods’"),
                    false,
                ),
                AllowHeadersInvalid { token, .. } => (
                    Some("CORSInvalidAllowHeader"),
                    Some(token.clone()),
                    format!("invalid token ‘{token}’ in CORS header ‘Access-Control-Allow-Headers’"),
                    false,
                ),
                MethodNotAllowed { .. } => (
                    Some("CORSMethodNotFound"),
                    None,
                    "Did not find method in CORS header ‘Access-Control-Allow-Methods’".into(),
                    false,
                ),
                HeaderNotAllowed { name, .. } => (
                    Some("CORSMissingAllowHeaderFromPreflight"),
                    Some(name.clone()),
                    format!("header ‘{name}’ is not allowed according to header ‘Access-Control-Allow-Headers’ from CORS preflight response"),
                    false,
                ),
                // Firefox does not follow the redirect and fails the channel (firefox corpus).
                RedirectCredentials { .. } => {
                    return Named {
                        reason: Some("CORSDidNotSucceed"),
                        parameter: None,
                        message: firefox_frame(&self.url, "CORS request did not succeed", Some("(null)")),
                    }
                }
                DisallowedByMode => {
                    return Named {
                        reason: None,
                        parameter: None,
                        message: "TypeError: NetworkError when attempting to fetch resource.".into(),
                    }
                }
                DisabledScheme => (
                    Some("CORSRequestNotHttp"),
                    None,
                    "CORS request not http".into(),
                    false,
                ),
            };
        let mut message = firefox_frame(&self.url, &text, with_status.then_some(status.as_str()));
        if reason == Some("CORSNotSupportingCredentials") {
            // The only Firefox message that quotes the URL.
            message = message.replacen(
                &format!("resource at {}.", self.url),
                &format!("resource at ‘{}’.", self.url),
                1,
            );
        }
        Named {
            reason,
            parameter: param,
            message,
        }
    }

    fn webkit(&self, _ctx: &MessageContext) -> Named {
        use Failure::*;
        let status = self.status.unwrap_or(0);
        let not_allowed = || {
            format!(
                "Origin {} is not allowed by Access-Control-Allow-Origin. Status code: {status}",
                self.request_origin
            )
        };
        let (reason, param, line): (Option<&'static str>, Option<String>, String) = match &self.failure {
            AllowOriginMissing | AllowOriginMismatch { .. } | AllowOriginInvalid { .. } => (
                Some("NotAllowedByAccessControlAllowOrigin"),
                Some(self.request_origin.clone()),
                not_allowed(),
            ),
            AllowOriginMultiple { .. } => (
                Some("MultipleAllowOriginValues"),
                None,
                "Access-Control-Allow-Origin cannot contain more than one origin.".into(),
            ),
            WildcardWithCredentials => (
                Some("CredentialsWithWildcard"),
                None,
                "Cannot use wildcard in Access-Control-Allow-Origin when credentials flag is true.".into(),
            ),
            AllowCredentialsNotTrue { .. } => (
                Some("AllowCredentialsNotTrue"),
                None,
                "Credentials flag is true, but Access-Control-Allow-Credentials is not \"true\".".into(),
            ),
            PreflightStatus | PreflightRedirect => (
                Some("PreflightNotSuccessful"),
                None,
                format!("Preflight response is not successful. Status code: {status}"),
            ),
            AllowMethodsInvalid { raw, .. } => (
                Some("InvalidAllowMethods"),
                Some(raw.clone()),
                format!("Header Access-Control-Allow-Methods has an invalid value: {raw}"),
            ),
            AllowHeadersInvalid { raw, .. } => (
                Some("InvalidAllowHeaders"),
                Some(raw.clone()),
                format!("Header Access-Control-Allow-Headers has an invalid value: {raw}"),
            ),
            MethodNotAllowed { method } => (
                Some("MethodNotAllowedByAllowMethods"),
                Some(method.clone()),
                format!("Method {method} is not allowed by Access-Control-Allow-Methods."),
            ),
            HeaderNotAllowed { as_written, .. } => (
                Some("HeaderNotAllowedByAllowHeaders"),
                Some(as_written.clone()),
                format!("Request header field {as_written} is not allowed by Access-Control-Allow-Headers."),
            ),
            RedirectCredentials {
                url,
                url_without_credentials,
            } => (
                Some("RedirectURLHasCredentials"),
                Some(url.clone()),
                format!("Cross-origin redirection to {url_without_credentials} denied by Cross-Origin Resource Sharing policy: redirection URL {url} has credentials"),
            ),
            DisallowedByMode => (
                Some("CannotLoad"),
                None,
                format!("Fetch API cannot load {}.", self.url),
            ),
            DisabledScheme => (
                Some("CannotLoad"),
                None,
                "Cross origin requests are only supported for HTTP.".into(),
            ),
        };
        let acao_family = matches!(
            self.failure,
            AllowOriginMissing
                | AllowOriginMismatch { .. }
                | AllowOriginInvalid { .. }
                | AllowOriginMultiple { .. }
                | WildcardWithCredentials
                | AllowCredentialsNotTrue { .. }
        );
        if self.stage == Stage::Redirect && acao_family {
            let to = self.location.as_deref().unwrap_or(&self.url);
            let reason = reason.map(redirect_variant);
            return Named {
                reason,
                parameter: param,
                message: format!(
                    "Cross-origin redirection to {to} denied by Cross-Origin Resource Sharing policy: {line}"
                ),
            };
        }
        Named {
            reason,
            parameter: param,
            message: line,
        }
    }
}

fn firefox_frame(url: &str, reason: &str, status: Option<&str>) -> String {
    let mut s = format!(
        "Cross-Origin Request Blocked: The Same Origin Policy disallows reading the remote resource at {url}. (Reason: {reason})."
    );
    if let Some(st) = status {
        s.push_str(&format!(" Status code: {st}."));
    }
    s
}

fn preflight_variant(base: &'static str) -> &'static str {
    match base {
        "MissingAllowOriginHeader" => "PreflightMissingAllowOriginHeader",
        "WildcardOriginNotAllowed" => "PreflightWildcardOriginNotAllowed",
        "MultipleAllowOriginValues" => "PreflightMultipleAllowOriginValues",
        "AllowOriginMismatch" => "PreflightAllowOriginMismatch",
        "InvalidAllowOriginValue" => "PreflightInvalidAllowOriginValue",
        "InvalidAllowCredentials" => "PreflightInvalidAllowCredentials",
        other => other,
    }
}

fn redirect_variant(base: &'static str) -> &'static str {
    match base {
        "NotAllowedByAccessControlAllowOrigin" => "RedirectNotAllowedByAccessControlAllowOrigin",
        "MultipleAllowOriginValues" => "RedirectMultipleAllowOriginValues",
        "CredentialsWithWildcard" => "RedirectCredentialsWithWildcard",
        "AllowCredentialsNotTrue" => "RedirectAllowCredentialsNotTrue",
        other => other,
    }
}

/// Firefox's name for a network failure of a CORS request, and its message.
pub fn firefox_network_error(url: &str) -> Named {
    Named {
        reason: Some("CORSDidNotSucceed"),
        parameter: None,
        message: firefox_frame(url, "CORS request did not succeed", Some("(null)")),
    }
}
