#!/usr/bin/env bash
# What a user gets from `meson install`: one install into a scratch directory (DESTDIR), then
# the layout (bin/greenrun, the preload, the runtime library, headers, pkg-config file, both
# manual pages), both pages rendered by man(1) without a groff warning, greenrun(1) naming every
# option the installed launcher's --help lists and every GREENRUN_* variable the code reads,
# greenrun(3) declaring exactly what greenrun.h declares, the launcher's --help, --version and
# --stats, demos/api_tour.cpp and greenrun(3)'s EXAMPLE built against the installed headers and
# library only. Every check runs; the test fails at the end if any failed, naming each.
# Usage: check_install.sh SOURCE_ROOT BUILD_ROOT
set -euo pipefail
src=$1 build=$2
dest=$(mktemp -d)
trap 'rm -rf "$dest"' EXIT
export LC_ALL=C.UTF-8 MANWIDTH=80 MANPAGER=cat PAGER=cat
unset MANPATH MANOPT

failures=()
fail() {
  echo "FAIL: $*"
  failures+=("$*")
}
ok() { echo "ok: $*"; }

# ---- the build: its install locations, and the launcher target -------------------------------

# Everything below comes from Meson's own description of the build (meson-info), so it follows
# the prefix, libdir and target names instead of guessing them.
info=$build/meson-info
read -r prefix bindir libdir includedir mandir version < <(python3 - "$info" <<'EOF'
import json, sys
info = sys.argv[1]
options = {o["name"]: o["value"] for o in json.load(open(f"{info}/intro-buildoptions.json"))}
version = json.load(open(f"{info}/intro-projectinfo.json"))["version"]
print(*(options[n] for n in ("prefix", "bindir", "libdir", "includedir", "mandir")), version)
EOF
)
under_prefix() { if [[ $1 == /* ]]; then echo "$dest$1"; else echo "$dest$prefix/$1"; fi; }
bin=$(under_prefix "$bindir") lib=$(under_prefix "$libdir")
inc=$(under_prefix "$includedir") man=$(under_prefix "$mandir")

# The launcher is the executable target named greenrun (the preload is the shared library of
# that name). Prints its installed path, then the source files it is built from.
mapfile -t launcher < <(python3 - "$info" <<'EOF'
import json, sys
for t in json.load(open(f"{sys.argv[1]}/intro-targets.json")):
    if t["name"] == "greenrun" and t["type"] == "executable":
        print(t["install_filename"][0] if t["installed"] else "not installed")
        for group in t["target_sources"]:
            for source in group.get("sources", []):
                print(source)
EOF
)
if [ ${#launcher[@]} -eq 0 ]; then
  fail "the build has no launcher yet: no executable target named 'greenrun' in $build (bin/greenrun is part of the install)"
elif [ "${launcher[0]}" = "not installed" ]; then
  fail "the launcher target 'greenrun' is not installed (it needs install : true)"
fi

# Installed targets the test's depends in meson.build do not name (a launcher defined under
# another name, a new installed library) may not be built yet: build them, nothing else.
mapfile -t unbuilt < <(python3 - "$info" "$build" <<'EOF'
import json, os, sys
for t in json.load(open(f"{sys.argv[1]}/intro-targets.json")):
    if t["installed"]:
        for f in t["filename"]:
            if not os.path.exists(f):
                print(os.path.relpath(f, sys.argv[2]))
EOF
)
if [ ${#unbuilt[@]} -gt 0 ]; then
  echo "building what the install needs: ${unbuilt[*]}"
  ninja -C "$build" "${unbuilt[@]}" >/dev/null
fi

meson install -C "$build" --destdir "$dest" --no-rebuild >/dev/null
echo "installed into DESTDIR $dest, prefix $prefix"

# ---- the layout ------------------------------------------------------------------------------

launcher_bin=$bin/greenrun
preload=$lib/libgreenrun.so
page1=$man/man1/greenrun.1
page3=$man/man3/greenrun.3
for f in "$preload" "$lib/libgreenrun-runtime.so" "$inc/greenrun/greenrun.h" \
         "$inc/greenrun/greenrun.hpp" "$lib/pkgconfig/greenrun-runtime.pc" "$page1" "$page3"; do
  if [ -f "$f" ]; then ok "installed ${f#"$dest"}"; else fail "not installed: ${f#"$dest"}"; fi
done
have_launcher=0
if [ -x "$launcher_bin" ]; then
  ok "installed ${launcher_bin#"$dest"}"
  have_launcher=1
elif [ ${#launcher[@]} -gt 0 ]; then  # else said above: the build has no launcher
  fail "not installed: ${launcher_bin#"$dest"} (the launcher)"
fi

# ---- the manual pages ------------------------------------------------------------------------

# Renders PAGE with man(1) as a reader gets it (80 columns) into rendered_PAGE; any groff warning
# (all of them enabled) or man error fails. Typographic dashes become ASCII for the greps below.
render() {  # PAGE NAME
  local err=$dest/man-$2.err out=$dest/man-$2.txt
  if ! man --warnings=w -l "$1" >"$out" 2>"$err"; then
    fail "man -l ${1#"$dest"} failed: $(cat "$err")"
  elif [ -s "$err" ]; then
    fail "man -l ${1#"$dest"} warns: $(cat "$err")"
  elif ! grep -q '^NAME' "$out"; then
    fail "man -l ${1#"$dest"} rendered no NAME section"
  else
    ok "man -l ${1#"$dest"}: $(wc -l <"$out") lines, no warnings"
  fi
  local groff_err
  groff_err=$(groff -man -Tutf8 -ww -z "$1" 2>&1) || true
  [ -z "$groff_err" ] || fail "groff -man -ww ${1#"$dest"} warns: $groff_err"
  sed -i 's/\xe2\x80\x90/-/g; s/\xe2\x88\x92/-/g' "$out"  # U+2010 hyphen, U+2212 minus
}
[ -f "$page1" ] && render "$page1" greenrun.1
[ -f "$page3" ] && render "$page3" greenrun.3

# The words of TEXT_FILE (options, variable names) missing from the rendered page RENDERED,
# each as a whole word: --stats does not count for --stats-file, nor -h for --help.
missing_words() {  # RENDERED WORDS...
  python3 - "$@" <<'EOF'
import re, sys
text = open(sys.argv[1]).read()
for word in sys.argv[2:]:
    if not re.search(r"(?<![\w-])%s(?![\w-])" % re.escape(word), text):
        print(word)
EOF
}

# greenrun.1 names every GREENRUN_* variable the preload, the shims, the runtime and the
# launcher read (each appears in their code as a string literal).
if [ -f "$page1" ]; then
  mapfile -t code_files < <(find "$src/preload" "$src/shims" "$src/runtime" -name '*.cpp' -o -name '*.h' -o -name '*.c')
  for f in "${launcher[@]:1}"; do [ -f "$f" ] && code_files+=("$f"); done
  mapfile -t variables < <(grep -ohE '"GREENRUN_[A-Z_]+' "${code_files[@]}" | tr -d '"' | sort -u)
  environment=$dest/environment.txt
  sed -n '/^ENVIRONMENT/,/^[A-Z]/p' "$dest/man-greenrun.1.txt" >"$environment"
  missing=$(missing_words "$environment" "${variables[@]}")
  if [ -n "$missing" ]; then
    fail "greenrun(1)'s ENVIRONMENT does not describe what the code reads: $(tr "\n" " " <<<"$missing")"
  else
    ok "greenrun(1)'s ENVIRONMENT describes ${#variables[@]} variables: ${variables[*]}"
  fi
fi

# greenrun.3 declares exactly what the installed greenrun.h declares.
if [ -f "$page3" ]; then
  if out=$(python3 "$src/tests/install/check_man3.py" "$inc/greenrun/greenrun.h" "$page3"); then
    ok "$out"
  else
    fail "$out"
  fi
fi

# ---- the launcher ----------------------------------------------------------------------------

if [ "$have_launcher" = 1 ]; then
  if help=$("$launcher_bin" --help 2>&1) && [ -n "$help" ]; then
    ok "greenrun --help: $(wc -l <<<"$help") lines"
    # The options --help lists: on each line that starts (after indentation) with a dash, the
    # names in its first column, up to two spaces ("-h, --help", "--stats[=FILE]").
    mapfile -t options < <(python3 - "$help" <<'EOF'
import re, sys
for line in sys.argv[1].splitlines():
    if re.match(r"\s*-", line):
        column = re.split(r"\s{2,}|\t", line.strip())[0]
        for name in re.findall(r"(?:^|[\s,])(-{1,2}[A-Za-z][\w-]*)", column):
            print(name)
EOF
    )
    if [ ${#options[@]} -eq 0 ]; then
      fail "greenrun --help lists no options (expected lines starting with -x or --xxx): $help"
    elif [ -f "$page1" ]; then
      missing=$(missing_words "$dest/man-greenrun.1.txt" "${options[@]}")
      if [ -n "$missing" ]; then
        fail "greenrun(1) does not name these options of greenrun --help: $(tr "\n" " " <<<"$missing")"
      else
        ok "greenrun(1) names all ${#options[@]} options of --help: ${options[*]}"
      fi
    fi
  else
    fail "greenrun --help failed or printed nothing: $help"
  fi

  if v=$("$launcher_bin" --version 2>&1) && grep -qF "$version" <<<"$v"; then
    ok "greenrun --version: $v"
  else
    fail "greenrun --version did not print version $version and exit 0: $v"
  fi

  # --stats on a small threaded program: the table reaches stderr, with the threads it made.
  cat >"$dest/threads.c" <<'EOF'
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>
static void* nap(void* arg) { usleep(10000); return arg; }
int main(void) {
  pthread_t t[4];
  for (int i = 0; i < 4; ++i) pthread_create(&t[i], NULL, nap, NULL);
  for (int i = 0; i < 4; ++i) pthread_join(t[i], NULL);
  puts("4 threads joined");
  return 0;
}
EOF
  cc -O1 -pthread "$dest/threads.c" -o "$dest/threads"
  # No --library and no GREENRUN_LIBRARY: the launcher finds the preload of its own
  # installation, as a user's does (from bindir to libdir, so inside DESTDIR too).
  if out=$(env -u GREENRUN_LIBRARY "$launcher_bin" --stats "$dest/threads" 2>&1) &&
     grep -q "4 threads joined" <<<"$out" && grep -q "greenrun: statistics" <<<"$out" &&
     grep -qE "threads created +4" <<<"$out"; then
    ok "greenrun --stats: the program ran and the table says $(grep -E 'threads created' <<<"$out" | xargs)"
  else
    fail "greenrun --stats ./threads did not run it and print the statistics table: $out"
  fi
fi

# ---- the runtime library as a program uses it ------------------------------------------------

pc=$lib/pkgconfig
if [ -f "$pc/greenrun-runtime.pc" ]; then
  prefix_in_pc=$(PKG_CONFIG_PATH=$pc pkg-config --variable=prefix greenrun-runtime)
  flags=$(PKG_CONFIG_PATH=$pc PKG_CONFIG_SYSROOT_DIR=$dest pkg-config --cflags --libs greenrun-runtime)
  echo "pkg-config: $flags"
  out=""
  # shellcheck disable=SC2086 # pkg-config's flags are words
  if g++ -std=c++20 -O1 "$src/demos/api_tour.cpp" $flags -o "$dest/api_tour" &&
     out=$(LD_LIBRARY_PATH=$lib "$dest/api_tour") &&
     grep -q "greenlet consumer summed to 10" <<<"$out" && grep -q "sum 499500" <<<"$out"; then
    ok "demos/api_tour.cpp built against the installed headers and library (prefix $prefix_in_pc) runs"
  else
    fail "demos/api_tour.cpp against the installed runtime: ${out:-did not build}"
  fi
  # greenrun(3)'s EXAMPLE, as the reader sees it, is a C program that builds and runs.
  if [ -f "$dest/man-greenrun.3.txt" ]; then
    out=""
    LC_ALL=C MANWIDTH=200 man -l "$page3" 2>/dev/null |
      sed -n '/^EXAMPLES/,/^[A-Z]/p' | sed -n 's/^           //p' >"$dest/example.c"
    # shellcheck disable=SC2086
    if grep -q 'int main' "$dest/example.c" &&
       cc -std=c11 -Wall -Werror -O1 "$dest/example.c" $flags -o "$dest/example" &&
       out=$(LD_LIBRARY_PATH=$lib "$dest/example") && grep -q "total 5050" <<<"$out"; then
      ok "greenrun(3)'s EXAMPLE builds with cc and the pkg-config flags, and prints: $(tr "\n" " " <<<"$out")"
    else
      fail "greenrun(3)'s EXAMPLE does not build and print 'total 5050': ${out:-$(head -c 2000 "$dest/example.c")}"
    fi
  fi
fi

if [ ${#failures[@]} -gt 0 ]; then
  echo "install check: ${#failures[@]} failed:"
  printf '  %s\n' "${failures[@]}"
  exit 1
fi
echo "install check: the installed launcher, preload, runtime, headers, pkg-config file and manual pages work"
