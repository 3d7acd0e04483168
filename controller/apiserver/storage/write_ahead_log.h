#pragma once
// The store's durability: a snapshot file plus an append-only log of JSON records under one directory.
//
// File format (both files): an 8-byte magic, then records of [u32 little-endian payload length]
// [u32 little-endian CRC-32 (IEEE) of the payload][payload]. The snapshot holds one record.
// - append() writes one record and fsyncs before it returns: an acknowledged write is on disk.
// - Compaction is two steps, so that the owner holds its lock only for the quick one.
//   beginCompaction() moves the log aside as wal.old.log (a hard link, then the new, empty log renamed
//   over wal.log) and appends go to the new log from then on; the owner captures its state at that
//   instant, the last record of the old log.
//   writeSnapshot(), with no lock and while appends go on, writes that state to a temporary file,
//   fsyncs it, renames it over the old snapshot, fsyncs the directory and deletes the old log.
//   open() reads the snapshot, then wal.old.log (unless it is wal.log under a second name, when a
//   crash came between link and rename), then wal.log: a crash at any point leaves records
//   the snapshot may already contain, and the owner skips them by resourceVersion. A failed
//   writeSnapshot() leaves the old log in place; the next beginCompaction() then keeps both logs
//   (nothing moves) and the next snapshot covers both.
// - open() refuses, naming the file and the byte offset, a record whose CRC does not match and a
//   truncated final record (a torn write). Decision: never drop a record silently, even the last one:
//   it may have been acknowledged (the fsync can have finished before the crash while a later write
//   tore), and a server that quietly forgets a write is worse than one that asks an operator to look.
//   The message says how to accept the loss (truncate the file at the offset).
// Not thread-safe: the owner serializes calls, except that one writeSnapshot() may run alongside
// append() and the accessors (it touches only the snapshot and the old log's file).

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/expected.h"

namespace virtsnap::apiserver {

std::uint32_t crc32(const void* data, std::size_t size);

class WriteAheadLog {
 public:
  // What open() found on disk.
  struct Contents {
    std::optional<nlohmann::json> snapshot;
    std::vector<nlohmann::json> records;  // in append order
  };

  static Expected<std::unique_ptr<WriteAheadLog>, std::string> open(const std::filesystem::path& dir,
                                                                    Contents* contents);
  ~WriteAheadLog();
  WriteAheadLog(const WriteAheadLog&) = delete;
  WriteAheadLog& operator=(const WriteAheadLog&) = delete;

  // Appends and fsyncs one record; on failure the log is cut back to where it was. Returns an error text.
  std::optional<std::string> append(const nlohmann::json& record);
  // Starts a compaction (see above): the owner's state now is what writeSnapshot() must be given.
  std::optional<std::string> beginCompaction();
  // Replaces the snapshot with `snapshot` and deletes the old log. Until it returns, no other
  // compaction may begin.
  std::optional<std::string> writeSnapshot(const nlohmann::json& snapshot) const;

  std::uint64_t logBytes() const { return logBytes_; }
  std::uint64_t logRecords() const { return logRecords_; }
  std::filesystem::path logPath() const { return dir_ / "wal.log"; }
  std::filesystem::path oldLogPath() const { return dir_ / "wal.old.log"; }
  std::filesystem::path snapshotPath() const { return dir_ / "snapshot.db"; }

 private:
  explicit WriteAheadLog(std::filesystem::path dir) : dir_(std::move(dir)) {}
  std::optional<std::string> openLogForAppend();

  std::filesystem::path dir_;
  int fd_ = -1;
  std::uint64_t logBytes_ = 0;
  std::uint64_t logRecords_ = 0;
};

}  // namespace virtsnap::apiserver
