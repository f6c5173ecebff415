#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# An independent C2SP signed-note / tlog-checkpoint verifier (written from https://c2sp.org/signed-note
# and https://c2sp.org/tlog-checkpoint, not from skr's C++), used by checkpoint_test.cpp.
#   signed_note_verify.py VERIFIER_KEY < note
# VERIFIER_KEY is "<name>+<hex key id>+<base64(0x01 || Ed25519 public key)>". Prints
# {"origin", "tree_size", "root_hash"} as JSON when a signature line by that key verifies over the
# note text, exits 1 with a message otherwise.
import base64
import hashlib
import json
import sys

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey


def fail(msg):
    print(msg, file=sys.stderr)
    sys.exit(1)


def main():
    name, key_hash, key_b64 = sys.argv[1].split("+", 2)
    key = base64.b64decode(key_b64, validate=True)
    if len(key) != 33 or key[0] != 0x01:
        fail("not an Ed25519 verifier key")
    key_id = hashlib.sha256(name.encode() + b"\n" + key).digest()[:4]
    if key_id.hex() != key_hash:
        fail("key hash does not match the key")
    note = sys.stdin.buffer.read()
    try:
        split = note.rindex(b"\n\n")
    except ValueError:
        fail("no signature block")
    text, sigs = note[: split + 1], note[split + 2 :]
    if not sigs.endswith(b"\n"):
        fail("signature block must end in a newline")
    pub = Ed25519PublicKey.from_public_bytes(key[1:])
    ok = False
    for line in sigs[:-1].split(b"\n"):
        if not line.startswith("\u2014 ".encode()):
            fail("malformed signature line")
        who, _, sig_b64 = line[len("\u2014 ".encode()) :].decode().partition(" ")
        sig = base64.b64decode(sig_b64, validate=True)
        if who != name or sig[:4] != key_id:
            continue
        try:
            pub.verify(sig[4:], text)
            ok = True
        except InvalidSignature:
            fail("signature does not verify")
    if not ok:
        fail("no signature by " + name)
    lines = text.decode().split("\n")
    if len(lines) < 4 or lines[-1] != "":
        fail("checkpoint body needs origin, size and root")
    origin, size, root = lines[0], lines[1], lines[2]
    if not size.isdigit() or (len(size) > 1 and size[0] == "0"):
        fail("bad tree size")
    if len(base64.b64decode(root, validate=True)) != 32:
        fail("bad root hash")
    print(json.dumps({"origin": origin, "tree_size": int(size), "root_hash": root}))


main()
