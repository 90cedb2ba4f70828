// Whether the preload can reach the program at all, checked before the exec: only the dynamic
// loader reads LD_PRELOAD, so a statically linked program (no PT_INTERP program header), or one
// built for another architecture than libgreenrun.so, would run natively without a word. Such a
// program is refused in one line with exit status 2, as a malformed GREENRUN_* value is. A
// script is judged by its #! interpreter (through `#!/usr/bin/env NAME`, by NAME).
#pragma once
#include <string>

namespace greenrun::launcher {

// Looks `name` up as exec would (a name with a slash is a path, another is searched in PATH)
// and checks what the kernel would run for it. Returns 0 when it can run preloaded; otherwise
// the exit status after one line on stderr: 127 not found (as a shell says it), 126 not
// executable, 2 out of the preload's reach.
int check_program(const char* name, const std::string& library);

}  // namespace greenrun::launcher
