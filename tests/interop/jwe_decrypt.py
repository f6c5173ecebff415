#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Interop helper: decrypt a compact JWE with python3-jwcrypto.

Usage: jwe_decrypt.py JWE_FILE PRIVATE_JWK_FILE
Prints the plaintext as lowercase hex on stdout; exits non-zero on any failure.
"""
import json
import sys

from jwcrypto import jwe, jwk


def main(argv):
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    with open(argv[1], encoding="ascii") as f:
        compact = f.read().strip()
    with open(argv[2], encoding="utf-8") as f:
        key = jwk.JWK(**json.load(f))
    token = jwe.JWE()
    # Restrict to what skr emits, so a silent downgrade would fail here too.
    token.allowed_algs = ["RSA-OAEP-256", "ECDH-ES+A256KW", "A256GCM"]
    token.deserialize(compact, key=key)
    print(token.payload.hex())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
