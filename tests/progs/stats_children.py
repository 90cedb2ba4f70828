#!/usr/bin/env python3
"""GREENRUN_STATS=1 prints the statistics table on stderr in the process it was given to, never
in its descendants (which inherit the variable and the preload): one table, the parent's. With
GREENRUN_STATS=/dir/stats.%p each of the three processes writes its own file, which shows that
the children are greenrun processes with tables of their own (a forked child's counts include
its parent's, copied with its memory). A child whose environment asks for
GREENRUN_STATS=1 while its parent's did not prints its own.
Usage: stats_children.py LIBGREENRUN PROGRAM (tests/progs/stats_children.c)"""
import os
import re
import subprocess
import sys
import tempfile

TABLE = "greenrun: statistics"


def run(lib, program, stats, *args):
    env = {k: v for k, v in os.environ.items() if not k.startswith("GREENRUN_")}
    env["LD_PRELOAD"] = lib
    if stats is not None:
        env["GREENRUN_STATS"] = stats
    child = subprocess.Popen([program, "parent", *args], env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    child.stdout_text, child.stderr = child.communicate(timeout=30)
    return child


def created(text):
    return [int(n) for n in re.findall(r"^  threads created +(\d+) ", text, re.M)]


def main():
    lib, program = sys.argv[1], sys.argv[2]
    failures = []

    r = run(lib, program, "1")
    if r.returncode != 0:
        failures.append(f"GREENRUN_STATS=1: exit status {r.returncode}: {r.stderr}")
    if r.stderr.count(TABLE) != 1 or created(r.stderr) != [1]:
        failures.append("GREENRUN_STATS=1: wanted one table on stderr, the parent's (threads "
                        f"created 1), got tables for {created(r.stderr)}:\n{r.stderr}")

    with tempfile.TemporaryDirectory() as tmp:
        r = run(lib, program, os.path.join(tmp, "stats.%p"))
        if r.returncode != 0:
            failures.append(f"GREENRUN_STATS=path: exit status {r.returncode}: {r.stderr}")
        if TABLE in r.stderr:
            failures.append(f"GREENRUN_STATS=path: a table went to stderr:\n{r.stderr}")
        tables = {name: created(open(os.path.join(tmp, name)).read()) for name in os.listdir(tmp)}
        mine = tables.get(f"stats.{r.pid}")
        if len(tables) != 3 or mine != [1] or any(len(t) != 1 for t in tables.values()):
            failures.append("GREENRUN_STATS=path: wanted a table in a file of each of the three "
                            f"processes, the parent's (stats.{r.pid}) with 1 thread created; got "
                            f"{tables}")

    r = run(lib, program, None, "setenv")
    if r.returncode != 0:
        failures.append(f"child asks for GREENRUN_STATS=1: exit status {r.returncode}")
    if created(r.stderr) != [3]:
        failures.append("a child given GREENRUN_STATS=1 by a parent that was not asked: wanted "
                        f"its table (threads created 3), got {created(r.stderr)}:\n{r.stderr}")

    for f in failures:
        print("FAIL " + f)
    print("ok" if not failures else f"{len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
