#!/usr/bin/env python3
"""Runs one test program twice, in child processes: natively, then with libgreenrun.so in
LD_PRELOAD, and compares what a user would see: stdout, the exit status, and stderr (minus the
"PROPERTY key value" lines, which describe the run rather than the program's behaviour).

Properties are checked separately: under the preload every reported `os_threads` must be 1,
and --check adds conditions such as `wall_ms<1900`. A program that hangs natively (deadlock.c)
is killed after --hang-timeout; its preload run is checked for patterns on stderr, and is
ended as soon as they have all appeared. stdin is /dev/null, or with --feed a pipe the runner
writes slowly (a piece every --feed-interval-ms), for programs that wait for input.

usage: run_differential.py --preload LIB [options] -- PROGRAM [ARGS...]
Exit status 0 when everything matched, 1 otherwise (with both runs' output shown).
"""
import argparse
import operator
import os
import re
import signal
import subprocess
import sys
import threading
import time

PROPERTY = re.compile(r"^PROPERTY (\S+) (-?\d+)$", re.M)
OPERATORS = {"<=": operator.le, ">=": operator.ge, "==": operator.eq, "!=": operator.ne,
             "<": operator.lt, ">": operator.gt}
CHECK = re.compile(r"^(\w+)\s*(<=|>=|==|!=|<|>)\s*(-?\d+)$")


class Run:
    """One finished (or killed) child process."""

    def __init__(self, label, stdout, stderr, status, seconds, killed):
        self.label, self.stdout, self.stderr = label, stdout, stderr
        self.status, self.seconds, self.killed = status, seconds, killed
        self.properties = {}
        for key, value in PROPERTY.findall(stderr):
            self.properties.setdefault(key, []).append(int(value))
        self.plain_stderr = PROPERTY.sub("", stderr).replace("\n\n", "\n").strip("\n")

    def describe_status(self):
        if self.killed:
            return f"killed after {self.seconds:.2f} s (did not end by itself)"
        if self.status < 0:
            return f"{signal.Signals(-self.status).name} after {self.seconds:.2f} s"
        return f"exit {self.status} after {self.seconds:.2f} s"


def run(label, argv, env, timeout, stop_when=(), feed=(), feed_interval=0.2):
    """Runs argv; kills its process group at `timeout`, or once every regex in `stop_when`
    has matched stderr (then a moment later, so the rest of a report arrives). With `feed`,
    stdin is a pipe that gets each piece after `feed_interval` seconds, then is closed."""
    start = time.monotonic()
    child = subprocess.Popen(argv, env=env,
                             stdin=subprocess.PIPE if feed else subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             start_new_session=True)
    chunks = {"out": [], "err": []}

    def write_slowly():
        try:
            for piece in feed:
                time.sleep(feed_interval)
                child.stdin.write(piece.encode().decode("unicode_escape").encode())
                child.stdin.flush()
            child.stdin.close()
        except (BrokenPipeError, ValueError):
            pass

    if feed:
        threading.Thread(target=write_slowly, daemon=True).start()

    def drain(stream, key):
        for block in iter(lambda: stream.read1(65536), b""):
            chunks[key].append(block)

    readers = [threading.Thread(target=drain, args=(child.stdout, "out"), daemon=True),
               threading.Thread(target=drain, args=(child.stderr, "err"), daemon=True)]
    for r in readers:
        r.start()
    killed = False
    matched_at = None
    while child.poll() is None:
        now = time.monotonic()
        if stop_when and matched_at is None:
            err = b"".join(chunks["err"]).decode(errors="replace")
            if all(re.search(p, err, re.M) for p in stop_when):
                matched_at = now
        if now - start > timeout or (matched_at is not None and now - matched_at > 0.3):
            killed = True
            try:
                os.killpg(child.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            child.wait()
            break
        time.sleep(0.02)
    seconds = time.monotonic() - start
    for r in readers:
        r.join(5)
    out = b"".join(chunks["out"]).decode(errors="replace")
    err = b"".join(chunks["err"]).decode(errors="replace")
    return Run(label, out, err, child.returncode, seconds, killed)


def show(r, file=sys.stdout):
    print(f"--- {r.label}: {r.describe_status()}", file=file)
    print("stdout:", file=file)
    print(r.stdout.rstrip("\n") or "(empty)", file=file)
    print("stderr:", file=file)
    print(r.stderr.rstrip("\n") or "(empty)", file=file)


def check_properties(r, checks, failures):
    for text in checks:
        m = CHECK.match(text)
        if not m:
            sys.exit(f"run_differential: bad --check {text!r} (want e.g. wall_ms<1900)")
        key, op, want = m.group(1), m.group(2), int(m.group(3))
        values = r.properties.get(key)
        if not values:
            failures.append(f"{r.label}: property {key} was not reported (wanted {key}{op}{want})")
            continue
        for v in values:
            if not OPERATORS[op](v, want):
                failures.append(f"{r.label}: {key} is {v}, wanted {key}{op}{want}")


def diff(a, b, what, failures):
    if a == b:
        return
    import difflib
    lines = difflib.unified_diff(a.splitlines(), b.splitlines(), "native " + what,
                                 "preload " + what, lineterm="", n=2)
    failures.append(f"{what} differs:\n" + "\n".join(lines))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--preload", required=True, help="path of libgreenrun.so")
    p.add_argument("--timeout", type=float, default=20, help="seconds before a run is killed")
    p.add_argument("--expect-status", type=int, default=0,
                   help="exit status both runs must end with (default 0)")
    p.add_argument("--no-compare-stderr", action="store_true",
                   help="do not compare stderr (still checked for properties and patterns)")
    p.add_argument("--check", action="append", default=[], metavar="KEY<OP>VALUE",
                   help="a property the preload run must satisfy, e.g. wall_ms<1900")
    p.add_argument("--native-check", action="append", default=[], metavar="KEY<OP>VALUE",
                   help="a property the native run must satisfy")
    p.add_argument("--max-seconds", type=float,
                   help="each run must end within this many seconds (measured here)")
    p.add_argument("--hangs", action="store_true",
                   help="the program never ends natively: each run is killed after "
                        "--hang-timeout (the preload run as soon as --stderr-has all matched), "
                        "and only stdout and the preload run's stderr are checked")
    p.add_argument("--hang-timeout", type=float, default=3)
    p.add_argument("--stderr-has", action="append", default=[], metavar="REGEX",
                   help="the preload run's stderr must match this (multiline) regex")
    p.add_argument("--feed", action="append", default=[], metavar="TEXT",
                   help="write TEXT (backslash escapes allowed, e.g. 'a line\\n') to the "
                        "program's stdin, after --feed-interval-ms; repeatable; then close it")
    p.add_argument("--feed-interval-ms", type=float, default=200)
    p.add_argument("--preload-only", action="store_true",
                   help="skip the native run (for programs native threads cannot run)")
    p.add_argument("--beside", metavar="LIB",
                   help="another object to preload in both runs (an allocator, say): before "
                        "greenrun with --beside-first, else after it")
    p.add_argument("--beside-first", action="store_true")
    p.add_argument("program", nargs=argparse.REMAINDER)
    args = p.parse_args()
    argv = args.program[1:] if args.program[:1] == ["--"] else args.program
    if not argv:
        p.error("no program given")
    lib = os.path.abspath(args.preload)
    if not os.path.isfile(lib):
        sys.exit(f"run_differential: no preload object at {lib}")

    native_env = dict(os.environ)
    native_env.pop("LD_PRELOAD", None)
    preloads = [lib]
    if args.beside:
        native_env["LD_PRELOAD"] = args.beside
        preloads.insert(0 if args.beside_first else 1, args.beside)
    preload_env = dict(native_env, LD_PRELOAD=" ".join(preloads))
    timeout = args.hang_timeout if args.hangs else args.timeout

    feed = dict(feed=args.feed, feed_interval=args.feed_interval_ms / 1000)
    runs = []
    if not args.preload_only:
        runs.append(run("native", argv, native_env, timeout, **feed))
    runs.append(run("preload", argv, preload_env, timeout,
                    stop_when=args.stderr_has if args.hangs else (), **feed))
    native = runs[0] if not args.preload_only else None
    preload = runs[-1]

    failures = []
    if args.hangs:
        # Natively it must hang; under the preload it may hang or end, once it has reported.
        if native and not native.killed:
            failures.append(f"native: expected to hang, but ended: {native.describe_status()}")
        if native:
            diff(native.stdout, preload.stdout, "stdout", failures)
    else:
        for r in runs:
            if r.killed:
                failures.append(f"{r.label}: did not finish within {timeout:g} s")
            elif r.status != args.expect_status:
                failures.append(f"{r.label}: {r.describe_status()}, expected exit "
                                f"{args.expect_status}")
            if args.max_seconds is not None and r.seconds > args.max_seconds:
                failures.append(f"{r.label}: took {r.seconds:.2f} s, more than "
                                f"{args.max_seconds:g} s")
        if native:
            diff(native.stdout, preload.stdout, "stdout", failures)
            if not args.no_compare_stderr:
                diff(native.plain_stderr, preload.plain_stderr, "stderr", failures)
    for pattern in args.stderr_has:
        if not re.search(pattern, preload.stderr, re.M):
            failures.append(f"preload: stderr does not match {pattern!r}")
    # Every green thread runs on the one OS thread: whatever count the program saw must be 1.
    for v in preload.properties.get("os_threads", []):
        if v != 1:
            failures.append(f"preload: the program saw {v} OS threads in /proc/self/task, "
                            "wanted 1")
    check_properties(preload, args.check, failures)
    if native:
        check_properties(native, args.native_check, failures)

    name = os.path.basename(argv[0]) + "".join(" " + a for a in argv[1:])
    for r in runs:
        props = " ".join(f"{k}={','.join(map(str, v))}" for k, v in sorted(r.properties.items()))
        print(f"{name}: {r.label}: {r.describe_status()}" + (f"; {props}" if props else ""))
    if failures:
        print(f"\nFAIL {name}:")
        for f in failures:
            print("  " + f.replace("\n", "\n  "))
        print()
        for r in runs:
            show(r)
        return 1
    print(f"ok {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
