#!/usr/bin/env python3
"""Regenerates the hostile-license corpus: keys with OpenSSL, tokens signed with OpenSSL.

Writes keys/keyring.toml and public PEMs (never a private key: those live in a temporary
directory and vanish), and licenses.jsonl: one case per line, {"name", "reason", "at",
"token"}, where reason is the stable code the verifier must give (null for valid) at
instant "at". Run it from anywhere; it replaces the corpus beside it. Needs openssl and
Python 3 only.
"""

import base64
import hashlib
import json
import os
import subprocess
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
KEYS = os.path.join(HERE, "keys")
L = 2**252 + 27742317777372353535851937790883648493  # the Ed25519 group order


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def openssl(*args, data=None):
    return subprocess.run(["openssl", *args], input=data, capture_output=True, check=True).stdout


class Key:
    def __init__(self, tmp, name):
        self.private = os.path.join(tmp, f"{name}-private.pem")
        openssl("genpkey", "-algorithm", "ed25519", "-out", self.private)
        self.public_pem = openssl("pkey", "-in", self.private, "-pubout")
        der = openssl("pkey", "-pubin", "-outform", "DER", data=self.public_pem)
        self.fingerprint = "sha256:" + hashlib.sha256(der).hexdigest()

    def sign(self, message: bytes) -> bytes:
        with tempfile.NamedTemporaryFile() as f:
            f.write(message)
            f.flush()
            return openssl("pkeyutl", "-sign", "-rawin", "-inkey", self.private, "-in", f.name)


def unix(text: str) -> int:
    import datetime

    return int(datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp())


AT = "2026-07-01T00:00:00Z"
IAT = unix("2026-06-01T00:00:00Z")


def main():
    with tempfile.TemporaryDirectory() as tmp:
        trusted = Key(tmp, "trusted")
        second = Key(tmp, "second")
        revoked = Key(tmp, "revoked")
        stranger = Key(tmp, "stranger")
        write_keyring(trusted, second, revoked)
        cases = list(build_cases(trusted, second, revoked, stranger))
    with open(os.path.join(HERE, "licenses.jsonl"), "w") as out:
        for name, reason, at, token in cases:
            out.write(json.dumps({"name": name, "reason": reason, "at": at, "token": token}) + "\n")
    print(f"{len(cases)} cases")


def write_keyring(trusted, second, revoked):
    os.makedirs(KEYS, exist_ok=True)
    for f in os.listdir(KEYS):
        os.remove(os.path.join(KEYS, f))
    entries = [
        ("corpus-trusted", trusted, "2026-01-01T00:00:00Z", "2027-01-01T00:00:00Z", "2027-06-01T00:00:00Z", ""),
        ("corpus-second", second, "2026-01-01T00:00:00Z", None, None, ""),
        ("corpus-revoked", revoked, "2025-01-01T00:00:00Z", None, None, 'status = "revoked"\n'),
    ]
    text = "# Keyring of the hostile-license corpus; made by generate.py.\nversion = 1\nserial = 1\n"
    for ident, key, nb, su, na, extra in entries:
        with open(os.path.join(KEYS, f"{ident}.pem"), "wb") as f:
            f.write(key.public_pem)
        text += f'\n[[key]]\nid = "{ident}"\nalgorithm = "ed25519"\npublic_key = "{ident}.pem"\n'
        text += f'fingerprint = "{key.fingerprint}"\nnot_before = {nb}\n'
        if su:
            text += f"sign_until = {su}\n"
        if na:
            text += f"not_after = {na}\n"
        text += extra
    with open(os.path.join(KEYS, "keyring.toml"), "w") as f:
        f.write(text)


def payload(key, **fields):
    p = {"kid": key.fingerprint, "lid": "L-corpus", "sub": "Corpus Corp", "iat": IAT}
    p.update(fields)
    return {k: v for k, v in p.items() if v is not DROP}


DROP = object()


def token_from_bytes(key, payload_bytes: bytes, prefix="CAIO-v2.") -> str:
    signing_input = (prefix + b64(payload_bytes)).encode()
    return signing_input.decode() + "." + b64(key.sign(signing_input))


def token(key, p) -> str:
    return token_from_bytes(key, json.dumps(p, separators=(",", ":")).encode())


def build_cases(trusted, second, revoked, stranger):
    good = token(trusted, payload(trusted))
    head, sig = good.rsplit(".", 1)
    yield "valid_control", None, AT, good
    yield "valid_second_key_perpetual", None, "2030-01-01T00:00:00Z", token(second, payload(second))
    nested_ok = {"a": 0}
    for _ in range(30):
        nested_ok = {"a": nested_ok}
    yield "valid_nesting_32_levels", None, AT, token(trusted, payload(trusted, deep=nested_ok))
    yield "valid_extra_fields", None, AT, token(trusted, payload(trusted, tier="gold", features=["a"], seats=3))

    # Shape and encoding.
    yield "empty_token", "bad_prefix", AT, ""
    yield "wrong_prefix_v3", "bad_prefix", AT, "CAIO-v3." + good[len("CAIO-v2."):]
    yield "lower_case_prefix", "bad_prefix", AT, "caio-v2." + good[len("CAIO-v2."):]
    yield "two_parts", "malformed", AT, head
    yield "four_parts", "malformed", AT, good + "." + sig
    yield "padded_payload", "bad_encoding", AT, pad_payload(trusted)
    yield "padded_signature", "bad_encoding", AT, good + "=="
    yield "standard_alphabet", "bad_encoding", AT, standard_alphabet(trusted)
    yield "non_canonical_trailing_bits", "bad_encoding", AT, head + "." + flip_trailing_bits(sig)
    yield "whitespace_in_payload", "bad_encoding", AT, head[:12] + " " + head[12:] + "." + sig
    yield "over_long_token", "too_long", AT, token(trusted, payload(trusted, pad="x" * 4000))
    short = base64.urlsafe_b64decode(sig + "==")[:63]
    yield "short_signature", "bad_signature_length", AT, head + "." + b64(short)
    yield "long_signature", "bad_signature_length", AT, head + "." + b64(base64.urlsafe_b64decode(sig + "==") + b"\0")

    # Payload.
    yield "empty_payload", "bad_payload", AT, token_from_bytes(trusted, b"")
    yield "not_json", "bad_payload", AT, token_from_bytes(trusted, b"kid=me")
    yield "json_array", "bad_payload", AT, token_from_bytes(trusted, b"[1,2]")
    yield "json_string", "bad_payload", AT, token_from_bytes(trusted, b'"hello"')
    yield "invalid_utf8", "bad_payload", AT, token_from_bytes(trusted, b'{"kid":"\xff\xfe"}')
    deep = "0"
    for _ in range(33):
        deep = '{"a":' + deep + "}"
    yield "nesting_33_levels", "bad_payload", AT, token_from_bytes(trusted, deep.encode())
    body = json.dumps(payload(trusted), separators=(",", ":"))
    yield "duplicate_key", "bad_payload", AT, token_from_bytes(trusted, (body[:-1] + ',"sub":"Other"}').encode())
    yield "duplicate_key_after_unescaping", "bad_payload", AT, token_from_bytes(
        trusted, (body[:-1] + ',"s\\u0075b":"Other"}').encode()
    )
    yield "duplicate_key_nested", "bad_payload", AT, token_from_bytes(
        trusted, (body[:-1] + ',"x":{"a":1,"a":2}}').encode()
    )
    yield "trailing_garbage", "bad_payload", AT, token_from_bytes(trusted, (body + "x").encode())

    # Fields.
    yield "missing_kid", "missing_field", AT, token(trusted, payload(trusted, kid=DROP))
    yield "missing_iat", "missing_field", AT, token(trusted, payload(trusted, iat=DROP))
    yield "missing_lid", "missing_field", AT, token(trusted, payload(trusted, lid=DROP))
    yield "missing_sub", "missing_field", AT, token(trusted, payload(trusted, sub=DROP))
    yield "kid_number", "wrong_type", AT, token(trusted, payload(trusted, kid=7))
    yield "iat_string", "wrong_type", AT, token(trusted, payload(trusted, iat=str(IAT)))
    yield "iat_float", "wrong_type", AT, token_from_bytes(trusted, body.replace(str(IAT), f"{IAT}.0").encode())
    yield "iat_exponent", "wrong_type", AT, token_from_bytes(trusted, body.replace(str(IAT), "1.7803872e9").encode())
    yield "iat_null", "wrong_type", AT, token(trusted, payload(trusted, iat=None))
    yield "iat_beyond_i64", "wrong_type", AT, token(trusted, payload(trusted, iat=2**63))
    yield "exp_string", "wrong_type", AT, token(trusted, payload(trusted, exp="never"))
    yield "features_not_array", "wrong_type", AT, token(trusted, payload(trusted, features="gpu"))
    yield "features_with_number", "wrong_type", AT, token(trusted, payload(trusted, features=["gpu", 1]))
    yield "seats_string", "wrong_type", AT, token(trusted, payload(trusted, seats="10"))

    # Keys.
    yield "unknown_key", "unknown_key", AT, token(stranger, payload(stranger))
    yield "kid_not_a_fingerprint", "unknown_key", AT, token(trusted, payload(trusted, kid="caio-2026-01"))
    yield "revoked_key", "revoked_key", AT, token(revoked, payload(revoked))
    yield "wrong_signer", "bad_signature", AT, token(stranger, payload(trusted))
    yield "mismatched_kid", "bad_signature", AT, token(trusted, payload(second))

    # Signatures.
    yield "tampered_signature", "bad_signature", AT, head + "." + b64(flip(base64.urlsafe_b64decode(sig + "=="), 5))
    yield "malleable_s_plus_l", "bad_signature", AT, head + "." + b64(s_plus_l(base64.urlsafe_b64decode(sig + "==")))
    json_sig = trusted.sign(body.encode())
    yield "signature_over_json", "bad_signature", AT, head + "." + b64(json_sig)
    other = token(trusted, payload(trusted, lid="L-other"))
    yield "signature_moved_to_other_payload", "bad_signature", AT, other.rsplit(".", 1)[0] + "." + sig
    yield "forged_with_bad_dates", "bad_signature", AT, token(stranger, payload(trusted, iat=0, exp=1))

    # Time.
    yield "iat_in_future", "issued_in_future", AT, token(trusted, payload(trusted, iat=unix("2026-08-01T00:00:00Z")))
    yield "iat_before_key_window", "issued_outside_key_window", AT, token(
        trusted, payload(trusted, iat=unix("2025-12-31T00:00:00Z"))
    )
    yield "iat_after_sign_until", "issued_outside_key_window", "2027-03-01T00:00:00Z", token(
        trusted, payload(trusted, iat=unix("2027-02-01T00:00:00Z"))
    )
    yield "expired", "expired", AT, token(trusted, payload(trusted, exp=unix("2026-06-15T00:00:00Z")))
    yield "not_yet_valid", "not_yet_valid", AT, token(trusted, payload(trusted, nbf=unix("2026-08-01T00:00:00Z")))
    yield "after_key_not_after", "key_expired", "2027-06-01T00:00:01Z", good


def pad_payload(key):
    # A payload whose base64url needs padding, then padded anyway.
    for n in range(3):
        body = json.dumps(payload(key, pad="p" * n), separators=(",", ":")).encode()
        if len(body) % 3:
            encoded = base64.urlsafe_b64encode(body).decode()
            signing_input = "CAIO-v2." + encoded
            return signing_input + "." + b64(key.sign(signing_input.encode()))
    raise AssertionError("unreachable")


def standard_alphabet(key):
    # A payload whose base64url has '-' or '_', re-spelled in the standard alphabet and
    # signed as such, so only the encoding is wrong.
    for n in range(200):
        body = json.dumps(payload(key, note="~?>" * (n % 7 + 1), n=n), separators=(",", ":")).encode()
        encoded = b64(body)
        if "-" in encoded or "_" in encoded:
            std = encoded.replace("-", "+").replace("_", "/")
            signing_input = "CAIO-v2." + std
            return signing_input + "." + b64(key.sign(signing_input.encode()))
    raise AssertionError("no payload with - or _")


def flip_trailing_bits(sig_b64):
    # 64 bytes leave 4 unused bits in the last character; set one.
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    last = alphabet.index(sig_b64[-1])
    return sig_b64[:-1] + alphabet[last | 1]


def flip(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 1]) + data[at + 1 :]


def s_plus_l(sig: bytes) -> bytes:
    s = int.from_bytes(sig[32:], "little") + L
    return sig[:32] + s.to_bytes(32, "little")


if __name__ == "__main__":
    main()
