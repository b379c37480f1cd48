#!/usr/bin/env python3
"""Writes mutated workflow documents for a hostile sweep: byte flips, truncations, inserted
structure characters, huge numbers, duplicated keys, aliases and deep nesting, from seeds
made of the examples. Usage: mutate.py OUTDIR COUNT [SEED]. Standard library only."""
import json
import os
import random
import sys

SEEDS = [
    b'{"name": "a", "version": "1", "description": null, "author": "x", "definition": {"steps": [1, 2.5, "s", true, null, {"k": [[], {}]}]}}',
    b'name: radial\nversion: 1.10\ndefinition:\n  tasks:\n    - id: grid\n      args: {oversampling: 2, kernel: kb}\n    - id: fft\n',
    b'---\nname: a\nversion: "1"\ndefinition: &d {x: 1}\n---\nname: b\nversion: "1"\ndefinition: *d\n',
    b'[{"name": "a", "version": "1", "definition": {}}, {"name": "b", "version": "2", "definition": {"z": 0}}]',
    b'- name: a\n  version: "1"\n  definition: {a: [1, 2, {b: c}]}\n- name: b\n  version: "2"\n  definition: {}\n',
]
INSERTS = [b"{", b"}", b"[", b"]", b":", b",", b'"', b"'", b"&a ", b"*a", b"!!binary ", b"\x00", b"\xff", b"\xc2\x9b",
           b"\t", b"\n- ", b"---\n", b"99999999999999999999999", b"1e999", b"-1e-999", b"\\u0000", b"\\ud800", b"<<: *a\n"]


def mutate(rng, data):
    data = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        op = rng.randrange(6)
        pos = rng.randrange(len(data) + 1)
        if op == 0 and data:
            data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
        elif op == 1:
            del data[pos:]
        elif op == 2:
            data[pos:pos] = rng.choice(INSERTS)
        elif op == 3 and data:
            end = min(len(data), pos + rng.randint(1, 16))
            data[pos:pos] = data[pos:end] * rng.randint(2, 50)  # repeat a piece
        elif op == 4:
            depth = rng.choice([10, 600, 5000])
            data[pos:pos] = b"[" * depth + b"]" * depth
        else:
            data[pos:pos] = b'"dup": 1, "dup": 2, '
        if not data:
            data = bytearray(b"{")
    return bytes(data)


def main():
    out, count = sys.argv[1], int(sys.argv[2])
    rng = random.Random(int(sys.argv[3]) if len(sys.argv) > 3 else 7)
    os.makedirs(out, exist_ok=True)
    for i in range(count):
        seed = rng.choice(SEEDS)
        name = os.path.join(out, f"m{i:05d}" + (".json" if seed[:1] in b"{[" else ".yaml"))
        with open(name, "wb") as f:
            f.write(mutate(rng, seed))


if __name__ == "__main__":
    main()
