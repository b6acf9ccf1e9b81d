// The wire form (TypedObject bytes) and the helpers that work on any object (codec.h).
#include <string>

#include "cluster/api/codec.h"
#include "cluster/env/wire.h"

namespace ksim::api {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;

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
