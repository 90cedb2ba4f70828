#!/usr/bin/env python3
"""greenrun --workers N runs N copies of a server that all listen on one port (the preload adds
SO_REUSEPORT at their bind), and supervises them:
- demos/http_server, 2 copies: each holds a listening socket of its own on the port, and
  connections land in both (their accepted sockets, seen in /proc); SIGTERM to the launcher
  ends both, and the launcher dies of SIGTERM as they did, without a word.
- workers_server.c, which answers with its pid: both pids answer; SIGUSR1 reaches both; a copy
  that exits 3 makes the launcher stop the other and exit 3, with one line; one that aborts
  makes it die of SIGABRT; a copy that ignores SIGTERM is killed after the grace period; copies
  that end with status 0 on SIGTERM leave the launcher's status 0.
- a bad --workers value is refused in one line, exit status 2, nothing run; auto is one copy
  per online CPU.
- reuseport_option.c "added": SO_REUSEPORT reads 0 though the kernel has it; the program's own
  setting reads back; UDP, port 0 and the programs a copy execs are left alone.
Usage: workers_checks.py LAUNCHER LIBGREENRUN HTTP_SERVER WORKERS_SERVER REUSEPORT_OPTION"""
import os
import re
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import time

failures = []


def fail(text):
    failures.append(text)
    print("FAIL " + text, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def no_core_dumps():
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def children(pid):
    """The processes whose parent is `pid`."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    stat = f.read()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry))
    return sorted(found)


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def sockets_on(port, state):
    """Inodes of the TCP sockets whose local port is `port`, in `state` (0A listen, 01
    established)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = open(table).read().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if int(fields[1].split(":")[1], 16) == port and fields[3] == state:
                inodes.add(int(fields[9]))
    return inodes


def socket_inodes(pid):
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        m = re.fullmatch(r"socket:\[(\d+)\]", target)
        if m:
            inodes.add(int(m.group(1)))
    return inodes


def ask(port, line, timeout=10):
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(line.encode() + b"\n")
        reply = b""
        while chunk := s.recv(256):
            reply += chunk
    return reply.decode()


class Launched:
    """The launcher with its arguments, its stdout and stderr in files."""

    def __init__(self, launcher, env, argv, copies, port):
        self.out = tempfile.TemporaryFile("w+")
        self.err = tempfile.TemporaryFile("w+")
        self.started = time.monotonic()
        self.process = subprocess.Popen([launcher] + argv, env=env, stdin=subprocess.DEVNULL,
                                        stdout=self.out, stderr=self.err,
                                        preexec_fn=no_core_dumps)
        self.what = " ".join(argv)
        self.copies = []
        deadline = time.monotonic() + 15
        want = f"listening on {port}\n" * copies
        while time.monotonic() < deadline and self.stdout() != want:
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        self.copies = children(self.process.pid)
        if self.stdout() != want or len(self.copies) != copies:
            fail(f"greenrun {self.what}: {len(self.copies)} copies, stdout {self.stdout()!r}, "
                 f"stderr {self.stderr()!r}, status {self.process.poll()}")

    def stdout(self):
        self.out.seek(0)
        return self.out.read()

    def stderr(self):
        self.err.seek(0)
        return self.err.read()

    def wait(self, timeout=20):
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            fail(f"greenrun {self.what} did not end within {timeout} s")
            self.process.kill()
            for pid in self.copies:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            return self.process.wait()

    def expect_end(self, status, stderr_pattern, timeout=20):
        got = self.wait(timeout)
        err = self.stderr()
        if got != status:
            fail(f"greenrun {self.what}: status {got}, wanted {status}; stderr {err!r}")
        if stderr_pattern == "" and err:
            fail(f"greenrun {self.what}: stderr {err!r}, wanted nothing")
        elif stderr_pattern and not re.fullmatch(stderr_pattern, err):
            fail(f"greenrun {self.what}: stderr {err!r}, wanted {stderr_pattern!r}")
        left = [pid for pid in self.copies if alive(pid)]
        if left:
            fail(f"greenrun {self.what}: copies {left} still run after the launcher ended")


def check_http_server(launcher, env, http_server):
    port = free_port()
    w = Launched(launcher, env, ["--workers", "2", http_server, "-p", str(port)], 2, port)
    if len(w.copies) == 2:
        # Each copy listens on the port with a socket of its own (the kernel's reuseport group).
        listening = sockets_on(port, "0A")
        held = [socket_inodes(pid) & listening for pid in w.copies]
        if len(listening) != 2 or any(len(h) != 1 for h in held) or held[0] == held[1]:
            fail(f"listening sockets on {port}: {listening}; held by the copies: {held}")
        # Open connections, each answered, and see which copy holds the accepted end of each.
        connections = []
        for _ in range(60):
            c = socket.create_connection(("127.0.0.1", port), timeout=10)
            c.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            reply = b""
            while b"Hello, World!" not in reply:
                chunk = c.recv(1024)
                if not chunk:
                    break
                reply += chunk
            if b"Hello, World!" not in reply:
                fail(f"http_server under --workers 2: reply {reply!r}")
                break
            connections.append(c)
        established = sockets_on(port, "01")
        served = [len(socket_inodes(pid) & established) for pid in w.copies]
        print(f"http_server --workers 2: {len(connections)} connections, held by the copies "
              f"{dict(zip(w.copies, served))}")
        if sum(served) != len(connections) or min(served) == 0:
            fail(f"connections did not land in both copies: {dict(zip(w.copies, served))} of "
                 f"{len(connections)}")
        for c in connections:
            c.close()
    # SIGTERM to the launcher stops both; it dies of SIGTERM as they did, silently.
    w.process.send_signal(signal.SIGTERM)
    w.expect_end(-signal.SIGTERM, "")


def check_workers_server(launcher, env, server):
    port = free_port()
    w = Launched(launcher, env, ["--workers", "2", server, str(port)], 2, port)
    pids = set()
    for _ in range(100):
        m = re.fullmatch(r"pid (\d+) usr1 0\n", ask(port, "pid"))
        if m:
            pids.add(int(m.group(1)))
    print(f"workers_server --workers 2: answers from {sorted(pids)}, copies {w.copies}")
    if pids != set(w.copies):
        fail(f"answers came from {sorted(pids)}, the copies are {w.copies}")
    # SIGUSR1 to the launcher reaches every copy.
    w.process.send_signal(signal.SIGUSR1)
    seen = set()
    deadline = time.monotonic() + 10
    while seen != set(w.copies) and time.monotonic() < deadline:
        m = re.fullmatch(r"pid (\d+) usr1 (\d+)\n", ask(port, "pid"))
        if m and m.group(2) == "1":
            seen.add(int(m.group(1)))
    if seen != set(w.copies):
        fail(f"SIGUSR1 forwarded: copies that counted it {sorted(seen)} of {w.copies}")
    # One copy exits 3: the launcher stops the other and exits 3, with one line.
    reply = ask(port, "exit 3")
    m = re.fullmatch(r"pid (\d+) exits 3\n", reply)
    pid = m.group(1) if m else "?"
    w.expect_end(3, rf"greenrun: worker [12] \(pid {pid}\) exited with status 3; stopping the "
                 r"others\n")

    port = free_port()
    w = Launched(launcher, env, ["--workers", "2", server, str(port)], 2, port)
    m = re.fullmatch(r"pid (\d+) aborts\n", ask(port, "abort"))
    pid = m.group(1) if m else "?"
    w.expect_end(-signal.SIGABRT,
                 rf"greenrun: worker [12] \(pid {pid}\) was killed by SIGABRT; stopping the "
                 r"others\n")

    # Copies that end with status 0 on SIGTERM: the launcher's status is 0.
    port = free_port()
    w = Launched(launcher, env, ["--workers", "2", server, str(port), "term-exits-0"], 2, port)
    w.process.send_signal(signal.SIGTERM)
    w.expect_end(0, "")

    # A copy that ignores SIGTERM is killed after the grace period.
    port = free_port()
    w = Launched(launcher, env, ["--workers", "2", server, str(port), "ignore-term"], 2, port)
    m = re.fullmatch(r"pid (\d+) exits 3\n", ask(port, "exit 3"))
    pid = m.group(1) if m else "?"
    w.expect_end(3, rf"greenrun: worker [12] \(pid {pid}\) exited with status 3; stopping the "
                 r"others\ngreenrun: worker [12] \(pid (?!" + pid + r"\))\d+\) still runs 5 s "
                 r"after SIGTERM; killing it\n", timeout=30)
    took = time.monotonic() - w.started
    if took < 5:
        fail(f"the copy that ignores SIGTERM was killed after {took:.1f} s, before the grace "
             "period of 5 s")


def run(argv, env, timeout=30):
    r = subprocess.run(argv, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                       timeout=timeout)
    return r.returncode, r.stdout, r.stderr


def check_values(launcher, env):
    for value in ["0", "x", "1025", "", "-1", "2x"]:
        status, out, err = run([launcher, "--workers", value, "sh", "-c", "echo ran"], env)
        want = (rf"greenrun: --workers {re.escape(value)} is not a number of copies from 1 to "
                r"1024, or auto \(one per online CPU\), e\.g\. --workers 4\n")
        if status != 2 or out or not re.fullmatch(want, err):
            fail(f"--workers {value!r}: status {status}, stdout {out!r}, stderr {err!r}")
    status, out, err = run([launcher, "--workers=auto", "sh", "-c", "echo $GREENRUN_REUSEPORT"],
                           env)
    cpus = os.sysconf("SC_NPROCESSORS_ONLN")
    if status != 0 or out != "1\n" * cpus or err:
        fail(f"--workers=auto: status {status}, stdout {out!r} (wanted {cpus} lines), "
             f"stderr {err!r}")
    status, out, err = run([launcher, "--workers", "3", "sh", "-c", "exit 0"], env)
    if (status, out, err) != (0, "", ""):
        fail(f"--workers 3 of a program that exits 0: status {status}, {out!r}, {err!r}")
    status, out, err = run([launcher, "--workers", "2", "no-such-program-greenrun"], env)
    if (status, out, err) != (127, "", "greenrun: no-such-program-greenrun: command not found\n"):
        fail(f"--workers 2 of a missing program: status {status}, {out!r}, {err!r}")


ADDED = """bind: 0
SO_REUSEPORT after bind: 0
SO_REUSEPORT of a dup: 0
a second socket with SO_REUSEPORT binds the port: 0
another process with SO_REUSEPORT binds the port: 0
after the program sets 1: 1
after the program sets 0: 0
udp bind: 0
udp: a second socket with SO_REUSEPORT binds the port: EADDRINUSE
port 0 bind: 0
port 0: a second socket with SO_REUSEPORT binds its port: EADDRINUSE
forked child bind: 0
forked child: a second socket with SO_REUSEPORT binds the port: 0
exec'd child bind: 0
exec'd child: a second socket with SO_REUSEPORT binds the port: EADDRINUSE
"""


def check_reuseport_option(launcher, lib, env, program):
    status, out, err = run([launcher, "--workers", "1", program, "added"], env)
    if (status, out, err) != (0, ADDED, ""):
        fail(f"--workers 1 reuseport_option added: status {status}, stderr {err!r}, stdout:\n"
             f"{out}wanted:\n{ADDED}")
    # The preload checks GREENRUN_REUSEPORT as it checks every setting: one line, status 2.
    for value in ["yes", "2"]:
        status, out, err = run([program], dict(env, LD_PRELOAD=lib, GREENRUN_REUSEPORT=value))
        if status != 2 or out or not re.fullmatch(
                rf"greenrun: GREENRUN_REUSEPORT={value} is not 0 or 1: .*\n", err):
            fail(f"the preload with GREENRUN_REUSEPORT={value}: status {status}, stdout {out!r}, "
                 f"stderr {err!r}")


def main():
    launcher, lib, http_server, server, option_program = map(os.path.abspath, sys.argv[1:6])
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("GREENRUN_") and k != "LD_PRELOAD"}
    env["GREENRUN_LIBRARY"] = lib
    check_values(launcher, env)
    check_reuseport_option(launcher, lib, env, option_program)
    check_http_server(launcher, env, http_server)
    check_workers_server(launcher, env, server)
    print("ok" if not failures else f"{len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
