// greenrun --workers N: N copies of one program, each preloaded and given GREENRUN_REUSEPORT=1
// so that they all bind the same TCP ports and the kernel spreads connections over them, as
// gunicorn -w N does; the launcher stays as their supervisor. It restarts none: the first copy
// that fails (non-zero status or a signal) stops the others, and its status is the launcher's.
#pragma once

namespace greenrun::launcher {

// Parses --workers' value, a number of copies from 1 to 1024 or "auto" (one per online CPU),
// into `count`. Returns nullptr, or why the value is refused.
const char* read_workers(const char* text, int& count);

// Starts `count` copies of argv[0] with argv (the environment already holds LD_PRELOAD and the
// settings), supervises them and ends the launcher as the first failing copy ended: with its
// exit status, or killed by its signal. Exit 0 once all have exited 0.
[[noreturn]] void run_workers(int count, char** argv);

}  // namespace greenrun::launcher
