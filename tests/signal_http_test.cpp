// The rendezvous' HTTP side against a real process: static files with strict paths,
// the placeholder page, /healthz and /metrics.
#include <filesystem>
#include <fstream>

#include "security_headers.hpp"
#include "signal_test_support.hpp"
#include "static_files.hpp"
#include "wire/content_coding.hpp"

namespace tokencast::test {
namespace {

namespace fs = std::filesystem;

class TempWebRoot {
 public:
  TempWebRoot() {
    char tmpl[] = "/tmp/tokencast-web-XXXXXX";
    base_ = mkdtemp(tmpl);
    root_ = base_ / "root";
    fs::create_directories(root_ / "sub");
    fs::create_directories(root_ / "dir");
    write(root_ / "index.html", "<!doctype html><title>client</title>");
    write(root_ / "app.js", "console.log(1)");
    write(root_ / "style.css", "body{}");
    write(root_ / "sub" / "deep.json", "{}");
    write(root_ / ".hidden", "hidden");
    write(base_ / "secret.txt", "SECRET");
    fs::create_symlink(base_ / "secret.txt", root_ / "escape.txt");
    fs::create_symlink(root_ / "app.js", root_ / "inside.js");
  }
  ~TempWebRoot() {
    std::error_code ec;
    fs::remove_all(base_, ec);
  }
  std::string root() const { return root_.string(); }

 private:
  static void write(const fs::path& p, const std::string& text) { std::ofstream(p) << text; }
  fs::path base_;
  fs::path root_;
};

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

TEST(RendezvousHttp, ServesFilesWithContentTypes) {
  TempWebRoot web;
  ServerProcess server({"--web-root", web.root()});
  ASSERT_TRUE(server.ok());
  auto index = http_request(server.port(), "/");
  EXPECT_EQ(index.status, 200u);
  EXPECT_EQ(index.body, "<!doctype html><title>client</title>");
  EXPECT_EQ(index.content_type, "text/html; charset=utf-8");
  for (const char* invite : {"/j", "/j/", "/j?v=1", "/index.html"}) {
    auto r = http_request(server.port(), invite);
    EXPECT_EQ(r.status, 200u) << invite;
    EXPECT_EQ(r.body, index.body) << invite;
  }
  auto js = http_request(server.port(), "/app.js");
  EXPECT_EQ(js.status, 200u);
  EXPECT_EQ(js.body, "console.log(1)");
  EXPECT_EQ(js.content_type, "text/javascript; charset=utf-8");
  EXPECT_EQ(http_request(server.port(), "/style.css").content_type, "text/css; charset=utf-8");
  auto json = http_request(server.port(), "/sub/deep.json");
  EXPECT_EQ(json.status, 200u);
  EXPECT_EQ(json.content_type, "application/json");
  // A symlink that stays inside the root is fine.
  EXPECT_EQ(http_request(server.port(), "/inside.js").body, "console.log(1)");
  auto head = http_request(server.port(), "/app.js", "HEAD");
  EXPECT_EQ(head.status, 200u);
  EXPECT_TRUE(head.body.empty());
}

TEST(RendezvousHttp, RefusesTraversalAndOddPaths) {
  TempWebRoot web;
  ServerProcess server({"--web-root", web.root()});
  ASSERT_TRUE(server.ok());
  const char* bad_paths[] = {
      "/../secret.txt",
      "/%2e%2e/secret.txt",
      "/sub/../../secret.txt",
      "/sub/../index.html",
      "//etc/passwd",
      "/.hidden",
      "/sub/./deep.json",
      "/sub\\..\\..\\secret.txt",
      "/app.js%00.html",
      "/sub/",
      "http://127.0.0.1/app.js",
      "*",
  };
  for (const char* path : bad_paths) {
    auto r = http_request(server.port(), path);
    EXPECT_TRUE(r.status == 400 || r.status == 404) << path << " -> " << r.status;
    EXPECT_EQ(r.body.find("SECRET"), std::string::npos) << path;
  }
  EXPECT_EQ(http_request(server.port(), "/../secret.txt").status, 400u);
  // Well-formed but not servable: 404.
  for (const char* path : {"/escape.txt", "/missing.js", "/dir", "/etc/passwd", "/sub"}) {
    auto r = http_request(server.port(), path);
    EXPECT_EQ(r.status, 404u) << path;
    EXPECT_EQ(r.body.find("SECRET"), std::string::npos) << path;
  }
  EXPECT_EQ(http_request(server.port(), "/", "POST").status, 405u);
  EXPECT_EQ(http_request(server.port(), "/ws", "DELETE").status, 405u);
  auto text = http_request(server.port(), "/metrics").body;
  EXPECT_GE(metric(text, "tokencast_rendezvous_http_responses_total{code=\"404\"}"), 5);
  EXPECT_GE(metric(text, "tokencast_rendezvous_http_responses_total{code=\"405\"}"), 2);
}

TEST(RendezvousHttp, BuiltInWebClientWithoutWebRoot) {
  ServerProcess server;
  ASSERT_TRUE(server.ok());
  auto embedded = rv::embedded_web_files();
  if (embedded.empty()) GTEST_SKIP() << "web/dist did not exist when tokencast was built";
  std::string index;
  for (const auto& file : embedded) {
    if (file.path.ends_with(".br") || file.path.ends_with(".gz")) continue;  // served in place
    auto r = http_request(server.port(), "/" + std::string(file.path));
    EXPECT_EQ(r.status, 200u) << file.path;
    EXPECT_EQ(r.body, file.bytes) << file.path;
    EXPECT_EQ(r.content_type, rv::content_type_for(file.path)) << file.path;
    if (file.path == "index.html") index = std::string(file.bytes);
  }
  ASSERT_FALSE(index.empty());
  EXPECT_EQ(http_request(server.port(), "/j").body, index);  // invite links open the client
  // The built-in copy is the web client's build output, byte for byte.
  EXPECT_EQ(index, read_file(fs::path(TOKENCAST_SOURCE_DIR) / "web/dist/index.html"));
  EXPECT_EQ(http_request(server.port(), "/app.js").status, 404u);
}

TEST(RendezvousHttp, BuiltInPlaceholderIsTheFileByteForByte) {
  std::string expected = read_file(fs::path(TOKENCAST_SOURCE_DIR) / "web/placeholder/index.html");
  ASSERT_FALSE(expected.empty());
  EXPECT_EQ(rv::placeholder_page(), expected);
}

TEST(RendezvousHttp, PlaceholderPageWithoutWebRootOrBuiltInClient) {
  ServerProcess server;
  ASSERT_TRUE(server.ok());
  if (!rv::embedded_web_files().empty()) GTEST_SKIP() << "a web client is built in";
  std::string expected = read_file(fs::path(TOKENCAST_SOURCE_DIR) / "web/placeholder/index.html");
  ASSERT_FALSE(expected.empty());
  for (const char* path : {"/", "/j", "/index.html"}) {
    auto r = http_request(server.port(), path);
    EXPECT_EQ(r.status, 200u) << path;
    EXPECT_EQ(r.body, expected) << path << ": the built-in page differs from the file";
    EXPECT_EQ(r.content_type, "text/html; charset=utf-8");
  }
  EXPECT_EQ(http_request(server.port(), "/app.js").status, 404u);
}

// The fallback of a binary built without the web client, whichever way this one was built.
TEST(RendezvousHttp, PlaceholderServedWhenNothingIsBuiltIn) {
  const rv::StaticFiles files("", {});
  std::string expected = read_file(fs::path(TOKENCAST_SOURCE_DIR) / "web/placeholder/index.html");
  ASSERT_FALSE(expected.empty());
  for (const char* path : {"/", "/j", "/index.html"}) {
    auto r = files.get(path);
    EXPECT_EQ(r.status, 200u) << path;
    EXPECT_EQ(r.body, expected) << path;
    EXPECT_EQ(r.content_type, "text/html; charset=utf-8");
  }
  EXPECT_EQ(files.get("/app.js").status, 404u);
}

// --- Precompressed copies and caching (docs/rendezvous.md, "What is served").

TEST(RendezvousHttp, AcceptEncodingIsParsedStrictly) {
  auto allows = [](std::string_view header) {
    auto a = rv::parse_accept_encoding(header);
    return std::string(a.brotli ? "br" : "") + (a.gzip ? "gzip" : "");
  };
  EXPECT_EQ(allows(""), "");
  EXPECT_EQ(allows("gzip, deflate, br, zstd"), "brgzip");  // Chromium's
  EXPECT_EQ(allows("gzip"), "gzip");
  EXPECT_EQ(allows("x-gzip"), "gzip");
  EXPECT_EQ(allows("BR;Q=1.000"), "br");
  EXPECT_EQ(allows(" br ;  q=0.001 ,, gzip;q=1 "), "brgzip");
  EXPECT_EQ(allows("*"), "brgzip");
  EXPECT_EQ(allows("*;q=0.5, br;q=0"), "gzip");
  EXPECT_EQ(allows("br;q=0, gzip;q=0.000"), "");
  EXPECT_EQ(allows("gzip, gzip;q=0"), "");  // said both ways: refused
  EXPECT_EQ(allows("identity, *;q=0"), "");
  EXPECT_EQ(allows("deflate"), "");
  // Malformed: nothing but identity.
  for (const char* bad :
       {"br;q=2", "br;q=1.5", "br;q=0.0001", "br;q=", "br;q=.5", "br;level=1", "br;", "b r",
        "br gzip", "gzip;q=0.5;q=1", "br;q =1", "\"br\"", "gz\x01"}) {
    EXPECT_EQ(allows(bad), "") << bad;
  }
  EXPECT_EQ(allows(std::string(rv::kMaxAcceptEncoding, ' ') + "br"), "");
  EXPECT_EQ(rv::choose_coding({true, true}, true, true), rv::ContentCoding::kBrotli);
  EXPECT_EQ(rv::choose_coding({true, true}, false, true), rv::ContentCoding::kGzip);
  EXPECT_EQ(rv::choose_coding({false, true}, true, false), rv::ContentCoding::kIdentity);
}

TEST(RendezvousHttp, IfNoneMatchUsesWeakComparison) {
  EXPECT_TRUE(rv::if_none_match_matches("\"abc\"", "\"abc\""));
  EXPECT_TRUE(rv::if_none_match_matches("W/\"abc\"", "\"abc\""));
  EXPECT_TRUE(rv::if_none_match_matches("\"x\", \"abc\"", "\"abc\""));
  EXPECT_TRUE(rv::if_none_match_matches(" * ", "\"abc\""));
  EXPECT_FALSE(rv::if_none_match_matches("\"abc-br\"", "\"abc\""));
  EXPECT_FALSE(rv::if_none_match_matches("abc", "\"abc\""));
  EXPECT_FALSE(rv::if_none_match_matches("\"abc\", x", "\"abc\""));  // malformed: no match
  EXPECT_FALSE(rv::if_none_match_matches("", "\"abc\""));
}

// A built-in client with precompressed copies, as the web build makes them.
const rv::EmbeddedFile kPrecompressed[] = {
    {"assets/app-1a2b.js", "console.log('identity')"},
    {"assets/app-1a2b.js.br", "BROTLI"},
    {"assets/app-1a2b.js.gz", "GZIP!"},
    {"index.html", "<!doctype html><title>page</title>"},
    {"index.html.gz", "GZ-PAGE"},
};

TEST(RendezvousHttp, ServesTheBestAcceptedCopy) {
  const rv::StaticFiles files("", kPrecompressed);
  struct Case {
    const char* accept;
    std::string_view body;
    std::string_view encoding;
  };
  for (const Case& c :
       {Case{"gzip, deflate, br", "BROTLI", "br"}, Case{"gzip", "GZIP!", "gzip"},
        Case{"br;q=0, gzip", "GZIP!", "gzip"}, Case{"", "console.log('identity')", ""},
        Case{"br;q=0, gzip;q=0", "console.log('identity')", ""},
        Case{"br;q=7", "console.log('identity')", ""}}) {
    auto r = files.get("/assets/app-1a2b.js", c.accept);
    EXPECT_EQ(r.status, 200u) << c.accept;
    EXPECT_EQ(r.body, c.body) << c.accept;
    EXPECT_EQ(r.content_encoding, c.encoding) << c.accept;
    EXPECT_EQ(r.content_type, "text/javascript; charset=utf-8");
    EXPECT_EQ(r.cache_control, "public, max-age=31536000, immutable");
  }
  // The page has only a gzip copy; it is revalidated, never cached as immutable.
  auto page = files.get("/j", "br, gzip");
  EXPECT_EQ(page.body, "GZ-PAGE");
  EXPECT_EQ(page.content_encoding, "gzip");
  EXPECT_EQ(page.cache_control, "no-cache");
  // Each representation has its own strong tag, from the identity bytes' hash.
  const std::string tag = "\"" + rv::content_tag("<!doctype html><title>page</title>") + "\"";
  EXPECT_EQ(files.get("/j").etag, tag);
  EXPECT_EQ(page.etag, tag.substr(0, tag.size() - 1) + "-gzip\"");
  EXPECT_EQ(tag.size(), 34u);
  // The copies are not files of their own.
  EXPECT_EQ(files.get("/assets/app-1a2b.js.br").status, 404u);
  EXPECT_EQ(files.get("/index.html.gz").status, 404u);
}

TEST(RendezvousHttp, IfNoneMatchGives304ForTheSameRepresentation) {
  const rv::StaticFiles files("", kPrecompressed);
  auto first = files.get("/j", "gzip");
  ASSERT_EQ(first.status, 200u);
  auto again = files.get("/j", "gzip", first.etag);
  EXPECT_EQ(again.status, 304u);
  EXPECT_TRUE(again.body.empty());
  EXPECT_EQ(again.etag, first.etag);
  EXPECT_EQ(files.get("/j", "", first.etag).status, 200u);  // identity differs from the gzip copy
  EXPECT_EQ(files.get("/j", "gzip", "\"0000\"").status, 200u);
}

TEST(RendezvousHttp, PrecompressedCopiesOverHttp) {
  TempWebRoot web;
  const std::string js = "console.log(1)";
  {
    std::ofstream(fs::path(web.root()) / "app.js.br") << "BR-BYTES";
    std::ofstream(fs::path(web.root()) / "app.js.gz") << "GZIP-BYTES!";
    fs::create_directories(fs::path(web.root()) / "assets");
    std::ofstream(fs::path(web.root()) / "assets" / "x-1234.css") << "b{}";
  }
  ServerProcess server({"--web-root", web.root()});
  ASSERT_TRUE(server.ok());
  auto br = http_request(server.port(), "/app.js", "GET", "Accept-Encoding: gzip, br\r\n");
  EXPECT_EQ(br.status, 200u);
  EXPECT_EQ(br.body, "BR-BYTES");
  EXPECT_EQ(br.header("content-encoding"), "br");
  EXPECT_EQ(br.header("content-length"), "8");
  EXPECT_EQ(br.header("vary"), "Accept-Encoding");
  EXPECT_EQ(br.header("cache-control"), "no-cache");
  // Several Accept-Encoding fields are one list.
  auto gz = http_request(server.port(), "/app.js", "GET",
                         "Accept-Encoding: br;q=0\r\nAccept-Encoding: gzip\r\n");
  EXPECT_EQ(gz.body, "GZIP-BYTES!");
  EXPECT_EQ(gz.header("content-encoding"), "gzip");
  EXPECT_EQ(gz.header("content-length"), "11");
  auto plain = http_request(server.port(), "/app.js", "GET", "Accept-Encoding: br;q=0\r\n");
  EXPECT_EQ(plain.body, js);
  EXPECT_EQ(plain.header("content-encoding"), "");
  EXPECT_EQ(plain.header("content-length"), std::to_string(js.size()));
  EXPECT_EQ(plain.header("etag"), "\"" + rv::content_tag(js) + "\"");
  // HEAD: GET's headers, no body.
  auto head = http_request(server.port(), "/app.js", "HEAD", "Accept-Encoding: gzip\r\n");
  EXPECT_EQ(head.status, 200u);
  EXPECT_TRUE(head.body.empty());
  EXPECT_EQ(head.header("content-length"), "11");
  EXPECT_EQ(head.header("content-encoding"), "gzip");
  EXPECT_EQ(head.header("etag"), gz.header("etag"));
  // Revalidation: 304, no body, the same validator.
  auto not_modified =
      http_request(server.port(), "/app.js", "GET",
                   "Accept-Encoding: gzip\r\nIf-None-Match: " + gz.header("etag") + "\r\n");
  EXPECT_EQ(not_modified.status, 304u);
  EXPECT_TRUE(not_modified.body.empty());
  EXPECT_EQ(not_modified.header("etag"), gz.header("etag"));
  EXPECT_EQ(not_modified.header("content-length"), "");
  auto css = http_request(server.port(), "/assets/x-1234.css");
  EXPECT_EQ(css.header("cache-control"), "public, max-age=31536000, immutable");
  EXPECT_EQ(http_request(server.port(), "/app.js.gz").status, 404u);
}

// The copies the web build made (it checks that each decodes to its file): built in, and served
// byte for byte for their coding, smaller than the file.
TEST(RendezvousHttp, BuiltInClientHasPrecompressedCopies) {
  auto embedded = rv::embedded_web_files();
  if (embedded.empty()) GTEST_SKIP() << "web/dist did not exist when tokencast was built";
  ServerProcess server;
  ASSERT_TRUE(server.ok());
  std::map<std::string, std::string_view> bytes;
  for (const auto& file : embedded) bytes[std::string(file.path)] = file.bytes;
  ASSERT_TRUE(bytes.count("index.html.br")) << "the web build makes .br copies";
  ASSERT_TRUE(bytes.count("index.html.gz")) << "the web build makes .gz copies";
  for (const auto& [path, identity] : bytes) {
    if (path.ends_with(".br") || path.ends_with(".gz")) continue;
    for (auto [accept, suffix] : {std::pair{"br", ".br"}, std::pair{"gzip", ".gz"}}) {
      auto copy = bytes.find(path + suffix);
      if (copy == bytes.end()) continue;
      auto r = http_request(server.port(), "/" + path, "GET",
                            std::string("Accept-Encoding: ") + accept + "\r\n");
      EXPECT_EQ(r.body, copy->second) << path << " " << accept;
      EXPECT_LT(r.body.size(), identity.size()) << path << " " << accept;
      EXPECT_EQ(r.header("content-length"), std::to_string(copy->second.size())) << path;
    }
    const bool hashed = path.starts_with("assets/");
    EXPECT_EQ(http_request(server.port(), "/" + path).header("cache-control"),
              hashed ? "public, max-age=31536000, immutable" : "no-cache")
        << path;
  }
}

TEST(RendezvousHttp, MissingWebRootIsAStartupError) {
  ServerProcess server({"--web-root", "/nonexistent/tokencast"});
  EXPECT_FALSE(server.ok());
  EXPECT_EQ(server.stop(), 2);
}

TEST(RendezvousHttp, HealthAndMetricsFormat) {
  ServerProcess server;
  ASSERT_TRUE(server.ok());
  auto health = http_request(server.port(), "/healthz");
  EXPECT_EQ(health.status, 200u);
  EXPECT_EQ(health.body, "ok\n");
  auto metrics = http_request(server.port(), "/metrics");
  EXPECT_EQ(metrics.status, 200u);
  EXPECT_EQ(metrics.content_type, "text/plain; version=0.0.4; charset=utf-8");
  for (const char* name :
       {"tokencast_rendezvous_connections", "tokencast_rendezvous_rooms",
        "tokencast_rendezvous_peers", "tokencast_rendezvous_envelopes_relayed_total",
        "tokencast_rendezvous_envelope_bytes_relayed_total",
        "tokencast_rendezvous_rejections_total{reason=\"room_full\"}",
        "tokencast_rendezvous_rejections_total{reason=\"slow_reader\"}"}) {
    EXPECT_GE(metric(metrics.body, name), 0) << name;
  }
  // Every sample line is `name[{labels}] value`.
  std::istringstream lines(metrics.body);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.empty() || line[0] == '#') continue;
    EXPECT_EQ(line.rfind("tokencast_rendezvous_", 0), 0u) << line;
    EXPECT_NE(line.find(' '), std::string::npos) << line;
  }
  EXPECT_EQ(metric(metrics.body, "tokencast_rendezvous_http_responses_total{code=\"200\"}"), 1);
  EXPECT_EQ(metric(server.port(), "tokencast_rendezvous_http_responses_total{code=\"200\"}"), 2);
}

TEST(RendezvousHttp, KeepAliveServesSeveralRequests) {
  ServerProcess server;
  ASSERT_TRUE(server.ok());
  net::io_context ioc;
  tcp::socket sock(ioc);
  sock.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), server.port()));
  timeval tv{5, 0};
  setsockopt(sock.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  beast::flat_buffer buf;
  for (int i = 0; i < 3; ++i) {
    std::string req = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
    net::write(sock, net::buffer(req));
    beast::http::response<beast::http::string_body> res;
    beast::http::read(sock, buf, res);
    EXPECT_EQ(res.result_int(), 200u);
    EXPECT_EQ(res.body(), "ok\n");
  }
}

TEST(RendezvousHttp, PageCarriesSecurityHeadersMatchingItsMetaPolicy) {
  ServerProcess server;
  ASSERT_TRUE(server.ok());
  auto page = http_request(server.port(), "/j");
  ASSERT_TRUE(page.ok);
  ASSERT_EQ(page.status, 200u);
  auto header = [&](std::string_view name) {
    return std::string(page.headers[beast::string_view(name.data(), name.size())]);
  };
  EXPECT_EQ(header("X-Content-Type-Options"), "nosniff");
  EXPECT_EQ(header("Referrer-Policy"), "no-referrer");
  EXPECT_EQ(header("X-Frame-Options"), "DENY");
  std::string csp = header("Content-Security-Policy");
  EXPECT_NE(csp.find("frame-ancestors 'none'"), std::string::npos) << csp;
  EXPECT_NE(csp.find("connect-src 'self';"), std::string::npos) << csp;
  EXPECT_EQ(csp.find("ws:"), std::string::npos) << "no WebSocket host but the page's own";
  // Every directive of the header but frame-ancestors (ignored in a meta) is in the built page's
  // meta policy unchanged, which also locks scripts and styles to the origin and its hashes.
  if (!rv::embedded_web_files().empty()) {
    size_t meta_at = page.body.find("http-equiv=\"Content-Security-Policy\" content=\"");
    ASSERT_NE(meta_at, std::string::npos);
    std::string meta = page.body.substr(meta_at, page.body.find('>', meta_at) - meta_at);
    EXPECT_NE(meta.find("default-src 'none'"), std::string::npos) << meta;
    EXPECT_NE(meta.find("script-src 'self'"), std::string::npos) << meta;
    std::string rest = csp.substr(0, csp.find("; frame-ancestors"));
    for (size_t at = 0; at < rest.size();) {
      size_t end = rest.find("; ", at);
      std::string directive = rest.substr(at, end == std::string::npos ? end : end - at);
      EXPECT_NE(meta.find(directive), std::string::npos) << directive << " not in " << meta;
      at = end == std::string::npos ? rest.size() : end + 2;
    }
  }
  // Non-HTML responses carry the generic headers but no page policy.
  auto health = http_request(server.port(), "/healthz");
  EXPECT_EQ(std::string(health.headers["X-Frame-Options"]), "DENY");
  EXPECT_EQ(std::string(health.headers["Content-Security-Policy"]), "");
}

// The host page (/host) fetches the model server its user names, another origin: its policy
// adds http: and https: to connect-src, and nothing else differs from the page's.
TEST(RendezvousHttp, HostPageIsServedWithItsOwnConnectSources) {
  EXPECT_EQ(rv::static_path_for_target("/host"), "host.html");
  EXPECT_EQ(rv::static_path_for_target("/host/"), "host.html");
  EXPECT_EQ(rv::static_path_for_target("/host?x=1"), "host.html");
  EXPECT_EQ(rv::static_path_for_target("/present"), "present.html");
  std::string page_policy(rv::kPageContentSecurityPolicy);
  page_policy.replace(page_policy.find("connect-src 'self';"), 19,
                      "connect-src 'self' http: https:;");
  EXPECT_EQ(page_policy, rv::kHostPageContentSecurityPolicy);
  // The presenter view calls the host's moderation API on 127.0.0.1, nothing else.
  std::string present_policy(rv::kPageContentSecurityPolicy);
  present_policy.replace(present_policy.find("connect-src 'self';"), 19,
                         "connect-src 'self' http://127.0.0.1:*;");
  EXPECT_EQ(present_policy, rv::kPresentPageContentSecurityPolicy);
  if (rv::embedded_web_files().empty()) GTEST_SKIP() << "no web client built in";
  ServerProcess server;
  ASSERT_TRUE(server.ok());
  auto page = http_request(server.port(), "/host");
  ASSERT_TRUE(page.ok);
  ASSERT_EQ(page.status, 200u);
  EXPECT_NE(page.body.find("Start hosting"), std::string::npos);
  EXPECT_EQ(std::string(page.headers["Content-Security-Policy"]),
            rv::kHostPageContentSecurityPolicy);
  EXPECT_NE(page.body.find("connect-src 'self' http: https:"), std::string::npos);
  auto present = http_request(server.port(), "/present");
  ASSERT_EQ(present.status, 200u);
  EXPECT_EQ(std::string(present.headers["Content-Security-Policy"]),
            rv::kPresentPageContentSecurityPolicy);
  EXPECT_NE(present.body.find("connect-src 'self' http://127.0.0.1:*"), std::string::npos);
  // The join page keeps its own origin only.
  auto join = http_request(server.port(), "/j");
  EXPECT_EQ(std::string(join.headers["Content-Security-Policy"]), rv::kPageContentSecurityPolicy);
}

// A link with alternate rendezvous ("?r=", docs/PROTOCOL.md section 1) is served a join page
// whose connect-src adds exactly the alternates' WebSocket URLs, and nothing for anything else.
TEST(RendezvousHttp, JoinPagePolicyAllowsExactlyTheLinksAlternates) {
  const std::string plain(rv::kPageContentSecurityPolicy);
  auto connect_src = [](const std::string& policy) {
    const size_t at = policy.find("connect-src ");
    return policy.substr(at, policy.find(';', at) - at);
  };
  EXPECT_EQ(rv::join_page_content_security_policy("/j"), plain);
  EXPECT_EQ(connect_src(rv::join_page_content_security_policy(
                "/j?r=http://127.0.0.1:9001&r=http://b.example:8080/rv")),
            "connect-src 'self' ws://127.0.0.1:9001/ws ws://b.example:8080/rv/ws");
  EXPECT_EQ(connect_src(rv::join_page_content_security_policy("/base/j?r=https://b.example")),
            "connect-src 'self' wss://b.example/ws");
  // Everything else of the policy is the page's.
  std::string widened = rv::join_page_content_security_policy("/j?r=https://b.example");
  widened.replace(widened.find(" wss://b.example/ws"), 19, "");
  EXPECT_EQ(widened, plain);
  for (const char* target : {
           "/j?x=1",                                      // not alternates
           "/j?r=",                                       // empty
           "/j?r=https://b.example;script-src",           // not a base URL
           "/j?r=https://b.example%20x",                  // not a host
           "/j?r=https://b.example,https://c.example",    // not a host either
           "/j?r=https://b.example/",                     // not normalized
           "/j?r=https://B.example",                      // not normalized
           "/j?r=https://b.example&r=http://c.example",   // two schemes
           "/j?r=https://b.example&r=https://b.example",  // repeated
           "/j?r=https://a.e&r=https://b.e&r=https://c.e&r=https://d.e&r=https://f.e",  // five
           "/j?r=https://b.example&relay",  // another item
           "/j?r=http://[::1]:9000",        // IPv6: no CSP source names it
           "/j?r=https://b.example/it's",   // a path character CSP sources lack
       }) {
    EXPECT_EQ(rv::join_page_content_security_policy(target), plain) << target;
  }

  ServerProcess server;
  ASSERT_TRUE(server.ok());
  auto page = http_request(server.port(), "/j?r=http://127.0.0.1:1&r=http://127.0.0.1:2");
  ASSERT_TRUE(page.ok);
  ASSERT_EQ(page.status, 200u);
  EXPECT_EQ(connect_src(std::string(page.headers["Content-Security-Policy"])),
            "connect-src 'self' ws://127.0.0.1:1/ws ws://127.0.0.1:2/ws");
  auto other = http_request(server.port(), "/j?x=1");
  EXPECT_EQ(std::string(other.headers["Content-Security-Policy"]), plain);
  if (!rv::embedded_web_files().empty()) {
    // The meta policy lets the header decide which WebSocket hosts the join page may use.
    EXPECT_NE(page.body.find("connect-src 'self' ws: wss:;"), std::string::npos);
  }
}

// Sends `request` on a fresh connection over and over (keep-alive) until the server closes it;
// returns how many responses arrived (capped).
int keep_alive_until_closed(uint16_t port, int cap) {
  net::io_context ioc;
  tcp::socket sock(ioc);
  sock.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
  timeval tv{5, 0};
  setsockopt(sock.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  beast::flat_buffer buf;
  for (int i = 0; i < cap; ++i) {
    boost::system::error_code ec;
    net::write(sock, net::buffer(std::string("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")), ec);
    beast::http::response<beast::http::string_body> res;
    if (!ec) beast::http::read(sock, buf, res, ec);
    if (ec) return i;
    std::this_thread::sleep_for(20ms);  // a client pacing its requests, as an attacker would
  }
  return cap;
}

TEST(RendezvousHttp, KeepAliveDoesNotExtendTheConnectionDeadline) {
  ServerProcess server({"--http-deadline", "300ms"});
  ASSERT_TRUE(server.ok());
  // ~20 ms per request: the deadline ends the connection long before 1,000 requests.
  int served = keep_alive_until_closed(server.port(), 1000);
  EXPECT_GT(served, 0);
  EXPECT_LT(served, 1000);
}

TEST(RendezvousHttp, TrickledHeadersAreCutAtTheHeaderDeadline) {
  ServerProcess server({"--handshake-timeout", "300ms"});
  ASSERT_TRUE(server.ok());
  net::io_context ioc;
  tcp::socket sock(ioc);
  sock.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), server.port()));
  // One header byte every 20 ms, forever: the server must hang up at its deadline.
  std::string trickle = "GET / HTTP/1.1\r\nX-Slow: ";
  boost::system::error_code ec;
  net::write(sock, net::buffer(trickle), ec);
  for (int i = 0; i < 2000 && !ec; ++i) {
    net::write(sock, net::buffer(std::string("a")), ec);
    if (!ec) {
      pollfd p{sock.native_handle(), POLLIN, 0};
      if (poll(&p, 1, 20) > 0) {
        char c;
        if (::recv(sock.native_handle(), &c, 1, 0) <= 0) break;  // closed by the server
      }
    }
  }
  char c;
  EXPECT_LE(::recv(sock.native_handle(), &c, 1, MSG_DONTWAIT), 0) << "still open";
  EXPECT_EQ(metric(server.port(), rejections("handshake_timeout")), 1);
}

}  // namespace
}  // namespace tokencast::test
