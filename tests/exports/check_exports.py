#!/usr/bin/env python3
"""Compares the symbols each shims/*.cpp says it defines (its "Defines:" header) with the C
symbols libgreenrun.so exports. Every exported libc name must be listed by exactly one shim,
and every listed name must be exported: a shim that forgets GREENRUN_EXPORT, or an export that
nobody documents, fails here. Usage: check_exports.py SHIMS_DIR LIBGREENRUN_SO"""
import pathlib, re, subprocess, sys

shims_dir, library = pathlib.Path(sys.argv[1]), sys.argv[2]

declared = {}
for source in sorted(shims_dir.glob("*.cpp")):
    text = source.read_text()
    match = re.search(r"^// Defines:(.*?)^(?!//\s{4,})", text, re.S | re.M)
    if not match:
        continue
    for name in re.findall(r"[A-Za-z_][A-Za-z0-9_]*", match.group(1).replace("//", " ")):
        if name in declared:
            print(f"FAIL {name}: listed by {declared[name]} and {source.name}")
            sys.exit(1)
        declared[name] = source.name

nm = subprocess.run(["nm", "-D", "--defined-only", library], capture_output=True, text=True, check=True)
# The public API (greenrun_*, greenrun::) is exported on purpose and is not a libc name.
exported = {line.split()[-1].split("@")[0] for line in nm.stdout.splitlines()
            if line.split()[1] in ("T", "W") and not line.split()[-1].startswith(("_Z", "greenrun_"))}

missing = sorted(set(declared) - exported)
undocumented = sorted(exported - set(declared))
for name in missing:
    print(f"FAIL {name}: listed by {declared[name]} but not exported")
for name in undocumented:
    print(f"FAIL {name}: exported but no shim lists it under 'Defines:'")
print(f"{len(declared)} symbols listed, {len(exported)} C symbols exported")
sys.exit(1 if missing or undocumented else 0)
