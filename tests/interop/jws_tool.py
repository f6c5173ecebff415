#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Interop helper: JWS compact sign / verify with python3-jwcrypto.

Usage: jws_tool.py sign PRIVATE_JWK_FILE ALG PAYLOAD_HEX   -> prints the compact JWS
       jws_tool.py verify PUBLIC_JWK_FILE JWS_FILE          -> prints the payload as hex
Exits non-zero on any failure (including a signature that does not verify).
"""
import json
import sys

from jwcrypto import jwk, jws


def load_key(path):
    with open(path, encoding="utf-8") as f:
        return jwk.JWK(**json.load(f))


def main(argv):
    if len(argv) == 5 and argv[1] == "sign":
        key = load_key(argv[2])
        token = jws.JWS(bytes.fromhex(argv[4]))
        token.add_signature(key, alg=argv[3], protected=json.dumps({"alg": argv[3]}))
        print(token.serialize(compact=True))
        return 0
    if len(argv) == 4 and argv[1] == "verify":
        key = load_key(argv[2])
        with open(argv[3], encoding="ascii") as f:
            compact = f.read().strip()
        token = jws.JWS()
        token.allowed_algs = ["ES256", "ES384"]
        token.deserialize(compact)
        token.verify(key)
        print(token.payload.hex())
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
