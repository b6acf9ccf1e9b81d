// The tidy checks that need more than one line: verifying a `lookup-only` marker and finding
// loops over protobuf maps. Internal to tidy_rules.cc.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "tests/tidy/tidy_rules.h"

namespace ksim::tidy {

// Why the `lookup-only` marker on `declaration` (a code line of the file at `path` whose
// whole stripped text is `file_code`) does not hold, or "" if it does: the declared name is
// iterated in the file or a companion, or no variable name can be followed.
std::string VerifyLookupOnly(std::string_view path, std::string_view declaration, std::string_view file_code,
                             const FileContext& context);

// Range-for loops (and begin()-loops) over protobuf map fields or protobuf::Map variables.
std::vector<Violation> CheckProtobufMapIteration(std::string_view path, const std::vector<std::string_view>& code_lines,
                                                 const std::vector<std::string_view>& raw_lines,
                                                 const FileContext& context);

}  // namespace ksim::tidy
