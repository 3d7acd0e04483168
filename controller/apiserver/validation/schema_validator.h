#pragma once
// Validation of an object against its resource's OpenAPI v3 schema, the way kube-apiserver does it for
// CRDs: defaults applied, unknown fields pruned (and reported as fieldValidation asks), every schema
// constraint checked, and the x-kubernetes-validations CEL rules evaluated (transition rules, those
// naming oldSelf, only on update). Causes use Kubernetes field paths and reasons.

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "controller/apiserver/api_error.h"
#include "controller/apiserver/resource_registry.h"

namespace virtsnap::apiserver {

enum class FieldValidation { Strict, Warn, Ignore };

struct ValidationOutcome {
  std::vector<StatusCause> causes;    // non-empty: refuse with 422 Invalid
  std::vector<std::string> warnings;  // for the Warning response header
};

// `object` is the whole object (apiVersion, kind, metadata, spec, status); defaults and pruning are
// applied to it in place. `old` is the stored object on update, nullptr on create. A resource type
// without a schema (built-ins) is accepted as it is.
//
// The steps, in kube-apiserver's order: unknown fields are pruned (everywhere except apiVersion, kind and
// metadata, and below x-kubernetes-preserve-unknown-fields); non-nullable nulls without a default are
// dropped; defaults fill absent fields, recursively; then the schema keywords, the list types (set, map) and
// the CEL rules are checked. CEL rules are skipped when the schema found a type or enum error, as
// kube-apiserver does, with a cause on field "<nil>" saying so.
//
// Unknown fields, by fieldValidation:
// - Strict: the only causes returned are one per unknown field, sorted, with reason "FieldValueUnknown",
//   message `unknown field "spec.foo"` and field "spec.foo". kube-apiserver answers these with 400
//   BadRequest (not 422): `strict decoding error: unknown field "spec.foo", unknown field "spec.bar"`; the
//   caller builds that message from the causes' messages. The object is left pruned.
// - Warn: the fields are pruned and each gives a warning `unknown field "spec.foo"`.
// - Ignore: the fields are pruned silently.
//
// Messages are kube-apiserver's (field.Error rendering of kube-openapi's texts), e.g.
// `Invalid value: "string": spec.vcpus in body must be of type integer: "string"` (FieldValueTypeInvalid),
// `Unsupported value: "Foo": supported values: "Running", "Paused", "Stopped"` (FieldValueNotSupported),
// and for a failed rule `Invalid value: "string": nodeName is immutable` (the bad value is the node's type).
ValidationOutcome validateObject(const ServedResource& type, nlohmann::json& object,
                                 const nlohmann::json* old, FieldValidation fieldValidation);

}  // namespace virtsnap::apiserver
