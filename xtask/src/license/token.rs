//! A CAIO-v2 token from its claims, signed by the operator's key.
//!
//! The format is the library's ([`caio_verify::Claims`] writes the payload and the
//! token); this module only puts a [`KeyringSigner`] (a PEM key or a PKCS#11 token that
//! the manifest lets sign now) between the signing input and the signature. Nothing
//! here decides which claims a license has, or which key may sign.

use anyhow::Result;
use caio_verify::Claims;

use crate::signer::KeyringSigner;

/// Signs `claims` as they are (their `kid` must already be [`KeyringSigner::kid`]) and
/// returns the token `CAIO-v2.<payload>.<signature>`. Fails only when the signer fails.
pub fn sign(signer: &KeyringSigner<'_>, claims: &Claims) -> Result<String> {
    // The signing input once: `Claims::token` would write the payload again.
    let input = claims.signing_input();
    let signature = signer.sign(input.as_bytes())?;
    Ok(caio_verify::license::token(&input, &signature))
}
