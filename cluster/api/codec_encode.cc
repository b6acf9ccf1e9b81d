// The encoder: objects as Kubernetes writes them, in JSON and YAML (codec.h).
#include <google/protobuf/timestamp.pb.h>
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/time_util.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>

#include "cluster/api/codec.h"
#include "cluster/api/codec_internal.h"
#include "cluster/api/yaml_documents.h"

namespace ksim::api {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;
using OrderedJson = nlohmann::ordered_json;  // Kubernetes' field order
using codec_internal::IsMicroTime;
using codec_internal::kListValueType;
using codec_internal::kStructType;
using codec_internal::kTimestampType;
using codec_internal::kValueType;

// Timestamp's valid range (years 0001 to 9999), as TimeUtil checks it.
constexpr int64_t kMinTimestampSeconds = -62135596800;
constexpr int64_t kMaxTimestampSeconds = 253402300799;

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
    return OrderedJson::parse(nlohmann::json::parse(text, nullptr, false).dump(), nullptr, false);
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
  return ResolvePlainYamlScalar(s) != YamlScalarKind::kString || IsYaml11Bool(s);
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

}  // namespace

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

}  // namespace ksim::api
