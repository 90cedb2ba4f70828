#!/usr/bin/env python3
"""Runs compatibility cases (tests/compat/run_compat.py) one after another, each natively and
under greenrun, and prints one table: per case, its wall time natively and under greenrun, the
threads greenrun created (GREENRUN_STATS) and the most OS threads seen, and the verdict; the
output of a failing case after the table; and "N passed, N failed" last.
usage: compat_table.py LIBGREENRUN [CASE...]"""
import json
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RUNNER = os.path.join(ROOT, "tests", "compat", "run_compat.py")
CASE_TIMEOUT = 180  # seconds; a case that hangs is a failure, not the end of the suite


def figures(summary):
    """(native seconds, green seconds, threads created, "native / green" peak OS threads) summed over the case's
    runs, from its JSON summary."""
    native = sum(r["seconds"] for r in summary["runs"] if r["label"].endswith(": native"))
    green = sum(r["seconds"] for r in summary["runs"] if r["label"].endswith(": preload"))
    created = [r["threads_created"] for r in summary["runs"] if r["threads_created"] is not None]
    def peak(side):
        seen = [r["peak_threads"] for r in summary["runs"]
                if r["label"].endswith(side) and r["peak_threads"] is not None]
        return str(max(seen)) if seen else "-"
    return (native, green, max(created) if created else None,
            f"{peak(': native')} / {peak(': preload')}")


def main():
    lib = os.path.abspath(sys.argv[1])
    listed = subprocess.run([sys.executable, RUNNER, "--list"], capture_output=True, text=True,
                            check=True).stdout.split("\n")
    cases = sys.argv[2:] or [line.split()[0] for line in listed if line.strip()]
    rows, failed_output, passed, failed = [], [], 0, 0
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        for name in cases:
            out = os.path.join(tmp, name + ".json")
            t0 = time.monotonic()
            try:
                r = subprocess.run([sys.executable, RUNNER, "--preload", lib, "--json", out, name],
                                   capture_output=True, text=True, timeout=CASE_TIMEOUT)
                status, text = r.returncode, r.stdout + r.stderr
            except subprocess.TimeoutExpired as e:
                status, text = -1, f"{name}: no result within {CASE_TIMEOUT} s\n{e.stdout or ''}"
            took = time.monotonic() - t0
            try:
                with open(out) as f:
                    summary = json.load(f)
            except (OSError, ValueError):
                summary = {"runs": [], "notes": []}
            native, green, created, peak = figures(summary)
            ok = status == 0
            passed += ok
            failed += not ok
            ratio = f"{green / native:.2f}" if native > 0 and green > 0 else "-"
            rows.append([name, f"{native:.2f}", f"{green:.2f}", ratio,
                         "-" if created is None else str(created),
                         peak,
                         "; ".join(summary.get("notes", [])) or "-", "PASS" if ok else "FAIL"])
            print(f"{'PASS' if ok else 'FAIL'} {name} ({took:.1f} s)", file=sys.stderr, flush=True)
            if not ok:
                failed_output.append(text)
    head = ["case", "native s", "greenrun s", "greenrun/native", "threads created (green)",
            "OS threads native / green", "notes", "result"]
    widths = [max(len(str(x)) for x in col) for col in zip(head, *rows)]
    line = lambda cells: "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths)) + " |"
    print(line(head))
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in rows:
        print(line(row))
    print(f"\nwall: sums of each case's native and preloaded runs; threads created: greenrun's "
          f"statistics (GREENRUN_STATS) of the preloaded run; OS threads: the most seen at once "
          f"in /proc during the runs, greenrun's own service threads left out. Total "
          f"{time.monotonic() - started:.0f} s, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.")
    for text in failed_output:
        print("\n" + text.rstrip())
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
