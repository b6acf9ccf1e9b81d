// The sequential specifications the checker linearizes against. For kv each key is its own
// register-like object (that is what makes P-compositional splitting by key sound: Horn &
// Kroening, "Faster linearizability checking via P-compositionality", FORTE 2015), so both
// models are described by one step function on the value of a single object.
#pragma once

#include <optional>

#include "faults/lincheck/history.h"

namespace ksim::lincheck {

// The state after `op` takes effect on an object holding `state`, or nullopt when `op` cannot
// take effect there (its observation disagrees):
//   read/get -> state unchanged if op.result == state, else nullopt
//   write/put v -> v
//   cas [e n] -> n if state == e, else nullopt (a cas that did not succeed completes :fail and
//                is dropped, and an :info cas that failed is the same as one that never ran)
//   append v -> Text(state) + v as a string, where Text(nil) = "", Text(string) = the string
//               and Text(integer) = its decimal digits (so nil + "x" = "x")
std::optional<Value> ApplyOp(const Operation& op, const Value& state);

// The initial state of every object when the history does not set one (History::initial): nil.
inline Value InitialState() { return Value::Nil(); }

}  // namespace ksim::lincheck
