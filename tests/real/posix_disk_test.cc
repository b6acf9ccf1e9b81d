#include "real/posix_disk.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace ksim::real {
namespace {

class PosixDiskTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern = std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/ksim-disk-XXXXXX";
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    ASSERT_TRUE(EventLoop::Create(&loop_).ok());
    // A root that does not exist yet: Open creates it.
    Status s = PosixDisk::Open(loop_.get(), dir_ + "/data/root", &disk_);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }

  void TearDown() override {
    disk_.reset();
    loop_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  // Runs a Sync-like call and returns its status, checking it completed asynchronously.
  Status Await(const std::function<void(std::function<void(Status)>)>& call) {
    std::optional<Status> result;
    call([&](Status s) { result = std::move(s); });
    EXPECT_FALSE(result.has_value()) << "completion ran inside the call";
    EXPECT_TRUE(loop_->RunUntil([&] { return result.has_value(); }, Seconds(10)));
    return result.value_or(Status::Timeout("never completed"));
  }

  std::string ReadOrDie(const std::string& path) {
    std::string out;
    Status s = disk_->Read(path, &out);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return out;
  }

  std::string dir_;
  std::unique_ptr<EventLoop> loop_;
  std::unique_ptr<PosixDisk> disk_;
};

TEST_F(PosixDiskTest, AppendSyncReadRoundTrip) {
  ASSERT_TRUE(disk_->Append("wal/0001.log", "hello ").ok());  // creates wal/
  ASSERT_TRUE(disk_->Append("wal/0001.log", "world").ok());
  std::string binary("a\0b\xff", 4);
  ASSERT_TRUE(disk_->Append("wal/0001.log", binary).ok());
  EXPECT_TRUE(Await([&](auto done) { disk_->Sync("wal/0001.log", done); }).ok());
  EXPECT_TRUE(Await([&](auto done) { disk_->SyncDir("wal", done); }).ok());
  EXPECT_TRUE(Await([&](auto done) { disk_->SyncDir("", done); }).ok());
  EXPECT_EQ(ReadOrDie("wal/0001.log"), "hello world" + binary);
  // The bytes are really in the directory given as root.
  EXPECT_EQ(std::filesystem::file_size(dir_ + "/data/root/wal/0001.log"), 15u);
}

TEST_F(PosixDiskTest, LargeWriteReadsBackExactly) {
  std::string big(3u << 20, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 7919 % 251);
  ASSERT_TRUE(disk_->WriteFile("big", big).ok());
  EXPECT_EQ(ReadOrDie("big"), big);
}

TEST_F(PosixDiskTest, ReadAtReturnsExactlyTheRange) {
  std::string big(3u << 20, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 7919 % 251);
  ASSERT_TRUE(disk_->Append("wal", big).ok());
  std::string out;
  ASSERT_TRUE(disk_->ReadAt("wal", 1234567, 1u << 20, &out).ok());
  EXPECT_EQ(out, big.substr(1234567, 1u << 20));
  ASSERT_TRUE(disk_->ReadAt("wal", big.size(), 0, &out).ok());
  EXPECT_EQ(out, "");
  Status s = disk_->ReadAt("wal", big.size() - 3, 4, &out);
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument) << s.ToString();
  EXPECT_EQ(out, "");
  EXPECT_EQ(disk_->ReadAt("missing", 0, 1, &out).code(), Status::Code::kNotFound);
  EXPECT_EQ(disk_->ReadAt("../escape", 0, 1, &out).code(), Status::Code::kInvalidArgument);
}

TEST_F(PosixDiskTest, SyncOfMissingFileIsNotFoundAndAsynchronous) {
  EXPECT_EQ(Await([&](auto done) { disk_->Sync("nope", done); }).code(), Status::Code::kNotFound);
  EXPECT_EQ(Await([&](auto done) { disk_->Sync("../x", done); }).code(), Status::Code::kInvalidArgument);
  EXPECT_TRUE(Await([&](auto done) { disk_->SyncDir("absent/dir", done); }).ok());
}

TEST_F(PosixDiskTest, WriteFileReplacesContent) {
  ASSERT_TRUE(disk_->WriteFile("meta/state", "a long first version").ok());
  ASSERT_TRUE(disk_->WriteFile("meta/state", "v2").ok());
  EXPECT_EQ(ReadOrDie("meta/state"), "v2");
  ASSERT_TRUE(disk_->WriteFile("meta/state", "").ok());
  EXPECT_EQ(ReadOrDie("meta/state"), "");
}

TEST_F(PosixDiskTest, RenameReplacesAtomically) {
  ASSERT_TRUE(disk_->WriteFile("snap/current", "old").ok());
  ASSERT_TRUE(disk_->WriteFile("snap/current.tmp", "new").ok());
  ASSERT_TRUE(disk_->Rename("snap/current.tmp", "snap/current").ok());
  EXPECT_EQ(ReadOrDie("snap/current"), "new");
  std::string out;
  EXPECT_EQ(disk_->Read("snap/current.tmp", &out).code(), Status::Code::kNotFound);
  EXPECT_EQ(disk_->Rename("snap/missing", "snap/x").code(), Status::Code::kNotFound);
  // Renaming into a directory that does not exist yet creates it.
  ASSERT_TRUE(disk_->Rename("snap/current", "archive/2024/current").ok());
  EXPECT_EQ(ReadOrDie("archive/2024/current"), "new");
  std::vector<std::string> names;
  ASSERT_TRUE(disk_->List("snap", &names).ok());
  EXPECT_TRUE(names.empty());
}

TEST_F(PosixDiskTest, ListIsSortedAndHasOnlyFilesDirectlyInside) {
  for (const char* p : {"d/c", "d/a", "d/b10", "d/b9", "d/sub/x"}) ASSERT_TRUE(disk_->WriteFile(p, p).ok());
  std::vector<std::string> names{"stale"};
  ASSERT_TRUE(disk_->List("d", &names).ok());
  EXPECT_EQ(names, (std::vector<std::string>{"a", "b10", "b9", "c"}));
  ASSERT_TRUE(disk_->List("d/sub", &names).ok());
  EXPECT_EQ(names, std::vector<std::string>{"x"});
  ASSERT_TRUE(disk_->List("missing", &names).ok());
  EXPECT_TRUE(names.empty());
  ASSERT_TRUE(disk_->WriteFile("top", "").ok());
  ASSERT_TRUE(disk_->List("", &names).ok());
  EXPECT_EQ(names, std::vector<std::string>{"top"});
}

TEST_F(PosixDiskTest, RemoveDeletesAndReportsMissing) {
  ASSERT_TRUE(disk_->WriteFile("x/y", "data").ok());
  ASSERT_TRUE(disk_->Remove("x/y").ok());
  std::string out;
  EXPECT_EQ(disk_->Read("x/y", &out).code(), Status::Code::kNotFound);
  EXPECT_EQ(disk_->Remove("x/y").code(), Status::Code::kNotFound);
  EXPECT_EQ(disk_->Remove("x").code(), Status::Code::kNotFound) << "a directory is not a file";
  EXPECT_EQ(disk_->Read("x", &out).code(), Status::Code::kNotFound);
}

TEST_F(PosixDiskTest, RejectsAbsoluteAndEscapingPaths) {
  const std::vector<std::string> bad = {"", "/etc/passwd", "../escape", "a/../../b", "a/..", "..", ".",
                                        "a//b", "a/./b", "a/", std::string("a\0b", 3)};
  for (const std::string& p : bad) {
    std::string out;
    std::vector<std::string> names;
    EXPECT_EQ(disk_->Append(p, "x").code(), Status::Code::kInvalidArgument) << p;
    EXPECT_EQ(disk_->WriteFile(p, "x").code(), Status::Code::kInvalidArgument) << p;
    EXPECT_EQ(disk_->Read(p, &out).code(), Status::Code::kInvalidArgument) << p;
    EXPECT_EQ(disk_->Remove(p).code(), Status::Code::kInvalidArgument) << p;
    EXPECT_EQ(disk_->Rename(p, "ok").code(), Status::Code::kInvalidArgument) << p;
    EXPECT_EQ(disk_->Rename("ok", p).code(), Status::Code::kInvalidArgument) << p;
    if (!p.empty()) {
      EXPECT_EQ(disk_->List(p, &names).code(), Status::Code::kInvalidArgument) << p;
    }
  }
  // Nothing escaped the root.
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/data/escape"));
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/escape"));
}

TEST_F(PosixDiskTest, FailedAppendLeavesTheFileUnchanged) {
  // A directory where a file is expected makes the open fail; nothing must be created.
  ASSERT_TRUE(disk_->WriteFile("dir/file", "x").ok());
  EXPECT_FALSE(disk_->Append("dir", "data").ok());
  EXPECT_FALSE(disk_->Append("dir/file/below", "data").ok());
  EXPECT_EQ(ReadOrDie("dir/file"), "x");
}

TEST_F(PosixDiskTest, OpenFailsWhenRootIsAFile) {
  ASSERT_TRUE(disk_->WriteFile("plain", "x").ok());
  std::unique_ptr<PosixDisk> other;
  EXPECT_EQ(PosixDisk::Open(loop_.get(), dir_ + "/data/root/plain", &other).code(), Status::Code::kIOError);
}

}  // namespace
}  // namespace ksim::real
