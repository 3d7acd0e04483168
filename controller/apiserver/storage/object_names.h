#pragma once
// kube-apiserver's name rules: a Namespace's name is a DNS-1123 label, every other name here a
// DNS-1123 subdomain, with kube's wording when one is not.

#include <string>
#include <vector>

#include "controller/apiserver/api_error.h"
#include "controller/apiserver/resource_registry.h"

namespace virtsnap::apiserver {

// The causes of a 422 for `name` as the name of a `type` object; empty when the name is valid.
std::vector<StatusCause> nameCauses(const ServedResource& type, const std::string& name);

}  // namespace virtsnap::apiserver
