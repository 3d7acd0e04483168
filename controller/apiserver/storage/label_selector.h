#pragma once
// Kubernetes label selectors in their string form (k8s.io/apimachinery/pkg/labels): comma-separated
// requirements `key=v`, `key==v`, `key!=v`, `key in (a,b)`, `key notin (a,b)`, `key`, `!key`, and the
// numeric `key>n`, `key<n`. Every requirement must hold (AND). Keys and values are checked the way
// kube-apiserver checks them, so a selector it refuses is refused here with a similar message.

#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/expected.h"

namespace virtsnap::apiserver {

class LabelSelector {
 public:
  enum class Op { Equals, NotEquals, In, NotIn, Exists, DoesNotExist, GreaterThan, LessThan };
  struct Requirement {
    std::string key;
    Op op = Op::Exists;
    std::set<std::string> values;
  };

  // An empty or blank string selects everything. The error is kube's wording, for a 400 answer.
  static Expected<LabelSelector, std::string> parse(std::string_view text);

  bool empty() const { return requirements_.empty(); }
  // `labels` is metadata.labels (an object of strings) or null.
  bool matches(const nlohmann::json& labels) const;
  const std::vector<Requirement>& requirements() const { return requirements_; }

 private:
  std::vector<Requirement> requirements_;
};

}  // namespace virtsnap::apiserver
