// GREENRUN_REUSEPORT (greenrun --workers): what the other socket shims must tell the bind shim.
#pragma once

namespace greenrun::shim {

// The program set SO_REUSEPORT on `fd` itself: from now on getsockopt reports the kernel's value.
void program_set_reuseport(int fd);

}  // namespace greenrun::shim
