// SelectableFields / IsSelectableField: Kubernetes' field-selector fields per kind.
#include <gtest/gtest.h>

#include "tests/cluster/apiserver/strategy/test_objects.h"

namespace ksim::apiserver::testing {
namespace {

using Fields = std::map<std::string, std::string>;

TEST(SelectableFieldsTest, Pod) {
  api::Pod pod = Defaulted<api::Pod>(PodJson(R"(,"nodeName":"node-1","serviceAccountName":"builder")"));
  pod.mutable_status()->set_pod_ip("10.0.0.9");
  pod.mutable_status()->add_pod_ips()->set_ip("10.0.0.7");
  pod.mutable_status()->set_nominated_node_name("node-2");
  EXPECT_EQ(SelectableFields(pod), (Fields{{"metadata.name", "web"},
                                           {"metadata.namespace", "default"},
                                           {"spec.hostNetwork", "false"},
                                           {"spec.nodeName", "node-1"},
                                           {"spec.restartPolicy", "Always"},
                                           {"spec.schedulerName", "default-scheduler"},
                                           {"spec.serviceAccountName", "builder"},
                                           {"status.nominatedNodeName", "node-2"},
                                           {"status.phase", "Pending"},
                                           {"status.podIP", "10.0.0.7"}}));
}

TEST(SelectableFieldsTest, OtherKinds) {
  api::Node node = Parse<api::Node>(R"({"apiVersion":"v1","kind":"Node","metadata":{"name":"n1"},"spec":{"unschedulable":true}})");
  EXPECT_EQ(SelectableFields(node), (Fields{{"metadata.name", "n1"}, {"spec.unschedulable", "true"}}));

  api::Event ev = Parse<api::Event>(
      R"({"apiVersion":"v1","kind":"Event","metadata":{"name":"e","namespace":"default"},"reason":"Killing",)"
      R"("type":"Warning","source":{"component":"kubelet","host":"n1"},"reportingComponent":"kubelet",)"
      R"("involvedObject":{"kind":"Pod","namespace":"default","name":"web","uid":"u","apiVersion":"v1",)"
      R"("resourceVersion":"7","fieldPath":"spec.containers{web}"}})");
  EXPECT_EQ(SelectableFields(ev), (Fields{{"involvedObject.apiVersion", "v1"},
                                          {"involvedObject.fieldPath", "spec.containers{web}"},
                                          {"involvedObject.kind", "Pod"},
                                          {"involvedObject.name", "web"},
                                          {"involvedObject.namespace", "default"},
                                          {"involvedObject.resourceVersion", "7"},
                                          {"involvedObject.uid", "u"},
                                          {"metadata.name", "e"},
                                          {"metadata.namespace", "default"},
                                          {"reason", "Killing"},
                                          {"reportingComponent", "kubelet"},
                                          {"source", "kubelet"},
                                          {"type", "Warning"}}));

  api::Secret secret = Defaulted<api::Secret>(R"({"apiVersion":"v1","kind":"Secret","metadata":{"name":"s","namespace":"ns"}})");
  EXPECT_EQ(SelectableFields(secret), (Fields{{"metadata.name", "s"}, {"metadata.namespace", "ns"}, {"type", "Opaque"}}));

  api::Namespace ns = Defaulted<api::Namespace>(R"({"apiVersion":"v1","kind":"Namespace","metadata":{"name":"team"}})");
  EXPECT_EQ(SelectableFields(ns), (Fields{{"metadata.name", "team"}, {"status.phase", "Active"}}));

  api::ReplicaSet rs;
  rs.mutable_metadata()->set_name("r");
  rs.mutable_status()->set_replicas(3);
  EXPECT_EQ(SelectableFields(rs).at("status.replicas"), "3");
  api::ReplicationController rc;
  rc.mutable_status()->set_replicas(2);
  EXPECT_EQ(SelectableFields(rc).at("status.replicas"), "2");
  api::Job job;
  job.mutable_status()->set_succeeded(4);
  EXPECT_EQ(SelectableFields(job).at("status.successful"), "4");
  api::CertificateSigningRequest csr;
  csr.mutable_spec()->set_signer_name("kubernetes.io/kubelet-serving");
  EXPECT_EQ(SelectableFields(csr).at("spec.signerName"), "kubernetes.io/kubelet-serving");

  api::ConfigMap cm;
  cm.mutable_metadata()->set_name("c");
  EXPECT_EQ(SelectableFields(cm), (Fields{{"metadata.name", "c"}, {"metadata.namespace", ""}}));
  EXPECT_TRUE(SelectableFields(api::PodSpec()).empty());
}

TEST(SelectableFieldsTest, IsSelectableFieldAgreesWithSelectableFields) {
  const api::Registry& registry = api::Registry::Default();
  for (const api::KindInfo& kind : registry.All()) {
    if (kind.resource.empty()) continue;
    const auto fields = SelectableFields(*kind.prototype);
    EXPECT_FALSE(fields.empty()) << kind.kind;
    for (const auto& [name, value] : fields) EXPECT_TRUE(IsSelectableField(kind, name)) << kind.kind << " " << name;
    EXPECT_FALSE(IsSelectableField(kind, "spec.bogus")) << kind.kind;
    EXPECT_FALSE(IsSelectableField(kind, "metadata.labels")) << kind.kind;
  }
  const api::KindInfo* pods = registry.ByGroupResource("", "pods");
  const api::KindInfo* nodes = registry.ByGroupResource("", "nodes");
  const api::KindInfo* jobs = registry.ByGroupResource("batch", "jobs");
  ASSERT_TRUE(pods && nodes && jobs);
  EXPECT_TRUE(IsSelectableField(*pods, "spec.nodeName"));
  EXPECT_TRUE(IsSelectableField(*pods, "status.podIP"));
  EXPECT_FALSE(IsSelectableField(*pods, "spec.unschedulable"));
  EXPECT_TRUE(IsSelectableField(*nodes, "spec.unschedulable"));
  EXPECT_FALSE(IsSelectableField(*nodes, "metadata.namespace"));  // cluster-scoped, as in Kubernetes
  EXPECT_TRUE(IsSelectableField(*jobs, "status.successful"));
}

}  // namespace
}  // namespace ksim::apiserver::testing
