//! `caio_verify._native`: the Rust half of the `caio_verify` Python package, built into
//! the wheel by maturin (`cargo xtask release`, `docs/release.md`). It embeds the
//! keyring at compile time with the same macro as the `caio-verify` command
//! (`caio_verify::embed_keyring!()`, from `keys/keyring.toml` or the manifest
//! `CAIO_KEYRING` names), so the release gate finds, in the wheel's extension module,
//! the block it finds in the binary.
//!
//! What it offers, wrapped and documented for Python users in `python/caio_verify/`:
//! [`License`] (a verified license's claims), [`Rejected`] (a rejection's stable reason
//! code and detail, which the Python side raises as `InvalidLicense`), `verify` and
//! `verify_many` (the GIL released; a list verified across every core with rayon),
//! `keyring_json` (the object `caio-verify keyring --json` prints) and `license_lines`
//! (the result lines of `caio-verify license`, for `python -m caio_verify license`).
//!
//! `CAIO_LICENSE_PUBLIC_KEY` is read once, at the first call that needs the keys, and
//! judged as the command judges it: the key text itself, or the path of a file holding
//! it (read only when the embedded policy is not `deny`); the embedded
//! `runtime_override` policy decides (`caio_verify::runtime`). A rejected or unreadable
//! value changes nothing: the embedded keys alone are trusted.
//!
//! Not here: any verdict of its own (every one is `caio_verify::Verifier`'s), argument
//! parsing, and the typed Python API (`__init__.py`, `__init__.pyi`).

use std::sync::OnceLock;

use caio_verify::report;
use caio_verify::runtime::ENV_VAR;
use caio_verify::{EffectiveKeyring, EmbeddedKeyring, Options, Rejection, VerifiedLicense};
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList};
use rayon::prelude::*;
use serde_json::{Map, Value};

/// The keyring of the workspace this extension was built in (or of `CAIO_KEYRING`), in
/// the keyring link section: the bytes the release gate scans are the bytes verified
/// with.
static KEYRING: EmbeddedKeyring = EmbeddedKeyring::new(caio_verify::embed_keyring!());

/// A license whose signature and windows held: its claims, and the key that signed it.
#[pyclass(module = "caio_verify", frozen)]
pub struct License {
    /// The license id.
    #[pyo3(get)]
    lid: String,
    /// The licensee.
    #[pyo3(get)]
    sub: String,
    /// Issued at, unix seconds.
    #[pyo3(get)]
    iat: i64,
    /// Not valid before, unix seconds, if the license says.
    #[pyo3(get)]
    nbf: Option<i64>,
    /// Expires at, unix seconds; `None` for a license that never expires.
    #[pyo3(get)]
    exp: Option<i64>,
    /// The licensed features.
    #[pyo3(get)]
    features: Vec<String>,
    /// The number of seats, if the license says.
    #[pyo3(get)]
    seats: Option<i64>,
    /// The id of the key that signed it.
    #[pyo3(get)]
    key_id: String,
    /// The fingerprint of the key that signed it, `sha256:<hex>`.
    #[pyo3(get)]
    kid: String,
    /// `embedded`, or `runtime` for the key `CAIO_LICENSE_PUBLIC_KEY` added.
    #[pyo3(get)]
    source: &'static str,
    /// The signed payload, every field.
    payload: Map<String, Value>,
}

/// Why a license was refused; the Python side raises it as `InvalidLicense`.
#[pyclass(module = "caio_verify", frozen)]
pub struct Rejected {
    /// The stable reason code, e.g. `bad_signature`, `expired`.
    #[pyo3(get)]
    reason: &'static str,
    /// What exactly was wrong, for people.
    #[pyo3(get)]
    detail: String,
    /// The fingerprint the token names, once known.
    #[pyo3(get)]
    kid: Option<String>,
}

#[pymethods]
impl License {
    /// The signed payload as a new dict.
    #[getter]
    fn payload<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        object(py, &self.payload)
    }

    fn __repr__(&self) -> String {
        format!(
            "License(lid={:?}, sub={:?}, key_id={:?}, exp={})",
            self.lid,
            self.sub,
            self.key_id,
            self.exp
                .map_or_else(|| "None".to_owned(), |e| e.to_string())
        )
    }
}

#[pymethods]
impl Rejected {
    fn __repr__(&self) -> String {
        format!(
            "Rejected(reason={:?}, detail={:?})",
            self.reason, self.detail
        )
    }
}

/// The keys to verify with, resolved once: the embedded keys and what
/// `CAIO_LICENSE_PUBLIC_KEY` adds, as the embedded policy allows (the library reads
/// the variable as the `caio-verify` command does).
fn keys() -> &'static EffectiveKeyring<'static> {
    static KEYS: OnceLock<EffectiveKeyring<'static>> = OnceLock::new();
    KEYS.get_or_init(|| EffectiveKeyring::from_env(KEYRING.keyring()))
}

/// The verification options: at `at` (unix seconds; now when `None`), with `leeway`.
fn options(at: Option<i64>, leeway: u64) -> Options {
    at.map_or_else(Options::at_system_time, Options::at)
        .with_leeway(leeway)
}

/// A verdict as a Python object: a [`License`] or a [`Rejected`].
fn verdict(py: Python<'_>, result: Result<VerifiedLicense, Rejection>) -> PyResult<Py<PyAny>> {
    Ok(match result {
        Ok(license) => Py::new(
            py,
            License {
                lid: license.lid().to_owned(),
                sub: license.sub().to_owned(),
                iat: license.iat(),
                nbf: license.nbf(),
                exp: license.exp(),
                features: license.features().to_vec(),
                seats: license.seats(),
                key_id: license.key_id().to_string(),
                kid: license.fingerprint().to_string(),
                source: license.key_source().name(),
                payload: license.payload().clone(),
            },
        )?
        .into_any(),
        Err(rejection) => Py::new(
            py,
            Rejected {
                reason: rejection.reason.code(),
                detail: rejection.detail,
                kid: rejection.kid.map(|fp| fp.to_string()),
            },
        )?
        .into_any(),
    })
}

/// Verifies one token at `at` (unix seconds, now when `None`), the GIL released;
/// returns a `License` or a `Rejected`.
#[pyfunction]
#[pyo3(signature = (token, at, leeway))]
fn verify(py: Python<'_>, token: String, at: Option<i64>, leeway: u64) -> PyResult<Py<PyAny>> {
    let result = py.detach(|| keys().verifier(options(at, leeway)).verify(&token));
    verdict(py, result)
}

/// How many tokens one parallel task verifies with `Verifier::verify_batch` (the same
/// verdicts as one `verify` each; the signature checks finish together, which is faster).
const BATCH: usize = 64;

/// Verifies every token across every core, the GIL released; one `License` or
/// `Rejected` per token, in order.
#[pyfunction]
#[pyo3(signature = (tokens, at, leeway))]
fn verify_many(
    py: Python<'_>,
    tokens: Vec<String>,
    at: Option<i64>,
    leeway: u64,
) -> PyResult<Vec<Py<PyAny>>> {
    let options = options(at, leeway);
    let results: Vec<_> = py.detach(|| {
        let verifier = keys().verifier(options);
        tokens
            .par_chunks(BATCH)
            .flat_map_iter(|batch| verifier.verify_batch(batch))
            .collect()
    });
    results.into_iter().map(|r| verdict(py, r)).collect()
}

/// What `caio-verify keyring --json` prints: the embedded keys (source `embedded`), the
/// accepted runtime key (source `runtime`, with its endorser), the revoked list and the
/// keyring's fingerprint, serial, channel and runtime override.
#[pyfunction]
fn keyring_json() -> PyResult<String> {
    let keys = keys();
    let keyring = keys.embedded().map_err(|e| {
        PyRuntimeError::new_err(format!(
            "keyring_corrupt: the keyring embedded in caio_verify failed its checks: {e}"
        ))
    })?;
    let view = report::keyring_view(keyring, keys.runtime_key());
    serde_json::to_string_pretty(&view)
        .map_err(|e| PyRuntimeError::new_err(format!("cannot write the keyring as JSON: {e}")))
}

/// The result lines of `caio-verify license` for `tokens` (each line with its newline;
/// human lines, or `--json` objects), verified across every core with the GIL released,
/// and whether every license is valid.
#[pyfunction]
#[pyo3(signature = (tokens, json, at, leeway))]
fn license_lines<'py>(
    py: Python<'py>,
    tokens: Vec<Vec<u8>>,
    json: bool,
    at: i64,
    leeway: u64,
) -> PyResult<(Bound<'py, PyBytes>, bool)> {
    let (text, valid) = py
        .detach(|| {
            let keys = keys();
            let verifier = keys.verifier(Options::at(at).with_leeway(leeway));
            let lines: Vec<(Vec<u8>, bool)> = tokens
                .par_chunks(BATCH)
                .flat_map_iter(|batch| verifier.verify_batch(batch))
                .map(|result| {
                    let mut line = Vec::with_capacity(160);
                    if json {
                        json_line(keys, &result, &mut line)?;
                    } else {
                        report::human_line(&result, &mut line);
                    }
                    line.push(b'\n');
                    Ok((line, result.is_ok()))
                })
                .collect::<Result<_, serde_json::Error>>()?;
            let valid = lines.iter().all(|(_, v)| *v);
            Ok::<_, serde_json::Error>((lines.into_iter().flat_map(|(l, _)| l).collect(), valid))
        })
        .map_err(|e: serde_json::Error| {
            PyRuntimeError::new_err(format!("cannot write a result as JSON: {e}"))
        })?;
    let text: Vec<u8> = text;
    Ok((PyBytes::new(py, &text), valid))
}

/// An RFC 3339 instant (`2026-07-01T00:00:00Z`) as unix seconds, as `--at` reads it.
#[pyfunction]
fn parse_instant(text: &str) -> PyResult<i64> {
    text.parse::<jiff::Timestamp>()
        .map(|t| t.as_second())
        .map_err(|e| {
            PyValueError::new_err(format!(
                "not an RFC 3339 instant such as 2026-07-01T00:00:00Z: {e}"
            ))
        })
}

fn json_line(
    keys: &EffectiveKeyring<'_>,
    result: &Result<VerifiedLicense, Rejection>,
    out: &mut Vec<u8>,
) -> Result<(), serde_json::Error> {
    serde_json::to_writer(out, &report::VerdictJson::new(result, keys))
}

/// A JSON object as a new dict.
fn object<'py>(py: Python<'py>, map: &Map<String, Value>) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    for (key, value) in map {
        dict.set_item(key, to_python(py, value)?)?;
    }
    Ok(dict)
}

/// A JSON value as the Python value `json.loads` would give.
fn to_python<'py>(py: Python<'py>, value: &Value) -> PyResult<Bound<'py, PyAny>> {
    Ok(match value {
        Value::Null => py.None().into_bound(py),
        Value::Bool(b) => b.into_pyobject(py)?.to_owned().into_any(),
        Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => i.into_pyobject(py)?.into_any(),
            (None, Some(u), _) => u.into_pyobject(py)?.into_any(),
            (None, None, Some(f)) => f.into_pyobject(py)?.into_any(),
            (None, None, None) => {
                return Err(PyValueError::new_err(format!(
                    "payload number {n} has no Python value"
                )));
            }
        },
        Value::String(s) => s.into_pyobject(py)?.into_any(),
        Value::Array(items) => {
            let list = PyList::empty(py);
            for item in items {
                list.append(to_python(py, item)?)?;
            }
            list.into_any()
        }
        Value::Object(map) => object(py, map)?.into_any(),
    })
}

/// The extension module `caio_verify._native`.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<License>()?;
    m.add_class::<Rejected>()?;
    m.add_function(wrap_pyfunction!(verify, m)?)?;
    m.add_function(wrap_pyfunction!(verify_many, m)?)?;
    m.add_function(wrap_pyfunction!(keyring_json, m)?)?;
    m.add_function(wrap_pyfunction!(license_lines, m)?)?;
    m.add_function(wrap_pyfunction!(parse_instant, m)?)?;
    m.add("ENV_VAR", ENV_VAR)?;
    Ok(())
}
