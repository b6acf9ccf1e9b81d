// The YAML machinery every reader of YAML files shares (the manifest codec, the
// scheduler's configuration): loading a stream with yaml-cpp, where the text is checked
// first (valid UTF-8, no control characters) and yaml-cpp 0.7's endless empty documents on
// a ',' at document level (", x" or "'a', b") are caught and reported instead of running
// out of memory; typing scalars by the YAML 1.2 core schema; and free-form YAML as JSON.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "cluster/env/status.h"

namespace ksim::api {

// The type of a plain (unquoted) scalar, as the manifest decoder reads it: YAML 1.2's core
// schema, plus YAML 1.1's leading-zero octal ("0644"), which Kubernetes' reader accepts.
// Quoted scalars are strings.
enum class YamlScalarKind { kNull, kBool, kInt, kFloat, kString };
YamlScalarKind ResolvePlainYamlScalar(std::string_view scalar);
// "null", "boolean", "integer", "number", "string" (for error messages).
std::string_view YamlScalarKindName(YamlScalarKind kind);

// YAML 1.1's booleans ("yes", "off", ...), which YAML 1.2 reads as strings; writers quote
// them for older readers.
bool IsYaml11Bool(std::string_view scalar);

// The kind of a scalar (or null) node, honouring quoting and the core tags !!str, !!int,
// !!bool, !!float, !!null. False, with the reason in *error ("unsupported YAML tag ...",
// "\"abc\" is not a valid tag:yaml.org,2002:int"), for another tag or a value that does
// not fit its tag.
bool ClassifyYamlScalar(const YAML::Node& node, YamlScalarKind* kind, std::string* error);

// An integer as the core schema writes it ("42", "-7", "0x1f", "0o17", and "0644" as
// octal); false if it is not one or does not fit in 64 bits.
bool ParseYamlInt(std::string_view scalar, int64_t* out);
// A finite double from a core-schema float or int; false for .inf/.nan (JSON has none).
bool ParseYamlFiniteDouble(std::string_view scalar, double* out);

// Whether `text` is UTF-8 without control characters other than tab (and, when
// `allow_newlines`, LF and CR); else the offset of the first bad byte in *bad_offset.
bool IsValidYamlText(std::string_view text, bool allow_newlines, size_t* bad_offset);

// "string \"abc\"", "integer 12", "object", "list", "null": a node for error messages
// (scalar text cut at 40 characters).
std::string DescribeYamlNode(const YAML::Node& node);
// `text`, cut at 40 characters with "..." for error messages.
std::string TruncatedYamlText(std::string_view text);
// The 1-based line of a mark.
int YamlLine(const YAML::Mark& mark);

// Free-form YAML (plugin args, managedFields' fieldsV1) as JSON, scalars typed by the core
// schema: a tree of at most *budget nodes once aliases are expanded (decremented for each
// node visited) and `max_depth` levels.
struct YamlJsonOptions {
  int max_depth = std::numeric_limits<int>::max();
  std::string too_large;  // the error once the budget runs out
  std::string too_deep;   // the error beyond max_depth
  bool check_text = false;  // keys and strings must be valid text (they may come from escapes)
};
struct YamlError {
  YAML::Mark mark;
  std::string path;
  std::string message;
};
bool YamlToJson(const YAML::Node& node, const std::string& path, const YamlJsonOptions& options, int64_t* budget,
                nlohmann::json* out, YamlError* error);

// Every document of `text`, null documents included. Errors are InvalidArgument and read
// "<source>:<line>: <reason>".
Status LoadYamlDocuments(std::string_view text, std::string_view source, std::vector<YAML::Node>* docs);

}  // namespace ksim::api
