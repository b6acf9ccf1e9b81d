// The fields a field selector may name, per kind (Kubernetes' *ToSelectableFields).
#include <set>

#include "cluster/api/codec.h"
#include "cluster/apiserver/strategy/pod_fields.h"
#include "cluster/apiserver/strategy/strategy.h"
#include "cluster/apiserver/strategy/validation.h"

namespace ksim::apiserver {
namespace {

using google::protobuf::Message;
using Fields = std::map<std::string, std::string>;

std::string Bool(bool b) { return b ? "true" : "false"; }

// Fields beyond metadata.name/namespace, by kind ("group/Kind"). SelectableFields fills the
// same names; a test keeps the two in step.
const std::map<std::string, std::set<std::string, std::less<>>>& ExtraFields() {
  static const auto* const table = new std::map<std::string, std::set<std::string, std::less<>>>{
      {"/Pod",
       {"spec.nodeName", "spec.restartPolicy", "spec.schedulerName", "spec.serviceAccountName", "spec.hostNetwork",
        "status.phase", "status.podIP", "status.nominatedNodeName"}},
      {"/Node", {"spec.unschedulable"}},
      {"/Event",
       {"involvedObject.kind", "involvedObject.namespace", "involvedObject.name", "involvedObject.uid",
        "involvedObject.apiVersion", "involvedObject.resourceVersion", "involvedObject.fieldPath", "reason",
        "reportingComponent", "source", "type"}},
      {"/Secret", {"type"}},
      {"/Namespace", {"status.phase"}},
      {"apps/ReplicaSet", {"status.replicas"}},
      {"/ReplicationController", {"status.replicas"}},
      {"batch/Job", {"status.successful"}},
      {"certificates.k8s.io/CertificateSigningRequest", {"spec.signerName"}},
  };
  return *table;
}

template <typename T>
const T* Cast(const Message& m) {
  return google::protobuf::DynamicCastToGenerated<T>(&m);
}

void AddKindFields(const Message& obj, Fields& f) {
  if (const auto* pod = Cast<api::Pod>(obj)) {
    ForEachPodField(*pod, [&f](const char* name, std::string_view value) { f[name] = std::string(value); });
  } else if (const auto* node = Cast<api::Node>(obj)) {
    f["spec.unschedulable"] = Bool(node->spec().unschedulable());
  } else if (const auto* ev = Cast<api::Event>(obj)) {
    const api::ObjectReference& o = ev->involved_object();
    f["involvedObject.kind"] = o.kind();
    f["involvedObject.namespace"] = o.namespace_();
    f["involvedObject.name"] = o.name();
    f["involvedObject.uid"] = o.uid();
    f["involvedObject.apiVersion"] = o.api_version();
    f["involvedObject.resourceVersion"] = o.resource_version();
    f["involvedObject.fieldPath"] = o.field_path();
    f["reason"] = ev->reason();
    f["reportingComponent"] = ev->reporting_component();
    f["source"] = ev->source().component();
    f["type"] = ev->type();
  } else if (const auto* secret = Cast<api::Secret>(obj)) {
    f["type"] = secret->type();
  } else if (const auto* ns = Cast<api::Namespace>(obj)) {
    f["status.phase"] = ns->status().phase();
  } else if (const auto* rs = Cast<api::ReplicaSet>(obj)) {
    f["status.replicas"] = std::to_string(rs->status().replicas());
  } else if (const auto* rc = Cast<api::ReplicationController>(obj)) {
    f["status.replicas"] = std::to_string(rc->status().replicas());
  } else if (const auto* job = Cast<api::Job>(obj)) {
    f["status.successful"] = std::to_string(job->status().succeeded());
  } else if (const auto* csr = Cast<api::CertificateSigningRequest>(obj)) {
    f["spec.signerName"] = csr->spec().signer_name();
  }
}

}  // namespace

std::map<std::string, std::string> SelectableFields(const Message& obj) {
  Fields fields;
  const api::KindInfo* info = api::KindOf(obj);
  const api::ObjectMeta* meta = api::GetMeta(obj);
  if (info == nullptr || meta == nullptr) return fields;
  fields["metadata.name"] = meta->name();
  if (info->namespaced) fields["metadata.namespace"] = meta->namespace_();
  AddKindFields(obj, fields);
  return fields;
}

bool IsSelectableField(const api::KindInfo& kind, std::string_view field) {
  if (field == "metadata.name") return true;
  if (field == "metadata.namespace") return kind.namespaced;
  auto it = ExtraFields().find(kind.group + "/" + kind.kind);
  return it != ExtraFields().end() && it->second.count(field) != 0;
}

std::string_view SelectableFieldName(std::string_view field) {
  static const auto* const names = [] {
    auto* all = new std::set<std::string, std::less<>>{"metadata.name", "metadata.namespace"};
    for (const auto& [kind, fields] : ExtraFields()) all->insert(fields.begin(), fields.end());
    return all;
  }();
  auto it = names->find(field);
  return it == names->end() ? std::string_view() : std::string_view(*it);
}

}  // namespace ksim::apiserver
