#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <future>
#include <vector>

#include "tokencast/util/event_loop.hpp"

namespace tokencast::util {
namespace {

TEST(EventLoop, RunsTasksFromManyThreadsInPostOrderPerThread) {
  EventLoop loop;
  loop.start();
  std::vector<std::vector<int>> seen(4);
  std::vector<std::thread> posters;
  for (int t = 0; t < 4; ++t) {
    posters.emplace_back([&, t] {
      for (int i = 0; i < 1000; ++i) loop.post([&, t, i] { seen[t].push_back(i); });
    });
  }
  for (auto& p : posters) p.join();
  std::promise<void> done;
  loop.post([&] { done.set_value(); });
  done.get_future().wait();
  for (const auto& s : seen) {
    ASSERT_EQ(s.size(), 1000u);
    EXPECT_TRUE(std::is_sorted(s.begin(), s.end()));
  }
}

TEST(EventLoop, TimersFireInDeadlineOrderAndCanBeCancelled) {
  EventLoop loop;
  std::vector<int> order;
  loop.post_after(std::chrono::milliseconds(30), [&] { order.push_back(3); });
  auto cancelled = loop.post_after(std::chrono::milliseconds(10), [&] { order.push_back(99); });
  loop.post_after(std::chrono::milliseconds(5), [&] { order.push_back(1); });
  loop.post([&] { order.push_back(0); });
  loop.cancel(cancelled);
  loop.post_after(std::chrono::milliseconds(40), [&] { loop.stop(); });
  loop.run();
  EXPECT_EQ(order, (std::vector<int>{0, 1, 3}));
}

TEST(EventLoop, StopDropsLaterPosts) {
  EventLoop loop;
  std::atomic<int> ran{0};
  loop.start();
  loop.stop();
  loop.post([&] { ran++; });
  EXPECT_EQ(loop.post_after(std::chrono::milliseconds(1), [&] { ran++; }), 0u);
  std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(ran.load(), 0);
}

}  // namespace
}  // namespace tokencast::util
