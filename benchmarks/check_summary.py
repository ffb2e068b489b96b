"""Fail (exit 1) when a shared-bench run has errors, invalid cases or unstable prefixes.

Usage: python benchmarks/check_summary.py OUT.json  (the scorer's ``--json`` output)
"""

from __future__ import annotations

import json
import sys


def main(path: str) -> int:
    with open(path, encoding="utf-8") as fh:
        doc = json.load(fh)
    failed = False
    for impl in doc["implementations"]:
        t = impl["totals"]
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
