// Small helpers shared by the bench programs: percentiles, process CPU time and memory, and the
// one-line JSON result every bench prints last ("RESULT {...}") for bench/run to collect.
#pragma once

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

namespace tokencast::bench {

using Clock = std::chrono::steady_clock;

inline double ms_between(Clock::time_point start, Clock::time_point end) {
  return std::chrono::duration<double, std::milli>(end - start).count();
}

// Nearest-rank percentile (p in [0, 100]) of an unsorted sample; 0 for an empty one.
inline double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  auto rank = static_cast<size_t>(p / 100.0 * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(rank, v.size() - 1)];
}

// This process's CPU time (user + system, all threads), in seconds.
inline double process_cpu_seconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

// Resident set size of this process, in bytes (from /proc/self/statm).
inline size_t resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  size_t total_pages = 0;
  size_t resident_pages = 0;
  statm >> total_pages >> resident_pages;
  return resident_pages * static_cast<size_t>(sysconf(_SC_PAGESIZE));
}

// A flat JSON object built field by field; numbers and plain strings only.
class JsonLine {
 public:
  JsonLine& num(const std::string& key, double value) {
    char text[64];
    std::snprintf(text, sizeof text, "%.6g", value);
    return raw(key, text);
  }
  JsonLine& str(const std::string& key, const std::string& value) {
    std::string quoted = "\"";
    for (char c : value) {
      if (c == '"' || c == '\\') quoted += '\\';
      if (static_cast<unsigned char>(c) >= 0x20) quoted += c;
    }
    return raw(key, quoted + "\"");
  }
  // Percentiles of a sample as {"n","p50","p90","p99","p999","max","over_1s"}; `one_second`
  // is a second in the sample's unit (1000 for milliseconds, 1e6 for microseconds).
  JsonLine& dist(const std::string& key, const std::vector<double>& v, double one_second = 1000) {
    JsonLine d;
    d.num("n", static_cast<double>(v.size()))
        .num("p50", percentile(v, 50))
        .num("p90", percentile(v, 90))
        .num("p99", percentile(v, 99))
        .num("p999", percentile(v, 99.9))
        .num("max", v.empty() ? 0.0 : *std::max_element(v.begin(), v.end()))
        .num("over_1s", static_cast<double>(std::count_if(
                            v.begin(), v.end(), [=](double x) { return x > one_second; })));
    return raw(key, d.text());
  }
  JsonLine& raw(const std::string& key, const std::string& json) {
    fields_.emplace_back(key, json);
    return *this;
  }
  std::string text() const {
    std::string out = "{";
    for (size_t i = 0; i < fields_.size(); ++i) {
      if (i > 0) out += ',';
      out += '"' + fields_[i].first + "\":" + fields_[i].second;
    }
    return out + "}";
  }
  // The line bench/run collects: "RESULT {...}" on stdout.
  void print_result() const {
    std::printf("RESULT %s\n", text().c_str());
    std::fflush(stdout);
  }

 private:
  std::vector<std::pair<std::string, std::string>> fields_;
};

}  // namespace tokencast::bench
