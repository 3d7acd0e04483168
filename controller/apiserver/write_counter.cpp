#include "controller/apiserver/write_counter.h"

namespace virtsnap::apiserver {

void WriteCounter::count(WriteKey key) {
  std::lock_guard<std::mutex> lock(mutex_);
  ++counts_[std::move(key)];
}

WriteCounts WriteCounter::counts() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return counts_;
}

std::string writeVerb(const std::string& method) {
  if (method == "POST") {
    return "create";
  }
  if (method == "PUT") {
    return "update";
  }
  if (method == "PATCH") {
    return "patch";
  }
  if (method == "DELETE") {
    return "delete";
  }
  return "";
}

void RequestCounter::count(RequestKey key) {
  std::lock_guard<std::mutex> lock(mutex_);
  ++counts_[std::move(key)];
}

RequestCounts RequestCounter::counts() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return counts_;
}

std::string requestVerb(const std::string& method, bool named, bool watch) {
  if (method == "GET") {
    if (watch) {
      return "watch";
    }
    return named ? "get" : "list";
  }
  if (method == "DELETE" && !named) {
    return "deletecollection";
  }
  return writeVerb(method);
}

}  // namespace virtsnap::apiserver
