"""8 threads, all alive at once, report threading.get_native_id(): prints how many distinct
ids they had, whether any equals os.getpid(), and whether main's equals os.getpid()."""
import os
import threading

THREADS = 8
ids = []
lock = threading.Lock()
all_alive = threading.Barrier(THREADS)


def work():
    all_alive.wait()
    with lock:
        ids.append(threading.get_native_id())
    all_alive.wait()


threads = [threading.Thread(target=work) for _ in range(THREADS)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print(f"distinct native ids among {THREADS} threads: {len(set(ids))}")
print(f"a thread's native id equals os.getpid(): {os.getpid() in ids}")
print(f"main's native id equals os.getpid(): {threading.get_native_id() == os.getpid()}")
