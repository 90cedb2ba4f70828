"""Python's ways of talking to a child process through pipes, each with 4 MiB of varied bytes
and with one extra thread alive (so that, under greenrun, the process has green threads and
the pipes it creates are its own). Every byte must come back, in order.

usage: subprocess_pipes.py MODE
  communicate_poll    subprocess.run(['cat'], input=..., capture_output=True) and
                      Popen.communicate() on CPython's default path (selectors.PollSelector)
  communicate_select  the same with subprocess._PopenSelector forced to SelectSelector (the
                      switch between the two paths; older CPythons called it _USE_POLL)
  asyncio             asyncio.create_subprocess_exec('cat', stdin=PIPE, stdout=PIPE)
  multiprocessing     a Pool of 2 workers from the 'spawn' context returning results
Prints one line per check; exits 1 if any check failed.
"""
import asyncio
import functools
import hashlib
import multiprocessing
import random
import selectors
import subprocess
import sys
import threading

SIZE = 4 * 1024 * 1024


@functools.lru_cache(maxsize=1)
def payload():
    # Varied bytes (every value, no period a short read could hide), the same on every run.
    return random.Random(20240610).randbytes(SIZE)


def verdict(what, got, want):
    same = got == want
    detail = ""
    if not same:
        first = next((i for i, (a, b) in enumerate(zip(got, want)) if a != b),
                     min(len(got), len(want)))
        detail = f" (first difference at byte {first})"
    print(f"{what}: {len(got)} of {len(want)} bytes back, identical: {same}{detail}")
    return same


class CountingSelector:
    """Wraps the selector class subprocess uses, to show which path communicate() took."""

    def __init__(self, cls):
        self.cls, self.used = cls, 0

    def __call__(self, *args, **kwargs):
        self.used += 1
        return self.cls(*args, **kwargs)


def communicate(selector_class):
    counter = CountingSelector(selector_class)
    subprocess._PopenSelector = counter
    data = payload()
    ok = True
    done = subprocess.run(["cat"], input=data, capture_output=True, timeout=30)
    ok &= verdict("subprocess.run(['cat'], input=4 MiB)", done.stdout, data)
    print(f"  cat exit status {done.returncode}, stderr {done.stderr!r}")
    ok &= done.returncode == 0 and done.stderr == b""
    with subprocess.Popen(["cat"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE) as child:
        out, err = child.communicate(data, timeout=30)
    ok &= verdict("Popen(['cat']).communicate(4 MiB)", out, data)
    print(f"  cat exit status {child.returncode}, stderr {err!r}")
    ok &= child.returncode == 0 and err == b""
    print(f"communicate used {selector_class.__name__}: {counter.used == 2}")
    ok &= counter.used == 2
    return ok


async def through_asyncio_cat(data):
    child = await asyncio.create_subprocess_exec("cat", stdin=asyncio.subprocess.PIPE,
                                                 stdout=asyncio.subprocess.PIPE)
    out, _ = await asyncio.wait_for(child.communicate(data), 30)
    return out, child.returncode


def asyncio_pipes():
    data = payload()
    out, status = asyncio.run(through_asyncio_cat(data))
    ok = verdict("asyncio cat, 4 MiB", out, data)
    print(f"  cat exit status {status}")
    return ok and status == 0


def digest_of_block(k):
    # Runs in a spawned worker: a result that depends on the argument and the payload.
    return k, hashlib.sha256(payload()[k * 4096:(k + 1) * 4096]).hexdigest()


def spawned_workers():
    data = payload()
    want = [(k, hashlib.sha256(data[k * 4096:(k + 1) * 4096]).hexdigest()) for k in range(64)]
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        # Bounded: a Pool replaces workers that die, so a broken worker start would loop.
        try:
            got = pool.map_async(digest_of_block, range(64), chunksize=4).get(timeout=8)
        except multiprocessing.TimeoutError:
            print("spawned Pool(2): no results within 8 s")
            pool.terminate()
            return False
        pool.close()
        pool.join()
    same = got == want
    print(f"spawned Pool(2): {len(got)} of 64 results, identical: {same}")
    return same


MODES = {
    "communicate_poll": lambda: communicate(selectors.PollSelector),
    "communicate_select": lambda: communicate(selectors.SelectSelector),
    "asyncio": asyncio_pipes,
    "multiprocessing": spawned_workers,
}


def main():
    if len(sys.argv) != 2 or sys.argv[1] not in MODES:
        sys.exit(f"usage: subprocess_pipes.py {'|'.join(MODES)}")
    # One extra thread, alive throughout.
    stop = threading.Event()
    extra = threading.Thread(target=stop.wait, name="extra")
    extra.start()
    try:
        ok = MODES[sys.argv[1]]()
    finally:
        stop.set()
        extra.join()
    print("all bytes back" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
