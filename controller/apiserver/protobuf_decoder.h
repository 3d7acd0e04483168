#pragma once
// kubectl's typed commands for built-in kinds (`kubectl create namespace`) send their body as
// Kubernetes protobuf: the "k8s\0" magic, a runtime.Unknown envelope (typeMeta, raw) and the object's
// generated message inside. This decodes the one built-in kind the server accepts that way, Namespace
// (metadata name, generateName, labels, annotations, finalizers; spec.finalizers), into the JSON the
// rest of the server works on. Anything else is refused with a message naming what is accepted.

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "base/expected.h"

namespace virtsnap::apiserver {

Expected<nlohmann::json, std::string> protobufToJson(std::string_view body);

}  // namespace virtsnap::apiserver
