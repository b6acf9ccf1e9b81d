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

// Every document of `text`, null documents included. Errors are InvalidArgument and read
// "<source>:<line>: <reason>".
Status LoadYamlDocuments(std::string_view text, std::string_view source, std::vector<YAML::Node>* docs);

}  // namespace ksim::api
