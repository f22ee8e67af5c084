// Test and bench helper: llama.cpp's llama-server as a child process.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <iterator>
#include <regex>
#include <string>
#include <vector>

#include "support/temp_dir.hpp"
#include "support/wait.hpp"
#include "tokencast/llm/llm.hpp"

extern char** environ;

namespace tokencast::testing {

// llama-server (llama.cpp's OpenAI-compatible server) on 127.0.0.1, on a port of its choosing
// (read from its log), serving one model with one slot; killed at the end.
class LlamaServer {
 public:
  // `options`: by default --no-jinja: the chat template is applied as the in-process source
  // applies it; and the tiny model's random output (stray bytes) would fail the Jinja path's
  // output parser. A test of the reasoning parser passes --jinja and --reasoning-format.
  LlamaServer(const std::string& server, const std::string& model, int threads, int ctx,
              std::vector<std::string> options = {"--no-jinja"}) {
    std::vector<std::string> args{server, "-m", model, "--host", "127.0.0.1", "--port", "0"};
    args.insert(args.end(), options.begin(), options.end());
    args.insert(args.end(), {"-c", std::to_string(ctx), "-t", std::to_string(threads), "-np", "1"});
    std::vector<char*> argv;
    for (auto& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, log_.c_str(), O_WRONLY | O_CREAT, 0600);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    if (posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ) != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&actions);
  }
  ~LlamaServer() {
    if (pid_ > 0) {
      // SIGKILL: it has nothing to save, and SIGTERM during a load or a request may leave it
      // waiting for that to finish.
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  LlamaServer(const LlamaServer&) = delete;
  LlamaServer& operator=(const LlamaServer&) = delete;

  // Waits until it listens and has loaded the model; its base URL, or "" (and why, in the log).
  std::string base_url() {
    static const std::regex listening("listening on http://127\\.0\\.0\\.1:([0-9]+)");
    std::string port;
    bool up = wait_until(
        [&] {
          std::ifstream in(log_);
          std::string text((std::istreambuf_iterator<char>(in)), {});
          std::smatch match;
          if (std::regex_search(text, match, listening)) port = match[1];
          return !port.empty();
        },
        std::chrono::seconds(120));
    if (!up) return "";
    std::string url = "http://127.0.0.1:" + port + "/v1";
    // It answers 503 until the model is loaded.
    bool ready = wait_until([&] { return tokencast::list_models(url, "").has_value(); },
                            std::chrono::seconds(120));
    return ready ? url : "";
  }
  std::string log() const {
    std::ifstream in(log_);
    return std::string((std::istreambuf_iterator<char>(in)), {});
  }

 private:
  TempDir dir_;
  std::string log_ = dir_.file("llama-server.log");
  pid_t pid_ = -1;
};

}  // namespace tokencast::testing
