// Per-kind defaulting, validation and selectable fields: what the apiserver does to every
// object it creates or updates, with Kubernetes' defaults, field paths and messages, so a
// user's mistakes read the same as they would against Kubernetes. docs/APISERVER.md
// ("Defaulting and validation") lists the rules and where ksim differs.
#pragma once

#include <google/protobuf/message.h>

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "cluster/api/registry.h"

namespace ksim::apiserver {

struct FieldError {
  std::string field;    // Kubernetes path: "spec.containers[0].image", "metadata.name"
  std::string reason;   // Kubernetes' CauseType: "FieldValueRequired", "FieldValueInvalid",
                        // "FieldValueNotSupported", "FieldValueDuplicate", "FieldValueForbidden",
                        // "FieldValueTooLong", "FieldValueNotFound"
  std::string message;  // Kubernetes' wording (its field.Error body): "Required value",
                        // "Unsupported value: \"Sometimes\": supported values: \"Always\", ..."

  friend bool operator==(const FieldError&, const FieldError&) = default;
};

// "<field>: <message>", as Kubernetes prints one cause.
std::string ToString(const FieldError& error);

// Fills Kubernetes' defaults in place (the object's kind comes from KindOf(obj)). Objects
// of unregistered types are left alone. Idempotent.
//
// Create-time parts that depend on the object being new (a Namespace's "kubernetes"
// finalizer, a Job's generated selector, which needs metadata.uid) key off state a new
// object has: the apiserver calls this after it has set uid, and on update after it has
// carried status over from the stored object.
void ApplyDefaults(google::protobuf::Message& obj);

// Validation of an object about to be created. Empty = valid. Runs after ApplyDefaults.
std::vector<FieldError> ValidateCreate(const google::protobuf::Message& obj);

// Validation of `obj` replacing `old` (same kind): everything ValidateCreate checks, plus
// what may not change.
std::vector<FieldError> ValidateUpdate(const google::protobuf::Message& obj, const google::protobuf::Message& old);

// The fields a field selector may name for this object's kind, with their values:
// every kind: metadata.name (and metadata.namespace for namespaced kinds); pods:
// spec.nodeName, spec.restartPolicy, spec.schedulerName, spec.serviceAccountName,
// spec.hostNetwork, status.phase, status.podIP, status.nominatedNodeName; nodes:
// spec.unschedulable; events: involvedObject.{kind,namespace,name,uid,apiVersion,
// resourceVersion,fieldPath}, reason, reportingComponent, source, type; secrets: type;
// namespaces: status.phase; replicasets/replicationcontrollers: status.replicas; jobs:
// status.successful; certificatesigningrequests: spec.signerName.
std::map<std::string, std::string> SelectableFields(const google::protobuf::Message& obj);

// Whether `field` is selectable for this kind (so the apiserver can answer 400 for others).
bool IsSelectableField(const api::KindInfo& kind, std::string_view field);

// `field` as a view into a table that lives as long as the process, if it is a selectable
// field of any kind; "" otherwise. Caches hold these views instead of copies of the names.
std::string_view SelectableFieldName(std::string_view field);

}  // namespace ksim::apiserver
