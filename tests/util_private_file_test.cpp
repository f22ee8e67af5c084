// write_private_file: mode 0600 whatever the umask, atomic replacement, symlinks refused.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "tokencast/private_file.hpp"

namespace tokencast {
namespace {

namespace fs = std::filesystem;

class PrivateFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/tokencast-private-XXXXXX";
    dir_ = mkdtemp(tmpl);
    old_umask_ = ::umask(022);
  }
  void TearDown() override {
    ::umask(old_umask_);
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  static std::string read(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  }
  static unsigned mode_of(const fs::path& p) {
    struct stat st {};
    ::lstat(p.c_str(), &st);
    return st.st_mode & 07777;
  }
  size_t entries() const { return std::distance(fs::directory_iterator(dir_), {}); }
  fs::path dir_;
  mode_t old_umask_ = 0;
};

TEST_F(PrivateFileTest, CreatesWithMode0600UnderUmask022) {
  auto path = dir_ / "links.json";
  ASSERT_TRUE(write_private_file(path, "secret"));
  EXPECT_EQ(mode_of(path), 0600u);
  EXPECT_EQ(read(path), "secret");
  EXPECT_EQ(entries(), 1u);  // no temporary file left
}

TEST_F(PrivateFileTest, ReplacesAnExistingFileAndTightensItsMode) {
  auto path = dir_ / "qr.svg";
  std::ofstream(path) << "old";
  fs::permissions(path, fs::perms(0644));
  ASSERT_TRUE(write_private_file(path, "new"));
  EXPECT_EQ(mode_of(path), 0600u);
  EXPECT_EQ(read(path), "new");
}

TEST_F(PrivateFileTest, RefusesASymlinkAtTheTarget) {
  auto victim = dir_ / "victim";
  std::ofstream(victim) << "untouched";
  auto path = dir_ / "out.md";
  fs::create_symlink(victim, path);
  auto r = write_private_file(path, "secret");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().value(), ELOOP);
  EXPECT_EQ(read(victim), "untouched");
  EXPECT_TRUE(fs::is_symlink(path));
  EXPECT_EQ(entries(), 2u);  // no temporary file left
}

TEST_F(PrivateFileTest, ReportsAMissingDirectory) {
  auto r = write_private_file(dir_ / "no" / "such" / "file", "x");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().value(), ENOENT);
}

}  // namespace
}  // namespace tokencast
