"""output.mismatch names the same first differing field in every process: the pointer follows the
snapshot's key order, not the order of a set of keys (which changes with string hashing)."""

from __future__ import annotations

import os
import subprocess
import sys

PROBE = (
    "from conformance.rules.output import first_difference;"
    "a = {'type': 'function_call', 'id': 'fc_1', 'call_id': 'call_1', 'name': 'f'};"
    "b = {'type': 'function_call', 'id': 'fc_2', 'call_id': 'call_2', 'name': 'f'};"
    "print(first_difference(a, b)[0])"
)


def test_the_same_pair_names_the_same_field_under_every_hash_seed() -> None:
    pointers = set()
    for seed in ("1", "2", "3", "4", "5", "6"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        out = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True)
        pointers.add(out.stdout.strip())
    assert pointers == {"/id"}
