// Loading a YAML stream with yaml-cpp, for every parser of YAML files (manifests, the
// scheduler's configuration): the text is checked first (valid UTF-8, no control
// characters), and yaml-cpp 0.7's endless empty documents on a ',' at document level
// (", x" or "'a', b") are caught and reported instead of running out of memory.
#pragma once

#include <yaml-cpp/yaml.h>

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

// Every document of `text`, null documents included. Errors are InvalidArgument and read
// "<source>:<line>: <reason>".
Status LoadYamlDocuments(std::string_view text, std::string_view source, std::vector<YAML::Node>* docs);

}  // namespace ksim::api
