#!/usr/bin/env python3
"""The machinery of the compatibility suite (run_compat.py and cases/*.py): run a program
natively and with libgreenrun.so in LD_PRELOAD, compare what a user would see, and check that
its threads were green (GREENRUN_STATS's "threads created", or OS threads in /proc)."""
import argparse
import difflib
import hashlib
import http.client
import http.server
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
STATS_TABLE = re.compile(r"^greenrun: statistics\n(?:  .*(?:\n|$))*", re.M)
THREADS_CREATED = re.compile(r"^  threads created +(\d+) ", re.M)
SHOWN_LINES = 40  # of each stream, at the head and at the tail, when a case fails


class Run:
    """One finished (or killed) child process. `peak_threads`: the most OS threads of the
    program's own seen at once (greenrun's, named greenrun-*, left out), when they were
    counted."""

    def __init__(self, label, stdout, stderr, status, seconds, killed, peak_threads=None):
        self.label, self.stdout, self.stderr = label, stdout, stderr
        self.status, self.seconds, self.killed = status, seconds, killed
        self.peak_threads = peak_threads

    def describe(self):
        if self.killed:
            return f"killed after {self.seconds:.2f} s (did not end by itself)"
        if self.status < 0:
            return f"{signal.Signals(-self.status).name} after {self.seconds:.2f} s"
        return f"exit {self.status} after {self.seconds:.2f} s"

    def threads_created(self):
        m = THREADS_CREATED.search(self.stderr)
        return int(m.group(1)) if m else None

    def stderr_without_stats(self):
        return STATS_TABLE.sub("", self.stderr)


def kill_group(child):
    try:
        os.killpg(child.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def program_threads(pid):
    """The OS threads of process `pid` that are not greenrun's own (its preemption monitor is
    named greenrun-preempt; greenrun-loop threads, which run green threads after a hand-off of
    the loop, count as the program's), or None once the process is gone."""
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return None
    count = 0
    for tid in tasks:
        try:
            with open(f"/proc/{pid}/task/{tid}/comm") as f:
                name = f.read()
                # greenrun-loop threads run the program's green threads after a hand-off.
                if name.startswith("greenrun-") and not name.startswith("greenrun-loop"):
                    continue
        except OSError:
            continue  # ended between the two looks
        count += 1
    return count


def run(label, argv, env, timeout, cwd=None, stdin_path=None, count_threads=False):
    """Runs argv to its end, or kills its process group after `timeout` seconds. Its stdin is
    the file `stdin_path`, or /dev/null. With `count_threads`, the Run's peak_threads is the
    most OS threads of the program's own seen at once, looked at every 20 ms."""
    start = time.monotonic()
    with open(stdin_path or os.devnull, "rb") as stdin:
        child = subprocess.Popen(argv, env=env, cwd=cwd, stdin=stdin,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 start_new_session=True)
    killed = False
    peak = 0 if count_threads else None
    deadline = start + timeout
    while True:
        try:
            # communicate() may be called again after a timeout without losing output.
            step = min(0.02, max(0.0, deadline - time.monotonic())) if count_threads else timeout
            out, err = child.communicate(timeout=step)
            break
        except subprocess.TimeoutExpired:
            if count_threads:
                peak = max(peak, program_threads(child.pid) or 0)
            if time.monotonic() >= deadline:
                killed = True
                kill_group(child)
                out, err = child.communicate()
                break
    return Run(label, out.decode(errors="replace"), err.decode(errors="replace"),
               child.returncode, time.monotonic() - start, killed, peak)


def shorten(text):
    lines = text.rstrip("\n").splitlines()
    if len(lines) <= 2 * SHOWN_LINES:
        return "\n".join(lines) or "(empty)"
    return "\n".join(lines[:SHOWN_LINES] + [f"[... {len(lines) - 2 * SHOWN_LINES} lines ...]"]
                     + lines[-SHOWN_LINES:])


def show(r):
    print(f"--- {r.label}: {r.describe()}")
    print("stdout:")
    print(shorten(r.stdout))
    print("stderr:")
    print(shorten(r.stderr))


def diff(a, b, what, a_name="native", b_name="preload"):
    lines = difflib.unified_diff(a.splitlines(), b.splitlines(), f"{a_name} {what}",
                                 f"{b_name} {what}", lineterm="", n=2)
    return f"{what} differs:\n" + shorten("\n".join(lines))


class Case:
    """The two environments, and the failures found so far."""

    def __init__(self, preload):
        env = {k: v for k, v in os.environ.items()
               if k != "LD_PRELOAD" and not k.startswith("GREENRUN_")
               and k not in ("NODE_OPTIONS", "RUBYOPT")}
        env["LC_ALL"] = "C.UTF-8"
        self.native_env = env
        self.preload_env = dict(env, LD_PRELOAD=preload, GREENRUN_STATS="1")
        self.failures = []
        self.runs = []
        self.notes = []  # one-line facts for the results table (throughput, sizes)

    def fail(self, text):
        self.failures.append(text)

    def note(self, text):
        self.notes.append(text)

    def check_green(self, r, min_threads):
        """The preload run's statistics table must count the program's threads."""
        created = r.threads_created()
        if created is None:
            self.fail(f"{r.label}: no greenrun statistics table on stderr (GREENRUN_STATS=1 "
                      "prints it at exit): the run did not end through exit(), or greenrun "
                      "was not loaded")
        elif created < min_threads:
            self.fail(f"{r.label}: greenrun created {created} threads, want at least "
                      f"{min_threads}: the program's threads did not all become green threads")

    def differential(self, name, argv, expect, min_threads, timeout=15, cwd=None,
                     normalise=lambda text: text, expect_status=0, compare_stderr=True,
                     env=None, max_seconds=None, stdin_path=None, count_threads=True):
        """Runs argv natively and preloaded (with `env` added to both environments).
        `expect(normalised native stdout)` returns None when the native run printed what the
        case wants, else the reason it is wrong. With `max_seconds`, each run must end within
        that many seconds. `min_threads` None: no statistics table to read (the caller checks
        the runs' peak_threads instead). Returns (native Run, preload Run)."""
        extra = env or {}
        native = run(f"{name}: native", argv, dict(self.native_env, **extra), timeout, cwd,
                     stdin_path, count_threads)
        preload = run(f"{name}: preload", argv, dict(self.preload_env, **extra), timeout, cwd,
                      stdin_path, count_threads)
        self.runs += [native, preload]
        if native.killed or native.status != expect_status:
            self.fail(f"{native.label}: {native.describe()}, expected exit {expect_status} "
                      "(the case itself is wrong on this machine)")
        wrong = expect(normalise(native.stdout))
        if wrong:
            self.fail(f"{native.label}: unexpected output (the case itself is wrong on this "
                      f"machine): {wrong}")
        if preload.killed or preload.status != native.status:
            self.fail(f"{preload.label}: {preload.describe()}, natively {native.describe()}")
        for r in (native, preload):
            if max_seconds is not None and not r.killed and r.seconds > max_seconds:
                self.fail(f"{r.label}: took {r.seconds:.2f} s, more than {max_seconds:g} s")
        if normalise(native.stdout) != normalise(preload.stdout):
            self.fail(f"{name}: " + diff(normalise(native.stdout), normalise(preload.stdout),
                                         "stdout"))
        if compare_stderr and native.stderr != preload.stderr_without_stats():
            self.fail(f"{name}: " + diff(native.stderr, preload.stderr_without_stats(),
                                         "stderr (less greenrun's statistics)"))
        if min_threads is not None:
            self.check_green(preload, min_threads)
        return native, preload


# ---- servers in the background ----

def free_port(host="127.0.0.1"):
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


class Daemon:
    """A server started in a session of its own, its output in temporary files. With
    `count_threads`, its OS threads (program_threads) are counted every 20 ms while it runs and
    the Run's peak_threads is the most seen."""

    def __init__(self, label, argv, env, cwd=None, count_threads=False):
        self.label = label
        self.started = time.monotonic()
        self.out, self.err = tempfile.TemporaryFile(), tempfile.TemporaryFile()
        self.child = subprocess.Popen(argv, env=env, cwd=cwd, stdin=subprocess.DEVNULL,
                                      stdout=self.out, stderr=self.err, start_new_session=True)
        self.peak = 0 if count_threads else None
        self.counting = count_threads
        self.counter = threading.Thread(target=self._count, daemon=True)
        if count_threads:
            self.counter.start()

    def _count(self):
        while self.counting and self.child.poll() is None:
            self.peak = max(self.peak, program_threads(self.child.pid) or 0)
            time.sleep(0.02)

    def running(self):
        return self.child.poll() is None

    def finish(self, timeout):
        """Waits `timeout` seconds for the server to exit, kills its session if it has not,
        and returns the Run."""
        killed = False
        try:
            self.child.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            killed = True
        kill_group(self.child)  # the server, if it is still there, and anything it started
        self.child.wait()
        if self.counting:
            self.counting = False
            self.counter.join()
        self.out.seek(0)
        self.err.seek(0)
        r = Run(self.label, self.out.read().decode(errors="replace"),
                self.err.read().decode(errors="replace"), self.child.returncode,
                time.monotonic() - self.started, killed, self.peak)
        self.out.close()
        self.err.close()
        return r


def can_connect(host, port):
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def wrong_case(label):
    """What a failure of a native run adds: the case, not greenrun, is wrong."""
    return " (the case itself is wrong on this machine)" if "native" in label else ""


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for piece in iter(lambda: f.read(1 << 20), b""):
            h.update(piece)
    return h.hexdigest()


def wait_until(ready, daemon, seconds):
    """Calls ready() every 50 ms until it is true (True), `daemon` ends or `seconds` pass."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and daemon.running():
        if ready():
            return True
        time.sleep(0.05)
    return False


def require(program, package):
    # Daemons live in /usr/sbin, which an unprivileged user's PATH may lack.
    path = shutil.which(program) or shutil.which(program, path="/usr/sbin:/sbin")
    if not path:
        sys.exit(f"run_compat: {program} is not installed: install the Debian package {package} "
                 "(listed in scripts/test-packages; scripts/install-deps installs it)")
    return path


def sorted_lines(text):
    return "\n".join(sorted(text.splitlines()))


