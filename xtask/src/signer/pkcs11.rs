//! An Ed25519 private key that lives on a PKCS#11 token (an HSM, a smart card,
//! SoftHSM2), named by an RFC 7512 URI ([`super::uri`]): the key never leaves the token.
//!
//! Opening a key: load the module (`module-path`, else `CAIO_PKCS11_MODULE`), initialize
//! it for OS locking, pick the one initialized token the URI's token attributes match,
//! log in as the user with the PIN (`pin-value` or `pin-source`, else
//! `CAIO_PKCS11_PIN`), find the one private key the URI's `object` (label) and `id`
//! match, and require it to be Ed25519 (`CKK_EC_EDWARDS` on edwards25519) and allowed to
//! sign with `CKM_EDDSA`. The public key comes from the token too: the public key object
//! with the private key's CKA_ID (or label), its CKA_EC_POINT a DER OCTET STRING around
//! the 32 bytes or the 32 bytes bare; failing that, the private key's
//! CKA_PUBLIC_KEY_INFO. A test signature checks that the two halves are a pair before
//! anything is signed, since the public key's fingerprint is what picks the keyring
//! entry and every token's `kid`.
//!
//! Threads: a PKCS#11 session is not thread-safe (`cryptoki::session::Session` is
//! `Send`, not `Sync`), while one module context may serve many threads. A
//! [`TokenSigner`] keeps a pool of sessions: each signature takes an idle session (or
//! opens one), uses it alone, and puts it back, so `license reissue`'s worker threads
//! sign in parallel, each through a session of its own, and a session is never used by
//! two threads at once. PKCS#11 login is per token and application, not per session, so
//! the sessions opened after the first login share it.
//!
//! The PIN lives in zeroizing buffers (cryptoki's `RawAuthPin` wipes itself on drop); no
//! message, log line or `Debug` output holds it, and messages name the URI only in its
//! redacted form. Not here: parsing the URI, or deciding which key may sign what.

use std::ffi::OsString;
use std::fmt;
use std::os::unix::ffi::OsStringExt as _;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use anyhow::{Context, Result, anyhow, bail};
use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::mechanism::eddsa::{EddsaParams, EddsaSignatureScheme};
use cryptoki::mechanism::{Mechanism, MechanismType};
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::{Slot, TokenInfo};
use cryptoki::types::RawAuthPin;

use super::uri::{ObjectType, PinSpec, Pkcs11Uri};

/// The module to load when the URI has no `module-path` (empty: unset).
pub const MODULE_ENV: &str = "CAIO_PKCS11_MODULE";

/// The user PIN when the URI has neither `pin-value` nor `pin-source` (empty: unset).
pub const PIN_ENV: &str = "CAIO_PKCS11_PIN";

/// An Ed25519 private key on a token, logged in and checked, ready to sign.
pub struct TokenSigner {
    // Field order is drop order: the sessions close before the module is finalized.
    /// Logged-in sessions not in use; see the module doc.
    idle: Mutex<Vec<Session>>,
    key: ObjectHandle,
    public: [u8; 32],
    /// `token "caio", key "lic" (id 01)`: for messages.
    name: String,
    token: Token,
}

impl TokenSigner {
    /// Opens the private key `uri` names and checks it (see the module doc).
    pub fn open(uri: &Pkcs11Uri) -> Result<Self> {
        let token = Token::open(uri)?;
        let session = token.session()?;
        token.login(&session, uri, true)?;
        let mechanisms = token
            .module
            .ctx
            .get_mechanism_list(token.slot)
            .map_err(|e| token.error("cannot list the mechanisms of", &e))?;
        if !mechanisms.contains(&MechanismType::EDDSA) {
            bail!(
                "{}: token {:?} does not offer CKM_EDDSA, so it cannot sign with Ed25519; use a token (or a module version) that does",
                uri.redacted(),
                token.label
            );
        }
        let (key, attributes) = find_private_key(&session, uri, &token)?;
        let name = format!("token {:?}, key {}", token.label, attributes.describe());
        let public = public_key_of_private(&session, key, &attributes)
            .with_context(|| format!("{}: {name}", uri.redacted()))?;
        let signer = Self {
            idle: Mutex::new(vec![session]),
            key,
            public,
            name,
            token,
        };
        signer.self_test(uri)?;
        Ok(signer)
    }

    /// The raw Ed25519 public key, read from the token.
    pub fn public_key(&self) -> [u8; 32] {
        self.public
    }

    /// `token "caio", key "lic" (id 01)`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Signs `message` with CKM_EDDSA (pure Ed25519) on the token, through a session no
    /// other thread is using.
    pub fn sign(&self, message: &[u8]) -> Result<[u8; 64]> {
        let session = self.take_session()?;
        let mechanism = Mechanism::Eddsa(EddsaParams::new(EddsaSignatureScheme::Ed25519));
        let signed = session.sign(&mechanism, self.key, message);
        self.idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(session);
        let signature = signed.map_err(|e| anyhow!("{}: cannot sign: {}", self.name, ckr(&e)))?;
        <[u8; 64]>::try_from(signature.as_slice()).map_err(|_| {
            anyhow!(
                "{}: the token returned a signature of {} bytes, not an Ed25519 signature of 64",
                self.name,
                signature.len()
            )
        })
    }

    /// An idle session, or a new one (which shares the login).
    fn take_session(&self) -> Result<Session> {
        let idle = self
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        match idle {
            Some(session) => Ok(session),
            None => self.token.session(),
        }
    }

    /// Signs a fixed message and verifies it under the public key found: the two halves
    /// must be a pair, or every license would carry the wrong `kid`.
    fn self_test(&self, uri: &Pkcs11Uri) -> Result<()> {
        const PROBE: &[u8] = b"CAIO PKCS#11 key pair check";
        let verifying = caio_keyring::ed25519_public_key(&self.public)
            .map_err(|e| anyhow!("{}: {}: {e}", uri.redacted(), self.name))?;
        let signature = ed25519_dalek::Signature::from_bytes(&self.sign(PROBE)?);
        verifying.verify_strict(PROBE, &signature).map_err(|_| {
            anyhow!(
                "{}: {}: a test signature does not verify under the public key stored with it, so they are not a pair; name the right key pair with id=",
                uri.redacted(),
                self.name
            )
        })
    }
}

impl fmt::Debug for TokenSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenSigner")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// The raw Ed25519 public key of the key pair `uri` names, for `keys add`: the public
/// key object the URI's `object`/`id` match (any `type` but a certificate, secret key or
/// data object names the pair). Logs in only when a PIN is given, since public objects
/// are usually readable without; a logged-in session also finds a pair whose public
/// half lives only in the private key's CKA_PUBLIC_KEY_INFO.
pub fn read_public_key(uri: &Pkcs11Uri) -> Result<[u8; 32]> {
    match uri.object_type {
        None | Some(ObjectType::Public | ObjectType::Private) => {}
        Some(other) => bail!(
            "{}: type={other} names no key pair; name the key with object= and/or id=, and type=public, type=private or no type",
            uri.redacted()
        ),
    }
    let token = Token::open(uri)?;
    let session = token.session()?;
    let logged_in = token.login(&session, uri, false)?;
    let mut template = vec![Attribute::Class(ObjectClass::PUBLIC_KEY)];
    template.extend(selector(uri));
    let handles = session
        .find_objects(&template)
        .map_err(|e| token.error("cannot search", &e))?;
    match handles.as_slice() {
        [handle] => {
            let attributes = KeyAttributes::read(&session, *handle)
                .map_err(|e| token.error("cannot read a public key of", &e))?;
            attributes.require_ed25519(uri, &token, "public")?;
            ed25519_from_attributes(&session, *handle)
                .map_err(|e| token.error("cannot read a public key of", &e))?
                .with_context(|| {
                    format!(
                        "{}: token {:?}: the public key {} has no CKA_EC_POINT holding 32 bytes",
                        uri.redacted(),
                        token.label,
                        attributes.describe()
                    )
                })
        }
        [] if logged_in => {
            let (key, attributes) = find_private_key(&session, uri, &token)?;
            public_key_of_private(&session, key, &attributes).with_context(|| {
                format!(
                    "{}: token {:?}, key {}",
                    uri.redacted(),
                    token.label,
                    attributes.describe()
                )
            })
        }
        [] => bail!(
            "{}: token {:?} shows no public key with {}{}; give the PIN (pin-source= in the URI, or {PIN_ENV}) if the token keeps it private",
            uri.redacted(),
            token.label,
            object_selector_text(uri),
            list_keys(&session, ObjectClass::PUBLIC_KEY)
        ),
        _ => bail!(
            "{}: token {:?} has {} public keys with {}{}; add id= to name one",
            uri.redacted(),
            token.label,
            handles.len(),
            object_selector_text(uri),
            list_keys(&session, ObjectClass::PUBLIC_KEY)
        ),
    }
}

/// A PKCS#11 module, loaded and initialized; finalized when dropped.
struct Module {
    ctx: Pkcs11,
    /// The module's path, for messages.
    path: PathBuf,
}

/// The one token of a module that a URI selects.
struct Token {
    slot: Slot,
    /// The token's label, for messages.
    label: String,
    module: Module,
}

impl Module {
    /// Loads and initializes the module the URI names (or `CAIO_PKCS11_MODULE`).
    fn open(uri: &Pkcs11Uri) -> Result<Self> {
        let path = module_path(uri)?;
        let ctx = Pkcs11::new(&path).map_err(|e| match e {
            CkError::LibraryLoading(e) => anyhow!(
                "{}: cannot load the PKCS#11 module {}: {e}; check module-path= in the URI or {MODULE_ENV}",
                uri.redacted(),
                path.display()
            ),
            e => anyhow!(
                "{}: {} is not a usable PKCS#11 module: {}",
                uri.redacted(),
                path.display(),
                ckr(&e)
            ),
        })?;
        match ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
            Ok(()) | Err(CkError::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => {}
            Err(e) => bail!(
                "{}: the PKCS#11 module {} failed to initialize: {} (for SoftHSM2: is SOFTHSM2_CONF right, and its tokendir readable?)",
                uri.redacted(),
                path.display(),
                ckr(&e)
            ),
        }
        Ok(Self { ctx, path })
    }

    /// `{what} the PKCS#11 module /path: CKR_...`.
    fn error(&self, what: &str, e: &CkError) -> anyhow::Error {
        anyhow!(
            "{what} the PKCS#11 module {}: {}",
            self.path.display(),
            ckr(e)
        )
    }
}

impl Drop for Module {
    fn drop(&mut self) {
        // Every session is closed by now (they drop first); errors help no one here.
        let _ = self.ctx.clone().finalize();
    }
}

impl Token {
    /// Loads and initializes the module, then selects the token.
    fn open(uri: &Pkcs11Uri) -> Result<Self> {
        Self::select(Module::open(uri)?, uri)
    }

    /// Selects the one initialized token of `module` that matches every token
    /// attribute of `uri`.
    fn select(module: Module, uri: &Pkcs11Uri) -> Result<Self> {
        let library = module
            .ctx
            .get_library_info()
            .map_err(|e| module.error("cannot read the library info of", &e))?;
        let checks = [
            (
                "library-manufacturer",
                uri.library_manufacturer.as_deref(),
                library.manufacturer_id().to_owned(),
            ),
            (
                "library-description",
                uri.library_description.as_deref(),
                library.library_description().to_owned(),
            ),
        ];
        for (name, wanted, actual) in checks {
            if let Some(wanted) = wanted
                && wanted != actual
            {
                bail!(
                    "{}: the module {} has {name} {actual:?}, and the URI asks for {wanted:?}",
                    uri.redacted(),
                    module.path.display()
                );
            }
        }
        if let Some((major, minor)) = uri.library_version {
            let version = library.library_version();
            if (version.major(), version.minor()) != (major, minor) {
                bail!(
                    "{}: the module {} is version {}.{}, and the URI asks for library-version={major}.{minor}",
                    uri.redacted(),
                    module.path.display(),
                    version.major(),
                    version.minor()
                );
            }
        }

        let slots = module
            .ctx
            .get_slots_with_token()
            .map_err(|e| module.error("cannot list the slots of", &e))?;
        let mut present = Vec::new();
        let mut matching = Vec::new();
        for slot in slots {
            let info = module
                .ctx
                .get_token_info(slot)
                .map_err(|e| module.error("cannot read a token of", &e))?;
            if !info.token_initialized() {
                continue;
            }
            let slot_info = module
                .ctx
                .get_slot_info(slot)
                .map_err(|e| module.error("cannot read a slot of", &e))?;
            present.push(format!(
                "{:?} (serial {:?}, slot-id {})",
                info.label(),
                info.serial_number(),
                slot.id()
            ));
            let wanted = [
                (uri.token.as_deref(), info.label()),
                (uri.manufacturer.as_deref(), info.manufacturer_id()),
                (uri.model.as_deref(), info.model()),
                (uri.serial.as_deref(), info.serial_number()),
                (
                    uri.slot_description.as_deref(),
                    slot_info.slot_description(),
                ),
                (
                    uri.slot_manufacturer.as_deref(),
                    slot_info.manufacturer_id(),
                ),
            ];
            let matches = wanted
                .iter()
                .all(|(w, actual)| w.is_none_or(|w| w == *actual))
                && uri.slot_id.is_none_or(|id| id == slot.id());
            if matches {
                matching.push((slot, info));
            }
        }
        let tokens = if present.is_empty() {
            "it has no initialized token".to_owned()
        } else {
            format!("its tokens: {}", present.join(", "))
        };
        match matching.len() {
            1 => {
                let (slot, info) = matching.remove(0);
                Ok(Self {
                    slot,
                    label: info.label().to_owned(),
                    module,
                })
            }
            0 => bail!(
                "{}: no token matches {} in the module {}; {tokens}. Fix the URI, or initialize the token (softhsm2-util --init-token --free --label LABEL)",
                uri.redacted(),
                token_selector_text(uri),
                module.path.display()
            ),
            n => bail!(
                "{}: {n} tokens match {} in the module {}; {tokens}. Add token= or serial= to name one",
                uri.redacted(),
                token_selector_text(uri),
                module.path.display()
            ),
        }
    }

    /// A new read-only session with the token.
    fn session(&self) -> Result<Session> {
        self.module
            .ctx
            .open_ro_session(self.slot)
            .map_err(|e| self.error("cannot open a session with", &e))
    }

    /// Logs `session` in as the user. Without a PIN: a token with a PIN pad logs in
    /// through it; otherwise an error when `required`, else no login (`Ok(false)`).
    fn login(&self, session: &Session, uri: &Pkcs11Uri, required: bool) -> Result<bool> {
        let info = self.token_info()?;
        if !info.login_required() {
            return Ok(true);
        }
        let Some((pin, origin)) = resolve_pin(uri)? else {
            if info.protected_authentication_path() {
                eprintln!(
                    "token {:?}: enter the PIN on the token's PIN pad",
                    self.label
                );
                return self.finish_login(session.login(UserType::User, None), uri, "the PIN pad");
            }
            if required {
                bail!(
                    "{}: token {:?} needs the user PIN: add pin-source=file:/path/to/pin to the URI's query, or set {PIN_ENV}",
                    uri.redacted(),
                    self.label
                );
            }
            return Ok(false);
        };
        self.finish_login(
            session.login_with_raw(UserType::User, &pin),
            uri,
            &origin.to_string(),
        )
    }

    /// Maps the result of C_Login to a message that says what to do.
    fn finish_login(
        &self,
        result: cryptoki::error::Result<()>,
        uri: &Pkcs11Uri,
        origin: &str,
    ) -> Result<bool> {
        let rv = match result {
            Ok(()) | Err(CkError::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => return Ok(true),
            Err(CkError::Pkcs11(rv, _)) => rv,
            Err(e) => bail!(
                "{}: cannot log in to token {:?}: {}",
                uri.redacted(),
                self.label,
                ckr(&e)
            ),
        };
        let label = &self.label;
        let uri = uri.redacted();
        match rv {
            RvError::PinIncorrect => {
                let tries = match self.token_info() {
                    Ok(info) if info.user_pin_final_try() => {
                        "; one more wrong PIN locks the token's user PIN"
                    }
                    Ok(info) if info.user_pin_count_low() => {
                        "; the token has counted wrong PINs, and locks the user PIN after a few"
                    }
                    _ => "; a token locks its user PIN after a few wrong ones",
                };
                bail!(
                    "{uri}: token {label:?} refused the PIN from {origin} (CKR_PIN_INCORRECT){tries}. Check the PIN"
                )
            }
            RvError::PinLocked => bail!(
                "{uri}: the user PIN of token {label:?} is locked (CKR_PIN_LOCKED); the token's security officer must reset it"
            ),
            RvError::PinLenRange | RvError::PinInvalid => bail!(
                "{uri}: token {label:?} does not accept the PIN from {origin} ({}): wrong length or characters; check the PIN",
                rv_name(rv)
            ),
            RvError::PinExpired => bail!(
                "{uri}: the user PIN of token {label:?} has expired (CKR_PIN_EXPIRED); change it with the token's tools, then retry"
            ),
            RvError::UserPinNotInitialized => bail!(
                "{uri}: token {label:?} has no user PIN yet (CKR_USER_PIN_NOT_INITIALIZED); set one (softhsm2-util --init-token ... --pin, or pkcs11-tool --init-pin)"
            ),
            rv => bail!(
                "{uri}: cannot log in to token {label:?} with the PIN from {origin}: {}",
                rv_name(rv)
            ),
        }
    }

    fn token_info(&self) -> Result<TokenInfo> {
        self.module
            .ctx
            .get_token_info(self.slot)
            .map_err(|e| self.error("cannot read", &e))
    }

    /// `{what} token "caio": CKR_...`.
    fn error(&self, what: &str, e: &CkError) -> anyhow::Error {
        anyhow!("{what} token {:?}: {}", self.label, ckr(e))
    }
}

/// The attributes of a key object that the checks and messages use.
#[derive(Debug, Default)]
struct KeyAttributes {
    key_type: Option<KeyType>,
    label: Vec<u8>,
    id: Vec<u8>,
    ec_params: Option<Vec<u8>>,
    can_sign: Option<bool>,
}

impl KeyAttributes {
    fn read(session: &Session, handle: ObjectHandle) -> cryptoki::error::Result<Self> {
        let wanted = [
            AttributeType::KeyType,
            AttributeType::Label,
            AttributeType::Id,
            AttributeType::EcParams,
            AttributeType::Sign,
        ];
        let mut out = Self::default();
        for attribute in session.get_attributes(handle, &wanted)? {
            match attribute {
                Attribute::KeyType(t) => out.key_type = Some(t),
                Attribute::Label(l) => out.label = l,
                Attribute::Id(id) => out.id = id,
                Attribute::EcParams(p) => out.ec_params = Some(p),
                Attribute::Sign(s) => out.can_sign = Some(s),
                _ => {}
            }
        }
        Ok(out)
    }

    /// `"lic" (id 01)`.
    fn describe(&self) -> String {
        format!(
            "{:?} (id {})",
            String::from_utf8_lossy(&self.label),
            if self.id.is_empty() {
                "none".to_owned()
            } else {
                hex_lower(&self.id)
            }
        )
    }

    /// Refuses a key that is not Ed25519, saying what it is.
    fn require_ed25519(&self, uri: &Pkcs11Uri, token: &Token, half: &str) -> Result<()> {
        let what = match self.key_type {
            Some(t) if t == KeyType::EC_EDWARDS => match &self.ec_params {
                Some(params) if !is_edwards25519(params) => {
                    format!("a {t} key on another curve than edwards25519 (Ed448?)")
                }
                _ => return Ok(()),
            },
            Some(t) if t == KeyType::EC => format!(
                "a {t} key{}",
                self.ec_params
                    .as_deref()
                    .and_then(ec_curve_name)
                    .map_or_else(String::new, |c| format!(" on {c}"))
            ),
            Some(t) => format!("a {t} key"),
            None => "a key of unknown type".to_owned(),
        };
        bail!(
            "{}: token {:?}: the {half} key {} is {what}, not Ed25519; CAIO licenses are signed with Ed25519 (CKK_EC_EDWARDS on edwards25519): make one with `pkcs11-tool --keypairgen --key-type EC:edwards25519`",
            uri.redacted(),
            token.label,
            self.describe()
        )
    }
}

/// Where the PIN came from, for messages (never the PIN).
enum PinOrigin {
    UriValue,
    File(PathBuf),
    Env,
}

impl fmt::Display for PinOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UriValue => f.write_str("pin-value in the URI"),
            Self::File(path) => write!(f, "the pin-source file {}", path.display()),
            Self::Env => f.write_str(PIN_ENV),
        }
    }
}

/// The module to load: the URI's `module-path`, else `CAIO_PKCS11_MODULE`.
fn module_path(uri: &Pkcs11Uri) -> Result<PathBuf> {
    if let Some(path) = &uri.module_path {
        return Ok(path.clone());
    }
    if let Some(path) = std::env::var_os(MODULE_ENV).filter(|p| !p.is_empty()) {
        return Ok(PathBuf::from(path));
    }
    match &uri.module_name {
        Some(name) => bail!(
            "{}: module-name={name} is not resolved by this tool: give the module's path with module-path= in the URI's query, or set {MODULE_ENV}",
            uri.redacted()
        ),
        None => bail!(
            "{}: which PKCS#11 module? Add module-path=/path/to/module.so to the URI's query (?module-path=/usr/lib/softhsm/libsofthsm2.so for SoftHSM2), or set {MODULE_ENV}",
            uri.redacted()
        ),
    }
}

/// The user PIN: the URI's `pin-value` or `pin-source`, else `CAIO_PKCS11_PIN`, else
/// none.
fn resolve_pin(uri: &Pkcs11Uri) -> Result<Option<(RawAuthPin, PinOrigin)>> {
    let (pin, origin) = match &uri.pin {
        Some(PinSpec::Value(pin)) => {
            eprintln!(
                "warning: pin-value puts the PIN on the command line, where other users of this machine can read it (ps, /proc); prefer pin-source=file:... or {PIN_ENV}"
            );
            (pin.to_vec(), PinOrigin::UriValue)
        }
        Some(PinSpec::File(path)) => (read_pin_file(uri, path)?, PinOrigin::File(path.clone())),
        // Empty means unset, as for CAIO_PKCS11_MODULE.
        None => match std::env::var_os(PIN_ENV).filter(|pin| !pin.is_empty()) {
            Some(pin) => (OsString::into_vec(pin), PinOrigin::Env),
            None => return Ok(None),
        },
    };
    if pin.is_empty() {
        bail!("{}: the PIN from {origin} is empty", uri.redacted());
    }
    // From here on the only copy is in the secret box, which wipes it on drop.
    Ok(Some((RawAuthPin::new(Box::new(pin)), origin)))
}

/// The PIN in a `pin-source` file: its bytes without one trailing newline. Warns when
/// others may read the file.
fn read_pin_file(uri: &Pkcs11Uri, path: &Path) -> Result<Vec<u8>> {
    // A PIN is at most a few dozen bytes.
    let mut bytes = crate::fsutil::read_secret_file(path, 4096).with_context(|| {
        format!(
            "{}: cannot read the pin-source file {}",
            uri.redacted(),
            path.display()
        )
    })?;
    if bytes.ends_with(b"\n") {
        bytes.pop();
        if bytes.ends_with(b"\r") {
            bytes.pop();
        }
    }
    if let Ok(meta) = std::fs::metadata(path)
        && meta.is_file()
        && meta.permissions().mode() & 0o077 != 0
    {
        eprintln!(
            "warning: the pin-source file {} has mode {:04o}, so others may read the PIN; `chmod 600 {}`",
            path.display(),
            meta.permissions().mode() & 0o7777,
            path.display()
        );
    }
    Ok(bytes.to_vec())
}

/// The object attributes of the URI as a search template: `object` (CKA_LABEL), `id`.
fn selector(uri: &Pkcs11Uri) -> Vec<Attribute> {
    let mut template = Vec::new();
    if let Some(label) = &uri.object {
        template.push(Attribute::Label(label.as_bytes().to_vec()));
    }
    if let Some(id) = &uri.id {
        template.push(Attribute::Id(id.clone()));
    }
    template
}

/// The one private key the URI names, checked to be an Ed25519 key that may sign.
fn find_private_key(
    session: &Session,
    uri: &Pkcs11Uri,
    token: &Token,
) -> Result<(ObjectHandle, KeyAttributes)> {
    match uri.object_type {
        None | Some(ObjectType::Private) => {}
        Some(other) => bail!(
            "{}: type={other} names no private key; signing needs type=private (or no type)",
            uri.redacted()
        ),
    }
    let mut template = vec![Attribute::Class(ObjectClass::PRIVATE_KEY)];
    template.extend(selector(uri));
    let handles = session
        .find_objects(&template)
        .map_err(|e| token.error("cannot search", &e))?;
    let handle = match handles.as_slice() {
        [handle] => *handle,
        [] => bail!(
            "{}: token {:?} has no private key with {}{}",
            uri.redacted(),
            token.label,
            object_selector_text(uri),
            list_keys(session, ObjectClass::PRIVATE_KEY)
        ),
        _ => bail!(
            "{}: token {:?} has {} private keys with {}{}; add id= to name one",
            uri.redacted(),
            token.label,
            handles.len(),
            object_selector_text(uri),
            list_keys(session, ObjectClass::PRIVATE_KEY)
        ),
    };
    let attributes = KeyAttributes::read(session, handle)
        .map_err(|e| token.error("cannot read a private key of", &e))?;
    attributes.require_ed25519(uri, token, "private")?;
    if attributes.can_sign == Some(false) {
        bail!(
            "{}: token {:?}: the private key {} may not sign (CKA_SIGN is false)",
            uri.redacted(),
            token.label,
            attributes.describe()
        );
    }
    Ok((handle, attributes))
}

/// The public half of the private key `key`: the public key object with its CKA_ID (or,
/// without one, its label), else its own CKA_PUBLIC_KEY_INFO or CKA_EC_POINT.
fn public_key_of_private(
    session: &Session,
    key: ObjectHandle,
    private: &KeyAttributes,
) -> Result<[u8; 32]> {
    let mut template = vec![
        Attribute::Class(ObjectClass::PUBLIC_KEY),
        Attribute::KeyType(KeyType::EC_EDWARDS),
    ];
    if private.id.is_empty() {
        template.push(Attribute::Label(private.label.clone()));
    } else {
        template.push(Attribute::Id(private.id.clone()));
    }
    let handles = session
        .find_objects(&template)
        .map_err(|e| anyhow!("cannot search for its public key: {}", ckr(&e)))?;
    let mut found = Vec::new();
    for handle in handles {
        if let Some(point) = ed25519_from_attributes(session, handle)
            .map_err(|e| anyhow!("cannot read its public key: {}", ckr(&e)))?
            && !found.contains(&point)
        {
            found.push(point);
        }
    }
    match found.as_slice() {
        [point] => return Ok(*point),
        [] => {}
        _ => bail!(
            "{} different Ed25519 public keys have its {}; give each key pair its own id",
            found.len(),
            if private.id.is_empty() { "label" } else { "id" }
        ),
    }
    // No public key object: the private key may carry its public half.
    if let Some(point) = ed25519_from_attributes(session, key)
        .map_err(|e| anyhow!("cannot read the private key: {}", ckr(&e)))?
    {
        return Ok(point);
    }
    bail!(
        "the token holds no public key for it (a public key object with id {}), and the fingerprint that picks the keyring entry is computed from it; store the public key on the token with the same id (pkcs11-tool --write-object public.der --type pubkey --id ...)",
        hex_lower(&private.id)
    )
}

/// The Ed25519 point in an object's CKA_PUBLIC_KEY_INFO (an SPKI) or CKA_EC_POINT, if
/// it has one.
fn ed25519_from_attributes(
    session: &Session,
    handle: ObjectHandle,
) -> cryptoki::error::Result<Option<[u8; 32]>> {
    let attributes = session.get_attributes(
        handle,
        &[AttributeType::EcPoint, AttributeType::PublicKeyInfo],
    )?;
    let mut point = None;
    for attribute in attributes {
        match attribute {
            Attribute::EcPoint(bytes) => point = point.or(ed25519_point(&bytes)),
            Attribute::PublicKeyInfo(spki) => {
                point = point.or(spki
                    .strip_prefix(&caio_keyring::ED25519_SPKI_PREFIX[..])
                    .and_then(|raw| <[u8; 32]>::try_from(raw).ok()));
            }
            _ => {}
        }
    }
    Ok(point)
}

/// The 32 bytes of an Ed25519 CKA_EC_POINT: a DER OCTET STRING around them (what
/// PKCS#11 3.0 specifies and SoftHSM2 stores), or the bare bytes (what some tokens
/// return).
pub fn ed25519_point(bytes: &[u8]) -> Option<[u8; 32]> {
    let raw = match bytes {
        [0x04, 0x20, rest @ ..] if rest.len() == 32 => rest,
        raw => raw,
    };
    <[u8; 32]>::try_from(raw).ok()
}

/// Whether CKA_EC_PARAMS names edwards25519: the RFC 8410 OID 1.3.101.112, the
/// PrintableString "edwards25519" (PKCS#11 3.0, what SoftHSM2 and OpenSC write), or the
/// older GnuPG OID 1.3.6.1.4.1.11591.15.1.
fn is_edwards25519(params: &[u8]) -> bool {
    const FORMS: [&[u8]; 3] = [
        &[0x06, 0x03, 0x2b, 0x65, 0x70],
        b"\x13\x0cedwards25519",
        &[
            0x06, 0x09, 0x2b, 0x06, 0x01, 0x04, 0x01, 0xda, 0x47, 0x0f, 0x01,
        ],
    ];
    FORMS.contains(&params)
}

/// The name of a Weierstrass curve from its CKA_EC_PARAMS, for messages.
fn ec_curve_name(params: &[u8]) -> Option<&'static str> {
    const CURVES: [(&[u8], &str); 4] = [
        (
            &[0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07],
            "P-256 (prime256v1)",
        ),
        (&[0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22], "P-384"),
        (&[0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x23], "P-521"),
        (&[0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x0a], "secp256k1"),
    ];
    CURVES.iter().find(|(p, _)| *p == params).map(|(_, n)| *n)
}

/// `; its private keys: "lic" (id 01, CKK_EC_EDWARDS), ...` (or that there are none),
/// for the message about a key not found. Empty if the token cannot say.
fn list_keys(session: &Session, class: ObjectClass) -> String {
    let kind = if class == ObjectClass::PRIVATE_KEY {
        "private"
    } else {
        "public"
    };
    let Ok(handles) = session.find_objects(&[Attribute::Class(class)]) else {
        return String::new();
    };
    if handles.is_empty() {
        return format!("; it shows no {kind} key");
    }
    let keys: Vec<String> = handles
        .iter()
        .filter_map(|h| KeyAttributes::read(session, *h).ok())
        .map(|a| {
            let key_type = a.key_type.map_or_else(|| "?".to_owned(), |t| t.to_string());
            let described = a.describe();
            format!("{}, {key_type})", described.trim_end_matches(')'))
        })
        .collect();
    format!("; its {kind} keys: {}", keys.join(", "))
}

/// `token="caio" serial="..."`, or `any token`.
fn token_selector_text(uri: &Pkcs11Uri) -> String {
    let mut parts = Vec::new();
    let text = [
        ("token", &uri.token),
        ("manufacturer", &uri.manufacturer),
        ("model", &uri.model),
        ("serial", &uri.serial),
        ("slot-description", &uri.slot_description),
        ("slot-manufacturer", &uri.slot_manufacturer),
    ];
    for (name, value) in text {
        if let Some(v) = value {
            parts.push(format!("{name}={v:?}"));
        }
    }
    if let Some(id) = uri.slot_id {
        parts.push(format!("slot-id={id}"));
    }
    if parts.is_empty() {
        "any token".to_owned()
    } else {
        parts.join(" ")
    }
}

/// `object="lic" id=01`, or `any label and id`.
fn object_selector_text(uri: &Pkcs11Uri) -> String {
    let mut parts = Vec::new();
    if let Some(label) = &uri.object {
        parts.push(format!("object={label:?}"));
    }
    if let Some(id) = &uri.id {
        parts.push(format!("id={}", hex_lower(id)));
    }
    if parts.is_empty() {
        "any label and id".to_owned()
    } else {
        parts.join(" ")
    }
}

/// A cryptoki error in PKCS#11's words: `CKR_PIN_INCORRECT (C_Login)`.
fn ckr(e: &CkError) -> String {
    match e {
        CkError::Pkcs11(rv, function) => format!("{} (C_{function:?})", rv_name(*rv)),
        other => other.to_string(),
    }
}

/// `RvError::PinIncorrect` as `CKR_PIN_INCORRECT`.
fn rv_name(rv: RvError) -> String {
    let camel = format!("{rv:?}");
    let mut out = String::from("CKR");
    for c in camel.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
        }
        out.push(c.to_ascii_uppercase());
    }
    out
}

fn hex_lower(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ec_points_wrapped_or_bare() {
        let raw: Vec<u8> = (0..32).collect();
        let wrapped = [&[0x04, 0x20][..], &raw].concat();
        let expected = <[u8; 32]>::try_from(raw.as_slice()).ok();
        assert_eq!(ed25519_point(&wrapped), expected);
        assert_eq!(ed25519_point(&raw), expected);
        // A bare point that happens to start like a DER header is still 32 bytes.
        let mut header_like = raw.clone();
        header_like[..2].copy_from_slice(&[0x04, 0x20]);
        assert_eq!(
            ed25519_point(&header_like),
            <[u8; 32]>::try_from(header_like.as_slice()).ok()
        );
        assert_eq!(ed25519_point(&wrapped[..33]), None);
        assert_eq!(ed25519_point(&[0x04, 0x21, 0, 1]), None);
        // An Ed448 point (57 bytes), wrapped or not, is no Ed25519 key.
        assert_eq!(ed25519_point(&[0u8; 57]), None);
        assert_eq!(
            ed25519_point(&[&[0x04, 0x39][..], &[0u8; 57]].concat()),
            None
        );
        assert_eq!(ed25519_point(&[]), None);
    }

    #[test]
    fn curve_names() {
        assert!(is_edwards25519(b"\x13\x0cedwards25519"));
        assert!(is_edwards25519(&[0x06, 0x03, 0x2b, 0x65, 0x70]));
        assert!(!is_edwards25519(&[0x06, 0x03, 0x2b, 0x65, 0x71]));
        assert!(!is_edwards25519(b"\x13\x0aedwards448"));
        assert_eq!(
            ec_curve_name(&[0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07]),
            Some("P-256 (prime256v1)")
        );
        assert_eq!(ec_curve_name(&[0x06]), None);
    }

    #[test]
    fn return_values_in_pkcs11_words() {
        assert_eq!(rv_name(RvError::PinIncorrect), "CKR_PIN_INCORRECT");
        assert_eq!(rv_name(RvError::TokenNotPresent), "CKR_TOKEN_NOT_PRESENT");
        assert_eq!(
            rv_name(RvError::KeyTypeInconsistent),
            "CKR_KEY_TYPE_INCONSISTENT"
        );
    }
}
