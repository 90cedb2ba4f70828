"""CPU-bound multithreaded tools from Debian, run natively and under greenrun on the same input,
whose output must be the same bytes: pigz -p 4, zstd -T4, xz -T4, sort --parallel=4 and
msgmerge (gettext), whose fuzzy matching is an OpenMP loop (libgomp). Then "pipeline": a bash
script (pipeline.sh) that starts several of them in pipelines and in the background, run as a
whole, so that every process it starts inherits the preload; each multithreaded one must have
had green threads of its own.

Under greenrun all the threads of a process share one OS thread (besides a hand-off of the loop
while one sits in a system call), so a CPU-bound tool that keeps 2 cores busy natively takes
about twice as long: that is expected, and the cases record both wall times (c.note and the
results table) rather than fail on them.

Every input is generated, the same on every run, in /dev/shm where it is writable."""
import glob
import hashlib
import itertools
import os
import random
import re
import string
import subprocess
import tempfile

from compat_kit import *  # noqa: F401,F403  (Case, run, require, diff, ...)

HERE = os.path.dirname(os.path.abspath(__file__))
MIB = 1 << 20
HAND_OFFS = re.compile(r"^  hand-offs +(\d+) ", re.M)


def scratch_directory(prefix):
    """In memory where /dev/shm is writable: the inputs are tens of MiB, written and read by
    every run."""
    base = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None
    return tempfile.TemporaryDirectory(prefix=prefix, dir=base)


def make_text(path, mib, seed):
    """`mib` MiB of text, compressible about 3:1 but not trivially: lines of ten words (a Zipf
    choice among 4,000 made-up ones) and a number. One 5 MiB block is written again and again,
    each time with its letters and its digits permuted afresh, so no compressor finds the
    earlier copies (not even xz's and zstd's windows of several MiB)."""
    rng = random.Random(seed)
    syllables = ["ka", "to", "ri", "green", "run", "sa", "lo", "mi", "ne", "qu", "zar", "vel",
                 "pon", "dex", "ul", "fi", "bra", "tor", "mo", "xi", "an", "el", "os", "ith"]
    vocab = ["".join(rng.choice(syllables) for _ in range(rng.randint(1, 4)))
             for _ in range(4000)]
    weights = list(itertools.accumulate(1 / (i + 1) for i in range(len(vocab))))
    words = rng.choices(vocab, cum_weights=weights, k=600_000)
    numbers = rng.choices(range(1 << 20), k=60_000)
    block = "".join(" ".join(words[i * 10:i * 10 + 10]) + f" {numbers[i]}\n"
                    for i in range(60_000)).encode()
    plain = (string.ascii_lowercase + string.digits).encode()
    size, written = mib * MIB, 0
    with open(path, "wb") as f:
        while written < size:
            letters, digits = bytearray(plain[:26]), bytearray(plain[26:])
            rng.shuffle(letters)
            rng.shuffle(digits)
            chunk = block.translate(bytes.maketrans(plain, bytes(letters + digits)))
            chunk = chunk[:size - written]
            f.write(chunk)
            written += len(chunk)



def stats_tables(directory):
    """{pid: the statistics table} of every file GREENRUN_STATS=DIRECTORY/%p wrote."""
    tables = {}
    for path in glob.glob(os.path.join(directory, "*")):
        with open(path) as f:
            tables[int(os.path.basename(path))] = f.read()
    return tables


def threads_created(table):
    m = THREADS_CREATED.search(table or "")
    return int(m.group(1)) if m else None


def to_file(argv, out):
    """argv with its stdout to the file `out`: a shell that execs the tool (the same process,
    so its threads are counted in /proc and its statistics are its own)."""
    return ["/bin/sh", "-c", 'out=$1; shift; exec "$@" > "$out"', "sh", out] + argv


def tool_pair(c, name, argv, work, min_threads, env=None, stats_to_file=False, timeout=60):
    """Runs `argv`, a tool that writes its result on stdout, natively and preloaded, each with
    its stdout to a file of its own (compat_kit.run keeps only text); `env` is added to both.
    Both must exit 0, print nothing on stdout, the same on stderr, and write the same bytes;
    the preloaded run's greenrun statistics must count at least `min_threads` threads.
    `stats_to_file`: the tool closes its stderr before it exits (xz's tuklib_exit, to report a
    failed write), so the statistics go to a file, whose table is then added to the Run's
    stderr for the results table. Returns (native Run, preload Run, native output path,
    preload output path)."""
    extra = env or {}
    outputs = {side: os.path.join(work, f"{name.split()[0]}.{side}.out")
               for side in ("native", "preload")}
    native = run(f"{name}: native", to_file(argv, outputs["native"]),
                 dict(c.native_env, **extra), timeout, count_threads=True)
    preload_env = dict(c.preload_env, **extra)
    stats_dir = os.path.join(work, "stats")
    if stats_to_file:
        os.makedirs(stats_dir, exist_ok=True)
        preload_env["GREENRUN_STATS"] = os.path.join(stats_dir, "%p")
    preload = run(f"{name}: preload", to_file(argv, outputs["preload"]), preload_env, timeout,
                  count_threads=True)
    c.runs += [native, preload]
    for r in (native, preload):
        if r.killed or r.status != 0:
            c.fail(f"{r.label}: {r.describe()}, expected exit 0"
                   + (" (the case itself is wrong on this machine)" if r is native else ""))
    if native.stdout or preload.stdout:
        c.fail(f"{name}: something on stdout, which went to a file: "
               f"natively {native.stdout[:200]!r}, preloaded {preload.stdout[:200]!r}")
    if native.stderr != preload.stderr_without_stats():
        c.fail(f"{name}: " + diff(native.stderr, preload.stderr_without_stats(),
                                  "stderr (less greenrun's statistics)"))
    if stats_to_file:
        tables = stats_tables(stats_dir)
        if len(tables) != 1:
            c.fail(f"{preload.label}: {len(tables)} statistics files in {stats_dir}, want one "
                   "(GREENRUN_STATS=DIR/%p, one process)")
        else:
            preload.stderr += next(iter(tables.values()))
    c.check_green(preload, min_threads)
    if native.peak_threads is not None and native.peak_threads < 2:
        c.fail(f"{native.label}: at most {native.peak_threads} OS thread seen, expected "
               "several (the case itself is wrong on this machine)")
    if all(os.path.exists(p) for p in outputs.values()):
        sums = {side: sha256_file(p) for side, p in outputs.items()}
        sizes = {side: os.path.getsize(p) for side, p in outputs.items()}
        if sums["native"] != sums["preload"]:
            c.fail(f"{name}: the output differs: natively {sizes['native']} bytes, sha256 "
                   f"{sums['native']}; preloaded {sizes['preload']} bytes, sha256 "
                   f"{sums['preload']}")
    return native, preload, outputs["native"], outputs["preload"]


def times(native, preload):
    return f"native {native.seconds:.2f} s, green {preload.seconds:.2f} s"


def round_trip(c, name, decompress, compressed, original):
    """The native output, decompressed natively, must be the input (else the case is wrong)."""
    with open(compressed, "rb") as f:
        got = subprocess.run(decompress, stdin=f, capture_output=True, env=c.native_env)
    if got.returncode != 0:
        c.fail(f"{name}: {' '.join(decompress)} of the native output: exit {got.returncode}: "
               f"{got.stderr.decode(errors='replace')[:500]}")
    elif hashlib.sha256(got.stdout).hexdigest() != sha256_file(original):
        c.fail(f"{name}: the native output does not decompress to the input "
               "(the case itself is wrong on this machine)")


def compressor_case(program, package, argv, decompress, mib, min_threads, stats_to_file=False):
    """A compressor run with several threads over `mib` MiB of make_text: the same compressed
    bytes natively and under greenrun (their multithreaded formats cut the input into blocks
    of a fixed size, so the output depends on the settings, not on the threads' timing), and
    the native output decompresses to the input."""
    def case(c):
        path = require(program, package)
        with scratch_directory(f"greenrun-{program}-") as work:
            source = os.path.join(work, "input")
            make_text(source, mib, seed=len(program))
            name = " ".join([program] + argv)
            native, preload, out, _ = tool_pair(c, name, [path] + argv + [source], work,
                                                min_threads, stats_to_file=stats_to_file)
            if os.path.exists(out):
                round_trip(c, name, [path] + decompress, out, source)
                c.note(f"{name}: {mib} MiB to {os.path.getsize(out) / MIB:.1f} MiB, "
                       + times(native, preload))
    return case


# pigz: 4 compressing threads and one that writes (5 natively); its output does not depend on
# -p at all. -n: no name or time stamp in the header.
case_pigz = compressor_case("pigz", "pigz", ["-p", "4", "-n", "-c"], ["-d", "-c"], 64, 4)
# zstd: 4 workers (and, in 1.5, two asynchronous I/O threads).
case_zstd = compressor_case("zstd", "zstd", ["-T4", "-q", "-c"], ["-d", "-q", "-c"], 64, 4)
# xz: 4 workers compressing blocks of 2 MiB (16 of them), at preset -1: preset -6 takes ~1 s a
# MiB of CPU. xz closes stderr before it exits (tuklib_exit), so greenrun's table goes to a file.
case_xz = compressor_case("xz", "xz-utils", ["-T4", "-1", "--block-size=2MiB", "-c"],
                          ["-d", "-c"], 32, 4, stats_to_file=True)


SORT_LINES = 2_000_000


def case_sort(c):
    """sort --parallel=4 -S 64M over 2,000,000 random lines (34 MB): more than one 64 MiB
    buffer, so it sorts several buffers (3 threads each: the buffer's halves and quarters),
    spills them to temporary files and merges them. The output must be Python's sort of the
    lines (C.UTF-8 collation of hexadecimal digits is byte order)."""
    sort = require("sort", "coreutils")
    with scratch_directory("greenrun-sort-") as work:
        source = os.path.join(work, "input")
        raw = random.Random(5).randbytes(SORT_LINES * 8).hex()
        lines = [raw[i:i + 16] for i in range(0, len(raw), 16)]
        with open(source, "w") as f:
            f.write("\n".join(lines) + "\n")
        spill = os.path.join(work, "tmp")
        os.makedirs(spill)
        native, preload, out, _ = tool_pair(
            c, "sort --parallel=4 -S 64M",
            [sort, "--parallel=4", "-S", "64M", "-T", spill, source], work, min_threads=4)
        if os.path.exists(out):
            lines.sort()
            want = hashlib.sha256(("\n".join(lines) + "\n").encode()).hexdigest()
            if sha256_file(out) != want:
                c.fail(f"{native.label}: the output is not the input's lines in order "
                       "(the case itself is wrong on this machine)")
        c.note(f"sort: {SORT_LINES:,} lines, " + times(native, preload))


PO_MESSAGES = 4000


def po_quote(text):
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def po_entries(text):
    """[(msgid, msgstr, fuzzy)] of a PO file as msgmerge writes it (strings may be wrapped)."""
    entries = []
    for block in text.strip().split("\n\n"):
        fields, key, fuzzy = {}, None, False
        for line in block.splitlines():
            if line.startswith("#,"):
                fuzzy = fuzzy or "fuzzy" in line
            elif line.startswith(("msgid ", "msgstr ")):
                key, rest = line.split(" ", 1)
                fields[key] = rest[1:-1]
            elif line.startswith('"') and key:
                fields[key] += line[1:-1]
        entries.append((fields.get("msgid"), fields.get("msgstr"), fuzzy))
    return entries


def case_msgmerge(c):
    """msgmerge (gettext) merging 4,000 translations into a template whose every third message
    had its first word changed: each of those needs a fuzzy search, which msgmerge runs as an
    OpenMP parallel loop (OMP_NUM_THREADS=4: a team of 4, 3 threads of libgomp's besides main).
    libgomp's threads wait for each other with futex system calls of their own (and spin before
    that), so under greenrun they rely on preemption and the hand-off of the loop. Every message
    must get its own translation, fuzzy exactly where the message changed."""
    msgmerge = require("msgmerge", "gettext")
    rng = random.Random(3)
    syllables = ["ka", "to", "ri", "green", "run", "sa", "lo", "mi", "ne", "qu", "zar", "vel",
                 "pon", "dex", "ul", "fi", "bra", "tor", "mo", "xi", "an", "el", "os", "ith"]
    vocab = ["".join(rng.choice(syllables) for _ in range(rng.randint(2, 4)))
             for _ in range(3000)]
    header = 'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n\n'
    old = [" ".join(rng.choice(vocab) for _ in range(rng.randint(6, 12))) + f" {k}"
           for k in range(PO_MESSAGES)]
    new = []
    for k, message in enumerate(old):
        if k % 3 == 1:
            words = message.split(" ")
            first = words[0]
            while words[0] == first:
                words[0] = rng.choice(vocab)
            message = " ".join(words)
        new.append(message)
    with scratch_directory("greenrun-msgmerge-") as work:
        definitions = os.path.join(work, "old.po")
        template = os.path.join(work, "new.pot")
        with open(definitions, "w") as f:
            f.write(header + "".join(f"msgid {po_quote(m)}\nmsgstr {po_quote(m.upper())}\n\n"
                                     for m in old))
        with open(template, "w") as f:
            f.write(header + "".join(f"msgid {po_quote(m)}\nmsgstr \"\"\n\n" for m in new))
        native, preload, out, _ = tool_pair(
            c, "msgmerge (OpenMP)", [msgmerge, "--quiet", definitions, template], work,
            min_threads=3, env={"OMP_NUM_THREADS": "4"})
        if os.path.exists(out):
            with open(out) as f:
                got = po_entries(f.read())[1:]  # the header first
            want = [(m, o.upper(), m != o) for m, o in zip(new, old)]
            if got != want:
                wrong = sum(g != w for g, w in itertools.zip_longest(got, want))
                c.fail(f"{native.label}: {wrong} of {PO_MESSAGES} messages merged wrongly "
                       "(the case itself is wrong on this machine)")
        m = HAND_OFFS.search(preload.stderr)
        c.note(f"msgmerge: {PO_MESSAGES} messages, {PO_MESSAGES // 3} fuzzy, " + times(native, preload)
               + (f", {m.group(1)} hand-offs" if m else ""))


# What pipeline.sh names in its pids file, and the fewest threads each must have had under
# greenrun (each program's own thread count at -p 2 / -T2 / 4 Python threads; zstd -d and
# pigz -d start I/O and check threads of their own).
PIPELINE_PROCESSES = {
    "sort --parallel=2": 1,   # one thread for the other half of each buffer
    "pigz -p 2": 2,
    "pigz -d": 1,
    "xz -T2": 2,
    "xz -d -T2": 2,
    "zstd -T2": 2,
    "zstd -d": 1,
    "python3 threads": 4,
}


def case_pipeline(c):
    """pipeline.sh under greenrun as a whole (bash, seq, awk, sort, pigz, xz, zstd, sha256sum,
    python3: every child inherits LD_PRELOAD), with GREENRUN_STATS=DIR/%p so that each process
    that made threads writes its own statistics. Its output (checksums) must be the same as
    natively and say that every round trip gave the data back; every multithreaded process
    must have written a table with its threads counted."""
    for program, package in (("sort", "coreutils"), ("pigz", "pigz"), ("xz", "xz-utils"),
                             ("zstd", "zstd"), ("bash", "bash")):
        require(program, package)
    if not os.access("/usr/bin/python3", os.X_OK):
        require("/usr/bin/python3", "python3")
    with scratch_directory("greenrun-pipeline-") as work:
        stats = os.path.join(work, "stats")
        os.makedirs(stats)
        scratch = os.path.join(work, "scratch")
        os.makedirs(scratch)

        def expect(got):
            with open(os.path.join(scratch, "data"), "rb") as f:
                data = f.read()
            lines = data.decode().splitlines()
            if len(lines) != 1_000_000:
                return f"the script wrote {len(lines)} lines of data, want 1000000"
            data_sum = hashlib.sha256(data).hexdigest()
            sorted_sum = hashlib.sha256(("\n".join(sorted(lines)) + "\n").encode()).hexdigest()
            step = -(-len(data) // 8)
            chunks = " ".join(hashlib.sha256(data[k * step:(k + 1) * step]).hexdigest()[:16]
                              for k in range(8))
            want = (f"data {data_sum} 1000000\n"
                    f"sort|pigz|pigz -d {sorted_sum}\n"
                    f"python threads {chunks}\n"
                    f"xz -T2 round trip {data_sum}\n"
                    f"zstd -T2 round trip {data_sum}\n")
            return None if got == want else diff(want, got, "stdout", "expected", "native")

        native, preload = c.differential(
            "pipeline.sh", ["/bin/bash", os.path.join(HERE, "pipeline.sh"), scratch], expect,
            min_threads=None, timeout=60, env={"GREENRUN_STATS": os.path.join(stats, "%p")})
        tables = stats_tables(stats)
        named = {}
        with open(os.path.join(scratch, "pids")) as f:
            for line in f:
                pid, name = line.rstrip("\n").split(" ", 1)
                named[name] = int(pid)
        green = 0
        for name, least in PIPELINE_PROCESSES.items():
            pid = named.get(name)
            if pid is None:
                c.fail(f"{preload.label}: pipeline.sh did not name a process {name!r}")
                continue
            created = threads_created(tables.get(pid))
            if created is None:
                c.fail(f"{preload.label}: {name} (pid {pid}) wrote no statistics to "
                       f"{stats}/{pid}: it made no thread under greenrun, or did not run "
                       "with it")
            elif created < least:
                c.fail(f"{preload.label}: {name} (pid {pid}): greenrun created {created} "
                       f"threads, want at least {least}")
            else:
                green += 1
        unnamed = sorted(set(tables) - set(named.values()))
        if unnamed:
            c.fail(f"{preload.label}: statistics from processes pipeline.sh did not name "
                   f"(pids {unnamed}): which program made threads there?")
        c.note(f"pipeline.sh: {green} of {len(PIPELINE_PROCESSES)} multithreaded processes "
               "green, " + times(native, preload))


CASES = {
    "pigz": case_pigz,
    "zstd": case_zstd,
    "xz": case_xz,
    "sort": case_sort,
    "msgmerge": case_msgmerge,
    "pipeline": case_pipeline,
}

# Too slow for ./scripts/test (tens of seconds of compression or sorting on one OS thread):
# scripts/compat runs them.
SLOW = {"pigz", "xz", "sort", "pipeline"}
