// `tokencast verify FILE [LINK]`: checks a signed transcript (from `tokencast export --signed`):
// that its signature verifies, and, given an invite link of the session, that the link's host
// signed it.
#include <cstdio>
#include <fstream>
#include <iostream>

#include "commands.hpp"
#include "link_input.hpp"
#include "tokencast/core/base64url.hpp"
#include "tokencast/core/invite.hpp"
#include "tokencast/core/signed_transcript.hpp"
#include "tokencast/core/text.hpp"
#include "tokencast/util/cli_args.hpp"

namespace tokencast::app {
namespace {

enum VerifyExit : int {
  kVerified = 0,
  kNotVerified = 1,  // altered, unsigned, not a transcript, or signed by another host
  kBadUsage = 2,
  kUnreadable = 3,  // the file or the link cannot be read
};

// Reads at most one byte more than a transcript may hold, so an oversized file is refused
// without reading it all.
std::optional<std::string> read_bounded(const std::string& path) {
  std::ifstream file_stream;
  std::istream* in = &std::cin;
  if (path != "-") {
    file_stream.open(path, std::ios::binary);
    if (!file_stream) return std::nullopt;
    in = &file_stream;
  }
  std::string out;
  char buffer[64 * 1024];
  while (out.size() <= kMaxSignedTranscriptBytes && in->read(buffer, sizeof buffer).gcount() > 0) {
    out.append(buffer, static_cast<size_t>(in->gcount()));
  }
  if (in->bad()) return std::nullopt;
  return out;
}

}  // namespace

int run_verify(Args args) {
  std::string path;
  std::string link_target;
  bool quiet = false;
  util::CliArgs cli("verify",
                    "Check a signed transcript (from tokencast export --signed): "
                    "its signature, and with LINK that the host of that invite "
                    "link signed it.");
  cli.positional("FILE", &path, "the signed transcript, or - for stdin");
  cli.positional("LINK", &link_target,
                 "an invite link of the session (viewer or participant), a PNG/JPEG of its QR "
                 "code, or - to read it from stdin",
                 /*required=*/false);
  cli.flag("--quiet", &quiet, "print nothing; the exit code says it all");
  cli.epilog(
      "exit codes: 0 verified, 1 not verified (altered, unsigned, not a transcript, or signed by "
      "another host than the link's), 2 bad usage, 3 the file or the link cannot be read");
  if (auto code = cli.parse_or_exit_code(args)) return *code;
  if (path == "-" && link_target == "-") {
    std::fprintf(stderr, "tokencast verify: FILE and LINK cannot both come from stdin\n");
    return kBadUsage;
  }
  std::optional<Ed25519PublicKey> expected_host;
  if (!link_target.empty()) {
    auto text = read_invite_link("verify", link_target, args);
    if (!text) return kUnreadable;
    auto link = parse_invite_link(*text);
    if (!link) {
      std::fprintf(stderr, "tokencast verify: not a valid invite link: %s\n",
                   std::string(invite_error_name(link.error())).c_str());
      return kUnreadable;
    }
    expected_host = link->host_key;
  }
  auto file = read_bounded(path);
  if (!file) {
    std::fprintf(stderr, "tokencast verify: cannot read %s\n", path.c_str());
    return kUnreadable;
  }
  auto transcript = parse_signed_transcript(*file);
  if (!transcript) {
    std::fprintf(stderr, "tokencast verify: NOT verified: %s\n",
                 transcript.error().message().c_str());
    return kNotVerified;
  }
  std::string key = base64url_encode(transcript->host_public_key);
  if (expected_host && *expected_host != transcript->host_public_key) {
    std::fprintf(stderr,
                 "tokencast verify: NOT verified: signed by host key %s, but the link's host is "
                 "%s\n",
                 key.c_str(), base64url_encode(*expected_host).c_str());
    return kNotVerified;
  }
  if (!quiet) {
    std::printf("verified: session %s, \"%s\", %zu turns, signed by host key %s%s\n",
                transcript->session_id.hex().c_str(), neutralize_line(transcript->title).c_str(),
                transcript->turns.size(), key.c_str(),
                expected_host ? " (the host of the link)"
                              : " (give the session's link to check that this is its host)");
  }
  return kVerified;
}

}  // namespace tokencast::app
