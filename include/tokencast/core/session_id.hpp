// A session's identity: 128 random bits, chosen by the host when the session is created and
// kept across restarts. The welcome frame carries it so a resuming client can tell that it
// reached the same session.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tokencast {

struct SessionId {
  std::array<uint8_t, 16> bytes{};
  // 32 lowercase hex digits.
  std::string hex() const;
  // Exactly 32 lowercase hex digits; nullopt otherwise.
  static std::optional<SessionId> from_hex(std::string_view text);
  bool operator==(const SessionId&) const = default;
};

}  // namespace tokencast
