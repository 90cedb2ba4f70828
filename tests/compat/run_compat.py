#!/usr/bin/env python3
"""Runs a real multithreaded program from Debian twice, natively and with libgreenrun.so in
LD_PRELOAD, and compares what a user would see: the output (sorted where the program's own
order depends on thread timing), the exit status and, where the program writes nothing else
there, stderr. The native run must also print what the case expects, so a broken case is not
mistaken for a greenrun bug.

The preload run has GREENRUN_STATS=1: at exit greenrun prints its statistics table on stderr
(runtime/stats.cpp). Its "threads created" line must reach the number of threads the program
creates, so a program that quietly ran without green threads does not pass.

A program that ends without exit() (a Go program ends with the exit_group system call) prints
no table: its case counts the OS threads in /proc/PID/task while it runs instead, so that a
program whose threads stayed OS threads does not pass either.

usage: run_compat.py --preload LIB [--json FILE] CASE
       run_compat.py --list
CASE is one of: ripgrep, fd, fzf, ruby, node, node_dns, haproxy, python, python_communicate_poll,
python_communicate_select, python_asyncio, python_multiprocessing, redis_server,
redis_benchmark_threads, redis_cli, rsyslog.
Exit status 0 when everything matched, 1 otherwise (with both runs' output shown).
"""

import argparse
import glob
import http.client
import http.server
import importlib.util
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

from compat_kit import *  # noqa: F401,F403  (Run, Case, run, require, diff, ...)


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


# ---- fzf: the Go runtime (cgo), whose futex waits are system call instructions ----

FZF_LINES = 100_000
FZF_QUERY = "grn run"  # two fuzzy terms: g..r..n and r..u..n, both in a line, any case
FZF_SYLLABLES = ["ka", "to", "ri", "green", "run", "sa", "lo", "mi", "ne", "qu", "zar", "vel",
                 "pon", "dex", "ul", "fi", "bra", "tor", "mo", "xi", "Gr", "Nu"]


def fzf_lines():
    """FZF_LINES path-like lines of made-up words, the same on every run."""
    rng = random.Random(11)

    def word():
        return "".join(rng.choice(FZF_SYLLABLES) for _ in range(rng.randint(1, 4)))
    return ["/".join(word() for _ in range(rng.randint(2, 6))) + f" {n}"
            for n in range(FZF_LINES)]


def fuzzy_match(term, line):
    """fzf's fuzzy term (a lower-case term matches any case): its letters in order."""
    rest = iter(line.lower())
    return all(ch in rest for ch in term)


def case_fzf(c):
    """fzf --filter over 100,000 lines: the Go runtime's threads wait for each other with futex
    and nanosleep system calls it makes itself, which greenrun cannot see, and it takes SIGURG
    for itself, so nothing is preempted; only handing the loop to another OS thread gets the
    waker to run. The output must equal the native one, greenrun must say once that it does not
    preempt, and hand-offs must not start more OS threads than the program has natively."""
    fzf = require("fzf", "fzf")
    lines = fzf_lines()
    terms = FZF_QUERY.split()
    want = sorted(line for line in lines if all(fuzzy_match(t, line) for t in terms))

    def expect(got):
        got_lines = sorted(got.splitlines())
        if not want:
            return "the generated input has no line that matches (the case is wrong)"
        if got_lines == want:
            return None
        return diff("\n".join(want), "\n".join(got_lines), "stdout, sorted", "expected",
                    "native")

    with tree_directory("greenrun-fzf-") as root:
        path = os.path.join(root, "lines.txt")
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")
        # fzf's own settings from the environment would change its output.
        native, preload = c.differential(
            "fzf --filter", [fzf, "--filter", FZF_QUERY], expect, min_threads=None,
            timeout=40, stdin_path=path, count_threads=True, compare_stderr=False,
            env={"FZF_DEFAULT_OPTS": "", "FZF_DEFAULT_COMMAND": ""})
    if "handles SIGURG itself, so no thread is preempted" not in preload.stderr:
        c.fail(f"{preload.label}: no one-line notice that the program's SIGURG handler turns "
               f"preemption off; stderr:\n{preload.stderr}")
    if native.stderr.strip():
        c.fail(f"{native.label}: unexpected stderr:\n{native.stderr}")
    print(f"fzf --filter {FZF_QUERY!r}: {len(want)} of {FZF_LINES} lines match; natively "
          f"{native.seconds:.2f} s, preloaded {preload.seconds:.2f} s")
    if native.peak_threads < 2:
        c.fail(f"{native.label}: at most {native.peak_threads} OS thread seen, expected the Go "
               "runtime's several (the case itself is wrong on this machine)")
    # Each Go thread left in a raw wait by a hand-off goes on natively (Go seldom calls libc,
    # where it would come back), so the count nears the native one; two more at most: the
    # original thread, left in its wait while the loop runs on another, and the idle spare
    # greenrun-loop thread kept ready for the next hand-off.
    if not preload.killed and preload.peak_threads > native.peak_threads + 2:
        c.fail(f"{preload.label}: {preload.peak_threads} OS threads at once, natively "
               f"{native.peak_threads}: hand-offs started more threads than the program has")


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


def debian_python():
    # Debian's interpreter, not whatever python3 comes first on PATH (a pyenv shim is a script).
    return "/usr/bin/python3" if os.access("/usr/bin/python3", os.X_OK) else sys.executable


def case_python(c):
    python = debian_python()
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
    daemon = Daemon(label, [haproxy, "-db", "-f", config], env, count_threads=True)
    succeeded = 0
    if wait_until(lambda: fetch(port, "/ready", 1), daemon, 5):
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
    if daemon.running():
        daemon.child.send_signal(signal.SIGUSR1)
    r = daemon.finish(timeout=3)
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
  nbthread 4
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
    # nbthread 4: three threads besides main.
    c.check_green(preload, min_threads=3)


# ---- Python talking to children through pipes ----

def communicate_lines(selector):
    each = ": 4194304 of 4194304 bytes back, identical: True\n  cat exit status 0, stderr b''\n"
    return ("subprocess.run(['cat'], input=4 MiB)" + each
            + "Popen(['cat']).communicate(4 MiB)" + each
            + f"communicate used {selector}: True\n")


PIPE_MODES = {
    # mode of subprocess_pipes.py : what it prints before "all bytes back"
    "communicate_poll": communicate_lines("PollSelector"),
    "communicate_select": communicate_lines("SelectSelector"),
    "asyncio": "asyncio cat, 4 MiB: 4194304 of 4194304 bytes back, identical: True\n"
               "  cat exit status 0\n",
    "multiprocessing": "spawned Pool(2): 64 of 64 results, identical: True\n",
}


def python_pipes_case(mode):
    """4 MiB through cat (or results from spawned workers) with one extra thread alive: the
    pipes the threaded parent creates must reach its children as blocking pipes."""
    def case(c):
        require("cat", "coreutils")
        c.differential(f"python {mode}", [debian_python(), "-I",
                                          os.path.join(HERE, "subprocess_pipes.py"), mode],
                       expect_exactly(PIPE_MODES[mode] + "all bytes back\n"), min_threads=1,
                       timeout=20)
    return case


# ---- node's dns.lookup on its own threadpool ----

def case_node_dns(c):
    node = require("node", "nodejs")

    def localhost_answer(got):
        if re.fullmatch(r"null (127\.0\.0\.1 4|::1 6)\n", got):
            return None
        return f"wanted 'null 127.0.0.1 4' (or 'null ::1 6'), got {got!r}"

    # 4 V8 platform threads and libuv's 4 pool threads at least.
    c.differential("node dns.lookup", [node, "-e", "require('dns').lookup('localhost', "
                                       "(e, a, f) => { console.log(e, a, f); })"],
                   localhost_answer, min_threads=8, timeout=10, max_seconds=5)
    want = ("lookups of localhost (family 4) that gave 127.0.0.1: 8 of 8\n"
            "fs.readFile of this script matches its size: true\n"
            "UV_THREADPOOL_SIZE in the environment: 2\n")
    c.differential("node 8 x dns.lookup + fs.readFile, UV_THREADPOOL_SIZE=2",
                   [node, os.path.join(HERE, "dns_lookups.js")], expect_exactly(want),
                   min_threads=6, timeout=10, max_seconds=5, env={"UV_THREADPOOL_SIZE": "2"})


# ---- daemons: redis-server and rsyslogd ----

def redis_ping(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
            s.sendall(b"PING\r\n")
            return s.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def redis_server_argv(server, port, directory, *extra):
    # No persistence, nothing outside `directory`, the log on stdout.
    return [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly",
            "no", "--dir", directory, "--daemonize", "no", "--logfile", "", *extra]


REDIS_REQUESTS = 20000
REDIS_RATE = re.compile(r"^(SET|GET): ([0-9.]+) requests per second", re.M)
REDIS_PROGRESS = re.compile(rb"rps=([0-9.]+)|requests per second")
REDIS_STALL = 5  # seconds of progress reports that all say rps=0.0


def run_redis_benchmark(label, argv, env, timeout, count_threads=False):
    """Runs redis-benchmark -q, killing it after `timeout` seconds or as soon as it has
    reported no progress for REDIS_STALL seconds (a server that stopped answering: on a loaded
    machine the whole run may be slow, but never at a standstill). -q rewrites a progress line
    with \r: the Run keeps what each line said last."""
    start = time.monotonic()
    child = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, start_new_session=True)
    out = []
    last_progress = [start]

    def read():
        for block in iter(lambda: child.stdout.read1(65536), b""):
            out.append(block)
            for m in REDIS_PROGRESS.finditer(block):
                if not m.group(1) or float(m.group(1)) > 0:
                    last_progress[0] = time.monotonic()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    killed, note = False, ""
    peak = 0 if count_threads else None
    while child.poll() is None:
        if count_threads:
            peak = max(peak, program_threads(child.pid) or 0)
        now = time.monotonic()
        if now - start > timeout or now - last_progress[0] > REDIS_STALL:
            killed = True
            if now - start <= timeout:
                note = f" (no progress for {REDIS_STALL} s)"
            kill_group(child)
            child.wait()
            break
        time.sleep(0.02 if count_threads else 0.1)
    reader.join(5)
    err = child.stderr.read()
    text = b"".join(out).decode(errors="replace")
    text = "\n".join([part for part in line.split("\r") if part.strip()][-1].rstrip()
                     for line in text.split("\n") if line.strip())
    return Run(label + note, text, err.decode(errors="replace"), child.returncode,
               time.monotonic() - start, killed, peak)


def redis_benchmark_run(c, label, env, directory):
    """redis-server --io-threads 2 in `env`, loaded by a native redis-benchmark (50 clients,
    SET and GET), then stopped with SHUTDOWN NOSAVE. Returns (server Run, benchmark Run or
    None, {"SET": rate, "GET": rate})."""
    server = require("redis-server", "redis-server")
    benchmark = require("redis-benchmark", "redis-tools")
    cli = require("redis-cli", "redis-tools")
    port = free_port()
    daemon = Daemon(f"redis-server --io-threads 2: {label}",
                    redis_server_argv(server, port, directory, "--io-threads", "2"), env,
                    count_threads=True)
    bench, rates = None, {}
    try:
        if not wait_until(lambda: redis_ping(port), daemon, 5):
            c.fail(f"{label}: redis-server did not answer PING within 5 s")
        else:
            bench = run_redis_benchmark(f"redis-benchmark (native client) against the {label} "
                                        "server",
                                        [benchmark, "-h", "127.0.0.1", "-p", str(port), "-n",
                                         str(REDIS_REQUESTS), "-c", "50", "-t", "set,get", "-q"],
                                        c.native_env, timeout=60)
            c.runs.append(bench)
            rates = {k: float(v) for k, v in REDIS_RATE.findall(bench.stdout)}
            c.runs.append(run(f"redis-cli shutdown nosave (native client) to the {label} server",
                              [cli, "-h", "127.0.0.1", "-p", str(port), "shutdown", "nosave"],
                              c.native_env, timeout=3))
    finally:
        r = daemon.finish(timeout=3)
    c.runs.append(r)
    return r, bench, rates


def case_redis_server(c):
    results = {}
    with tempfile.TemporaryDirectory(prefix="greenrun-redis-") as tmp:
        for label, env in (("native", c.native_env), ("preload", c.preload_env)):
            results[label] = redis_benchmark_run(c, label, env, tmp)
    for label, (server, bench, rates) in results.items():
        wrong_case = " (the case itself is wrong on this machine)" if label == "native" else ""
        shown = ", ".join(f"{k} {v:.0f}/s" for k, v in sorted(rates.items())) or "no rates"
        print(f"redis {label}: redis-benchmark {shown}")
        c.note(f"{label} server: {shown}")
        if bench and (bench.killed or bench.status != 0):
            c.fail(f"{bench.label}: {bench.describe()}, expected exit 0{wrong_case}")
        for command in ("SET", "GET"):
            if bench and rates.get(command, 0) <= 0:
                c.fail(f"{label}: redis-benchmark reported no positive {command} rate"
                       f"{wrong_case}")
        if server.killed or server.status != 0:
            c.fail(f"{server.label}: {server.describe()} after SHUTDOWN NOSAVE, expected exit 0"
                   f"{wrong_case}")
    # 3 bio threads and 1 I/O thread besides main (a killed server has no table to read).
    if not results["preload"][0].killed:
        c.check_green(results["preload"][0], min_threads=4)


def case_redis_benchmark_threads(c):
    """redis-benchmark --threads 4 (each thread runs its own event loop, probing with
    zero-timeout epoll_wait) against a native redis-server: natively and under the preload it
    must complete with positive SET and GET rates, and stop neither at a standstill (5 s
    without progress) nor after 30 s."""
    server = require("redis-server", "redis-server")
    benchmark = require("redis-benchmark", "redis-tools")
    cli = require("redis-cli", "redis-tools")
    with tempfile.TemporaryDirectory(prefix="greenrun-redis-benchmark-") as tmp:
        port = free_port()
        daemon = Daemon("redis-server (native)", redis_server_argv(server, port, tmp),
                        c.native_env)
        runs = {}
        try:
            if not wait_until(lambda: redis_ping(port), daemon, 5):
                c.fail("redis-server (native) did not answer PING within 5 s (the case itself "
                       "is wrong on this machine)")
            else:
                argv = [benchmark, "-h", "127.0.0.1", "-p", str(port), "--threads", "4", "-n",
                        str(REDIS_REQUESTS), "-c", "50", "-t", "set,get", "-q"]
                for label, env in (("native", c.native_env), ("preload", c.preload_env)):
                    runs[label] = run_redis_benchmark(f"redis-benchmark --threads 4: {label}",
                                                      argv, env, timeout=30, count_threads=True)
                    c.runs.append(runs[label])
                c.runs.append(run("redis-cli shutdown nosave (native)",
                                  [cli, "-h", "127.0.0.1", "-p", str(port), "shutdown",
                                   "nosave"], c.native_env, timeout=3))
        finally:
            c.runs.append(daemon.finish(timeout=3))
    for label, r in runs.items():
        wrong_case = " (the case itself is wrong on this machine)" if label == "native" else ""
        rates = {k: float(v) for k, v in REDIS_RATE.findall(r.stdout)}
        shown = ", ".join(f"{k} {v:.0f}/s" for k, v in sorted(rates.items())) or "no rates"
        print(f"{r.label}: {shown} in {r.seconds:.2f} s")
        c.note(f"{label}: {shown}")
        if r.killed or r.status != 0:
            c.fail(f"{r.label}: {r.describe()}, expected exit 0{wrong_case}")
        for command in ("SET", "GET"):
            if rates.get(command, 0) <= 0:
                c.fail(f"{r.label}: no positive {command} rate reported{wrong_case}")
    if "preload" in runs:
        native, preload = runs["native"], runs["preload"]
        if native.stderr != preload.stderr_without_stats():
            c.fail("redis-benchmark --threads 4: " + diff(
                native.stderr, preload.stderr_without_stats(),
                "stderr (less greenrun's statistics)"))
        # Its 4 benchmark threads at least (a killed run has no table to read).
        if not preload.killed:
            c.check_green(preload, min_threads=4)


def case_redis_cli(c):
    """redis-cli (linked with jemalloc) under the preload: SET then GET of a value of its own
    against a native server, as natively."""
    server = require("redis-server", "redis-server")
    cli = require("redis-cli", "redis-tools")
    with tempfile.TemporaryDirectory(prefix="greenrun-redis-cli-") as tmp:
        port = free_port()
        daemon = Daemon("redis-server (native)", redis_server_argv(server, port, tmp),
                        c.native_env)
        try:
            if not wait_until(lambda: redis_ping(port), daemon, 5):
                c.fail("redis-server (native) did not answer PING within 5 s (the case itself "
                       "is wrong on this machine)")
                return
            base = [cli, "-h", "127.0.0.1", "-p", str(port)]
            for label, env in (("native", c.native_env), ("preload", c.preload_env)):
                value = f"set by redis-cli {label} {os.getpid()}"
                wrong_case = " (the case itself is wrong)" if label == "native" else ""
                steps = [(["SET", "greenrun:key", value], "OK\n"),
                         (["GET", "greenrun:key"], value + "\n")]
                for args, want in steps:
                    r = run(f"redis-cli {args[0]}: {label}", base + args, env, timeout=10,
                            count_threads=True)
                    c.runs.append(r)
                    if r.killed or r.status != 0 or r.stdout != want or r.stderr:
                        c.fail(f"{r.label}: {r.describe()}, printed {r.stdout!r} and "
                               f"{r.stderr!r} on stderr; wanted exit 0 and {want!r}{wrong_case}")
        finally:
            daemon.child.terminate()
            c.runs.append(daemon.finish(timeout=3))
    c.note("a single-threaded client linked with jemalloc: nothing to turn green, only the "
           "allocator and the socket calls under the preload")


def free_udp_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rsyslog_run(c, label, rsyslogd, env, directory):
    """rsyslogd in the foreground with a private configuration: imudp on a loopback port, one
    file action, work directory and pid file in `directory`; no imuxsock or imklog, so it needs
    no privilege and touches nothing system-wide. Once a datagram has reached the file it gets
    SIGTERM. Returns (Run, seconds from SIGTERM to exit or None, pid file left behind)."""
    port = free_udp_port()
    messages = os.path.join(directory, f"{label}.log")
    config = os.path.join(directory, f"{label}.conf")
    pid_file = os.path.join(directory, f"{label}.pid")
    with open(config, "w") as f:
        f.write(f"""global(workDirectory="{directory}")
module(load="imudp")
input(type="imudp" address="127.0.0.1" port="{port}")
*.* action(type="omfile" file="{messages}")
""")
    daemon = Daemon(f"rsyslogd: {label}", [rsyslogd, "-n", "-f", config, "-i", pid_file], env,
                    count_threads=True)
    marker = f"greenrun-rsyslog-{label}-{os.getpid()}"
    seconds = None
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            def logged():
                udp.sendto(f"<14>greenrun-test: {marker}".encode(), ("127.0.0.1", port))
                time.sleep(0.05)
                try:
                    with open(messages) as f:
                        return marker in f.read()
                except FileNotFoundError:
                    return False
            up = wait_until(logged, daemon, 5)
        if not up:
            c.fail(f"rsyslogd: {label}: a message sent to imudp did not reach {messages} "
                   "within 5 s")
        else:
            sent = time.monotonic()
            daemon.child.send_signal(signal.SIGTERM)
            try:
                daemon.child.wait(timeout=3)
                seconds = time.monotonic() - sent
            except subprocess.TimeoutExpired:
                pass
    finally:
        r = daemon.finish(timeout=0)
    c.runs.append(r)
    return r, seconds, os.path.exists(pid_file)


def case_rsyslog(c):
    rsyslogd = require("rsyslogd", "rsyslog")
    with tempfile.TemporaryDirectory(prefix="greenrun-rsyslog-") as tmp:
        native, native_s, native_left = rsyslog_run(c, "native", rsyslogd, c.native_env, tmp)
        preload, preload_s, preload_left = rsyslog_run(c, "preload", rsyslogd, c.preload_env,
                                                       tmp)

    def shown(s):
        return f"{s:.3f} s" if s is not None else "did not exit within 3 s"
    print(f"rsyslogd: SIGTERM to exit: natively {shown(native_s)}, preloaded {shown(preload_s)}")
    if native_s is None or native_s > 1 or native.status != 0:
        c.fail(f"{native.label}: {native.describe()}, SIGTERM to exit {shown(native_s)}; "
               "expected exit 0 within 1 s (the case itself is wrong on this machine)")
    if preload_s is None or preload_s > 1:
        c.fail(f"{preload.label}: SIGTERM to exit {shown(preload_s)}, wanted within 1 s "
               f"(natively {shown(native_s)})")
    if preload.killed or preload.status != native.status:
        c.fail(f"{preload.label}: {preload.describe()}, natively {native.describe()}")
    if preload_left != native_left:
        c.fail(f"rsyslogd: pid file left behind: natively {native_left}, preloaded "
               f"{preload_left}")
    if native.stderr != preload.stderr_without_stats():
        c.fail("rsyslogd: " + diff(native.stderr, preload.stderr_without_stats(),
                                   "stderr (less greenrun's statistics)"))
    # The imudp input thread and the main queue's worker.
    c.check_green(preload, min_threads=2)


CASES = {
    "ripgrep": case_ripgrep,
    "fd": case_fd,
    "fzf": case_fzf,
    "ruby": case_ruby,
    "node": case_node,
    "haproxy": case_haproxy,
    "python": case_python,
    "node_dns": case_node_dns,
    **{f"python_{mode}": python_pipes_case(mode) for mode in PIPE_MODES},
    "redis_server": case_redis_server,
    "redis_benchmark_threads": case_redis_benchmark_threads,
    "redis_cli": case_redis_cli,
    "rsyslog": case_rsyslog,
}


# Cases of this file too slow for ./scripts/test (they run in scripts/compat).
SLOW = {"redis_server"}


def load_case_modules():
    """Cases kept in cases/*.py, each defining CASES (name -> function) and SLOW (names too slow
    for ./scripts/test; scripts/compat runs them all)."""
    slow = set(SLOW)
    for path in sorted(glob.glob(os.path.join(HERE, "cases", "*.py"))):
        spec = importlib.util.spec_from_file_location(
            "compat_case_" + os.path.basename(path)[:-3], path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        CASES.update(module.CASES)
        slow |= set(getattr(module, "SLOW", ()))
    return slow


def summary(name, c, ok):
    """What scripts/compat tabulates: each run's wall time, threads and status."""
    return {"case": name, "ok": ok, "failures": c.failures, "notes": c.notes,
            "runs": [{"label": r.label, "seconds": round(r.seconds, 3), "status": r.status,
                      "killed": r.killed, "threads_created": r.threads_created(),
                      "peak_threads": r.peak_threads} for r in c.runs]}


def main():
    sys.path.insert(0, HERE)  # for cases/*.py: import compat_kit
    slow = load_case_modules()
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--preload", help="path of libgreenrun.so")
    p.add_argument("--json", help="also write what scripts/compat tabulates to this file")
    p.add_argument("--list", action="store_true",
                   help="print every case (\"slow\" after those left out of ./scripts/test)")
    p.add_argument("case", nargs="?", choices=sorted(CASES))
    args = p.parse_args()
    if args.list:
        for name in sorted(CASES):
            print(name + (" slow" if name in slow else ""))
        return 0
    if not args.preload or not args.case:
        p.error("--preload and a case are required")
    lib = os.path.abspath(args.preload)
    if not os.path.isfile(lib):
        sys.exit(f"run_compat: no preload object at {lib}")
    c = Case(lib)
    CASES[args.case](c)
    for r in c.runs:
        created = r.threads_created()
        print(f"{r.label}: {r.describe()}"
              + (f"; greenrun threads created {created}" if created is not None else "")
              + (f"; at most {r.peak_threads} OS threads of its own"
                 if r.peak_threads is not None else ""))
    ok = not c.failures
    if args.json:
        with open(args.json, "w") as f:
            json.dump(summary(args.case, c, ok), f)
    if not ok:
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
