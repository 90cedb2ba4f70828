#!/usr/bin/env bash
# A threaded program in a shell pipeline, `printf data | greenrun stdin_relay | cat`, must leave
# the O_NONBLOCK flag of its inherited stdin and stdout alone: the flag belongs to the open file
# description, which the shell's other processes share. fd_flags looks at the same descriptions
# while stdin_relay waits for its input and again after it has ended; the relay must also have
# seen the data. Run natively first, then under greenrun; both must print the expected lines.
#
# usage: inherited_stdio_flags.sh GREENRUN_LAUNCHER LIBGREENRUN_SO STDIN_RELAY FD_FLAGS
set -euo pipefail
launcher=$1 library=$(readlink -f "$2") relay=$3 flags=$4

expected="during: fd 0 blocking, fd 1 blocking, fd 2 blocking
relay read 4 bytes: data; other thread ran meanwhile: yes
after: fd 0 blocking, fd 1 blocking, fd 2 blocking"

# The data comes 0.6 s late, so the relay's reader is parked on the empty pipe meanwhile; the
# "during" check runs 0.3 s in. `<&0` keeps bash from giving the background job /dev/null.
pipeline() {
  { sleep 0.6; printf data; } |
    { "$@" "$relay" <&0 & sleep 0.3; "$flags" during 0 1 2; wait $!; "$flags" after 0 1 2; } |
    cat
}

status=0
for mode in native greenrun; do
  if [ "$mode" = native ]; then
    got=$(pipeline env -u LD_PRELOAD 2>&1) || true
  else
    got=$(GREENRUN_LIBRARY=$library pipeline "$launcher" 2>&1) || true
  fi
  if [ "$got" = "$expected" ]; then
    echo "ok $mode"
  else
    echo "FAIL $mode: expected:"
    echo "$expected"
    echo "got:"
    echo "$got"
    status=1
  fi
done
exit $status
