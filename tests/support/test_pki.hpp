// Test helper: a throwaway PKI made at test time with Debian's openssl CLI, in a temp dir.
// Two independent CAs; a server certificate from the first for 127.0.0.1 and localhost; one
// from the first CA for another name only; one from the second CA for 127.0.0.1.
#pragma once

#include <fstream>
#include <string>

#include "support/run_process.hpp"
#include "support/temp_dir.hpp"

namespace tokencast::testing {

class TestPki {
 public:
  TestPki() {
    ok_ = make_ca("ca") && make_ca("other-ca") &&
          make_leaf("server", "ca", "IP:127.0.0.1,DNS:localhost") &&
          make_leaf("wrong-name", "ca", "DNS:elsewhere.invalid") &&
          make_leaf("foreign", "other-ca", "IP:127.0.0.1,DNS:localhost");
  }
  bool ok() const { return ok_; }
  const std::string& error() const { return error_; }

  std::string ca() const { return dir_.file("ca.pem"); }
  std::string other_ca() const { return dir_.file("other-ca.pem"); }
  // <name>.pem and <name>.key for name in server, wrong-name, foreign.
  std::string cert(const std::string& name) const { return dir_.file(name + ".pem"); }
  std::string key(const std::string& name) const { return dir_.file(name + ".key"); }
  std::string dir() const { return dir_.path(); }

 private:
  bool openssl(std::vector<std::string> args) {
    args.insert(args.begin(), "/usr/bin/openssl");
    ProcessResult r = run_process(args);
    if (r.exit_code != 0) error_ += r.err;
    return r.exit_code == 0;
  }

  bool make_ca(const std::string& name) {
    return openssl({"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                    "-nodes", "-keyout", key(name), "-out", cert(name), "-days", "2", "-subj",
                    "/CN=tokencast test " + name, "-addext", "basicConstraints=critical,CA:TRUE",
                    "-addext", "keyUsage=critical,keyCertSign"});
  }

  bool make_leaf(const std::string& name, const std::string& ca_name, const std::string& san) {
    std::string ext = dir_.file(name + ".ext");
    std::ofstream(ext) << "subjectAltName=" << san
                       << "\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n";
    std::string csr = dir_.file(name + ".csr");
    return openssl({"req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-keyout", key(name), "-out", csr, "-subj", "/CN=" + name}) &&
           openssl({"x509", "-req", "-in", csr, "-CA", cert(ca_name), "-CAkey", key(ca_name),
                    "-CAcreateserial", "-out", cert(name), "-days", "2", "-extfile", ext});
  }

  TempDir dir_;
  bool ok_ = false;
  std::string error_;
};

}  // namespace tokencast::testing
