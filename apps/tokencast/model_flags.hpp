// What `tokencast host` asks of the model: --system, the sampling flags, --ctx-tokens,
// --header and --exec-input, checked strictly and turned into the LLM sources' options.
#pragma once

#include <string>
#include <vector>

#include "tokencast/llm/llm.hpp"
#include "tokencast/util/cli_args.hpp"

namespace tokencast::app {

struct ModelFlags {
  std::string system;  // TEXT, or @FILE
  std::string temperature;
  std::string top_p;
  std::string max_tokens;
  std::string seed;
  std::string ctx_tokens;
  std::string exec_input = "prompt";
  std::vector<std::string> headers;

  void declare(util::CliArgs& cli);
  // The options, or a message for people (which never quotes a header's value).
  Expected<GenerationOptions, std::string> generation() const;
  Expected<std::vector<HeaderLine>, std::string> header_lines() const;
  Expected<ExecInput, std::string> exec_input_mode() const;
};

}  // namespace tokencast::app
