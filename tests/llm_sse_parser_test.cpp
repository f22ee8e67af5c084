#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include "parse/sse_parser.hpp"
#include "tokencast/llm/sse.hpp"

using tokencast::SseError;
using tokencast::SseEvent;
using tokencast::SseOptions;
using tokencast::SseParser;

namespace {

SseEvent ev(std::string data, std::string type = "message", std::string id = "") {
  return SseEvent{std::move(type), std::move(data), std::move(id)};
}

// Feeds `stream` in one piece and requires success.
std::vector<SseEvent> parse_all(std::string_view stream, SseOptions options = {}) {
  SseParser parser(options);
  std::vector<SseEvent> out;
  auto fed = parser.feed(stream, out);
  EXPECT_TRUE(fed.has_value()) << fed.error().message();
  return out;
}

// Feeds `stream` split at the given offsets (ascending).
std::vector<SseEvent> parse_split(std::string_view stream, const std::vector<size_t>& cuts) {
  SseParser parser;
  std::vector<SseEvent> out;
  size_t begin = 0;
  for (size_t cut : cuts) {
    EXPECT_TRUE(parser.feed(stream.substr(begin, cut - begin), out).has_value());
    begin = cut;
  }
  EXPECT_TRUE(parser.feed(stream.substr(begin), out).has_value());
  return out;
}

TEST(SseParser, DispatchesOnEmptyLine) {
  SseParser parser;
  std::vector<SseEvent> out;
  ASSERT_TRUE(parser.feed("data: hello\n", out).has_value());
  EXPECT_TRUE(out.empty());
  ASSERT_TRUE(parser.feed("\n", out).has_value());
  EXPECT_EQ(out, std::vector<SseEvent>{ev("hello")});
}

TEST(SseParser, JoinsDataLinesAndHandlesFieldForms) {
  EXPECT_EQ(parse_all("data: a\ndata: b\ndata\ndata:c\ndata:  d\n\n"),
            std::vector<SseEvent>{ev("a\nb\n\nc\n d")});
  // A lone "data:" gives an event with empty data; value may contain colons.
  EXPECT_EQ(parse_all("data:\n\ndata: {\"k\": \"v:w\"}\n\n"),
            (std::vector<SseEvent>{ev(""), ev("{\"k\": \"v:w\"}")}));
}

TEST(SseParser, EventTypeIdAndRetry) {
  SseParser parser;
  std::vector<SseEvent> out;
  ASSERT_TRUE(parser
                  .feed("event: delta\nid: 7\nretry: 1500\ndata: x\n\n"
                        "data: y\n\n"              // default type again, id persists
                        "retry: 12a\ndata: z\n\n"  // not digits: ignored
                        "id\ndata: w\n\n",         // empty id resets
                        out)
                  .has_value());
  ASSERT_EQ(out.size(), 4u);
  EXPECT_EQ(out[0], ev("x", "delta", "7"));
  EXPECT_EQ(out[1], ev("y", "message", "7"));
  EXPECT_EQ(out[2], ev("z", "message", "7"));
  EXPECT_EQ(out[3], ev("w", "message", ""));
  EXPECT_EQ(parser.retry_ms(), 1500u);
  EXPECT_EQ(parser.last_event_id(), "");
}

TEST(SseParser, EmbeddedNulInIdIsIgnored) {
  using namespace std::string_view_literals;
  EXPECT_EQ(parse_all("id: 1\n\nid: a\0b\ndata: x\n\n"sv),
            std::vector<SseEvent>{ev("x", "message", "1")});
}

TEST(SseParser, CommentsAndEventsWithoutDataAreNotDispatched) {
  EXPECT_TRUE(parse_all(": keep-alive\n\n:\n\n").empty());
  // An event with a type but no data resets the type.
  EXPECT_EQ(parse_all("event: ping\n\ndata: x\n\n"), std::vector<SseEvent>{ev("x")});
  EXPECT_EQ(parse_all("data: a\n: comment inside\ndata: b\n\n"), std::vector<SseEvent>{ev("a\nb")});
  // Unknown fields are ignored; "Data" is not "data".
  EXPECT_EQ(parse_all("foo: bar\nData: no\ndata: yes\n\n"), std::vector<SseEvent>{ev("yes")});
}

TEST(SseParser, AllLineEndings) {
  const std::vector<SseEvent> expected{ev("a\nb", "t"), ev("c")};
  EXPECT_EQ(parse_all("event: t\ndata: a\ndata: b\n\ndata: c\n\n"), expected);
  EXPECT_EQ(parse_all("event: t\rdata: a\rdata: b\r\rdata: c\r\r"), expected);
  EXPECT_EQ(parse_all("event: t\r\ndata: a\r\ndata: b\r\n\r\ndata: c\r\n\r\n"), expected);
  EXPECT_EQ(parse_all("event: t\r\ndata: a\rdata: b\n\r\ndata: c\r\r\n"), expected);
}

TEST(SseParser, CrlfSplitBetweenChunksIsOneLineEnd) {
  SseParser parser;
  std::vector<SseEvent> out;
  ASSERT_TRUE(parser.feed("data: a\r", out).has_value());
  ASSERT_TRUE(parser.feed("\n", out).has_value());
  EXPECT_TRUE(out.empty()) << "CR + LF across chunks must not count as two line ends";
  ASSERT_TRUE(parser.feed("\r", out).has_value());
  EXPECT_EQ(out, std::vector<SseEvent>{ev("a")});
  ASSERT_TRUE(parser.feed("\ndata: b\r", out).has_value());  // LF completes the CRLF
  ASSERT_TRUE(parser.feed("\r", out).has_value());           // CR CR: empty line
  EXPECT_EQ(out, (std::vector<SseEvent>{ev("a"), ev("b")}));
}

TEST(SseParser, EverySplitGivesTheSameEvents) {
  const std::string stream =
      "\xEF\xBB\xBF: comment\r\nevent: delta\r\nid: 42\r\ndata: {\"a\":1}\r\ndata: two\r\n\r\n"
      "data: cr\r\rdata: lf\n\ndata:\xC3\xA9t\xC3\xA9\n\nretry: 5\nevent: end\ndata: [DONE]\n\n";
  const std::vector<SseEvent> whole = parse_all(stream);
  ASSERT_EQ(whole.size(), 5u);
  EXPECT_EQ(whole[0], ev("{\"a\":1}\ntwo", "delta", "42"));
  EXPECT_EQ(whole[3], ev("\xC3\xA9t\xC3\xA9", "message", "42"));
  EXPECT_EQ(whole[4], ev("[DONE]", "end", "42"));
  for (size_t i = 0; i <= stream.size(); ++i) {
    for (size_t j = i; j <= stream.size(); ++j) {
      ASSERT_EQ(parse_split(stream, {i, j}), whole) << "cuts at " << i << " and " << j;
    }
  }
  std::vector<size_t> every_byte;
  for (size_t i = 1; i < stream.size(); ++i) every_byte.push_back(i);
  EXPECT_EQ(parse_split(stream, every_byte), whole);
}

TEST(SseParser, BomOnlyAtStartAndOnlyOnce) {
  EXPECT_EQ(parse_all("\xEF\xBB\xBF"
                      "data: x\n\n"),
            std::vector<SseEvent>{ev("x")});
  // A second BOM is part of the first field name, which is then unknown.
  EXPECT_TRUE(parse_all("\xEF\xBB\xBF\xEF\xBB\xBF"
                        "data: x\n\n")
                  .empty());
  // Bytes that only start like a BOM are content.
  SseParser parser;
  std::vector<SseEvent> out;
  ASSERT_TRUE(parser.feed("\xEF\xBB", out).has_value());
  ASSERT_TRUE(parser.feed("x\n\n", out).has_value());
  EXPECT_TRUE(out.empty());  // field "\xEF\xBBx" is unknown: nothing dispatched
  SseParser parser2;
  ASSERT_TRUE(parser2.feed("\xEF", out).has_value());
  ASSERT_TRUE(parser2.feed("\xBB", out).has_value());
  ASSERT_TRUE(parser2.feed("\xBF", out).has_value());
  ASSERT_TRUE(parser2.feed("data: y\n\n", out).has_value());
  EXPECT_EQ(out, std::vector<SseEvent>{ev("y")});
  EXPECT_EQ(parser2.bytes_consumed(), 3u + 9u);
}

TEST(SseParser, LineTooLongFailsBeforeTheLineEnds) {
  SseOptions options;
  options.max_line_bytes = 16;
  SseParser parser(options);
  std::vector<SseEvent> out;
  ASSERT_TRUE(parser.feed("data: 0123456789\n\n", out).has_value());  // exactly 16
  ASSERT_EQ(out.size(), 1u);
  ASSERT_TRUE(parser.feed("data: 01234", out).has_value());
  auto failed = parser.feed("56789X", out);  // 17 bytes pending, no line end yet
  ASSERT_FALSE(failed.has_value());
  EXPECT_EQ(failed.error(), SseError::kLineTooLong);
  // The parser stays failed.
  auto again = parser.feed("\n\n", out);
  ASSERT_FALSE(again.has_value());
  EXPECT_EQ(again.error(), SseError::kLineTooLong);
  EXPECT_EQ(out.size(), 1u);

  SseParser whole_line(options);
  auto one_chunk = whole_line.feed("data: 0123456789ABCDEF\n", out);
  ASSERT_FALSE(one_chunk.has_value());
  EXPECT_EQ(one_chunk.error(), SseError::kLineTooLong);
}

TEST(SseParser, EventTooLargeAcrossDataLines) {
  SseOptions options;
  options.max_event_bytes = 10;
  SseParser parser(options);
  std::vector<SseEvent> out;
  // "abcd\n" + "efgh\n" = 10 bytes: at the limit.
  ASSERT_TRUE(parser.feed("data: ok\n\ndata: abcd\ndata: efgh\n\n", out).has_value());
  EXPECT_EQ(out, (std::vector<SseEvent>{ev("ok"), ev("abcd\nefgh")}));
  out.clear();
  auto failed = parser.feed("data: x\n\ndata: abcd\ndata: efgh\ndata: i\n\ndata: y\n\n", out);
  ASSERT_FALSE(failed.has_value());
  EXPECT_EQ(failed.error(), SseError::kEventTooLarge);
  EXPECT_EQ(out, std::vector<SseEvent>{ev("x")}) << "events before the error are delivered";
  EXPECT_EQ(failed.error().category(), tokencast::sse_category());
}

TEST(SseParser, FinishReportsTruncation) {
  std::vector<SseEvent> out;
  {
    SseParser parser;
    ASSERT_TRUE(parser.feed("data: a\n\n: trailing comment\n", out).has_value());
    EXPECT_TRUE(parser.finish(out).has_value());
    auto after = parser.feed("data: b\n\n", out);
    ASSERT_FALSE(after.has_value());
    EXPECT_EQ(after.error(), SseError::kTruncated);
  }
  {
    SseParser parser;
    ASSERT_TRUE(parser.feed("data: a\r", out).has_value());
    ASSERT_TRUE(parser.feed("\r", out).has_value());
    EXPECT_TRUE(parser.finish(out).has_value()) << "a lone trailing CR is a complete line end";
  }
  out.clear();
  {
    SseParser parser;
    ASSERT_TRUE(parser.feed("data: a\n", out).has_value());  // no empty line
    auto finished = parser.finish(out);
    ASSERT_FALSE(finished.has_value());
    EXPECT_EQ(finished.error(), SseError::kTruncated);
    EXPECT_TRUE(out.empty()) << "the standard discards an unfinished event";
  }
  {
    SseParser parser;
    ASSERT_TRUE(parser.feed("data: a\ndata: [DO", out).has_value());
    auto finished = parser.finish(out, /*dispatch_pending=*/true);
    ASSERT_FALSE(finished.has_value());
    EXPECT_EQ(finished.error(), SseError::kTruncated);
    EXPECT_EQ(out, std::vector<SseEvent>{ev("a\n[DO")});
  }
  out.clear();
  {
    SseParser parser;
    ASSERT_TRUE(parser.feed("\xEF\xBB", out).has_value());
    EXPECT_FALSE(parser.finish(out).has_value()) << "a held partial BOM is pending content";
  }
}

TEST(SseParser, ErrorFieldExtension) {
  const std::string stream = "error: {\"message\":\"too long\"}\n\n";
  EXPECT_TRUE(parse_all(stream).empty()) << "standard mode ignores the unknown field";
  SseOptions options;
  options.error_field_as_event = true;
  EXPECT_EQ(parse_all(stream, options),
            std::vector<SseEvent>{ev("{\"message\":\"too long\"}", "error")});
}

TEST(SseParser, InternalFieldSplitting) {
  auto field = tokencast::sse::split_field("data: x: y");
  EXPECT_EQ(field.name, "data");
  EXPECT_EQ(field.value, "x: y");
  field = tokencast::sse::split_field("event");
  EXPECT_EQ(field.name, "event");
  EXPECT_EQ(field.value, "");
  EXPECT_TRUE(tokencast::sse::all_ascii_digits("0123"));
  EXPECT_FALSE(tokencast::sse::all_ascii_digits(""));
  EXPECT_FALSE(tokencast::sse::all_ascii_digits("1 "));
}

TEST(SseParser, RetryOverflowSaturates) {
  SseParser parser;
  std::vector<SseEvent> out;
  ASSERT_TRUE(parser.feed("retry: 99999999999999999999999\n\n", out).has_value());
  EXPECT_EQ(parser.retry_ms(), UINT64_MAX);
}

TEST(SseParser, ErrorCategoryNamesEveryError) {
  for (auto e : {SseError::kLineTooLong, SseError::kEventTooLarge, SseError::kTruncated}) {
    std::error_code code = e;
    EXPECT_EQ(std::string(code.category().name()), "tokencast.sse");
    EXPECT_NE(code.message(), "unknown event stream error");
  }
}

}  // namespace
