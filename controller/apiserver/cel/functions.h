#pragma once
// The functions of the CEL subset (cel.h), called by the evaluator with already evaluated arguments.

#include <string>
#include <string_view>
#include <vector>

#include "controller/apiserver/cel/value.h"

namespace virtsnap::apiserver::cel {

// Whether `name` is a function the subset knows, in global (f(x)) or receiver (x.f()) style.
bool isKnownFunction(std::string_view name, bool receiverStyle);

// `args` holds the receiver first for a receiver-style call. Wrong types or arity give "no such overload".
Value callFunction(const std::string& name, bool receiverStyle, const std::vector<Value>& args);

// The arithmetic and comparison operators (+ - * / % < <= > >= == != in), and unary ! and -.
Value applyBinary(const std::string& op, const Value& left, const Value& right);
Value applyUnary(const std::string& op, const Value& operand);

}  // namespace virtsnap::apiserver::cel
