#!/usr/bin/env python3
"""docs/reliability.md names, for each guarantee, the test that checks it. This fails when a
named test does not exist in the test binaries, so the document cannot drift from the suite.

usage: reliability_doc_test.py DOC BINARY...
"""
import fnmatch
import re
import subprocess
import sys


def listed_tests(binary):
    out = subprocess.run([binary, "--gtest_list_tests"], check=True, capture_output=True,
                         text=True).stdout
    names, suite = set(), None
    for line in out.splitlines():
        if not line.startswith(" "):
            suite = line.split("#")[0].strip().rstrip(".").split("/")[-1]
        else:
            test = line.split("#")[0].strip()
            names.add(f"{suite}.{test}")
    return names


def main():
    doc, binaries = sys.argv[1], sys.argv[2:]
    names = set()
    for binary in binaries:
        names |= listed_tests(binary)
    missing = []
    for line in open(doc, encoding="utf-8"):
        cells = line.rstrip().split("|")
        if len(cells) < 4 or set(cells[2].strip()) <= {"-"}:
            continue  # not a table row, or the header's rule
        # Test names may hold dots themselves (the op harness's `Value.activation.forward/...`).
        for token in re.findall(r"`([A-Z][A-Za-z0-9_]*(?:\.[A-Za-z0-9_.*]+)?(?:/[^`]*)?)`", cells[2]):
            if "{" in token:
                token = token.split("/")[0]  # a parameterised family: the test's own name
            pattern = token if "." in token else "*." + token
            if not fnmatch.filter(names, pattern) and not fnmatch.filter(names, pattern + "/*"):
                missing.append(token)
    for token in missing:
        print(f"{doc}: names test '{token}', which no test binary has", file=sys.stderr)
    if names and not missing:
        print(f"{doc}: every named test exists")
    return 1 if missing or not names else 0


if __name__ == "__main__":
    sys.exit(main())
