#include "cluster/api/machinery/fields.h"

#include <algorithm>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

namespace ksim::api {
namespace {

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsSpace(s.back())) s.remove_suffix(1);
  return s;
}

// Splits on ',' not escaped by '\'. An escape keeps its backslash (undone later).
std::vector<std::string_view> SplitTerms(std::string_view text) {
  std::vector<std::string_view> terms;
  size_t begin = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\') {
      ++i;  // skip the escaped character
    } else if (text[i] == ',') {
      terms.push_back(text.substr(begin, i - begin));
      begin = i + 1;
    }
  }
  terms.push_back(text.substr(std::min(begin, text.size())));
  return terms;
}

class FieldParser {
 public:
  explicit FieldParser(std::string_view text) : text_(text) {}

  Status Parse(std::vector<FieldRequirement>* out) {
    for (std::string_view raw : SplitTerms(text_)) {
      const std::string_view term = Trim(raw);
      if (term.empty()) continue;
      FieldRequirement r;
      if (Status s = ParseTerm(term, &r); !s.ok()) return s;
      out->push_back(std::move(r));
    }
    return Status::Ok();
  }

 private:
  // field op value, where op is the first unescaped "!=", "==" or "=".
  Status ParseTerm(std::string_view term, FieldRequirement* r) {
    for (size_t i = 0; i < term.size(); ++i) {
      if (term[i] == '\\') {
        ++i;
        continue;
      }
      size_t op_chars = 0;
      if (term.substr(i, 2) == "!=") {
        r->op = FieldOp::kNotEquals;
        op_chars = 2;
      } else if (term.substr(i, 2) == "==") {
        r->op = FieldOp::kEquals;
        op_chars = 2;
      } else if (term[i] == '=') {
        r->op = FieldOp::kEquals;
        op_chars = 1;
      }
      if (op_chars == 0) continue;
      const std::string_view field = Trim(term.substr(0, i));
      if (field.empty()) return Error("term \"" + std::string(term) + "\" has no field name");
      // '!' would make "a!" + "=" read back as "a" + "!=".
      if (field.find_first_of("\\!") != std::string_view::npos) {
        return Error("field name \"" + std::string(field) + "\" may not contain '\\' or '!'");
      }
      r->field = std::string(field);
      return Unescape(Trim(term.substr(i + op_chars)), r->field, &r->value);
    }
    return Error("term \"" + std::string(term) + "\" has no operator (want =, == or !=)");
  }

  Status Unescape(std::string_view value, const std::string& field, std::string* out) {
    for (size_t i = 0; i < value.size(); ++i) {
      const char c = value[i];
      if (c == '\\') {
        if (i + 1 == value.size()) return Error("value of \"" + field + "\" ends with a lone '\\'");
        const char next = value[++i];
        if (next != '\\' && next != ',' && next != '=' && next != '!') {
          return Error("value of \"" + field + "\" has an unknown escape '\\" + std::string(1, next) + "'");
        }
        out->push_back(next);
      } else if (c == '=' || c == '!') {
        return Error("value of \"" + field + "\" has an unescaped '" + std::string(1, c) + "'");
      } else {
        out->push_back(c);
      }
    }
    return Status::Ok();
  }

  Status Error(const std::string& reason) const {
    return Status::InvalidArgument("field selector \"" + std::string(text_) + "\": " + reason);
  }

  std::string_view text_;
};

}  // namespace

std::string EscapeFieldValue(std::string_view value) {
  std::string out;
  for (char c : value) {
    if (c == '\\' || c == ',' || c == '=' || c == '!') out.push_back('\\');
    out.push_back(c);
  }
  return out;
}

bool FieldRequirement::Matches(const std::map<std::string, std::string>& fields) const {
  return MatchesLookup([&fields](std::string_view name) {
    const auto it = fields.find(std::string(name));
    return it == fields.end() ? std::string_view() : std::string_view(it->second);
  });
}

bool FieldRequirement::MatchesLookup(const std::function<std::string_view(std::string_view)>& value_of) const {
  return (value_of(field) == value) == (op == FieldOp::kEquals);
}

std::string FieldRequirement::String() const {
  return field + (op == FieldOp::kEquals ? "=" : "!=") + EscapeFieldValue(value);
}

Status FieldSelector::Parse(std::string_view text, FieldSelector* out) {
  std::vector<FieldRequirement> requirements;
  if (Status s = FieldParser(text).Parse(&requirements); !s.ok()) return s;
  std::sort(requirements.begin(), requirements.end(), [](const FieldRequirement& a, const FieldRequirement& b) {
    return std::tie(a.field, a.op, a.value) < std::tie(b.field, b.op, b.value);
  });
  out->requirements_ = std::move(requirements);
  return Status::Ok();
}

bool FieldSelector::Matches(const std::map<std::string, std::string>& fields) const {
  return std::all_of(requirements_.begin(), requirements_.end(),
                     [&](const FieldRequirement& r) { return r.Matches(fields); });
}

bool FieldSelector::MatchesLookup(const std::function<std::string_view(std::string_view)>& value_of) const {
  return std::all_of(requirements_.begin(), requirements_.end(),
                     [&](const FieldRequirement& r) { return r.MatchesLookup(value_of); });
}

std::vector<std::string> FieldSelector::Fields() const {
  std::vector<std::string> names;
  for (const FieldRequirement& r : requirements_) {
    if (names.empty() || names.back() != r.field) names.push_back(r.field);
  }
  return names;
}

std::optional<std::string> FieldSelector::RequiredValue(std::string_view field) const {
  for (const FieldRequirement& r : requirements_) {
    if (r.field == field && r.op == FieldOp::kEquals) return r.value;
  }
  return std::nullopt;
}

std::string FieldSelector::String() const {
  std::string s;
  for (size_t i = 0; i < requirements_.size(); ++i) s += (i ? "," : "") + requirements_[i].String();
  return s;
}

}  // namespace ksim::api
