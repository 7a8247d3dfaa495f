#!/usr/bin/env bash
# Checks that `cargo xtask release` is reproducible: builds the release twice, from two
# copies of the workspace at different paths that share nothing but the cargo home
# (each its own target directory, so nothing is reused), and requires the two dist/
# directories to be byte for byte the same: binaries, the container image
# (caio-verify-image.tar, hence its manifest digest), the Python wheel, SHA256SUMS and the
# statement. A release missing the image or the wheel fails the check: a package that was
# not built would be "identical" by its absence.
#
# Usage: scripts/check-reproducible.sh [WORKDIR]
#   WORKDIR (default: a new temporary directory) receives the two copies; it is kept
#   on failure so the builds can be compared (e.g. with diffoscope).
#
# The copies hold the files git would commit (tracked and untracked-but-not-ignored),
# so uncommitted work is checked too. Two full release builds: minutes, not seconds;
# CI runs this as its own job (.github/workflows/ci.yml).
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
work="${1:-$(mktemp -d "${TMPDIR:-/tmp}/caio-repro.XXXXXX")}"
first="$work/a"
second="$work/second-checkout/at-a-longer-path"

copy_workspace() {
    mkdir -p "$1"
    (
        cd "$root"
        git ls-files -z --cached --others --exclude-standard |
            while IFS= read -r -d '' file; do
                [[ -f $file ]] && printf '%s\0' "$file"
            done |
            tar --null --ignore-failed-read -T - -cf -
    ) | tar -xf - -C "$1"
}

# The copies have no target/ci-tools: maturin (the wheel's builder) comes from this
# checkout's, installed there if missing.
if [[ -z ${MATURIN:-} ]] && ! command -v maturin >/dev/null; then
    PATH="$("$root/.ci/maturin"):$PATH"
    export PATH
fi

for dir in "$first" "$second"; do
    rm -rf "$dir"
    copy_workspace "$dir"
    echo "check-reproducible: releasing from $dir" >&2
    (cd "$dir" && env -u CARGO_TARGET_DIR -u CARGO_BUILD_TARGET_DIR cargo xtask release --out "$dir/dist")
done

for dir in "$first" "$second"; do
    for package in "$dir/dist/caio-verify-image.tar" "$dir/dist/"caio_verify-*.whl; do
        if [[ ! -f $package ]]; then
            echo "check-reproducible: $dir/dist has no $(basename "$package")" >&2
            exit 1
        fi
    done
done

# The image's digest (its manifest's, as a registry would show it), from each copy.
image_digest() {
    tar -xOf "$1/dist/caio-verify-image.tar" index.json |
        python3 -c 'import json, sys; print(json.load(sys.stdin)["manifests"][0]["digest"])'
}

if diff -r "$first/dist" "$second/dist" >&2 &&
    [[ $(image_digest "$first") == "$(image_digest "$second")" ]]; then
    echo "check-reproducible: identical releases from two checkouts:" >&2
    (cd "$first/dist" && sha256sum -- *) >&2
    echo "check-reproducible: image digest $(image_digest "$first") in both" >&2
    [[ $# -ge 1 ]] || rm -rf "$work"
else
    echo "check-reproducible: the two releases differ; the builds are in $work" >&2
    exit 1
fi
