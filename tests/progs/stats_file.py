#!/usr/bin/env python3
"""GREENRUN_STATS=/dir/name.%p writes the statistics table to a file of the process's own (%p:
its pid) and nothing to stderr; GREENRUN_STATS=1 still prints it on stderr.
Usage: stats_file.py LIBGREENRUN PROGRAM (a program that creates threads)"""
import os
import subprocess
import sys
import tempfile


def run(lib, program, value):
    env = {k: v for k, v in os.environ.items() if not k.startswith("GREENRUN_")}
    env.update(LD_PRELOAD=lib, GREENRUN_STATS=value)
    return subprocess.Popen([program], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def main():
    lib, program = sys.argv[1], sys.argv[2]
    failures = []
    with tempfile.TemporaryDirectory() as tmp:
        child = run(lib, program, os.path.join(tmp, "stats.%p"))
        out, err = child.communicate(timeout=30)
        path = os.path.join(tmp, f"stats.{child.pid}")
        if child.returncode != 0:
            failures.append(f"exit status {child.returncode}: {err}")
        if "greenrun: statistics" in err:
            failures.append(f"the table went to stderr too:\n{err}")
        if not os.path.exists(path):
            failures.append(f"no file {path} (the directory holds {os.listdir(tmp)})")
        else:
            text = open(path).read()
            if "threads created" not in text:
                failures.append(f"{path} has no table:\n{text}")
    child = run(lib, program, "1")
    out, err = child.communicate(timeout=30)
    if "greenrun: statistics" not in err or "threads created" not in err:
        failures.append(f"GREENRUN_STATS=1 printed no table on stderr:\n{err}")
    for f in failures:
        print("FAIL " + f)
    print("ok" if not failures else f"{len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
