// The manifest decoder: YAML or JSON text, walked along a message descriptor (codec.h).
#include <google/protobuf/timestamp.pb.h>
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/time_util.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>

#include "cluster/api/codec.h"
#include "cluster/api/codec_internal.h"
#include "cluster/api/yaml_documents.h"

#if KSIM_API_HAVE_QUANTITY
#include "cluster/api/machinery/quantity.h"
#endif

namespace ksim::api {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using Json = nlohmann::json;  // key order does not matter to protobuf
using ScalarKind = YamlScalarKind;
using codec_internal::IsMicroTime;
using codec_internal::IsQuantity;
using codec_internal::kListValueType;
using codec_internal::kStructType;
using codec_internal::kTimestampType;
using codec_internal::kValueType;

// Aliases can make a small document expand into a huge tree ("billion laughs"); decoding
// gives up beyond this many visited nodes.
constexpr int64_t kMaxNodes = 1'000'000;

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
    bool alphabet = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/';
    if (c == '=') {
      if (i + 2 < out->size()) return false;  // '=' only in the last two places
      ++padding;
    } else if (!alphabet || padding > 0) {
      return false;
    }
  }
  return true;
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

std::string JoinPath(const std::string& path, std::string_view key) {
  return path.empty() ? std::string(key) : path + "." + std::string(key);
}

const FieldDescriptor* FieldByJsonName(const Descriptor* type, std::string_view name) {
  for (int i = 0; i < type->field_count(); ++i) {
    if (type->field(i)->json_name() == name) return type->field(i);
  }
  return nullptr;
}

// // Walks a yaml-cpp tree along a message descriptor and produces the protobuf JSON mapping
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
    std::string text = std::string(source_) + ":" + std::to_string(YamlLine(mark)) + ": ";
    if (!path.empty()) text += path + ": ";
    error_ = Status::InvalidArgument(text + message);
    return false;
  }

 private:
  bool Visit(const YAML::Node& node, const std::string& path) {
    if (++visited_ <= kMaxNodes) return true;
    return Fail(node.Mark(), path, TooLarge());
  }

  static std::string Describe(const YAML::Node& node) { return DescribeYamlNode(node); }

  // The kind of a scalar node, honouring quoting and explicit core tags (!!str, !!int...).
  bool Classify(const YAML::Node& node, const std::string& path, ScalarKind* kind) {
    std::string why;
    return ClassifyYamlScalar(node, kind, &why) || Fail(node.Mark(), path, why);
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
        bool ok = ParseYamlInt(node.Scalar(), &value);
        bool is_32 = field->cpp_type() == FieldDescriptor::CPPTYPE_INT32 ||
                     field->cpp_type() == FieldDescriptor::CPPTYPE_UINT32;
        bool is_unsigned = field->cpp_type() == FieldDescriptor::CPPTYPE_UINT32 ||
                           field->cpp_type() == FieldDescriptor::CPPTYPE_UINT64;
        if (ok && is_32) ok = value >= std::numeric_limits<int32_t>::min() && value <= std::numeric_limits<int32_t>::max();
        if (ok && is_unsigned) ok = value >= 0;
        if (!ok) return Fail(node.Mark(), path, "integer " + TruncatedYamlText(node.Scalar()) + " out of range");
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
        if (!ParseYamlFiniteDouble(node.Scalar(), &value)) return Fail(node.Mark(), path, "number must be finite");
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
                    "invalid time \"" + TruncatedYamlText(node.Scalar()) + "\" (want RFC 3339, e.g. 2024-01-02T03:04:05Z)");
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
      if (!ParseYamlInt(node.Scalar(), &value) || value < std::numeric_limits<int32_t>::min() ||
          value > std::numeric_limits<int32_t>::max()) {
        return Fail(node.Mark(), path, "integer " + TruncatedYamlText(node.Scalar()) + " out of range");
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

  // Free-form JSON (google.protobuf.Struct/Value: managedFields' fieldsV1), counted
  // against the document's node budget.
  bool DecodeAny(const YAML::Node& node, const std::string& path, Json* out) {
    static const YamlJsonOptions kOptions{std::numeric_limits<int>::max(), TooLarge(), "", false};
    int64_t budget = kMaxNodes - visited_;
    YamlError e;
    const bool ok = YamlToJson(node, path, kOptions, &budget, out, &e);
    visited_ = kMaxNodes - budget;
    return ok || Fail(e.mark, e.path, e.message);
  }

  static std::string TooLarge() {
    return "document too large (more than " + std::to_string(kMaxNodes) + " nodes once aliases are expanded)";
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
    bool is_string = v.IsScalar() && (v.Tag() != "?" || ResolvePlainYamlScalar(v.Scalar()) == ScalarKind::kString);
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

Status SyntaxError(std::string_view source, const YAML::Exception& e) {
  return Status::InvalidArgument(std::string(source) + ":" + std::to_string(YamlLine(e.mark)) +
                                 ": invalid YAML: " + e.msg);
}

}  // namespace

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

}  // namespace ksim::api
