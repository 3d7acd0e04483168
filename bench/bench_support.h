#pragma once
// Pieces shared by the end-to-end benches that run the real agent binary (agent_e2e_bench.cpp on the
// test driver, qemu_snapshot_bench.cpp on real QEMU): /proc readings, a free loopback port, the agent's
// /metrics read and summed, the Ready test of an object, a watch that times when each Snapshot became
// Ready and when it was gone, percentiles, and table printing.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <iterator>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <netinet/in.h>
#include <nlohmann/json.hpp>
#include <sys/socket.h>
#include <unistd.h>

#include "controller/kube/api_client.h"
#include "crds/snapshot.h"
#include "tests/support/free_port.h"
#include "tests/support/shell_command.h"

namespace virtsnap::bench {

using Clock = std::chrono::steady_clock;

inline double secondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// ---- /proc readings -------------------------------------------------------------------------------

// The fields of /proc/<pid>/stat after the command name (which may hold spaces): state first (field 3
// of stat, 1-based). Empty when the process is gone.
inline std::vector<std::string> statFieldsAfterCommand(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto close = text.rfind(')');
  if (close == std::string::npos || close + 2 > text.size()) {
    return {};
  }
  std::istringstream fields(text.substr(close + 2));
  return {std::istream_iterator<std::string>(fields), std::istream_iterator<std::string>()};
}

// utime + stime of `pid`, in seconds.
inline double cpuSeconds(pid_t pid) {
  const std::vector<std::string> field = statFieldsAfterCommand(pid);
  // utime is field 14 and stime 15 of stat (1-based), so indexes 11, 12 here.
  if (field.size() < 13) {
    return -1;
  }
  const double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
  return (std::stod(field[11]) + std::stod(field[12])) / ticks;
}

// A "VmRSS:"-style line of /proc/<pid>/status, in kB.
inline long statusKb(pid_t pid, const std::string& key) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key + ":", 0) == 0) {
      return std::atol(line.c_str() + key.size() + 1);
    }
  }
  return -1;
}

using testsupport::freeLoopbackPort;

// A process whose command is `binary` and which descends from this one, at most `maxDepth` generations
// down (1: our child; more: a wrapper's child too); -1 when none. Read from /proc: a shell's pgrep
// would find its own shell too; and until a forked child has exec'd, its command is ours.
inline pid_t descendantPid(const std::string& binary, int maxDepth = 8) {
  const auto parentOf = [](pid_t pid) -> pid_t {
    const std::vector<std::string> field = statFieldsAfterCommand(pid);
    return field.size() < 2 ? -1 : static_cast<pid_t>(std::stol(field[1]));  // ppid: field 4 of stat
  };
  const std::string file = std::filesystem::path(binary).filename().string();
  std::error_code failed;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", failed)) {
    const std::string name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) {
      continue;
    }
    std::ifstream cmdline(entry.path() / "cmdline");
    std::string command;
    std::getline(cmdline, command, '\0');
    if (std::filesystem::path(command).filename() != file) {
      continue;
    }
    const auto pid = static_cast<pid_t>(std::stol(name));
    pid_t up = parentOf(pid);
    for (int depth = 1; depth <= maxDepth && up > 1; ++depth, up = parentOf(up)) {
      if (up == ::getpid()) {
        return pid;
      }
    }
  }
  return -1;
}

// ---- the agent's /metrics -------------------------------------------------------------------------

// The agent's /metrics text on 127.0.0.1:`port` ("" when unreadable).
inline std::string scrapeMetrics(int port) {
  auto run =
      testsupport::runShell("curl -s --max-time 5 http://127.0.0.1:" + std::to_string(port) + "/metrics");
  return run.exitCode == 0 ? run.output : std::string();
}

// The sum over every series of `family` in the exposition `text` whose labels include every one of
// `labelMatches` (e.g. controller="snapshot").
inline double metricSum(const std::string& text, const std::string& family,
                        const std::vector<std::string>& labelMatches = {}) {
  double sum = 0;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(family, 0) != 0 ||
        (line.size() > family.size() && line[family.size()] != '{' && line[family.size()] != ' ')) {
      continue;
    }
    const bool matches = std::all_of(labelMatches.begin(), labelMatches.end(), [&](const std::string& label) {
      return label.empty() || line.find(label) != std::string::npos;
    });
    if (matches) {
      sum += std::stod(line.substr(line.rfind(' ') + 1));
    }
  }
  return sum;
}

// ---- objects --------------------------------------------------------------------------------------

// The object's Ready condition is True.
inline bool readyCondition(const nlohmann::json& object) {
  const auto status = object.find("status");
  if (status == object.end()) {
    return false;
  }
  for (const auto& condition : status->value("conditions", nlohmann::json::array())) {
    if (condition.value("type", "") == "Ready") {
      return condition.value("status", "") == "True";
    }
  }
  return false;
}

// A Snapshot that is Ready: its phase and its condition.
inline bool isReady(const nlohmann::json& object) {
  const auto status = object.find("status");
  return status != object.end() && status->value("phase", "") == "Ready" && readyCondition(object);
}

// Watches the Snapshots of namespace `ns` (list, then watch from its resourceVersion; listed again when
// the watch ends): how many are Ready, when each was first seen Ready and when each was seen gone
// (the times are this process's, taken as the events arrive: what a user's `kubectl wait` sees).
class SnapshotWatcher {
 public:
  SnapshotWatcher(kube::ApiClientPtr client, std::string ns)
      : client_(std::move(client)), ns_(std::move(ns)), thread_([this] { run(); }) {}
  ~SnapshotWatcher() {
    stop_ = true;
    {
      std::lock_guard lock(mutex_);
      if (stream_) {
        stream_->cancel();
      }
    }
    thread_.join();
  }
  SnapshotWatcher(const SnapshotWatcher&) = delete;
  SnapshotWatcher& operator=(const SnapshotWatcher&) = delete;

  std::size_t ready() const { return count_.load(); }

  // When `name` was first seen Ready (since it was last seen gone); nullopt if not within `limit`.
  std::optional<Clock::time_point> awaitReady(const std::string& name, std::chrono::milliseconds limit) {
    std::unique_lock lock(mutex_);
    if (!changed_.wait_for(lock, limit, [&] { return readyAt_.contains(name); })) {
      return std::nullopt;
    }
    return readyAt_.at(name);
  }

  // When `name` was seen gone (deleted, or missing from a list) after it had been seen; nullopt if not
  // within `limit`.
  std::optional<Clock::time_point> awaitGone(const std::string& name, std::chrono::milliseconds limit) {
    std::unique_lock lock(mutex_);
    if (!changed_.wait_for(lock, limit, [&] { return goneAt_.contains(name); })) {
      return std::nullopt;
    }
    return goneAt_.at(name);
  }

 private:
  void run() {
    const auto& type = meta::Resource<crds::Snapshot>::type();
    while (!stop_) {
      auto listed = client_->list(type, ns_, {});
      if (!listed) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        continue;
      }
      {
        std::lock_guard lock(mutex_);
        std::set<std::string> now;
        for (const auto& item : listed.value().value("items", nlohmann::json::array())) {
          now.insert(item["metadata"].value("name", ""));
          note(item);
        }
        for (const std::string& name : std::set<std::string>(present_)) {
          if (!now.contains(name)) {
            gone(name);
          }
        }
      }
      changed_.notify_all();
      kube::ListOptions options;
      options.resourceVersion = listed.value()["metadata"].value("resourceVersion", "");
      auto stream = client_->watch(type, ns_, options);
      if (!stream) {
        continue;
      }
      kube::WatchStream* current = nullptr;
      {
        std::lock_guard lock(mutex_);
        stream_ = std::move(stream).value();
        current = stream_.get();
        if (stop_) {
          stream_->cancel();
        }
      }
      while (!stop_) {
        auto event = current->next();
        if (!event || !event.value()) {
          break;
        }
        {
          std::lock_guard lock(mutex_);
          if (event.value()->type == kube::WatchEventType::Deleted) {
            gone(event.value()->object["metadata"].value("name", ""));
          } else {
            note(event.value()->object);
          }
        }
        changed_.notify_all();
      }
    }
  }

  // Under mutex_.
  void note(const nlohmann::json& object) {
    const std::string name = object["metadata"].value("name", "");
    if (present_.insert(name).second) {
      goneAt_.erase(name);
    }
    if (isReady(object)) {
      ready_.insert(name);
      readyAt_.try_emplace(name, Clock::now());
    } else {
      ready_.erase(name);
    }
    count_ = ready_.size();
  }
  void gone(const std::string& name) {
    if (present_.erase(name) > 0) {
      goneAt_[name] = Clock::now();
    }
    ready_.erase(name);
    readyAt_.erase(name);
    count_ = ready_.size();
  }

  kube::ApiClientPtr client_;
  std::string ns_;
  std::atomic<bool> stop_{false};
  std::atomic<std::size_t> count_{0};
  std::mutex mutex_;  // guards what follows, and stream_
  std::condition_variable changed_;
  std::set<std::string> present_;
  std::set<std::string> ready_;
  std::map<std::string, Clock::time_point> readyAt_;
  std::map<std::string, Clock::time_point> goneAt_;
  kube::WatchStreamPtr stream_;
  std::thread thread_;
};

// ---- figures and tables ---------------------------------------------------------------------------

// The `q` quantile (0..1) of `values`, nearest rank; 0 for none.
inline double quantile(std::vector<double> values, double q) {
  if (values.empty()) {
    return 0;
  }
  std::sort(values.begin(), values.end());
  const auto rank = static_cast<std::size_t>(std::max(0.0, q * static_cast<double>(values.size()) - 1e-9));
  return values[std::min(rank, values.size() - 1)];
}

inline std::string fixed(double value, int digits = 2) {
  std::ostringstream out;
  out << std::fixed << std::setprecision(digits) << value;
  return out.str();
}

inline void printRow(const std::vector<std::string>& cells, const std::vector<int>& widths) {
  for (std::size_t i = 0; i < cells.size(); ++i) {
    std::cout << (i == 0 ? std::left : std::right) << std::setw(widths[i]) << cells[i] << "  ";
  }
  std::cout << "\n";
}

// The arguments joined, for the line that reruns a bench.
inline std::string commandLine(int argc, char** argv) {
  std::string line = argv[0];
  for (int i = 1; i < argc; ++i) {
    line += " ";
    line += argv[i];
  }
  return line;
}

}  // namespace virtsnap::bench
