// `tokencast host`: open (or resume) a session, show its QR code and links, stream answers to
// every peer, take the host's own prompts from the console.
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>
#include <thread>

#include "commands.hpp"
#include "host_console.hpp"
#include "ice_flags.hpp"
#include "model_flags.hpp"
#include "stop_signals.hpp"
#include "store_access.hpp"
#include "tokencast/core/text.hpp"
#include "tokencast/host/control.hpp"
#include "tokencast/host/host.hpp"
#include "tokencast/private_file.hpp"
#include "tokencast/qr/qr.hpp"
#include "tokencast/util/cli_args.hpp"
#include "transcript_feed.hpp"
#include "verbose_log.hpp"

extern char** environ;

namespace tokencast::app {
namespace {

constexpr const char* kEpilog =
    "LLM: with none of --llm, --model-file, --exec or --stdin, a local OpenAI-compatible server\n"
    "is looked for (Ollama on 127.0.0.1:11434, llama.cpp on 127.0.0.1:8080). Without one the\n"
    "session still opens: what you type is broadcast, and participants' prompts get a 'no model'\n"
    "answer. --model-file runs a GGUF model in this process (llama.cpp, CPU).\n"
    "The API key comes from TOKENCAST_API_KEY, else OPENAI_API_KEY; never from the command line.\n"
    "\n"
    "console: type a line to prompt the model; /cancel stops the answer; /peers lists who is\n"
    "here; /kick NAME removes a peer (its rejoins are refused); /quit stops hosting (resume it\n"
    "with --resume ID); /end ends the session for good; /help.\n"
    "\n"
    "exit codes: 0 ended cleanly, 1 could not start (store, address, model), 2 bad usage";

struct HostFlags {
  std::string llm;
  std::string model;
  std::string exec;
  bool stdin_source = false;
  bool no_think_tags = false;
  bool think_open = false;
  std::string model_file;
  std::string ctx = "4096";
  std::string threads = "0";
  std::string rendezvous;
  std::string ca;
  std::string listen = "0.0.0.0:8787";
  std::string public_url;
  std::string web_root;
  std::string db = kDefaultDb;
  std::string resume;
  bool new_links = false;
  std::string expires;
  std::string title;
  std::string links_file;
  std::string qr_png;
  std::string qr_svg;
  std::string qr_role = "viewer";
  std::string prompt;
  std::string name = "host";
  std::string max_peers = "1000";
  std::string pace_ms = "16";
  std::string batch_ms = "0";
  std::string direct_peers = "100";
  std::string relay_children = "4";
  std::string relay_depth = "3";
  bool no_qr = false;
  bool quiet = false;
  bool present = false;
  bool approve = false;
  bool verbose = false;
  std::string metrics_file;
  IceFlags ice;
  ModelFlags model_flags;
};

// What the model flags ask of every source, checked once before anything starts.
struct ModelRequest {
  GenerationOptions generation;
  std::vector<HeaderLine> headers;
  ExecInput exec_input = ExecInput::kPrompt;
};

Expected<ModelRequest, std::string> model_request(const ModelFlags& flags) {
  ModelRequest out;
  auto generation = flags.generation();
  if (!generation) return unexpected(generation.error());
  auto headers = flags.header_lines();
  if (!headers) return unexpected(headers.error());
  auto exec_input = flags.exec_input_mode();
  if (!exec_input) return unexpected(exec_input.error());
  out.generation = std::move(*generation);
  out.headers = std::move(*headers);
  out.exec_input = *exec_input;
  return out;
}

// --model-file: llama.cpp in this process. Loads the model before the session opens, so a bad
// file stops the host at once, with the reason.
Expected<std::unique_ptr<LlmSource>, std::string> model_file_source(const HostFlags& f,
                                                                    GenerationOptions generation) {
  LlamaSourceOptions o;
  o.generation = std::move(generation);
  o.model_file = f.model_file;
  o.label = f.model;
  o.verbose = f.verbose;
  o.think_tags = !f.no_think_tags;
  char* end = nullptr;
  unsigned long ctx = std::strtoul(f.ctx.c_str(), &end, 10);
  if (end == f.ctx.c_str() || *end != '\0' || ctx > 1'048'576 || (ctx != 0 && ctx < 64)) {
    return unexpected(std::string("--ctx must be 64..1048576 tokens, or 0 for the model's own"));
  }
  unsigned long threads = std::strtoul(f.threads.c_str(), &end, 10);
  if (end == f.threads.c_str() || *end != '\0' || threads > 512) {
    return unexpected(std::string("--threads must be 0..512 (0: every core)"));
  }
  o.ctx = static_cast<uint32_t>(ctx);
  o.threads = static_cast<int>(threads);
  std::fprintf(stderr, "tokencast host: loading %s\n", f.model_file.c_str());
  return make_llama_source(o);
}

// Picks the answer source from the flags, or finds a local server. Prints what it chose.
Expected<std::unique_ptr<LlmSource>, std::string> choose_source(const HostFlags& f,
                                                                ModelRequest request) {
  int chosen = (f.llm.empty() ? 0 : 1) + (f.exec.empty() ? 0 : 1) + (f.stdin_source ? 1 : 0) +
               (f.model_file.empty() ? 0 : 1);
  if (chosen > 1) {
    return unexpected(std::string("use only one of --llm, --model-file, --exec and --stdin"));
  }
  if (f.think_open && (!f.model_file.empty() || !f.exec.empty() || f.stdin_source)) {
    return unexpected(std::string("--think-open is for an OpenAI-compatible server (--llm)"));
  }
  if (!f.model_file.empty()) return model_file_source(f, std::move(request.generation));
  if (!f.exec.empty()) {
    ExecSourceOptions o;
    o.command = f.exec;
    o.label = f.model.empty() ? "exec" : f.model;
    o.input = request.exec_input;
    o.generation = std::move(request.generation);
    o.think_tags = !f.no_think_tags;
    return make_exec_source(o);
  }
  if (f.stdin_source) {
    FdSourceOptions o;
    o.fd = 0;
    o.label = f.model.empty() ? "stdin" : f.model;
    o.think_tags = !f.no_think_tags;
    return make_fd_source(o);
  }
  OpenAiSourceOptions o;
  o.api_key = api_key_from_environment();
  o.generation = std::move(request.generation);
  o.headers = std::move(request.headers);
  o.think_tags = !f.no_think_tags;
  o.think_open = f.think_open;
  if (!f.llm.empty()) {
    o.base_url = f.llm;
    o.model = f.model;
    if (o.model.empty()) {
      auto models = list_models(o.base_url, o.api_key);
      auto chat = models ? first_chat_model(*models) : std::nullopt;
      if (!chat) {
        return unexpected(
            "no --model given and " + o.base_url + " lists no chat model (" +
            (models ? std::string(models->empty() ? "an empty list" : "only embedding models")
                    : models.error()) +
            "): see tokencast models --llm URL");
      }
      o.model = *chat;
    }
    return make_openai_source(o);
  }
  auto found = detect_local_server();
  if (!found) return std::unique_ptr<LlmSource>();
  std::fprintf(stderr, "tokencast host: using %s at %s, model %s\n", found->name.c_str(),
               found->base_url.c_str(), (f.model.empty() ? found->model : f.model).c_str());
  o.base_url = found->base_url;
  o.model = f.model.empty() ? found->model : f.model;
  return make_openai_source(o);
}

// Every flag of `tokencast host`, with its --help text.
void declare_host_flags(util::CliArgs& cli, HostFlags& f) {
  cli.option("--llm", "URL", &f.llm,
             "an OpenAI-compatible base URL, e.g. http://127.0.0.1:11434/v1");
  cli.option("--model", "NAME", &f.model, "the model to ask (default: the server's first)");
  cli.option("--exec", "CMD", &f.exec,
             "run CMD per prompt: the prompt on its stdin, its stdout is the answer");
  cli.flag("--stdin", &f.stdin_source, "broadcast this process's stdin as one live answer");
  cli.option("--model-file", "PATH", &f.model_file,
             "run the GGUF model PATH in this process with llama.cpp (CPU); --model sets the "
             "name shown");
  cli.option("--ctx", "N", &f.ctx,
             "with --model-file: context size in tokens (default 4096; 0: the model's own)");
  cli.option("--threads", "N", &f.threads,
             "with --model-file: generation threads (default 0: every core)");
  f.model_flags.declare(cli);
  cli.flag("--no-think-tags", &f.no_think_tags,
           "show an answer's inline <think>...</think> as text instead of as the model's "
           "thinking (reasoning the server sends apart is thinking either way)");
  cli.flag("--think-open", &f.think_open,
           "with --llm: the server's chat template opens <think> itself and the server leaves "
           "the reasoning in the answer: the text before </think> is thinking (--model-file "
           "sees this in its template)");
  cli.option("--rendezvous", "URL[,URL...]", &f.rendezvous,
             "use a remote rendezvous (ws://HOST:PORT/ws, or wss:// for TLS: its certificate "
             "is verified, never bypassed) instead of the embedded one; more URLs name other "
             "instances of the same cluster (rendezvous --nats), tried in turn when the "
             "connection to one is lost; the links name the first and carry the others (at "
             "most 4) as alternates a joiner moves to when its rendezvous is lost, or name only "
             "--public-url");
  cli.option("--ca", "FILE", &f.ca,
             "with a wss:// --rendezvous: trust the CA certificates in this PEM file instead "
             "of the system's CA store");
  cli.option("--listen", "HOST:PORT", &f.listen,
             "where the embedded rendezvous listens (default 0.0.0.0:8787)");
  cli.option("--public-url", "URL", &f.public_url,
             "base URL of the links (default: http://<LAN address>:<port>)");
  cli.option("--web-root", "DIR", &f.web_root,
             "serve the web client from DIR instead of the built-in copy");
  cli.option("--db", "FILE", &f.db, "the session store (default ./tokencast.db)");
  cli.option("--resume", "ID", &f.resume,
             "resume a stored session (id or unique prefix), same links");
  cli.flag("--new-links", &f.new_links,
           "with --resume: fresh links (new secrets, the current address); the old ones stop "
           "working, the transcript stays");
  cli.option("--expires", "DURATION", &f.expires,
             "end the session for good this long after the host starts (e.g. 90m, 2h, 7d): its "
             "links and --resume are refused from then on");
  cli.option("--title", "TEXT", &f.title, "the new session's title");
  cli.option("--links", "FILE", &f.links_file,
             "write {\"viewer\": ..., \"participant\": ...} to FILE (mode 0600)");
  cli.option("--qr-png", "FILE", &f.qr_png, "write the QR code as a PNG");
  cli.option("--qr-svg", "FILE", &f.qr_svg, "write the QR code as an SVG");
  cli.option("--qr-role", "viewer|participant", &f.qr_role,
             "which link the QR codes carry (default viewer)");
  cli.flag("--no-qr", &f.no_qr, "do not draw the QR code in the terminal");
  cli.option("--prompt", "TEXT", &f.prompt, "a first prompt to answer");
  cli.option("--name", "NAME", &f.name, "the host's display name (default host)");
  cli.option("--max-peers", "N", &f.max_peers, "most peers at once (default 1000)");
  cli.option("--direct-peers", "N", &f.direct_peers,
             "serve at most N viewers directly; past them, new viewers are served by viewers "
             "that offered to relay (`join --relay`), which forward the host's signed stream "
             "(default 100; participants are always served directly)");
  cli.option("--relay-children", "K", &f.relay_children,
             "at most K viewers below each relaying viewer (1..64, default 4)");
  cli.option("--relay-depth", "D", &f.relay_depth,
             "the relay tree's depth: viewers at most D hops from the host; relays below "
             "relays are introduced through their parents (1..8, default 3; 1: no relays)");
  cli.option("--pace-ms", "MS", &f.pace_ms,
             "send each peer at most one frame of live tokens per MS ms, merging what arrives "
             "in between (default 16, about one display frame; 0: every token at once)");
  cli.option("--batch-ms", "MS", &f.batch_ms,
             "hold tokens up to MS ms so that those generated within it are stored in one "
             "commit and go to each peer as one message: less host CPU per token, up to MS ms "
             "more latency (default 0: each token is stored and sent as soon as it can be; "
             "nothing a peer saw is ever lost either way)");
  f.ice.declare(cli, /*host_flags=*/true);
  cli.flag("--approve", &f.approve,
           "participants' prompts wait until you let them through (/queue, /approve N, "
           "/decline N)");
  cli.flag("--present", &f.present,
           "open the presenter view (the QR code large beside the live transcript, for a "
           "projector, with Remove/Accept/Reject for you) in a browser; its address (printed, "
           "and in --links) holds a control token for this run: keep it to yourself");
  cli.flag("--quiet", &f.quiet, "do not show the transcript as it streams (the status line only)");
  cli.flag("--verbose", &f.verbose, "log connections and refusals to stderr");
  cli.option("--metrics-file", "FILE", &f.metrics_file,
             "rewrite FILE every 2 s with the host's metrics in the Prometheus text format "
             "(for node_exporter's textfile collector; mode 0644, no secrets)");
}

// Parses the command line into `f`. Returns the exit code to stop with (help shown: 0, bad
// usage: 2), or nullopt to run.
std::optional<int> parse_host_flags(Args args, HostFlags& f) {
  util::CliArgs cli("host",
                    "Open a session: stream an LLM's answers to everyone who scans the QR code.");
  declare_host_flags(cli, f);
  cli.epilog(kEpilog);
  return cli.parse_or_exit_code(args);
}

// Checks the flags and turns them into the runtime's options, all but the answer source (chosen
// once the flags are known good: it may probe for a local server). The error is a message for
// people.
Expected<HostOptions, std::string> host_options(const HostFlags& f) {
  if (f.qr_role != "viewer" && f.qr_role != "participant") {
    return unexpected(std::string("--qr-role must be viewer or participant"));
  }
  auto listen = util::parse_host_port(f.listen);
  if (!listen && f.rendezvous.empty()) return unexpected(std::string("--listen must be HOST:PORT"));
  char* end = nullptr;
  unsigned long max_peers = std::strtoul(f.max_peers.c_str(), &end, 10);
  if (end == f.max_peers.c_str() || *end != '\0' || max_peers == 0 || max_peers > 100000) {
    return unexpected(std::string("--max-peers must be 1..100000"));
  }
  unsigned long pace_ms = std::strtoul(f.pace_ms.c_str(), &end, 10);
  if (end == f.pace_ms.c_str() || *end != '\0' || pace_ms > 1000) {
    return unexpected(std::string("--pace-ms must be 0..1000"));
  }
  unsigned long batch_ms = std::strtoul(f.batch_ms.c_str(), &end, 10);
  if (end == f.batch_ms.c_str() || *end != '\0' || batch_ms > 1000 ||
      !std::isdigit(static_cast<unsigned char>(f.batch_ms[0]))) {
    return unexpected(std::string("--batch-ms must be 0..1000"));
  }
  // Digits only: strtoul would take "-1" for a huge number.
  auto count = [](const std::string& text, unsigned long low,
                  unsigned long high) -> std::optional<size_t> {
    if (text.empty() || text.size() > 6 || !std::all_of(text.begin(), text.end(), [](char c) {
          return std::isdigit(static_cast<unsigned char>(c)) != 0;
        })) {
      return std::nullopt;
    }
    unsigned long value = std::strtoul(text.c_str(), nullptr, 10);
    if (value < low || value > high) return std::nullopt;
    return static_cast<size_t>(value);
  };
  auto direct_peers = count(f.direct_peers, 1, 100000);
  if (!direct_peers) return unexpected(std::string("--direct-peers must be 1..100000"));
  auto relay_children = count(f.relay_children, 1, 64);
  if (!relay_children) return unexpected(std::string("--relay-children must be 1..64"));
  auto relay_depth = count(f.relay_depth, 1, 8);
  if (!relay_depth) return unexpected(std::string("--relay-depth must be 1..8"));
  auto ice = f.ice.servers();
  if (!ice) return unexpected(ice.error());
  auto turn_grant = f.ice.turn_grant();
  if (!turn_grant) return unexpected(turn_grant.error());
  auto turn_ca = f.ice.turn_ca_pem();
  if (!turn_ca) return unexpected(turn_ca.error());
  std::optional<std::chrono::milliseconds> expires;
  if (!f.expires.empty()) {
    expires = util::parse_duration(f.expires);
    if (!expires || expires->count() == 0) {
      return unexpected("--expires must be a duration such as 90m, 2h or 7d (at most 366d), not '" +
                        f.expires + "'");
    }
  }
  if (f.new_links && f.resume.empty()) {
    return unexpected(
        std::string("--new-links goes with --resume ID (a new session has new links)"));
  }

  HostOptions options;
  options.db_path = f.db;
  options.resume = f.resume;
  options.new_links = f.new_links;
  options.approve_prompts = f.approve;
  options.expires_in_ms = expires ? expires->count() : 0;
  options.title = f.title;
  if (!f.rendezvous.empty()) {
    size_t start = 0;
    std::vector<std::string> urls;
    while (start <= f.rendezvous.size()) {
      size_t comma = f.rendezvous.find(',', start);
      if (comma == std::string::npos) comma = f.rendezvous.size();
      urls.push_back(f.rendezvous.substr(start, comma - start));
      start = comma + 1;
    }
    if (urls.size() > 16) return unexpected(std::string("--rendezvous: at most 16 URLs"));
    for (const auto& url : urls) {
      if (!url.starts_with("ws://") && !url.starts_with("wss://")) {
        return unexpected("--rendezvous: '" + url.substr(0, 80) + "' is not a ws:// or wss:// URL");
      }
    }
    options.rendezvous_url = urls.front();
    options.rendezvous_fallback_urls.assign(urls.begin() + 1, urls.end());
  }
  options.rendezvous_ca_file = f.ca;
  if (listen) {
    options.listen_host = listen->host;
    options.listen_port = listen->port;
  }
  options.public_url = f.public_url;
  options.web_root = f.web_root;
  options.ice_servers = std::move(*ice);
  options.turn_grant = std::move(*turn_grant);
  options.relay_only = f.ice.relay_only;
  options.turn_tls_ca_pem = std::move(*turn_ca);
  options.stream_source = f.stdin_source;
  options.host_name = f.name;
  options.max_peers = max_peers;
  options.pace_interval_ms = static_cast<int64_t>(pace_ms);
  options.batch_interval_ms = static_cast<int64_t>(batch_ms);
  options.direct_peers = *direct_peers;
  options.relay_children = *relay_children;
  options.relay_depth = *relay_depth;
  return options;
}

// The QR code's files (--qr-png, --qr-svg) and the links file (--links), each written owner-only
// (qr_write_png uses write_private_file too): they hold invite links. False (after saying why)
// when one cannot be written.
bool write_link_files(const HostFlags& f, const HostLinks& links, const QrMatrix& qr,
                      const std::string& presenter) {
  if (!f.qr_png.empty() && !qr_write_png(qr, f.qr_png)) {
    std::fprintf(stderr, "tokencast host: cannot write %s\n", f.qr_png.c_str());
    return false;
  }
  if (!f.qr_svg.empty() && !write_private_file(f.qr_svg, qr_to_svg(qr))) {
    std::fprintf(stderr, "tokencast host: cannot write %s\n", f.qr_svg.c_str());
    return false;
  }
  if (!f.links_file.empty()) {
    std::string json =
        "{\"session\": \"" + links.session_id + "\", \"viewer\": \"" + json_escape(links.viewer) +
        "\", \"participant\": \"" + json_escape(links.participant) + "\"" +
        (presenter.empty() ? "" : ", \"presenter\": \"" + json_escape(presenter) + "\"") + "}\n";
    if (!write_private_file(f.links_file, json)) {
      std::fprintf(stderr, "tokencast host: cannot write %s\n", f.links_file.c_str());
      return false;
    }
  }
  return true;
}

// Shows the session: the QR code of the --qr-role link (in the terminal and its files), the
// links, and how to attach a model when none is. False (after saying why) on a failure.
bool publish_links(const HostFlags& f, const HostLinks& links, bool has_model, bool tty,
                   const std::string& presenter) {
  const std::string& qr_link = f.qr_role == "viewer" ? links.viewer : links.participant;
  auto qr = qr_encode(qr_link);
  if (!qr) {
    std::fprintf(stderr, "tokencast host: %s\n", qr.error().message().c_str());
    return false;
  }
  if (!write_link_files(f, links, *qr, presenter)) return false;
  if (!f.no_qr) std::fputs(qr_to_terminal(*qr, tty).c_str(), stdout);
  std::printf("\nsession     %s%s\nviewer      %s\nparticipant %s\n", links.session_id.c_str(),
              links.resumed ? " (resumed)" : "", links.viewer.c_str(), links.participant.c_str());
  if (!has_model) {
    std::printf(
        "\nNo model attached. What you type is broadcast; participants' prompts get a clear "
        "'no model' answer.\nTo attach one: --llm http://127.0.0.1:11434/v1 --model NAME "
        "(Ollama), --model-file PATH.gguf, or --exec \"CMD\".\n");
  }
  std::fflush(stdout);
  return true;
}

// The presenter view is the web client's /present page, joined as a viewer: the viewer link's
// payload rides in its fragment (never sent to a server), like the link itself, followed by
// "&control=PORT.TOKEN" of this run's moderation API (ControlServer, on 127.0.0.1). The link's
// alternate rendezvous ("?r=...") stay in the query, so the QR code it shows carries them.
// Empty when the viewer link's path does not end in "/j".
std::string presenter_url(const std::string& viewer_link, const ControlServer& control) {
  const size_t hash = viewer_link.find('#');
  if (hash == std::string::npos) return {};
  const size_t path_end = std::min(viewer_link.find('?'), hash);
  if (path_end < 2 || viewer_link.compare(path_end - 2, 2, "/j") != 0) return {};
  return viewer_link.substr(0, path_end - 2) + "/present" +
         viewer_link.substr(path_end, hash - path_end) + "#" + viewer_link.substr(hash + 1) + "&" +
         control.fragment();
}

// A 0600 page in a 0700 directory that sends the browser on to the presenter address: the
// address holds the control token, which must not appear in xdg-open's argv (other local users
// can read it). Removed when the host exits.
class PresenterOpener {
 public:
  ~PresenterOpener() {
    if (!dir_.empty()) {
      std::error_code ignored;
      std::filesystem::remove_all(dir_, ignored);
    }
  }

  void open(const std::string& url) {
    if (std::getenv("DISPLAY") == nullptr && std::getenv("WAYLAND_DISPLAY") == nullptr) return;
    const char* runtime = std::getenv("XDG_RUNTIME_DIR");
    std::string pattern = std::string(runtime && *runtime ? runtime : "/tmp") + "/tokencast-XXXXXX";
    if (mkdtemp(pattern.data()) == nullptr) {
      std::fprintf(stderr,
                   "tokencast host: cannot open the presenter view: open its address above\n");
      return;
    }
    dir_ = pattern;
    std::string page = dir_ + "/presenter.html";
    // The URL is base64url, hex, digits and the link's base (a URL tokencast checked): it
    // holds no quote, backslash or "<"; json_escape keeps it a string literal anyway.
    std::string html =
        "<!doctype html><meta charset=\"utf-8\"><meta name=\"referrer\" content=\"no-referrer\">"
        "<title>tokencast presenter</title><script>location.replace(\"" +
        json_escape(url) + "\")</script>\n";
    if (!write_private_file(page, html)) {
      std::fprintf(stderr,
                   "tokencast host: cannot open the presenter view: open its address above\n");
      return;
    }
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
    std::string program = "xdg-open";
    char* argv[] = {program.data(), page.data(), nullptr};
    pid_t pid = 0;
    if (posix_spawnp(&pid, "xdg-open", &actions, nullptr, argv, environ) != 0) {
      std::fprintf(stderr,
                   "tokencast host: cannot run xdg-open: open the presenter address above\n");
    } else {
      std::thread([pid] { waitpid(pid, nullptr, 0); }).detach();  // no zombie for the host's run
    }
    posix_spawn_file_actions_destroy(&actions);
  }

 private:
  std::string dir_;
};

}  // namespace

int run_host(Args args) {
  HostFlags f;
  if (auto stop = parse_host_flags(args, f)) return *stop;
  auto options = host_options(f);
  if (!options) {
    std::fprintf(stderr, "tokencast host: %s\n", options.error().c_str());
    return 2;
  }
  auto request = model_request(f.model_flags);
  if (!request) {
    std::fprintf(stderr, "tokencast host: %s\n", request.error().c_str());
    return 2;
  }
  if (f.verbose) log_to_stderr();
  block_stop_signals();

  auto source = choose_source(f, std::move(*request));
  if (!source) {
    std::fprintf(stderr, "tokencast host: %s\n", source.error().c_str());
    return 1;
  }
  bool has_model = *source != nullptr;
  options->source = std::move(*source);
  bool tty = isatty(1) != 0;
  std::optional<TranscriptFeed> feed;
  if (!f.quiet) {
    feed.emplace(/*styled=*/tty);
    options->on_event = [feed = &*feed](const Event& event) { feed->push(event); };
  }
  auto host = HostRuntime::start(std::move(*options));
  if (!host) {
    std::fprintf(stderr, "tokencast host: %s\n", host.error().c_str());
    return 1;
  }
  // --present: the moderation API for the presenter page, which alone may call it (CORS).
  std::unique_ptr<ControlServer> control;
  std::string presenter;
  if (f.present) {
    const std::string& viewer = (*host)->links().viewer;
    auto started = ControlServer::start(**host, ControlServer::origin_of(viewer));
    if (!started) {
      std::fprintf(stderr, "tokencast host: %s\n", started.error().c_str());
      return 1;
    }
    control = std::move(*started);
    presenter = presenter_url(viewer, *control);
  }
  if (!publish_links(f, (*host)->links(), has_model, tty, presenter)) return 1;
  PresenterOpener opener;
  if (!presenter.empty()) {
    // The host's own terminal, like the participant link: the address with its control token.
    std::printf("presenter   %s\n", presenter.c_str());
    std::fflush(stdout);
    opener.open(presenter);
  }
  HostConsole console(**host, tty, feed ? &*feed : nullptr);
  if (!f.metrics_file.empty()) console.write_metrics_to(f.metrics_file);
  // With --stdin, stdin is the answer, not the console.
  console.run(f.prompt, !f.stdin_source);
  return 0;
}

}  // namespace tokencast::app
