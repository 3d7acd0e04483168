#pragma once
// The syntax tree of a parsed CEL expression (cel_parser.h builds it, cel_eval.cpp walks it). Macros
// (has, all, exists, exists_one, map, filter) are recognised by the parser and kept as their own nodes.

#include <memory>
#include <string>
#include <vector>

#include "controller/apiserver/cel/value.h"

namespace virtsnap::apiserver::cel {

struct Node {
  enum class Kind {
    Literal,        // value
    Ident,          // name
    Select,         // args[0].name
    Has,            // has(args[0].name)
    Index,          // args[0][args[1]]
    Call,           // name(args...), or args[0].name(args[1...]) when receiverStyle
    CreateList,     // [args...]
    CreateMap,      // {args[0]: args[1], ...}
    Unary,          // name ("!" or "-") args[0]
    Binary,         // args[0] name args[1]; name is the operator: + - * / % == != < <= > >= in && ||
    Conditional,    // args[0] ? args[1] : args[2]
    Comprehension,  // args[0].name(iterVar, args[1] [, args[2]]): all, exists, exists_one, map, filter
  };

  Kind kind = Kind::Literal;
  Value value;
  std::string name;
  std::string iterVar;
  bool receiverStyle = false;
  std::vector<std::shared_ptr<const Node>> args;
  std::size_t offset = 0;  // in the source, for messages
  int height = 1;  // of the subtree; bounded by the parser so that walking it cannot exhaust the stack
};

using NodePtr = std::shared_ptr<const Node>;

}  // namespace virtsnap::apiserver::cel
