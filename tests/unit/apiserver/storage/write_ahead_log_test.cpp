#include "controller/apiserver/storage/write_ahead_log.h"

#include <fstream>
#include <vector>

#include <gtest/gtest.h>

#include "tests/support/store_test_base.h"

namespace virtsnap::apiserver {
namespace {

using nlohmann::json;
using testsupport::TempDir;

std::unique_ptr<WriteAheadLog> openLog(const std::filesystem::path& dir, WriteAheadLog::Contents* contents) {
  auto log = WriteAheadLog::open(dir, contents);
  EXPECT_TRUE(log.has_value()) << (log.has_value() ? "" : log.error());
  return log.has_value() ? std::move(log).value() : nullptr;
}

TEST(Crc32, KnownValue) {
  EXPECT_EQ(crc32("123456789", 9), 0xCBF43926u);  // the standard CRC-32 check value
  EXPECT_EQ(crc32("", 0), 0u);
}

TEST(WriteAheadLog, ALogWrittenByteForByteInTheFormatOpens) {
  // The on-disk format, spelled out: magic, then per record a little-endian length, CRC-32 and JSON.
  // The CRC was computed outside this code (Python's zlib.crc32), so a change of checksum shows here.
  TempDir dir;
  const std::string payload = R"({"rv":7,"text":"héllo"})";
  ASSERT_EQ(payload.size(), 24u);
  std::string bytes = "VSWAL001";
  bytes += std::string("\x18\x00\x00\x00", 4);  // 24
  bytes += std::string("\xb9\x82\xdc\x32", 4);  // 0x32dc82b9
  bytes += payload;
  std::ofstream(dir.path() / "wal.log", std::ios::binary) << bytes;
  WriteAheadLog::Contents contents;
  auto log = openLog(dir.path(), &contents);
  ASSERT_EQ(contents.records.size(), 1u);
  EXPECT_EQ(contents.records[0], json::parse(payload));
}

TEST(WriteAheadLog, RecordsSurviveReopening) {
  TempDir dir;
  {
    WriteAheadLog::Contents contents;
    auto log = openLog(dir.path(), &contents);
    EXPECT_FALSE(contents.snapshot);
    EXPECT_TRUE(contents.records.empty());
    EXPECT_FALSE(log->append(json{{"rv", 1}, {"text", "héllo"}}));
    EXPECT_FALSE(log->append(json{{"rv", 2}}));
    EXPECT_EQ(log->logRecords(), 2u);
  }
  WriteAheadLog::Contents contents;
  auto log = openLog(dir.path(), &contents);
  ASSERT_EQ(contents.records.size(), 2u);
  EXPECT_EQ(contents.records[0]["text"], "héllo");
  EXPECT_EQ(contents.records[1]["rv"], 2);
}

TEST(WriteAheadLog, CompactionReplacesTheSnapshotAndEmptiesTheLog) {
  TempDir dir;
  {
    WriteAheadLog::Contents contents;
    auto log = openLog(dir.path(), &contents);
    EXPECT_FALSE(log->append(json{{"rv", 1}}));
    EXPECT_FALSE(log->beginCompaction());
    EXPECT_EQ(log->logRecords(), 0u);
    EXPECT_EQ(log->logBytes(), 8u);
    EXPECT_FALSE(log->writeSnapshot(json{{"rv", 1}, {"objects", json::array()}}));
    EXPECT_FALSE(log->append(json{{"rv", 2}}));
  }
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "snapshot.db.tmp"));
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "wal.old.log"));
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "wal.next.log"));
  WriteAheadLog::Contents contents;
  openLog(dir.path(), &contents);
  ASSERT_TRUE(contents.snapshot);
  EXPECT_EQ((*contents.snapshot)["rv"], 1);
  ASSERT_EQ(contents.records.size(), 1u);
  EXPECT_EQ(contents.records[0]["rv"], 2);
}

std::vector<int> versionsOf(const WriteAheadLog::Contents& contents) {
  std::vector<int> versions;
  for (const json& record : contents.records) {
    versions.push_back(record.value("rv", 0));
  }
  return versions;
}

TEST(WriteAheadLog, AppendsWhileTheSnapshotIsWrittenGoToTheNewLog) {
  TempDir dir;
  {
    WriteAheadLog::Contents contents;
    auto log = openLog(dir.path(), &contents);
    EXPECT_FALSE(log->append(json{{"rv", 1}}));
    EXPECT_FALSE(log->append(json{{"rv", 2}}));
    EXPECT_FALSE(log->beginCompaction());
    EXPECT_FALSE(log->append(json{{"rv", 3}}));  // the owner's lock is free while the snapshot is written
    EXPECT_FALSE(log->writeSnapshot(json{{"rv", 2}}));
    EXPECT_FALSE(log->append(json{{"rv", 4}}));
    EXPECT_EQ(log->logRecords(), 2u);
  }
  WriteAheadLog::Contents contents;
  openLog(dir.path(), &contents);
  ASSERT_TRUE(contents.snapshot);
  EXPECT_EQ((*contents.snapshot)["rv"], 2);
  EXPECT_EQ(versionsOf(contents), (std::vector<int>{3, 4}));
}

TEST(WriteAheadLog, ACrashBeforeTheSnapshotIsWrittenReplaysBothLogsInOrder) {
  TempDir dir;
  {
    WriteAheadLog::Contents contents;
    auto log = openLog(dir.path(), &contents);
    EXPECT_FALSE(log->append(json{{"rv", 1}}));
    EXPECT_FALSE(log->beginCompaction());
    EXPECT_FALSE(log->append(json{{"rv", 2}}));
  }  // no writeSnapshot: the process died
  ASSERT_TRUE(std::filesystem::exists(dir.path() / "wal.old.log"));
  WriteAheadLog::Contents contents;
  auto log = openLog(dir.path(), &contents);
  EXPECT_FALSE(contents.snapshot);
  EXPECT_EQ(versionsOf(contents), (std::vector<int>{1, 2}));
  EXPECT_EQ(log->logRecords(), 1u);  // the old log is not the one appended to
}

// Moving the log aside links it as wal.old.log, then renames the new log over wal.log: a crash between
// the two leaves both names on one file, read once.
TEST(WriteAheadLog, ACrashWhileTheLogHasBothNamesReadsItOnce) {
  TempDir dir;
  {
    WriteAheadLog::Contents contents;
    auto log = openLog(dir.path(), &contents);
    EXPECT_FALSE(log->append(json{{"rv", 1}}));
    EXPECT_FALSE(log->append(json{{"rv", 2}}));
  }
  std::filesystem::create_hard_link(dir.path() / "wal.log", dir.path() / "wal.old.log");
  WriteAheadLog::Contents contents;
  auto log = openLog(dir.path(), &contents);
  EXPECT_EQ(versionsOf(contents), (std::vector<int>{1, 2}));
  // The next compaction finds the old name taken: it keeps the log and the snapshot covers it all.
  EXPECT_FALSE(log->beginCompaction());
  EXPECT_FALSE(log->append(json{{"rv", 3}}));
  EXPECT_FALSE(log->writeSnapshot(json{{"rv", 3}}));
  log.reset();
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "wal.old.log"));
  WriteAheadLog::Contents again;
  openLog(dir.path(), &again);
  ASSERT_TRUE(again.snapshot);
  EXPECT_EQ(versionsOf(again), (std::vector<int>{1, 2, 3}));  // the owner skips them: the snapshot is at 3
}

TEST(WriteAheadLog, AFailedSnapshotKeepsBothLogsAndTheNextSnapshotCoversThem) {
  TempDir dir;
  {
    WriteAheadLog::Contents contents;
    auto log = openLog(dir.path(), &contents);
    EXPECT_FALSE(log->append(json{{"rv", 1}}));
    EXPECT_FALSE(log->beginCompaction());
    std::filesystem::create_directories(dir.path() / "snapshot.db.tmp");  // makes the write fail
    auto failed = log->writeSnapshot(json{{"rv", 1}});
    ASSERT_TRUE(failed);
    EXPECT_NE(failed->find("snapshot.db.tmp"), std::string::npos) << *failed;
    EXPECT_FALSE(log->append(json{{"rv", 2}}));
    EXPECT_FALSE(log->beginCompaction());  // the old log is still there: nothing moves
    EXPECT_EQ(log->logRecords(), 1u);
    EXPECT_FALSE(log->append(json{{"rv", 3}}));
    std::filesystem::remove(dir.path() / "snapshot.db.tmp");
    EXPECT_FALSE(log->writeSnapshot(json{{"rv", 2}}));
  }
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "wal.old.log"));
  WriteAheadLog::Contents contents;
  openLog(dir.path(), &contents);
  ASSERT_TRUE(contents.snapshot);
  EXPECT_EQ((*contents.snapshot)["rv"], 2);
  EXPECT_EQ(versionsOf(contents), (std::vector<int>{2, 3}));  // the owner skips 2, which the snapshot holds
}

class DamagedLog : public ::testing::Test {
 protected:
  void SetUp() override {
    WriteAheadLog::Contents contents;
    auto log = openLog(dir_.path(), &contents);
    first_ = json{{"rv", 1}, {"payload", "first"}}.dump().size() + 8;
    EXPECT_FALSE(log->append(json{{"rv", 1}, {"payload", "first"}}));
    EXPECT_FALSE(log->append(json{{"rv", 2}, {"payload", "second"}}));
  }
  std::string openError() {
    WriteAheadLog::Contents contents;
    auto log = WriteAheadLog::open(dir_.path(), &contents);
    EXPECT_FALSE(log.has_value());
    return log.has_value() ? std::string() : log.error();
  }
  std::filesystem::path path() const { return dir_.path() / "wal.log"; }

  TempDir dir_;
  std::size_t first_ = 0;  // bytes of the first record
};

TEST_F(DamagedLog, ABadCrcInTheMiddleNamesFileAndOffset) {
  {
    std::fstream file(path(), std::ios::in | std::ios::out | std::ios::binary);
    file.seekp(8 + 8 + 3);  // inside the first payload
    file.put('X');
  }
  std::string error = openError();
  EXPECT_NE(error.find(path().string() + ": corrupt record at offset 8 (CRC-32 mismatch)"), std::string::npos)
      << error;
}

TEST_F(DamagedLog, ATornFinalRecordIsReportedNotDropped) {
  std::filesystem::resize_file(path(), std::filesystem::file_size(path()) - 1);
  std::string error = openError();
  EXPECT_NE(error.find("truncated record at offset " + std::to_string(8 + first_)), std::string::npos)
      << error;
  EXPECT_NE(error.find("truncate"), std::string::npos);
}

TEST_F(DamagedLog, ATornHeaderIsReported) {
  std::filesystem::resize_file(path(), 8 + first_ + 5);
  EXPECT_NE(openError().find("truncated record header at offset " + std::to_string(8 + first_)),
            std::string::npos);
}

TEST_F(DamagedLog, AForeignFileIsRefused) {
  {
    std::ofstream file(path(), std::ios::binary | std::ios::trunc);
    file << "not a log";
  }
  EXPECT_NE(openError().find("bad header at offset 0"), std::string::npos);
}

TEST_F(DamagedLog, AnImpossibleLengthIsCorruption) {
  {
    std::fstream file(path(), std::ios::in | std::ios::out | std::ios::binary);
    file.seekp(8 + 3);  // the high byte of the first length
    file.put(static_cast<char>(0x7F));
  }
  EXPECT_NE(openError().find("corrupt record at offset 8"), std::string::npos);
}

}  // namespace
}  // namespace virtsnap::apiserver
