// YAML scalars, documents and free-form trees: the machinery the manifest codec and the
// scheduler's configuration share (yaml_documents.h).
#include "cluster/api/yaml_documents.h"

#include <yaml-cpp/eventhandler.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <map>
#include <set>
#include <sstream>

namespace ksim::api {
namespace {

// yaml-cpp hands back every scalar as text. Plain (unquoted) scalars are typed by the YAML
// 1.2 core schema; quoted ones are strings. Kubernetes' strictness then applies: a string
// is not accepted where a number is expected, nor the other way round.

using ScalarKind = YamlScalarKind;

bool IsCoreNull(std::string_view s) { return s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL"; }

bool IsCoreBool(std::string_view s) {
  return s == "true" || s == "True" || s == "TRUE" || s == "false" || s == "False" || s == "FALSE";
}

bool AllOf(std::string_view s, bool (*pred)(char)) {
  return !s.empty() && std::all_of(s.begin(), s.end(), pred);
}
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsOctalDigit(char c) { return c >= '0' && c <= '7'; }
bool IsHexDigit(char c) { return IsDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

std::string_view WithoutSign(std::string_view s) {
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) s.remove_prefix(1);
  return s;
}

// A leading zero makes an octal number ("0644"), as in YAML 1.1, which Kubernetes' YAML
// reader follows: file modes in manifests are written that way. "0899" is not an integer.
bool IsLegacyOctal(std::string_view digits) { return digits.size() > 1 && digits[0] == '0'; }

bool IsCoreInt(std::string_view s) {
  if (s.size() > 2 && s[0] == '0' && s[1] == 'o') return AllOf(s.substr(2), IsOctalDigit);
  if (s.size() > 2 && s[0] == '0' && s[1] == 'x') return AllOf(s.substr(2), IsHexDigit);
  std::string_view digits = WithoutSign(s);
  return IsLegacyOctal(digits) ? AllOf(digits, IsOctalDigit) : AllOf(digits, IsDigit);
}

bool IsCoreFloat(std::string_view s) {
  std::string_view body = WithoutSign(s);
  if (body == ".inf" || body == ".Inf" || body == ".INF") return true;
  if (s == ".nan" || s == ".NaN" || s == ".NAN") return true;
  // [0-9]* ( . [0-9]* )? ( [eE] [-+]? [0-9]+ )? with at least one digit in the mantissa.
  size_t i = 0;
  size_t mantissa_digits = 0;
  while (i < body.size() && IsDigit(body[i])) ++i, ++mantissa_digits;
  if (i < body.size() && body[i] == '.') {
    ++i;
    while (i < body.size() && IsDigit(body[i])) ++i, ++mantissa_digits;
  }
  if (mantissa_digits == 0) return false;
  if (i < body.size() && (body[i] == 'e' || body[i] == 'E')) {
    ++i;
    if (i < body.size() && (body[i] == '-' || body[i] == '+')) ++i;
    size_t exponent_start = i;
    while (i < body.size() && IsDigit(body[i])) ++i;
    if (i == exponent_start) return false;
  }
  return i == body.size();
}

ScalarKind ResolvePlain(std::string_view s) {
  if (IsCoreNull(s)) return ScalarKind::kNull;
  if (IsCoreBool(s)) return ScalarKind::kBool;
  if (IsCoreInt(s)) return ScalarKind::kInt;
  if (IsCoreFloat(s)) return ScalarKind::kFloat;
  return ScalarKind::kString;
}

std::string_view KindName(ScalarKind kind) {
  switch (kind) {
    case ScalarKind::kNull:
      return "null";
    case ScalarKind::kBool:
      return "boolean";
    case ScalarKind::kInt:
      return "integer";
    case ScalarKind::kFloat:
      return "number";
    case ScalarKind::kString:
      return "string";
  }
  return "value";
}

// The length of the valid UTF-8 sequence at text[i] (0 if invalid): no overlong forms, no
// surrogates, nothing beyond U+10FFFF.
size_t Utf8Length(std::string_view text, size_t i) {
  const auto c = static_cast<unsigned char>(text[i]);
  const size_t length = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 0;
  const uint32_t min = length == 4 ? 0x10000 : length == 3 ? 0x800 : 0x80;
  uint32_t code = length == 4 ? c & 0x07u : length == 3 ? c & 0x0Fu : c & 0x1Fu;
  bool valid = length != 0 && c < 0xF8 && i + length <= text.size();
  for (size_t k = 1; valid && k < length; ++k) {
    const auto next = static_cast<unsigned char>(text[i + k]);
    valid = (next & 0xC0) == 0x80;
    code = (code << 6) | (next & 0x3Fu);
  }
  valid = valid && code >= min && code <= 0x10FFFF && !(code >= 0xD800 && code <= 0xDFFF);
  return valid ? length : 0;
}

// Records where each document starts; the rest of the events are not needed.
class DocumentStarts : public YAML::EventHandler {
 public:
  void OnDocumentStart(const YAML::Mark& mark) override { starts.push_back(mark); }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t, const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}

  std::vector<YAML::Mark> starts;
};


Status SyntaxError(std::string_view source, const YAML::Exception& e) {
  return Status::InvalidArgument(std::string(source) + ":" + std::to_string(YamlLine(e.mark)) +
                                 ": invalid YAML: " + e.msg);
}

// YAML and JSON text is UTF-8 without control characters other than tab, LF and CR.
// Checked before yaml-cpp sees the text: yaml-cpp 0.7 allocates without bound on some
// malformed UTF-8 (found by the fuzz property).
Status CheckText(std::string_view text, std::string_view source) {
  int line = 1;
  size_t i = 0;
  while (i < text.size()) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      if (c == '\n') ++line;
      if (c < 0x20 && c != '\t' && c != '\n' && c != '\r') {
        return Status::InvalidArgument(std::string(source) + ":" + std::to_string(line) +
                                       ": control character in text (byte " + std::to_string(c) + ")");
      }
      ++i;
      continue;
    }
    const size_t length = Utf8Length(text, i);
    if (length == 0) {
      return Status::InvalidArgument(std::string(source) + ":" + std::to_string(line) + ": text is not valid UTF-8");
    }
    i += length;
  }
  return Status::Ok();
}

}  // namespace

YamlScalarKind ResolvePlainYamlScalar(std::string_view scalar) { return ResolvePlain(scalar); }

std::string_view YamlScalarKindName(YamlScalarKind kind) { return KindName(kind); }

bool IsYaml11Bool(std::string_view s) {
  static const std::set<std::string_view> words = {"y",  "Y",  "yes", "Yes", "YES", "n",   "N",   "no",
                                                    "No", "NO", "on",  "On",  "ON",  "off", "Off", "OFF"};
  return words.count(s) != 0;
}

bool ParseYamlInt(std::string_view s, int64_t* out) {
  int base = 10;
  bool negative = false;
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'o' || s[1] == 'x')) {
    base = s[1] == 'o' ? 8 : 16;
    s.remove_prefix(2);
  } else {
    if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
      negative = s[0] == '-';
      s.remove_prefix(1);
    }
    if (IsLegacyOctal(s)) base = 8;
  }
  uint64_t magnitude = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), magnitude, base);
  if (ec != std::errc() || end != s.data() + s.size()) return false;
  constexpr uint64_t kMaxPositive = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  if (negative) {
    if (magnitude > kMaxPositive + 1) return false;
    *out = magnitude == kMaxPositive + 1 ? std::numeric_limits<int64_t>::min() : -static_cast<int64_t>(magnitude);
  } else {
    if (magnitude > kMaxPositive) return false;
    *out = static_cast<int64_t>(magnitude);
  }
  return true;
}

bool ParseYamlFiniteDouble(std::string_view s, double* out) {
  if (!s.empty() && s[0] == '+') s.remove_prefix(1);
  if (s.find_first_of("inIN") != std::string_view::npos) return false;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && end == s.data() + s.size() && std::isfinite(*out);
}

// Strict standard base64 (with padding), as Go's encoding/base64 reads it; line breaks are

bool ClassifyYamlScalar(const YAML::Node& node, YamlScalarKind* kind, std::string* error) {
  if (node.IsNull()) {
    *kind = ScalarKind::kNull;
    return true;
  }
  const std::string& tag = node.Tag();
  const std::string& text = node.Scalar();
  if (tag == "?") {
    *kind = ResolvePlain(text);
    return true;
  }
  if (tag == "!" || tag == "tag:yaml.org,2002:str") {
    *kind = ScalarKind::kString;
    return true;
  }
  static const std::map<std::string, ScalarKind> core_tags = {{"tag:yaml.org,2002:int", ScalarKind::kInt},
                                                              {"tag:yaml.org,2002:bool", ScalarKind::kBool},
                                                              {"tag:yaml.org,2002:float", ScalarKind::kFloat},
                                                              {"tag:yaml.org,2002:null", ScalarKind::kNull}};
  auto it = core_tags.find(tag);
  if (it == core_tags.end()) {
    *error = "unsupported YAML tag \"" + tag + "\"";
    return false;
  }
  const ScalarKind plain = ResolvePlain(text);
  const bool fits = plain == it->second || (it->second == ScalarKind::kFloat && plain == ScalarKind::kInt);
  if (!fits) {
    *error = "\"" + TruncatedYamlText(text) + "\" is not a valid " + tag;
    return false;
  }
  *kind = it->second;
  return true;
}

bool IsValidYamlText(std::string_view text, bool allow_newlines, size_t* bad_offset) {
  size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      const bool allowed = c >= 0x20 || c == '\t' || (allow_newlines && (c == '\n' || c == '\r'));
      if (!allowed || c == 0x7F) {
        *bad_offset = i;
        return false;
      }
      ++i;
      continue;
    }
    const size_t length = Utf8Length(text, i);
    if (length == 0) {
      *bad_offset = i;
      return false;
    }
    i += length;
  }
  return true;
}

std::string TruncatedYamlText(std::string_view text) {
  constexpr size_t kMax = 40;
  return text.size() <= kMax ? std::string(text) : std::string(text.substr(0, kMax)) + "...";
}

std::string DescribeYamlNode(const YAML::Node& node) {
  if (node.IsMap()) return "object";
  if (node.IsSequence()) return "list";
  if (node.IsNull()) return "null";
  if (node.Tag() == "?") {
    const ScalarKind kind = ResolvePlain(node.Scalar());
    return std::string(KindName(kind)) + " " + TruncatedYamlText(node.Scalar());
  }
  return "string \"" + TruncatedYamlText(node.Scalar()) + "\"";
}

int YamlLine(const YAML::Mark& mark) { return mark.line < 0 ? 1 : mark.line + 1; }

bool YamlToJson(const YAML::Node& node, const std::string& path, const YamlJsonOptions& options, int64_t* budget,
                nlohmann::json* out, YamlError* error) {
  auto fail = [&](const YAML::Mark& mark, const std::string& where, std::string message) {
    *error = YamlError{mark, where, std::move(message)};
    return false;
  };
  struct Walk {
    const YamlJsonOptions& options;
    int64_t* budget;
    YamlError* error;
    decltype(fail)& f;
    bool Text(const YAML::Node& at, const std::string& where, const std::string& text, bool key) {
      size_t bad = 0;
      if (!options.check_text || IsValidYamlText(text, !key, &bad)) return true;
      const char* what = key ? "key" : "string";
      return f(at.Mark(), where, std::string(what) + " holds invalid UTF-8 or a control character");
    }
    bool Go(const YAML::Node& n, const std::string& where, int depth, nlohmann::json* into) {
      if (--*budget < 0) return f(n.Mark(), where, options.too_large);
      // Also stops an alias that refers to its own ancestor.
      if (depth > options.max_depth) return f(n.Mark(), where, options.too_deep);
      if (n.IsMap()) {
        *into = nlohmann::json::object();
        for (const auto& entry : n) {
          if (!entry.first.IsScalar()) return f(entry.first.Mark(), where, "object keys must be strings");
          const std::string& key = entry.first.Scalar();
          const std::string entry_path = where.empty() ? key : where + "." + key;
          if (!Text(entry.first, entry_path, key, true)) return false;
          if (into->contains(key)) return f(entry.first.Mark(), entry_path, "duplicate field \"" + key + "\"");
          if (!Go(entry.second, entry_path, depth + 1, &(*into)[key])) return false;
        }
        return true;
      }
      if (n.IsSequence()) {
        *into = nlohmann::json::array();
        for (size_t i = 0; i < n.size(); ++i) {
          nlohmann::json element;
          if (!Go(n[i], where + "[" + std::to_string(i) + "]", depth + 1, &element)) return false;
          into->push_back(std::move(element));
        }
        return true;
      }
      ScalarKind kind = ScalarKind::kNull;
      if (std::string why; !ClassifyYamlScalar(n, &kind, &why)) return f(n.Mark(), where, why);
      const std::string& text = n.Scalar();
      switch (kind) {
        case ScalarKind::kNull:
          *into = nullptr;
          return true;
        case ScalarKind::kBool:
          *into = text[0] == 't' || text[0] == 'T';
          return true;
        case ScalarKind::kString:
          if (!Text(n, where, text, false)) return false;
          *into = text;
          return true;
        case ScalarKind::kInt:
        case ScalarKind::kFloat: {
          if (int64_t value = 0; kind == ScalarKind::kInt && ParseYamlInt(text, &value)) {
            *into = value;
            return true;
          }
          double number = 0;
          if (!ParseYamlFiniteDouble(text, &number)) return f(n.Mark(), where, "number must be finite");
          *into = number;
          return true;
        }
      }
      return false;
    }
  };
  Walk walk{options, budget, error, fail};
  return walk.Go(node, path, 0, out);
}

Status LoadYamlDocuments(std::string_view text, std::string_view source, std::vector<YAML::Node>* docs) {
  if (Status s = CheckText(text, source); !s.ok()) return s;
  try {
    std::istringstream stream{std::string(text)};
    YAML::Parser parser(stream);
    DocumentStarts starts;
    while (parser.HandleNextDocument(starts)) {
      size_t n = starts.starts.size();
      if (n >= 2 && starts.starts[n - 1].pos == starts.starts[n - 2].pos) {
        return Status::InvalidArgument(std::string(source) + ":" + std::to_string(YamlLine(starts.starts[n - 1])) +
                                       ": invalid YAML: unexpected ','");
      }
    }
    *docs = YAML::LoadAll(std::string(text));
  } catch (const YAML::Exception& e) {
    return SyntaxError(source, e);
  }
  return Status::Ok();
}

}  // namespace ksim::api
