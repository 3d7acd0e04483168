#pragma once
// Causes worded as k8s.io/apimachinery's field.Error renders them, with kube-openapi's texts, so that
// a client sees what kube-apiserver would have said.

#include <cstddef>
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "controller/apiserver/api_error.h"

namespace virtsnap::apiserver::validation {

// The path of an error with no field (kube-apiserver prints a nil field.Path as "<nil>").
inline constexpr const char* kNoField = "<nil>";

// Go's %q of a string (strconv.Quote): printable UTF-8 kept, the rest escaped.
std::string goQuote(const std::string& s);
// A JSON number as Go prints the float64 or int64 it decodes to.
std::string goNumber(const nlohmann::json& v);
// field.Error's rendering of a bad value: strings quoted, numbers and bools plain, null as "null".
std::string badValue(const nlohmann::json& v);

StatusCause invalid(const std::string& field, const nlohmann::json& value, const std::string& detail);
StatusCause typeInvalid(const std::string& field, const nlohmann::json& value, const std::string& detail);
StatusCause required(const std::string& field, const std::string& detail);
StatusCause forbidden(const std::string& field, const std::string& detail);
StatusCause duplicate(const std::string& field, const nlohmann::json& value);
StatusCause tooLong(const std::string& field, std::int64_t max);
StatusCause tooMany(const std::string& field, std::size_t actual, std::int64_t max);

}  // namespace virtsnap::apiserver::validation
