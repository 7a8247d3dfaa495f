//! `CAIO_LICENSE_PUBLIC_KEY` for the command: read from the environment once at
//! startup (`main`), resolved by the library ([`EffectiveKeyring::from_variable`]: key
//! text or the path of a file, read only when the embedded policy may use it) for the
//! commands that verify or list keys. Tests give a value directly.

use std::ffi::OsString;

use caio_verify::runtime::ENV_VAR;
use caio_verify::{DecodeError, EffectiveKeyring, Keyring};

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
    /// embedded policy accepts it ([`EffectiveKeyring::from_variable`]). Every verdict
    /// is logged.
    pub fn resolve<'k>(
        &self,
        keyring: Result<&'k Keyring, &'k DecodeError>,
    ) -> EffectiveKeyring<'k> {
        EffectiveKeyring::from_variable(keyring, self.0.as_deref())
    }
}
