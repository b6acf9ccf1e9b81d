// A deliberately small, strict reader for the subset of EDN (https://github.com/edn-format/edn)
// that Jepsen-style history lines use, plus the JSON-lines equivalent. Debian ships no C++ EDN
// library, and a history checker must not guess: anything outside the subset is an error that
// names the column, never a silent reinterpretation.
//
// The subset, one map per line:
//   map      { keyword value, keyword value ... }   keys are keywords; a key may appear once
//   value    nil | integer | string | keyword | vector
//   integer  [+-]?digits, fits in int64 (no leading zeros, no N/M suffixes, no floats)
//   string   "..." with escapes \" \\ \n \t \r \b \f \uXXXX (emitted as UTF-8)
//   keyword  :name, name made of letters, digits and * + ! - _ ? < > = . / #
//   vector   [ value ... ], nested at most kMaxDepth deep
// Commas are whitespace, ';' starts a comment that runs to the end of the line. Not supported
// (rejected): symbols other than nil, true/false, floats, characters, lists, sets, nested maps,
// tagged elements and discard (#_).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cluster/env/status.h"

namespace ksim::lincheck {

// One value of the subset. JSON values map onto it: null -> kNil, integer -> kInt,
// string -> kString, array -> kVector (JSON has no keywords).
struct Datum {
  enum class Kind : uint8_t { kNil, kInt, kString, kKeyword, kVector };
  Kind kind = Kind::kNil;
  int64_t i = 0;
  std::string s;  // string contents, or the keyword's name without its ':'
  std::vector<Datum> items;

  static Datum Nil() { return Datum{}; }
  static Datum Int(int64_t v) {
    Datum d;
    d.kind = Kind::kInt;
    d.i = v;
    return d;
  }
  static Datum String(std::string v) {
    Datum d;
    d.kind = Kind::kString;
    d.s = std::move(v);
    return d;
  }
  static Datum Keyword(std::string name) {
    Datum d;
    d.kind = Kind::kKeyword;
    d.s = std::move(name);
    return d;
  }
  friend bool operator==(const Datum&, const Datum&) = default;
};

// The fields of one line, in the order they were written. Keys are names without ':'.
using DatumMap = std::vector<std::pair<std::string, Datum>>;

inline constexpr int kMaxDepth = 8;

// Parses one line holding exactly one map (and optionally a trailing comment). On error returns
// InvalidArgument whose message is "column C: reason" (1-based byte column).
Status ParseEdnLine(std::string_view line, DatumMap* out);

// Parses one JSON object per line into the same shape. Errors as above, prefixed "json: ".
Status ParseJsonLine(std::string_view line, DatumMap* out);

// Renders a datum as EDN ("nil", "12", "\"a\\\"b\"", ":ok", "[1 2]") or as JSON
// ("null", "12", "\"a\"", "[1,2]"; a keyword renders as a JSON string of its name).
std::string FormatEdn(const Datum& d);
std::string FormatJson(const Datum& d);

}  // namespace ksim::lincheck
