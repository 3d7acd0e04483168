#pragma once
// The writes the API server answered, counted by verb, resource, subresource and HTTP status: how a
// test measures what a client costs the server (a controller's writes per object, or none at all
// over a converged system). Thread-safe; the handler counts every POST, PUT, PATCH and DELETE that
// reaches an object route (an injected fault is not a write and is not counted).

#include <cstdint>
#include <map>
#include <mutex>
#include <string>

namespace virtsnap::apiserver {

struct WriteKey {
  std::string verb;         // create, update, patch, delete (from POST, PUT, PATCH, DELETE)
  std::string resource;     // the plural, e.g. "snapshots", "events", "leases"
  std::string subresource;  // "" or "status"
  int code = 0;             // the HTTP status answered (409: a Conflict, no write happened)

  auto operator<=>(const WriteKey&) const = default;
};

using WriteCounts = std::map<WriteKey, std::uint64_t>;

class WriteCounter {
 public:
  void count(WriteKey key);
  WriteCounts counts() const;

 private:
  mutable std::mutex mutex_;  // guards counts_
  WriteCounts counts_;
};

// "create", "update", "patch" or "delete" for a writing HTTP method; "" for any other.
std::string writeVerb(const std::string& method);

}  // namespace virtsnap::apiserver
