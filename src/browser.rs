//! Which browser: the identity every layer shares (readers fingerprint it, the engine holds a
//! profile per browser, reports group by it), and [`PerBrowser`], the one list of browsers.
//! The rules each browser applies are its profile in `cors::browser`.

use std::fmt;
use std::str::FromStr;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Browser {
    Chromium,
    Firefox,
    /// WebKit, Safari's engine (recorded with WebKitGTK, which shares Safari's CORS code).
    Safari,
}

pub const ALL_BROWSERS: [Browser; 3] = [Browser::Chromium, Browser::Firefox, Browser::Safari];

/// Every browser's name as prose: `Chromium, Firefox and Safari`.
pub(crate) fn all_names() -> String {
    let names: Vec<&str> = ALL_BROWSERS.iter().map(|b| b.name()).collect();
    match names.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
        _ => names.concat(),
    }
}

/// One `T` per browser, in [`ALL_BROWSERS`] order: the browser list kept once, instead of
/// parallel arrays indexed by position.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct PerBrowser<T>([T; 3]);

impl<T> PerBrowser<T> {
    /// Each browser's value, made in [`ALL_BROWSERS`] order.
    pub(crate) fn from_fn(f: impl FnMut(Browser) -> T) -> Self {
        PerBrowser(ALL_BROWSERS.map(f))
    }

    /// Each browser with its value, in [`ALL_BROWSERS`] order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (Browser, &T)> {
        ALL_BROWSERS.into_iter().zip(&self.0)
    }

    pub(crate) fn iter_mut(&mut self) -> impl Iterator<Item = (Browser, &mut T)> {
        ALL_BROWSERS.into_iter().zip(&mut self.0)
    }

    /// The values, in [`ALL_BROWSERS`] order.
    pub fn values(&self) -> std::slice::Iter<'_, T> {
        self.0.iter()
    }

    pub(crate) fn values_mut(&mut self) -> std::slice::IterMut<'_, T> {
        self.0.iter_mut()
    }
}

impl<T: serde::Serialize> PerBrowser<T> {
    /// Serializes as one entry per browser named `<prefix>_<id>` (`avoidable_chromium`, …):
    /// flattened into a struct, the output's flat field names.
    pub(crate) fn serialize_prefixed<S: serde::Serializer>(
        &self,
        prefix: &str,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(ALL_BROWSERS.len()))?;
        for (b, v) in self.iter() {
            m.serialize_entry(&format!("{prefix}_{}", b.id()), v)?;
        }
        m.end()
    }
}

impl<T> std::ops::Index<Browser> for PerBrowser<T> {
    type Output = T;
    fn index(&self, b: Browser) -> &T {
        &self.0[b as usize]
    }
}

impl<T> std::ops::IndexMut<Browser> for PerBrowser<T> {
    fn index_mut(&mut self, b: Browser) -> &mut T {
        &mut self.0[b as usize]
    }
}

impl Browser {
    /// The name shown to users: `Chromium`, `Firefox`, `Safari`.
    pub fn name(self) -> &'static str {
        match self {
            Browser::Chromium => "Chromium",
            Browser::Firefox => "Firefox",
            Browser::Safari => "Safari",
        }
    }

    /// The identifier used in output field names and paths: `chromium`, `firefox`, `safari`.
    pub(crate) fn id(self) -> &'static str {
        match self {
            Browser::Chromium => "chromium",
            Browser::Firefox => "firefox",
            Browser::Safari => "safari",
        }
    }

    /// The name an explanation page shows (Safari's covers every WebKit port).
    pub(crate) fn label(self) -> &'static str {
        match self {
            Browser::Safari => "Safari (WebKit)",
            b => b.name(),
        }
    }

    /// Parses the qualifier of `explain::lookup("safari:Name")`; case-insensitive. Wider than
    /// [`FromStr`] (short forms such as `fx`, `wk`), since it only prefixes a reason name.
    pub(crate) fn from_qualifier(q: &str) -> Option<Self> {
        const TABLE: [(&str, Browser); 11] = [
            ("chromium", Browser::Chromium),
            ("chrome", Browser::Chromium),
            ("blink", Browser::Chromium),
            ("cr", Browser::Chromium),
            ("firefox", Browser::Firefox),
            ("gecko", Browser::Firefox),
            ("fx", Browser::Firefox),
            ("ff", Browser::Firefox),
            ("safari", Browser::Safari),
            ("webkit", Browser::Safari),
            ("wk", Browser::Safari),
        ];
        let q = q.trim();
        TABLE
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(q))
            .map(|&(_, b)| b)
    }

    /// Which browser a `User-Agent` belongs to. Order matters: Chromium's UA also says
    /// `Safari/`, and Edge/Opera are Chromium.
    pub fn from_user_agent(ua: &str) -> Option<Browser> {
        if ua.contains("Firefox/") || ua.contains("Gecko/") && ua.contains("rv:") {
            Some(Browser::Firefox)
        } else if ua.contains("Chrome/")
            || ua.contains("Chromium/")
            || ua.contains("HeadlessChrome")
        {
            Some(Browser::Chromium)
        } else if ua.contains("AppleWebKit/") && (ua.contains("Safari/") || ua.contains("Version/"))
        {
            Some(Browser::Safari)
        } else {
            None
        }
    }
}

impl fmt::Display for Browser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Browser {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "chromium" | "chrome" | "edge" => Ok(Browser::Chromium),
            "firefox" | "gecko" => Ok(Browser::Firefox),
            "safari" | "webkit" => Ok(Browser::Safari),
            other => Err(format!(
                "unknown browser '{other}' (chromium, firefox, safari)"
            )),
        }
    }
}
