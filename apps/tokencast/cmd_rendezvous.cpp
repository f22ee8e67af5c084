// `tokencast rendezvous`: run a rendezvous server until SIGINT / SIGTERM.
#include <sys/resource.h>

#include <charconv>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <optional>
#include <string>

#include "bounded_file.hpp"
#include "commands.hpp"
#include "stop_signals.hpp"
#include "tokencast/nats/nats_bus.hpp"
#include "tokencast/rtc/peer_link.hpp"
#include "tokencast/signal/rendezvous.hpp"
#include "tokencast/util/cli_args.hpp"

namespace tokencast::app {

namespace {

struct IceFlagsUrls {
  std::vector<std::string> stun;
  std::vector<std::string> turn;
};

using tokencast::rendezvous::Server;
using tokencast::rendezvous::ServerOptions;

template <class T>
bool parse_number(const std::string& text, T* out) {
  if (text.empty()) return false;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc{} && end == text.data() + text.size();
}

// "250ms", "10s", "5m", or a plain number of seconds (util::parse_duration).
bool parse_duration(const std::string& text, std::chrono::milliseconds* out) {
  auto parsed = util::parse_duration(text);
  if (parsed) *out = *parsed;
  return parsed.has_value();
}

// HOST:PORT where PORT may be 0 (the kernel picks one; the bound port is printed).
bool parse_listen(const std::string& text, std::string* host, uint16_t* port) {
  if (text.ends_with(":0")) {
    auto hp = util::parse_host_port(text.substr(0, text.size() - 1) + "1");
    if (!hp) return false;
    *host = hp->host;
    *port = 0;
    return true;
  }
  auto hp = util::parse_host_port(text);
  if (!hp) return false;
  *host = hp->host;
  *port = hp->port;
  return true;
}

// Lets the process hold as many sockets as the hard limit allows.
void raise_fd_limit(size_t want, bool verbose) {
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0) return;
  if (lim.rlim_cur < lim.rlim_max) {
    lim.rlim_cur = lim.rlim_max;
    setrlimit(RLIMIT_NOFILE, &lim);
    getrlimit(RLIMIT_NOFILE, &lim);
  }
  if (lim.rlim_cur != RLIM_INFINITY && lim.rlim_cur < want) {
    std::fprintf(stderr,
                 "tokencast rendezvous: warning: the open-file limit (%llu) is below "
                 "--max-connections plus headroom (%zu); raise `ulimit -n`\n",
                 static_cast<unsigned long long>(lim.rlim_cur), want);
  } else if (verbose) {
    std::fprintf(stderr, "tokencast rendezvous: open-file limit %llu\n",
                 static_cast<unsigned long long>(lim.rlim_cur));
  }
}

// The rendezvous' ICE server URLs must be ones libwebrtc and browsers accept.
std::optional<std::string> check_ice_urls(const IceFlagsUrls& urls) {
  std::vector<IceServer> servers;
  for (const auto& url : urls.stun) servers.push_back(IceServer{{url}, "", ""});
  for (const auto& url : urls.turn) servers.push_back(IceServer{{url}, "1:x", "x"});
  if (auto valid = validate_ice_servers(servers); !valid) return valid.error().message;
  return std::nullopt;
}

}  // namespace

int run_rendezvous(Args args) {
  ServerOptions o;
  std::string listen = "127.0.0.1:8787";
  std::string web_root;
  std::string threads = "1";
  std::string max_connections = std::to_string(o.max_connections);
  std::string max_per_ip = std::to_string(o.max_connections_per_ip);
  std::string max_rooms = std::to_string(o.max_rooms);
  std::string max_room_peers = std::to_string(o.max_peers_per_room);
  std::string max_envelope = std::to_string(o.max_envelope_size);
  std::string rate = "1000";
  std::string burst = "2000";
  std::string max_queue = std::to_string(o.max_queued_bytes);
  std::string handshake_timeout = "10s";
  std::string write_stall_timeout = "10s";
  std::string idle_timeout = "60s";
  std::string http_deadline = "60s";
  std::string ipv6_prefix = "64";
  std::string connect_rate = "300";
  std::string join_rate = "300";
  std::string room_rate = "20";
  std::string global_room_rate = "2000";
  bool verbose = false;
  IceFlagsUrls ice_urls;
  std::string turn_secret_file;
  std::string turn_ttl = "3600";
  std::vector<std::string> nats_urls;
  std::string nats_token_file;
  std::string nats_creds;
  std::string cluster_heartbeat = "1s";
  std::string cluster_expiry = "5s";

  util::CliArgs cli("rendezvous",
                    "Run a rendezvous server: it introduces the peers of a room to each other by "
                    "relaying\nsealed envelopes (WebSocket at /ws) and serves the web client. It "
                    "sees no secret,\nprompt or token.");
  cli.option("--listen", "HOST:PORT", &listen,
             "IP address and port to listen on (default 127.0.0.1:8787; 0.0.0.0:8787 for a "
             "LAN; port 0 for any free port)");
  cli.option("--web-root", "DIR", &web_root,
             "directory of the web client's files (default: the web client built into this "
             "binary)");
  cli.option("--tls-cert", "FILE", &o.tls_cert_file,
             "PEM certificate chain: serve https and wss (only) on the port; needs --tls-key. "
             "Without both, plain http/ws (behind a TLS proxy, or on a LAN)");
  cli.option("--tls-key", "FILE", &o.tls_key_file,
             "PEM private key of --tls-cert (keep it mode 0600; read once at start, so a new "
             "certificate takes a restart)");
  cli.option("--threads", "N", &threads, "I/O threads (default 1)");
  cli.option("--max-connections", "N", &max_connections,
             "open TCP connections, HTTP and WebSocket (default 16384)");
  cli.option("--max-per-ip", "N", &max_per_ip,
             "open connections per client address, 0 for no cap (default 1024; use 0 behind "
             "a reverse proxy)");
  cli.option("--max-rooms", "N", &max_rooms, "rooms at once (default 16384)");
  cli.option("--max-room-peers", "N", &max_room_peers,
             "peers in one room, at most 16384 (default 4096)");
  cli.option("--max-envelope", "BYTES", &max_envelope,
             "largest envelope payload, at most 65536 (default 65536)");
  cli.option("--rate", "N", &rate,
             "messages per second one connection may send; faster senders are slowed down "
             "(default 1000)");
  cli.option("--burst", "N", &burst, "burst above --rate (token bucket depth, default 2000)");
  cli.option("--max-queue", "BYTES", &max_queue,
             "per-connection write queue, half of it per sender: a sender over its share "
             "has its messages dropped (default 1048576)");
  cli.option("--write-stall-timeout", "DURATION", &write_stall_timeout,
             "a peer whose queue is full and whose last write has not completed for this "
             "long is dropped as a slow reader (default 10s)");
  cli.option("--handshake-timeout", "DURATION", &handshake_timeout,
             "time from TCP connect to JOIN, and per HTTP request (default 10s; e.g. 500ms)");
  cli.option("--idle-timeout", "DURATION", &idle_timeout,
             "silence after which a peer is closed; it is pinged at half of it (default 60s)");
  cli.multi("--stun", "URL", &ice_urls.stun,
            "a STUN server handed to every peer, e.g. stun:stun.example.net:3478 (repeatable)");
  cli.multi("--turn", "URL", &ice_urls.turn,
            "a TURN server handed to every peer with fresh time-limited credentials, e.g. "
            "turn:turn.example.net:3478?transport=udp or turns:turn.example.net:5349 "
            "(repeatable; coturn use-auth-secret; the secret comes from TOKENCAST_TURN_SECRET "
            "or --turn-secret-file)");
  cli.option("--turn-secret-file", "FILE", &turn_secret_file,
             "file holding the TURN server's static-auth-secret (instead of "
             "TOKENCAST_TURN_SECRET)");
  cli.option("--turn-ttl", "SECONDS", &turn_ttl,
             "lifetime of the TURN credentials handed out (default 3600)");
  cli.option("--http-deadline", "DURATION", &http_deadline,
             "an HTTP connection ends this long after it was accepted, keep-alive or not "
             "(default 60s)");
  cli.option("--ipv6-prefix", "BITS", &ipv6_prefix,
             "per-address limits count IPv6 clients by this prefix (default 64; IPv4: the "
             "address)");
  cli.option("--connect-rate", "N", &connect_rate,
             "new connections per second per address, bursts of 5x (default 300); over it a "
             "connection is dropped");
  cli.option("--join-rate", "N", &join_rate,
             "JOINs per second per address, bursts of 5x (default 300); over it: closed 4002");
  cli.option("--room-rate", "N", &room_rate,
             "new rooms per second per address, bursts of 5x (default 20); over it: closed 4002");
  cli.option("--global-room-rate", "N", &global_room_rate,
             "new rooms per second in all, bursts of 5x (default 2000)");
  cli.multi("--nats", "URL[,URL...]", &nats_urls,
            "share rooms with other rendezvous instances through NATS, e.g. "
            "nats://10.0.0.5:4222 (repeatable or comma-separated: the servers of a NATS "
            "cluster). Put every instance behind one name; a host and its joiners may land on "
            "different instances");
  cli.option("--nats-token-file", "FILE", &nats_token_file,
             "file holding the NATS token (instead of TOKENCAST_NATS_TOKEN)");
  cli.option("--nats-creds", "FILE", &nats_creds,
             "NATS credentials file (JWT and nkey seed, as `nsc` writes them)");
  cli.option("--cluster-heartbeat", "DURATION", &cluster_heartbeat,
             "how often this instance tells the others it is alive (default 1s)");
  cli.option("--cluster-expiry", "DURATION", &cluster_expiry,
             "an instance silent this long is taken for dead: its peers leave every room "
             "(default 5s)");
  cli.flag("--verbose", &verbose, "log connections refused and limits hit to stderr");
  cli.epilog(
      "On start one line `listening on HOST:PORT` goes to stdout; logs go to stderr.\n"
      "A missing, unreadable or mismatched TLS certificate or key exits 2 at start.\n"
      "SIGINT or SIGTERM closes every connection (1001 \"server shutting down\") and exits 0.\n"
      "Operating notes, limits, metrics and TLS: docs/rendezvous.md.");
  if (auto code = cli.parse_or_exit_code(args)) return *code;

  auto bad = [](const char* what, const std::string& value) {
    std::fprintf(stderr, "tokencast rendezvous: bad value for %s: '%s'\n", what, value.c_str());
    return 2;
  };
  if (!parse_listen(listen, &o.listen_host, &o.listen_port)) return bad("--listen", listen);
  o.web_root = web_root;
  if (!parse_number(threads, &o.threads)) return bad("--threads", threads);
  if (!parse_number(max_connections, &o.max_connections)) {
    return bad("--max-connections", max_connections);
  }
  if (!parse_number(max_per_ip, &o.max_connections_per_ip)) return bad("--max-per-ip", max_per_ip);
  if (!parse_number(max_rooms, &o.max_rooms)) return bad("--max-rooms", max_rooms);
  if (!parse_number(max_room_peers, &o.max_peers_per_room)) {
    return bad("--max-room-peers", max_room_peers);
  }
  if (!parse_number(max_envelope, &o.max_envelope_size)) return bad("--max-envelope", max_envelope);
  if (!parse_number(rate, &o.rate_per_second)) return bad("--rate", rate);
  if (!parse_number(burst, &o.rate_burst)) return bad("--burst", burst);
  if (!parse_number(max_queue, &o.max_queued_bytes)) return bad("--max-queue", max_queue);
  if (!parse_duration(handshake_timeout, &o.handshake_timeout)) {
    return bad("--handshake-timeout", handshake_timeout);
  }
  if (!parse_duration(idle_timeout, &o.idle_timeout)) return bad("--idle-timeout", idle_timeout);
  if (auto problem = check_ice_urls(ice_urls)) {
    std::fprintf(stderr, "tokencast rendezvous: %s\n", problem->c_str());
    return 2;
  }
  o.ice.stun_urls = ice_urls.stun;
  o.ice.turn_urls = ice_urls.turn;
  if (!parse_number(turn_ttl, &o.ice.turn_ttl_seconds)) return bad("--turn-ttl", turn_ttl);
  if (!o.ice.turn_urls.empty()) {
    auto secret = read_secret(turn_secret_file, "TOKENCAST_TURN_SECRET");
    if (!secret || secret->empty()) {
      std::fprintf(stderr,
                   "tokencast rendezvous: --turn needs the TURN secret in TOKENCAST_TURN_SECRET "
                   "or a readable, non-empty --turn-secret-file (at most 4096 bytes)\n");
      return 2;
    }
    o.ice.turn_secret = std::move(*secret);
  }
  if (!parse_duration(http_deadline, &o.http_deadline))
    return bad("--http-deadline", http_deadline);
  if (!parse_number(ipv6_prefix, &o.ipv6_prefix_bits)) return bad("--ipv6-prefix", ipv6_prefix);
  if (!parse_number(connect_rate, &o.connect_rate)) return bad("--connect-rate", connect_rate);
  if (!parse_number(join_rate, &o.join_rate)) return bad("--join-rate", join_rate);
  if (!parse_number(room_rate, &o.room_rate)) return bad("--room-rate", room_rate);
  if (!parse_number(global_room_rate, &o.global_room_rate)) {
    return bad("--global-room-rate", global_room_rate);
  }
  if (!parse_duration(write_stall_timeout, &o.write_stall_timeout)) {
    return bad("--write-stall-timeout", write_stall_timeout);
  }
  std::vector<std::string> nats_list;
  for (const auto& value : nats_urls) {
    size_t start = 0;
    while (start <= value.size()) {
      size_t comma = value.find(',', start);
      if (comma == std::string::npos) comma = value.size();
      nats_list.push_back(value.substr(start, comma - start));
      start = comma + 1;
    }
  }
  if (!parse_duration(cluster_heartbeat, &o.cluster_heartbeat)) {
    return bad("--cluster-heartbeat", cluster_heartbeat);
  }
  if (!parse_duration(cluster_expiry, &o.cluster_expiry)) {
    return bad("--cluster-expiry", cluster_expiry);
  }
  if (!nats_list.empty()) {
    nats::NatsOptions nats_options;
    nats_options.urls = nats_list;
    nats_options.credentials_file = nats_creds;
    if (!nats_token_file.empty() || std::getenv("TOKENCAST_NATS_TOKEN") != nullptr) {
      auto token = read_secret(nats_token_file, "TOKENCAST_NATS_TOKEN");
      if (!token || token->empty()) {
        std::fprintf(stderr,
                     "tokencast rendezvous: the NATS token file is unreadable, empty or over "
                     "4096 bytes\n");
        return 2;
      }
      nats_options.token = std::move(*token);
    }
    // The bus' state changes matter to an operator: always on stderr.
    auto mu = std::make_shared<std::mutex>();
    nats_options.log = [mu](std::string_view line) {
      std::lock_guard lock(*mu);
      std::fprintf(stderr, "tokencast rendezvous: %.*s\n", static_cast<int>(line.size()),
                   line.data());
    };
    auto bus = nats::connect_nats(std::move(nats_options));
    if (!bus) {
      std::fprintf(stderr, "tokencast rendezvous: %s\n", bus.error().c_str());
      return 2;
    }
    o.cluster = std::move(*bus);
  } else if (!nats_token_file.empty() || !nats_creds.empty()) {
    std::fprintf(stderr, "tokencast rendezvous: --nats-token-file and --nats-creds need --nats\n");
    return 2;
  }
  if (auto problem = rendezvous::validate(o)) {
    std::fprintf(stderr, "tokencast rendezvous: %s\n", problem->c_str());
    return 2;
  }
  if (verbose) {
    auto mu = std::make_shared<std::mutex>();
    o.log = [mu](std::string_view line) {
      std::lock_guard lock(*mu);
      std::fprintf(stderr, "%.*s\n", static_cast<int>(line.size()), line.data());
    };
  }
  raise_fd_limit(o.max_connections + 64, verbose);

  // The I/O threads inherit this mask, so the signals reach only wait_stop_signal() below.
  block_stop_signals();

  Server server(o);
  if (auto started = server.start(); !started) {
    std::fprintf(stderr, "tokencast rendezvous: cannot listen on %s: %s\n", listen.c_str(),
                 started.error().message().c_str());
    return 1;
  }
  bool v6 = o.listen_host.find(':') != std::string::npos;
  std::printf("listening on %s%s%s:%u\n", v6 ? "[" : "", o.listen_host.c_str(), v6 ? "]" : "",
              static_cast<unsigned>(server.port()));
  std::fflush(stdout);

  int received = wait_stop_signal();
  if (verbose) std::fprintf(stderr, "tokencast rendezvous: stopping (signal %d)\n", received);
  server.stop();
  return 0;
}

}  // namespace tokencast::app
