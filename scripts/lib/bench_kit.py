"""What scripts/bench, scripts/bench-io and scripts/bench-preload share: building the benchmarks
in their own configuration, finding and running the programs (natively or under greenrun),
reading their RESULT/INFO lines, and the table every script prints. What each one measures,
and how it judges it, stays in the script.

Every script exits 0 when every target held, 1 when one failed, 2 when something could not be
built or run.
"""
import argparse
import os
import platform
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LAUNCHER = os.path.join(ROOT, "scripts", "greenrun")


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def arg_parser(description, library=False):
    """The options every benchmark script takes: --quick, --build-dir and (for those that
    preload it) --library."""
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--build-dir", default="build-bench")
    if library:
        ap.add_argument("--library")
    return ap


def install_deps(packages):
    """Installs the Debian packages given, and greenrun's own, if any are missing
    (scripts/install-deps; asks apt only then)."""
    subprocess.run([os.path.join(ROOT, "scripts", "install-deps"), *packages], check=True)


def build(build_dir, targets, who):
    """Builds `targets` in `build_dir` (relative to the checkout, or absolute). A new directory
    gets its own configuration with -Dtests=false, so the benchmarks build even while unit
    tests are being edited. `who` prefixes the progress lines."""
    if not os.path.exists(os.path.join(ROOT, build_dir, "build.ninja")):
        log(f"{who}: configuring {build_dir}")
        subprocess.run(["meson", "setup", build_dir, "-Dtests=false"], cwd=ROOT, check=True,
                       stdout=subprocess.DEVNULL)
    log(f"{who}: building")
    subprocess.run(["ninja", "-C", build_dir, "-j2", *targets], cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL)


def built(build_dir, *parts):
    """The path of something the build made: built(d, "tests", "bench", "bench_switch")."""
    return os.path.join(ROOT, build_dir, *parts)


def library_path(build_dir, given=None):
    """The libgreenrun.so to preload: --library if given, else the build's own."""
    return os.path.abspath(given or built(build_dir, "preload", "libgreenrun.so"))


def native_env(extra=None):
    """This process's environment without LD_PRELOAD (a native run must not inherit one),
    plus `extra`."""
    env = dict(os.environ)
    env.pop("LD_PRELOAD", None)
    env.update(extra or {})
    return env


def invocation(argv, library=None, launcher=True):
    """(argv, env) that run `argv` natively (library None) or under greenrun with `library`:
    through scripts/greenrun, as a user would, or (launcher=False) with LD_PRELOAD set
    directly, for a wrapper such as valgrind that does not follow the launcher's exec."""
    if library is None:
        return list(argv), native_env()
    if launcher:
        return [LAUNCHER, *argv], native_env({"GREENRUN_LIBRARY": library})
    return list(argv), native_env({"LD_PRELOAD": library})


def run_program(argv, what, env=None, timeout=300):
    """Runs a benchmark program to its end; raises RuntimeError (naming it `what`, with the end
    of its stderr) unless it exits 0. Returns the CompletedProcess."""
    p = subprocess.run([str(a) for a in argv], env=env, capture_output=True, text=True,
                       timeout=timeout)
    if p.returncode != 0:
        raise RuntimeError(f"{what} exited {p.returncode}: {p.stderr.strip()[-600:]}")
    return p


def parse_results(stdout):
    """A benchmark program's figures: `RESULT key number` lines as {key: float} and
    `INFO key text...` lines as {key: text}."""
    results, info = {}, {}
    for line in stdout.splitlines():
        parts = line.split()
        if parts[:1] == ["RESULT"] and len(parts) >= 3:
            results[parts[1]] = float(parts[2])
        elif parts[:1] == ["INFO"] and len(parts) >= 2:
            info[parts[1]] = " ".join(parts[2:])
    return results, info


def machine():
    """CPUs, their model and the kernel, for the line above a table."""
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(l.split(":", 1)[1].strip() for l in f if l.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{os.cpu_count()} CPUs ({cpu}), Linux {platform.release()}"


def verdict(ok):
    return "PASS" if ok else "FAIL"


class Table:
    """Rows of text cells under a header, printed as a Markdown table. A row whose last cell is
    FAIL fails the table."""

    def __init__(self, head):
        self.head, self.rows = tuple(head), []

    def row(self, *cells):
        self.rows.append(tuple(str(c) for c in cells))

    @property
    def failed(self):
        return any(r[-1] == "FAIL" for r in self.rows)

    def print(self):
        widths = [max(len(r[i]) for r in self.rows + [self.head]) for i in range(len(self.head))]
        line = lambda r: "| " + " | ".join(c.ljust(w) for c, w in zip(r, widths)) + " |"
        print(line(self.head))
        print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
        for r in self.rows:
            print(line(r))
