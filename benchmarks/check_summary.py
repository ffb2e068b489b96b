"""Per-kind figures of a shared-bench run, and exit 1 when it has errors, invalid cases,
unstable prefixes or nondeterminism.

Usage: python benchmarks/check_summary.py OUT.json  (the scorer's ``--json`` output)
"""

from __future__ import annotations

import json
import sys
from typing import Any


def _per_kind(impl: dict[str, Any]) -> None:
    kinds: dict[str, list[dict[str, Any]]] = {}
    for case in impl["cases"]:
        kinds.setdefault(case["kind"], []).append(case)
    print(f"{impl['label']}: kind    cases  tokens before → after   saved  needles")
    for kind, rows in sorted(kinds.items()):
        before = sum(r["tokens_before"] for r in rows)
        after = sum(r["tokens_after"] for r in rows)
        kept, total = sum(r["needles_kept"] for r in rows), sum(r["needles_total"] for r in rows)
        print(f"  {kind:<12} {len(rows):>5} {before:>9,} → {after:>9,}  {1 - after / before:>6.1%}  {kept}/{total}")


def main(path: str) -> int:
    with open(path, encoding="utf-8") as fh:
        doc = json.load(fh)
    failed = False
    for impl in doc["implementations"]:
        t = impl["totals"]
        _per_kind(impl)
        print(impl["summary"])
        problems = {"errors": t["errors"], "invalid": t["invalid"],
                    "prefix_unstable": t["prefix_tested"] - t["prefix_stable"],
                    "nondeterministic": t["nondeterministic"]}
        for name, value in problems.items():
            if value:
                failed = True
                print(f"FAIL {impl['label']}: {name}={value}")
        for case in impl["cases"]:
            if case["status"] in ("ERROR", "INVALID"):
                print(f"  {case['id']}: {case['status']} {case.get('error') or case.get('problems') or ''}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
