#include "link_input.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <iostream>

#include "tokencast/qr/qr.hpp"

namespace tokencast::app {
namespace {

// Overwrites the secret part (after '#') of a link in our own argv, so that other local users
// reading /proc/PID/cmdline see it only for the instant before this runs. argv's strings are
// writable (C11 5.1.2.2.1).
void scrub_secret(Args args) {
  for (std::string_view arg : args) {
    auto hash = arg.find('#');
    if (hash == std::string_view::npos) continue;
    char* bytes = const_cast<char*>(arg.data());
    std::fill(bytes + hash + 1, bytes + arg.size(), 'x');
  }
}

}  // namespace

std::optional<std::string> read_invite_link(const std::string& command, const std::string& target,
                                            Args args) {
  std::string link = target;
  if (target == "-") {
    if (!std::getline(std::cin, link)) {
      std::fprintf(stderr, "tokencast %s: no link on stdin\n", command.c_str());
      return std::nullopt;
    }
    while (!link.empty() && (link.back() == '\r' || link.back() == ' ')) link.pop_back();
  } else if (target.starts_with("http://") || target.starts_with("https://")) {
    scrub_secret(args);
  } else {
    struct stat st {};
    if (::stat(target.c_str(), &st) != 0) {
      std::fprintf(stderr, "tokencast %s: not an invite link, and no file named that\n",
                   command.c_str());
      return std::nullopt;
    }
    auto decoded = qr_decode_file(target);
    if (!decoded) {
      std::fprintf(stderr, "tokencast %s: %s: %s\n", command.c_str(), target.c_str(),
                   decoded.error().message().c_str());
      return std::nullopt;
    }
    link = *decoded;
  }
  return link;
}

}  // namespace tokencast::app
