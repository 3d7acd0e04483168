#pragma once
// metav1.StatusCause: one field-level problem of a refused request, as the server words it and the
// client reads it. reason e.g. "FieldValueInvalid", "FieldValueRequired", "FieldValueNotSupported";
// field in Kubernetes path form ("spec.disks[1].name").

#include <string>

namespace virtsnap::meta {

struct StatusCause {
  std::string reason;  // "reason" on the wire (Go's field is called Type)
  std::string message;
  std::string field;

  bool operator==(const StatusCause&) const = default;
};

}  // namespace virtsnap::meta
