#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# An independent RFC 9162 section 2.1 implementation (written from the RFC text, not from skr's
# C++), used by merkle_test.cpp to cross-check roots and proofs. Reads a JSON document on stdin:
#   {"leaves": [hex...], "roots": {"<size>": hex},
#    "inclusion": [{"index", "size", "path": [hex]}], "consistency": [{"first", "second", "proof": [hex]}]}
# Recomputes every root from the leaves with the recursive MTH definition, recomputes every proof
# with PATH / SUBPROOF (sections 2.1.3.1, 2.1.4.1), and compares. Prints "ok <checks>" or fails.
import hashlib
import json
import sys


def leaf_hash(b):
    return hashlib.sha256(b"\x00" + b).digest()


def node_hash(l, r):
    return hashlib.sha256(b"\x01" + l + r).digest()


def split(n):
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def mth(d):
    if len(d) == 0:
        return hashlib.sha256(b"").digest()
    if len(d) == 1:
        return leaf_hash(d[0])
    k = split(len(d))
    return node_hash(mth(d[:k]), mth(d[k:]))


def path(m, d):
    if len(d) <= 1:
        return []
    k = split(len(d))
    if m < k:
        return path(m, d[:k]) + [mth(d[k:])]
    return path(m - k, d[k:]) + [mth(d[:k])]


def subproof(m, d, b):
    if m == len(d):
        return [] if b else [mth(d)]
    k = split(len(d))
    if m <= k:
        return subproof(m, d[:k], b) + [mth(d[k:])]
    return subproof(m - k, d[k:], False) + [mth(d[:k])]


def main():
    doc = json.load(sys.stdin)
    leaves = [bytes.fromhex(x) for x in doc["leaves"]]
    checks = 0
    for size, root in doc["roots"].items():
        got = mth(leaves[: int(size)]).hex()
        if got != root:
            sys.exit("root of size %s: skr %s, oracle %s" % (size, root, got))
        checks += 1
    for p in doc["inclusion"]:
        want = [h.hex() for h in path(p["index"], leaves[: p["size"]])]
        if want != p["path"]:
            sys.exit("inclusion proof %d/%d differs" % (p["index"], p["size"]))
        checks += 1
    for p in doc["consistency"]:
        m, n = p["first"], p["second"]
        want = [] if m in (0, n) else [h.hex() for h in subproof(m, leaves[:n], True)]
        if want != p["proof"]:
            sys.exit("consistency proof %d->%d differs" % (m, n))
        checks += 1
    print("ok %d" % checks)


main()
