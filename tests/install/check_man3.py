#!/usr/bin/env python3
"""greenrun(3) against greenrun.h: every declaration of the header (each GREENRUN_C_API function
and each typedef) must appear in the page's SYNOPSIS exactly as declared, and the SYNOPSIS must
declare nothing the header does not. Prototypes are compared token by token, so spacing and
line breaks do not matter, but a changed type, name or parameter does.
Usage: check_man3.py HEADER PAGE   (the page is rendered with groff, as a reader sees it)"""
import re
import subprocess
import sys


def tokens(text):
    return " ".join(re.findall(r"[A-Za-z_]\w*|\S", text))


def declarations(code, macros=()):
    code = re.sub(r"/\*.*?\*/", " ", code, flags=re.S)
    code = re.sub(r"//[^\n]*", " ", code)
    code = re.sub(r"^[ \t]*#[^\n]*", " ", code, flags=re.M)
    found = {}
    for statement in code.split(";"):
        statement = statement.replace('extern "C" {', " ").replace("}", " ").strip()
        if not statement:
            continue
        words = statement.split()
        if words[0] != "typedef" and "GREENRUN_C_API" not in words and macros:
            continue  # in the header, only the API's functions and the typedefs count
        for macro in macros:
            statement = re.sub(r"\b%s\b" % macro, " ", statement)
        declared = tokens(statement) + " ;"
        name = re.search(r"(\w+)\s*\)\s*\(|(\w+)\s*\((?!\s*\*)|(\w+)\s*$", statement)
        key = next(g for g in name.groups() if g) if name else declared
        found[key] = declared
    return found


def synopsis(page):
    rendered = subprocess.run(
        ["groff", "-man", "-Tascii", "-rLL=200n", "-P-c", "-P-b", "-P-o", "-P-u", page],
        check=True, capture_output=True, text=True,
        env={"PATH": "/usr/bin:/bin", "GROFF_NO_SGR": "1", "LC_ALL": "C"}).stdout
    rendered = re.sub(r".\x08", "", rendered)
    match = re.search(r"^SYNOPSIS\n(.*?)^\S", rendered, flags=re.S | re.M)
    if not match:
        sys.exit(f"{page}: no SYNOPSIS section in the rendered page")
    return match.group(1)


def main():
    header, page = sys.argv[1], sys.argv[2]
    with open(header) as f:
        declared = declarations(f.read(), macros=("GREENRUN_C_API", "GREENRUN_C_NOEXCEPT"))
    shown = declarations(synopsis(page))
    failures = []
    for name, text in sorted(declared.items()):
        if name not in shown:
            failures.append(f"missing from the SYNOPSIS of {page}: {text}")
        elif shown[name] != text:
            failures.append(f"differs from {header}:\n  header: {text}\n  page:   {shown[name]}")
    for name, text in sorted(shown.items()):
        if name not in declared:
            failures.append(f"in the SYNOPSIS of {page} but not declared in {header}: {text}")
    functions = sum(1 for t in declared.values() if not t.startswith("typedef"))
    if failures:
        print("\n".join(failures))
        print(f"greenrun(3) does not match greenrun.h: {len(failures)} problem(s)")
        return 1
    print(f"greenrun(3) SYNOPSIS matches greenrun.h: {functions} functions, "
          f"{len(declared) - functions} typedefs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
