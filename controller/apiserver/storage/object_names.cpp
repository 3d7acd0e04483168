#include "controller/apiserver/storage/object_names.h"

#include <algorithm>
#include <cctype>

namespace virtsnap::apiserver {

namespace {

const char* const kSubdomainMessage =
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must "
    "start "
    "and end with an alphanumeric character (e.g. 'example.com', regex used for validation is "
    "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const char* const kLabelMessage =
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start "
    "and end "
    "with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is "
    "'[a-z0-9]([-a-z0-9]*[a-z0-9])?')";

bool lowerAlnum(char c) {
  return std::islower(static_cast<unsigned char>(c)) != 0 || std::isdigit(static_cast<unsigned char>(c)) != 0;
}

bool isLabel(const std::string& name) {
  if (name.empty() || name.size() > 63 || !lowerAlnum(name.front()) || !lowerAlnum(name.back())) {
    return false;
  }
  return std::all_of(name.begin(), name.end(), [](char c) { return lowerAlnum(c) || c == '-'; });
}

bool isSubdomain(const std::string& name) {
  if (name.empty() || name.size() > 253) {
    return false;
  }
  std::size_t start = 0;
  while (true) {
    std::size_t dot = name.find('.', start);
    std::string part = name.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (part.empty() || !lowerAlnum(part.front()) || !lowerAlnum(part.back()) ||
        !std::all_of(part.begin(), part.end(), [](char c) { return lowerAlnum(c) || c == '-'; })) {
      return false;
    }
    if (dot == std::string::npos) {
      return true;
    }
    start = dot + 1;
  }
}

}  // namespace

std::vector<StatusCause> nameCauses(const ServedResource& type, const std::string& name) {
  std::vector<StatusCause> causes;
  bool label = type.group.empty() && type.plural == "namespaces";
  std::size_t max = label ? 63 : 253;
  if (name.size() > max) {
    causes.push_back(
        {"FieldValueInvalid",
         "Invalid value: \"" + name + "\": must be no more than " + std::to_string(max) + " characters",
         "metadata.name"});
  }
  if (!(label ? isLabel(name) : isSubdomain(name)) && name.size() <= max) {
    causes.push_back({"FieldValueInvalid",
                      "Invalid value: \"" + name + "\": " + (label ? kLabelMessage : kSubdomainMessage),
                      "metadata.name"});
  }
  return causes;
}

}  // namespace virtsnap::apiserver
