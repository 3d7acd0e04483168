#pragma once
// The writes the API server answered, counted by verb, resource, subresource and HTTP status: how a
// test measures what a client costs the server (a controller's writes per object, or none at all
// over a converged system). Thread-safe; the handler counts every POST, PUT, PATCH and DELETE that
// reaches an object route (an injected fault is not a write and is not counted). RequestCounter counts
// every request on an object route, reads too, by RBAC verb.

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

// Every request that reached an object route, reads included, in RBAC's terms: what a client's Roles must
// allow it (a test compares a controller's requests with its ClusterRole), whatever the answer was; by the
// client's User-Agent, so that a test's own requests can be told from the controller's.
struct RequestKey {
  std::string userAgent;    // the User-Agent header as sent
  std::string group;        // the API group, "" for the core group
  std::string verb;         // get, list, watch, create, update, patch, delete, deletecollection
  std::string resource;     // the plural
  std::string subresource;  // "" or "status"
  std::string ns;           // the namespace of the URL, "" for a cluster-wide request

  auto operator<=>(const RequestKey&) const = default;
};

using RequestCounts = std::map<RequestKey, std::uint64_t>;

class RequestCounter {
 public:
  void count(RequestKey key);
  RequestCounts counts() const;

 private:
  mutable std::mutex mutex_;  // guards counts_
  RequestCounts counts_;
};

// RBAC's verb for a request on an object route: GET is get on a named object, else list, or watch with
// ?watch; DELETE without a name is deletecollection; the writing methods as writeVerb; "" for any other.
std::string requestVerb(const std::string& method, bool named, bool watch);

}  // namespace virtsnap::apiserver
