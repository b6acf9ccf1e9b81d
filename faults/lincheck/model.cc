#include "faults/lincheck/model.h"

#include <string>

namespace ksim::lincheck {

std::optional<Value> ApplyOp(const Operation& op, const Value& state) {
  switch (op.kind) {
    case OpKind::kRead:
    case OpKind::kGet:
      if (op.result == state) return state;
      return std::nullopt;
    case OpKind::kWrite:
    case OpKind::kPut:
      return op.arg;
    case OpKind::kCas:
      if (state == op.arg) return op.arg2;
      return std::nullopt;
    case OpKind::kAppend: {
      std::string text;
      if (state.kind == Value::Kind::kString) text = state.s;
      if (state.kind == Value::Kind::kInt) text = std::to_string(state.i);
      return Value::Str(text + op.arg.s);
    }
  }
  return std::nullopt;
}

}  // namespace ksim::lincheck
