#include "controller/apiserver/storage/object_selector.h"

namespace virtsnap::apiserver {

Expected<ObjectSelector, std::string> ObjectSelector::parse(const meta::ListOptions& options,
                                                            const ServedResource& type) {
  auto labels = LabelSelector::parse(options.labelSelector);
  if (!labels) {
    return labels.error();
  }
  auto fields = FieldSelector::parse(options.fieldSelector, type);
  if (!fields) {
    return fields.error();
  }
  ObjectSelector selector;
  selector.labels_ = std::move(labels).value();
  selector.fields_ = std::move(fields).value();
  return selector;
}

bool ObjectSelector::matches(const nlohmann::json& object) const {
  if (empty()) {
    return true;
  }
  auto metadata = object.find("metadata");
  const nlohmann::json labels = metadata != object.end() && metadata->is_object()
                                    ? metadata->value("labels", nlohmann::json())
                                    : nlohmann::json();
  return labels_.matches(labels) && fields_.matches(object);
}

}  // namespace virtsnap::apiserver
