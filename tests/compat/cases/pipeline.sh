#!/bin/bash
# A shell script that starts several multithreaded programs, run as a whole natively and under
# greenrun by the case "pipeline" (tests/compat/cases/tools.py): under greenrun every process it
# starts inherits LD_PRELOAD, so each of them runs its threads as green threads of its own.
# It prints checksums only, the same on every run:
#   data SHA256 LINES                      the generated input
#   sort|pigz|pigz -d SHA256               sort --parallel=2 | pigz -p 2 | pigz -d
#   xz -T2 round trip SHA256               xz -T2 | xz -d -T2, in the background
#   zstd -T2 round trip SHA256             zstd -T2 | zstd -d, in the background
#   python threads CHUNK-SHA256...         4 Python threads hashing 8 chunks from a queue
# usage: pipeline.sh DIRECTORY (an empty scratch directory). DIRECTORY/pids gets one line per
# multithreaded process, "PID NAME", so that the case can tell whose GREENRUN_STATS file
# (GREENRUN_STATS=DIR/%p) is whose.
set -euo pipefail
dir=$1
export LC_ALL=C.UTF-8
pids=$dir/pids
: > "$pids"

# Replaces the calling subshell (a pipeline's element, a background job, a "( ... )") with the
# program "$2..." after writing its process id and name "$1" to $pids: exec keeps the id.
as() {
  echo "$BASHPID $1" >> "$pids"
  shift
  exec "$@"
}

# 1,000,000 lines (about 17 MB): a multiplicative hash of the line number, and the number.
seq 1 1000000 | awk '{ printf "%08x %d\n", ($1 * 2654435761) % 4294967296, $1 }' > "$dir/data"
read -r data_sum _ < <(sha256sum < "$dir/data")
echo "data $data_sum $(wc -l < "$dir/data")"

# Two round trips in the background while the sort pipeline runs in the foreground.
{ as "xz -T2" xz -T2 -1 --block-size=1MiB -c "$dir/data" | as "xz -d -T2" xz -d -T2 \
    | sha256sum > "$dir/xz.sum"; } &
xz_job=$!
{ as "zstd -T2" zstd -T2 -q -c "$dir/data" | as "zstd -d" zstd -d -q \
    | sha256sum > "$dir/zstd.sum"; } &
zstd_job=$!

as "sort --parallel=2" sort --parallel=2 -S 16M -T "$dir" "$dir/data" \
  | as "pigz -p 2" pigz -p 2 -n | as "pigz -d" pigz -d | sha256sum > "$dir/sorted.sum"
read -r sum _ < "$dir/sorted.sum"
echo "sort|pigz|pigz -d $sum"

# Python's threads: 4 workers take 8 chunks of the data from a queue and hash them (hashlib
# lets go of the GIL while it hashes); the main thread waits for them on a condition.
(as "python3 threads" /usr/bin/python3 -c '
import hashlib, queue, sys, threading
data = open(sys.argv[1], "rb").read()
step = -(-len(data) // 8)
chunks = queue.Queue()
for k in range(8):
    chunks.put((k, data[k * step:(k + 1) * step]))
done = {}
cond = threading.Condition()
def worker():
    while True:
        try:
            k, chunk = chunks.get_nowait()
        except queue.Empty:
            return
        digest = hashlib.sha256(chunk).hexdigest()
        with cond:
            done[k] = digest
            cond.notify()
threads = [threading.Thread(target=worker) for _ in range(4)]
for t in threads:
    t.start()
with cond:
    cond.wait_for(lambda: len(done) == 8)
for t in threads:
    t.join()
print("python threads " + " ".join(done[k][:16] for k in range(8)))
' "$dir/data")

wait "$xz_job"
wait "$zstd_job"
read -r sum _ < "$dir/xz.sum"
echo "xz -T2 round trip $sum"
read -r sum _ < "$dir/zstd.sum"
echo "zstd -T2 round trip $sum"
