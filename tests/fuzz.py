"""`make fuzz`: the property-based tests of the API and of the callback parser, in rounds, for FUZZ_MINUTES.

Each round runs tests/portal/test_api_properties.py and tests/interception/test_carrier_parser_properties.py
with a new random seed and FUZZ_EXAMPLES examples per operation (`make test` runs them with a fixed seed and
a few). A round starts while time is left, so the last one may end a little after FUZZ_MINUTES. Each round's
whole output is kept in var/fuzz/; at the end each distinct failure is listed once, with the callers and the
seeds that showed it and a request that reproduces it. Exit status 1 when anything was found.
"""

import os
import random
import re
import subprocess
import sys
import time
from pathlib import Path

TESTS = ["tests/portal/test_api_properties.py", "tests/interception/test_carrier_parser_properties.py"]
OUT = Path("var/fuzz")
# schemathesis's "- Undocumented status code", an exception's "E   ValueError: ...", or one in an exception group.
WHAT_FAILED = re.compile(r"^\s*\|? ?- [A-Z]|^E\s+\S*(Error|Exception)\b|^\s*\|\s*\S*(Error|Exception): ")


def main():
    minutes = float(os.environ.get("FUZZ_MINUTES", "10"))
    examples = os.environ.get("FUZZ_EXAMPLES", "100")
    OUT.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + minutes * 60
    found, rounds = [], 0
    while time.monotonic() < deadline:
        rounds += 1
        seed = random.SystemRandom().randrange(2**32)
        log = OUT / f"round-{rounds}-seed-{seed}.txt"
        print(f"fuzz: round {rounds}, seed {seed}, {examples} examples per operation ...", flush=True)
        env = {**os.environ, "PORTAL_FUZZ_SEED": str(seed), "PORTAL_FUZZ_EXAMPLES": examples}
        started = time.monotonic()
        with log.open("w") as output:
            result = subprocess.run(
                [sys.executable, "-m", "pytest", *TESTS, "-q", "--tb=short", "-p", "no:randomly", "--reuse-db"],
                env=env,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        failures = failures_in(log.read_text(errors="replace"))
        print(
            f"fuzz: round {rounds} took {time.monotonic() - started:.0f} s: "
            f"{len(failures) or 'no'} failing test{'s' if len(failures) != 1 else ''} ({log})",
            flush=True,
        )
        if result.returncode not in (0, 1):  # 1: tests failed; anything else: pytest could not run them
            print(f"fuzz: pytest exited with {result.returncode}; see {log}")
            return 2
        found += [(seed, *failure) for failure in failures]
    distinct = {}  # one entry per operation and kind of failure, whichever callers and rounds showed it
    for seed, test, lines in found:
        operation, caller = re.fullmatch(r"(.+?)(?:\[(\w+)\])?", test).groups()
        what = tuple(line for line in lines if not line.startswith("curl "))
        seen = distinct.setdefault((operation, what), {"callers": [], "seeds": [], "curl": None})
        seen["callers"] += [caller] if caller and caller not in seen["callers"] else []
        seen["seeds"] += [seed] if seed not in seen["seeds"] else []
        seen["curl"] = seen["curl"] or next((line for line in lines if line.startswith("curl ")), None)
    print(
        f"\nfuzz: {rounds} round{'s' if rounds != 1 else ''} in {minutes:g} minutes, {len(distinct) or 'nothing'} found"
    )
    for (operation, what), seen in distinct.items():
        callers = f" as {', '.join(seen['callers'])}" if seen["callers"] else ""
        print(f"\n{operation}{callers}  (PORTAL_FUZZ_SEED={', '.join(map(str, seen['seeds']))})")
        for line in [*what, *([seen["curl"]] if seen["curl"] else [])]:
            print(f"    {line}")
    return 1 if found else 0


def failures_in(text):
    """(test, [what failed, how to reproduce]) for each failing test of one pytest run's output."""
    text = re.sub(r"\\n(?=\s*[|+_])", "\n", text)  # pytest may print an exception group on one line, \n escaped
    sections = re.split(r"^_+ (test.*?) _+$", text.split("= short test summary info =")[0], flags=re.M)
    failures = []
    for test, body in zip(sections[1::2], sections[2::2]):
        lines = [
            re.sub(r"^\s*(\|\s*|E\s+)*", "", line)
            for line in body.splitlines()
            if "curl " in line or re.match(WHAT_FAILED, line)
        ]
        failures.append((test, list(dict.fromkeys(lines)) or ["(see the round's output)"]))
    return failures


if __name__ == "__main__":
    sys.exit(main())
