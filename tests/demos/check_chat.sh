#!/usr/bin/env bash
# check_chat.sh CHAT_SH LAUNCHER BIN_DIR: runs the chat demo with 200 idle clients, and checks
# that it ends by itself within 20 s with status 0, that each client's transcript is exactly
# what the others said, that the idle clients added no OS thread to the server (3 in all: the
# one that runs every client, greenrun's spare loop thread and its preemption monitor), and
# that no chat_server is left running.
set -uo pipefail
chat=$1 launcher=$2 bin=$3
out=$(mktemp)
trap 'rm -f "$out"' EXIT
status=0
timeout 20 bash "$chat" --greenrun "$launcher" --bin "$bin" --idle 200 >"$out" 2>&1 || status=$?
cat "$out"
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
[ $status -eq 0 ] || fail "chat.sh ended with status $status (124: still running after 20 s)"

expected='-- what alice received:
   * bob joined
   * carol joined
   bob: hello alice
   carol: hi both; lots of quiet guests are on their way
   * carol left
-- what bob received:
   * carol joined
   alice: hi, anyone around?
   carol: hi both; lots of quiet guests are on their way
   * carol left
-- what carol received:
   alice: hi, anyone around?
   bob: hello alice'
transcripts=$(sed -n '/^-- what alice received:/,/^-- the server now/p' "$out" | sed '$d')
[ "$transcripts" = "$expected" ] || fail "the transcripts differ: expected
$expected"

idle_line=$(grep '^-- with 200 idle clients more: 202 clients' "$out") ||
  fail "no line saying the server has 202 clients"
threads=$(sed -n 's/.*OS threads: \([0-9]*\) (.*/\1/p' <<<"$idle_line")
[ -n "$threads" ] && [ "$threads" -le 3 ] || fail "the server has ${threads:-?} OS threads with 202 clients, not at most 3"

for exe in /proc/[0-9]*/exe; do
  [ "$(readlink "$exe" 2>/dev/null)" = "$(readlink -f "$bin/chat_server")" ] &&
    fail "a chat_server is still running: ${exe%/exe}"
done
[ $failures -eq 0 ] && echo "ok: transcripts, $threads OS threads for 202 clients, nothing left running"
exit $((failures > 0))
