#include "launcher_elf.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "launcher_message.h"

namespace greenrun::launcher {
namespace {

// Up to `count` bytes of the file at `path` from `offset` (fewer at its end, none if it cannot
// be read).
std::vector<unsigned char> read_bytes(const std::string& path, std::uint64_t offset,
                                      std::size_t count) {
  std::vector<unsigned char> bytes(count);
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return {};
  std::size_t got = 0;
  while (got < count) {
    ssize_t n = pread(fd, bytes.data() + got, count - got, static_cast<off_t>(offset + got));
    if (n <= 0) break;
    got += static_cast<std::size_t>(n);
  }
  close(fd);
  bytes.resize(got);
  return bytes;
}

// The unsigned `width`-byte number at `at` of `bytes`, in the file's byte order.
std::uint64_t number(const std::vector<unsigned char>& bytes, std::size_t at, int width,
                     bool big_endian) {
  std::uint64_t value = 0;
  for (int i = 0; i < width; ++i) {
    const std::size_t k = big_endian ? at + i : at + width - 1 - i;
    value = value * 256 + bytes[k];
  }
  return value;
}

struct Elf {
  int elf_class;  // 1: 32-bit, 2: 64-bit
  unsigned machine;
  bool is_static;  // no PT_INTERP program header names a loader (static-pie included)
};

// The ELF header of the file at `path`; nothing for a file that is not an ELF executable or
// shared object, or that cannot be judged.
std::optional<Elf> read_elf(const std::string& path) {
  std::vector<unsigned char> bytes = read_bytes(path, 0, 1024);  // the program headers usually
  if (bytes.size() < 52 || bytes[0] != 0x7f || bytes[1] != 'E' || bytes[2] != 'L' ||  // follow
      bytes[3] != 'F')
    return std::nullopt;
  const bool big = bytes[5] == 2;
  Elf elf{bytes[4], 0, true};
  const std::uint64_t type = number(bytes, 16, 2, big);
  if (type != 2 && type != 3) return std::nullopt;  // ET_EXEC or ET_DYN
  elf.machine = static_cast<unsigned>(number(bytes, 18, 2, big));
  std::uint64_t phoff, phentsize, phnum;
  if (elf.elf_class == 2) {
    if (bytes.size() < 64) return std::nullopt;
    phoff = number(bytes, 32, 8, big);
    phentsize = number(bytes, 54, 2, big);
    phnum = number(bytes, 56, 2, big);
  } else {
    phoff = number(bytes, 28, 4, big);
    phentsize = number(bytes, 42, 2, big);
    phnum = number(bytes, 44, 2, big);
  }
  // No headers, or more than fit in e_phnum (PN_XNUM): not judged here.
  if (phnum == 0 || phnum >= 65535 || phentsize < 4) return std::nullopt;
  std::uint64_t at = phoff;
  if (bytes.size() < phoff + phnum * phentsize) {
    bytes = read_bytes(path, phoff, phnum * phentsize);
    at = 0;
    if (bytes.size() < phnum * phentsize) return std::nullopt;
  }
  for (std::uint64_t i = 0; i < phnum; ++i)
    if (number(bytes, at + i * phentsize, 4, big) == 3) elf.is_static = false;  // PT_INTERP
  return elf;
}

// "x86-64", "32-bit x86", ... for the messages.
std::string machine_name(int elf_class, unsigned machine) {
  const std::string bits = elf_class == 2 ? "64" : "32";
  switch (machine) {
    case 3: return "32-bit x86";
    case 62: return "x86-64";
    case 40: return "32-bit ARM";
    case 183: return "AArch64";
    case 243: return bits + "-bit RISC-V";
    default: return bits + "-bit ELF machine " + std::to_string(machine);
  }
}

bool exists(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0;
}

bool is_directory(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

bool executable(const std::string& path) {
  return faccessat(AT_FDCWD, path.c_str(), X_OK, AT_EACCESS) == 0;
}

// Where exec would find `name`: a name with a slash is a path (it must exist); another is
// looked up in PATH, as bash's `type -P` does: the first executable file, else the first file.
std::optional<std::string> look_up(const std::string& name) {
  if (name.find('/') != std::string::npos) {
    if (exists(name)) return name;
    return std::nullopt;
  }
  const char* search = std::getenv("PATH");
  std::string dirs = search ? search : "/bin:/usr/bin";
  std::optional<std::string> first_file;
  for (std::size_t start = 0; start <= dirs.size();) {
    std::size_t end = dirs.find(':', start);
    if (end == std::string::npos) end = dirs.size();
    std::string dir = dirs.substr(start, end - start);
    const std::string path = (dir.empty() ? "." : dir) + "/" + name;
    start = end + 1;
    if (!exists(path) || is_directory(path)) continue;
    if (executable(path)) return path;
    if (!first_file) first_file = path;
  }
  return first_file;
}

// Whitespace-separated words of `text`, as the shell's read splits them.
std::vector<std::string> words_of(const std::string& text) {
  std::istringstream in(text);
  std::vector<std::string> words;
  for (std::string w; in >> w;) words.push_back(w);
  return words;
}

// The first line of the file at `path`, of at most 256 bytes (what the kernel reads for #!).
std::string first_line(const std::string& path) {
  std::vector<unsigned char> bytes = read_bytes(path, 0, 256);
  std::string line(bytes.begin(), bytes.end());
  return line.substr(0, line.find('\n'));
}

// Refuses the program with one line, exit status 2: it would run natively, not under greenrun.
int refuse(const std::string& what, const std::string& why) {
  say(what + ", so greenrun cannot be loaded into it (" + why +
      "); not started (run it without greenrun to run it natively)");
  return 2;
}

}  // namespace

int check_program(const char* name, const std::string& library) {
  const std::string given = name;
  std::optional<std::string> found = look_up(given);
  if (!found) {
    say(given + (given.find('/') != std::string::npos ? ": No such file or directory"
                                                      : ": command not found"));
    return 127;
  }
  const std::string program = *found;
  if (is_directory(program)) {
    say(program + ": Is a directory");
    return 126;
  }
  if (!executable(program)) {
    say(program + ": Permission denied");
    return 126;
  }
  // What the kernel runs: the program, or for a script its interpreter (up to four levels, as
  // Linux follows them), and for `#!/usr/bin/env [-S] NAME` the NAME that env then runs.
  std::string runs = program;
  for (int level = 0; level < 5; ++level) {
    if (access(runs.c_str(), R_OK) != 0) break;  // executable but unreadable: exec decides
    const std::string line = first_line(runs);
    if (line.compare(0, 2, "#!") != 0) break;
    std::vector<std::string> words = words_of(line.substr(2));
    if (words.empty()) break;
    const std::string interpreter = words[0];
    if (!exists(interpreter)) {
      say(runs + ": cannot execute: its #! interpreter " + interpreter + " was not found");
      return 127;
    }
    runs = interpreter;
    if (interpreter.substr(interpreter.rfind('/') + 1) == "env" && words.size() > 1) {
      std::size_t i = words[1] == "-S" ? 2 : 1;
      for (; i < words.size(); ++i) {
        if (words[i].find('=') != std::string::npos) continue;  // NAME=VALUE for the environment
        if (words[i][0] == '-') break;                           // another of env's options
        if (std::optional<std::string> path = look_up(words[i])) runs = *path;  // else env says
        break;
      }
    }
  }
  const std::string subject =
      runs == program ? given : runs + ", the interpreter of " + given + ",";
  std::optional<Elf> elf = read_elf(runs);
  if (!elf) return 0;
  if (elf->is_static)
    return refuse(subject + " is statically linked",
                  "LD_PRELOAD reaches only dynamically linked programs");
  const std::vector<unsigned char> lib = read_bytes(library, 0, 20);  // its class and machine
  if (lib.size() < 20) return 0;
  const int lib_class = lib[4];
  const unsigned lib_machine = static_cast<unsigned>(number(lib, 18, 2, lib[5] == 2));
  if (elf->elf_class != lib_class || elf->machine != lib_machine)
    return refuse(subject + " is built for " + machine_name(elf->elf_class, elf->machine) +
                      ", libgreenrun.so for " + machine_name(lib_class, lib_machine),
                  "the loader skips a preloaded library of another architecture");
  return 0;
}

}  // namespace greenrun::launcher
