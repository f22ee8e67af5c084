// Test helper for generated known-answer files (tests/vectors/*.json): the committed file must
// equal what the code generates now; TOKENCAST_WRITE_VECTORS=1 rewrites it first.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

namespace tokencast::testing {

inline void expect_vector_file_current(const std::string& path, const std::string& generated) {
  if (const char* w = std::getenv("TOKENCAST_WRITE_VECTORS"); w && std::string(w) == "1") {
    std::ofstream(path) << generated;
  }
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  EXPECT_EQ(ss.str(), generated) << path << " is stale: regenerate (see the top of its test file)";
}

}  // namespace tokencast::testing
