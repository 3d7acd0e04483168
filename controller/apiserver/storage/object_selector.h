#pragma once
// What a list or a watch selects: its label selector and its field selector together, parsed in one
// place so that both answer a bad selector alike. An object is selected when both match.

#include <string>

#include <nlohmann/json.hpp>

#include "base/expected.h"
#include "controller/apiserver/resource_registry.h"
#include "controller/apiserver/storage/field_selector.h"
#include "controller/apiserver/storage/label_selector.h"
#include "crds/meta/list_options.h"

namespace virtsnap::apiserver {

class ObjectSelector {
 public:
  // options.labelSelector and options.fieldSelector, the fields checked against `type`; the error is
  // kube's wording, for a 400 answer.
  static Expected<ObjectSelector, std::string> parse(const meta::ListOptions& options,
                                                     const ServedResource& type);

  bool empty() const { return labels_.empty() && fields_.empty(); }  // selects everything
  bool matches(const nlohmann::json& object) const;

 private:
  LabelSelector labels_;
  FieldSelector fields_;
};

}  // namespace virtsnap::apiserver
