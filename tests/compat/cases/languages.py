"""Language runtimes whose threads become green threads (issue 12): Python, Ruby and Perl
(ithreads), each running one workload of its own language in one process (languages/workload.*):
a TCP server thread on 127.0.0.1 with a thread per connection, 32 client threads each making 50
request/response round trips of 1 to 3,000 bytes and checking every reply, and 8 threads each
running `sort -n` through pipes on 20,000 to 27,000 lines (more than a pipe buffer each way),
all held at a start gate (the language's condition variable) until every one exists, results
gathered through the language's queues. The three print the same summary; it must equal what
this file computes, natively and under greenrun, with the same exit status and stderr. Each
case notes the workload's own round-trip rate (its "timing:" line, left out of the
comparison), natively and green."""
import hashlib
import os
import re

from compat_kit import *  # noqa: F401,F403  (Case, require, diff, ...)

WORKLOADS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "languages")
CLIENTS, MESSAGES, CHILDREN = 32, 50, 8
# The threads each workload starts itself: the acceptor, a handler per connection, the clients
# and the children's threads.
OWN_THREADS = 1 + CLIENTS + CLIENTS + CHILDREN
TIMING = re.compile(r"^timing: ([0-9.]+) s to the gate, ([0-9.]+) s of work, ([0-9]+) round "
                    r"trips/s$", re.M)


def expected_summary():
    """What every workload prints (less its timing line), from the same formulas."""
    alphabet = "abcdefghijklmnopqrstuvwxyz" * 120
    digests, back = [], 0
    for k in range(CLIENTS):
        h = hashlib.sha256()
        for i in range(MESSAGES):
            n = (k * 7919 + i * 104729) % 3000 + 1
            text = alphabet[(k + i) % 26:(k + i) % 26 + n]
            reply = f"{k} {i} {len(text)} {text[::-1]}\n".encode()
            back += len(reply)
            h.update(reply)
        digests.append(h.hexdigest())
    lines = sum(20000 + 1000 * j for j in range(CHILDREN))
    return (f"server: {CLIENTS} connections, {CLIENTS * MESSAGES} requests served, "
            f"each served {MESSAGES}..{MESSAGES}\n"
            f"clients: {CLIENTS} of {CLIENTS} got every reply right, {back} bytes back\n"
            f"replies sha256: {hashlib.sha256(''.join(digests).encode()).hexdigest()}\n"
            f"children: {CHILDREN} of {CHILDREN} sort -n outputs right, {lines} lines, "
            f"exit statuses [0]\n")


def without_timing(text):
    return "".join(line for line in text.splitlines(True) if not line.startswith("timing: "))


def workload_case(language, argv, min_threads):
    def case(c):
        require("sort", "coreutils")
        want = expected_summary()

        def expect(got):
            if got == want:
                return None
            return diff(want, got, "stdout", "expected", "native")

        runs = c.differential(f"{language} threads, sockets, subprocesses", argv, expect,
                              min_threads=min_threads, timeout=20, normalise=without_timing)
        rates = []
        for r in runs:
            m = TIMING.findall(r.stdout)
            if len(m) != 1:
                c.fail(f"{r.label}: {len(m)} 'timing:' lines on stdout, wanted one")
                return
            rates.append((float(m[0][1]), int(m[0][2])))
        (native_s, native_rate), (green_s, green_rate) = rates
        c.note(f"{CLIENTS * MESSAGES} round trips + {CHILDREN} sort children: "
               f"{native_rate}/s native ({native_s:.2f} s), {green_rate}/s green "
               f"({green_s:.2f} s)")
    return case


def debian_python():
    # Debian's interpreter, not whatever python3 comes first on PATH (a pyenv shim is a script).
    return "/usr/bin/python3" if os.access("/usr/bin/python3", os.X_OK) else require(
        "python3", "python3")


def case_python(c):
    workload_case("python", [debian_python(), "-I", os.path.join(WORKLOADS, "workload.py")],
                  OWN_THREADS)(c)


def case_ruby(c):
    # Open3.capture3 starts three more per child (two readers and Process.detach's waiter), but
    # Ruby may run a new thread on a finished one's OS thread, so only its own are counted.
    workload_case("ruby", [require("ruby", "ruby"), os.path.join(WORKLOADS, "workload.rb")],
                  OWN_THREADS)(c)


def case_perl(c):
    # And a writer thread per child, feeding sort's stdin. What Perl does that the others do
    # not: threads.xs blocks every signal around pthread_create, and its pthread_atfork
    # handlers lock PL_perlio_mutex before fork and unlock it in the child, where other threads
    # may have been waiting for it.
    workload_case("perl", [require("perl", "perl"), os.path.join(WORKLOADS, "workload.pl")],
                  OWN_THREADS + CHILDREN)(c)


CASES = {
    "lang_python": case_python,
    "lang_ruby": case_ruby,
    "lang_perl": case_perl,
}
SLOW = set()
