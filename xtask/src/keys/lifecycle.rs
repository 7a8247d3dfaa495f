//! `keys retire`, `keys revoke` and `keys remove`: the end of a key's life.
//!
//! - `retire ID --at T` sets the sunset deadline (runbook step 7): the key verifies
//!   until T (`not_after = T`) and signs no later than T (`sign_until` is pulled in
//!   when it ran past T). An earlier T than the key's `not_before` is rejected by the
//!   build's own window check.
//! - `revoke ID` is for a compromised key: `status = "revoked"` takes it out of the
//!   embedded set at the next build and puts its fingerprint into the revoked list,
//!   so nothing (not even a key endorsement) can re-admit it.
//! - `remove ID` deletes the entry and its PEM once nothing can depend on it: after
//!   its `not_after`. A revoked key stays, because removing it would drop its
//!   fingerprint from the revoked list. `--force` overrides both.

use anyhow::Result;
use caio_keyring::manifest::KeyStatus;
use clap::Args;
use toml_edit::Value;

use super::edit::{Edit, EditFlags, datetime};
use super::policy::KeyState;
use crate::time::{Clock, InstantArg, format_instant};
use crate::{Outcome, workspace};

/// Set a key's sunset deadline: it verifies until T and signs no later than T.
///
/// This is runbook step 7: licenses signed by the key stop verifying after T, so
/// re-issue them first (`keys check` and `license reissue`).
#[derive(Debug, Args)]
pub struct RetireArgs {
    /// The key's id.
    #[arg(value_name = "ID")]
    id: String,
    /// The deadline: RFC 3339 (2027-04-30T00:00:00Z), a date (midnight UTC) or `now`.
    #[arg(long, value_name = "T")]
    at: InstantArg,
    #[command(flatten)]
    flags: EditFlags,
}

/// Revoke a key (compromise): it leaves the embedded set and its fingerprint joins the
/// revoked list, so no build or endorsement can trust it again.
#[derive(Debug, Args)]
pub struct RevokeArgs {
    /// The key's id.
    #[arg(value_name = "ID")]
    id: String,
    #[command(flatten)]
    flags: EditFlags,
}

/// Remove a key and its PEM file, once its not_after has passed.
///
/// A key that still verifies, or a revoked key (whose fingerprint must stay in the
/// revoked list), is refused without --force.
#[derive(Debug, Args)]
pub struct RemoveArgs {
    /// The key's id.
    #[arg(value_name = "ID")]
    id: String,
    /// Remove it even before its not_after, or when it is revoked.
    #[arg(long)]
    force: bool,
    #[command(flatten)]
    flags: EditFlags,
}

impl RetireArgs {
    /// Runs the command.
    pub fn run(self, clock: Clock) -> Result<Outcome> {
        let Some(mut edit) = Edit::open(&workspace::manifest_path())? else {
            return Ok(Outcome::Failure);
        };
        let at = self.at.resolve(clock);
        let key = super::find_key(edit.manifest(), &self.id)?.clone();
        edit.set_key_field(&self.id, "not_after", datetime(at)?)?;
        if key.sign_until_explicit && key.validity.sign_until > at {
            edit.set_key_field(&self.id, "sign_until", datetime(at)?)?;
        }
        edit.note(format!(
            "{}: retired: signs until {}, verifies until {}",
            self.id,
            format_instant(key.validity.sign_until.min(at)),
            format_instant(at)
        ));
        edit.commit(self.flags, clock)
    }
}

impl RevokeArgs {
    /// Runs the command.
    pub fn run(self, clock: Clock) -> Result<Outcome> {
        let Some(mut edit) = Edit::open(&workspace::manifest_path())? else {
            return Ok(Outcome::Failure);
        };
        let key = super::find_key(edit.manifest(), &self.id)?;
        if key.status == KeyStatus::Revoked {
            eprintln!("{}: already revoked; nothing to change", self.id);
            return Ok(Outcome::Success);
        }
        let fingerprint = key.fingerprint;
        edit.set_key_field(&self.id, "status", Value::from("revoked"))?;
        edit.note(format!(
            "{}: revoked; {fingerprint} joins the revoked list at the next build. Re-issue its licenses with another key and ship the new build",
            self.id
        ));
        edit.commit(self.flags, clock)
    }
}

impl RemoveArgs {
    /// Runs the command.
    pub fn run(self, clock: Clock) -> Result<Outcome> {
        let Some(mut edit) = Edit::open(&workspace::manifest_path())? else {
            return Ok(Outcome::Failure);
        };
        let now = clock.now();
        let key = super::find_key(edit.manifest(), &self.id)?.clone();
        let path = edit.path().display().to_string();
        let state = KeyState::of(&key, now);
        if !self.force {
            let refusal = match state {
                KeyState::Expired => None,
                KeyState::Revoked => Some(
                    "is revoked; it stays so that its fingerprint stays in the revoked list (--force removes it anyway)".to_owned(),
                ),
                _ => Some(format!(
                    "is {state} and verifies licenses until {}; removing it now would orphan them. Set a deadline with `keys retire {} --at T` and remove it after that, or use --force",
                    format_instant(key.validity.not_after),
                    self.id
                )),
            };
            if let Some(refusal) = refusal {
                eprintln!("error: {path}:{}: key {:?}: {refusal}", key.line, self.id);
                return Ok(Outcome::Failure);
            }
        }
        edit.remove_key(&self.id)?;
        if key.pem_path.symlink_metadata().is_ok() {
            edit.delete_file(key.pem_path.clone());
        }
        edit.note(format!(
            "{}: removed ({state}), with {}",
            self.id, key.public_key_file
        ));
        edit.commit(self.flags, clock)
    }
}
