#include <gtest/gtest.h>

#include <array>

#include "tokencast/util/cli_args.hpp"

using tokencast::util::CliArgs;
using tokencast::util::parse_host_port;

namespace {

TEST(CliArgs, ParsesFlagsOptionsAndPositionals) {
  CliArgs cli("join", "join a session");
  bool once = false;
  std::string name;
  std::vector<std::string> ice;
  std::string link;
  cli.flag("--once", &once, "exit after one answer");
  cli.option("--name", "NAME", &name, "display name");
  cli.multi("--ice", "URL", &ice, "ICE server");
  cli.positional("LINK", &link, "invite link");
  std::array<std::string_view, 7> args{"--once", "--name", "ada",           "--ice=stun:a",
                                       "--ice",  "stun:b", "http://x/j#abc"};
  ASSERT_EQ(cli.parse(args), CliArgs::Outcome::kRun);
  EXPECT_TRUE(once);
  EXPECT_EQ(name, "ada");
  EXPECT_EQ(ice, (std::vector<std::string>{"stun:a", "stun:b"}));
  EXPECT_EQ(link, "http://x/j#abc");
}

TEST(CliArgs, RejectsUnknownOptionMissingValueAndMissingPositional) {
  std::string name;
  std::string link;
  CliArgs cli("join", "join a session");
  cli.option("--name", "NAME", &name, "display name");
  cli.positional("LINK", &link, "invite link");
  std::array<std::string_view, 1> unknown{"--bogus"};
  EXPECT_EQ(cli.parse(unknown), CliArgs::Outcome::kError);
  std::array<std::string_view, 2> missing_value{"x", "--name"};
  EXPECT_EQ(cli.parse(missing_value), CliArgs::Outcome::kError);
  std::array<std::string_view, 0> nothing{};
  EXPECT_EQ(cli.parse(nothing), CliArgs::Outcome::kError);
  std::array<std::string_view, 2> extra{"a", "b"};
  EXPECT_EQ(cli.parse(extra), CliArgs::Outcome::kError);
}

TEST(CliArgs, FlagWithValueIsAnError) {
  bool once = false;
  CliArgs cli("join", "s");
  cli.flag("--once", &once, "h");
  std::array<std::string_view, 1> args{"--once=yes"};
  EXPECT_EQ(cli.parse(args), CliArgs::Outcome::kError);
}

TEST(HostPort, ParsesAndRejects) {
  auto v4 = parse_host_port("127.0.0.1:8080");
  ASSERT_TRUE(v4);
  EXPECT_EQ(v4->host, "127.0.0.1");
  EXPECT_EQ(v4->port, 8080);
  auto v6 = parse_host_port("[::1]:443");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->host, "::1");
  for (auto bad : {"", ":80", "host:", "host:0", "host:65536", "host:80x", "::1:80", "[::1:80"}) {
    EXPECT_FALSE(parse_host_port(bad)) << bad;
  }
}

}  // namespace

namespace tokencast::util {
namespace {

TEST(Duration, ParsesEachUnitAndRejectsTheRest) {
  using std::chrono::milliseconds;
  EXPECT_EQ(parse_duration("250ms"), milliseconds(250));
  EXPECT_EQ(parse_duration("90s"), milliseconds(90'000));
  EXPECT_EQ(parse_duration("90"), milliseconds(90'000));
  EXPECT_EQ(parse_duration("45m"), milliseconds(45 * 60'000));
  EXPECT_EQ(parse_duration("2h"), milliseconds(2 * 3'600'000));
  EXPECT_EQ(parse_duration("7d"), milliseconds(7 * 86'400'000LL));
  EXPECT_EQ(parse_duration("0s"), milliseconds(0));
  for (const char* bad : {"", "s", "ms", "-5s", "+5s", "1.5h", " 5s", "5s ", "5 s", "5sec", "5hm",
                          "1e3", "0x10", "5S", "9999999999999", "367d", "99999999999h"}) {
    EXPECT_FALSE(parse_duration(bad)) << bad;
  }
  EXPECT_FALSE(parse_duration("2h", std::chrono::hours(1)));
  EXPECT_EQ(parse_duration("1h", std::chrono::hours(1)), milliseconds(3'600'000));
}

}  // namespace
}  // namespace tokencast::util
