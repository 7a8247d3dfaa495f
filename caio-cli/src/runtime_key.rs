//! `CAIO_LICENSE_PUBLIC_KEY` for the command: read from the environment once at
//! startup, and from the file it names only when the embedded policy may use it.
//!
//! The value is the key text itself when it starts (after whitespace) with
//! `CAIO-key-v1.` or `-----BEGIN `; anything else is the path of a file holding the
//! text. Under `deny` the value is never read as a path: the library logs that it is
//! ignored. A file that cannot be read is logged (reason `unreadable`) and changes
//! nothing: the embedded keys alone are trusted, as without the variable. The verdict
//! on the text itself is the library's ([`caio_verify::runtime`]).

use std::ffi::OsString;
use std::io::Read as _;
use std::path::Path;

use caio_verify::runtime::{ENV_VAR, MAX_RUNTIME_KEY_LEN};
use caio_verify::{DecodeError, EffectiveKeyring, Keyring, caio_keyring::RuntimeOverride};

/// The value of `CAIO_LICENSE_PUBLIC_KEY`, as the environment gave it.
#[derive(Debug, Clone, Default)]
pub struct RuntimeKeyVar(Option<OsString>);

impl RuntimeKeyVar {
    /// Reads the variable; unset and empty are the same.
    pub fn from_env() -> Self {
        Self(std::env::var_os(ENV_VAR).filter(|v| !v.is_empty()))
    }

    /// A value given directly, for tests.
    #[cfg(test)]
    pub fn of(value: &str) -> Self {
        Self(Some(value.into()))
    }

    /// The keys to verify with: the embedded ones, plus the runtime key when the
    /// embedded policy accepts it. Every verdict is logged.
    pub fn resolve<'k>(
        &self,
        keyring: Result<&'k Keyring, &'k DecodeError>,
    ) -> EffectiveKeyring<'k> {
        let Some(value) = &self.0 else {
            return EffectiveKeyring::embedded_only(keyring);
        };
        let lossy = value.to_string_lossy();
        let denied = keyring.is_ok_and(|k| k.runtime_override() == RuntimeOverride::Deny);
        if keyring.is_err() || denied || is_key_text(&lossy) {
            // The library decides (and logs) without a file being read.
            return EffectiveKeyring::new(keyring, Some(&lossy));
        }
        match read_key_file(Path::new(value)) {
            Ok(text) => EffectiveKeyring::new(keyring, Some(&text)),
            Err(error) => {
                tracing::warn!(
                    reason = "unreadable",
                    detail = %error,
                    "{ENV_VAR} is neither a key endorsement, a PEM, nor a readable file holding one; only the embedded keys are trusted"
                );
                EffectiveKeyring::embedded_only(keyring)
            }
        }
    }
}

/// Whether the value is the key text rather than a path.
fn is_key_text(value: &str) -> bool {
    let value = value.trim_start();
    value.starts_with(caio_verify::endorsement::PREFIX) || value.starts_with("-----BEGIN ")
}

/// The file's text, at most one byte more than the library accepts (so that it, not
/// this reader, reports an oversized key).
fn read_key_file(path: &Path) -> std::io::Result<String> {
    let file = std::fs::File::open(path)?;
    let mut bytes = Vec::new();
    file.take(MAX_RUNTIME_KEY_LEN as u64 + 1)
        .read_to_end(&mut bytes)?;
    String::from_utf8(bytes).map_err(|_| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "the file is not UTF-8 text",
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_text_is_told_from_a_path() {
        for (value, text) in [
            ("CAIO-key-v1.abc.def", true),
            ("  \nCAIO-key-v1.abc.def", true),
            ("-----BEGIN PUBLIC KEY-----\n...", true),
            ("/etc/caio/next-key.txt", false),
            ("next.pem", false),
            ("caio-key-v1.abc", false),
        ] {
            assert_eq!(is_key_text(value), text, "{value:?}");
        }
    }
}
