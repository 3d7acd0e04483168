// What a log compaction costs the embedded API server's writers (controller/apiserver/storage/).
// Every 16 MB of log the whole store is written as a snapshot; the writers must not wait for that.
// For stores of N objects of 2.4 KB (a Snapshot with its recorded definition is about that), one
// writer creates objects back to back, compaction due once the log holds N objects' worth, and the
// table shows each write's latency (median, the longest while the snapshot was being written, the one
// that started the compaction) beside how long the snapshot took to write: a store that wrote it under
// its lock made at least one write wait that long. Figures, no assertions; durable writes (fsync).
//
//   cmake --build build -j2 --target virtsnap_bench_store_compaction &&
//   build/bench/virtsnap_bench_store_compaction [--n 2000,6000,10000]

#include <algorithm>
#include <atomic>
#include <chrono>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "bench/bench_support.h"
#include "controller/apiserver/storage/memory_object_store.h"
#include "tests/support/store_test_base.h"

namespace {

using Clock = std::chrono::steady_clock;

double millis(Clock::duration d) {
  return std::chrono::duration<double, std::milli>(d).count();
}

struct Row {
  int n = 0;
  double snapshotMs = 0;      // from the compaction thread's start to its end
  double triggerWriteMs = 0;  // the write that moved the log aside and copied the objects
  double maxDuringMs = 0;     // the longest write while the snapshot was being written
  int writesDuring = 0;
  double medianMs = 0;  // of every write
};

Row measure(int n) {
  constexpr std::size_t kPayload = 2400;
  virtsnap::testsupport::TempDir dir;
  virtsnap::apiserver::ResourceRegistry registry;
  std::atomic<Clock::rep> started{0};
  std::atomic<Clock::rep> finished{0};
  virtsnap::apiserver::StoreOptions options;
  options.compactAfterBytes = static_cast<std::uint64_t>(n) * (kPayload + 200);
  options.beforeSnapshotWrite = [&] { started = Clock::now().time_since_epoch().count(); };
  auto opened = virtsnap::apiserver::MemoryObjectStore::open(dir.path(), registry, {}, options);
  if (!opened) {
    throw std::runtime_error(opened.error());
  }
  auto& store = *opened.value();
  const auto type = virtsnap::testsupport::widgetType();
  const nlohmann::json payload = {{"payload", std::string(kPayload, 'x')}};
  std::vector<std::pair<Clock::time_point, Clock::time_point>> writes;  // begin, end
  std::thread waiter;
  for (int i = 0; finished == 0 || i < n + 200; ++i) {
    if (i > 3 * n + 1000) {
      throw std::runtime_error("no compaction finished");
    }
    const auto begin = Clock::now();
    auto created = store.create(type, "default",
                                virtsnap::testsupport::widget("w" + std::to_string(i), payload), {}, nullptr);
    writes.emplace_back(begin, Clock::now());
    if (!created) {
      throw std::runtime_error(created.error().message);
    }
    if (started != 0 && !waiter.joinable()) {
      waiter = std::thread([&] {
        store.waitForCompaction();
        finished = Clock::now().time_since_epoch().count();
      });
    }
  }
  waiter.join();
  const Clock::time_point start{Clock::duration(started.load())};
  const Clock::time_point end{Clock::duration(finished.load())};
  Row row;
  row.n = n;
  row.snapshotMs = millis(end - start);
  std::vector<double> latencies;
  for (const auto& [begin, done] : writes) {
    latencies.push_back(millis(done - begin));
    if (begin <= start) {
      row.triggerWriteMs = latencies.back();  // the last one before the thread started: it started it
    } else if (begin > start && begin <= end) {
      row.maxDuringMs = std::max(row.maxDuringMs, latencies.back());
      ++row.writesDuring;
    }
  }
  std::sort(latencies.begin(), latencies.end());
  row.medianMs = latencies[latencies.size() / 2];
  return row;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<int> sizes{2000, 6000, 10000};
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--n" && i + 1 < argc) {
      sizes.clear();
      std::istringstream list(argv[++i]);
      for (std::string part; std::getline(list, part, ',');) {
        sizes.push_back(std::stoi(part));
      }
    } else {
      std::cerr << "usage: " << argv[0] << " [--n 2000,6000,10000]\n";
      return 2;
    }
  }
  std::vector<Row> rows;
  for (int n : sizes) {
    rows.push_back(measure(n));
  }
  std::cout << "Log compaction against the writers: N objects of 2.4 KB, one writer back to back\n";
  const auto row = [&](const std::string& label, auto value) {
    std::cout << label;
    for (std::size_t pad = label.size(); pad < 44; ++pad) {
      std::cout << ' ';
    }
    for (const Row& r : rows) {
      std::string text = value(r);
      std::cout << std::string(text.size() < 12 ? 12 - text.size() : 0, ' ') << text;
    }
    std::cout << "\n";
  };
  using virtsnap::bench::fixed;
  row("", [](const Row& r) { return "N=" + std::to_string(r.n); });
  row("snapshot written in ms (off the lock)", [](const Row& r) { return fixed(r.snapshotMs, 1); });
  row("write that started it ms (copy + log moved)", [](const Row& r) { return fixed(r.triggerWriteMs, 1); });
  row("writes meanwhile", [](const Row& r) { return std::to_string(r.writesDuring); });
  row("longest write meanwhile ms", [](const Row& r) { return fixed(r.maxDuringMs, 1); });
  row("median write ms", [](const Row& r) { return fixed(r.medianMs, 2); });
  row("ratio snapshot / longest write meanwhile",
      [](const Row& r) { return fixed(r.maxDuringMs > 0 ? r.snapshotMs / r.maxDuringMs : 0, 1); });
  std::cout << "\nrerun: " << argv[0];
  for (int i = 1; i < argc; ++i) {
    std::cout << " " << argv[i];
  }
  std::cout << "\n";
  return 0;
}
