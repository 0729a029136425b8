//! Python bindings (`corscope._corscope`): the library's analysis of one input, streamed to
//! Python as record batches, and its mergeable summaries. `python/corscope/__init__.py` is
//! the documented interface over them.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{sync_channel, Receiver};
use std::sync::{Arc, Mutex};

use corscope::analysis::{analyze_path, options_with_limits, LimitError};
use corscope::cors::Browser;
use corscope::report::Summary as CoreSummary;
use pyo3::create_exception;
use pyo3::exceptions::{PyException, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyTuple;

create_exception!(
    corscope,
    CorscopeError,
    PyException,
    "An input or a summary could not be read; the message names the file and the place."
);

/// Batches of records queued between the analysing thread and Python.
const QUEUE: usize = 4;

enum Msg {
    /// Records as their NDJSON lines (`corscope --format ndjson`).
    Records(Vec<String>),
    Done(Box<CoreSummary>, Option<String>),
}

/// Records of one input, analysed on a thread of its own and handed over in batches of JSON
/// lines; the summary and the error (if reading stopped at one) once they are all out.
#[pyclass(module = "corscope._corscope")]
struct Records {
    /// In a mutex only so that the class is `Sync`, as Python objects must be.
    rx: Option<Mutex<Receiver<Msg>>>,
    stop: Arc<AtomicBool>,
    summary: Option<Summary>,
    error: Option<String>,
}

fn browser_arg(browser: Option<&str>) -> PyResult<Option<Browser>> {
    browser
        .map(|b| {
            b.parse::<Browser>().map_err(|_| {
                PyValueError::new_err(format!(
                    "unknown browser {b:?} (chromium, firefox or safari)"
                ))
            })
        })
        .transpose()
}

#[pymethods]
impl Records {
    #[new]
    #[pyo3(signature = (path, browser=None, all=false, limits=Vec::new(), batch=1024))]
    fn new(
        path: String,
        browser: Option<&str>,
        all: bool,
        limits: Vec<(String, u64)>,
        batch: usize,
    ) -> PyResult<Self> {
        let browser = browser_arg(browser)?;
        let mut opts = options_with_limits(&limits).map_err(|e| match e {
            LimitError::Unknown(_) => PyTypeError::new_err(e.to_string()),
            LimitError::BelowMinimum { .. } => PyValueError::new_err(e.to_string()),
        })?;
        opts.all = all;
        let stop = opts.stop.clone();
        let (tx, rx) = sync_channel::<Msg>(QUEUE);
        let batch = batch.max(1);
        std::thread::Builder::new()
            .name("corscope-analyze".into())
            .spawn(move || {
                let mut lines = Vec::with_capacity(batch);
                let stop = opts.stop.clone();
                let a = analyze_path(&path, browser, &opts, &mut |r| {
                    // Serialising a record cannot fail: its fields are strings and numbers.
                    lines.push(serde_json::to_string(r).unwrap_or_default());
                    if lines.len() >= batch {
                        let full = std::mem::replace(&mut lines, Vec::with_capacity(batch));
                        if tx.send(Msg::Records(full)).is_err() {
                            // Python dropped the iterator: end the input.
                            stop.store(true, Ordering::Relaxed);
                        }
                    }
                });
                let error = a.summary.errors.first().cloned();
                let _ = tx.send(Msg::Records(lines));
                let _ = tx.send(Msg::Done(Box::new(a.summary), error));
            })
            .map_err(|e| CorscopeError::new_err(format!("cannot start the analysis: {e}")))?;
        Ok(Records {
            rx: Some(Mutex::new(rx)),
            stop,
            summary: None,
            error: None,
        })
    }

    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    /// The next batch of records (JSON lines); `None` (StopIteration) at the end.
    fn __next__(&mut self, py: Python<'_>) -> Option<Vec<String>> {
        loop {
            let rx = self.rx.as_ref()?;
            // The analysis runs without the GIL; waiting for it must not hold it either.
            let msg = py.detach(|| rx.lock().ok().and_then(|r| r.recv().ok()));
            match msg {
                Some(Msg::Records(lines)) if lines.is_empty() => continue,
                Some(Msg::Records(lines)) => return Some(lines),
                Some(Msg::Done(summary, error)) => {
                    self.summary = Some(Summary {
                        inner: *summary,
                        dropped: Vec::new(),
                    });
                    self.error = error;
                    self.rx = None;
                }
                None => self.rx = None,
            }
        }
    }

    /// The input's summary, once every record was taken.
    #[getter]
    fn summary(&self) -> Option<Summary> {
        self.summary.clone()
    }

    /// The error that stopped reading (`file: what, where`), once every record was taken.
    #[getter]
    fn error(&self) -> Option<String> {
        self.error.clone()
    }
}

impl Drop for Records {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// A summary: counts per verdict, reason and endpoint, and the inputs it covers. Merges with
/// others exactly, in any grouping and order.
#[pyclass(module = "corscope._corscope")]
#[derive(Clone)]
struct Summary {
    inner: CoreSummary,
    /// Fields of the JSON it was loaded from that do not merge (the endpoint report).
    dropped: Vec<&'static str>,
}

impl Summary {
    fn parse(text: &str, name: &str) -> PyResult<Self> {
        let v: serde_json::Value = serde_json::from_str(text.trim())
            .map_err(|e| CorscopeError::new_err(format!("{name}: not JSON: {e}")))?;
        let (inner, dropped) = corscope::merge::from_json(name, &v)
            .map_err(|e| CorscopeError::new_err(e.to_string()))?;
        Ok(Summary { inner, dropped })
    }
}

#[pymethods]
impl Summary {
    /// An empty summary (the neutral element of `merge`).
    #[new]
    fn new() -> Self {
        Summary {
            inner: CoreSummary::default(),
            dropped: Vec::new(),
        }
    }

    /// A summary from its JSON (`corscope --summary --format ndjson|json`); `name` is used in
    /// errors.
    #[staticmethod]
    #[pyo3(signature = (text, name="<string>"))]
    fn from_json(text: &str, name: &str) -> PyResult<Self> {
        Self::parse(text, name)
    }

    /// A summary from a JSON file written by `corscope --summary` or `corscope merge`.
    #[staticmethod]
    fn load(path: &str) -> PyResult<Self> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| CorscopeError::new_err(format!("{path}: {e}")))?;
        Self::parse(&text, path)
    }

    /// Adds `other` into this summary.
    fn merge(&mut self, other: &Summary) {
        self.inner.merge(other.inner.clone());
        for d in &other.dropped {
            if !self.dropped.contains(d) {
                self.dropped.push(d);
            }
        }
    }

    fn __add__(&self, other: &Summary) -> Summary {
        let mut s = self.clone();
        s.merge(other);
        s
    }

    /// The JSON `corscope merge` prints.
    fn to_json(&self) -> PyResult<String> {
        serde_json::to_string(&self.inner).map_err(|e| CorscopeError::new_err(e.to_string()))
    }

    fn __eq__(&self, other: &Summary) -> PyResult<bool> {
        Ok(self.to_json()? == other.to_json()?)
    }

    fn __repr__(&self) -> String {
        format!(
            "<corscope.Summary {}: {} requests, {} blocked, {} unknown, {} input(s)>",
            self.inner.browser,
            self.inner.requests,
            self.inner.blocked(),
            self.inner.unknown(),
            self.inner.inputs.len()
        )
    }

    /// Pickled as its JSON (Dask and multiprocessing move summaries between processes).
    fn __reduce__<'py>(
        slf: &Bound<'py, Self>,
    ) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyTuple>)> {
        let text = slf.borrow().to_json()?;
        let from_json = slf.get_type().getattr("from_json")?;
        Ok((from_json, PyTuple::new(slf.py(), [text])?))
    }

    #[getter]
    fn browser(&self) -> &'static str {
        self.inner.browser
    }

    #[getter]
    fn requests(&self) -> u64 {
        self.inner.requests
    }

    #[getter]
    fn blocked(&self) -> u64 {
        self.inner.blocked()
    }

    #[getter]
    fn unknown(&self) -> u64 {
        self.inner.unknown()
    }

    #[getter]
    fn errors(&self) -> Vec<String> {
        self.inner.errors.clone()
    }

    #[getter]
    fn dropped(&self) -> Vec<&'static str> {
        self.dropped.clone()
    }
}

/// The limits `analyze` takes as keywords, with their defaults.
#[pyfunction]
fn limits() -> Vec<(String, u64)> {
    corscope::limits::LIMITS
        .iter()
        .map(|l| (l.flag.replace('-', "_"), l.default))
        .collect()
}

/// The record's fields, as (name, type, nullable), type one of `string`, `integer`,
/// `number`, `boolean`, `object` (the NDJSON form's; `report::FIELDS`).
#[pyfunction]
fn record_fields() -> Vec<(&'static str, &'static str, bool)> {
    use corscope::report::FieldType as T;
    corscope::report::FIELDS
        .iter()
        .map(|f| {
            let ty = match f.ty {
                T::String => "string",
                T::Integer => "integer",
                T::Number => "number",
                T::Boolean => "boolean",
                T::Object => "object",
            };
            (f.name, ty, f.nullable)
        })
        .collect()
}

#[pymodule]
fn _corscope(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Records>()?;
    m.add_class::<Summary>()?;
    m.add_function(wrap_pyfunction!(limits, m)?)?;
    m.add_function(wrap_pyfunction!(record_fields, m)?)?;
    m.add("CorscopeError", m.py().get_type::<CorscopeError>())?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
