// Files that hold a secret (links, the QR code of a link, exports of a session): created
// readable by their owner only, whatever the umask, and never through a symlink.
#pragma once

#include <string>
#include <string_view>
#include <system_error>

#include "tokencast/core/expected.hpp"

namespace tokencast {

// Writes `bytes` to `path` atomically with mode 0600: into a fresh temporary file in the same
// directory (O_CREAT|O_EXCL|O_NOFOLLOW, mode 0600 from the start), fsync, then rename over
// `path`. Fails with ELOOP when `path` is a symlink (someone else may have planted it; it is
// left alone), and with the system's error otherwise; the temporary file never remains.
Expected<void, std::error_code> write_private_file(const std::string& path, std::string_view bytes);

// The same, with mode 0644: for files meant for other local users that hold no secret (the
// host's metrics, read by node_exporter's textfile collector).
Expected<void, std::error_code> write_readable_file(const std::string& path,
                                                    std::string_view bytes);

}  // namespace tokencast
