// A readable list of green threads and what each is doing, for the deadlock report and the
// stack dump: "  #3 'worker': parked, waiting on a mutex 0x55d0c0 for 1203 ms".
#pragma once

namespace greenrun::rt {

class Hub;

// Writes `heading` and one line per thread (except the hub's own) to file descriptor `fd`.
void report_threads(Hub& hub, int fd, const char* heading);

}  // namespace greenrun::rt
