#!/usr/bin/env python3
"""The launcher (build/preload/greenrun) refuses, before the exec, what LD_PRELOAD cannot reach,
in one line and exit status 2: a statically linked program (by path, through PATH, as the #!
interpreter of a script or as the NAME of `#!/usr/bin/env NAME`) and a program of another
architecture than libgreenrun.so. A missing program gets the shell's "not found" and 127. What
it accepts runs with every argument and its own exit status (a script under its #! interpreter,
preloaded). The static program itself runs natively, so the refusal is not a broken file's.
Its options: each sets its variable in the program's environment (both --opt VALUE and
--opt=VALUE); a bad option, a bad value or a bad GREENRUN_* variable gives exactly one line and
exit status 2 with nothing run; options end at `--` or at the program; --help and --version;
the program replaces the launcher (same pid), so its exit status and death by signal pass
through; an LD_PRELOAD already set stays after ours; the library is found by --library,
GREENRUN_LIBRARY, beside the launcher, or in the libdir relative to it.
Usage: launcher_checks.py LAUNCHER LIBGREENRUN STATIC_PROGRAM DYNAMIC_PROGRAM"""
import os
import re
import shutil
import signal
import struct
import subprocess
import sys
import tempfile

STATIC_LINE = (r"greenrun: {what} is statically linked, so greenrun cannot be loaded into it "
               r"\(LD_PRELOAD reaches only dynamically linked programs\); not started \(run it "
               r"without greenrun to run it natively\)")


def run(argv, env):
    r = subprocess.run(argv, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                       timeout=30)
    return r.returncode, r.stdout, r.stderr


def write_script(path, text):
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, 0o755)


def elf_machine(path):
    with open(path, "rb") as f:
        head = f.read(20)
    return head[4], struct.unpack("<H" if head[5] == 1 else ">H", head[18:20])[0]


def foreign_elf(path, lib):
    """A minimal 64-bit little-endian executable header with a PT_INTERP program header, for
    AArch64 (or x86-64 where libgreenrun.so is AArch64): dynamically linked, but not for us."""
    machine = 62 if elf_machine(lib)[1] == 183 else 183
    header = (b"\x7fELF" + bytes([2, 1, 1]) + bytes(9) +
              struct.pack("<HHIQQQIHHHHHH", 2, machine, 1, 0x400000, 64, 0, 0, 64, 56, 1, 0, 0, 0))
    interp = struct.pack("<IIQQQQQQ", 3, 4, 0, 0, 0, 0, 0, 1)
    with open(path, "wb") as f:
        f.write(header + interp)
    os.chmod(path, 0o755)
    return {62: "x86-64", 183: "AArch64"}[machine]


class Checks:
    def __init__(self, launcher, lib):
        self.launcher, self.lib = launcher, lib
        self.failures = []
        self.env = {k: v for k, v in os.environ.items()
                    if not k.startswith("GREENRUN_") and k != "LD_PRELOAD"}
        self.env["GREENRUN_LIBRARY"] = lib

    def fail(self, text):
        self.failures.append(text)

    def launch(self, argv, path=None, extra_env=None, command=None):
        """Runs the launcher (or `command`) with argv; (status, stdout, stderr)."""
        e = dict(self.env, PATH=path) if path else dict(self.env)
        e.update(extra_env or {})
        return run((command or [self.launcher]) + argv, e)

    def expect(self, argv, status, stderr_pattern=None, stdout=None, path=None, extra_env=None,
               command=None):
        """stderr_pattern: "" for nothing, a regex for exactly one matching line, None: any."""
        got_status, got_out, got_err = self.launch(argv, path, extra_env, command)
        what = " ".join(argv)
        if got_status != status:
            self.fail(f"greenrun {what}: exit {got_status}, wanted {status}\n"
                      f"  stdout: {got_out!r}\n  stderr: {got_err!r}")
        if stderr_pattern == "" and got_err:
            self.fail(f"greenrun {what}: stderr is {got_err!r}, wanted nothing")
        elif stderr_pattern and not re.fullmatch(stderr_pattern + r"\n", got_err):
            self.fail(f"greenrun {what}: stderr is {got_err!r}, wanted one line matching "
                      f"{stderr_pattern!r}")
        if stdout is not None and got_out != stdout:
            self.fail(f"greenrun {what}: stdout is {got_out!r}, wanted {stdout!r}")
        return got_out


def check_reach(c, static, dynamic, tmp, bin_dir, search):
    """What LD_PRELOAD cannot reach is refused; what it can runs, preloaded."""
    # Natively the static program runs: the file is sound.
    status, out, err = run([static, "a"], c.env)
    if status != 0 or "1 arguments: [a]" not in out:
        c.fail(f"{static} natively: exit {status}, stdout {out!r}, stderr {err!r}")
    os.symlink(static, os.path.join(bin_dir, "static-prog"))
    # A static program by path and by name through PATH: one line, status 2, nothing run.
    c.expect([static, "a"], 2, STATIC_LINE.format(what=re.escape(static)), stdout="")
    c.expect(["static-prog", "a"], 2, STATIC_LINE.format(what="static-prog"), stdout="",
             path=search)
    # A script runs under its interpreter: that is what must be dynamically linked.
    direct = os.path.join(tmp, "direct.script")
    write_script(direct, f"#!{static}\n")
    c.expect([direct], 2, STATIC_LINE.format(
        what=re.escape(f"{static}, the interpreter of {direct},")), stdout="")
    via_env = os.path.join(tmp, "via-env.script")
    write_script(via_env, "#!/usr/bin/env static-prog\n")
    c.expect([via_env], 2, STATIC_LINE.format(
        what=re.escape(f"{os.path.join(bin_dir, 'static-prog')}, the interpreter of {via_env},")),
        stdout="", path=search)
    # A program for another architecture is refused too.
    other = os.path.join(tmp, "other-arch")
    name = foreign_elf(other, c.lib)
    c.expect([other], 2, re.escape(f"greenrun: {other} is built for {name}, libgreenrun.so for ")
             + r"[^,]+, so greenrun cannot be loaded into it \(the loader skips a preloaded "
             r"library of another architecture\); not started \(run it without greenrun to run "
             r"it natively\)", stdout="")
    # Not found, as a shell says it; a directory or a file without x is not executable.
    c.expect(["no-such-program-greenrun"], 127,
             "greenrun: no-such-program-greenrun: command not found", stdout="")
    missing = os.path.join(tmp, "missing")
    c.expect([missing], 127, re.escape(f"greenrun: {missing}: No such file or directory"),
             stdout="")
    c.expect([tmp], 126, re.escape(f"greenrun: {tmp}: Is a directory"), stdout="")
    plain = os.path.join(tmp, "plain.txt")
    with open(plain, "w") as f:
        f.write("echo ran\n")
    c.expect([plain], 126, re.escape(f"greenrun: {plain}: Permission denied"), stdout="")
    lost = os.path.join(tmp, "lost-interpreter.script")
    write_script(lost, "#!/nonexistent/interpreter\n")
    c.expect([lost], 127, re.escape(f"greenrun: {lost}: cannot execute: its #! interpreter "
                                    "/nonexistent/interpreter was not found"), stdout="")
    # What it accepts runs, preloaded, with its arguments and exit status: a dynamically
    # linked program, and a shell script (whose interpreter is).
    c.expect([dynamic, "one", "two words"], 0, "",
             stdout="hello from the program with 2 arguments: [one] [two words]\n")
    shell_script = os.path.join(tmp, "shell.script")
    write_script(shell_script, '#!/bin/sh\necho "$# $1 preload=$LD_PRELOAD"\nexit 3\n')
    c.expect([shell_script, "x y"], 3, "", stdout=f"1 x y preload={c.lib}\n")


# Each option, as the program's environment shows it (env prints it), in both forms.
OPTIONS = [
    (["--stack-size", "256K"], {"GREENRUN_STACK_SIZE": "256K"}),
    (["--stack-size=1M"], {"GREENRUN_STACK_SIZE": "1M"}),
    (["--stats"], {"GREENRUN_STATS": "1"}),
    (["--stats=/tmp/stats.%p"], {"GREENRUN_STATS": "/tmp/stats.%p"}),
    (["--dump-signal", "USR1"], {"GREENRUN_DUMP_SIGNAL": "USR1"}),
    (["--dump-signal=none"], {"GREENRUN_DUMP_SIGNAL": "none"}),
    (["--blocking-ms", "100"], {"GREENRUN_BLOCKING_MS": "100"}),
    (["--blocking-ms=250"], {"GREENRUN_BLOCKING_MS": "250"}),
    (["--timeslice", "0"], {"GREENRUN_TIMESLICE": "0"}),
    (["--timeslice=25"], {"GREENRUN_TIMESLICE": "25"}),
    (["--handoff-ms", "5"], {"GREENRUN_HANDOFF_MS": "5"}),
    (["--handoff-ms=0"], {"GREENRUN_HANDOFF_MS": "0"}),
    (["--tls", "shared"], {"GREENRUN_TLS": "shared"}),
    (["--tls=own"], {"GREENRUN_TLS": "own"}),
    (["--no-inherit"], {"GREENRUN_INHERIT": "0"}),
    (["--stack-size", "64K", "--timeslice", "0", "--stats"],
     {"GREENRUN_STACK_SIZE": "64K", "GREENRUN_TIMESLICE": "0", "GREENRUN_STATS": "1"}),
    (["--stack-size", "64K", "--stack-size", "128K"], {"GREENRUN_STACK_SIZE": "128K"}),
]

# Refused before anything runs: the arguments, and the one line (a regex, after "greenrun: ").
REFUSED = [
    (["--stack-size", "1T"], r"--stack-size 1T is not a size: .*"),
    (["--stack-size=8"], r"--stack-size=8 is below the minimum stack size of 16K"),
    (["--stack-size", "2G"], r"--stack-size 2G is above the maximum stack size of 1G"),
    (["--stats=stats.txt"], r"--stats=stats\.txt must be 0, 1 .*"),
    (["--dump-signal", "KILL"], r"--dump-signal KILL is not a signal that can be caught: .*"),
    (["--dump-signal=CHLD"], r"--dump-signal=CHLD cannot be the dump signal: .*"),
    (["--blocking-ms", "0"], r"--blocking-ms 0 is not a number of milliseconds from 1 to .*"),
    (["--timeslice", "60001"], r"--timeslice 60001 is not a number of milliseconds .*"),
    (["--handoff-ms=2ms"], r"--handoff-ms=2ms is not a number of milliseconds .*"),
    (["--tls", "private"], r"--tls private is not own or shared: .*"),
    (["--workers", "0"], r"--workers 0 is not a number of copies from 1 to 1024, .*"),
    (["--library="], r"--library= is empty: .*"),
    (["--no-inherit=1"], r"--no-inherit takes no value: .*"),
    (["--help=yes"], r"--help takes no value: .*"),
    (["--bogus"], r"unknown option --bogus: greenrun --help lists them .*"),
    (["-x"], r"unknown option -x: .*"),
]
# The same, with nothing after the option: a missing value or a missing program.
REFUSED_ALONE = [
    (["--tls"], r"--tls needs a value, e\.g\. --tls shared"),
    (["--timeslice"], r"--timeslice needs a value, e\.g\. --timeslice 10"),
    ([], r"no program to run: .*"),
    (["--stats", "--"], r"no program to run: .*"),
]

VARIABLES = ["GREENRUN_STACK_SIZE", "GREENRUN_STATS", "GREENRUN_DUMP_SIGNAL",
             "GREENRUN_BLOCKING_MS", "GREENRUN_TIMESLICE", "GREENRUN_HANDOFF_MS", "GREENRUN_TLS",
             "GREENRUN_INHERIT", "GREENRUN_LIBRARY", "GREENRUN_REUSEPORT"]
RAN = ["sh", "-c", "echo ran"]  # a program that says so if it runs


def environment(text):
    """`env`'s output as a dict."""
    return dict(line.split("=", 1) for line in text.splitlines() if "=" in line)


def check_options(c, tmp, search):
    env_program = shutil.which("env")
    for argv, want in OPTIONS:
        status, out, err = c.launch(argv + [env_program])
        got = {k: v for k, v in environment(out).items()
               if k.startswith("GREENRUN_") and k != "GREENRUN_LIBRARY"}
        preload = environment(out).get("LD_PRELOAD")
        # Preloaded, env shows ours; with --no-inherit the preload has left LD_PRELOAD already.
        want_preload = None if want.get("GREENRUN_INHERIT") == "0" else c.lib
        if status != 0 or got != want or err or preload != want_preload:
            c.fail(f"greenrun {' '.join(argv)} env: exit {status}, GREENRUN_* {got}, wanted "
                   f"{want}; LD_PRELOAD {preload!r}; stderr {err!r}")
    # A bad option or value: one line, status 2, and the program never ran.
    for argv, pattern in REFUSED:
        c.expect(argv + RAN, 2, "greenrun: " + pattern, stdout="")
    for argv, pattern in REFUSED_ALONE:
        c.expect(argv, 2, "greenrun: " + pattern, stdout="")
    # A bad GREENRUN_* variable already set: the preload's very line, before anything starts.
    c.expect(RAN, 2, r"greenrun: GREENRUN_TLS=x is not own or shared: .*", stdout="",
             extra_env={"GREENRUN_TLS": "x"})
    c.expect(RAN, 2, r"greenrun: GREENRUN_REUSEPORT=yes is not 0 or 1: .*", stdout="",
             extra_env={"GREENRUN_REUSEPORT": "yes"})
    # An option wins over the variable already set.
    c.expect(["--tls", "shared", "sh", "-c", "echo $GREENRUN_TLS"], 0, "", stdout="shared\n",
             extra_env={"GREENRUN_TLS": "own"})
    # Options stop at the program, or after --: the rest are the program's.
    c.expect(["sh", "-c", 'echo "$0 $1 stats=${GREENRUN_STATS:-unset}"', "--stats", "-x"], 0, "",
             stdout="--stats -x stats=unset\n")
    c.expect(["--stats", "--", "sh", "-c", 'echo "$0 stats=$GREENRUN_STATS"', "--tls"], 0, "",
             stdout="--tls stats=1\n")
    write_script(os.path.join(tmp, "bin", "-dash-program"), '#!/bin/sh\necho "dash $1"\n')
    c.expect(["--", "-dash-program", "--help"], 0, "", stdout="dash --help\n", path=search)
    # --help lists every option and the variable each sets, on stdout; --version the version.
    usage = c.expect(["--help"], 0, "")
    if not usage.startswith("usage: greenrun [options] [--] program"):
        c.fail(f"greenrun --help does not start with the usage: {usage!r}")
    for word in ["--stack-size", "--stats", "--dump-signal", "--blocking-ms", "--timeslice",
                 "--handoff-ms", "--tls", "--no-inherit", "--library", "--workers", "--help",
                 "-h", "--version", "-V"] + VARIABLES:
        if not re.search(r"(?<![\w-])" + re.escape(word) + r"(?![\w-])", usage):
            c.fail(f"greenrun --help does not name {word}")
    c.expect(["-h", "sh"], 0, "", stdout=usage)
    c.expect(["--version"], 0, "", stdout="greenrun 0.1.0\n")
    c.expect(["-V"] + RAN, 0, "", stdout="greenrun 0.1.0\n")


def check_pass_through(c):
    """The program replaces the launcher: the same process, its status, its death by a signal,
    and an LD_PRELOAD already set stays, after ours."""
    child = subprocess.Popen([c.launcher, "sh", "-c", "echo $$"], env=c.env,
                             stdout=subprocess.PIPE, text=True)
    out, _ = child.communicate(timeout=30)
    if out.strip() != str(child.pid):
        c.fail(f"the program's pid is {out.strip()}, the launcher's {child.pid}: not replaced")
    c.expect(["sh", "-c", "exit 7"], 7, "", stdout="")
    c.expect(["sh", "-c", "kill -TERM $$"], -signal.SIGTERM, "", stdout="")
    c.expect(["sh", "-c", "ulimit -c 0; kill -SEGV $$"], -signal.SIGSEGV, "", stdout="")
    other = next(line.split()[-1] for line in open("/proc/self/maps")
                 if re.search(r"/libm\.so\.6$", line))
    c.expect(["sh", "-c", "echo $LD_PRELOAD"], 0, "", stdout=f"{c.lib}:{other}\n",
             extra_env={"LD_PRELOAD": other})


def check_library_search(c, tmp, dynamic):
    """--library wins over GREENRUN_LIBRARY; without either, the library beside the launcher,
    else the one in the libdir the install puts it in, found relative to the launcher."""
    echo = ["sh", "-c", "echo $LD_PRELOAD"]
    nowhere = {"GREENRUN_LIBRARY": "/nonexistent/libgreenrun.so"}
    c.expect(["--library", c.lib] + echo, 0, "", stdout=f"{c.lib}\n", extra_env=nowhere)
    c.expect(echo, 127, r"greenrun: cannot find libgreenrun\.so: GREENRUN_LIBRARY names "
             r"/nonexistent/libgreenrun\.so, which is not a file", stdout="", extra_env=nowhere)
    c.expect(["--library", "/nonexistent/libgreenrun.so"] + echo, 127,
             r"greenrun: cannot find libgreenrun\.so: --library names .*", stdout="")
    bare = {k: v for k, v in c.env.items() if k != "GREENRUN_LIBRARY"}
    prefix = os.path.join(tmp, "prefix")
    bindir = os.path.join(prefix, "bin")
    os.makedirs(bindir)
    copy = os.path.join(bindir, "greenrun")
    shutil.copy(c.launcher, copy)
    # Nowhere: one line saying where it looked, status 127.
    status, out, err = run([copy] + echo, bare)
    m = re.fullmatch(r"greenrun: cannot find libgreenrun\.so beside the launcher nor in (\S+) "
                     r"\(.*\)\n", err)
    if status != 127 or not m or out:
        c.fail(f"a launcher without a library: exit {status}, stderr {err!r}")
        return
    libdir = m.group(1)
    if not libdir.startswith(prefix + os.sep):
        c.fail(f"the launcher copied to {bindir} looks for its library in {libdir}, not "
               f"under {prefix}")
    else:
        os.makedirs(libdir, exist_ok=True)
        installed = os.path.join(libdir, "libgreenrun.so")
        shutil.copy(c.lib, installed)
        status, out, err = run([copy] + echo, bare)
        if (status, out, err) != (0, installed + "\n", ""):
            c.fail(f"the library in the launcher's libdir {libdir}: exit {status}, "
                   f"stdout {out!r}, stderr {err!r}")
    beside = os.path.join(bindir, "libgreenrun.so")
    shutil.copy(c.lib, beside)
    status, out, err = run([copy, dynamic, "x"], bare)
    if status != 0 or "with 1 arguments: [x]" not in out:
        c.fail(f"the library beside the launcher: exit {status}, stdout {out!r}")
    status, out, err = run([copy] + echo, bare)
    if (status, out) != (0, beside + "\n"):
        c.fail(f"the library beside the launcher: exit {status}, stdout {out!r}")


def main():
    launcher, lib, static, dynamic = (os.path.abspath(a) for a in sys.argv[1:5])
    c = Checks(launcher, lib)
    with tempfile.TemporaryDirectory() as tmp:
        bin_dir = os.path.join(tmp, "bin")
        os.mkdir(bin_dir)
        search = bin_dir + os.pathsep + c.env.get("PATH", "/usr/bin:/bin")
        check_reach(c, static, dynamic, tmp, bin_dir, search)
        check_options(c, tmp, search)
        check_pass_through(c)
        check_library_search(c, tmp, dynamic)

    for f in c.failures:
        print("FAIL " + f)
    print("ok" if not c.failures else f"{len(c.failures)} failures")
    return 1 if c.failures else 0


if __name__ == "__main__":
    sys.exit(main())
