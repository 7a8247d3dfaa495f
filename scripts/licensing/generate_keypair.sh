#!/usr/bin/env bash
# Runbook "License Key Rotation", step 1: generate a new Ed25519 keypair.
#
# A thin wrapper around `cargo xtask keygen DIR`, so the runbook works as written:
# DIR/private.pem (PKCS#8 v1, mode 0600: move it to a vault or an off-line store) and
# DIR/public.pem (SPKI). Nothing is ever overwritten, and DIR may not be inside keys/.
# DIR is taken relative to the directory you run this from.
set -euo pipefail

if [[ $# -ne 1 || -z $1 || $1 == -h || $1 == --help ]]; then
    echo "usage: $0 DIR" >&2
    echo "  writes DIR/private.pem (0600) and DIR/public.pem; see docs/runbook.md" >&2
    exit 2
fi

case $1 in
/*) dir=$1 ;;
*) dir=$PWD/$1 ;;
esac

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
exec "${CARGO:-cargo}" xtask keygen "$dir"
