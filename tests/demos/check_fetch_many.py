#!/usr/bin/env python3
"""check_fetch_many.py LAUNCHER FETCH_MANY SLOW_SERVER: under greenrun, fetch_many fetches 200
URLs from slow_server (200 ms per reply) with one pthread each, and must get every reply right,
take less than 3 x 200 ms (the waits overlap), and run its threads on one OS thread: besides
greenrun's name-lookup pool (greenrun-pool, where getaddrinfo runs), at most 3 OS threads (the
program's, greenrun's spare loop thread and its preemption monitor), at the peak and at the end."""
import re
import signal
import subprocess
import sys

launcher, fetch_many, slow_server = sys.argv[1:4]
N, DELAY_MS = 200, 200

server = subprocess.Popen([launcher, slow_server, "-d", str(DELAY_MS)], stdout=subprocess.PIPE,
                          text=True)
try:
    line = server.stdout.readline()
    port = re.match(r"listening on (\d+)", line)
    if not port:
        sys.exit(f"FAIL: slow_server printed {line!r}, not 'listening on PORT'")
    done = subprocess.run([launcher, fetch_many, "-p", port[1], "-n", str(N)],
                          capture_output=True, text=True, timeout=30)
finally:
    server.send_signal(signal.SIGTERM)
    server.wait()
print(done.stdout, end="")
print(done.stderr, end="", file=sys.stderr)

summary = re.search(r"^fetched (\d+)/(\d+) OK in ([\d.]+) s wall; peak (\d+) OS threads",
                    done.stdout, re.M)
names = re.search(r"^OS threads at the end, by name: (.*)$", done.stdout, re.M)
if not summary or not names:
    sys.exit(f"FAIL: no report from fetch_many (exit status {done.returncode})")
ok, wall, peak = int(summary[1]), float(summary[3]), int(summary[4])
left = {name: int(count) for count, name in re.findall(r"(\d+) ([^,]+)", names[1])}
pool = left.get("greenrun-pool", 0)
others = sum(left.values()) - pool
problems = []
if done.returncode != 0 or ok != N:
    problems.append(f"{ok} of {N} fetched right (exit status {done.returncode})")
if wall >= 3 * DELAY_MS / 1000:
    problems.append(f"{wall:.3f} s wall, not under 3 x {DELAY_MS} ms: the waits did not overlap")
# greenrun-pool threads never exit, so the pool at the end is at least the pool at the peak.
if peak - pool > 3 or others > 3:
    problems.append(f"peak {peak} OS threads with {pool} greenrun-pool threads, and at the end "
                    f"{names[1]}: more than 3 OS threads besides the pool")
for problem in problems:
    print("FAIL:", problem)
if not problems:
    print(f"ok: {N} fetched in {wall:.3f} s; peak {peak} OS threads, of which {pool} greenrun-pool")
sys.exit(1 if problems else 0)
