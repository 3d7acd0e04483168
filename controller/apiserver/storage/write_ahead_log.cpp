#include "controller/apiserver/storage/write_ahead_log.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>

namespace virtsnap::apiserver {

namespace fs = std::filesystem;

namespace {

constexpr char kLogMagic[8] = {'V', 'S', 'W', 'A', 'L', '0', '0', '1'};
constexpr char kSnapshotMagic[8] = {'V', 'S', 'S', 'N', 'A', 'P', '0', '1'};
constexpr std::uint32_t kMaxRecord = 256u << 20;  // a larger length field is corruption

std::string errnoText(const std::string& what, const fs::path& path) {
  return what + " " + path.string() + ": " + std::strerror(errno);
}

void putU32(std::string& out, std::uint32_t value) {
  for (int i = 0; i < 4; ++i) {
    out.push_back(static_cast<char>((value >> (8 * i)) & 0xFFu));
  }
}

std::uint32_t getU32(const std::string& data, std::size_t offset) {
  std::uint32_t value = 0;
  for (int i = 3; i >= 0; --i) {
    value = (value << 8) | static_cast<unsigned char>(data[offset + static_cast<std::size_t>(i)]);
  }
  return value;
}

std::string frame(const nlohmann::json& record) {
  std::string payload = record.dump();
  std::string out;
  out.reserve(payload.size() + 8);
  putU32(out, static_cast<std::uint32_t>(payload.size()));
  putU32(out, crc32(payload.data(), payload.size()));
  out += payload;
  return out;
}

bool writeAll(int fd, const std::string& data) {
  std::size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return false;
    }
    done += static_cast<std::size_t>(n);
  }
  return true;
}

std::optional<std::string> fsyncDir(const fs::path& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    return errnoText("cannot open directory", dir);
  }
  int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) {
    return errnoText("cannot fsync directory", dir);
  }
  return std::nullopt;
}

// Writes `data` to `path` atomically: temporary file, fsync, rename, fsync of the directory.
std::optional<std::string> replaceFile(const fs::path& path, const std::string& data) {
  fs::path temporary = path;
  temporary += ".tmp";
  int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    return errnoText("cannot create", temporary);
  }
  bool ok = writeAll(fd, data) && ::fsync(fd) == 0;
  std::string problem = ok ? std::string() : errnoText("cannot write", temporary);
  ::close(fd);
  if (!ok) {
    return problem;
  }
  if (::rename(temporary.c_str(), path.c_str()) != 0) {
    return errnoText("cannot rename into", path);
  }
  return fsyncDir(path.parent_path());
}

// Reads every record of one file; an error names the file and the offset of the bad record.
std::optional<std::string> readRecords(const fs::path& path, const char (&magic)[8],
                                       std::vector<nlohmann::json>* records) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return "cannot read " + path.string();
  }
  std::stringstream buffer;
  buffer << in.rdbuf();
  std::string data = buffer.str();
  if (data.size() < 8 || std::memcmp(data.data(), magic, 8) != 0) {
    return path.string() + ": not a virtsnap store file (bad header at offset 0)";
  }
  std::size_t offset = 8;
  const std::string accept =
      "; to accept losing this and every later record, truncate the file to " +
      std::string("that many bytes (e.g. truncate -s <offset> <file>) and start again");
  while (offset < data.size()) {
    if (data.size() - offset < 8) {
      return path.string() + ": truncated record header at offset " + std::to_string(offset) + " (" +
             std::to_string(data.size() - offset) + " of 8 bytes): a torn write at the end of the log" +
             accept;
    }
    std::uint32_t length = getU32(data, offset);
    std::uint32_t crc = getU32(data, offset + 4);
    if (length > kMaxRecord) {
      return path.string() + ": corrupt record at offset " + std::to_string(offset) + " (length " +
             std::to_string(length) + " is impossible)" + accept;
    }
    if (data.size() - offset - 8 < length) {
      return path.string() + ": truncated record at offset " + std::to_string(offset) + " (needs " +
             std::to_string(length) + " payload bytes, " + std::to_string(data.size() - offset - 8) +
             " present): a torn write at the end of the log" + accept;
    }
    const char* payload = data.data() + offset + 8;
    if (crc32(payload, length) != crc) {
      return path.string() + ": corrupt record at offset " + std::to_string(offset) + " (CRC-32 mismatch)" +
             accept;
    }
    nlohmann::json record = nlohmann::json::parse(payload, payload + length, nullptr, false);
    if (record.is_discarded()) {
      return path.string() + ": corrupt record at offset " + std::to_string(offset) + " (not JSON)" + accept;
    }
    records->push_back(std::move(record));
    offset += 8 + length;
  }
  return std::nullopt;
}

}  // namespace

std::uint32_t crc32(const void* data, std::size_t size) {
  // zlib's CRC-32 (IEEE 802.3, reflected 0xEDB88320): the polynomial every log ever written uses.
  return static_cast<std::uint32_t>(::crc32_z(0L, static_cast<const Bytef*>(data), size));
}

Expected<std::unique_ptr<WriteAheadLog>, std::string> WriteAheadLog::open(const fs::path& dir,
                                                                          Contents* contents) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) {
    return "cannot create the data directory " + dir.string() + ": " + ec.message();
  }
  std::unique_ptr<WriteAheadLog> log(new WriteAheadLog(dir));
  if (fs::exists(log->snapshotPath())) {
    std::vector<nlohmann::json> records;
    if (auto problem = readRecords(log->snapshotPath(), kSnapshotMagic, &records)) {
      return *problem;
    }
    if (records.size() != 1) {
      return log->snapshotPath().string() + ": holds " + std::to_string(records.size()) + " records, not 1";
    }
    contents->snapshot = std::move(records.front());
  }
  std::error_code sameFile;
  // A compaction had not finished (both names on one file: it stopped before moving the log).
  if (fs::exists(log->oldLogPath()) && !fs::equivalent(log->oldLogPath(), log->logPath(), sameFile)) {
    if (auto problem = readRecords(log->oldLogPath(), kLogMagic, &contents->records)) {
      return *problem;
    }
  }
  const std::size_t oldRecords = contents->records.size();
  if (fs::exists(log->logPath())) {
    if (auto problem = readRecords(log->logPath(), kLogMagic, &contents->records)) {
      return *problem;
    }
  } else if (auto problem = replaceFile(log->logPath(), std::string(kLogMagic, 8))) {
    return *problem;
  }
  log->logRecords_ = contents->records.size() - oldRecords;
  if (auto problem = log->openLogForAppend()) {
    return *problem;
  }
  return log;
}

WriteAheadLog::~WriteAheadLog() {
  if (fd_ >= 0) {
    ::close(fd_);
  }
}

std::optional<std::string> WriteAheadLog::openLogForAppend() {
  if (fd_ >= 0) {
    ::close(fd_);
  }
  fd_ = ::open(logPath().c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  if (fd_ < 0) {
    return errnoText("cannot open", logPath());
  }
  std::error_code ec;
  logBytes_ = fs::file_size(logPath(), ec);
  return std::nullopt;
}

std::optional<std::string> WriteAheadLog::append(const nlohmann::json& record) {
  std::string data = frame(record);
  if (!writeAll(fd_, data) || ::fdatasync(fd_) != 0) {
    std::string problem = errnoText("cannot append to", logPath());
    // Cut a partial record off so that the log stays readable and the refused write leaves no trace.
    if (::ftruncate(fd_, static_cast<off_t>(logBytes_)) != 0) {
      problem += " (and cannot cut the partial record off: the next open will report it)";
    }
    return problem;
  }
  logBytes_ += data.size();
  ++logRecords_;
  return std::nullopt;
}

std::optional<std::string> WriteAheadLog::beginCompaction() {
  if (fs::exists(oldLogPath())) {
    return std::nullopt;  // an earlier snapshot failed: both logs stay, the next snapshot covers both
  }
  // The new log exists in full before it takes the name, so a crash never leaves a log without its
  // header. The current log gets its second name first (a hard link) and loses wal.log only in the
  // atomic rename: whatever fails, wal.log names the file appends go to until they move, so nothing
  // deletes it. A crash between the two leaves both names on one file, which open() reads once.
  fs::path next = dir_ / "wal.next.log";
  if (auto problem = replaceFile(next, std::string(kLogMagic, 8))) {
    return problem;
  }
  if (::link(logPath().c_str(), oldLogPath().c_str()) != 0) {
    std::string problem = errnoText("cannot link the log as", oldLogPath());
    ::unlink(next.c_str());
    return problem;
  }
  if (::rename(next.c_str(), logPath().c_str()) != 0) {
    std::string problem = errnoText("cannot rename into", logPath());
    ::unlink(oldLogPath().c_str());  // if that fails too, deleting that name later still leaves wal.log
    return problem;
  }
  logRecords_ = 0;
  if (auto problem = openLogForAppend()) {
    return problem;
  }
  return fsyncDir(dir_);
}

std::optional<std::string> WriteAheadLog::writeSnapshot(const nlohmann::json& snapshot) const {
  if (auto problem = replaceFile(snapshotPath(), std::string(kSnapshotMagic, 8) + frame(snapshot))) {
    return problem;
  }
  if (::unlink(oldLogPath().c_str()) != 0 && errno != ENOENT) {
    return errnoText("cannot delete", oldLogPath());
  }
  return fsyncDir(dir_);
}

}  // namespace virtsnap::apiserver
