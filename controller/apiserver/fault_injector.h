#pragma once
// Faults the API server injects on request, for tests of clients: a status code (409, 410, 5xx) with
// a kube-style Status, added latency, or a dropped connection, on the requests whose method and path
// match a rule; either instead of the request or, with `afterApplied`, after it was applied (the write
// done, its answer lost). Thread-safe; rules are counted down so a test can ask for "the next 3 updates", and
// may apply to a fraction of the requests they match ("30% of the writes"), drawn from the injector's seeded
// generator: the same seed and the same sequence of requests give the same faults.

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace virtsnap::apiserver {

struct Fault {
  std::string method;      // empty: any
  std::string pathPrefix;  // the request path must start with it
  bool watchOnly = false;  // only watch requests (?watch=true)
  int status = 0;          // 0: no error status
  std::chrono::milliseconds latency{0};
  bool drop = false;  // close the connection without an answer (or end a watch stream)
  int times = -1;     // how many requests it applies to; -1: until cleared
  // The chance that a matching request gets it; one that does not is matched against the later rules
  // and does not count towards `times`. 1.0 draws nothing from the generator.
  double probability = 1.0;
  // Empty: any client; else the request's User-Agent must start with it (one client's faults).
  std::string userAgent{};
  // The request is applied first (the write committed) and its answer then replaced by the fault's
  // status or dropped connection: the client cannot tell whether its write happened.
  bool afterApplied = false;
};

class FaultInjector {
 public:
  explicit FaultInjector(std::uint64_t seed = 0) : random_(seed) {}
  // Restarts the generator the probabilities are drawn from.
  void seed(std::uint64_t seed);
  void add(Fault fault);
  void clear();
  // The fault for this request, if any (and counts it down).
  std::optional<Fault> match(const std::string& method, const std::string& path, bool watch,
                             const std::string& userAgent = "");
  // How many requests were matched by a rule so far.
  int injected() const;

 private:
  mutable std::mutex mutex_;  // guards faults_, random_ and injected_
  std::vector<Fault> faults_;
  std::mt19937_64 random_;
  int injected_ = 0;
};

}  // namespace virtsnap::apiserver
