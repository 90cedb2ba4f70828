#!/usr/bin/env bash
# The chat demo: demos/chat_server (one blocking pthread per client) under greenrun. Three
# clients made of bash's /dev/tcp join and talk, and each one's transcript is shown; then 2,000
# idle clients connect at once, and the server's OS threads and RSS are read from /proc. Ends
# by itself in a few seconds and stops everything it started.
# usage: chat.sh [--greenrun LAUNCHER] [--bin DIR] [--idle N]
#   --greenrun  the launcher (default: bin/greenrun of an installed copy, else scripts/greenrun)
#   --bin       where chat_server is (default: next to this script if it is there, as
#               installed, else build/demos of the source tree)
set -euo pipefail
here=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)
if [ -x "$here/chat_server" ]; then
  greenrun=$here/../../bin/greenrun bin=$here
else
  greenrun=$here/../scripts/greenrun bin=$here/../build/demos
fi
idle=2000
while [ $# -gt 0 ]; do
  case $1 in
    --greenrun) greenrun=$2; shift 2 ;;
    --bin) bin=$2; shift 2 ;;
    --idle) idle=$2; shift 2 ;;
    *) echo "usage: chat.sh [--greenrun LAUNCHER] [--bin DIR] [--idle N]" >&2; exit 2 ;;
  esac
done

work=$(mktemp -d)
server=""
declare -A fd reader  # per client: its socket in this shell, and the `cat` that reads it
cleanup() {
  for pid in "${reader[@]}" $server; do kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# Waits (up to 5 s) until FILE has a line that is exactly TEXT.
wait_for_line() {
  for _ in $(seq 100); do
    grep -qxF -- "$2" "$1" 2>/dev/null && return 0
    sleep 0.05
  done
  echo "chat.sh: $(basename "$1" .txt) never received \"$2\"" >&2
  return 1
}

# The server, under greenrun; it prints one line, "listening on PORT".
"$greenrun" "$bin/chat_server" >"$work/server.out" &
server=$!  # the launcher replaces itself with the server: same process
for _ in $(seq 100); do grep -q '^listening on' "$work/server.out" && break; sleep 0.05; done
port=$(sed -n 's/^listening on //p' "$work/server.out")
[ -n "$port" ] || { echo "chat.sh: chat_server did not start" >&2; exit 1; }
echo "chat_server (one pthread per client) is listening on port $port, under greenrun"

# A client is a socket in this shell and a `cat` copying everything it receives to NAME.txt.
join() {
  local name=$1 f
  exec {f}<>"/dev/tcp/127.0.0.1/$port"
  fd[$name]=$f
  cat <&"$f" >"$work/$name.txt" &
  reader[$name]=$!
  echo "$name" >&"$f"  # the first line names the client
}
leave() {  # the socket closes once this shell and the reader both let go of it
  local f=${fd[$1]}
  kill -TERM "${reader[$1]}"
  wait "${reader[$1]}" 2>/dev/null || true
  exec {f}>&-
  unset "fd[$1]" "reader[$1]"
}
say() {  # NAME TEXT: sends it, and waits until every other client present has it
  echo "$2" >&"${fd[$1]}"
  local other
  for other in "${!fd[@]}"; do
    [ "$other" = "$1" ] || wait_for_line "$work/$other.txt" "$1: $2"
  done
}

join alice
join bob
wait_for_line "$work/alice.txt" "* bob joined"
join carol
wait_for_line "$work/bob.txt" "* carol joined"
say alice "hi, anyone around?"
say bob "hello alice"
say carol "hi both; lots of quiet guests are on their way"
leave carol
wait_for_line "$work/alice.txt" "* carol left"
wait_for_line "$work/bob.txt" "* carol left"
for name in alice bob carol; do
  echo "-- what $name received:"
  sed 's/^/   /' "$work/$name.txt"
done

# The server's OS threads (by name) and its resident memory, from /proc.
os_threads() {  # "3 (1 chat_server, 1 greenrun-loop, 1 greenrun-preemp)"
  local tasks=(/proc/"$server"/task/*)
  echo "${#tasks[@]} ($(cat /proc/"$server"/task/*/comm | sort | uniq -c |
                        awk '{printf "%s%d %s", sep, $1, $2; sep=", "}'))"
}
rss_kib() { awk '/^VmRSS:/ {print $2}' /proc/"$server"/status; }
connections() { find /proc/"$server"/fd -lname 'socket:*' | wc -l; }
echo "-- the server now: $(($(connections) - 1)) clients, OS threads: $(os_threads), RSS $(($(rss_kib) / 1024)) MiB"
before=$(rss_kib)

# Idle clients: each one a connection this shell opens and keeps, saying nothing.
ulimit -n "$(ulimit -Hn)"
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt $((idle + 64)) ]; then
  idle=$(($(ulimit -n) - 64))
  echo "(the descriptor limit allows $idle idle clients)"
fi
idle_fds=()
for ((i = 0; i < idle; i++)); do
  exec {f}<>"/dev/tcp/127.0.0.1/$port"
  idle_fds+=("$f")
done
for _ in $(seq 100); do [ "$(connections)" -gt "$idle" ] && break; sleep 0.05; done
after=$(rss_kib)
echo "-- with $idle idle clients more: $(($(connections) - 1)) clients, OS threads: $(os_threads), RSS $((after / 1024)) MiB ($(((after - before) * 1024 / idle)) bytes per client)"
echo "   (every client's thread is a green thread on chat_server's one OS thread; greenrun-loop is"
echo "   greenrun's spare OS thread for handing the loop over, greenrun-preemp its preemption monitor)"

kill -TERM "$server"
wait "$server" 2>/dev/null || true
server=""
for f in "${idle_fds[@]}"; do exec {f}>&-; done
echo "-- server stopped with SIGTERM"
