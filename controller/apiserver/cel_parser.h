#pragma once
// CEL's lexer and recursive-descent parser, for the subset cel.h describes. A syntax error is a value
// (the message), never an exception.

#include <string>

#include "controller/apiserver/cel_ast.h"
#include "drivers/expected.h"

namespace virtsnap::apiserver::cel {

drivers::Expected<NodePtr, std::string> parse(const std::string& source);

}  // namespace virtsnap::apiserver::cel
