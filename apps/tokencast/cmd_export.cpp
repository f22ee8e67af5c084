#include <cstdio>

#include "commands.hpp"

namespace tokencast::app {

// Not built yet: this says so plainly rather than pretending (see the open issues).
int run_export(Args args) {
  for (auto a : args) {
    if (a == "--help" || a == "-h") {
      std::puts("usage: tokencast export ...\n\nThis command is not implemented yet.");
      return 0;
    }
  }
  std::fputs("tokencast export: not implemented yet\n", stderr);
  return 3;
}

}  // namespace tokencast::app
