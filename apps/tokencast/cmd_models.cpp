// `tokencast models [--llm URL]`: what an OpenAI-compatible server offers, so that --model can
// be chosen; without --llm, the local servers that auto-detection looks for.
#include <cstdio>

#include "commands.hpp"
#include "tokencast/core/text.hpp"
#include "tokencast/llm/llm.hpp"
#include "tokencast/util/cli_args.hpp"

namespace tokencast::app {
namespace {

void print_models(const std::vector<std::string>& models) {
  auto chosen = first_chat_model(models);
  for (const std::string& id : models) {
    // A server's list is external input: one line each, no terminal escapes.
    std::string line = neutralize_line(id);
    if (looks_like_embedding_model(id)) {
      line += "  (embedding model: cannot chat, skipped when choosing)";
    } else if (chosen && id == *chosen) {
      line += "  (the default without --model)";
    }
    std::printf("  %s\n", line.c_str());
  }
}

}  // namespace

int run_models(Args args) {
  std::string llm;
  util::CliArgs cli("models",
                    "List the models an OpenAI-compatible server offers (GET {URL}/models).");
  cli.option("--llm", "URL", &llm,
             "the server's base URL, e.g. http://127.0.0.1:11434/v1 (default: the local servers "
             "`tokencast host` looks for: Ollama on 127.0.0.1:11434, llama.cpp on "
             "127.0.0.1:8080)");
  cli.epilog(
      "The API key comes from TOKENCAST_API_KEY, else OPENAI_API_KEY.\n"
      "exit codes: 0 listed, 1 no server answered, 2 bad usage");
  if (auto code = cli.parse_or_exit_code(args)) return *code;
  const std::string key = api_key_from_environment();
  std::vector<ProbeCandidate> servers;
  if (!llm.empty()) {
    servers.push_back({"", llm});
  } else {
    servers = default_probe_candidates();
  }
  int answered = 0;
  for (const ProbeCandidate& server : servers) {
    auto models = list_models(server.base_url, llm.empty() ? std::string() : key);
    if (!models) {
      if (!llm.empty()) {
        std::fprintf(stderr, "tokencast models: %s\n", models.error().c_str());
        return 1;
      }
      continue;
    }
    ++answered;
    std::printf("%s%s%s: %zu model%s\n", server.name.c_str(), server.name.empty() ? "" : " at ",
                server.base_url.c_str(), models->size(), models->size() == 1 ? "" : "s");
    print_models(*models);
  }
  if (answered == 0) {
    std::fprintf(stderr,
                 "tokencast models: no local server answered (Ollama on 127.0.0.1:11434, "
                 "llama.cpp on 127.0.0.1:8080); give one with --llm URL\n");
    return 1;
  }
  return 0;
}

}  // namespace tokencast::app
