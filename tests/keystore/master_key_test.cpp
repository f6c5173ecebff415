// SPDX-License-Identifier: Apache-2.0
#include "keystore/master_key.h"

#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <string>

#include "tests/support/test_support.h"

namespace skr::keystore {
namespace {

using test::CodeOf;
using test::ReasonOf;
using test::TempDir;

TEST_CASE("MasterKeyProvider(file): Create makes a 0600 file of 32 bytes that Load reads",
          "[keystore][integration]") {
  TempDir dir;
  const std::string path = dir.file("master.key");
  auto provider = MakeFileProvider(path);
  CHECK(provider->Describe() == "file:" + path);
  REQUIRE(provider->Create().has_value());

  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  CHECK(st.st_size == 32);

  auto key = provider->Load();
  REQUIRE(key.has_value());
  CHECK(key->size() == 32);
  const std::string on_disk = test::ReadFileOrFail(path);
  REQUIRE(on_disk.size() == 32);
  bool same = true;
  for (std::size_t i = 0; i < 32; ++i) {
    same = same && static_cast<std::uint8_t>(on_disk[i]) == key->Reveal()[i];
  }
  CHECK(same);

  // A second provider on the same file loads the same bytes.
  auto again = MakeFileProvider(path)->Load();
  REQUIRE(again.has_value());
  CHECK(std::equal(again->Reveal().begin(), again->Reveal().end(), key->Reveal().begin()));
}

TEST_CASE("MasterKeyProvider(file): Create never overwrites an existing key",
          "[keystore][integration]") {
  TempDir dir;
  const std::string path = dir.file("master.key");
  auto provider = MakeFileProvider(path);
  REQUIRE(provider->Create().has_value());
  const std::string before = test::ReadFileOrFail(path);
  auto second = provider->Create();
  CHECK(CodeOf(second) == ErrorCode::kAlreadyExists);
  CHECK(test::ReadFileOrFail(path) == before);
}

TEST_CASE("MasterKeyProvider(file): Create in a missing directory is kUnavailable",
          "[keystore][integration]") {
  TempDir dir;
  auto provider = MakeFileProvider(dir.file("no/such/dir/master.key"));
  CHECK(CodeOf(provider->Create()) == ErrorCode::kUnavailable);
}

TEST_CASE("MasterKeyProvider(file): a missing file is kSealed and names the path",
          "[keystore][integration]") {
  TempDir dir;
  const std::string path = dir.file("absent.key");
  auto key = MakeFileProvider(path)->Load();
  REQUIRE(CodeOf(key) == ErrorCode::kSealed);
  CHECK(key.error().message() == "master key file not found: " + path);
}

TEST_CASE("MasterKeyProvider(file): a file readable by group or others is kSealed",
          "[keystore][integration]") {
  TempDir dir;
  const std::string path = dir.file("master.key");
  const unsigned mode = GENERATE(0640u, 0604u, 0660u, 0644u, 0610u, 0601u);
  test::WriteFile(path, std::string(32, 'k'), mode);
  auto key = MakeFileProvider(path)->Load();
  REQUIRE(CodeOf(key) == ErrorCode::kSealed);
  CHECK(key.error().message() ==
        "master key file must not be readable by group or others (chmod 600)");
  CHECK(ReasonOf(key) == "master_key_permissions");
}

TEST_CASE("MasterKeyProvider(file): a file that is not exactly 32 bytes is kSealed",
          "[keystore][integration]") {
  TempDir dir;
  const std::string path = dir.file("master.key");
  const std::size_t size = GENERATE(0u, 1u, 31u, 33u, 64u);
  test::WriteFile(path, std::string(size, 'k'), 0600);
  auto key = MakeFileProvider(path)->Load();
  CHECK(CodeOf(key) == ErrorCode::kSealed);
  CHECK(ReasonOf(key) == "master_key_malformed");
}

TEST_CASE("MasterKeyProvider(file): a directory is not a master key", "[keystore][integration]") {
  TempDir dir;
  const std::string path = dir.file("keydir");
  std::filesystem::create_directory(path);
  std::filesystem::permissions(path, std::filesystem::perms::owner_all);
  CHECK(CodeOf(MakeFileProvider(path)->Load()) == ErrorCode::kSealed);
}

}  // namespace
}  // namespace skr::keystore
