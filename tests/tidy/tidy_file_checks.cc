#include "tests/tidy/tidy_file_checks.h"

#include <cctype>
#include <optional>
#include <regex>
#include <set>
#include <string>

namespace ksim::tidy {
namespace {

constexpr auto kFlags = std::regex::ECMAScript | std::regex::optimize;

std::string Trimmed(std::string_view s) {
  size_t b = 0;
  size_t e = s.size();
  while (b < e && (s[b] == ' ' || s[b] == '\t' || s[b] == '\r')) ++b;
  while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t' || s[e - 1] == '\r')) --e;
  return std::string(s.substr(b, e - b));
}

// `(a|b|c)` of the names, for a regex (names are identifiers: nothing to escape).
std::string Alternation(const std::set<std::string>& names) {
  std::string out = "(?:";
  bool first = true;
  for (const std::string& n : names) {
    if (!first) out += "|";
    out += n;
    first = false;
  }
  return out + ")";
}

// Where `text` iterates `name`: a range-for whose range ends with it, name.begin() and
// friends, std::begin(name), or a ranges algorithm over it. Returns the 1-based line or 0.
int FindIteration(std::string_view text, const std::string& name) {
  const std::regex iteration(
      R"(\bfor\s*\([^;{}]*[^:]:\s*[^;{}]*?\b)" + name + R"(\s*\)|\b)" + name +
          R"(\s*(?:\.|->)\s*c?r?begin\s*\(|\bstd\s*::\s*c?r?begin\s*\(\s*[^)]*\b)" + name +
          R"(\s*\)|\branges\s*::\s*\w+\s*\(\s*[^,)]*\b)" + name + R"(\s*[,)])",
      kFlags);
  std::match_results<std::string_view::const_iterator> m;
  if (!std::regex_search(text.begin(), text.end(), m, iteration)) return 0;
  const size_t at = static_cast<size_t>(m.position(0));
  int line = 1;
  for (size_t k = 0; k < at; ++k) line += text[k] == '\n' ? 1 : 0;
  return line;
}

}  // namespace

std::string VerifyLookupOnly(std::string_view path, std::string_view declaration, std::string_view file_code,
                             const FileContext& context) {
  static const std::regex include_line(R"(^\s*#\s*include\b)", kFlags);
  if (std::regex_search(declaration.begin(), declaration.end(), include_line)) return "";  // no name to follow
  static const std::regex alias(R"(\b(?:using\s+\w+\s*=|typedef)\b)", kFlags);
  if (std::regex_search(declaration.begin(), declaration.end(), alias)) {
    return "a type alias cannot be verified; mark the variables";
  }
  // The name after the container's template arguments: skip the balanced <...>.
  static const std::regex container(R"(\b(?:unordered_(?:map|set|multimap|multiset)|(?:flat|node)_hash_(?:map|set))\s*<)",
                                    kFlags);
  std::match_results<std::string_view::const_iterator> m;
  if (!std::regex_search(declaration.begin(), declaration.end(), m, container)) return "no container declared";
  size_t k = static_cast<size_t>(m.position(0) + m.length(0));
  for (int depth = 1; k < declaration.size() && depth > 0; ++k) {
    if (declaration[k] == '<') ++depth;
    if (declaration[k] == '>') --depth;
  }
  while (k < declaration.size() && (declaration[k] == ' ' || declaration[k] == '&' || declaration[k] == '*')) ++k;
  size_t e = k;
  while (e < declaration.size() && (std::isalnum(static_cast<unsigned char>(declaration[e])) || declaration[e] == '_')) {
    ++e;
  }
  const std::string name(declaration.substr(k, e - k));
  size_t after = e;
  while (after < declaration.size() && declaration[after] == ' ') ++after;
  if (name.empty() || name == "const" || (after < declaration.size() && declaration[after] == '(')) {
    return "no variable name follows the container (a function or an expression cannot be verified)";
  }
  if (int line = FindIteration(file_code, name); line != 0) {
    return "`" + name + "` is iterated at " + std::string(path) + ":" + std::to_string(line);
  }
  for (const auto& [other, content] : context.companions) {
    if (int line = FindIteration(content, name); line != 0) {
      return "`" + name + "` is iterated at " + other + ":" + std::to_string(line);
    }
  }
  return "";
}

void CollectProtoFields(std::string_view proto, std::set<std::string>* map_fields, std::set<std::string>* other_fields) {
  static const std::regex map_field(R"(^\s*map\s*<[^>]*>\s*(\w+)\s*=)", kFlags);
  static const std::regex field(R"(^\s*(?:repeated\s+|optional\s+)?[\w.]+\s+(\w+)\s*=\s*\d+)", kFlags);
  size_t start = 0;
  while (start < proto.size()) {
    size_t nl = proto.find('\n', start);
    if (nl == std::string_view::npos) nl = proto.size();
    const std::string_view line = proto.substr(start, nl - start);
    std::match_results<std::string_view::const_iterator> m;
    if (std::regex_search(line.begin(), line.end(), m, map_field)) {
      map_fields->insert(m[1].str());
    } else if (std::regex_search(line.begin(), line.end(), m, field)) {
      other_fields->insert(m[1].str());
    }
    start = nl + 1;
  }
}

void AmbiguateMapFields(const std::set<std::string>& other_fields, FileContext* context) {
  for (const std::string& name : context->proto_map_fields) {
    if (other_fields.count(name) != 0) context->ambiguous_map_fields.insert(name);
  }
}

const std::vector<std::string>& FileRuleNames() {
  static const std::vector<std::string> names = {"lookup_only_unverified", "protobuf_map_iteration"};
  return names;
}

std::vector<Violation> CheckProtobufMapIteration(std::string_view path, const std::vector<std::string_view>& code_lines,
                                                 const std::vector<std::string_view>& raw_lines,
                                                 const FileContext& context) {
  std::vector<Violation> out;
  // Variables that hold a protobuf map: declared with the type, or bound to a map field;
  // each is followed only inside its scope (a parameter: the function's body).
  static const std::regex typed(R"(\bprotobuf\s*::\s*Map\s*<[^;{}()]*>\s*(?:const\s*)?[&*]*\s*(\w+)\s*([,)]?))",
                                kFlags);
  std::string unambiguous;
  std::string all_fields;
  if (!context.proto_map_fields.empty()) {
    std::set<std::string> plain;
    for (const std::string& f : context.proto_map_fields) {
      if (context.ambiguous_map_fields.count(f) == 0) plain.insert(f);
    }
    unambiguous = plain.empty() ? "" : Alternation(plain);
    all_fields = Alternation(context.proto_map_fields);
  }
  // A chain of accessors ending in a map field: a.b().c(i)->labels()
  const std::string chain = R"((?:[\w\]\[]+(?:\([^()]*\))?\s*(?:\.|->)\s*)+)";
  std::optional<std::regex> bound;
  if (!unambiguous.empty()) bound.emplace(R"(\b(?:const\s+)?auto\s*&?\s*(\w+)\s*=\s*)" + chain + unambiguous + R"(\s*\(\s*\)\s*;)", kFlags);
  std::vector<std::regex> loops;
  const std::string head = R"(\bfor\s*\(\s*)";
  if (!unambiguous.empty()) {
    loops.emplace_back(head + R"([^;{}]*[^:]:\s*)" + chain + unambiguous + R"(\s*\(\s*\)\s*\))", kFlags);
    loops.emplace_back(head + R"(auto\s+\w+\s*=\s*)" + chain + unambiguous + R"(\s*\(\s*\)\s*(?:\.|->)\s*c?begin\s*\()",
                       kFlags);
  }
  if (!all_fields.empty()) {
    // A structured binding iterates pairs: even an ambiguous name is a map here.
    loops.emplace_back(head + R"((?:const\s+)?auto\s*&{0,2}\s*\[[^\]]*\]\s*:\s*)" + chain + all_fields +
                           R"(\s*\(\s*\)\s*\))",
                       kFlags);
  }
  struct Variable {
    std::string name;
    int scope_depth = 0;   // in scope while the brace depth is at least this
    bool entered = false;  // a parameter's scope begins at its function's `{`
  };
  std::vector<Variable> variables;
  int depth = 0;
  for (size_t i = 0; i < code_lines.size() && i < raw_lines.size(); ++i) {
    const std::string_view code = code_lines[i];
    std::match_results<std::string_view::const_iterator> m;
    if (std::regex_search(code.begin(), code.end(), m, typed)) {
      const bool parameter = m[2].length() != 0;
      variables.push_back({m[1].str(), parameter ? depth + 1 : depth, !parameter});
    }
    if (bound && std::regex_search(code.begin(), code.end(), m, *bound)) variables.push_back({m[1].str(), depth, true});
    if (code.find("for") != std::string_view::npos) {
      std::vector<std::regex> here;
      if (!variables.empty()) {
        std::set<std::string> names;
        for (const Variable& v : variables) names.insert(v.name);
        const std::string vars = Alternation(names);
        here.emplace_back(head + R"([^;{}]*[^:]:\s*\*?\s*)" + vars + R"(\s*\))", kFlags);
        here.emplace_back(head + R"(auto\s+\w+\s*=\s*)" + vars + R"(\s*(?:\.|->)\s*c?begin\s*\()", kFlags);
      }
      bool hit = false;
      for (const std::vector<std::regex>* set : {&loops, &here}) {
        for (const std::regex& loop : *set) hit = hit || std::regex_search(code.begin(), code.end(), loop);
      }
      if (hit) {
        out.push_back(
            Violation{std::string(path), static_cast<int>(i + 1), "protobuf_map_iteration", Trimmed(raw_lines[i])});
      }
    }
    for (const char c : code) {
      if (c == '{') {
        ++depth;
        for (Variable& v : variables) v.entered = v.entered || depth >= v.scope_depth;
      } else if (c == '}') {
        --depth;
        std::erase_if(variables, [depth](const Variable& v) { return v.entered && depth < v.scope_depth; });
      }
    }
  }
  return out;
}

}  // namespace ksim::tidy
