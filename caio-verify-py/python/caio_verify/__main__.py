"""``python -m caio_verify license TOKEN|-``: what ``caio-verify license`` does.

The same result lines on stdout (a human line, or with ``--json`` one JSON object per
license), rendered by the extension with the command's format, and the same exit codes:
0 every license valid, 1 any invalid, 2 a usage or I/O error. ``-`` reads one license
per stdin line (every line is a result, empty ones included; a trailing CR is ignored),
in chunks verified across every core. Not here: the command's other subcommands
(``keyring``: use ``caio_verify.keyring()``; ``inspect``, ``check``, ``serve``).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import BinaryIO, List, Optional

from . import DEFAULT_LEEWAY, _native

CHUNK_LINES = 4096


def _instant(text: str) -> int:
    try:
        return _native.parse_instant(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _seconds(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m caio_verify",
        description="Verify CAIO-v2 licenses against the keys embedded in this package.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    lic = commands.add_parser(
        "license",
        help="verify licenses",
        description="Prints one line per license on stdout, in input order. Exits 0 only "
        "when every license is valid, 1 otherwise, 2 for a usage or I/O error.",
    )
    lic.add_argument("token", metavar="TOKEN|-", help="the license, or - for one per stdin line")
    lic.add_argument("--json", action="store_true", help="one JSON object per license")
    lic.add_argument("--at", metavar="T", type=_instant, help="verify as of this RFC 3339 instant")
    lic.add_argument(
        "--leeway",
        metavar="SECONDS",
        type=_seconds,
        default=DEFAULT_LEEWAY,
        help=f"clock skew forgiven on iat, nbf and exp (default {DEFAULT_LEEWAY})",
    )
    return parser


def _lines(stdin: BinaryIO) -> List[bytes]:
    chunk = []
    for line in stdin:
        chunk.append(line.rstrip(b"\r\n"))
        if len(chunk) == CHUNK_LINES:
            break
    return chunk


def main(argv: Optional[List[str]] = None) -> int:
    """Runs the command; returns the exit code."""
    args = _parser().parse_args(argv)
    at = args.at if args.at is not None else int(time.time())
    out = sys.stdout.buffer
    all_valid = True
    try:
        if args.token != "-":
            text, all_valid = _native.license_lines([args.token.encode()], args.json, at, args.leeway)
            out.write(text)
        else:
            count = 0
            while True:
                chunk = _lines(sys.stdin.buffer)
                if not chunk:
                    break
                count += len(chunk)
                text, valid = _native.license_lines(chunk, args.json, at, args.leeway)
                all_valid &= valid
                out.write(text)
            if count == 0:
                print(
                    "error: no license on stdin: give one license per line, or a TOKEN argument",
                    file=sys.stderr,
                )
                return 2
        out.flush()
    except BrokenPipeError:
        # A closed pipe (`| head`) ends the run quietly, as for the command.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except OSError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0 if all_valid else 1


if __name__ == "__main__":
    sys.exit(main())
