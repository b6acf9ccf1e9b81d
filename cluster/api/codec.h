// Decoding Kubernetes manifests (YAML, JSON) into typed protobuf messages and encoding
// them back the way Kubernetes writes them; protobuf wire form for storage and in-sim
// clients; helpers that work on any object (ObjectMeta, type meta, int-or-string).
//
// Decoding is strict like the apiserver's: an unknown or duplicate field, a value of the
// wrong type ("replicas: '3'"), a bad timestamp or quantity is an error that names the
// source, the line and the field path, e.g.
//   deploy.yaml:17: spec.template.spec.containers[0].imagePullPolicyy: unknown field "imagePullPolicyy"
// The pipeline and its rules are described in docs/API.md.
#pragma once

#include <google/protobuf/message.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "cluster/api/core.pb.h"
#include "cluster/api/meta.pb.h"
#include "cluster/api/registry.h"
#include "cluster/env/status.h"

namespace ksim::api {

// One decoded object: its kind and the typed message (a ksim::api::Pod, Deployment...).
struct Object {
  const KindInfo* info = nullptr;
  std::unique_ptr<google::protobuf::Message> message;
  int line = 0;  // 1-based line where the object starts in its source
};

// ---------------------------------------------------------------- decoding

// Decodes every document of a YAML stream (documents separated by `---`; empty documents
// are skipped; a `kind: List` document contributes its items). JSON is YAML, so this also
// reads JSON. `source` names the text in error messages ("deploy.yaml"). On error `out`
// keeps the objects decoded before the failing document.
Status DecodeYaml(std::string_view text, std::string_view source, std::vector<Object>* out);

// Decodes one object from strict JSON (RFC 8259; YAML-only syntax is rejected).
Status DecodeJson(std::string_view text, std::string_view source, Object* out);

// Decodes a YAML or JSON document into `message`, whose type is fixed by the caller (a
// request body at a known URL). apiVersion and kind may be absent; if present they must
// name the message's kind. `message` is cleared first.
Status DecodeInto(std::string_view text, std::string_view source, google::protobuf::Message* message);

// ---------------------------------------------------------------- encoding

enum class JsonStyle { kCompact, kIndented };

// The object as Kubernetes writes it: camelCase names in Kubernetes' field order, unset
// and empty fields omitted, int64 as numbers, bytes as base64, Time as
// "2024-01-02T03:04:05Z", MicroTime as "2024-01-02T03:04:05.123456Z", int-or-string as a
// bare number or string. An empty apiVersion/kind of a registered kind is filled in.
std::string EncodeJson(const google::protobuf::Message& message, JsonStyle style = JsonStyle::kCompact);

// The same content as YAML, keys sorted like `kubectl get -o yaml`. Strings that YAML
// would read as another type ("true", "8080", "null", "yes") are quoted.
std::string EncodeYaml(const google::protobuf::Message& message);

// Several objects as one YAML stream, separated by "---".
std::string EncodeYamlStream(const std::vector<const google::protobuf::Message*>& messages);

// A list response: {"apiVersion": <kind's>, "kind": "<Kind>List", "metadata": {...},
// "items": [...]}, items encoded as by EncodeJson.
std::string EncodeJsonList(const KindInfo& info, const ListMeta& list_meta,
                           const std::vector<const google::protobuf::Message*>& items,
                           JsonStyle style = JsonStyle::kCompact);

// ---------------------------------------------------------------- wire form

// The object as protobuf bytes with its apiVersion and kind in front (a serialized
// ksim.api.TypedObject), deterministic: the same object always gives the same bytes.
// Fails only for a message type that is not a registered kind.
Status EncodeWire(const google::protobuf::Message& message, std::string* out);

// The inverse of EncodeWire. Corruption on malformed bytes, NotFound for an unknown kind.
Status DecodeWire(std::string_view bytes, Object* out);

// ---------------------------------------------------------------- any object

// The ObjectMeta of a top-level object (its `metadata` field), or nullptr for messages
// without one (Status has a ListMeta).
const ObjectMeta* GetMeta(const google::protobuf::Message& message);
ObjectMeta* MutableMeta(google::protobuf::Message& message);

// The registry entry of a message's type, or nullptr if it is not a registered kind.
const KindInfo* KindOf(const google::protobuf::Message& message);

// Sets apiVersion and kind from the registry. False if the type is not registered.
bool SetTypeMeta(google::protobuf::Message& message);

// A resourceVersion ("123", a store revision) as a number; false for anything else
// (empty, signs, non-digits, more than 18 digits).
bool ParseResourceVersion(std::string_view text, int64_t* out);

// Int-or-string values.
IntOrString MakeIntOrString(int32_t value);
IntOrString MakeIntOrString(std::string value);
// "8080" or "http"; "" if unset.
std::string ToString(const IntOrString& value);

}  // namespace ksim::api
