#pragma once
// Faults the API server injects on request, for tests of clients: a status code (409, 410, 5xx) with
// a kube-style Status, added latency, or a dropped connection, on the requests whose method and path
// match a rule. Thread-safe; rules are counted down so a test can ask for "the next 3 updates".

#include <chrono>
#include <mutex>
#include <optional>
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
};

class FaultInjector {
 public:
  void add(Fault fault);
  void clear();
  // The fault for this request, if any (and counts it down).
  std::optional<Fault> match(const std::string& method, const std::string& path, bool watch);
  // How many requests were matched by a rule so far.
  int injected() const;

 private:
  mutable std::mutex mutex_;  // guards faults_ and injected_
  std::vector<Fault> faults_;
  int injected_ = 0;
};

}  // namespace virtsnap::apiserver
