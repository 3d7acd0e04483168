#pragma once
// Kubernetes field selectors (k8s.io/apimachinery/pkg/fields): comma-separated `field=value`,
// `field==value`, `field!=value` terms, all of which must hold. The fields a type supports are, for a
// CRD, metadata.name, metadata.namespace and its selectableFields (e.g. spec.nodeName), and for a
// built-in kind the labels kube-apiserver gives it (Event involvedObject.name, Namespace status.phase,
// ...); any other is refused as kube-apiserver refuses it.

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/expected.h"
#include "controller/apiserver/resource_registry.h"

namespace virtsnap::apiserver {

class FieldSelector {
 public:
  struct Term {
    std::string field;  // without a leading dot: spec.nodeName
    bool equals = true;
    std::string value;
    std::vector<std::string> paths;  // the fields read: the first non-empty value counts
  };

  // Parses and checks the fields against `type`; the error is the message for a 400 answer.
  static Expected<FieldSelector, std::string> parse(std::string_view text, const ServedResource& type);

  bool empty() const { return terms_.empty(); }
  bool matches(const nlohmann::json& object) const;
  const std::vector<Term>& terms() const { return terms_; }

  // The value a field selector compares for `field` (dotted path): strings as they are, numbers and
  // booleans in their JSON text, absent or null as "".
  static std::string fieldValue(const nlohmann::json& object, const std::string& field);

 private:
  std::vector<Term> terms_;
};

}  // namespace virtsnap::apiserver
