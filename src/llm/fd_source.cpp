// The fd source: the bytes of one file descriptor (usually stdin) until EOF, as one answer.
#include <poll.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>

#include "tokencast/core/text.hpp"
#include "turn.hpp"

namespace tokencast {
namespace {

constexpr size_t kReadSize = 64 * 1024;

class FdSource final : public llm::ThreadedSource {
 public:
  explicit FdSource(FdSourceOptions options)
      : ThreadedSource(options.think_tags), options_(std::move(options)) {}
  ~FdSource() override {
    shutdown();
    if (options_.close_on_destroy && options_.fd >= 0) ::close(options_.fd);
  }
  FdSource(const FdSource&) = delete;
  FdSource& operator=(const FdSource&) = delete;

  std::string model() const override { return options_.label; }

 protected:
  void run(std::vector<ChatMessage> /*history*/, llm::Turn& turn) override {
    if (ended_.load()) {
      turn.fail("the input has ended");
      return;
    }
    Utf8Repair utf8;
    std::string buffer(kReadSize, '\0');
    for (;;) {
      pollfd fds[2] = {{options_.fd, POLLIN, 0}, {turn.wake_fd(), POLLIN, 0}};
      int ready = ::poll(fds, turn.wake_fd() >= 0 ? 2 : 1, 250);
      if (turn.cancelled()) return;
      if (ready < 0 && errno != EINTR) {
        turn.fail(std::string("waiting for the input failed: ") + std::strerror(errno));
        return;
      }
      if (ready <= 0 || fds[0].revents == 0) continue;
      ssize_t n = ::read(options_.fd, buffer.data(), buffer.size());
      if (n < 0) {
        if (errno == EAGAIN || errno == EINTR) continue;
        turn.fail(std::string("reading the input failed: ") + std::strerror(errno));
        return;
      }
      if (n == 0) {
        ended_.store(true);
        std::string rest = utf8.finish();
        if (!rest.empty()) turn.delta(std::move(rest));
        turn.done();
        return;
      }
      std::string text = utf8.push(std::string_view(buffer.data(), static_cast<size_t>(n)));
      if (!text.empty()) turn.delta(std::move(text));
    }
  }

 private:
  FdSourceOptions options_;
  std::atomic<bool> ended_{false};
};

}  // namespace

std::unique_ptr<LlmSource> make_fd_source(FdSourceOptions options) {
  return std::make_unique<FdSource>(std::move(options));
}

}  // namespace tokencast
