"""Threads, sockets and subprocesses in one Python process (tests/compat/cases/languages.py).

A TCP server on 127.0.0.1 (an ephemeral port) accepts CLIENTS connections in its own thread and
serves each in a thread of its own; CLIENTS client threads each send MESSAGES requests of varied
sizes on one connection and check every reply; CHILDREN threads each run `sort -n` through
pipes on a permutation of 0..N-1 (more than a pipe buffer each way) and check its output. A
Condition holds every client and child thread at a start gate until all exist; results come
back through queue.Queue. Prints a deterministic summary (the same as workload.rb and
workload.pl print), then one "timing:" line that the case leaves out of the comparison.
Exit status 0 when every check passed, 1 otherwise."""
import hashlib
import queue
import socket
import subprocess
import sys
import threading
import time

CLIENTS = 32
MESSAGES = 50
CHILDREN = 8
ALPHABET = "abcdefghijklmnopqrstuvwxyz" * 120


def payload(k, i):
    n = (k * 7919 + i * 104729) % 3000 + 1
    start = (k + i) % 26
    return ALPHABET[start:start + n]


def reply_for(line):
    # "K I PAYLOAD" -> "K I LENGTH DAOLYAP"
    k, i, text = line.split(" ", 2)
    return f"{k} {i} {len(text)} {text[::-1]}"


def serve(conn, served):
    count = 0
    with conn, conn.makefile("rw", encoding="ascii", newline="\n") as f:
        for line in f:
            line = line.rstrip("\n")
            if line == "bye":
                f.write(f"served {count}\n")
                f.flush()
                break
            f.write(reply_for(line) + "\n")
            f.flush()
            count += 1
    served.put(count)


def acceptor(listener, served, handlers):
    for _ in range(CLIENTS):
        conn, _ = listener.accept()
        t = threading.Thread(target=serve, args=(conn, served), name="handler")
        t.start()
        handlers.put(t)
    listener.close()


class Gate:
    """Every worker waits at the gate until `expected` workers have arrived and main opens it."""

    def __init__(self, expected):
        self.cond = threading.Condition()
        self.arrived, self.expected, self.open = 0, expected, False

    def arrive_and_wait(self):
        with self.cond:
            self.arrived += 1
            self.cond.notify_all()
            self.cond.wait_for(lambda: self.open)

    def open_when_all_arrived(self):
        with self.cond:
            self.cond.wait_for(lambda: self.arrived == self.expected)
            self.open = True
            self.cond.notify_all()


def client(k, port, gate, results):
    gate.arrive_and_wait()
    digest = hashlib.sha256()
    good, back = True, 0
    with socket.create_connection(("127.0.0.1", port)) as s, \
            s.makefile("rw", encoding="ascii", newline="\n") as f:
        for i in range(MESSAGES):
            text = payload(k, i)
            f.write(f"{k} {i} {text}\n")
            f.flush()
            got = f.readline()
            back += len(got)
            digest.update(got.encode())
            good &= got == f"{k} {i} {len(text)} {text[::-1]}\n"
        f.write("bye\n")
        f.flush()
        good &= f.readline() == f"served {MESSAGES}\n"
        good &= f.readline() == ""  # the server closed the connection
    results.put((k, good, back, digest.hexdigest()))


def child(j, gate, results):
    gate.arrive_and_wait()
    n = 20000 + 1000 * j
    data = "".join(f"{(i * 7919 + j * 104729) % n}\n" for i in range(n)).encode()
    with subprocess.Popen(["sort", "-n"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE) as p:
        out, err = p.communicate(data)
    want = "".join(f"{i}\n" for i in range(n)).encode()
    results.put((j, out == want and err == b"", n, p.returncode))


def main():
    started = time.monotonic()
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(CLIENTS)
    port = listener.getsockname()[1]
    served, handlers = queue.Queue(), queue.Queue()
    accepting = threading.Thread(target=acceptor, args=(listener, served, handlers),
                                 name="acceptor")
    accepting.start()

    gate = Gate(CLIENTS + CHILDREN)
    client_results, child_results = queue.Queue(), queue.Queue()
    workers = [threading.Thread(target=client, args=(k, port, gate, client_results))
               for k in range(CLIENTS)]
    workers += [threading.Thread(target=child, args=(j, gate, child_results))
                for j in range(CHILDREN)]
    for t in workers:
        t.start()
    gate.open_when_all_arrived()
    opened = time.monotonic()
    for t in workers:
        t.join()
    accepting.join()
    for _ in range(CLIENTS):
        handlers.get().join()
    finished = time.monotonic()

    counts = sorted(served.get() for _ in range(CLIENTS))
    clients = sorted(client_results.get() for _ in range(CLIENTS))
    children = sorted(child_results.get() for _ in range(CHILDREN))
    combined = hashlib.sha256("".join(d for _, _, _, d in clients).encode()).hexdigest()
    clients_ok = sum(good for _, good, _, _ in clients)
    children_ok = sum(good for _, good, _, _ in children)
    statuses = sorted({status for _, _, _, status in children})
    print(f"server: {len(counts)} connections, {sum(counts)} requests served, "
          f"each served {counts[0]}..{counts[-1]}")
    print(f"clients: {clients_ok} of {CLIENTS} got every reply right, "
          f"{sum(b for _, _, b, _ in clients)} bytes back")
    print(f"replies sha256: {combined}")
    print(f"children: {children_ok} of {CHILDREN} sort -n outputs right, "
          f"{sum(n for _, _, n, _ in children)} lines, exit statuses {statuses}")
    print(f"timing: {opened - started:.3f} s to the gate, {finished - opened:.3f} s of work, "
          f"{CLIENTS * MESSAGES / (finished - opened):.0f} round trips/s")
    ok = (clients_ok == CLIENTS and children_ok == CHILDREN and counts == [MESSAGES] * CLIENTS
          and statuses == [0])
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
