#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Interop helper: encrypt to a public JWK with python3-jwcrypto.

Usage: jwe_encrypt.py PUBLIC_JWK_FILE PLAINTEXT_HEX
The key management alg is the JWK's "alg" (RSA-OAEP-256 or ECDH-ES+A256KW), enc is A256GCM.
Prints the compact JWE on stdout; exits non-zero on any failure.
"""
import json
import sys

from jwcrypto import jwe, jwk


def main(argv):
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    with open(argv[1], encoding="utf-8") as f:
        members = json.load(f)
    key = jwk.JWK(**members)
    protected = {"alg": members["alg"], "enc": "A256GCM", "kid": key.thumbprint()}
    token = jwe.JWE(bytes.fromhex(argv[2]), protected=json.dumps(protected))
    token.add_recipient(key)
    print(token.serialize(compact=True))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
