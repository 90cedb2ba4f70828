#!/usr/bin/env python3
"""Runs a real multithreaded program from Debian twice, natively and with libgreenrun.so in
LD_PRELOAD, and compares what a user would see: the output (sorted where the program's own
order depends on thread timing), the exit status and, where the program writes nothing else
there, stderr. The native run must also print what the case expects, so a broken case is not
mistaken for a greenrun bug.

The preload run has GREENRUN_STATS=1: at exit greenrun prints its statistics table on stderr
(runtime/stats.cpp). Its "threads created" line must reach the number of threads the program
creates, so a program that quietly ran without green threads does not pass.

usage: run_real.py --preload LIB CASE
CASE is one of: ripgrep, fd, ruby, node, haproxy, python.
Exit status 0 when everything matched, 1 otherwise (with both runs' output shown).
"""
import argparse
import difflib
import http.client
import http.server
import os
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
    """One finished (or killed) child process."""

    def __init__(self, label, stdout, stderr, status, seconds, killed):
        self.label, self.stdout, self.stderr = label, stdout, stderr
        self.status, self.seconds, self.killed = status, seconds, killed

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


def run(label, argv, env, timeout, cwd=None):
    """Runs argv to its end, or kills its process group after `timeout` seconds."""
    start = time.monotonic()
    child = subprocess.Popen(argv, env=env, cwd=cwd, stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             start_new_session=True)
    killed = False
    try:
        out, err = child.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        killed = True
        kill_group(child)
        out, err = child.communicate()
    return Run(label, out.decode(errors="replace"), err.decode(errors="replace"),
               child.returncode, time.monotonic() - start, killed)


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

    def fail(self, text):
        self.failures.append(text)

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
                     normalise=lambda text: text, expect_status=0, compare_stderr=True):
        """Runs argv natively and preloaded. `expect(normalised native stdout)` returns None
        when the native run printed what the case wants, else the reason it is wrong."""
        native = run(f"{name}: native", argv, self.native_env, timeout, cwd)
        preload = run(f"{name}: preload", argv, self.preload_env, timeout, cwd)
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
        if normalise(native.stdout) != normalise(preload.stdout):
            self.fail(f"{name}: " + diff(normalise(native.stdout), normalise(preload.stdout),
                                         "stdout"))
        if compare_stderr and native.stderr != preload.stderr_without_stats():
            self.fail(f"{name}: " + diff(native.stderr, preload.stderr_without_stats(),
                                         "stderr (less greenrun's statistics)"))
        self.check_green(preload, min_threads)


def require(program, package):
    path = shutil.which(program)
    if not path:
        sys.exit(f"run_real: {program} is not installed: install the Debian package {package} "
                 "(listed in scripts/test-packages; scripts/install-deps installs it)")
    return path


def sorted_lines(text):
    return "\n".join(sorted(text.splitlines()))


# ---- ripgrep and fd-find over a generated tree ----

TREE_FILES = 3000
NEEDLE = "greenrun-needle"


def tree_directory(prefix):
    """A temporary directory for a generated tree: in memory where /dev/shm is writable, since
    creating 3,000 files on a slow disk would take seconds."""
    base = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None
    return tempfile.TemporaryDirectory(prefix=prefix, dir=base)


def make_tree(root):
    """3,000 small files in 150 directories; every 7th file has one line with NEEDLE.
    Returns (every file's path, the lines rg must print as PATH:LINE:TEXT)."""
    paths, hits = [], []
    for i in range(TREE_FILES):
        rel = f"dir{i % 30:02}/sub{(i // 30) % 5}/file{i:04}.txt"
        path = os.path.join(root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        lines = [f"line {k} of file {i}: hay {(i * 31 + k * 17) % 1000}" for k in range(12)]
        if i % 7 == 0:
            k = i % 12
            lines[k] = f"line {k} of file {i}: {NEEDLE} {i}"
            hits.append(f"{path}:{k + 1}:{lines[k]}")
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")
        paths.append(path)
    return paths, hits


def expect_exactly(want):
    def check(got):
        if got == want:
            return None
        return diff(want, got, "stdout", "expected", "native")
    return check


def case_ripgrep(c):
    rg = require("rg", "ripgrep")
    with tree_directory("greenrun-rg-") as root:
        _, hits = make_tree(root)
        c.differential("rg", [rg, "--threads", "4", "--no-config", "--line-number",
                              "--no-heading", NEEDLE, root],
                       expect_exactly(sorted_lines("\n".join(hits))), min_threads=4,
                       normalise=sorted_lines)
        # No match anywhere: exit status 1, nothing printed.
        c.differential("rg (no match)", [rg, "--threads", "4", "--no-config", "absent-" + NEEDLE,
                                         root],
                       expect_exactly(""), min_threads=4, expect_status=1)


def case_fd(c):
    fd = require("fdfind", "fd-find")
    with tree_directory("greenrun-fd-") as root:
        paths, _ = make_tree(root)
        pattern = r"7\.txt$"
        want = sorted_lines("\n".join(p for p in paths if re.search(pattern, p)))
        c.differential("fdfind", [fd, "-j", "4", pattern, root], expect_exactly(want),
                       min_threads=4, normalise=sorted_lines)


# ---- interpreters ----

def case_ruby(c):
    ruby = require("ruby", "ruby")
    want = ("producers that saw only their own Thread.current[:x]: 50 of 50\n"
            "items through the queue: 50\n"
            f"sum of squares through the queue: {sum(n * n for n in range(50))}\n"
            "main's Thread.current[:x]: nil\n")
    # 50 producers and 4 consumers.
    c.differential("ruby", [ruby, os.path.join(HERE, "thread_queue.rb")], expect_exactly(want),
                   min_threads=54)


def primes_below(limit):
    composite = bytearray(limit)
    found = []
    for p in range(2, limit):
        if not composite[p]:
            found.append(p)
            composite[p * p::p] = b"\1" * len(range(p * p, limit, p))
    return found


def case_node(c):
    node = require("node", "nodejs")
    want = ""
    for k in range(4):
        limit = 20000 * (k + 1)
        p = primes_below(limit)
        want += f"worker {k}: primes below {limit}: {len(p)}, sum {sum(p)}\n"
    c.differential("node", [node, os.path.join(HERE, "worker_primes.js")], expect_exactly(want),
                   min_threads=4)


def case_python(c):
    # Debian's interpreter, not whatever python3 comes first on PATH (a pyenv shim is a script).
    python = "/usr/bin/python3" if os.access("/usr/bin/python3", os.X_OK) else sys.executable
    want = ("distinct native ids among 8 threads: 8\n"
            "a thread's native id equals os.getpid(): False\n"
            "main's native id equals os.getpid(): True\n")
    c.differential("python", [python, "-I", os.path.join(HERE, "native_ids.py")],
                   expect_exactly(want), min_threads=8)


# ---- haproxy between a native client and a native backend ----

HAPROXY_REQUESTS = 500
HAPROXY_CLIENTS = 4


class Backend(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        # haproxy may reset an idle kept-alive server connection: not the client's concern.
        pass


class BackendHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        body = f"ok {self.path}\n".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fetch(port, path, timeout):
    """One request on a new connection; True when the backend's answer came back whole."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status == 200 and response.read() == f"ok {path}\n".encode()
    except (OSError, http.client.HTTPException):
        return False
    finally:
        conn.close()


def haproxy_run(c, label, haproxy, config, port, env):
    """Starts haproxy, sends the requests from HAPROXY_CLIENTS native threads (for at most
    6 s), soft-stops it with SIGUSR1 and returns (Run, requests that succeeded)."""
    start = time.monotonic()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        child = subprocess.Popen([haproxy, "-db", "-f", config], env=env, stdin=subprocess.DEVNULL,
                                 stdout=out, stderr=err, start_new_session=True)
        ready = False
        deadline = time.monotonic() + 5
        while not ready and time.monotonic() < deadline and child.poll() is None:
            ready = fetch(port, "/ready", 1)
            if not ready:
                time.sleep(0.05)
        succeeded = 0
        if ready:
            lock = threading.Lock()
            counts = [0]
            stop_at = time.monotonic() + 6

            def client(k):
                good = 0
                for n in range(k, HAPROXY_REQUESTS, HAPROXY_CLIENTS):
                    if time.monotonic() > stop_at:
                        break
                    good += fetch(port, f"/request/{n}", 2)
                with lock:
                    counts[0] += good

            clients = [threading.Thread(target=client, args=(k,)) for k in range(HAPROXY_CLIENTS)]
            for t in clients:
                t.start()
            for t in clients:
                t.join()
            succeeded = counts[0]
        else:
            c.fail(f"{label}: haproxy did not answer a first request within 5 s")
        # Soft stop: haproxy finishes its connections and exits with status 0.
        killed = False
        if child.poll() is None:
            child.send_signal(signal.SIGUSR1)
            try:
                child.wait(timeout=3)
            except subprocess.TimeoutExpired:
                killed = True
                kill_group(child)
                child.wait()
        out.seek(0)
        err.seek(0)
        r = Run(label, out.read().decode(errors="replace"), err.read().decode(errors="replace"),
                child.returncode, time.monotonic() - start, killed)
    c.runs.append(r)
    return r, succeeded


def case_haproxy(c):
    haproxy = require("haproxy", "haproxy")
    backend = Backend(("127.0.0.1", 0), BackendHandler)
    threading.Thread(target=backend.serve_forever, daemon=True).start()
    try:
        with tempfile.TemporaryDirectory(prefix="greenrun-haproxy-") as tmp:
            port = free_port()
            config = os.path.join(tmp, "haproxy.cfg")
            with open(config, "w") as f:
                f.write(f"""global
  nbthread 2
  maxconn 1000
defaults
  mode http
  timeout connect 2s
  timeout client 5s
  timeout server 5s
frontend front
  bind 127.0.0.1:{port}
  default_backend back
backend back
  server local 127.0.0.1:{backend.server_address[1]}
""")
            native, native_ok = haproxy_run(c, "haproxy: native", haproxy, config, port,
                                            c.native_env)
            preload, preload_ok = haproxy_run(c, "haproxy: preload", haproxy, config, port,
                                              c.preload_env)
    finally:
        backend.shutdown()
        backend.server_close()
    print(f"haproxy: requests that succeeded: natively {native_ok} of {HAPROXY_REQUESTS}, "
          f"preloaded {preload_ok} of {HAPROXY_REQUESTS}")
    if native_ok != HAPROXY_REQUESTS:
        c.fail(f"{native.label}: {native_ok} of {HAPROXY_REQUESTS} requests succeeded (the case "
               "itself is wrong on this machine)")
    if native.killed or native.status != 0:
        c.fail(f"{native.label}: {native.describe()} after SIGUSR1, expected exit 0")
    if preload_ok != native_ok:
        c.fail(f"{preload.label}: {preload_ok} of {HAPROXY_REQUESTS} requests succeeded, "
               f"natively {native_ok}")
    if preload.killed or preload.status != native.status:
        c.fail(f"{preload.label}: {preload.describe()} after SIGUSR1, natively {native.describe()}")
    # nbthread 2: one thread besides main.
    c.check_green(preload, min_threads=1)


CASES = {
    "ripgrep": case_ripgrep,
    "fd": case_fd,
    "ruby": case_ruby,
    "node": case_node,
    "haproxy": case_haproxy,
    "python": case_python,
}


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--preload", required=True, help="path of libgreenrun.so")
    p.add_argument("case", choices=sorted(CASES))
    args = p.parse_args()
    lib = os.path.abspath(args.preload)
    if not os.path.isfile(lib):
        sys.exit(f"run_real: no preload object at {lib}")
    c = Case(lib)
    CASES[args.case](c)
    for r in c.runs:
        created = r.threads_created()
        print(f"{r.label}: {r.describe()}"
              + (f"; greenrun threads created {created}" if created is not None else ""))
    if c.failures:
        print(f"\nFAIL {args.case}:")
        for f in c.failures:
            print("  " + f.replace("\n", "\n  "))
        print()
        for r in c.runs:
            show(r)
        return 1
    print(f"ok {args.case}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
