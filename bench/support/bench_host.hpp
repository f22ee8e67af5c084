// What several benches share: the recorded answer's tokens, and an in-process host on loopback
// (LAN mode: its embedded rendezvous on 127.0.0.1 or `listen_host`, any free port) fed by a
// PacedSource.
#pragma once

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "paced_source.hpp"
#include "tokencast/host/host.hpp"

namespace tokencast::bench {

// A JSON array of token strings (bench/js/tokenize.mjs), or nullopt after saying why on stderr.
inline std::optional<std::vector<std::string>> load_tokens(const std::string& file) {
  std::ifstream in(file);
  auto json = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  std::vector<std::string> tokens;
  if (json.is_array()) {
    for (const auto& t : json) {
      if (t.is_string()) tokens.push_back(t.get<std::string>());
    }
  }
  if (tokens.empty() || tokens.size() != json.size()) {
    std::fprintf(stderr, "%s: expected a JSON array of token strings\n", file.c_str());
    return std::nullopt;
  }
  return tokens;
}

// A host whose store is `dir`/bench.db and whose model is `source`; null after saying why.
inline std::unique_ptr<HostRuntime> start_loopback_host(
    const std::filesystem::path& dir, std::unique_ptr<PacedSource> source, size_t max_peers = 1000,
    int64_t pace_ms = 16, int64_t batch_ms = 0, size_t direct_peers = 100,
    size_t relay_children = 4, const std::string& listen_host = "127.0.0.1") {
  std::filesystem::create_directories(dir);
  HostOptions options;
  options.db_path = (dir / "bench.db").string();
  options.listen_host = listen_host;
  options.listen_port = 0;
  options.source = std::move(source);
  options.max_peers = max_peers;
  options.pace_interval_ms = pace_ms;
  options.batch_interval_ms = batch_ms;
  options.direct_peers = direct_peers;
  options.relay_children = relay_children;
  auto host = HostRuntime::start(std::move(options));
  if (!host) {
    std::fprintf(stderr, "cannot start the host: %s\n", host.error().c_str());
    return nullptr;
  }
  return std::move(*host);
}

}  // namespace tokencast::bench
