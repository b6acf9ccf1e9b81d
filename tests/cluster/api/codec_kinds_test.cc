// The kinds added for the HPA/PDB/CronJob/Ingress issues and the recent Pod fields: the
// documentation's example manifests (testdata/) land in the right fields, and the
// registry serves each kind at its group/version. (That every testdata file loads and
// round-trips is CodecTestdata.EveryManifestLoadsAndRoundTrips.)
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "cluster/api/apps.pb.h"
#include "cluster/api/autoscaling.pb.h"
#include "cluster/api/batch.pb.h"
#include "cluster/api/codec.h"
#include "cluster/api/core.pb.h"
#include "cluster/api/discovery.pb.h"
#include "cluster/api/networking.pb.h"
#include "cluster/api/policy.pb.h"
#include "cluster/api/registry.h"
#include "cluster/api/storage.pb.h"

namespace ksim::api {
namespace {

std::vector<Object> Load(const std::string& name) {
  std::ifstream in(std::string(KSIM_API_TESTDATA) + "/" + name);
  std::stringstream buffer;
  buffer << in.rdbuf();
  std::vector<Object> objects;
  Status s = DecodeYaml(buffer.str(), name, &objects);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return objects;
}

template <typename T>
const T& As(const Object& object) {
  const T* typed = google::protobuf::DynamicCastToGenerated<T>(object.message.get());
  EXPECT_NE(typed, nullptr) << "object is a " << object.message->GetTypeName();
  return typed != nullptr ? *typed : T::default_instance();
}

TEST(CodecKinds, RegistryServesEachKindAtItsGroupVersion) {
  const Registry& r = Registry::Default();
  struct Want {
    std::string api_version, kind, resource, short_name;
    bool namespaced;
  };
  const std::vector<Want> wants = {
      {"apps/v1", "ControllerRevision", "controllerrevisions", "", true},
      {"policy/v1", "PodDisruptionBudget", "poddisruptionbudgets", "pdb", true},
      {"discovery.k8s.io/v1", "EndpointSlice", "endpointslices", "", true},
      {"batch/v1", "CronJob", "cronjobs", "cj", true},
      {"autoscaling/v2", "HorizontalPodAutoscaler", "horizontalpodautoscalers", "hpa", true},
      {"networking.k8s.io/v1", "Ingress", "ingresses", "ing", true},
      {"networking.k8s.io/v1", "IngressClass", "ingressclasses", "", false},
      {"networking.k8s.io/v1", "NetworkPolicy", "networkpolicies", "netpol", true},
      {"v1", "PersistentVolume", "persistentvolumes", "pv", false},
      {"storage.k8s.io/v1", "StorageClass", "storageclasses", "sc", false},
  };
  for (const Want& w : wants) {
    SCOPED_TRACE(w.kind);
    const KindInfo* info = r.ByApiVersionKind(w.api_version, w.kind);
    ASSERT_NE(info, nullptr);
    EXPECT_EQ(info->ApiVersion(), w.api_version);
    EXPECT_EQ(info->resource, w.resource);
    EXPECT_EQ(info->namespaced, w.namespaced);
    auto [group, version] = SplitApiVersion(w.api_version);
    EXPECT_EQ(r.ByGroupResource(group, w.resource), info);
    EXPECT_EQ(r.ByName(w.resource), info);
    if (!w.short_name.empty()) {
      EXPECT_EQ(r.ByName(w.short_name), info);
    }
  }
  // HPA is served at v2 only; Scale stays autoscaling/v1 in the same group.
  EXPECT_EQ(r.ByApiVersionKind("autoscaling/v1", "HorizontalPodAutoscaler"), nullptr);
  EXPECT_NE(r.ByApiVersionKind("autoscaling/v1", "Scale"), nullptr);
}

TEST(CodecKinds, PodDisruptionBudgets) {
  auto objects = Load("pdb.yaml");
  ASSERT_EQ(objects.size(), 3u);
  const auto& min = As<PodDisruptionBudget>(objects[0]);
  EXPECT_EQ(min.spec().min_available().int_val(), 2);
  EXPECT_FALSE(min.spec().has_max_unavailable());
  EXPECT_EQ(min.spec().selector().match_labels().at("app"), "zookeeper");
  EXPECT_EQ(As<PodDisruptionBudget>(objects[1]).spec().max_unavailable().int_val(), 1);
  const auto& nginx = As<PodDisruptionBudget>(objects[2]);
  EXPECT_EQ(nginx.spec().max_unavailable().str_val(), "50%");
  EXPECT_EQ(nginx.spec().unhealthy_pod_eviction_policy(), "AlwaysAllow");
  EXPECT_EQ(nginx.status().disrupted_pods().at("nginx-0").seconds(), 1704164645);
  EXPECT_EQ(nginx.status().conditions(0).reason(), "SufficientPods");
  EXPECT_NE(EncodeJson(nginx).find(R"("disruptedPods":{"nginx-0":"2024-01-02T03:04:05Z"})"), std::string::npos);
}

TEST(CodecKinds, EndpointSlices) {
  auto objects = Load("endpointslice.yaml");
  ASSERT_EQ(objects.size(), 2u);
  const auto& a = As<EndpointSlice>(objects[0]);
  EXPECT_EQ(a.address_type(), "IPv4");
  EXPECT_EQ(a.ports(0).port(), 80);
  EXPECT_TRUE(a.endpoints(0).conditions().has_ready());
  EXPECT_FALSE(a.endpoints(0).conditions().has_serving());
  EXPECT_EQ(a.endpoints(0).node_name(), "node-1");
  const auto& b = As<EndpointSlice>(objects[1]);
  EXPECT_TRUE(b.endpoints(0).conditions().has_ready());
  EXPECT_FALSE(b.endpoints(0).conditions().ready());  // false, but given
  EXPECT_EQ(b.endpoints(0).hints().for_zones(0).name(), "zone-b");
  EXPECT_EQ(b.endpoints(0).target_ref().name(), "web-1");
  EXPECT_EQ(b.ports(0).app_protocol(), "https");
}

TEST(CodecKinds, CronJobs) {
  auto objects = Load("cronjob.yaml");
  ASSERT_EQ(objects.size(), 2u);
  const auto& hello = As<CronJob>(objects[0]);
  EXPECT_EQ(hello.spec().schedule(), "* * * * *");
  EXPECT_EQ(hello.spec().job_template().spec().template_().spec().restart_policy(), "OnFailure");
  EXPECT_FALSE(hello.spec().has_suspend());
  const auto& report = As<CronJob>(objects[1]);
  EXPECT_EQ(report.spec().time_zone(), "Etc/UTC");
  EXPECT_EQ(report.spec().starting_deadline_seconds(), 200);
  EXPECT_TRUE(report.spec().has_suspend());
  EXPECT_EQ(report.spec().successful_jobs_history_limit(), 5);
  EXPECT_EQ(report.spec().job_template().metadata().labels().at("app"), "report");
  EXPECT_EQ(report.status().active(0).name(), "report-28458000");
}

TEST(CodecKinds, HorizontalPodAutoscalers) {
  auto objects = Load("hpa.yaml");
  ASSERT_EQ(objects.size(), 3u);
  const auto& multi = As<HorizontalPodAutoscaler>(objects[1]);
  EXPECT_EQ(multi.spec().scale_target_ref().kind(), "Deployment");
  ASSERT_EQ(multi.spec().metrics_size(), 4);
  EXPECT_EQ(multi.spec().metrics(0).resource().target().average_utilization(), 50);
  EXPECT_EQ(multi.spec().metrics(1).pods().target().average_value(), "1k");
  EXPECT_EQ(multi.spec().metrics(2).object().described_object().name(), "main-route");
  EXPECT_EQ(multi.spec().metrics(2).object().target().value(), "10k");
  EXPECT_EQ(multi.spec().metrics(3).external().target().average_value(), "30");  // a YAML number
  EXPECT_EQ(multi.status().current_metrics(0).resource().current().average_value(), "0");
  EXPECT_TRUE(multi.status().current_metrics(0).resource().current().has_average_utilization());
  const auto& web = As<HorizontalPodAutoscaler>(objects[2]);
  EXPECT_FALSE(web.spec().has_min_replicas());
  EXPECT_EQ(web.spec().metrics(0).container_resource().container(), "application");
  EXPECT_EQ(web.spec().behavior().scale_down().policies(1).period_seconds(), 60);
  EXPECT_EQ(web.spec().behavior().scale_up().select_policy(), "Disabled");
  EXPECT_FALSE(web.spec().behavior().scale_up().has_stabilization_window_seconds());
}

TEST(CodecKinds, IngressesAndClasses) {
  auto objects = Load("ingress.yaml");
  ASSERT_EQ(objects.size(), 7u);
  const auto& minimal = As<Ingress>(objects[0]);
  EXPECT_EQ(minimal.spec().ingress_class_name(), "nginx-example");
  const HTTPIngressPath& path = minimal.spec().rules(0).http().paths(0);
  EXPECT_EQ(path.path_type(), "Prefix");
  EXPECT_EQ(path.backend().service().port().number(), 80);
  EXPECT_EQ(As<Ingress>(objects[1]).spec().default_backend().resource().kind(), "StorageBucket");
  EXPECT_EQ(As<Ingress>(objects[2]).spec().rules(1).host(), "*.foo.com");
  const auto& tls = As<Ingress>(objects[3]);
  EXPECT_EQ(tls.spec().tls(0).secret_name(), "testsecret-tls");
  EXPECT_EQ(tls.status().load_balancer().ingress(0).ports(0).port(), 443);
  const auto& scoped = As<IngressClass>(objects[5]);
  EXPECT_EQ(scoped.spec().parameters().scope(), "Namespace");
  EXPECT_EQ(scoped.spec().parameters().namespace_(), "external-configuration");
  EXPECT_FALSE(As<IngressClass>(objects[4]).spec().parameters().has_scope());
}

TEST(CodecKinds, NetworkPolicies) {
  auto objects = Load("networkpolicy.yaml");
  ASSERT_EQ(objects.size(), 3u);
  const auto& np = As<NetworkPolicy>(objects[0]);
  EXPECT_EQ(np.spec().ingress(0).from(0).ip_block().except(0), "172.17.1.0/24");
  EXPECT_EQ(np.spec().ingress(0).ports(0).port().int_val(), 6379);
  EXPECT_EQ(np.spec().egress(0).to(0).ip_block().cidr(), "10.0.0.0/24");
  EXPECT_TRUE(As<NetworkPolicy>(objects[1]).spec().has_pod_selector());  // `podSelector: {}` selects all
  EXPECT_EQ(As<NetworkPolicy>(objects[2]).spec().egress(0).ports(0).end_port(), 32768);
}

TEST(CodecKinds, PersistentVolumesAndStorageClasses) {
  auto objects = Load("storage.yaml");
  ASSERT_EQ(objects.size(), 7u);
  EXPECT_EQ(As<PersistentVolume>(objects[0]).spec().host_path().path(), "/mnt/data");
  const auto& nfs = As<PersistentVolume>(objects[1]);
  EXPECT_EQ(nfs.spec().nfs().server(), "172.17.0.2");
  EXPECT_EQ(nfs.spec().persistent_volume_reclaim_policy(), "Recycle");
  EXPECT_EQ(nfs.spec().mount_options(1), "nfsvers=4.1");
  const auto& local = As<PersistentVolume>(objects[2]);
  EXPECT_EQ(local.spec().local().path(), "/mnt/disks/ssd1");
  EXPECT_EQ(local.spec().node_affinity().required().node_selector_terms(0).match_expressions(0).values(0),
            "example-node");
  const auto& csi = As<PersistentVolume>(objects[3]);
  EXPECT_EQ(csi.spec().csi().node_stage_secret_ref().namespace_(), "kube-system");
  EXPECT_EQ(csi.spec().claim_ref().name(), "data-db-0");
  const auto& sc = As<StorageClass>(objects[4]);
  EXPECT_EQ(sc.reclaim_policy(), "Retain");
  EXPECT_TRUE(sc.allow_volume_expansion());
  EXPECT_EQ(sc.parameters().at("guaranteedReadWriteLatency"), "true");
  EXPECT_FALSE(As<StorageClass>(objects[5]).has_reclaim_policy());
  EXPECT_EQ(As<StorageClass>(objects[6]).allowed_topologies(0).match_label_expressions(0).values(1), "us-central-1b");
}

TEST(CodecKinds, ControllerRevisionKeepsFreeFormData) {
  auto objects = Load("controllerrevision.yaml");
  ASSERT_EQ(objects.size(), 1u);
  const auto& cr = As<ControllerRevision>(objects[0]);
  EXPECT_EQ(cr.revision(), 2);
  EXPECT_EQ(cr.data().fields().at("spec").struct_value().fields().at("template").struct_value().fields().at("$patch")
                .string_value(),
            "replace");
  EXPECT_NE(EncodeJson(cr).find(R"("containerPort":80,)"), std::string::npos) << EncodeJson(cr);
}

TEST(CodecKinds, PodBetaFields) {
  auto objects = Load("pod-beta-fields.yaml");
  ASSERT_EQ(objects.size(), 10u);
  const auto& image = As<Pod>(objects[0]);
  EXPECT_EQ(image.spec().volumes(0).image().reference(), "quay.io/crio/artifact:v2");
  EXPECT_EQ(image.spec().volumes(0).image().pull_policy(), "IfNotPresent");
  EXPECT_EQ(As<Pod>(objects[1]).spec().resources().limits().at("memory"), "200Mi");
  EXPECT_EQ(As<Pod>(objects[2]).spec().containers(0).resize_policy(1).restart_policy(), "RestartContainer");
  EXPECT_EQ(As<Deployment>(objects[3]).spec().template_().spec().init_containers(0).restart_policy(), "Always");
  EXPECT_TRUE(As<Pod>(objects[4]).spec().has_host_users());
  EXPECT_EQ(As<Pod>(objects[5]).spec().scheduling_gates(1).name(), "example.com/bar");
  const auto& cats = As<Pod>(objects[6]);
  EXPECT_EQ(cats.spec().resource_claims(1).resource_claim_template_name(), "large-black-cat-claim-template");
  EXPECT_EQ(cats.spec().containers(1).resources().claims(0).name(), "cat-1");
  EXPECT_EQ(As<Pod>(objects[7]).spec().security_context().app_armor_profile().type(), "Localhost");
  const auto& lifecycle = As<Pod>(objects[8]).spec().containers(0).lifecycle();
  EXPECT_EQ(lifecycle.pre_stop().sleep().seconds(), 5);
  EXPECT_EQ(lifecycle.stop_signal(), "SIGUSR1");
  const auto& debugged = As<Pod>(objects[9]);
  EXPECT_EQ(debugged.spec().ephemeral_containers(0).target_container_name(), "app");
  EXPECT_TRUE(debugged.spec().ephemeral_containers(0).tty());
  const ContainerStatus& cs = debugged.status().container_statuses(0);
  EXPECT_EQ(cs.user().linux().supplemental_groups(1), 10);
  EXPECT_EQ(cs.volume_mounts(0).recursive_read_only(), "Disabled");
  EXPECT_EQ(cs.allocated_resources_status(0).resources(0).resource_id(), "gpu-0");
  EXPECT_EQ(cs.stop_signal(), "SIGTERM");
  EXPECT_EQ(debugged.status().resource_claim_statuses(0).resource_claim_name(), "pod-with-cats-cat-0-abcde");
}

}  // namespace
}  // namespace ksim::api
