"""More real programs from Debian, natively and under greenrun against peers on 127.0.0.1:
- apache2 with mpm_event (2 child processes of 16 worker threads and a listener each), with a
  private ServerRoot (as the current user; its children as www-data when that is root):
  32 keep-alive clients check every body by sha256, then ab -c 24 measures it; each child's
  threads must be green;
- unbound with num-threads 2 answering local-data of a local zone: 20,000 UDP queries of 20
  client threads, every answer checked, and `dig +tcp`;
- wget2 -r --max-threads=8 mirroring a site of 1,000 linked pages and files from a native
  apache2, axel -n 16 fetching one 64 MiB file in 16 ranges: every byte checked;
- a Tcl script using the Thread package (thread::create, thread::send, tsv, tpool, sockets
  and exec of children from threads);
- pbzip2 -p4 and lbzip2 -n 4: the same compressed bytes natively and green, and back.
Each is compared with its native run (output, exit status, stderr) and its threads must have
been green (GREENRUN_STATS's "threads created", and OS threads in /proc)."""
import hashlib
import http.client
import random
import re
import signal
import socket
import struct
import tempfile
import threading

from compat_kit import *  # noqa: F401,F403  (Run, Case, run, require, diff, Daemon, ...)

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "more")
MIB = 1 << 20


# ---- helpers ----

def scratch_directory(prefix):
    """In memory where /dev/shm is writable. Readable by all: apache2's children
    run as www-data when the suite runs as root."""
    base = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None
    d = tempfile.TemporaryDirectory(prefix=prefix, dir=base)
    os.chmod(d.name, 0o755)
    return d





def tree(directory):
    """{relative path: sha256} of every file under `directory`."""
    found = {}
    for root, _, names in os.walk(directory):
        for name in names:
            path = os.path.join(root, name)
            found[os.path.relpath(path, directory)] = sha256_file(path)
    return found


def make_files(directory, count, seed, largest=400_000):
    """`count` files of random bytes f000.bin ..., sizes 0 to `largest`, the first ones around
    buffer sizes. Returns {name: sha256}."""
    rng = random.Random(seed)
    special = [0, 1, 4095, 4096, 4097, 8192, 65535, 65536, 65537, 1 << 20]
    files = {}
    for n in range(count):
        size = special[n] if n < len(special) else rng.randint(1, largest)
        data = rng.randbytes(size)
        name = f"f{n:03}.bin"
        with open(os.path.join(directory, name), "wb") as f:
            f.write(data)
        os.chmod(os.path.join(directory, name), 0o644)
        files[name] = hashlib.sha256(data).hexdigest()
    return files


def stats_tables(directory):
    """{pid: table} of the files GREENRUN_STATS=DIRECTORY/%p wrote."""
    tables = {}
    for name in os.listdir(directory):
        with open(os.path.join(directory, name)) as f:
            tables[int(name)] = f.read()
    return tables


def children(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(p) for p in f.read().split()]
    except OSError:
        return []


def to_file(argv, out):
    """argv with its stdout to the file `out` (the shell execs the tool: the same process)."""
    return ["/bin/sh", "-c", 'out=$1; shift; exec "$@" > "$out"', "sh", out] + argv


def rate(nbytes, r):
    return f"{nbytes / r.seconds / 1e6:.0f} MB/s" if r and r.seconds > 0 else "-"


# ---- apache2 (mpm_event), as a server compared and as a native peer for the clients ----

APACHE_SERVERS = 2
APACHE_THREADS = 16  # ThreadsPerChild: each child also has a listener thread
APACHE_LOG_PREFIX = re.compile(r"^\[[^\]]*\] (\[[^\]]*\]) \[pid \d+(?::tid \d+)?\] ", re.M)


def apache_config(prefix, port, www):
    modules = "/usr/lib/apache2/modules"
    user = ("User www-data\nGroup www-data\n" if os.geteuid() == 0 else "")
    return f"""ServerRoot {prefix}
ServerName 127.0.0.1
Listen 127.0.0.1:{port}
PidFile {prefix}/httpd.pid
Mutex file:{prefix} default
ErrorLog /dev/stderr
LogLevel warn
{user}LoadModule mpm_event_module {modules}/mod_mpm_event.so
LoadModule authz_core_module {modules}/mod_authz_core.so
LoadModule mime_module {modules}/mod_mime.so
TypesConfig /etc/mime.types
StartServers {APACHE_SERVERS}
ServerLimit {APACHE_SERVERS}
ThreadLimit {APACHE_THREADS}
ThreadsPerChild {APACHE_THREADS}
MaxRequestWorkers {APACHE_SERVERS * APACHE_THREADS}
MinSpareThreads 4
MaxSpareThreads {APACHE_SERVERS * APACHE_THREADS}
KeepAlive On
MaxKeepAliveRequests 0
DocumentRoot {www}
"""


class Apache:
    """One apache2 -DFOREGROUND with a ServerRoot of its own on 127.0.0.1, its children's OS
    threads counted (peak per child), and, preloaded, each child's statistics in a file
    (GREENRUN_STATS=DIR/%p: the children are not the top process, which creates no thread)."""

    def __init__(self, c, label, apache2, directory, www, env, stats=False):
        self.c, self.label = c, label
        self.port = free_port()
        self.prefix = os.path.join(directory, re.sub(r"\W+", "-", label))
        os.makedirs(self.prefix)
        os.chmod(self.prefix, 0o755)
        config = os.path.join(self.prefix, "httpd.conf")
        with open(config, "w") as f:
            f.write(apache_config(self.prefix, self.port, www))
        env = dict(env)
        self.stats_dir = None
        if stats:
            self.stats_dir = os.path.join(self.prefix, "stats")
            os.makedirs(self.stats_dir)
            os.chmod(self.stats_dir, 0o777)  # written by the children, as www-data
            env["GREENRUN_STATS"] = os.path.join(self.stats_dir, "%p")
        self.server = Daemon(label, [apache2, "-d", self.prefix, "-f", config, "-DFOREGROUND"],
                             env)
        self.peak = 0
        self.counting = True
        self.counter = threading.Thread(target=self._count, daemon=True)
        self.counter.start()
        self.up = wait_until(lambda: can_connect("127.0.0.1", self.port), self.server, 10)
        if not self.up:
            c.fail(f"{label}: did not accept a connection within 10 s" + wrong_case(label))

    def _count(self):
        while self.counting and self.server.running():
            for child in children(self.server.child.pid):
                self.peak = max(self.peak, program_threads(child) or 0)
            time.sleep(0.02)

    def stop(self):
        """SIGTERM (apache2 stops its children and exits 0), 10 s to end. Returns the Run, its
        peak_threads the most OS threads seen in one child, and (preloaded) the first child's
        statistics table added to its stderr."""
        if self.server.running():
            os.kill(self.server.child.pid, signal.SIGTERM)
        r = self.server.finish(timeout=10)
        self.counting = False
        self.counter.join()
        r.peak_threads = self.peak
        self.tables = stats_tables(self.stats_dir) if self.stats_dir else {}
        if self.tables:
            r.stderr += next(iter(self.tables.values()))
        if r.killed or r.status != 0:
            self.c.fail(f"{r.label}: {r.describe()} after SIGTERM, expected exit 0"
                        + wrong_case(r.label))
        self.c.runs.append(r)
        return r


def apache_log(text):
    """apache2's error log less its times, process and thread ids, its ServerRoot (which names
    the side) and AH00484 ("server reached MaxRequestWorkers"), which depends on timing."""
    text = APACHE_LOG_PREFIX.sub(r"\1 ", text)
    text = re.sub(r"/apache2-mpm_event-(native|preload)\b", "/SERVERROOT", text)
    return re.sub(r"^.*AH00484: .*\n", "", text, flags=re.M)


APACHE_FILES = 60
APACHE_CLIENTS = 32
AB_REQUESTS = 20000
AB_CONCURRENCY = 24
# ab without -k: a connection per request. With keep-alive, apache2's event MPM sometimes closes
# an idle connection when its workers are busy, which ab counts as a failed request ("Length"),
# natively too.


def http_check(port, files, clients):
    """`clients` threads, each with a keep-alive connection, each fetching every file (from
    a different first one). A request on a kept-alive connection that the server closed
    meanwhile is sent again on a new one, as HTTP clients do (apache2's event MPM closes idle
    keep-alive connections when its workers are busy). Returns (bodies checked, errors,
    requests sent again)."""
    names = sorted(files)
    errors, checked, again = [], [0] * clients, [0] * clients

    def get(conn, k, name):
        for attempt in (1, 2):
            try:
                conn.request("GET", "/" + name)
                resp = conn.getresponse()
                return resp, resp.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                if attempt == 2:
                    raise
                conn.close()  # the next request opens a new connection
                again[k] += 1

    def client(k):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
        try:
            for j in range(len(names)):
                name = names[(k + j) % len(names)]
                resp, body = get(conn, k, name)
                if resp.status != 200 or hashlib.sha256(body).hexdigest() != files[name]:
                    errors.append(f"client {k}: {name}: status {resp.status}, {len(body)} "
                                  "bytes, sha256 differs")
                else:
                    checked[k] += 1
        except (OSError, http.client.HTTPException) as e:
            errors.append(f"client {k}: {e!r}")
        finally:
            conn.close()

    workers = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    return sum(checked), errors, sum(again)


AB_LINE = re.compile(r"^(Complete requests|Failed requests|Non-2xx responses|"
                     r"Requests per second):\s+(\S+)", re.M)


def case_apache2_event(c):
    """apache2 (mpm_event: 2 children x 16 workers and a listener) natively and preloaded:
    32 keep-alive clients each fetch 60 files, every body checked; then ab -n 20000 -c 24
    on one file of 8 KiB.
    The error logs (less times and ids) must be the same, every child's threads green."""
    apache2 = require("apache2", "apache2")
    ab = require("ab", "apache2-utils")
    figures = {}
    with scratch_directory("greenrun-apache2-") as tmp:
        www = os.path.join(tmp, "www")
        os.makedirs(www)
        os.chmod(www, 0o755)
        files = make_files(www, APACHE_FILES, seed=21)
        total = sum(os.path.getsize(os.path.join(www, n)) for n in files)
        servers = {}
        # Every thread of an apache2 child blocks every signal (its main thread takes them
        # with sigwait), SIGURG too: greenrun cannot preempt there and says so on stderr (the
        # error log) unless told with GREENRUN_TIMESLICE=0, as its notice asks.
        for side, env in (("native", c.native_env),
                          ("preload", dict(c.preload_env, GREENRUN_TIMESLICE="0"))):
            server = Apache(c, f"apache2 mpm_event: {side}", apache2, tmp, www, env,
                            stats=side == "preload")
            if server.up:
                start = time.monotonic()
                checked, errors, again = http_check(server.port, files, APACHE_CLIENTS)
                print(f"{server.label}: {again} requests sent again on a new connection")
                seconds = time.monotonic() - start
                if errors or checked != APACHE_CLIENTS * APACHE_FILES:
                    c.fail(f"{server.label}: {checked} of {APACHE_CLIENTS * APACHE_FILES} "
                           f"bodies right; {len(errors)} errors:\n  " + "\n  ".join(errors[:10]))
                bench = run(f"ab -c {AB_CONCURRENCY} (native) -> apache2 ({side})",
                            [ab, "-q", "-n", str(AB_REQUESTS), "-c", str(AB_CONCURRENCY),
                             f"http://127.0.0.1:{server.port}/f005.bin"],
                            c.native_env, timeout=60)
                c.runs.append(bench)
                got = dict(AB_LINE.findall(bench.stdout))
                if (bench.status != 0 or got.get("Complete requests") != str(AB_REQUESTS)
                        or got.get("Failed requests") != "0" or "Non-2xx responses" in got):
                    c.fail(f"{bench.label}: {bench.describe()}: {got}; stderr:\n"
                           f"{shorten(bench.stderr)}")
                figures[side] = (total * APACHE_CLIENTS / seconds / 1e6,
                                 got.get("Requests per second", "-"))
            servers[side] = server.stop()
            if side == "preload":
                tables = server.tables
                created = [THREADS_CREATED.search(t) for t in tables.values()]
                if len(tables) < APACHE_SERVERS:
                    c.fail(f"{servers[side].label}: {len(tables)} statistics files, want one "
                           f"per child ({APACHE_SERVERS})")
                for pid, m in zip(tables, created):
                    if not m or int(m.group(1)) < APACHE_THREADS + 1:
                        c.fail(f"{servers[side].label}: child {pid} created "
                               f"{m.group(1) if m else 'no'} green threads, want at least "
                               f"{APACHE_THREADS + 1} (its workers and listener)")
    native, preload = servers["native"], servers["preload"]
    if apache_log(native.stderr) != apache_log(preload.stderr_without_stats()):
        c.fail("apache2: " + diff(apache_log(native.stderr),
                                  apache_log(preload.stderr_without_stats()),
                                  "error log (less times and ids)"))
    if native.peak_threads < APACHE_THREADS + 1:
        c.fail(f"{native.label}: at most {native.peak_threads} OS threads in a child, expected "
               f"{APACHE_THREADS + 1}" + wrong_case("native"))
    if preload.peak_threads >= native.peak_threads:
        c.fail(f"{preload.label}: {preload.peak_threads} OS threads in a child, natively "
               f"{native.peak_threads}: its workers stayed OS threads")
    if len(figures) == 2:
        c.note(f"{APACHE_CLIENTS} clients x {APACHE_FILES} files: {figures['native'][0]:.0f} "
               f"MB/s native, {figures['preload'][0]:.0f} green; ab -c {AB_CONCURRENCY}: "
               f"{figures['native'][1]} req/s native, {figures['preload'][1]} green")


# ---- unbound, num-threads 2, answering local-data ----

UNBOUND_NAMES = 2000
UNBOUND_CLIENTS = 20
UNBOUND_QUERIES = 1000  # per client
UNBOUND_LOG = re.compile(r"^\[\d+\] unbound\[\d+:\d+\] ", re.M)
UNBOUND_THREAD_STATS = re.compile(r"^info: server stats for thread \d+: (\d+) queries.*\n?",
                                  re.M)


def unbound_address(i):
    return f"10.{i // 250}.{i % 250}.{(i * 7) % 250}"


def unbound_config(directory, port):
    data = "".join(f'  local-data: "h{i}.green.test. 300 IN A {unbound_address(i)}"\n'
                   f'  local-data: "h{i}.green.test. 300 IN TXT host-{i}"\n'
                   for i in range(UNBOUND_NAMES))
    return f"""server:
  interface: 127.0.0.1
  port: {port}
  num-threads: 2
  so-reuseport: no
  do-daemonize: no
  use-syslog: no
  logfile: ""
  verbosity: 1
  username: ""
  chroot: ""
  directory: "{directory}"
  pidfile: ""
  do-ip6: no
  access-control: 127.0.0.0/8 allow
  local-zone: "green.test." static
{data}remote-control:
  control-enable: no
"""


def dns_query(name, qtype, qid):
    q = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    for part in name.split("."):
        q += bytes([len(part)]) + part.encode()
    return q + b"\0" + struct.pack(">HH", qtype, 1)


def dns_answer(resp):
    """(id, rcode, [A as text or TXT strings]) of a reply with uncompressed or compressed
    owner names."""
    qid, flags, _, count, _, _ = struct.unpack(">HHHHHH", resp[:12])
    p = 12
    while resp[p]:
        p += resp[p] + 1
    p += 5
    out = []
    for _ in range(count):
        if resp[p] & 0xc0 == 0xc0:
            p += 2
        else:
            while resp[p]:
                p += resp[p] + 1
            p += 1
        rtype, _, _, length = struct.unpack(">HHIH", resp[p:p + 10])
        p += 10
        data = resp[p:p + length]
        p += length
        out.append(".".join(map(str, data)) if rtype == 1 else data[1:].decode())
    return qid, flags & 0xf, out


def dns_clients(port):
    """UNBOUND_CLIENTS threads, each with a UDP socket, sending UNBOUND_QUERIES queries one at
    a time (A or TXT of a random name, one in eleven not in the zone: NXDOMAIN), every answer
    checked. Returns (answers right, errors)."""
    errors, right = [], [0] * UNBOUND_CLIENTS

    def client(k):
        rng = random.Random(k)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(5)
            for _ in range(UNBOUND_QUERIES):
                i = rng.randrange(UNBOUND_NAMES * 11 // 10)
                qtype, qid = rng.choice((1, 16)), rng.randrange(65536)
                try:
                    s.sendto(dns_query(f"h{i}.green.test", qtype, qid), ("127.0.0.1", port))
                    got = dns_answer(s.recv(4096))
                except (OSError, IndexError, struct.error, UnicodeDecodeError) as e:
                    errors.append(f"client {k}: h{i}: {e!r}")
                    continue
                want = ((qid, 3, []) if i >= UNBOUND_NAMES else
                        (qid, 0, [unbound_address(i) if qtype == 1 else f"host-{i}"]))
                if got != want:
                    errors.append(f"client {k}: h{i} type {qtype}: got {got}, want {want}")
                else:
                    right[k] += 1

    workers = [threading.Thread(target=client, args=(k,)) for k in range(UNBOUND_CLIENTS)]
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    return sum(right), errors


def case_unbound(c):
    """unbound -d with num-threads 2 (both threads on one UDP socket), natively and
    preloaded: 20 client threads x 1,000 queries over UDP, each answer checked (A, TXT,
    NXDOMAIN), and dig +tcp. Its log (less times and ids, and the split of queries between
    its threads) must be the same, the queries counted by its threads all of them."""
    unbound = require("unbound", "unbound")
    dig = require("dig", "bind9-dnsutils")
    runs, rates = {}, {}
    total = UNBOUND_CLIENTS * UNBOUND_QUERIES
    with tempfile.TemporaryDirectory(prefix="greenrun-unbound-") as tmp:
        for side, env in (("native", c.native_env), ("preload", c.preload_env)):
            port = free_port()
            config = os.path.join(tmp, f"unbound-{side}.conf")
            with open(config, "w") as f:
                f.write(unbound_config(tmp, port))
            server = Daemon(f"unbound num-threads 2: {side}", [unbound, "-d", "-c", config],
                            env, count_threads=True)

            def answers():
                try:
                    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                        s.settimeout(0.2)
                        s.sendto(dns_query("h1.green.test", 1, 7), ("127.0.0.1", port))
                        return bool(s.recv(512))
                except OSError:
                    return False
            if wait_until(answers, server, 10):
                start = time.monotonic()
                right, errors = dns_clients(port)
                rates[side] = total / (time.monotonic() - start)
                if errors or right != total:
                    c.fail(f"{server.label}: {right} of {total} answers right, {len(errors)} "
                           "errors:\n  " + "\n  ".join(errors[:10]))
                tcp = run(f"dig +tcp (native) -> unbound ({side})",
                          [dig, "+tcp", "+short", "-p", str(port), "@127.0.0.1",
                           "h42.green.test", "A", "h1999.green.test", "TXT"],
                          c.native_env, timeout=20)
                c.runs.append(tcp)
                if tcp.stdout != f"{unbound_address(42)}\n\"host-1999\"\n":
                    c.fail(f"{tcp.label}: {tcp.describe()}: {tcp.stdout!r} {tcp.stderr!r}")
            else:
                c.fail(f"{server.label}: no answer within 10 s" + wrong_case(side))
            if server.running():
                os.kill(server.child.pid, signal.SIGTERM)
            runs[side] = server.finish(timeout=10)
            c.runs.append(runs[side])
    native, preload = runs["native"], runs["preload"]
    logs = {}
    for r in (native, preload):
        if r.killed or r.status != 0:
            c.fail(f"{r.label}: {r.describe()} after SIGTERM, expected exit 0" + wrong_case(r.label))
        text = UNBOUND_LOG.sub("", r.stderr_without_stats())
        counted = sum(int(n) for n in UNBOUND_THREAD_STATS.findall(text))
        # And the readiness probe (one or a few) and dig's two.
        if not total + 3 <= counted <= total + 100:
            c.fail(f"{r.label}: its threads counted {counted} queries, want {total + 3} "
                   "and a few readiness probes")
        logs[r.label] = UNBOUND_THREAD_STATS.sub("", text)
    if logs[native.label] != logs[preload.label]:
        c.fail("unbound: " + diff(logs[native.label], logs[preload.label],
                                  "log (less times, ids and per-thread counts)"))
    c.check_green(preload, min_threads=1)
    if native.peak_threads < 2:
        c.fail(f"{native.label}: at most {native.peak_threads} OS threads, expected 2"
               + wrong_case("native"))
    split = {r.label: "/".join(re.findall(r"stats for thread \d+: (\d+) queries", r.stderr))
             for r in (native, preload)}
    if len(rates) == 2:
        c.note(f"{total} UDP queries from {UNBOUND_CLIENTS} threads: {rates['native']:.0f} q/s "
               f"native, {rates['preload']:.0f} green (split between its 2 threads "
               f"{split[native.label]} native, {split[preload.label]} green)")


# ---- clients against a native apache2: wget2 -r, axel ----

WGET2_PAGES = 1000


def make_site(directory, pages, seed):
    """`pages` HTML pages linking to 6 others each and, one in three, to a binary file; an
    index linking to the first. Returns {path under directory: sha256} of what a crawl from the
    index reaches."""
    rng = random.Random(seed)
    site = os.path.join(directory, "site")
    os.makedirs(site)
    os.chmod(site, 0o755)
    words = ["green", "thread", "loop", "fiber", "uv", "stack", "park", "wake"]
    links = {}
    for i in range(pages):
        targets = [f"p{j:04}.html" for j in rng.sample(range(pages), 6)]
        if i % 3 == 0:
            name = f"d{i:04}.bin"
            with open(os.path.join(site, name), "wb") as f:
                f.write(rng.randbytes(rng.randint(1000, 200_000)))
            targets.append(name)
        links[f"p{i:04}.html"] = targets
        body = "".join(f'<a href="{t}">{t}</a>\n' for t in targets)
        body += "<p>" + " ".join(rng.choices(words, k=rng.randint(10, 3000))) + "</p>"
        with open(os.path.join(site, f"p{i:04}.html"), "w") as f:
            f.write(f"<html><head><title>page {i}</title></head><body>\n{body}</body></html>\n")
    with open(os.path.join(site, "index.html"), "w") as f:
        f.write('<html><body><a href="p0000.html">start</a></body></html>\n')
    for name in os.listdir(site):
        os.chmod(os.path.join(site, name), 0o644)
    reached, todo = {"index.html", "p0000.html"}, ["p0000.html"]
    while todo:
        for t in links[todo.pop()]:
            if t not in reached:
                reached.add(t)
                if t.endswith(".html"):
                    todo.append(t)
    return {f"site/{n}": sha256_file(os.path.join(site, n)) for n in reached}


def client_pair(c, name, argv_for, check, min_threads, env=None, timeout=60):
    """Runs argv_for(side) natively and preloaded; both must exit 0 with the same stdout and
    stderr, check(side) (None or what is wrong) must pass, the preloaded run's threads green.
    Returns (native Run, preload Run)."""
    extra = env or {}
    runs = {}
    for side, base in (("native", c.native_env), ("preload", c.preload_env)):
        r = run(f"{name}: {side}", argv_for(side), dict(base, **extra), timeout,
                count_threads=True)
        c.runs.append(r)
        runs[side] = r
        if r.killed or r.status != 0:
            c.fail(f"{r.label}: {r.describe()}, expected exit 0" + wrong_case(side)
                   + f"; stderr:\n{shorten(r.stderr)}")
        wrong = check(side)
        if wrong:
            c.fail(f"{r.label}: {wrong}" + wrong_case(side))
    native, preload = runs["native"], runs["preload"]
    if native.stdout != preload.stdout:
        c.fail(f"{name}: " + diff(native.stdout, preload.stdout, "stdout"))
    if native.stderr != preload.stderr_without_stats():
        c.fail(f"{name}: " + diff(native.stderr, preload.stderr_without_stats(),
                                  "stderr (less greenrun's statistics)"))
    c.check_green(preload, min_threads)
    return native, preload


def with_apache(c, prefix, fill, body):
    """A native apache2 serving what fill(www) writes, for body(port, fill's result, tmp)."""
    apache2 = require("apache2", "apache2")
    with scratch_directory(prefix) as tmp:
        www = os.path.join(tmp, "www")
        os.makedirs(www)
        os.chmod(www, 0o755)
        made = fill(www)
        server = Apache(c, "apache2 (native), serving the client", apache2, tmp, www,
                        c.native_env)
        try:
            if server.up:
                body(server.port, made, tmp)
        finally:
            server.stop()


def case_wget2_recursive(c):
    """wget2 -r -l 0 --max-threads=8 mirroring a site of 1,000 pages (6 links each) and 334
    binary files from a native apache2, natively and preloaded: every page and file the
    links reach, byte for byte, nothing else. (-l 0: at wget2's default depth of 5, which
    pages are reached depends on the order the threads fetch them in, natively too.)"""
    wget2 = require("wget2", "wget2")

    def body(port, want, tmp):
        home = os.path.join(tmp, "home")
        os.makedirs(home)
        out = {side: os.path.join(tmp, f"mirror-{side}") for side in ("native", "preload")}

        def check(side):
            got = tree(out[side]) if os.path.isdir(out[side]) else {}
            if got == want:
                return None
            missing = sorted(set(want) - set(got))
            return (f"{len(got)} files, want {len(want)}; missing {missing[:5]}, extra "
                    f"{sorted(set(got) - set(want))[:5]}, differing "
                    f"{sorted(n for n in got if n in want and got[n] != want[n])[:5]}")
        native, preload = client_pair(
            c, "wget2 -r --max-threads=8",
            lambda side: [wget2, "-q", "-r", "-l", "0", "-np", "-nH", "--no-robots",
                          "--max-threads=8", "-P", out[side],
                          f"http://127.0.0.1:{port}/site/index.html"],
            check, min_threads=8, env={"HOME": home})
        size = sum(os.path.getsize(os.path.join(out["native"], n)) for n in want
                   if os.path.exists(os.path.join(out["native"], n)))
        c.note(f"{len(want)} files, {size / 1e6:.1f} MB: native {native.seconds:.2f} s, green "
               f"{preload.seconds:.2f} s")
    with_apache(c, "greenrun-wget2-", lambda www: make_site(www, WGET2_PAGES, seed=41), body)


AXEL_MIB = 64
AXEL_CONNECTIONS = 16


def case_axel(c):
    """axel -n 16 (a thread per connection, each fetching a range) downloading one 64 MiB file
    from a native apache2, natively and preloaded: the same bytes."""
    axel = require("axel", "axel")

    def fill(www):
        data = random.Random(55).randbytes(AXEL_MIB * MIB)
        with open(os.path.join(www, "big.bin"), "wb") as f:
            f.write(data)
        os.chmod(os.path.join(www, "big.bin"), 0o644)
        return hashlib.sha256(data).hexdigest()

    def body(port, digest, tmp):
        home = os.path.join(tmp, "home")
        os.makedirs(home)
        out = {side: os.path.join(tmp, f"big.{side}") for side in ("native", "preload")}

        def check(side):
            if not os.path.exists(out[side]):
                return "no file written"
            got = sha256_file(out[side])
            return None if got == digest else (f"{os.path.getsize(out[side])} bytes, "
                                               "sha256 differs")
        native, preload = client_pair(
            c, f"axel -n {AXEL_CONNECTIONS}",
            lambda side: [axel, "-q", "-n", str(AXEL_CONNECTIONS), "-o", out[side],
                          f"http://127.0.0.1:{port}/big.bin"],
            check, min_threads=AXEL_CONNECTIONS, env={"HOME": home})
        c.note(f"{AXEL_MIB} MiB in {AXEL_CONNECTIONS} ranges: {rate(AXEL_MIB * MIB, native)} "
               f"native, {rate(AXEL_MIB * MIB, preload)} green")
    with_apache(c, "greenrun-axel-", fill, body)


# ---- Tcl threads ----

TCL_WANT = "".join(f"worker {w}: 3525 bytes echoed; child of worker {w} | 4\n" for w in range(8)) \
    + "replies counted in tsv: 200\ntpool total: 340904864\ndone\n"


def case_tcl_thread(c):
    """tclsh running more/threads.tcl (package Thread): a socket server in the main thread,
    8 threads (thread::create) each making 25 connections to it and exec-ing a child, results
    by thread::send -async and tsv, and a tpool of 4 computing: the same output natively and
    preloaded, its 8 + 4 threads (and Tcl's notifier) green."""
    tclsh = require("tclsh", "tcl")
    if not any(os.path.exists(os.path.join(d, "pkgIndex.tcl"))
               for d in glob_thread_packages()):
        c.fail("the Tcl package Thread is not installed: install the Debian package "
               "tcl-thread (the case itself is wrong on this machine)")
        return
    native, preload = c.differential(
        "tclsh threads.tcl", [tclsh, os.path.join(HERE, "threads.tcl")],
        lambda out: None if out == TCL_WANT else diff(TCL_WANT, out, "stdout", "expected",
                                                      "native"),
        min_threads=12, timeout=30)
    if not preload.killed and preload.peak_threads >= native.peak_threads:
        c.fail(f"{preload.label}: {preload.peak_threads} OS threads at once, natively "
               f"{native.peak_threads}: its threads stayed OS threads")


def glob_thread_packages():
    found = []
    for base in ("/usr/lib/tcltk", "/usr/share/tcltk", "/usr/lib/tcltk/x86_64-linux-gnu",
                 "/usr/lib/tcltk/aarch64-linux-gnu"):
        try:
            found += [os.path.join(base, n) for n in os.listdir(base) if n.startswith("thread")]
        except OSError:
            pass
    return found


# ---- parallel bzip2: pbzip2 and lbzip2 ----

BZIP_MIB = 16


def make_text(path, mib, seed):
    """`mib` MiB of lines of words, compressible about 4:1; each MiB with its letters permuted
    afresh (so that no block repeats another)."""
    rng = random.Random(seed)
    syllables = ["ka", "to", "ri", "green", "run", "sa", "lo", "mi", "ne", "zar", "vel", "pon",
                 "dex", "ul", "fi", "bra", "tor", "mo", "xi", "an", "el", "os"]
    vocab = [("".join(rng.choices(syllables, k=rng.randint(1, 4)))) for _ in range(3000)]
    text = []
    size = 0
    while size < MIB:
        line = " ".join(rng.choices(vocab, k=10)) + f" {rng.randrange(1 << 20)}\n"
        text.append(line)
        size += len(line)
    block = "".join(text).encode()[:MIB]
    letters = b"abcdefghijklmnopqrstuvwxyz"
    with open(path, "wb") as f:
        for _ in range(mib):
            shuffled = bytearray(letters)
            rng.shuffle(shuffled)
            f.write(block.translate(bytes.maketrans(letters, bytes(shuffled))))


def bzip2_case(program, package, threads_flag, min_threads):
    """`program` compressing BZIP_MIB MiB with 4 threads, natively and preloaded: the same
    bytes (each 900 kB block is compressed on its own, so the output does not depend on
    which thread did which); then decompressing the native output with 4 threads, natively
    and preloaded: the input. min_threads None: the program ends with _exit (lbzip2), so no
    statistics table; its OS threads in /proc are checked instead."""
    def case(c):
        path = require(program, package)
        with scratch_directory(f"greenrun-{program}-") as work:
            source = os.path.join(work, "input")
            make_text(source, BZIP_MIB, seed=77)
            digest = sha256_file(source)
            outputs = {}
            steps = (("compress", [path, *threads_flag, "-c"], source),
                     ("decompress", [path, "-d", *threads_flag, "-c"],
                      os.path.join(work, "compress.native")))
            for step, argv, stdin_path in steps:
                name = " ".join([program, *threads_flag] + (["-d"] if step == "decompress"
                                                            else []))
                for side, env in (("native", c.native_env), ("preload", c.preload_env)):
                    out = os.path.join(work, f"{step}.{side}")
                    r = run(f"{name}: {side}", to_file(argv, out), env, timeout=60,
                            stdin_path=stdin_path, count_threads=True)
                    c.runs.append(r)
                    outputs[step, side] = (r, out)
                    if r.killed or r.status != 0 or r.stdout:
                        c.fail(f"{r.label}: {r.describe()}, expected exit 0 and nothing on "
                               f"stdout; stderr:\n{shorten(r.stderr)}" + wrong_case(side))
                native, preload = (outputs[step, s][0] for s in ("native", "preload"))
                if native.stderr != preload.stderr_without_stats():
                    c.fail(f"{name}: " + diff(native.stderr, preload.stderr_without_stats(),
                                              "stderr (less greenrun's statistics)"))
                if min_threads is not None:
                    c.check_green(preload, min_threads)
                if native.peak_threads < 3:
                    c.fail(f"{native.label}: at most {native.peak_threads} OS threads seen, "
                           "expected several" + wrong_case("native"))
                elif preload.peak_threads >= native.peak_threads:
                    c.fail(f"{preload.label}: {preload.peak_threads} OS threads at once, "
                           f"natively {native.peak_threads}: its threads stayed OS threads")
                if step == "compress" and sha256_file(outputs[step, "native"][1]) != \
                        sha256_file(outputs[step, "preload"][1]):
                    c.fail(f"{name}: the compressed bytes differ")
            for side in ("native", "preload"):
                out = outputs["decompress", side][1]
                if os.path.exists(out) and sha256_file(out) != digest:
                    c.fail(f"{program} -d: {side}: does not give back the input"
                           + wrong_case(side))
            size = os.path.getsize(outputs["compress", "native"][1])
            times = ", ".join(f"{step} {outputs[step, 'native'][0].seconds:.2f} / "
                              f"{outputs[step, 'preload'][0].seconds:.2f} s"
                              for step in ("compress", "decompress"))
            c.note(f"{BZIP_MIB} MiB to {size / MIB:.1f} MiB, native / green: {times}")
    return case


# pbzip2 -p4: 4 compressing threads, a reader and a writer (7 green threads created).
case_pbzip2 = bzip2_case("pbzip2", "pbzip2", ["-p4"], min_threads=5)
# lbzip2 -n 4: its worker threads and a muxer; it exits with _exit (no statistics table).
case_lbzip2 = bzip2_case("lbzip2", "lbzip2", ["-n", "4"], min_threads=None)


CASES = {
    "apache2_event": case_apache2_event,
    "unbound": case_unbound,
    "wget2_recursive": case_wget2_recursive,
    "axel": case_axel,
    "tcl_thread": case_tcl_thread,
    "pbzip2": case_pbzip2,
    "lbzip2": case_lbzip2,
}

# CPU-bound like pigz and xz (zstd stands for the family in ./scripts/test): scripts/compat runs them.
SLOW = {"pbzip2", "lbzip2"}
