#!/usr/bin/env python3
"""Every malformed GREENRUN_* value stops the program before main with one line naming the
variable and its value, and exit status 2; well-formed values are accepted.
Usage: config_refusal.py LIBGREENRUN PROGRAM"""
import os
import re
import subprocess
import sys

REFUSED = [
    ("GREENRUN_STACK_SIZE", "abc"),
    ("GREENRUN_STACK_SIZE", "1"),
    ("GREENRUN_STACK_SIZE", "10T"),
    ("GREENRUN_BLOCKING_MS", "-5"),
    ("GREENRUN_BLOCKING_MS", "0"),
    ("GREENRUN_BLOCKING_MS", "12ms"),
    ("GREENRUN_DUMP_SIGNAL", "BOGUS"),
    ("GREENRUN_DUMP_SIGNAL", "KILL"),
    ("GREENRUN_DUMP_SIGNAL", "999"),
    ("GREENRUN_DUMP_SIGNAL", "CHLD"),
    ("GREENRUN_STATS", "2"),
    ("GREENRUN_STATS", "yes"),
    ("GREENRUN_STATS", "stats.txt"),
    ("GREENRUN_TIMESLICE", "fast"),
    ("GREENRUN_TIMESLICE", "60001"),
    ("GREENRUN_HANDOFF_MS", "-1"),
    ("GREENRUN_HANDOFF_MS", "2ms"),
    ("GREENRUN_HANDOFF_MS", "99999"),
    ("GREENRUN_TLS", "private"),
    ("GREENRUN_TLS", "1"),
]
ACCEPTED = [
    ("GREENRUN_STACK_SIZE", "64K"),
    ("GREENRUN_BLOCKING_MS", "5000"),
    ("GREENRUN_DUMP_SIGNAL", "USR1"),
    ("GREENRUN_DUMP_SIGNAL", "SIGQUIT"),
    ("GREENRUN_DUMP_SIGNAL", "sigusr2"),
    ("GREENRUN_DUMP_SIGNAL", "10"),
    ("GREENRUN_DUMP_SIGNAL", "RTMIN+1"),
    ("GREENRUN_DUMP_SIGNAL", "none"),
    ("GREENRUN_STATS", "0"),
    ("GREENRUN_STATS", "1"),
    ("GREENRUN_TIMESLICE", "0"),
    ("GREENRUN_TIMESLICE", "25"),
    ("GREENRUN_HANDOFF_MS", "0"),
    ("GREENRUN_HANDOFF_MS", "5"),
    ("GREENRUN_TLS", "own"),
    ("GREENRUN_TLS", "shared"),
]


def run(lib, program, name, value):
    env = {k: v for k, v in os.environ.items() if not k.startswith("GREENRUN_")}
    env.update(LD_PRELOAD=lib, **{name: value})
    return subprocess.run([program], env=env, capture_output=True, text=True, timeout=30)


def main():
    lib, program = sys.argv[1], sys.argv[2]
    failures = 0
    for name, value in REFUSED:
        r = run(lib, program, name, value)
        lines = r.stderr.splitlines()
        want = re.compile(r"^greenrun: " + re.escape(f"{name}={value}") + r" \S")
        ok = r.returncode == 2 and len(lines) == 1 and want.match(lines[0]) and r.stdout == ""
        print(f"{'ok  ' if ok else 'FAIL'} refused {name}={value}: status {r.returncode}, "
              f"stderr {r.stderr.strip()!r}")
        failures += not ok
    for name, value in ACCEPTED:
        r = run(lib, program, name, value)
        ok = r.returncode == 0 and "greenrun:" not in r.stderr.replace("greenrun: statistics", "")
        print(f"{'ok  ' if ok else 'FAIL'} accepted {name}={value}: status {r.returncode}, "
              f"stderr {r.stderr.strip()[:200]!r}")
        failures += not ok
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
