#pragma once
// A spec's validation problems (the CRD's rules, checked again by the agent) as one message for a
// condition or an Event: "path: message; path: message".

#include <string>
#include <vector>

#include "crds/meta/decode_error.h"

namespace virtsnap::reconcilers {

inline std::string describeProblems(const std::vector<meta::DecodeError>& problems) {
  std::string out;
  for (const auto& problem : problems) {
    out += (out.empty() ? "" : "; ") + (problem.path.empty() ? "" : problem.path + ": ") + problem.message;
  }
  return out;
}

}  // namespace virtsnap::reconcilers
