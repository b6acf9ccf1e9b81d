#include "cluster/api/machinery/labels.h"

#include <algorithm>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

namespace ksim::api {
namespace {

constexpr size_t kMaxNameChars = 63;
constexpr size_t kMaxPrefixChars = 253;

bool IsAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }
bool IsLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

// "" if `name` is a valid label name or value body (non-empty), else the reason.
std::string CheckNameChars(std::string_view name) {
  if (name.size() > kMaxNameChars) return "must be no more than 63 characters";
  if (!IsAlnum(name.front()) || !IsAlnum(name.back())) return "must begin and end with an alphanumeric character";
  for (char c : name) {
    if (!IsAlnum(c) && c != '-' && c != '_' && c != '.') {
      return "may contain only alphanumerics, '-', '_' and '.'";
    }
  }
  return "";
}

// "" if `prefix` is a DNS-1123 subdomain, else the reason.
std::string CheckDnsSubdomain(std::string_view prefix) {
  if (prefix.size() > kMaxPrefixChars) return "prefix must be no more than 253 characters";
  size_t start = 0;
  while (true) {
    const size_t dot = prefix.find('.', start);
    const std::string_view label = prefix.substr(start, dot == std::string_view::npos ? prefix.npos : dot - start);
    if (label.empty() || !IsLowerAlnum(label.front()) || !IsLowerAlnum(label.back())) {
      return "prefix must be a DNS subdomain: lowercase alphanumeric labels separated by '.'";
    }
    for (char c : label) {
      if (!IsLowerAlnum(c) && c != '-') {
        return "prefix must be a DNS subdomain: lowercase alphanumerics, '-' and '.'";
      }
    }
    if (dot == std::string_view::npos) return "";
    start = dot + 1;
  }
}

std::string_view OpKeyword(SelectorOp op) {
  switch (op) {
    case SelectorOp::kEquals: return "=";
    case SelectorOp::kNotEquals: return "!=";
    case SelectorOp::kIn: return "in";
    case SelectorOp::kNotIn: return "notin";
    case SelectorOp::kExists: return "exists";
    case SelectorOp::kDoesNotExist: return "!";
  }
  return "?";
}

// Validates the shape of one requirement and normalises its values.
Status NormalizeRequirement(LabelRequirement* r) {
  if (Status s = ValidateLabelKey(r->key); !s.ok()) return s;
  std::sort(r->values.begin(), r->values.end());
  r->values.erase(std::unique(r->values.begin(), r->values.end()), r->values.end());
  switch (r->op) {
    case SelectorOp::kEquals:
    case SelectorOp::kNotEquals:
      if (r->values.size() != 1) {
        return Status::InvalidArgument("label selector key \"" + r->key + "\": operator '" +
                                       std::string(OpKeyword(r->op)) + "' needs exactly one value");
      }
      break;
    case SelectorOp::kIn:
    case SelectorOp::kNotIn:
      if (r->values.empty()) {
        return Status::InvalidArgument("label selector key \"" + r->key + "\": operator '" +
                                       std::string(OpKeyword(r->op)) + "' needs at least one value");
      }
      break;
    case SelectorOp::kExists:
    case SelectorOp::kDoesNotExist:
      if (!r->values.empty()) {
        return Status::InvalidArgument("label selector key \"" + r->key + "\": operator '" +
                                       std::string(OpKeyword(r->op)) + "' takes no values");
      }
      break;
  }
  for (const std::string& v : r->values) {
    if (Status s = ValidateLabelValue(r->key, v); !s.ok()) return s;
  }
  return Status::Ok();
}

// --- The string syntax -----------------------------------------------------------------

enum class TokenKind { kEnd, kIdentifier, kEquals, kDoubleEquals, kNotEquals, kBang, kOpen, kClose, kComma };

struct Token {
  TokenKind kind = TokenKind::kEnd;
  std::string text;
};

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }
bool IsSpecial(char c) { return c == '!' || c == '=' || c == ',' || c == '(' || c == ')' || IsSpace(c); }

class SelectorParser {
 public:
  explicit SelectorParser(std::string_view text) : text_(text) { Advance(); }

  Status Parse(std::vector<LabelRequirement>* out) {
    if (token_.kind == TokenKind::kEnd) return Status::Ok();
    while (true) {
      LabelRequirement r;
      if (Status s = ParseRequirement(&r); !s.ok()) return s;
      if (Status s = NormalizeRequirement(&r); !s.ok()) return Error(s.message());
      out->push_back(std::move(r));
      if (token_.kind == TokenKind::kEnd) return Status::Ok();
      if (token_.kind != TokenKind::kComma) return Error("expected ',' or end after requirement on \"" + out->back().key + "\"");
      Advance();
    }
  }

 private:
  Status ParseRequirement(LabelRequirement* r) {
    if (token_.kind == TokenKind::kBang) {
      Advance();
      if (token_.kind != TokenKind::kIdentifier) return Error("expected a key after '!'");
      r->key = token_.text;
      r->op = SelectorOp::kDoesNotExist;
      Advance();
      return Status::Ok();
    }
    if (token_.kind != TokenKind::kIdentifier) return Error("expected a key");
    r->key = token_.text;
    Advance();
    switch (token_.kind) {
      case TokenKind::kEnd:
      case TokenKind::kComma:
        r->op = SelectorOp::kExists;
        return Status::Ok();
      case TokenKind::kEquals:
      case TokenKind::kDoubleEquals:
      case TokenKind::kNotEquals:
        r->op = token_.kind == TokenKind::kNotEquals ? SelectorOp::kNotEquals : SelectorOp::kEquals;
        Advance();
        // An empty value is allowed ("a=" matches a label a with value "").
        if (token_.kind == TokenKind::kIdentifier) {
          r->values.push_back(token_.text);
          Advance();
        } else {
          r->values.emplace_back();
        }
        return Status::Ok();
      case TokenKind::kIdentifier:
        if (token_.text == "in" || token_.text == "notin") {
          r->op = token_.text == "in" ? SelectorOp::kIn : SelectorOp::kNotIn;
          Advance();
          return ParseValueSet(r);
        }
        break;
      default:
        break;
    }
    return Error("expected '=', '==', '!=', 'in' or 'notin' after key \"" + r->key + "\"");
  }

  Status ParseValueSet(LabelRequirement* r) {
    if (token_.kind != TokenKind::kOpen) return Error("expected '(' after '" + std::string(OpKeyword(r->op)) + "' for key \"" + r->key + "\"");
    Advance();
    while (true) {
      // Empty items are values "" (as in Kubernetes: "a in ()" is a in (""), "a in (,b)").
      if (token_.kind == TokenKind::kIdentifier) {
        r->values.push_back(token_.text);
        Advance();
      } else {
        r->values.emplace_back();
      }
      if (token_.kind == TokenKind::kClose) {
        Advance();
        return Status::Ok();
      }
      if (token_.kind != TokenKind::kComma) return Error("expected ',' or ')' in the values of key \"" + r->key + "\"");
      Advance();
    }
  }

  void Advance() {
    while (pos_ < text_.size() && IsSpace(text_[pos_])) ++pos_;
    token_ = Token{};
    if (pos_ == text_.size()) return;
    const char c = text_[pos_];
    auto two = [&](char next) { return pos_ + 1 < text_.size() && text_[pos_ + 1] == next; };
    switch (c) {
      case '(': token_.kind = TokenKind::kOpen; ++pos_; return;
      case ')': token_.kind = TokenKind::kClose; ++pos_; return;
      case ',': token_.kind = TokenKind::kComma; ++pos_; return;
      case '=':
        token_.kind = two('=') ? TokenKind::kDoubleEquals : TokenKind::kEquals;
        pos_ += two('=') ? 2 : 1;
        return;
      case '!':
        token_.kind = two('=') ? TokenKind::kNotEquals : TokenKind::kBang;
        pos_ += two('=') ? 2 : 1;
        return;
      default: break;
    }
    const size_t begin = pos_;
    while (pos_ < text_.size() && !IsSpecial(text_[pos_])) ++pos_;
    token_.kind = TokenKind::kIdentifier;
    token_.text = std::string(text_.substr(begin, pos_ - begin));
  }

  Status Error(const std::string& reason) const {
    return Status::InvalidArgument("label selector \"" + std::string(text_) + "\": " + reason);
  }

  std::string_view text_;
  size_t pos_ = 0;
  Token token_;
};

void SortRequirements(std::vector<LabelRequirement>* requirements) {
  std::sort(requirements->begin(), requirements->end(), [](const LabelRequirement& a, const LabelRequirement& b) {
    return std::tie(a.key, a.op, a.values) < std::tie(b.key, b.op, b.values);
  });
}

Status FieldError(const std::string& field, const std::string& reason) {
  return Status::InvalidArgument("label selector" + (field.empty() ? "" : " " + field) + ": " + reason);
}

Status RequirementFromJson(const nlohmann::json& expr, const std::string& field, LabelRequirement* out) {
  if (!expr.is_object()) return FieldError(field, "must be an object");
  const auto key = expr.find("key");
  if (key == expr.end() || !key->is_string()) return FieldError(field + ".key", "required string");
  out->key = key->get<std::string>();
  const auto op = expr.find("operator");
  if (op == expr.end() || !op->is_string()) return FieldError(field + ".operator", "required string");
  const std::string op_name = op->get<std::string>();
  if (op_name == "In") {
    out->op = SelectorOp::kIn;
  } else if (op_name == "NotIn") {
    out->op = SelectorOp::kNotIn;
  } else if (op_name == "Exists") {
    out->op = SelectorOp::kExists;
  } else if (op_name == "DoesNotExist") {
    out->op = SelectorOp::kDoesNotExist;
  } else {
    return FieldError(field + ".operator", "\"" + op_name + "\" is not one of In, NotIn, Exists, DoesNotExist");
  }
  const auto values = expr.find("values");
  if (values != expr.end() && !values->is_null()) {
    if (!values->is_array()) return FieldError(field + ".values", "must be a list of strings");
    for (size_t i = 0; i < values->size(); ++i) {
      if (!(*values)[i].is_string()) return FieldError(field + ".values[" + std::to_string(i) + "]", "must be a string");
      out->values.push_back((*values)[i].get<std::string>());
    }
  }
  if (Status s = NormalizeRequirement(out); !s.ok()) return FieldError(field, s.message());
  return Status::Ok();
}

}  // namespace

Status ValidateLabelKey(std::string_view key) {
  auto fail = [&](const std::string& reason) {
    return Status::InvalidArgument("label key \"" + std::string(key) + "\": " + reason);
  };
  std::string_view name = key;
  const size_t slash = key.find('/');
  if (slash != std::string_view::npos) {
    const std::string_view prefix = key.substr(0, slash);
    name = key.substr(slash + 1);
    if (name.find('/') != std::string_view::npos) return fail("must be a name with an optional DNS subdomain prefix and '/'");
    if (prefix.empty()) return fail("prefix before '/' must be non-empty");
    if (std::string reason = CheckDnsSubdomain(prefix); !reason.empty()) return fail(reason);
  }
  if (name.empty()) return fail("name part must be non-empty");
  if (std::string reason = CheckNameChars(name); !reason.empty()) return fail("name part " + reason);
  return Status::Ok();
}

Status ValidateLabelValue(std::string_view key, std::string_view value) {
  if (value.empty()) return Status::Ok();
  if (std::string reason = CheckNameChars(value); !reason.empty()) {
    return Status::InvalidArgument("label value \"" + std::string(value) + "\" of key \"" + std::string(key) +
                                   "\": " + reason);
  }
  return Status::Ok();
}

Status ValidateLabels(const std::map<std::string, std::string>& labels) {
  for (const auto& [key, value] : labels) {
    if (Status s = ValidateLabelKey(key); !s.ok()) return s;
    if (Status s = ValidateLabelValue(key, value); !s.ok()) return s;
  }
  return Status::Ok();
}

bool LabelRequirement::Matches(const std::map<std::string, std::string>& labels) const {
  const auto it = labels.find(key);
  const bool present = it != labels.end();
  const bool listed = present && std::binary_search(values.begin(), values.end(), it->second);
  switch (op) {
    case SelectorOp::kEquals:
    case SelectorOp::kIn: return listed;
    case SelectorOp::kNotEquals:
    case SelectorOp::kNotIn: return !listed;
    case SelectorOp::kExists: return present;
    case SelectorOp::kDoesNotExist: return !present;
  }
  return false;
}

std::string LabelRequirement::String() const {
  auto joined = [&] {
    std::string s;
    for (size_t i = 0; i < values.size(); ++i) s += (i ? "," : "") + values[i];
    return s;
  };
  switch (op) {
    case SelectorOp::kEquals: return key + "=" + joined();
    case SelectorOp::kNotEquals: return key + "!=" + joined();
    case SelectorOp::kIn: return key + " in (" + joined() + ")";
    case SelectorOp::kNotIn: return key + " notin (" + joined() + ")";
    case SelectorOp::kExists: return key;
    case SelectorOp::kDoesNotExist: return "!" + key;
  }
  return key;
}

LabelMatcher LabelMatcher::Nothing() {
  LabelMatcher s;
  s.nothing_ = true;
  return s;
}

Status LabelMatcher::Parse(std::string_view text, LabelMatcher* out) {
  std::vector<LabelRequirement> requirements;
  if (Status s = SelectorParser(text).Parse(&requirements); !s.ok()) return s;
  SortRequirements(&requirements);
  *out = LabelMatcher();
  out->requirements_ = std::move(requirements);
  return Status::Ok();
}

Status LabelMatcher::FromJson(const nlohmann::json& selector, LabelMatcher* out) {
  if (selector.is_null()) {
    *out = Nothing();
    return Status::Ok();
  }
  if (!selector.is_object()) return FieldError("", "must be an object");
  std::vector<LabelRequirement> requirements;
  const auto match_labels = selector.find("matchLabels");
  if (match_labels != selector.end() && !match_labels->is_null()) {
    if (!match_labels->is_object()) return FieldError("matchLabels", "must be a map of strings");
    for (const auto& [key, value] : match_labels->items()) {
      if (!value.is_string()) return FieldError("matchLabels." + key, "must be a string");
      LabelRequirement r{key, SelectorOp::kEquals, {value.get<std::string>()}};
      if (Status s = NormalizeRequirement(&r); !s.ok()) return FieldError("matchLabels." + key, s.message());
      requirements.push_back(std::move(r));
    }
  }
  const auto expressions = selector.find("matchExpressions");
  if (expressions != selector.end() && !expressions->is_null()) {
    if (!expressions->is_array()) return FieldError("matchExpressions", "must be a list");
    for (size_t i = 0; i < expressions->size(); ++i) {
      LabelRequirement r;
      const std::string field = "matchExpressions[" + std::to_string(i) + "]";
      if (Status s = RequirementFromJson((*expressions)[i], field, &r); !s.ok()) return s;
      requirements.push_back(std::move(r));
    }
  }
  SortRequirements(&requirements);
  *out = LabelMatcher();
  out->requirements_ = std::move(requirements);
  return Status::Ok();
}

Status LabelMatcher::FromRequirements(std::vector<LabelRequirement> requirements, LabelMatcher* out) {
  for (LabelRequirement& r : requirements) {
    if (Status s = NormalizeRequirement(&r); !s.ok()) return s;
  }
  SortRequirements(&requirements);
  *out = LabelMatcher();
  out->requirements_ = std::move(requirements);
  return Status::Ok();
}

Status LabelMatcher::FromMap(const std::map<std::string, std::string>& labels, LabelMatcher* out) {
  std::vector<LabelRequirement> requirements;
  for (const auto& [key, value] : labels) requirements.push_back({key, SelectorOp::kEquals, {value}});
  return FromRequirements(std::move(requirements), out);
}

bool LabelMatcher::Matches(const std::map<std::string, std::string>& labels) const {
  if (nothing_) return false;
  for (const LabelRequirement& r : requirements_) {
    if (!r.Matches(labels)) return false;
  }
  return true;
}

std::optional<std::string> LabelMatcher::RequiredValue(std::string_view key) const {
  for (const LabelRequirement& r : requirements_) {
    if (r.key == key && (r.op == SelectorOp::kEquals || r.op == SelectorOp::kIn) && r.values.size() == 1) {
      return r.values.front();
    }
  }
  return std::nullopt;
}

std::string LabelMatcher::String() const {
  if (nothing_) return "<none>";
  std::string s;
  for (size_t i = 0; i < requirements_.size(); ++i) s += (i ? "," : "") + requirements_[i].String();
  return s;
}

}  // namespace ksim::api
