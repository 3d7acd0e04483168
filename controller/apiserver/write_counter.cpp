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

}  // namespace virtsnap::apiserver
