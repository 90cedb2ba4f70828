#!/usr/bin/env python3
"""check_output.py EXPECTED PROGRAM: runs PROGRAM and checks that it exits 0 within 5 s (the
gevent example's Timeout must cut its 10 s wait short) and prints exactly EXPECTED."""
import difflib
import subprocess
import sys

expected_file, program = sys.argv[1:3]
expected = open(expected_file).read()
try:
    done = subprocess.run([program], capture_output=True, text=True, timeout=5)
except subprocess.TimeoutExpired:
    sys.exit(f"FAIL: {program} did not end within 5 s")
print(done.stdout, end="")
print(done.stderr, end="", file=sys.stderr)
problems = []
if done.returncode != 0:
    problems.append(f"exit status {done.returncode}, not 0")
if done.stdout != expected:
    diff = difflib.unified_diff(expected.splitlines(), done.stdout.splitlines(),
                                "expected", "printed", lineterm="")
    problems.append("output differs:\n" + "\n".join(diff))
for problem in problems:
    print("FAIL:", problem)
sys.exit(1 if problems else 0)
