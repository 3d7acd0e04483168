#pragma once
// CEL's lexer and recursive-descent parser, for the subset cel.h describes. A syntax error is a value
// (the message), never an exception.

#include <string>

#include "base/expected.h"
#include "controller/apiserver/cel/ast.h"

namespace virtsnap::apiserver::cel {

Expected<NodePtr, std::string> parse(const std::string& source);

}  // namespace virtsnap::apiserver::cel
