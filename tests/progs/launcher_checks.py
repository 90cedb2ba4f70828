#!/usr/bin/env python3
"""scripts/greenrun refuses, before the exec, what LD_PRELOAD cannot reach, in one line and
exit status 2: a statically linked program (by path, through PATH, as the #! interpreter of a
script or as the NAME of `#!/usr/bin/env NAME`) and a program of another architecture than
libgreenrun.so. A missing program gets the shell's "not found" and 127. What it accepts runs
with every argument and its own exit status (a script under its #! interpreter, preloaded).
The static program itself runs natively, so the refusal is not a broken file's.
Usage: launcher_checks.py LAUNCHER LIBGREENRUN STATIC_PROGRAM DYNAMIC_PROGRAM"""
import os
import re
import stat
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


def main():
    launcher, lib, static, dynamic = (os.path.abspath(a) for a in sys.argv[1:5])
    failures = []
    env = {k: v for k, v in os.environ.items() if not k.startswith("GREENRUN_") and k != "LD_PRELOAD"}
    env["GREENRUN_LIBRARY"] = lib

    def expect(argv, status, stderr_pattern=None, stdout=None, path=None):
        e = dict(env, PATH=path) if path else env
        got_status, got_out, got_err = run([launcher] + argv, e)
        what = " ".join(argv)
        if got_status != status:
            failures.append(f"greenrun {what}: exit {got_status}, wanted {status}\n"
                            f"  stdout: {got_out!r}\n  stderr: {got_err!r}")
        if stderr_pattern == "" and got_err:
            failures.append(f"greenrun {what}: stderr is {got_err!r}, wanted nothing")
        elif stderr_pattern and not re.fullmatch(stderr_pattern + r"\n", got_err):
            failures.append(f"greenrun {what}: stderr is {got_err!r}, wanted one line matching "
                            f"{stderr_pattern!r}")
        if stdout is not None and got_out != stdout:
            failures.append(f"greenrun {what}: stdout is {got_out!r}, wanted {stdout!r}")

    # Natively the static program runs: the file is sound.
    status, out, err = run([static, "a"], env)
    if status != 0 or "1 arguments: [a]" not in out:
        failures.append(f"{static} natively: exit {status}, stdout {out!r}, stderr {err!r}")

    with tempfile.TemporaryDirectory() as tmp:
        bin_dir = os.path.join(tmp, "bin")
        os.mkdir(bin_dir)
        os.symlink(static, os.path.join(bin_dir, "static-prog"))
        search = bin_dir + os.pathsep + env.get("PATH", "/usr/bin:/bin")

        # A static program by path and by name through PATH: one line, status 2, nothing run.
        expect([static, "a"], 2, STATIC_LINE.format(what=re.escape(static)), stdout="")
        expect(["static-prog", "a"], 2, STATIC_LINE.format(what="static-prog"), stdout="",
               path=search)
        # A script runs under its interpreter: that is what must be dynamically linked.
        direct = os.path.join(tmp, "direct.script")
        write_script(direct, f"#!{static}\n")
        expect([direct], 2, STATIC_LINE.format(
            what=re.escape(f"{static}, the interpreter of {direct},")), stdout="")
        via_env = os.path.join(tmp, "via-env.script")
        write_script(via_env, "#!/usr/bin/env static-prog\n")
        expect([via_env], 2, STATIC_LINE.format(
            what=re.escape(f"{os.path.join(bin_dir, 'static-prog')}, the interpreter of {via_env},")),
            stdout="", path=search)
        # A program for another architecture is refused too.
        other = os.path.join(tmp, "other-arch")
        name = foreign_elf(other, lib)
        expect([other], 2, re.escape(f"greenrun: {other} is built for {name}, libgreenrun.so for ")
               + r"[^,]+, so greenrun cannot be loaded into it \(the loader skips a preloaded "
               r"library of another architecture\); not started \(run it without greenrun to run "
               r"it natively\)", stdout="")
        # Not found, as a shell says it.
        expect(["no-such-program-greenrun"], 127,
               "greenrun: no-such-program-greenrun: command not found", stdout="")
        missing = os.path.join(tmp, "missing")
        expect([missing], 127, re.escape(f"greenrun: {missing}: No such file or directory"),
               stdout="")
        # What it accepts runs, preloaded, with its arguments and exit status: a dynamically
        # linked program, and a shell script (whose interpreter is).
        expect([dynamic, "one", "two words"], 0, "",
               stdout="hello from the program with 2 arguments: [one] [two words]\n")
        shell_script = os.path.join(tmp, "shell.script")
        write_script(shell_script, '#!/bin/sh\necho "$# $1 preload=$LD_PRELOAD"\nexit 3\n')
        expect([shell_script, "x y"], 3, "", stdout=f"1 x y preload={lib}\n")

    for f in failures:
        print("FAIL " + f)
    print("ok" if not failures else f"{len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
