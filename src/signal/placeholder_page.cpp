// The built-in page served at / and /j when no web root is given. Keep it byte-identical to
// web/placeholder/index.html (a test compares them).
#include "signal/static_files.hpp"

namespace tokencast::rendezvous {

std::string_view placeholder_page() {
  static constexpr std::string_view kPage = R"html(<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>tokencast</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:36em;margin:3em auto;padding:0 1em}code{background:#eee;padding:0 .2em}</style>
</head>
<body>
<h1>tokencast</h1>
<p>This rendezvous server is running, but no web client is installed on it yet.</p>
<p>To join a session from this invite link, copy the whole link (with the part after
<code>#</code>) and run <code>tokencast join '&lt;link&gt;'</code>.</p>
</body>
</html>
)html";
  return kPage;
}

}  // namespace tokencast::rendezvous
