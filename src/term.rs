//! Terminal output: the width (`--width`, `COLUMNS`, the terminal's, else 80), colour
//! (`--color`, `NO_COLOR`, `TERM=dumb`), word wrapping that never splits a token (a reason
//! name, a URL), the pager (`less -RF`, as bat does) and the table's rows.

use std::io::{self, IsTerminal, Write};
use std::process::{Child, Command, Stdio};

use crate::cors::Browser;
use crate::report::Record;

/// Width used when nothing says otherwise (also for a terminal that reports 0×0).
pub(crate) const DEFAULT_WIDTH: usize = 80;
/// Narrower than this, the layout's own indents leave no room: widths are raised to it.
pub(crate) const MIN_WIDTH: usize = 40;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Paging {
    Auto,
    Never,
}

/// How text output looks.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Style {
    pub width: usize,
    pub color: bool,
}

impl Style {
    /// From the flags and the environment; `tty`: standard output is a terminal.
    pub(crate) fn detect(width: Option<usize>, color: ColorChoice, tty: bool) -> Style {
        Self::detect_with(width, color, tty, |k| std::env::var(k).ok())
    }

    /// [`Style::detect`] with the environment given by `env`.
    fn detect_with(
        width: Option<usize>,
        color: ColorChoice,
        tty: bool,
        env: impl Fn(&str) -> Option<String>,
    ) -> Style {
        let width = width
            .filter(|w| *w > 0)
            .or_else(|| {
                env("COLUMNS")
                    .and_then(|c| c.trim().parse().ok())
                    .filter(|w| *w > 0)
            })
            .or_else(|| {
                tty.then(terminal_size::terminal_size)
                    .flatten()
                    .map(|(w, _)| usize::from(w.0))
                    .filter(|w| *w > 0)
            })
            .unwrap_or(DEFAULT_WIDTH)
            .max(MIN_WIDTH);
        let color = match color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                tty && env("NO_COLOR").is_none_or(|v| v.is_empty())
                    && env("TERM").is_none_or(|t| t != "dumb")
            }
        };
        Style { width, color }
    }

    /// `text` in SGR `code` (e.g. `1;31`) when colour is on.
    pub(crate) fn paint(&self, text: &str, code: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }

    pub(crate) fn verdict(&self, v: &str) -> String {
        let code = match v {
            "blocked" => "1;31",
            "allowed" => "32",
            "unknown" => "33",
            _ => "2",
        };
        self.paint(v, code)
    }
}

/// Visible width of plain text (no escapes): characters, which is right for the ASCII and
/// Latin text corscope prints.
fn cols(s: &str) -> usize {
    s.chars().count()
}

/// Wraps `text` to `width` columns at spaces: the first line starts with `first`, the others
/// with `rest`. A word never splits: one longer than the line stands alone on its own line.
/// Line breaks in `text` are kept.
pub(crate) fn wrap(text: &str, first: &str, rest: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = first.to_owned();
    let mut empty = true;
    for (n, paragraph) in text.split('\n').enumerate() {
        if n > 0 {
            lines.push(std::mem::replace(&mut line, rest.to_owned()));
            empty = true;
        }
        for word in paragraph.split_whitespace() {
            if !empty && cols(&line) + 1 + cols(word) > width {
                lines.push(std::mem::replace(&mut line, rest.to_owned()));
                empty = true;
            }
            if !empty {
                line.push(' ');
            }
            line.push_str(word);
            empty = false;
        }
    }
    lines.push(line);
    lines
}

/// Where text output goes: standard output, or a pager reading it.
pub(crate) struct Output {
    pager: Option<Child>,
    out: Box<dyn Write>,
}

impl Output {
    /// Through `less -RF` when `page` and standard output is a terminal (less exits at once
    /// when everything fits on one screen); standard output when less cannot start.
    pub(crate) fn new(page: bool) -> Output {
        if page && io::stdout().is_terminal() {
            let child = Command::new("less")
                .arg("-RF")
                .stdin(Stdio::piped())
                .spawn();
            if let Ok(mut child) = child {
                if let Some(stdin) = child.stdin.take() {
                    return Output {
                        out: Box::new(io::BufWriter::new(stdin)),
                        pager: Some(child),
                    };
                }
            }
        }
        Output {
            out: Box::new(io::BufWriter::with_capacity(1 << 16, io::stdout())),
            pager: None,
        }
    }

    /// Flushes, closes the pager's input and waits for the reader to quit it.
    pub(crate) fn finish(mut self) -> io::Result<()> {
        let flushed = self.out.flush();
        self.out = Box::new(io::sink());
        if let Some(mut child) = self.pager.take() {
            child.wait()?;
        }
        flushed
    }
}

impl Write for Output {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.out.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// Columns before a row's detail lines (the `#` and its gap).
const INDENT: &str = "       ";

/// One record as rows of text: `#index verdict METHOD url` (the URL shortened to fit, then
/// given in full on its own line), the page origin, preflight and status, the reason, and the
/// fix or note, each wrapped at word boundaries.
pub(crate) fn record_lines(r: &Record, b: Browser, style: &Style) -> Vec<String> {
    let w = style.width;
    let verdict = r.verdict_for(b);
    let lead = format!("{:>5}  ", r.index);
    let head = format!("{lead}{verdict:<8} {} ", r.method);
    let room = w.saturating_sub(cols(&head));
    let shortened = cols(&r.url) > room;
    let url = if shortened {
        // At least a host's worth even on an absurdly narrow terminal (the whole URL follows
        // on its own line); from 30 columns up the row fits.
        let keep = room.max(8).saturating_sub(1);
        let mut s: String = r.url.chars().take(keep).collect();
        s.push('…');
        s
    } else {
        r.url.clone()
    };
    let mut lines = vec![format!(
        "{lead}{}{} {} {url}",
        style.verdict(verdict),
        " ".repeat(8usize.saturating_sub(cols(verdict))),
        r.method
    )];
    if shortened {
        lines.extend(wrap(&r.url, &format!("{INDENT}url "), INDENT, w));
    }
    let mut facts = vec![format!("from {}", r.origin.as_deref().unwrap_or("?"))];
    if let Some(p) = &r.preflight {
        facts.push(match (p.source.as_str(), p.status) {
            ("recorded", Some(s)) => format!("preflight OPTIONS {s}"),
            ("recorded", None) => "preflight OPTIONS unanswered".to_owned(),
            (other, _) => format!("preflight {other}"),
        });
    }
    if let Some(s) = r.status {
        facts.push(format!("status {s}"));
    }
    lines.extend(wrap(&facts.join(" · "), INDENT, INDENT, w));
    if let Some(reason) = r.reason_for(b) {
        lines.extend(wrap(reason, INDENT, INDENT, w));
    }
    let problem = verdict == "blocked" || verdict == "unknown";
    if problem {
        if let Some(fix) = &r.fix {
            lines.extend(wrap(
                fix,
                &format!("{INDENT}fix: "),
                &format!("{INDENT}     "),
                w,
            ));
        }
        if let Some(note) = r.note.as_deref().filter(|_| r.reason_for(b).is_none()) {
            lines.extend(wrap(
                note,
                &format!("{INDENT}note: "),
                &format!("{INDENT}      "),
                w,
            ));
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrap_keeps_words_whole() {
        let text = "send `Access-Control-Allow-Origin: http://app.test:8080` on the GET response";
        for width in [10, 20, 40, 80] {
            let lines = wrap(text, "  ", "    ", width);
            let words: Vec<&str> = lines.iter().flat_map(|l| l.split_whitespace()).collect();
            assert_eq!(
                words,
                text.split_whitespace().collect::<Vec<_>>(),
                "{width}"
            );
            for l in &lines {
                assert!(
                    cols(l) <= width || l.split_whitespace().count() == 1,
                    "{width}: {l:?}"
                );
            }
        }
        assert_eq!(wrap("a b\nc", "", "", 80), vec!["a b", "c"]);
    }

    #[test]
    fn colour_only_when_asked_or_on_a_terminal() {
        let never = Style::detect(Some(100), ColorChoice::Never, true);
        assert!(!never.color);
        assert_eq!(never.width, 100);
        let always = Style::detect(Some(5), ColorChoice::Always, false);
        assert!(always.color);
        assert_eq!(always.width, MIN_WIDTH);
        assert!(!Style::detect(None, ColorChoice::Auto, false).color);
        let on_tty = |vars: &'static [(&'static str, &'static str)]| {
            Style::detect_with(None, ColorChoice::Auto, true, move |k| {
                vars.iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| (*v).to_owned())
            })
        };
        assert!(on_tty(&[("TERM", "xterm-256color")]).color);
        assert!(!on_tty(&[("TERM", "dumb")]).color);
        assert!(!on_tty(&[("NO_COLOR", "1")]).color);
        assert!(
            on_tty(&[("NO_COLOR", "")]).color,
            "an empty NO_COLOR does not count"
        );
        assert_eq!(on_tty(&[("COLUMNS", "132")]).width, 132);
        // COLUMNS=0, and (in the test, no terminal) no size: 80.
        let zero = Style::detect_with(None, ColorChoice::Auto, false, |k| {
            (k == "COLUMNS").then(|| "0".to_owned())
        });
        assert_eq!(zero.width, DEFAULT_WIDTH);
    }
}
