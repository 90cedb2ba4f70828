"""Servers with thread pools and parallel clients, run natively and under greenrun against
peers on loopback addresses:
- memcached -t 4 (its workers and maintenance threads) under 50 connections of a Python client
  that checks every value, and under memcaslap -v 1; memcaslap -T 2 itself, preloaded against
  a native memcached;
- nginx with `aio threads` (its thread pool reads the files): 200 files fetched by
  curl --parallel, natively against the preloaded nginx and preloaded against a native one,
  every body checked by sha256;
- siege -c 50 (a thread per simulated user) preloaded against a native nginx.
Each server or client is compared with its native run: what the clients saw, exit statuses,
stderr, and that its threads were green (GREENRUN_STATS, and fewer OS threads in /proc)."""
import hashlib
import json
import pwd
import socket
import threading

from compat_kit import *  # noqa: F401,F403  (Run, Case, run, require, diff, kill_group, ...)


# ---- helpers (free_port, Daemon, wait_until, can_connect and wrong_case are compat_kit's) ----

def user_name():
    # memcached refuses to run as root without -u; as anyone else -u is ignored.
    return pwd.getpwuid(os.geteuid()).pw_name


# ---- memcached -t 4 under a Python client with 50 connections ----

MC_THREADS = 4
MC_CONNECTIONS = 50
MC_KEYS = 2000
MC_ROUNDS = 5
MC_INCRS = 100  # per connection, on one shared counter
MC_SIZES = [0, 1, 2, 10, 100, 1000, 1023, 1024, 1025, 4000, 8192, 16000, 40000, 100000,
            250000]


def mc_key(i):
    return b"greenrun:%04d" % i


def mc_value(i, rnd):
    """Distinct for every key and round, its size taken from MC_SIZES (small ones most often),
    the key and round written at its start so that a value delivered for the wrong key shows."""
    size = MC_SIZES[(i * 7 + rnd * 3) % len(MC_SIZES)] if i % 4 == 0 else MC_SIZES[i % 6]
    head = b"%d:%d:" % (i, rnd)
    body = hashlib.sha256(head).digest() * (size // 32 + 1)
    return (head + body)[:max(size, len(head))] if size else b""


def mc_flags(i, rnd):
    return (i * 31 + rnd) % 65536


MC_BENCH_OPS = 60000
MEMCASLAP_TPS = re.compile(r"^Run time: \S+ Ops: \d+ TPS: (\d+)", re.M)
MEMCASLAP_COUNTS = ("cmd_get", "cmd_set", "get_misses", "verify_misses", "verify_failed")
MEMCASLAP_WANT = (f"cmd_get: {MC_BENCH_OPS * 9 // 10}\ncmd_set: {MC_BENCH_OPS // 10}\n"
                  "get_misses: 0\nverify_misses: 0\nverify_failed: 0")


def memcaslap_checks(out):
    """memcaslap's counts (-v 1: every value it gets back is checked)."""
    return "\n".join(m.group(0) for name in MEMCASLAP_COUNTS
                     for m in [re.search(rf"^{name}: \d+$", out, re.M)] if m)


class MemcachedError(Exception):
    pass


class McConnection:
    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=20)
        self.file = self.sock.makefile("rb")

    def line(self):
        line = self.file.readline()
        if not line.endswith(b"\r\n"):
            raise MemcachedError(f"connection closed or line cut short: {line[:80]!r}")
        return line[:-2]

    def expect(self, want, what):
        got = self.line()
        if got != want:
            raise MemcachedError(f"{what}: got {got[:80]!r}, want {want!r}")

    def get_many(self, keys):
        """One multi-get; returns {key: (flags, value)}."""
        self.sock.sendall(b"get " + b" ".join(keys) + b"\r\n")
        found = {}
        while True:
            line = self.line()
            if line == b"END":
                return found
            parts = line.split()
            if len(parts) != 4 or parts[0] != b"VALUE":
                raise MemcachedError(f"get: unexpected line {line[:80]!r}")
            data = self.file.read(int(parts[3]) + 2)
            if not data.endswith(b"\r\n"):
                raise MemcachedError(f"get {parts[1]!r}: value cut short")
            found[parts[1]] = (int(parts[2]), data[:-2])

    def close(self):
        self.file.close()
        self.sock.close()


def mc_client(port):
    """MC_CONNECTIONS connections at once, each on a thread of its own. Each round, every
    connection sets its share of MC_KEYS keys (pipelined), then, once all have, fetches
    another connection's share with one multi-get (so values cross memcached's worker threads)
    and checks every flag and byte. Then each sends MC_INCRS pipelined increments of one
    shared counter: every reply must be distinct (1 .. MC_CONNECTIONS * MC_INCRS). Last,
    `stats`. Returns (lines describing what was checked, error list, operations, seconds)."""
    errors = []
    barrier = threading.Barrier(MC_CONNECTIONS, timeout=30)
    incr_replies = [[] for _ in range(MC_CONNECTIONS)]
    checked = [0] * MC_CONNECTIONS
    share = [[i for i in range(MC_KEYS) if i % MC_CONNECTIONS == k]
             for k in range(MC_CONNECTIONS)]

    setup = McConnection(port)
    setup.sock.sendall(b"set greenrun:counter 0 0 1\r\n0\r\n")
    setup.expect(b"STORED", "set greenrun:counter")

    def worker(k):
        try:
            conn = McConnection(port)
            try:
                for rnd in range(MC_ROUNDS):
                    conn.sock.sendall(b"".join(
                        b"set %s %d 0 %d\r\n%s\r\n" % (mc_key(i), mc_flags(i, rnd),
                                                       len(mc_value(i, rnd)), mc_value(i, rnd))
                        for i in share[k]))
                    for i in share[k]:
                        conn.expect(b"STORED", f"set {mc_key(i).decode()} (round {rnd})")
                    barrier.wait()
                    other = share[(k + 7) % MC_CONNECTIONS]
                    found = conn.get_many([mc_key(i) for i in other])
                    for i in other:
                        want = (mc_flags(i, rnd), mc_value(i, rnd))
                        got = found.get(mc_key(i))
                        if got != want:
                            raise MemcachedError(
                                f"get {mc_key(i).decode()} (round {rnd}): "
                                + ("missing" if got is None else
                                   f"flags {got[0]}, {len(got[1])} bytes {got[1][:24]!r}..., "
                                   f"want flags {want[0]}, {len(want[1])} bytes "
                                   f"{want[1][:24]!r}..."))
                        checked[k] += 1
                    if len(found) != len(other):
                        raise MemcachedError(f"get (round {rnd}): {len(found)} values for "
                                             f"{len(other)} keys")
                    barrier.wait()
                conn.sock.sendall(b"incr greenrun:counter 1\r\n" * MC_INCRS)
                for _ in range(MC_INCRS):
                    incr_replies[k].append(int(conn.line()))
            finally:
                conn.close()
        except (OSError, ValueError, MemcachedError, threading.BrokenBarrierError) as e:
            if not isinstance(e, threading.BrokenBarrierError):
                errors.append(f"connection {k}: {e}")
            barrier.abort()

    start = time.monotonic()
    workers = [threading.Thread(target=worker, args=(k,)) for k in range(MC_CONNECTIONS)]
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    seconds = time.monotonic() - start
    total = MC_CONNECTIONS * MC_INCRS
    lines = [f"values set and read back identical: {sum(checked)} of {MC_KEYS * MC_ROUNDS}"]
    replies = sorted(v for r in incr_replies for v in r)
    lines.append(f"incr replies distinct and 1..{total}: {replies == list(range(1, total + 1))}")
    final = setup.get_many([b"greenrun:counter"]).get(b"greenrun:counter")
    lines.append(f"counter at the end: {final[1].decode() if final else None}")
    setup.sock.sendall(b"stats\r\n")
    stats = {}
    while True:
        line = setup.line()
        if line == b"END":
            break
        _, name, value = line.decode().split(" ", 2)
        stats[name] = value
    setup.close()
    for name in ("threads", "curr_items", "cmd_set", "get_hits", "get_misses",
                 "incr_hits", "evictions"):
        lines.append(f"stats {name} {stats.get(name)}")
    operations = MC_KEYS * MC_ROUNDS * 2 + total
    return "\n".join(lines) + "\n", errors, operations, seconds


def memcached_expected():
    total = MC_CONNECTIONS * MC_INCRS
    items = MC_KEYS * MC_ROUNDS + 1
    n = MC_KEYS * MC_ROUNDS
    return (f"values set and read back identical: {n} of {n}\n"
            f"incr replies distinct and 1..{total}: True\n"
            f"counter at the end: {total}\n"
            f"stats threads {MC_THREADS}\n"
            f"stats curr_items {MC_KEYS + 1}\n"
            f"stats cmd_set {items}\n"
            f"stats get_hits {MC_KEYS * MC_ROUNDS + 1}\n"
            f"stats get_misses 0\n"
            f"stats incr_hits {total}\n"
            f"stats evictions 0\n")


def memcaslap_run(c, label, memcaslap, port, env, min_threads=None, all_native=False):
    """memcaslap -c 50 -T 2 (two threads, 25 connections each) with every value it gets back
    verified (-v 1): its counts must be MEMCASLAP_WANT. Returns its rate, or None.
    `all_native`: neither it nor its server is preloaded."""
    bench = run(label, [memcaslap, "-s", f"127.0.0.1:{port}", "-c", "50", "-T", "2", "-x",
                        str(MC_BENCH_OPS), "-v", "1"], env, timeout=30, count_threads=True)
    c.runs.append(bench)
    m = MEMCASLAP_TPS.search(bench.stdout)
    checks = memcaslap_checks(bench.stdout)
    if bench.killed or bench.status != 0 or not m or checks != MEMCASLAP_WANT:
        why = wrong_case("native") if all_native else ""
        c.fail(f"{bench.label}: {bench.describe()}; its counts:\n{checks}\nwanted:\n"
               f"{MEMCASLAP_WANT}{why}\nstdout:\n{shorten(bench.stdout)}\n"
               f"stderr:\n{shorten(bench.stderr)}")
        return None
    if min_threads is not None:
        c.check_green(bench, min_threads)
    print(f"{bench.label}: {float(m.group(1)):.0f} operations/s")
    return float(m.group(1))


def memcached_start(c, label, memcached, env):
    """memcached -t 4 on a free port of 127.0.0.1 in `env`. Returns (Server, port), the
    Server None when it did not accept a connection within 5 s (a failure recorded)."""
    port = free_port()
    server = Daemon(label, [memcached, "-t", str(MC_THREADS), "-l", "127.0.0.1", "-p", str(port),
                            "-U", "0", "-m", "256", "-c", "1024", "-u", user_name()], env,
                    count_threads=True)
    if not wait_until(lambda: can_connect("127.0.0.1", port), server, 5):
        c.fail(f"{label}: did not accept a connection within 5 s{wrong_case(label)}")
        c.runs.append(server.finish(timeout=0))
        return None, port
    return server, port


def memcached_stop(c, server):
    """SIGTERM: memcached then exits 0 through exit(), so a preloaded one prints greenrun's
    statistics."""
    server.child.send_signal(signal.SIGTERM)
    r = server.finish(timeout=5)
    c.runs.append(r)
    return r


def memcached_server_run(c, label, memcached, memcaslap, env):
    """memcached -t 4 in `env` under the checking client, then a native memcaslap. Returns
    (server Run or None, client report or None, client rate, memcaslap rate)."""
    server, port = memcached_start(c, f"memcached -t {MC_THREADS}: {label}", memcached, env)
    if server is None:
        return None, None, None, None
    report, rate, tps = None, None, None
    try:
        try:
            report, errors, operations, seconds = mc_client(port)
        except (OSError, ValueError, MemcachedError) as e:
            report, errors, operations, seconds = "", [f"client: {e}"], 0, 1
        rate = operations / seconds
        for e in errors[:10]:
            c.fail(f"{server.label}: {e}")
        if len(errors) > 10:
            c.fail(f"{server.label}: ... and {len(errors) - 10} more connections failed")
        print(f"{server.label}: {operations} operations from {MC_CONNECTIONS} connections "
              f"in {seconds:.2f} s ({rate:.0f}/s)")
        # Its label carries no side: the server's run holds its time.
        tps = memcaslap_run(c, f"memcaslap (native) -> memcached ({label})", memcaslap, port,
                            c.native_env, all_native=label == "native")
    finally:
        r = memcached_stop(c, server)
    return r, report, rate, tps


def case_memcached(c):
    """memcached -t 4 natively and preloaded under a native client that checks every value,
    the counter and `stats threads 4`, and under memcaslap (-v 1); then memcaslap -T 2 itself
    natively and preloaded against a native memcached."""
    memcached = require("memcached", "memcached")
    memcaslap = require("memcaslap", "libmemcached-tools")
    native, native_report, native_rate, native_tps = memcached_server_run(
        c, "native", memcached, memcaslap, c.native_env)
    preload, preload_report, preload_rate, preload_tps = memcached_server_run(
        c, "preload", memcached, memcaslap, c.preload_env)
    # The client compared: memcaslap natively and preloaded against a third, native, memcached.
    server, port = memcached_start(c, f"memcached -t {MC_THREADS} (native), serving memcaslap",
                                   memcached, c.native_env)
    client_tps = {}
    if server is not None:
        try:
            for side, env, threads in (("native", c.native_env, None),
                                       ("preload", c.preload_env, 2)):
                client_tps[side] = memcaslap_run(c, f"memcaslap -c 50 -T 2: {side}", memcaslap,
                                                 port, env, threads, side == "native")
        finally:
            memcached_stop(c, server)
    if native is None or preload is None:
        return
    want = memcached_expected()
    if native_report is not None and native_report != want:
        c.fail("memcached: native: " + diff(want, native_report, "client report", "expected",
                                            "native") + wrong_case("native"))
    if preload_report is not None and preload_report != want:
        c.fail("memcached: " + diff(want, preload_report, "client report", "expected",
                                    "preload"))
    if native.killed or native.status != 0:
        c.fail(f"{native.label}: {native.describe()} after SIGTERM, expected exit 0"
               + wrong_case("native"))
    if preload.killed or preload.status != native.status:
        c.fail(f"{preload.label}: {preload.describe()} after SIGTERM, natively "
               f"{native.describe()}")
    if native.stderr != preload.stderr_without_stats() or native.stdout != preload.stdout:
        c.fail("memcached: " + diff(native.stdout + native.stderr,
                                    preload.stdout + preload.stderr_without_stats(),
                                    "output (less greenrun's statistics)"))
    # Natively: main, MC_THREADS workers and its maintenance threads (LRU, slabs, hash table,
    # logger); every one besides main must have been a green thread.
    if not preload.killed:
        c.check_green(preload, min_threads=max(MC_THREADS, native.peak_threads - 1))
    if preload.peak_threads >= native.peak_threads:
        c.fail(f"{preload.label}: {preload.peak_threads} OS threads at once, natively "
               f"{native.peak_threads}: its threads stayed OS threads")

    def shown(tps):
        return f"{tps:.0f}" if tps else "-"
    c.note(f"memcached under memcaslap -c 50 -T 2 -v 1: {shown(native_tps)} ops/s native, "
           f"{shown(preload_tps)} green; memcaslap itself {shown(client_tps.get('native'))} "
           f"native, {shown(client_tps.get('preload'))} green; checking client (Python, "
           f"{MC_CONNECTIONS} conns): {shown(native_rate)} native, {shown(preload_rate)} green")


# ---- nginx with `aio threads` under curl --parallel ----

NGINX_FILES = 200
NGINX_POOL_THREADS = 8
NGINX_PARALLEL = 50
PID_MAX_LIMIT = 4194304  # no kernel task id reaches it; greenrun's green thread ids are above
NGINX_LOG_PREFIX = re.compile(r"^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d \[(\w+)\] \d+#\d+: ", re.M)
NGINX_TASK_RUN = re.compile(r"^\S+ \S+ \[debug\] (\d+)#(\d+): run task #\d+ in thread pool "
                            r"\"greenpool\"$", re.M)
NGINX_THREAD_READ = re.compile(r"^\S+ \S+ \[debug\] \d+#\d+: \*\d+ thread read: ", re.M)


def scratch_directory(prefix):
    """A temporary directory in memory where /dev/shm is writable (no disk in the figures)."""
    base = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None
    return tempfile.TemporaryDirectory(prefix=prefix, dir=base)


def loopback_host():
    """(name, address): the machine's host name and the loopback address it resolves to
    through /etc/hosts (Debian writes "127.0.1.1 HOSTNAME" there). curl resolves such a name
    on a thread of its own (its threaded resolver), while it takes numeric addresses and
    "localhost" without one: only a name makes a preloaded curl create a thread, and greenrun
    does nothing in a program that never creates one. None when it is not loopback."""
    name = socket.gethostname()
    try:
        address = socket.getaddrinfo(name, None, socket.AF_INET, socket.SOCK_STREAM)[0][4][0]
    except (OSError, IndexError):
        return name, None
    return name, address if address.startswith("127.") else None


def nginx_make_files(root):
    """NGINX_FILES files of random bytes, of sizes around nginx's buffer sizes and up to
    3 MiB. Returns {name: (size, sha256 hex)}."""
    rng = random.Random(12)
    special = [0, 1, 4095, 4096, 4097, 32767, 32768, 32769, 65535, 65536, 65537, 1 << 20,
               (1 << 20) + 1, 3 << 20]
    files = {}
    for n in range(NGINX_FILES):
        if n < len(special):
            size = special[n]
        else:
            band = rng.random()
            size = (rng.randint(1, 16384) if band < 0.6 else
                    rng.randint(16385, 262144) if band < 0.9 else
                    rng.randint(262145, 1536 * 1024))
        data = rng.randbytes(size)
        name = f"file{n:03}.bin"
        with open(os.path.join(root, name), "wb") as f:
            f.write(data)
        files[name] = (size, hashlib.sha256(data).hexdigest())
    return files


def nginx_config(directory, label, address, port, www, debug=True):
    """A prefix of its own for one nginx: single process (master_process off: its thread pool
    lives in the process we started, which exits through exit() on SIGQUIT), the static files
    read by a pool of NGINX_POOL_THREADS threads (`aio threads`, sendfile off: every buffer is
    a read task in the pool), the thread pool's and reads' debug lines in debug.log."""
    prefix = os.path.join(directory, label)
    os.makedirs(os.path.join(prefix, "temp"))
    config = os.path.join(prefix, "nginx.conf")
    debug_log = f"error_log {prefix}/debug.log debug;" if debug else ""
    with open(config, "w") as f:
        f.write(f"""daemon off;
master_process off;
worker_processes 1;
pid {prefix}/nginx.pid;
error_log stderr notice;
{debug_log}
thread_pool greenpool threads={NGINX_POOL_THREADS} max_queue=65536;
events {{
  worker_connections 1024;
}}
http {{
  access_log off;
  client_body_temp_path {prefix}/temp/body;
  proxy_temp_path {prefix}/temp/proxy;
  fastcgi_temp_path {prefix}/temp/fastcgi;
  uwsgi_temp_path {prefix}/temp/uwsgi;
  scgi_temp_path {prefix}/temp/scgi;
  types {{
    application/octet-stream bin;
  }}
  server {{
    listen {address}:{port};
    root {www};
    sendfile off;
    aio threads=greenpool;
    output_buffers 2 32k;
  }}
}}
""")
    return prefix, config


def nginx_stderr(text):
    """nginx's log lines less their time, process and thread ids."""
    text = NGINX_LOG_PREFIX.sub(r"[\1] ", text)
    return re.sub(r"received from \d+", "received from PID", text)


class Nginx:
    """One nginx (native or preloaded) on `address`, started and stopped by the case."""

    def __init__(self, c, label, nginx, directory, address, www, env, debug=True,
                 run_label=None):
        self.c, self.nginx, self.label = c, nginx, label
        self.port = free_port(address)
        self.address = address
        self.prefix, self.config = nginx_config(directory, re.sub(r"\W+", "-", label),
                                                address, self.port, www, debug)
        self.server = Daemon(run_label or f"nginx aio threads: {label}",
                             [nginx, "-p", self.prefix, "-c", self.config, "-e", "stderr"], env,
                             count_threads=True)
        self.up = wait_until(lambda: can_connect(address, self.port), self.server, 5)
        if not self.up:
            c.fail(f"{self.server.label}: did not accept a connection within 5 s"
                   + wrong_case(label))

    def stop(self):
        """`nginx -s quit` (graceful: SIGQUIT to the pid in its pid file), then waits 5 s
        for it to exit. Returns (server Run, debug log)."""
        if self.server.running():
            quit_run = run(f"nginx -s quit ({self.label})",
                           [self.nginx, "-p", self.prefix, "-c", self.config, "-e", "stderr",
                            "-s", "quit"], self.c.native_env, timeout=5)
            if quit_run.killed or quit_run.status != 0:
                self.c.fail(f"{quit_run.label}: {quit_run.describe()}; stderr:\n"
                            f"{quit_run.stderr}")
        r = self.server.finish(timeout=5)
        self.c.runs.append(r)
        try:
            with open(os.path.join(self.prefix, "debug.log"), errors="replace") as f:
                log = f.read()
        except FileNotFoundError:
            log = ""
        return r, log


def curl_fetch(c, label, curl, env, host, port, files, directory, min_threads):
    """curl --parallel fetching every file (NGINX_PARALLEL at once) into a fresh directory;
    compares its -w lines (status, size, path; sorted) and every body's sha256 with the files.
    Returns the Run, or None when a failure was recorded."""
    out_dir = os.path.join(directory, "fetched")
    shutil.rmtree(out_dir, ignore_errors=True)
    os.makedirs(out_dir)
    base = f"http://{host}:{port}"
    argv = [curl, "--parallel", "--parallel-max", str(NGINX_PARALLEL), "-sS",
            "--no-progress-meter", "--remote-name-all", "--output-dir", out_dir,
            "-w", "%{http_code} %{size_download} %{url}\\n",
            *(f"{base}/{name}" for name in sorted(files))]
    r = run(label, argv, env, timeout=60, count_threads=True)
    c.runs.append(r)
    want = sorted_lines("".join(f"200 {size} /{name}\n" for name, (size, _) in files.items()))
    got = sorted_lines(r.stdout.replace(base, ""))
    wrong = []
    for name, (size, digest) in sorted(files.items()):
        try:
            with open(os.path.join(out_dir, name), "rb") as f:
                body = f.read()
        except FileNotFoundError:
            wrong.append(f"{name}: not fetched")
            continue
        if hashlib.sha256(body).hexdigest() != digest:
            wrong.append(f"{name}: {len(body)} bytes, want {size}, sha256 differs")
    shutil.rmtree(out_dir, ignore_errors=True)
    ok = True
    if r.killed or r.status != 0:
        c.fail(f"{r.label}: {r.describe()}, expected exit 0; stderr:\n{shorten(r.stderr)}")
        ok = False
    if got != want:
        c.fail(f"{r.label}: " + diff(want, got, "-w lines, sorted", "expected", "curl"))
        ok = False
    if wrong:
        c.fail(f"{r.label}: {len(wrong)} of {len(files)} bodies wrong:\n  "
               + "\n  ".join(wrong[:20]))
        ok = False
    if r.stderr_without_stats():
        c.fail(f"{r.label}: unexpected stderr:\n{shorten(r.stderr_without_stats())}")
        ok = False
    if min_threads is not None:
        c.check_green(r, min_threads)
    return r if ok else None


def nginx_pool_check(c, label, log, pid, green):
    """From nginx's debug log: the files were read by read tasks (at least one per non-empty
    file), and every task ran on a thread of the pool, not on nginx's main thread; under
    greenrun on green threads (ids above PID_MAX_LIMIT)."""
    tids = [int(t) for p, t in NGINX_TASK_RUN.findall(log)]
    reads = len(NGINX_THREAD_READ.findall(log))
    if reads < NGINX_FILES - 1 or not tids:
        c.fail(f"nginx ({label}): {reads} thread reads and {len(tids)} tasks in its debug log: "
               "`aio threads` did not read the files in its thread pool"
               + wrong_case(label))
        return None
    on_main = sum(1 for t in tids if t == pid)
    if on_main:
        c.fail(f"nginx ({label}): {on_main} of {len(tids)} thread pool tasks ran on the main "
               "thread")
    if green:
        native_ids = sorted({t for t in tids if t <= PID_MAX_LIMIT})
        if native_ids:
            c.fail(f"nginx ({label}): thread pool tasks ran on threads with kernel ids "
                   f"{native_ids[:8]}: not green threads")
    return len(tids), len(set(tids)), reads


def case_nginx_aio_threads(c):
    """nginx's thread pool serving 200 files natively and preloaded to a native curl, and a
    preloaded curl fetching them from a native nginx; every body checked. Natively vs green:
    the wall time of the fetch (all bytes)."""
    nginx = require("nginx", "nginx-light")
    curl = require("curl", "curl")
    configure = run("nginx -V", [nginx, "-V"], c.native_env, timeout=5)
    if "--with-threads" not in configure.stderr:
        c.fail(f"nginx -V does not list --with-threads: this nginx has no thread pools "
               f"(nginx-light has){wrong_case('native')}")
        return
    host, address = loopback_host()
    if address is None:
        c.fail(f"the host name {host!r} does not resolve to a loopback address (Debian's "
               "/etc/hosts has \"127.0.1.1 HOSTNAME\"); the preloaded curl needs a name to "
               "resolve on a thread (the case itself is wrong on this machine)")
        return
    with scratch_directory("greenrun-nginx-") as tmp:
        www = os.path.join(tmp, "www")
        os.makedirs(www)
        files = nginx_make_files(www)
        total = sum(size for size, _ in files.values())
        fetches, pools, servers = {}, {}, {}
        # The server compared: nginx natively, then preloaded, each fetched from by a native
        # curl (whose runs' labels carry no side: the server's run holds their time). Then
        # the client compared: curl natively, then preloaded, against a third nginx, a native
        # one (its run carries no side).
        for side, env, fetchers in (
                ("native", c.native_env, [("server native", c.native_env, None)]),
                ("preload", c.preload_env, [("server preload", c.native_env, None)]),
                ("native, for curl", c.native_env, [
                    ("client native", c.native_env, None),
                    # Its threaded resolver's thread, for the host name.
                    ("client preload", c.preload_env, 1)])):
            server = Nginx(c, side, nginx, tmp, address, www, env,
                           run_label=None if side in ("native", "preload") else
                           "nginx aio threads (native), serving curl --parallel")
            if server.up:
                for key, curl_env, threads in fetchers:
                    label = {"server native": "curl (native) -> nginx (native)",
                             "server preload": "curl (native) -> nginx (preload)",
                             "client native": "curl --parallel: native",
                             "client preload": "curl --parallel: preload"}[key]
                    fetches[key] = curl_fetch(c, label, curl, curl_env, host, server.port,
                                              files, tmp, threads)
            servers[side], log = server.stop()
            if server.up:
                pools[side] = nginx_pool_check(c, side, log, server.server.child.pid,
                                               green=side == "preload")
        native, preload = servers["native"], servers["preload"]
    for r in servers.values():
        if r.killed or r.status != 0:
            c.fail(f"{r.label}: {r.describe()} after nginx -s quit, expected exit 0"
                   + wrong_case(r.label))
    if nginx_stderr(native.stderr) != nginx_stderr(preload.stderr_without_stats()):
        c.fail("nginx: " + diff(nginx_stderr(native.stderr),
                                nginx_stderr(preload.stderr_without_stats()),
                                "stderr (less times, ids and greenrun's statistics)"))
    if not preload.killed:
        c.check_green(preload, min_threads=NGINX_POOL_THREADS)
    if native.peak_threads < NGINX_POOL_THREADS + 1:
        c.fail(f"{native.label}: at most {native.peak_threads} OS threads seen, expected its "
               f"main thread and {NGINX_POOL_THREADS} pool threads" + wrong_case("native"))
    if preload.peak_threads >= native.peak_threads:
        c.fail(f"{preload.label}: {preload.peak_threads} OS threads at once, natively "
               f"{native.peak_threads}: its pool threads stayed OS threads")

    def rate(key):
        r = fetches.get(key)
        return f"{total / r.seconds / 1e6:.0f} MB/s" if r else "failed"
    c.note(f"{NGINX_FILES} files, {total / 1e6:.1f} MB, {NGINX_PARALLEL} at once: nginx "
           f"{rate('server native')} native, {rate('server preload')} green; curl "
           f"{rate('client native')} native, {rate('client preload')} green")
    for label, figures in pools.items():
        if figures:
            print(f"nginx ({label}): {figures[0]} pool tasks on {figures[1]} threads, "
                  f"{figures[2]} thread reads")


# ---- siege -c 50 (a thread per simulated user) against a native nginx ----

SIEGE_USERS = 50
SIEGE_REPS = 20
SIEGE_SIZES = [0, 1, 1000, 4096, 10000, 32768, 65536, 100000, 250000, 500000]
SIEGE_RC = """verbose = false
color = off
quiet = false
json_output = true
show-logfile = false
logging = false
parser = false
protocol = HTTP/1.1
chunked = true
cache = false
connection = close
concurrent = 50
delay = 0.0
internet = false
benchmark = true
"""


def siege_expected():
    """Each user requests the URLs of the file in order, SIEGE_REPS requests in all."""
    transferred = sum(SIEGE_SIZES[k % len(SIEGE_SIZES)] for k in range(SIEGE_REPS)) * SIEGE_USERS
    n = SIEGE_USERS * SIEGE_REPS
    return {"transactions": n, "availability": 100.0, "successful_transactions": n,
            "failed_transactions": 0,
            # siege's "MB" are MiB, printed with two decimals.
            "data_transferred": round(transferred / (1 << 20), 2)}


def case_siege(c):
    """siege -c 50 -r 20 -b (one thread per user, each with its own connections and name
    lookups) natively and preloaded against a native nginx serving 10 files: the counts of its
    JSON report (transactions, availability, bytes, failures) must be exactly what 50 users x
    20 requests make, both times."""
    siege = require("siege", "siege")
    nginx = require("nginx", "nginx-light")
    with scratch_directory("greenrun-siege-") as tmp:
        www = os.path.join(tmp, "www")
        os.makedirs(www)
        rng = random.Random(5)
        urls = []
        for n, size in enumerate(SIEGE_SIZES):
            with open(os.path.join(www, f"page{n}.bin"), "wb") as f:
                f.write(rng.randbytes(size))
            urls.append(f"page{n}.bin")
        # siege reads $HOME/.siege/siege.conf (and writes a template there if it is missing).
        home = os.path.join(tmp, "home")
        os.makedirs(os.path.join(home, ".siege"))
        rc = os.path.join(home, ".siege", "siege.conf")
        with open(rc, "w") as f:
            f.write(SIEGE_RC)
        # Its run's label carries no side: the siege runs are what is compared.
        server = Nginx(c, "native", nginx, tmp, "127.0.0.1", www, c.native_env, debug=False,
                       run_label="nginx (native), serving siege")
        try:
            if not server.up:
                return
            url_file = os.path.join(tmp, "urls.txt")
            with open(url_file, "w") as f:
                f.write("".join(f"http://127.0.0.1:{server.port}/{u}\n" for u in urls))
            want = siege_expected()
            keys = sorted(want)

            def counts(text):
                try:
                    report = json.loads(text)
                except ValueError:
                    return f"no JSON report: {text!r}"
                return "\n".join(f"{k} {report.get(k)}" for k in keys)

            native, preload = c.differential(
                f"siege -c {SIEGE_USERS} -r {SIEGE_REPS}",
                [siege, "-R", rc, "-b", "-j", "-c", str(SIEGE_USERS), "-r", str(SIEGE_REPS),
                 "-f", url_file], lambda got: None if got == counts(json.dumps(want)) else
                diff(counts(json.dumps(want)), got, "report counts", "expected", "native"),
                min_threads=SIEGE_USERS, timeout=60, normalise=counts, env={"HOME": home})
        finally:
            server.stop()
    # Natively a thread per user; preloaded, the users are green threads (the OS threads
    # left are greenrun's pool for siege's name lookups).
    if not preload.killed and preload.peak_threads >= native.peak_threads:
        c.fail(f"{preload.label}: {preload.peak_threads} OS threads at once, natively "
               f"{native.peak_threads}: its users' threads stayed OS threads")
    rates = []
    for r in (native, preload):
        try:
            rates.append(f"{json.loads(r.stdout)['transaction_rate']:.0f}")
        except (ValueError, KeyError, TypeError):
            rates.append("-")
    c.note(f"{SIEGE_USERS} users x {SIEGE_REPS} requests: {rates[0]} trans/s native, "
           f"{rates[1]} green")


def memcached_pid(port):
    """The pid the memcached answering a new connection on `port` reports in `stats`."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as conn:
            conn.sendall(b"stats\r\n")
            data = b""
            while not data.endswith(b"END\r\n"):
                chunk = conn.recv(65536)
                if not chunk:
                    break
                data += chunk
    except OSError:
        return None
    for line in data.split(b"\r\n"):
        if line.startswith(b"STAT pid "):
            return int(line.split()[2])
    return None


def case_memcached_workers(c):
    """greenrun --workers 2 memcached: two copies bind one port (natively a second memcached on
    it fails), new connections reach both (each answers `stats` with its own pid), every copy's
    threads are green, and SIGTERM to the launcher stops both with memcached's own status."""
    memcached = require("memcached", "memcached")
    launcher = os.path.join(os.path.dirname(c.preload_env["LD_PRELOAD"]), "greenrun")
    port = free_port()
    argv = [memcached, "-t", "2", "-l", "127.0.0.1", "-p", str(port), "-U", "0", "-u",
            user_name()]
    # Natively: one memcached serves the port and a second one cannot bind it.
    first = Daemon("memcached: native", argv, c.native_env)
    try:
        if not wait_until(lambda: can_connect("127.0.0.1", port), first, 5):
            c.fail("memcached: native: no connection within 5 s" + wrong_case("native"))
            return
        second = run("memcached, a second one on the port: native", argv, c.native_env, 5)
        c.runs.append(second)
        if second.killed or second.status == 0:
            c.fail(f"{second.label}: {second.describe()}, expected it to fail to bind"
                   + wrong_case("native"))
        native_pids = {memcached_pid(port) for _ in range(40)}
    finally:
        first.child.send_signal(signal.SIGTERM)
        native = first.finish(timeout=5)
        c.runs.append(native)
    with tempfile.TemporaryDirectory(prefix="greenrun-workers-") as tmp:
        port = free_port()
        argv[argv.index("-p") + 1] = str(port)
        daemon = Daemon("greenrun --workers 2 memcached: preload",
                        [launcher, "--workers", "2", f"--stats={tmp}/stats.%p", "--", *argv],
                        c.native_env)
        try:
            if not wait_until(lambda: can_connect("127.0.0.1", port), daemon, 5):
                c.fail("greenrun --workers 2 memcached: no connection within 5 s")
                pids = set()
            else:
                time.sleep(0.3)  # both copies up (the first may accept alone for a moment)
                pids = {memcached_pid(port) for _ in range(40)}
        finally:
            daemon.child.send_signal(signal.SIGTERM)
            green = daemon.finish(timeout=8)
            c.runs.append(green)
        created = []
        for name in sorted(os.listdir(tmp)):
            with open(os.path.join(tmp, name)) as f:
                m = THREADS_CREATED.search(f.read())
            created.append(int(m.group(1)) if m else None)
    print(f"memcached pids answering 40 connections: natively {sorted(native_pids)}, "
          f"--workers 2 {sorted(p for p in pids if p)}; threads created per copy {created}")
    c.note(f"40 new connections reached {len(native_pids - {None})} memcached natively, "
           f"{len(pids - {None})} copies with --workers 2; threads created per copy {created}")
    if len(native_pids - {None}) != 1:
        c.fail(f"memcached: native: {len(native_pids - {None})} pids answered, expected 1"
               + wrong_case("native"))
    if len(pids - {None}) != 2 or None in pids:
        c.fail(f"greenrun --workers 2: connections reached pids {sorted(map(str, pids))}, "
               "expected both copies")
    if len(created) != 2 or any(n is None or n < 2 for n in created):
        c.fail(f"greenrun --workers 2: statistics files of the copies give threads created "
               f"{created}, want two files with at least 2 threads each")
    if green.killed or green.status != native.status:
        c.fail(f"{green.label}: {green.describe()} after SIGTERM, natively {native.describe()}")
    if green.stderr.strip():
        c.fail(f"{green.label}: unexpected stderr:\n{green.stderr}")


CASES = {
    "memcached": case_memcached,
    "memcached_workers": case_memcached_workers,
    "nginx_aio_threads": case_nginx_aio_threads,
    "siege": case_siege,
}

# Each takes 3 to 20 s: all run in ./scripts/test.
SLOW = set()
