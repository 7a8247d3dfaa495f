//! `keys add` and `keys rotate`: a new public key enters the manifest.
//!
//! Both read a public key PEM (a private key is refused before anything else happens),
//! or export the public key of a key pair on a PKCS#11 token named by a `pkcs11:` URI
//! (the private key stays there), store it in `keys/` as `<ID>.pem` in the canonical
//! form `openssl pkey -pubout` writes, and record its fingerprint. `add` takes the windows
//! as given; `rotate` also hands signing over from the keys that sign now, with dual-key
//! validation:
//!
//! - the new key signs from now, for `--lifetime` (default: the policy's
//!   `max_key_lifetime_days`, or no end when the policy sets none), and verifies for
//!   `--grace` after its signing window ends (`not_after = sign_until + grace`), so the
//!   next rotation starts from the same shape;
//! - every key that signs now stops signing now (`sign_until = now`) and verifies until
//!   now + `--grace` (`not_after`): the time customers have to move to re-issued
//!   licenses. The grace defaults to 90 days, or `min_overlap_days` if that is longer;
//!   a shorter grace than `min_overlap_days` and a longer lifetime than
//!   `max_key_lifetime_days` are refused;
//! - a key whose signing window has not begun yet is refused: the rotation would end
//!   it before it started.

use anyhow::{Context, Result, bail};
use caio_keyring::{Fingerprint, KeyId, OPEN_END};
use clap::Args;
use toml_edit::Value;

use super::edit::{Edit, EditFlags, datetime};
use super::policy::KeyState;
use crate::keygen::spki_pem;
use crate::signer::KeyArg;
use crate::time::{Clock, DAY, DurationArg, InstantArg, format_instant};
use crate::{Outcome, workspace};

/// The grace of a rotation when neither `--grace` nor the policy says more.
pub const DEFAULT_GRACE: DurationArg = DurationArg::days(90);

/// Add a public key to keys/keyring.toml with the windows given.
///
/// Copies PUBLIC_PEM into keys/ as <ID>.pem (never over an existing file) and records
/// its fingerprint. PUBLIC_PEM may also be the `pkcs11:` URI of a key pair on a PKCS#11
/// token (as `license issue --key` takes it): its public key is exported from the token.
/// Instants are RFC 3339 (2026-01-17T00:00:00Z), a date (midnight UTC) or `now`; whole
/// seconds.
#[derive(Debug, Args)]
pub struct AddArgs {
    /// The public key: an SPKI PEM ("PUBLIC KEY"), e.g. public.pem from `keygen`, or a
    /// `pkcs11:` URI such as 'pkcs11:token=caio;object=lic?module-path=/usr/lib/softhsm/libsofthsm2.so'.
    #[arg(value_name = "PUBLIC_PEM")]
    public_pem: KeyArg,
    /// The key's label: 1 to 64 characters of A-Z a-z 0-9 . _ -
    #[arg(long, value_name = "ID")]
    id: String,
    /// The first instant a license may be issued at [default: now].
    #[arg(long, value_name = "T")]
    not_before: Option<InstantArg>,
    /// The last instant a license may be issued at [default: not_after].
    #[arg(long, value_name = "T")]
    sign_until: Option<InstantArg>,
    /// The last instant a license from this key verifies [default: no end].
    #[arg(long, value_name = "T")]
    not_after: Option<InstantArg>,
    #[command(flatten)]
    flags: EditFlags,
}

/// Rotate: add a new key that signs from now, and end the signing window of every key
/// that signs now, keeping them verifiable for the grace period (dual-key validation).
///
/// The new key signs for --lifetime and verifies until its end plus --grace. The old
/// keys get sign_until = now and not_after = now + grace. Durations are like 90d, 12h,
/// 2w (days of 24 hours; no months or years). Prints the resulting timeline.
#[derive(Debug, Args)]
pub struct RotateArgs {
    /// The new public key: an SPKI PEM ("PUBLIC KEY"), e.g. public.pem from `keygen`, or
    /// the `pkcs11:` URI of a key pair on a PKCS#11 token (see `keys add --help`).
    #[arg(value_name = "PUBLIC_PEM")]
    public_pem: KeyArg,
    /// The new key's label: 1 to 64 characters of A-Z a-z 0-9 . _ -
    #[arg(long, value_name = "ID")]
    id: String,
    /// How long the old keys keep verifying after now [default: 90d, or
    /// policy.min_overlap_days if longer]; at least policy.min_overlap_days.
    #[arg(long, value_name = "DURATION")]
    grace: Option<DurationArg>,
    /// How long the new key signs [default: policy.max_key_lifetime_days, or no end];
    /// at most policy.max_key_lifetime_days.
    #[arg(long, value_name = "DURATION")]
    lifetime: Option<DurationArg>,
    #[command(flatten)]
    flags: EditFlags,
}

impl AddArgs {
    /// Runs the command.
    pub fn run(self, clock: Clock) -> Result<Outcome> {
        let Some(mut edit) = Edit::open(&workspace::manifest_path())? else {
            return Ok(Outcome::Failure);
        };
        let not_before = self.not_before.unwrap_or(InstantArg::Now).resolve(clock);
        let windows = NewWindows {
            not_before,
            sign_until: self.sign_until.map(|t| t.resolve(clock)),
            not_after: self.not_after.map(|t| t.resolve(clock)),
        };
        add_key(&mut edit, &self.public_pem, &self.id, windows)?;
        edit.commit(self.flags, clock)
    }
}

impl RotateArgs {
    /// Runs the command.
    pub fn run(self, clock: Clock) -> Result<Outcome> {
        let Some(mut edit) = Edit::open(&workspace::manifest_path())? else {
            return Ok(Outcome::Failure);
        };
        let now = clock.now();
        let policy = *edit.manifest().policy();
        let path = edit.path().display().to_string();

        let min_overlap = policy.min_overlap_days.map(DurationArg::days);
        let grace = match (self.grace, min_overlap) {
            (Some(grace), _) => grace,
            (None, Some(min)) if min.seconds() > DEFAULT_GRACE.seconds() => min,
            (None, _) => DEFAULT_GRACE,
        };
        if let (Some(min), Some(days)) = (min_overlap, policy.min_overlap_days)
            && grace.seconds() < min.seconds()
        {
            eprintln!(
                "error: {path}: policy.min_overlap_days = {days}, and --grace {grace} leaves less dual-key validation; use --grace {min} or more"
            );
            return Ok(Outcome::Failure);
        }
        let lifetime = self
            .lifetime
            .or(policy.max_key_lifetime_days.map(DurationArg::days));
        if let (Some(lifetime), Some(max)) = (lifetime, policy.max_key_lifetime_days)
            && lifetime.seconds() > i64::from(max) * DAY
        {
            eprintln!(
                "error: {path}: policy.max_key_lifetime_days = {max}, and --lifetime {lifetime} is longer; use --lifetime {} or less",
                DurationArg::days(max)
            );
            return Ok(Outcome::Failure);
        }

        let mut ending = Vec::new();
        for key in edit.manifest().keys() {
            match KeyState::of(key, now) {
                KeyState::Pending => {
                    eprintln!(
                        "error: {path}:{}: key {:?}: signs from {}, after now; a rotation ends every signing key now, so remove or re-date it first",
                        key.line,
                        key.id.as_str(),
                        format_instant(key.validity.not_before)
                    );
                    return Ok(Outcome::Failure);
                }
                KeyState::Signing if key.validity.sign_until > now => {
                    ending.push(key.id.to_string());
                }
                _ => {}
            }
        }
        let grace_end = now
            .checked_add(grace.seconds())
            .context("--grace is too long")?;
        for id in &ending {
            edit.set_key_field(id, "sign_until", datetime(now)?)?;
            edit.set_key_field(id, "not_after", datetime(grace_end)?)?;
            edit.note(format!(
                "{id}: signs until {}, verifies until {} (grace {grace})",
                format_instant(now),
                format_instant(grace_end)
            ));
        }
        if ending.is_empty() {
            edit.note("no key was signing; the rotation only adds the new key".into());
        }
        let sign_until = lifetime
            .map(|l| {
                now.checked_add(l.seconds())
                    .context("--lifetime is too long")
            })
            .transpose()?;
        let not_after = sign_until
            .map(|s| {
                s.checked_add(grace.seconds())
                    .context("--grace is too long")
            })
            .transpose()?;
        let windows = NewWindows {
            not_before: now,
            sign_until,
            not_after,
        };
        add_key(&mut edit, &self.public_pem, &self.id, windows)?;
        edit.show_timeline();
        edit.commit(self.flags, clock)
    }
}

/// The windows of a key being added; `None` leaves a field out (its default applies).
struct NewWindows {
    not_before: i64,
    sign_until: Option<i64>,
    not_after: Option<i64>,
}

/// Reads the public key (a PEM file, or from a token), plans `keys/<id>.pem` and
/// appends the `[[key]]` table.
fn add_key(edit: &mut Edit, pem: &KeyArg, id: &str, windows: NewWindows) -> Result<()> {
    let id = KeyId::new(id).with_context(|| format!("--id {id:?}"))?;
    let raw = pem.public_key()?;
    let fingerprint = Fingerprint::of_ed25519(&raw);
    if let Some(existing) = edit
        .manifest()
        .keys()
        .iter()
        .find(|k| k.fingerprint == fingerprint)
    {
        bail!(
            "{pem} is already in {} as key {:?} ({fingerprint})",
            edit.path().display(),
            existing.id.as_str()
        );
    }
    let file_name = format!("{id}.pem");
    edit.create_file(
        edit.keys_dir().join(&file_name),
        spki_pem(&raw).into_bytes(),
    )?;
    let mut fields = vec![
        ("id", Value::from(id.as_str())),
        ("algorithm", Value::from("ed25519")),
        ("public_key", Value::from(file_name.as_str())),
        ("fingerprint", Value::from(fingerprint.to_string())),
        ("not_before", datetime(windows.not_before)?),
    ];
    if let Some(t) = windows.sign_until {
        fields.push(("sign_until", datetime(t)?));
    }
    if let Some(t) = windows.not_after.filter(|t| *t != OPEN_END) {
        fields.push(("not_after", datetime(t)?));
    }
    edit.push_key(fields)?;
    edit.note(format!(
        "{id}: added from {pem} as {file_name}, {fingerprint}"
    ));
    Ok(())
}
