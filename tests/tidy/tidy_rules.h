// Tidy rules: a source scan that enforces the house rules which make a seed a replay.
//
// Nothing in the deterministic folders (cluster/, sim/, faults/, scenarios/) may read real
// time, sleep, spawn threads, draw randomness other than from ksim::Random, read the
// process environment, or let the iteration order of an unordered container or the value
// of a pointer reach behaviour. None of them may include real/, and cluster/ must not
// include the layers above it (sim/, faults/, scenarios/, tools/, reports/).
//
// The scan is textual and line-based. Comments, string literals and character literals
// are blanked out before code rules are matched, so prose never triggers a rule; include
// directives are matched on the raw line (their path is a string literal). A line that
// carries the marker comment `// tidy: lookup-only` may declare an unordered container;
// the marker is verified, not trusted: the declared name must never be iterated (range-for,
// begin(), ranges algorithms) in the file or the other checked files of its directory, and
// a marker on a declaration whose name cannot be followed (a type alias, a function) is
// itself a violation. After `using namespace std`, the rules that look for `std::` names
// also look for the bare names. Range-for loops over protobuf map fields (names read from
// the tree's .proto files) and over variables of type protobuf::Map are violations: copy
// into a std::map (or a sorted view) first.
#pragma once

#include <filesystem>
#include <iosfwd>
#include <optional>
#include <regex>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ksim::tidy {

struct Violation {
  std::string path;  // relative to the tree root, '/'-separated
  int line = 0;      // 1-based
  std::string rule;  // a Rule::name
  std::string text;  // the offending source line, trimmed
};

// "path:line: [rule] text"
std::string ToString(const Violation& v);
std::ostream& operator<<(std::ostream& os, const Violation& v);

struct Rule {
  enum class Kind {
    kCode,     // matched against the line with comments and literals blanked
    kInclude,  // matched against the raw line of an #include directive
  };
  std::string name;
  std::string why;  // one line, shown with violations
  Kind kind = Kind::kCode;
  bool cluster_only = false;  // applies to cluster/ only (otherwise to all four folders)
  bool lookup_marker_exempts = false;  // a `// tidy: lookup-only` marker on the line exempts it
  std::string needle;  // cheap prefilter: the regex runs only on lines containing it
  std::regex pattern;
  // For rules written against `std::name`: the bare name, matched (without the needle) on
  // lines at or after a `using namespace std` directive.
  std::optional<std::regex> unqualified;
};

// What checking one file needs to know beyond the file itself.
struct FileContext {
  // Protobuf map field names. An ambiguous name is also a non-map field of some message,
  // so a loop over it counts only when it binds a pair (`[key, value]`).
  std::set<std::string> proto_map_fields;
  std::set<std::string> ambiguous_map_fields;
  // The other checked files of the file's directory (path, content): where the uses of a
  // `lookup-only` declaration in a header are.
  std::vector<std::pair<std::string, std::string>> companions;
};

// Adds the map fields of one .proto file's text to `context` (non-map fields with the same
// names make them ambiguous; call AmbiguateMapFields after the last file).
void CollectProtoFields(std::string_view proto, std::set<std::string>* map_fields,
                        std::set<std::string>* other_fields);
void AmbiguateMapFields(const std::set<std::string>& other_fields, FileContext* context);

// The names of the rules that CheckFile applies beyond Rules(): protobuf map iteration and
// unverified lookup-only markers.
const std::vector<std::string>& FileRuleNames();

// Every rule, in a fixed order.
const std::vector<Rule>& Rules();

// The folders whose code must be deterministic.
const std::vector<std::string>& DeterministicFolders();

// True if `relative_path` is a C++ source or fragment (.h, .hh, .hpp, .hxx, .cc, .cpp, .cxx,
// .c, .inc, .ipp, .tcc, .ixx, .cppm) inside one of the deterministic folders.
bool IsChecked(std::string_view relative_path);

// `content` with comments, string literals and character literals replaced by spaces
// (delimiting quotes are kept, newlines are kept, so line numbers and columns match).
std::string StripCommentsAndLiterals(std::string_view content);

// The violations in one file. Files that IsChecked() rejects have none.
std::vector<Violation> CheckFile(std::string_view relative_path, std::string_view content,
                                 const FileContext& context);
std::vector<Violation> CheckFile(std::string_view relative_path, std::string_view content);

// Every checked file under `root` (relative, '/'-separated, sorted).
std::vector<std::string> ListCheckedFiles(const std::filesystem::path& root);

// The violations of every checked file under `root`, ordered by path and line.
std::vector<Violation> CheckTree(const std::filesystem::path& root);

}  // namespace ksim::tidy
