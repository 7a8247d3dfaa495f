//! The secret-leak audit: learn every representation of the private keys a test knows,
//! then search, byte for byte, everything a command wrote for any of them.
//!
//! The search is on bytes, so a raw seed written to a terminal is found as surely as a
//! PEM line. A failure names the command, the stream and the representation, never the
//! secret: a message that would hold key material is withheld. Which commands run, and
//! with which keys, is each hygiene test's business; this module only keeps the books.
//!
//! Per key ([`Audit::learn_seed`]): the seed as raw bytes, lowercase and uppercase hex,
//! standard and url-safe base64, padded and unpadded; the PKCS#8 v1 and v2 DER as raw
//! bytes and as lowercase and uppercase hex; their PEM bodies, whole and line by line.
//! Per key file ([`Audit::learn_pem`]): its PEM body, whole and line by line. Fragments
//! shorter than [`MIN_FRAGMENT`] bytes are not searched: they occur by chance.

use base64::Engine as _;
use base64::engine::GeneralPurpose;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use ed25519_dalek::SigningKey;

use crate::keys::{PKCS8_V1_PREFIX, pkcs8_v2_pem};
use crate::run::RawOutput;

/// Fragments shorter than this are not searched: too short to identify a key, and
/// likely to turn up by chance (the last line of a PEM body may be `AA==`).
pub const MIN_FRAGMENT: usize = 16;

/// The DER before the seed in a PKCS#8 v2 Ed25519 key (RFC 8410 and 5958): version 1,
/// and 83 bytes in all, since the public key follows the seed.
pub const PKCS8_V2_PREFIX: [u8; 16] = [
    0x30, 0x51, 0x02, 0x01, 0x01, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];

/// Between the seed and the public key in PKCS#8 v2: `[1]`, 33 bytes, a BIT STRING
/// with no unused bits.
pub const PKCS8_V2_PUBLIC_TAG: [u8; 3] = [0x81, 0x21, 0x00];

/// What a run must exit with.
#[derive(Clone, Copy, Debug)]
pub enum Expect {
    /// This exit code.
    Code(i32),
    /// Any exit code: the verdict is another test's business.
    Any,
}

/// One representation of a secret: its name (what a failure shows) and its bytes.
struct Secret {
    name: String,
    bytes: Vec<u8>,
}

/// The secrets a test knows, the runs it judged, and what went wrong so far.
#[derive(Default)]
pub struct Audit {
    secrets: Vec<Secret>,
    failures: Vec<String>,
    runs: usize,
}

impl Audit {
    /// An audit that knows no secret yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Learns `bytes` under `name`, unless too short or already known.
    pub fn learn(&mut self, name: String, bytes: impl Into<Vec<u8>>) {
        let bytes = bytes.into();
        if bytes.len() >= MIN_FRAGMENT && !self.secrets.iter().any(|s| s.bytes == bytes) {
            self.secrets.push(Secret { name, bytes });
        }
    }

    /// Learns every representation of the key with `seed`, named after `key`.
    pub fn learn_seed(&mut self, key: &str, seed: &[u8; 32]) {
        let v1 = [&PKCS8_V1_PREFIX[..], seed].concat();
        let v2 = pkcs8_v2_der(seed);
        assert_eq!(
            pem_rfc7468::decode_vec(pkcs8_v2_pem(seed).as_bytes())
                .expect("v2 PEM")
                .1,
            v2,
            "{key}: ed25519-dalek writes the PKCS#8 v2 DER of RFC 5958"
        );
        self.learn(format!("{key}: the seed"), seed.to_vec());
        self.learn(
            format!("{key}: the seed as lowercase hex"),
            hex::encode(seed),
        );
        self.learn(
            format!("{key}: the seed as uppercase hex"),
            hex::encode_upper(seed),
        );
        for (what, engine) in base64_engines() {
            self.learn(format!("{key}: the seed as {what}"), engine.encode(seed));
        }
        for (form, der) in [("PKCS#8 v1 DER", v1), ("PKCS#8 v2 DER", v2)] {
            self.learn(
                format!("{key}: the {form} as lowercase hex"),
                hex::encode(&der),
            );
            self.learn(
                format!("{key}: the {form} as uppercase hex"),
                hex::encode_upper(&der),
            );
            let pem = pem_rfc7468::encode_string("PRIVATE KEY", pem_rfc7468::LineEnding::LF, &der)
                .expect("PEM");
            self.learn_pem(&format!("{key}: the {form}'s PEM"), pem.as_bytes());
            self.learn(format!("{key}: the {form}"), der);
        }
    }

    /// Learns the PEM body of `text` (a key file), whole and line by line.
    pub fn learn_pem(&mut self, name: &str, text: &[u8]) {
        for (what, body) in pem_body(text) {
            self.learn(format!("{name} {what}"), body);
        }
    }

    /// The name of the first secret in `bytes`, if any.
    pub fn secret_in(&self, bytes: &[u8]) -> Option<&str> {
        self.secrets
            .iter()
            .find(|s| find(bytes, &s.bytes).is_some())
            .map(|s| s.name.as_str())
    }

    /// Whether any secret is on the stdout or stderr of `output`.
    pub fn leaked(&self, output: &RawOutput) -> bool {
        self.secret_in(&output.stdout).is_some() || self.secret_in(&output.stderr).is_some()
    }

    /// Records each secret found in `bytes` (what `label` wrote on `stream`), by name.
    pub fn inspect(&mut self, label: &str, stream: &str, bytes: &[u8]) {
        let found: Vec<&str> = self
            .secrets
            .iter()
            .filter(|s| find(bytes, &s.bytes).is_some())
            .map(|s| s.name.as_str())
            .collect();
        if !found.is_empty() {
            let message = format!("LEAK: {label} printed on {stream}: {}", found.join("; "));
            self.failures.push(message);
        }
    }

    /// Records every secret in the output, then an unexpected exit or a panic (with
    /// the output, unless it leaked).
    pub fn judge(&mut self, label: &str, expect: Expect, output: &RawOutput) {
        self.runs += 1;
        self.inspect(label, "stdout", &output.stdout);
        self.inspect(label, "stderr", &output.stderr);
        let stderr = String::from_utf8_lossy(&output.stderr);
        let wrong_code = matches!(expect, Expect::Code(code) if code != output.code);
        let panicked = stderr.contains("panicked");
        if wrong_code || panicked {
            let shown = if self.leaked(output) {
                "(output withheld: it holds private key material)".to_owned()
            } else {
                format!(
                    "stdout:\n{}\nstderr:\n{stderr}",
                    String::from_utf8_lossy(&output.stdout)
                )
            };
            let what = if panicked { "a panic" } else { "wrong exit" };
            self.failures.push(format!(
                "{label}: {what}: exit {} (expected {expect:?}); {shown}",
                output.code
            ));
        }
    }

    /// Records a failure of the test's own (withheld at the end if it holds a secret).
    pub fn fail(&mut self, message: String) {
        self.failures.push(message);
    }

    /// What went wrong so far, for a test that must stop early.
    pub fn failures(&self) -> String {
        self.failures.join("\n")
    }

    /// Fails with every leak and unexpected exit, leaks first. A message that would
    /// itself hold key material is withheld.
    pub fn finish(mut self) {
        self.failures.sort_by_key(|f| !f.starts_with("LEAK"));
        let failures: Vec<String> = self
            .failures
            .iter()
            .map(|failure| match self.secret_in(failure.as_bytes()) {
                Some(_) => "(a failure message withheld: it holds private key material)".into(),
                None => failure.clone(),
            })
            .collect();
        assert!(
            failures.is_empty(),
            "{} problem(s) in {} runs:\n{}",
            failures.len(),
            self.runs,
            failures.join("\n")
        );
        self.failures.clear();
    }
}

/// The PKCS#8 v2 DER of `seed` (RFC 5958: the public key inside).
pub fn pkcs8_v2_der(seed: &[u8; 32]) -> Vec<u8> {
    let public = SigningKey::from_bytes(seed).verifying_key().to_bytes();
    [&PKCS8_V2_PREFIX[..], seed, &PKCS8_V2_PUBLIC_TAG, &public].concat()
}

/// The four base64 alphabets and paddings, named.
pub fn base64_engines() -> [(&'static str, GeneralPurpose); 4] {
    [
        ("standard base64", STANDARD),
        ("unpadded standard base64", STANDARD_NO_PAD),
        ("base64url", URL_SAFE),
        ("unpadded base64url", URL_SAFE_NO_PAD),
    ]
}

/// A PEM of `der` under `label`, in 64-character lines.
pub fn pem_text(label: &str, der: &[u8]) -> String {
    pem_rfc7468::encode_string(label, pem_rfc7468::LineEnding::LF, der).expect("PEM")
}

/// The base64 body of a PEM: whole (lines joined), and each line, named.
pub fn pem_body(text: &[u8]) -> Vec<(String, Vec<u8>)> {
    let text = String::from_utf8_lossy(text);
    let lines: Vec<&str> = text
        .lines()
        .map(|l| l.trim_end_matches('\r'))
        .filter(|l| !l.is_empty() && !l.starts_with("-----"))
        .collect();
    let mut out = vec![("body".to_owned(), lines.concat().into_bytes())];
    for (i, line) in lines.iter().enumerate() {
        out.push((format!("body line {}", i + 1), line.as_bytes().to_vec()));
    }
    out
}

/// Where `needle` first occurs in `haystack`, byte for byte.
pub fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
