//! What failed, in browser-neutral terms (`Failure`), and how each browser names it, which
//! parameter it reports and the console message it prints: the words come from the reason
//! registry (`registry.rs`), the values from the failure and its flow.

use std::borrow::Cow;

use super::browser::Browser;
use super::registry::{self, Kind};

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
pub(crate) struct Named {
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
    pub(crate) fn from_resource_type(t: Option<&str>) -> Initiator {
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
pub(crate) struct MessageContext<'a> {
    /// The URL the page asked for.
    pub first_url: &'a str,
    /// The last URL of the chain (Chromium names it).
    pub last_url: &'a str,
    /// The page's origin (Chromium's message shows it even when the request was tainted).
    pub page_origin: &'a str,
    pub initiator: Initiator,
}

impl Failure {
    /// The registry's key for this failure.
    pub(crate) fn kind(&self) -> Kind {
        match self {
            Failure::AllowOriginMissing => Kind::AllowOriginMissing,
            Failure::WildcardWithCredentials => Kind::WildcardWithCredentials,
            Failure::AllowOriginMultiple { .. } => Kind::AllowOriginMultiple,
            Failure::AllowOriginMismatch { .. } => Kind::AllowOriginMismatch,
            Failure::AllowOriginInvalid { .. } => Kind::AllowOriginInvalid,
            Failure::AllowCredentialsNotTrue { .. } => Kind::AllowCredentialsNotTrue,
            Failure::PreflightStatus => Kind::PreflightStatus,
            Failure::PreflightRedirect => Kind::PreflightRedirect,
            Failure::AllowMethodsInvalid { .. } => Kind::AllowMethodsInvalid,
            Failure::AllowHeadersInvalid { .. } => Kind::AllowHeadersInvalid,
            Failure::MethodNotAllowed { .. } => Kind::MethodNotAllowed,
            Failure::HeaderNotAllowed { .. } => Kind::HeaderNotAllowed,
            Failure::RedirectCredentials { .. } => Kind::RedirectCredentials,
            Failure::DisallowedByMode => Kind::DisallowedByMode,
            Failure::DisabledScheme => Kind::DisabledScheme,
        }
    }
}

impl Blocked {
    /// This browser's name, failed parameter and console message for the failure: the
    /// registry's row for (kind, stage, browser), its template filled by `Blocked::placeholder`.
    pub(crate) fn names(&self, browser: Browser, ctx: &MessageContext) -> Named {
        let Some(row) = registry::reason_for(browser, self.failure.kind(), self.stage) else {
            // `every_failure_has_a_row_in_every_browser` keeps this unreachable.
            return Named {
                reason: None,
                parameter: None,
                message: String::new(),
            };
        };
        let fill = |name: &str| self.placeholder(browser, ctx, name);
        let mut message = match row.console.strip_prefix(registry::CHROMIUM_FRAME) {
            // Chromium names the initiator and the redirect chain in its frame.
            Some(detail) if browser == Browser::Chromium => {
                let kind = match ctx.initiator {
                    Initiator::Fetch => "fetch",
                    Initiator::Xhr => "XMLHttpRequest",
                    Initiator::Other(k) => k,
                };
                // Pieced together, not `format!` (a message for every browser of every
                // blocked flow).
                let redirected = ctx.last_url != ctx.first_url;
                let mut m = String::with_capacity(
                    registry::CHROMIUM_FRAME.len()
                        + detail.len()
                        + ctx.last_url.len()
                        + ctx.page_origin.len()
                        + if redirected {
                            ctx.first_url.len() + 24
                        } else {
                            0
                        }
                        + 64,
                );
                m.push_str("Access to ");
                m.push_str(kind);
                m.push_str(" at '");
                m.push_str(ctx.last_url);
                m.push_str("' ");
                if redirected {
                    m.push_str("(redirected from '");
                    m.push_str(ctx.first_url);
                    m.push_str("') ");
                }
                m.push_str("from origin '");
                m.push_str(ctx.page_origin);
                m.push_str("' has been blocked by CORS policy: ");
                registry::render_into(&mut m, detail, fill);
                m
            }
            _ => registry::render(row.console, fill),
        };
        if row.xhr_credentials_note && ctx.initiator == Initiator::Xhr {
            message.push_str(registry::XHR_CREDENTIALS_NOTE);
        }
        let parameter = row
            .parameter
            .and_then(fill)
            .map(Cow::into_owned)
            // DevTools reports an empty failedParameter as none.
            .filter(|p| browser != Browser::Chromium || !p.is_empty());
        Named {
            reason: (!row.name.is_empty()).then_some(row.name),
            parameter,
            message,
        }
    }

    /// What `browser` prints for a placeholder of its templates (see the registry's docs).
    fn placeholder<'a>(
        &'a self,
        browser: Browser,
        ctx: &'a MessageContext,
        name: &str,
    ) -> Option<Cow<'a, str>> {
        use Failure::*;
        let f = &self.failure;
        let value: &str = match (browser, f) {
            (_, AllowOriginMultiple { value })
            | (_, AllowOriginMismatch { value })
            | (_, AllowOriginInvalid { value }) => value,
            (_, AllowCredentialsNotTrue { value }) => value.as_deref().unwrap_or(""),
            (
                Browser::Safari,
                AllowMethodsInvalid { raw, .. } | AllowHeadersInvalid { raw, .. },
            ) => raw,
            (_, AllowMethodsInvalid { token, .. } | AllowHeadersInvalid { token, .. }) => token,
            // Chromium 156 leaves the parameter empty, so its message reads `location ''`.
            (Browser::Chromium, RedirectCredentials { .. }) => "",
            (_, RedirectCredentials { url, .. }) => url,
            _ => "",
        };
        Some(match name {
            "url" => Cow::Borrowed(match (browser, f) {
                (Browser::Chromium, DisallowedByMode) => ctx.first_url,
                (Browser::Chromium, _) => ctx.last_url,
                (
                    Browser::Safari,
                    RedirectCredentials {
                        url_without_credentials,
                        ..
                    },
                ) => url_without_credentials,
                // WebKit names the redirect's target in its redirect frame.
                (Browser::Safari, _) if self.stage == Stage::Redirect => {
                    self.location.as_deref().unwrap_or(&self.url)
                }
                _ => &self.url,
            }),
            "origin" => Cow::Borrowed(match browser {
                Browser::Safari => &self.request_origin,
                _ => ctx.page_origin,
            }),
            "status" => match (browser, f, self.status) {
                // Firefox fails the channel on such a redirect: no response status.
                (Browser::Firefox, RedirectCredentials { .. }, _) | (Browser::Firefox, _, None) => {
                    Cow::Borrowed("(null)")
                }
                (Browser::Safari, _, None) => Cow::Borrowed("0"),
                (_, _, Some(s)) => Cow::Owned(s.to_string()),
                (_, _, None) => Cow::Borrowed(""),
            },
            "value" => Cow::Borrowed(value),
            "method" => match f {
                MethodNotAllowed { method } => Cow::Borrowed(method.as_str()),
                _ => return None,
            },
            "header" => match (browser, f) {
                (Browser::Safari, HeaderNotAllowed { as_written, .. }) => {
                    Cow::Borrowed(as_written.as_str())
                }
                (_, HeaderNotAllowed { name, .. }) => Cow::Borrowed(name.as_str()),
                _ => return None,
            },
            "schemes" => Cow::Borrowed(registry::CHROMIUM_CORS_SCHEMES),
            _ => return None,
        })
    }
}

/// Firefox's name for a network failure of a CORS request, and its message.
pub(crate) fn firefox_network_error(url: &str) -> Named {
    const NAME: &str = "CORSDidNotSucceed";
    let console = registry::reason_named(Browser::Firefox, NAME).map_or("", |r| r.console);
    Named {
        reason: Some(NAME),
        parameter: None,
        message: registry::render(console, |p| match p {
            "url" => Some(Cow::Borrowed(url)),
            "status" => Some(Cow::Borrowed("(null)")),
            _ => None,
        }),
    }
}
