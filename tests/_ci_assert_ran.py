"""Fail when a pytest run executed no test (reads the JUnit XML reports, one per run; each must run some)."""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET


def main(path: str) -> int:
    root = ET.parse(path).getroot()
    suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
    tests = sum(int(s.get("tests", 0)) for s in suites)
    skipped = sum(int(s.get("skipped", 0)) for s in suites)
    failed = sum(int(s.get("failures", 0)) + int(s.get("errors", 0)) for s in suites)
    executed = tests - skipped
    print(f"junit: {executed} executed, {skipped} skipped, {failed} failed")
    if executed <= 0:
        print("error: the test run executed no test", file=sys.stderr)
        return 1
    return 1 if failed else 0


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit("usage: python tests/_ci_assert_ran.py JUNIT.xml [JUNIT.xml ...]")
    sys.exit(max(main(path) for path in sys.argv[1:]))
