#include "cluster/api/codec.h"
#include "cluster/api/yaml_documents.h"

#include <google/protobuf/descriptor.pb.h>
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/timestamp.pb.h>
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/time_util.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <sstream>
#include <utility>

#if KSIM_API_HAVE_QUANTITY
#include "cluster/api/machinery/quantity.h"
#include "cluster/env/wire.h"
#endif

namespace ksim::api {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;
using Json = nlohmann::json;             // decode side: key order does not matter to protobuf
using OrderedJson = nlohmann::ordered_json;  // encode side: Kubernetes' field order

constexpr std::string_view kTimestampType = "google.protobuf.Timestamp";
constexpr std::string_view kStructType = "google.protobuf.Struct";
constexpr std::string_view kValueType = "google.protobuf.Value";
constexpr std::string_view kListValueType = "google.protobuf.ListValue";

// Aliases can make a small document expand into a huge tree ("billion laughs"); decoding
// gives up beyond this many visited nodes.
constexpr int64_t kMaxNodes = 1'000'000;

// Timestamp's valid range (years 0001 to 9999), as TimeUtil checks it.
constexpr int64_t kMinTimestampSeconds = -62135596800;
constexpr int64_t kMaxTimestampSeconds = 253402300799;

bool IsMicroTime(const FieldDescriptor* field) { return field->options().GetExtension(micro_time); }
bool IsQuantity(const FieldDescriptor* field) { return field->options().GetExtension(quantity); }

// ---------------------------------------------------------------- YAML scalar resolution
//
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

// YAML 1.1 booleans: YAML 1.2 reads them as strings, but older readers (and Kubernetes'
// own YAML library) read them as booleans, so the encoder quotes them.
bool IsYaml11Bool(std::string_view s) {
  static const std::set<std::string_view> words = {"y",  "Y",  "yes", "Yes", "YES", "n",   "N",   "no",
                                                    "No", "NO", "on",  "On",  "ON",  "off", "Off", "OFF"};
  return words.count(s) != 0;
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

// Parses an integer ("42", "-7", "0x1f", "0o17", "0644") into *out; false on overflow.
bool ParseInt(std::string_view s, int64_t* out) {
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

// A finite double from a core-schema float or int; false for .inf/.nan (JSON has none).
bool ParseFiniteDouble(std::string_view s, double* out) {
  if (!s.empty() && s[0] == '+') s.remove_prefix(1);
  if (s.find_first_of("inIN") != std::string_view::npos) return false;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && end == s.data() + s.size() && std::isfinite(*out);
}

// Strict standard base64 (with padding), as Go's encoding/base64 reads it; line breaks are
// ignored like Go does. Returns the text without line breaks, or false.
bool CleanBase64(std::string_view text, std::string* out) {
  out->clear();
  for (char c : text) {
    if (c == '\n' || c == '\r') continue;
    out->push_back(c);
  }
  if (out->size() % 4 != 0) return false;
  size_t padding = 0;
  for (size_t i = 0; i < out->size(); ++i) {
    char c = (*out)[i];
    bool alphabet = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || IsDigit(c) || c == '+' || c == '/';
    if (c == '=') {
      if (i + 2 < out->size()) return false;  // '=' only in the last two places
      ++padding;
    } else if (!alphabet || padding > 0) {
      return false;
    }
  }
  return true;
}

std::string Base64(const std::string& bytes) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    uint32_t n = (static_cast<uint8_t>(bytes[i]) << 16) | (static_cast<uint8_t>(bytes[i + 1]) << 8) |
                 static_cast<uint8_t>(bytes[i + 2]);
    out += {kAlphabet[(n >> 18) & 63], kAlphabet[(n >> 12) & 63], kAlphabet[(n >> 6) & 63], kAlphabet[n & 63]};
  }
  if (size_t rest = bytes.size() - i; rest > 0) {
    uint32_t n = static_cast<uint8_t>(bytes[i]) << 16;
    if (rest == 2) n |= static_cast<uint8_t>(bytes[i + 1]) << 8;
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += rest == 2 ? kAlphabet[(n >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

// Checks the syntax of a resource quantity ("250m", "1Gi", "1e3").
Status CheckQuantity(std::string_view text) {
#if KSIM_API_HAVE_QUANTITY
  Quantity parsed;
  return Quantity::Parse(text, &parsed);
#else
  // TODO(quantity): cluster/api/machinery's Quantity parser is not linked into this
  // build; quantities are accepted unchecked until it is (see cluster/api/CMakeLists.txt).
  (void)text;
  return Status::Ok();
#endif
}

// "2024-01-02T03:04:05Z" (Time) or "2024-01-02T03:04:05.000123Z" (MicroTime), always UTC.
std::string FormatTime(const google::protobuf::Timestamp& ts, bool micro) {
  google::protobuf::Timestamp whole;
  whole.set_seconds(std::clamp(ts.seconds(), kMinTimestampSeconds, kMaxTimestampSeconds));
  std::string text = google::protobuf::util::TimeUtil::ToString(whole);
  if (micro) {
    char fraction[16];
    std::snprintf(fraction, sizeof fraction, ".%06d", std::clamp(ts.nanos(), 0, 999'999'999) / 1000);
    text.insert(text.size() - 1, fraction);  // before the trailing 'Z'
  }
  return text;
}

std::string Line(const YAML::Mark& mark) { return std::to_string(mark.line < 0 ? 1 : mark.line + 1); }

std::string Truncated(std::string_view text) {
  constexpr size_t kMax = 40;
  return text.size() <= kMax ? std::string(text) : std::string(text.substr(0, kMax)) + "...";
}

std::string JoinPath(const std::string& path, std::string_view key) {
  return path.empty() ? std::string(key) : path + "." + std::string(key);
}

const FieldDescriptor* FieldByJsonName(const Descriptor* type, std::string_view name) {
  for (int i = 0; i < type->field_count(); ++i) {
    if (type->field(i)->json_name() == name) return type->field(i);
  }
  return nullptr;
}

// ---------------------------------------------------------------- the decoder
//
// Walks a yaml-cpp tree along a message descriptor and produces the protobuf JSON mapping
// of the object (int64 as strings, IntOrString as {"intVal"|"strVal"}, StringList as
// {"items"}), checking every key and type on the way so errors carry a path and a line.
// The JSON is then handed to protobuf's own parser.

class Decoder {
 public:
  explicit Decoder(std::string_view source) : source_(source) {}

  const Status& error() const { return error_; }

  // `node` must be a map whose keys are fields of `type`. Null means "unset".
  bool DecodeMessage(const YAML::Node& node, const Descriptor* type, const std::string& path, Json* out) {
    if (!Visit(node, path)) return false;
    if (!node.IsMap()) return Fail(node.Mark(), path, "expected object, got " + Describe(node));
    *out = Json::object();
    std::set<std::string> seen;
    for (const auto& entry : node) {
      const YAML::Node& key = entry.first;
      const YAML::Node& value = entry.second;
      if (!key.IsScalar()) return Fail(key.Mark(), path, "field names must be strings");
      const std::string& name = key.Scalar();
      std::string field_path = JoinPath(path, name);
      if (!seen.insert(name).second) return Fail(key.Mark(), field_path, "duplicate field \"" + name + "\"");
      const FieldDescriptor* field = FieldByJsonName(type, name);
      if (field == nullptr) return Fail(key.Mark(), field_path, "unknown field \"" + name + "\"");
      if (value.IsNull()) continue;  // `creationTimestamp: null`: unset, as Kubernetes reads it
      Json decoded;
      bool ok = field->is_map()        ? DecodeMap(value, field, field_path, &decoded)
                : field->is_repeated() ? DecodeList(value, field, field_path, &decoded)
                                       : DecodeValue(value, field, IsQuantity(field), field_path, &decoded);
      if (!ok) return false;
      (*out)[field->json_name()] = std::move(decoded);
    }
    return true;
  }

  bool Fail(const YAML::Mark& mark, const std::string& path, const std::string& message) {
    std::string text = std::string(source_) + ":" + Line(mark) + ": ";
    if (!path.empty()) text += path + ": ";
    error_ = Status::InvalidArgument(text + message);
    return false;
  }

 private:
  bool Visit(const YAML::Node& node, const std::string& path) {
    if (++visited_ <= kMaxNodes) return true;
    return Fail(node.Mark(), path, "document too large (more than " + std::to_string(kMaxNodes) +
                                       " nodes once aliases are expanded)");
  }

  static std::string Describe(const YAML::Node& node) {
    if (node.IsMap()) return "object";
    if (node.IsSequence()) return "list";
    if (node.IsNull()) return "null";
    if (node.Tag() == "?") {
      ScalarKind kind = ResolvePlain(node.Scalar());
      return std::string(KindName(kind)) + " " + Truncated(node.Scalar());
    }
    return "string \"" + Truncated(node.Scalar()) + "\"";
  }

  // The kind of a scalar node, honouring quoting and explicit core tags (!!str, !!int...).
  bool Classify(const YAML::Node& node, const std::string& path, ScalarKind* kind) {
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
                                                                {"tag:yaml.org,2002:float", ScalarKind::kFloat}};
    auto it = core_tags.find(tag);
    if (it == core_tags.end()) return Fail(node.Mark(), path, "unsupported YAML tag \"" + tag + "\"");
    ScalarKind plain = ResolvePlain(text);
    bool fits = plain == it->second || (it->second == ScalarKind::kFloat && plain == ScalarKind::kInt);
    if (!fits) return Fail(node.Mark(), path, "\"" + Truncated(text) + "\" is not a valid " + tag);
    *kind = it->second;
    return true;
  }

  // A scalar of one of the `wanted` kinds; fails naming `expected` otherwise.
  bool ExpectScalar(const YAML::Node& node, const std::string& path, std::initializer_list<ScalarKind> wanted,
                    std::string_view expected, ScalarKind* kind) {
    if (!Visit(node, path)) return false;
    if (node.IsScalar() || node.IsNull()) {
      if (!Classify(node, path, kind)) return false;
      if (std::find(wanted.begin(), wanted.end(), *kind) != wanted.end()) return true;
    }
    return Fail(node.Mark(), path, "expected " + std::string(expected) + ", got " + Describe(node));
  }

  bool DecodeMap(const YAML::Node& node, const FieldDescriptor* field, const std::string& path, Json* out) {
    if (!Visit(node, path)) return false;
    if (!node.IsMap()) return Fail(node.Mark(), path, "expected object, got " + Describe(node));
    const FieldDescriptor* value_field = field->message_type()->map_value();
    *out = Json::object();
    for (const auto& entry : node) {
      if (!entry.first.IsScalar()) return Fail(entry.first.Mark(), path, "map keys must be strings");
      const std::string& key = entry.first.Scalar();
      std::string entry_path = path + "[" + key + "]";
      if (out->contains(key)) return Fail(entry.first.Mark(), entry_path, "duplicate key \"" + key + "\"");
      Json decoded;
      if (entry.second.IsNull() && value_field->cpp_type() == FieldDescriptor::CPPTYPE_STRING) {
        // Go reads null into a map[string]string as "", and into a resource list as zero.
        decoded = IsQuantity(field) ? "0" : "";
      } else if (!DecodeValue(entry.second, value_field, IsQuantity(field), entry_path, &decoded)) {
        return false;
      }
      (*out)[key] = std::move(decoded);
    }
    return true;
  }

  bool DecodeList(const YAML::Node& node, const FieldDescriptor* field, const std::string& path, Json* out) {
    if (!Visit(node, path)) return false;
    if (!node.IsSequence()) return Fail(node.Mark(), path, "expected list, got " + Describe(node));
    *out = Json::array();
    for (size_t i = 0; i < node.size(); ++i) {
      Json decoded;
      if (!DecodeValue(node[i], field, IsQuantity(field), path + "[" + std::to_string(i) + "]", &decoded)) {
        return false;
      }
      out->push_back(std::move(decoded));
    }
    return true;
  }

  // One value of `field`'s type (one element, for repeated and map fields).
  bool DecodeValue(const YAML::Node& node, const FieldDescriptor* field, bool is_quantity, const std::string& path,
                   Json* out) {
    ScalarKind kind = ScalarKind::kNull;
    switch (field->cpp_type()) {
      case FieldDescriptor::CPPTYPE_MESSAGE:
        return DecodeMessageValue(node, field, path, out);
      case FieldDescriptor::CPPTYPE_STRING: {
        if (field->type() == FieldDescriptor::TYPE_BYTES) {
          if (!ExpectScalar(node, path, {ScalarKind::kString}, "base64 string", &kind)) return false;
          std::string clean;
          if (!CleanBase64(node.Scalar(), &clean)) return Fail(node.Mark(), path, "invalid base64 data");
          *out = std::move(clean);
          return true;
        }
        if (!is_quantity) {
          if (!ExpectScalar(node, path, {ScalarKind::kString}, "string", &kind)) return false;
          *out = node.Scalar();
          return true;
        }
        // Quantities may be written as numbers ("cpu: 1"); the text is kept as written.
        if (!ExpectScalar(node, path, {ScalarKind::kString, ScalarKind::kInt, ScalarKind::kFloat}, "quantity",
                          &kind)) {
          return false;
        }
        if (Status s = CheckQuantity(node.Scalar()); !s.ok()) return Fail(node.Mark(), path, s.message());
        *out = node.Scalar();
        return true;
      }
      case FieldDescriptor::CPPTYPE_BOOL:
        if (!ExpectScalar(node, path, {ScalarKind::kBool}, "boolean", &kind)) return false;
        *out = node.Scalar()[0] == 't' || node.Scalar()[0] == 'T';
        return true;
      case FieldDescriptor::CPPTYPE_INT32:
      case FieldDescriptor::CPPTYPE_INT64:
      case FieldDescriptor::CPPTYPE_UINT32:
      case FieldDescriptor::CPPTYPE_UINT64: {
        if (!ExpectScalar(node, path, {ScalarKind::kInt}, "integer", &kind)) return false;
        int64_t value = 0;
        bool ok = ParseInt(node.Scalar(), &value);
        bool is_32 = field->cpp_type() == FieldDescriptor::CPPTYPE_INT32 ||
                     field->cpp_type() == FieldDescriptor::CPPTYPE_UINT32;
        bool is_unsigned = field->cpp_type() == FieldDescriptor::CPPTYPE_UINT32 ||
                           field->cpp_type() == FieldDescriptor::CPPTYPE_UINT64;
        if (ok && is_32) ok = value >= std::numeric_limits<int32_t>::min() && value <= std::numeric_limits<int32_t>::max();
        if (ok && is_unsigned) ok = value >= 0;
        if (!ok) return Fail(node.Mark(), path, "integer " + Truncated(node.Scalar()) + " out of range");
        // protobuf's JSON mapping takes 64-bit integers as strings, which keeps them exact.
        if (is_32) {
          *out = value;
        } else {
          *out = std::to_string(value);
        }
        return true;
      }
      case FieldDescriptor::CPPTYPE_DOUBLE:
      case FieldDescriptor::CPPTYPE_FLOAT: {
        if (!ExpectScalar(node, path, {ScalarKind::kInt, ScalarKind::kFloat}, "number", &kind)) return false;
        double value = 0;
        if (!ParseFiniteDouble(node.Scalar(), &value)) return Fail(node.Mark(), path, "number must be finite");
        *out = value;
        return true;
      }
      case FieldDescriptor::CPPTYPE_ENUM:
        break;
    }
    return Fail(node.Mark(), path, "field type not supported by the decoder");
  }

  bool DecodeMessageValue(const YAML::Node& node, const FieldDescriptor* field, const std::string& path, Json* out) {
    const Descriptor* type = field->message_type();
    const std::string& name = type->full_name();
    ScalarKind kind = ScalarKind::kNull;
    if (name == kTimestampType) {
      if (!ExpectScalar(node, path, {ScalarKind::kString}, "time (RFC 3339 string)", &kind)) return false;
      google::protobuf::Timestamp ts;
      if (!google::protobuf::util::TimeUtil::FromString(node.Scalar(), &ts)) {
        return Fail(node.Mark(), path,
                    "invalid time \"" + Truncated(node.Scalar()) + "\" (want RFC 3339, e.g. 2024-01-02T03:04:05Z)");
      }
      // Kubernetes keeps whole seconds in a Time and microseconds in a MicroTime.
      ts.set_nanos(IsMicroTime(field) ? ts.nanos() / 1000 * 1000 : 0);
      *out = google::protobuf::util::TimeUtil::ToString(ts);
      return true;
    }
    if (name == IntOrString::descriptor()->full_name()) {
      if (!ExpectScalar(node, path, {ScalarKind::kInt, ScalarKind::kString}, "integer or string", &kind)) {
        return false;
      }
      if (kind == ScalarKind::kString) {
        *out = Json{{"strVal", node.Scalar()}};
        return true;
      }
      int64_t value = 0;
      if (!ParseInt(node.Scalar(), &value) || value < std::numeric_limits<int32_t>::min() ||
          value > std::numeric_limits<int32_t>::max()) {
        return Fail(node.Mark(), path, "integer " + Truncated(node.Scalar()) + " out of range");
      }
      *out = Json{{"intVal", value}};
      return true;
    }
    if (name == StringList::descriptor()->full_name()) {
      Json items;
      if (!DecodeList(node, StringList::descriptor()->FindFieldByName("items"), path, &items)) return false;
      *out = Json{{"items", std::move(items)}};
      return true;
    }
    if (name == kStructType || name == kValueType || name == kListValueType) {
      if (name == kStructType && !node.IsMap()) return Fail(node.Mark(), path, "expected object, got " + Describe(node));
      if (name == kListValueType && !node.IsSequence()) {
        return Fail(node.Mark(), path, "expected list, got " + Describe(node));
      }
      return DecodeAny(node, path, out);
    }
    return DecodeMessage(node, type, path, out);
  }

  // Free-form JSON (google.protobuf.Struct/Value: managedFields' fieldsV1).
  bool DecodeAny(const YAML::Node& node, const std::string& path, Json* out) {
    if (!Visit(node, path)) return false;
    if (node.IsMap()) {
      *out = Json::object();
      for (const auto& entry : node) {
        if (!entry.first.IsScalar()) return Fail(entry.first.Mark(), path, "object keys must be strings");
        const std::string& key = entry.first.Scalar();
        std::string entry_path = JoinPath(path, key);
        if (out->contains(key)) return Fail(entry.first.Mark(), entry_path, "duplicate field \"" + key + "\"");
        if (!DecodeAny(entry.second, entry_path, &(*out)[key])) return false;
      }
      return true;
    }
    if (node.IsSequence()) {
      *out = Json::array();
      for (size_t i = 0; i < node.size(); ++i) {
        Json element;
        if (!DecodeAny(node[i], path + "[" + std::to_string(i) + "]", &element)) return false;
        out->push_back(std::move(element));
      }
      return true;
    }
    ScalarKind kind = ScalarKind::kNull;
    if (!Classify(node, path, &kind)) return false;
    double number = 0;
    switch (kind) {
      case ScalarKind::kNull:
        *out = nullptr;
        return true;
      case ScalarKind::kBool:
        *out = node.Scalar()[0] == 't' || node.Scalar()[0] == 'T';
        return true;
      case ScalarKind::kString:
        *out = node.Scalar();
        return true;
      case ScalarKind::kInt:
      case ScalarKind::kFloat:
        if (int64_t value = 0; kind == ScalarKind::kInt && ParseInt(node.Scalar(), &value)) {
          *out = value;
          return true;
        }
        if (!ParseFiniteDouble(node.Scalar(), &number)) return Fail(node.Mark(), path, "number must be finite");
        *out = number;
        return true;
    }
    return false;
  }

  std::string_view source_;
  Status error_;
  int64_t visited_ = 0;
};

// The string value of top-level key `name` of `doc`, or "" with *key_node unset.
bool FindTypeField(Decoder& decoder, const YAML::Node& doc, std::string_view name, const std::string& prefix,
                   std::string* value, YAML::Node* value_node) {
  for (const auto& entry : doc) {
    if (!entry.first.IsScalar() || entry.first.Scalar() != name) continue;
    const YAML::Node& v = entry.second;
    bool is_string = v.IsScalar() && (v.Tag() != "?" || ResolvePlain(v.Scalar()) == ScalarKind::kString);
    if (!is_string || v.Scalar().empty()) {
      return decoder.Fail(v.Mark(), JoinPath(prefix, name), "must be a non-empty string");
    }
    *value = v.Scalar();
    *value_node = v;
    return true;
  }
  return decoder.Fail(doc.Mark(), JoinPath(prefix, name), "required field is missing");
}

// Converts protobuf-JSON produced by the decoder into `message`.
bool ToMessage(Decoder& decoder, const Json& json, const YAML::Node& doc, const std::string& prefix,
               Message* message) {
  std::string text;
  try {
    text = json.dump();
  } catch (const Json::exception&) {
    return decoder.Fail(doc.Mark(), prefix, "text is not valid UTF-8");
  }
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  auto status = google::protobuf::util::JsonStringToMessage(text, message, options);
  if (status.ok()) return true;
  // The walk checks everything protobuf checks, so this means the two disagree.
  return decoder.Fail(doc.Mark(), prefix, "cannot convert: " + std::string(status.message()));
}

// Decodes one object (a document, or an item of a List) and appends it to `out`.
bool DecodeObject(Decoder& decoder, const YAML::Node& doc, const std::string& prefix, std::vector<Object>* out) {
  if (!doc.IsMap()) {
    return decoder.Fail(doc.Mark(), prefix,
                        "expected an object with apiVersion and kind, got " +
                            std::string(doc.IsSequence() ? "a list" : "a scalar"));
  }
  std::string api_version;
  std::string kind;
  YAML::Node api_version_node;
  YAML::Node kind_node;
  if (!FindTypeField(decoder, doc, "apiVersion", prefix, &api_version, &api_version_node)) return false;
  if (!FindTypeField(decoder, doc, "kind", prefix, &kind, &kind_node)) return false;

  if (api_version == "v1" && kind == "List") {
    Json ignored;
    for (const auto& entry : doc) {
      const std::string& key = entry.first.Scalar();
      if (key == "apiVersion" || key == "kind") continue;
      if (key == "metadata") {
        if (!decoder.DecodeMessage(entry.second, ListMeta::descriptor(), JoinPath(prefix, key), &ignored)) {
          return false;
        }
      } else if (key != "items") {
        return decoder.Fail(entry.first.Mark(), JoinPath(prefix, key), "unknown field \"" + key + "\"");
      }
    }
    const YAML::Node items = doc["items"];
    if (!items || items.IsNull()) return true;
    std::string items_path = JoinPath(prefix, "items");
    if (!items.IsSequence()) return decoder.Fail(items.Mark(), items_path, "expected list");
    for (size_t i = 0; i < items.size(); ++i) {
      if (!DecodeObject(decoder, items[i], items_path + "[" + std::to_string(i) + "]", out)) return false;
    }
    return true;
  }

  const Registry& registry = Registry::Default();
  const KindInfo* info = registry.ByApiVersionKind(api_version, kind);
  if (info == nullptr) {
    std::string served;
    for (const KindInfo& k : registry.All()) {
      if (k.kind == kind) served = k.ApiVersion();
    }
    if (!served.empty()) {
      return decoder.Fail(api_version_node.Mark(), JoinPath(prefix, "apiVersion"),
                          "kind \"" + kind + "\" is not served at \"" + api_version + "\" (it is \"" + served + "\")");
    }
    return decoder.Fail(kind_node.Mark(), JoinPath(prefix, "kind"),
                        "unknown kind \"" + kind + "\" in apiVersion \"" + api_version + "\"");
  }
  Json json;
  if (!decoder.DecodeMessage(doc, info->descriptor, prefix, &json)) return false;
  Object object;
  object.info = info;
  object.message = info->New();
  object.line = doc.Mark().line + 1;
  if (!ToMessage(decoder, json, doc, prefix, object.message.get())) return false;
  out->push_back(std::move(object));
  return true;
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
    // Length of the sequence and the smallest code point it may encode (no overlong forms).
    size_t length = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 0;
    uint32_t min = length == 4 ? 0x10000 : length == 3 ? 0x800 : 0x80;
    uint32_t code = length == 4 ? c & 0x07 : length == 3 ? c & 0x0F : c & 0x1F;
    bool valid = length != 0 && c < 0xF8 && i + length <= text.size();
    for (size_t k = 1; valid && k < length; ++k) {
      unsigned char next = static_cast<unsigned char>(text[i + k]);
      valid = (next & 0xC0) == 0x80;
      code = (code << 6) | (next & 0x3F);
    }
    valid = valid && code >= min && code <= 0x10FFFF && !(code >= 0xD800 && code <= 0xDFFF);
    if (!valid) {
      return Status::InvalidArgument(std::string(source) + ":" + std::to_string(line) + ": text is not valid UTF-8");
    }
    i += length;
  }
  return Status::Ok();
}

Status SyntaxError(std::string_view source, const YAML::Exception& e) {
  return Status::InvalidArgument(std::string(source) + ":" + Line(e.mark) + ": invalid YAML: " + e.msg);
}

// ---------------------------------------------------------------- the encoder

OrderedJson EncodeMessageJson(const Message& message);

// A Timestamp, IntOrString, StringList or Struct written the Kubernetes way; nullopt for
// an ordinary message.
std::optional<OrderedJson> EncodeSpecial(const Message& value, const FieldDescriptor* field) {
  const std::string& name = value.GetDescriptor()->full_name();
  if (name == kTimestampType) {
    const auto* refl = value.GetReflection();
    const Descriptor* type = value.GetDescriptor();
    google::protobuf::Timestamp ts;
    ts.set_seconds(refl->GetInt64(value, type->FindFieldByName("seconds")));
    ts.set_nanos(refl->GetInt32(value, type->FindFieldByName("nanos")));
    return OrderedJson(FormatTime(ts, field != nullptr && IsMicroTime(field)));
  }
  if (const auto* ios = google::protobuf::DynamicCastToGenerated<IntOrString>(&value)) {
    if (ios->has_str_val()) return OrderedJson(ios->str_val());
    return OrderedJson(ios->int_val());
  }
  if (const auto* list = google::protobuf::DynamicCastToGenerated<StringList>(&value)) {
    OrderedJson items = OrderedJson::array();
    for (const std::string& item : list->items()) items.push_back(item);
    return items;
  }
  if (name == kStructType || name == kValueType || name == kListValueType) {
    std::string text;
    if (!google::protobuf::util::MessageToJsonString(value, &text).ok()) return OrderedJson(nullptr);
    // The printer walks Struct's map in hash order; a std::map-backed json sorts the keys (as
    // Go does for a map), so the output is a function of the object.
    return OrderedJson::parse(Json::parse(text, nullptr, false).dump(), nullptr, false);
  }
  return std::nullopt;
}

// One value of `field` (element `index` if repeated, else -1).
OrderedJson EncodeValue(const Message& message, const FieldDescriptor* field, int index) {
  const Reflection* refl = message.GetReflection();
  const bool repeated = index >= 0;
  switch (field->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
      return repeated ? refl->GetRepeatedInt32(message, field, index) : refl->GetInt32(message, field);
    case FieldDescriptor::CPPTYPE_INT64:
      return repeated ? refl->GetRepeatedInt64(message, field, index) : refl->GetInt64(message, field);
    case FieldDescriptor::CPPTYPE_UINT32:
      return repeated ? refl->GetRepeatedUInt32(message, field, index) : refl->GetUInt32(message, field);
    case FieldDescriptor::CPPTYPE_UINT64:
      return repeated ? refl->GetRepeatedUInt64(message, field, index) : refl->GetUInt64(message, field);
    case FieldDescriptor::CPPTYPE_DOUBLE:
      return repeated ? refl->GetRepeatedDouble(message, field, index) : refl->GetDouble(message, field);
    case FieldDescriptor::CPPTYPE_FLOAT:
      return repeated ? refl->GetRepeatedFloat(message, field, index) : refl->GetFloat(message, field);
    case FieldDescriptor::CPPTYPE_BOOL:
      return repeated ? refl->GetRepeatedBool(message, field, index) : refl->GetBool(message, field);
    case FieldDescriptor::CPPTYPE_ENUM:
      return repeated ? refl->GetRepeatedEnumValue(message, field, index) : refl->GetEnumValue(message, field);
    case FieldDescriptor::CPPTYPE_STRING: {
      std::string text = repeated ? refl->GetRepeatedString(message, field, index) : refl->GetString(message, field);
      if (field->type() == FieldDescriptor::TYPE_BYTES) return Base64(text);
      return text;
    }
    case FieldDescriptor::CPPTYPE_MESSAGE: {
      const Message& value =
          repeated ? refl->GetRepeatedMessage(message, field, index) : refl->GetMessage(message, field);
      if (auto special = EncodeSpecial(value, field)) return *std::move(special);
      return EncodeMessageJson(value);
    }
  }
  return nullptr;
}

bool IsDefaultScalar(const Message& message, const FieldDescriptor* field) {
  const Reflection* refl = message.GetReflection();
  switch (field->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
      return refl->GetInt32(message, field) == 0;
    case FieldDescriptor::CPPTYPE_INT64:
      return refl->GetInt64(message, field) == 0;
    case FieldDescriptor::CPPTYPE_UINT32:
      return refl->GetUInt32(message, field) == 0;
    case FieldDescriptor::CPPTYPE_UINT64:
      return refl->GetUInt64(message, field) == 0;
    case FieldDescriptor::CPPTYPE_DOUBLE:
      return refl->GetDouble(message, field) == 0;
    case FieldDescriptor::CPPTYPE_FLOAT:
      return refl->GetFloat(message, field) == 0;
    case FieldDescriptor::CPPTYPE_BOOL:
      return !refl->GetBool(message, field);
    case FieldDescriptor::CPPTYPE_ENUM:
      return refl->GetEnumValue(message, field) == 0;
    case FieldDescriptor::CPPTYPE_STRING:
      return refl->GetString(message, field).empty();
    case FieldDescriptor::CPPTYPE_MESSAGE:
      return !refl->HasField(message, field);
  }
  return true;
}

OrderedJson EncodeMessageJson(const Message& message) {
  const Descriptor* type = message.GetDescriptor();
  const Reflection* refl = message.GetReflection();
  OrderedJson out = OrderedJson::object();
  for (int i = 0; i < type->field_count(); ++i) {
    const FieldDescriptor* field = type->field(i);
    if (field->is_map()) {
      int size = refl->FieldSize(message, field);
      if (size == 0) continue;
      // Map order in protobuf is unspecified: sort by key so output is deterministic.
      std::map<std::string, OrderedJson> sorted;
      const FieldDescriptor* key_field = field->message_type()->map_key();
      const FieldDescriptor* value_field = field->message_type()->map_value();
      for (int j = 0; j < size; ++j) {
        const Message& entry = refl->GetRepeatedMessage(message, field, j);
        std::string key = entry.GetReflection()->GetString(entry, key_field);
        sorted[key] = EncodeValue(entry, value_field, -1);
      }
      OrderedJson map = OrderedJson::object();
      for (auto& [key, value] : sorted) map[key] = std::move(value);
      out[field->json_name()] = std::move(map);
    } else if (field->is_repeated()) {
      int size = refl->FieldSize(message, field);
      if (size == 0) continue;
      OrderedJson list = OrderedJson::array();
      for (int j = 0; j < size; ++j) list.push_back(EncodeValue(message, field, j));
      out[field->json_name()] = std::move(list);
    } else {
      bool present = field->has_presence() ? refl->HasField(message, field) : !IsDefaultScalar(message, field);
      if (!present) continue;
      out[field->json_name()] = EncodeValue(message, field, -1);
    }
  }
  return out;
}

// The object's JSON with apiVersion/kind filled in for a registered kind that lacks them.
OrderedJson EncodeObjectJson(const Message& message) {
  OrderedJson out = EncodeMessageJson(message);
  const KindInfo* info = KindOf(message);
  if (info == nullptr) return out;
  if (out.contains("apiVersion") && out.contains("kind")) return out;
  OrderedJson filled = OrderedJson::object();
  filled["apiVersion"] = out.contains("apiVersion") ? out["apiVersion"] : OrderedJson(info->ApiVersion());
  filled["kind"] = out.contains("kind") ? out["kind"] : OrderedJson(info->kind);
  for (auto& [key, value] : out.items()) {
    if (key != "apiVersion" && key != "kind") filled[key] = value;
  }
  return filled;
}

std::string DumpJson(const OrderedJson& json, JsonStyle style) {
  // Strings from protobuf are UTF-8 checked on parse, but a message built in code may hold
  // anything: replace invalid sequences rather than throw.
  return json.dump(style == JsonStyle::kIndented ? 4 : -1, ' ', false, OrderedJson::error_handler_t::replace);
}

// ---------------------------------------------------------------- YAML emission

// True if a plain scalar with this text would not read back as this string.
bool NeedsQuotes(std::string_view s) {
  return ResolvePlain(s) != ScalarKind::kString || IsYaml11Bool(s);
}

// A literal block (`|`) reads back exactly only for some strings; yaml-cpp handles the
// rest with double quotes.
bool SuitsLiteralBlock(std::string_view s) {
  if (s.find('\n') == std::string_view::npos || s.front() == ' ' || s.front() == '\n') return false;
  if (s.back() != '\n' || (s.size() >= 2 && s[s.size() - 2] == '\n')) return false;  // exactly one final newline
  for (size_t i = 0; i < s.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 && c != '\n') return false;
    if (c == 0x7f) return false;
    if ((c == ' ') && i + 1 < s.size() && s[i + 1] == '\n') return false;  // trailing spaces
  }
  return true;
}

void EmitString(YAML::Emitter& out, const std::string& s) {
  if (NeedsQuotes(s)) {
    out << YAML::DoubleQuoted << s;
  } else if (SuitsLiteralBlock(s)) {
    out << YAML::Literal << s;
  } else {
    out << s;
  }
}

void EmitYaml(YAML::Emitter& out, const OrderedJson& value) {
  switch (value.type()) {
    case OrderedJson::value_t::object: {
      if (value.empty()) {
        out << YAML::Flow << YAML::BeginMap << YAML::EndMap;
        return;
      }
      std::vector<std::string> keys;
      for (const auto& item : value.items()) keys.push_back(item.key());
      std::sort(keys.begin(), keys.end());
      out << YAML::BeginMap;
      for (const std::string& key : keys) {
        out << YAML::Key;
        EmitString(out, key);
        out << YAML::Value;
        EmitYaml(out, value.at(key));
      }
      out << YAML::EndMap;
      return;
    }
    case OrderedJson::value_t::array:
      if (value.empty()) {
        out << YAML::Flow << YAML::BeginSeq << YAML::EndSeq;
        return;
      }
      out << YAML::BeginSeq;
      for (const auto& element : value) EmitYaml(out, element);
      out << YAML::EndSeq;
      return;
    case OrderedJson::value_t::string:
      EmitString(out, value.get<std::string>());
      return;
    case OrderedJson::value_t::boolean:
      out << (value.get<bool>() ? "true" : "false");
      return;
    case OrderedJson::value_t::number_integer:
    case OrderedJson::value_t::number_unsigned:
    case OrderedJson::value_t::number_float:
      out << value.dump();  // the shortest text that reads back as the same number
      return;
    case OrderedJson::value_t::null:
    case OrderedJson::value_t::binary:
    case OrderedJson::value_t::discarded:
      out << YAML::Null;
      return;
  }
}

std::string DumpYaml(const OrderedJson& json) {
  YAML::Emitter out;
  out.SetIndent(2);
  out.SetSeqFormat(YAML::Block);
  EmitYaml(out, json);
  std::string text = out.c_str();
  if (text.empty() || text.back() != '\n') text += '\n';
  return text;
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

}  // namespace

// ---------------------------------------------------------------- decoding

YamlScalarKind ResolvePlainYamlScalar(std::string_view scalar) { return ResolvePlain(scalar); }

std::string_view YamlScalarKindName(YamlScalarKind kind) { return KindName(kind); }

Status LoadYamlDocuments(std::string_view text, std::string_view source, std::vector<YAML::Node>* docs) {
  if (Status s = CheckText(text, source); !s.ok()) return s;
  try {
    std::istringstream stream{std::string(text)};
    YAML::Parser parser(stream);
    DocumentStarts starts;
    while (parser.HandleNextDocument(starts)) {
      size_t n = starts.starts.size();
      if (n >= 2 && starts.starts[n - 1].pos == starts.starts[n - 2].pos) {
        return Status::InvalidArgument(std::string(source) + ":" + Line(starts.starts[n - 1]) +
                                       ": invalid YAML: unexpected ','");
      }
    }
    *docs = YAML::LoadAll(std::string(text));
  } catch (const YAML::Exception& e) {
    return SyntaxError(source, e);
  }
  return Status::Ok();
}


Status DecodeYaml(std::string_view text, std::string_view source, std::vector<Object>* out) {
  std::vector<YAML::Node> docs;
  if (Status s = LoadYamlDocuments(text, source, &docs); !s.ok()) return s;
  Decoder decoder(source);
  std::vector<Object> decoded;
  try {
    for (const YAML::Node& doc : docs) {
      if (doc.IsNull()) continue;  // an empty document: "---" at the end, or only comments
      if (!DecodeObject(decoder, doc, "", &decoded)) return decoder.error();
    }
  } catch (const YAML::Exception& e) {
    return SyntaxError(source, e);
  }
  for (Object& object : decoded) out->push_back(std::move(object));
  return Status::Ok();
}

Status DecodeJson(std::string_view text, std::string_view source, Object* out) {
  try {
    Json parsed = Json::parse(text.begin(), text.end());
    if (!parsed.is_object()) return Status::InvalidArgument(std::string(source) + ":1: expected a JSON object");
  } catch (const Json::parse_error& e) {
    size_t end = std::min(e.byte, text.size());
    int line = 1 + static_cast<int>(std::count(text.begin(), text.begin() + static_cast<ptrdiff_t>(end), '\n'));
    std::string what = e.what();
    // "[json.exception.parse_error.101] parse error at line 4, column 1: <reason>" -> "<reason>"
    if (size_t column = what.find("column "); column != std::string::npos) {
      if (size_t colon = what.find(": ", column); colon != std::string::npos) what = what.substr(colon + 2);
    }
    return Status::InvalidArgument(std::string(source) + ":" + std::to_string(line) + ": invalid JSON: " + what);
  } catch (const Json::exception& e) {
    // Not a syntax error but a value nlohmann cannot hold (a number beyond a double's
    // range); it gives no position.
    std::string what = e.what();
    if (size_t bracket = what.find("] "); bracket != std::string::npos) what = what.substr(bracket + 2);
    return Status::InvalidArgument(std::string(source) + ": invalid JSON: " + what);
  }
  std::vector<Object> objects;
  if (Status s = DecodeYaml(text, source, &objects); !s.ok()) return s;
  if (objects.size() != 1) {
    return Status::InvalidArgument(std::string(source) + ":1: expected one object, got " +
                                   std::to_string(objects.size()));
  }
  *out = std::move(objects[0]);
  return Status::Ok();
}

Status DecodeInto(std::string_view text, std::string_view source, google::protobuf::Message* message) {
  message->Clear();
  std::vector<YAML::Node> docs;
  if (Status s = LoadYamlDocuments(text, source, &docs); !s.ok()) return s;
  docs.erase(std::remove_if(docs.begin(), docs.end(), [](const YAML::Node& d) { return d.IsNull(); }), docs.end());
  if (docs.size() != 1) {
    return Status::InvalidArgument(std::string(source) + ":1: expected one object, got " +
                                   std::to_string(docs.size()));
  }
  Decoder decoder(source);
  try {
    const YAML::Node& doc = docs[0];
    if (!doc.IsMap()) return (decoder.Fail(doc.Mark(), "", "expected an object"), decoder.error());
    Json json;
    if (!decoder.DecodeMessage(doc, message->GetDescriptor(), "", &json)) return decoder.error();
    if (const KindInfo* info = KindOf(*message)) {
      if (json.contains("apiVersion") && json["apiVersion"] != info->ApiVersion()) {
        decoder.Fail(doc["apiVersion"].Mark(), "apiVersion", "expected \"" + info->ApiVersion() + "\"");
        return decoder.error();
      }
      if (json.contains("kind") && json["kind"] != info->kind) {
        decoder.Fail(doc["kind"].Mark(), "kind", "expected \"" + info->kind + "\"");
        return decoder.error();
      }
    }
    if (!ToMessage(decoder, json, doc, "", message)) return decoder.error();
  } catch (const YAML::Exception& e) {
    return SyntaxError(source, e);
  }
  return Status::Ok();
}

// ---------------------------------------------------------------- encoding

std::string EncodeJson(const google::protobuf::Message& message, JsonStyle style) {
  return DumpJson(EncodeObjectJson(message), style);
}

std::string EncodeYaml(const google::protobuf::Message& message) { return DumpYaml(EncodeObjectJson(message)); }

std::string EncodeYamlStream(const std::vector<const google::protobuf::Message*>& messages) {
  std::string out;
  for (size_t i = 0; i < messages.size(); ++i) {
    if (i > 0) out += "---\n";
    out += EncodeYaml(*messages[i]);
  }
  return out;
}

std::string EncodeJsonList(const KindInfo& info, const ListMeta& list_meta,
                           const std::vector<const google::protobuf::Message*>& items, JsonStyle style) {
  OrderedJson out = OrderedJson::object();
  out["apiVersion"] = info.ApiVersion();
  out["kind"] = info.kind + "List";
  out["metadata"] = EncodeMessageJson(list_meta);
  OrderedJson encoded = OrderedJson::array();
  for (const google::protobuf::Message* item : items) encoded.push_back(EncodeObjectJson(*item));
  out["items"] = std::move(encoded);
  return DumpJson(out, style);
}

// ---------------------------------------------------------------- wire form

Status EncodeWire(const google::protobuf::Message& message, std::string* out) {
  const KindInfo* info = KindOf(message);
  if (info == nullptr) {
    return Status::InvalidArgument("EncodeWire: " + message.GetDescriptor()->full_name() + " is not a registered kind");
  }
  TypedObject typed;
  typed.set_api_version(info->ApiVersion());
  typed.set_kind(info->kind);
  if (!ksim::SerializeDeterministic(message, typed.mutable_raw()) || !ksim::SerializeDeterministic(typed, out)) {
    return Status::InvalidArgument("message failed to serialize");
  }
  return Status::Ok();
}

Status DecodeWire(std::string_view bytes, Object* out) {
  TypedObject typed;
  if (!typed.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return Status::Corruption("malformed object of " + std::to_string(bytes.size()) + " bytes");
  }
  const KindInfo* info = Registry::Default().ByApiVersionKind(typed.api_version(), typed.kind());
  if (info == nullptr) {
    return Status::NotFound("unknown kind \"" + typed.kind() + "\" in apiVersion \"" + typed.api_version() + "\"");
  }
  auto message = info->New();
  if (!message->ParseFromString(typed.raw())) {
    return Status::Corruption("malformed " + typed.kind() + " of " + std::to_string(typed.raw().size()) + " bytes");
  }
  out->info = info;
  out->message = std::move(message);
  out->line = 0;
  return Status::Ok();
}

// ---------------------------------------------------------------- any object

namespace {
// A field by name, trying the number the API's kinds use first: FindFieldByNumber is an
// index into the field array when numbers are sequential, where FindFieldByName hashes the
// name, and these lookups run several times per request.
const FieldDescriptor* FieldNamed(const Descriptor* type, int usual_number, std::string_view name) {
  const FieldDescriptor* field = type->FindFieldByNumber(usual_number);
  if (field != nullptr && field->name() == name) return field;
  return type->FindFieldByName(std::string(name));
}

const FieldDescriptor* MetadataField(const google::protobuf::Message& message) {
  const FieldDescriptor* field = FieldNamed(message.GetDescriptor(), 3, "metadata");
  if (field == nullptr || field->is_repeated() || field->message_type() != ObjectMeta::descriptor()) return nullptr;
  return field;
}
}  // namespace

const ObjectMeta* GetMeta(const google::protobuf::Message& message) {
  const FieldDescriptor* field = MetadataField(message);
  if (field == nullptr) return nullptr;
  return google::protobuf::DynamicCastToGenerated<ObjectMeta>(&message.GetReflection()->GetMessage(message, field));
}

ObjectMeta* MutableMeta(google::protobuf::Message& message) {
  const FieldDescriptor* field = MetadataField(message);
  if (field == nullptr) return nullptr;
  return google::protobuf::DynamicCastToGenerated<ObjectMeta>(
      message.GetReflection()->MutableMessage(&message, field));
}

const KindInfo* KindOf(const google::protobuf::Message& message) {
  return Registry::Default().ByDescriptor(message.GetDescriptor());
}

bool SetTypeMeta(google::protobuf::Message& message) {
  const KindInfo* info = KindOf(message);
  if (info == nullptr) return false;
  const Descriptor* type = message.GetDescriptor();
  const FieldDescriptor* api_version = FieldNamed(type, 1, "api_version");
  const FieldDescriptor* kind = FieldNamed(type, 2, "kind");
  if (api_version == nullptr || kind == nullptr) return false;
  message.GetReflection()->SetString(&message, api_version, info->ApiVersion());
  message.GetReflection()->SetString(&message, kind, info->kind);
  return true;
}

IntOrString MakeIntOrString(int32_t value) {
  IntOrString out;
  out.set_int_val(value);
  return out;
}

IntOrString MakeIntOrString(std::string value) {
  IntOrString out;
  out.set_str_val(std::move(value));
  return out;
}

std::string ToString(const IntOrString& value) {
  switch (value.value_case()) {
    case IntOrString::kIntVal:
      return std::to_string(value.int_val());
    case IntOrString::kStrVal:
      return value.str_val();
    case IntOrString::VALUE_NOT_SET:
      break;
  }
  return "";
}

bool ParseResourceVersion(std::string_view text, int64_t* out) {
  if (text.empty() || text.size() > 18) return false;
  int64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *out = v;
  return true;
}

}  // namespace ksim::api
