// Marks an interposed libc function: the preload object is built with hidden visibility, and
// only these names are exported.
#pragma once
#define GREENRUN_EXPORT extern "C" __attribute__((visibility("default")))
