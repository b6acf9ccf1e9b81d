// ProjectPod must agree with the full path (decode the Pod, SelectableFields, SetFields):
// the watch cache uses it for pods only because it is cheaper, never different.
#include "cluster/apiserver/pod_projection.h"

#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include "cluster/api/core.pb.h"
#include "cluster/apiserver/strategy/strategy.h"
#include "cluster/env/wire.h"

namespace ksim::apiserver {
namespace {

// What the watch cache held for a pod before the projection: a full decode.
CachedObject FullDecode(const std::string& bytes) {
  api::Pod pod;
  EXPECT_TRUE(pod.ParseFromString(bytes));
  CachedObject o;
  o.namespace_ = pod.metadata().namespace_();
  o.name = pod.metadata().name();
  o.labels.insert(pod.metadata().labels().begin(), pod.metadata().labels().end());
  o.SetFields(SelectableFields(pod));
  return o;
}

CachedObject Projected(const std::string& bytes) {
  CachedObject o;
  EXPECT_TRUE(ProjectPod(bytes, &o));
  return o;
}

void ExpectSame(const CachedObject& want, const CachedObject& got) {
  EXPECT_EQ(want.namespace_, got.namespace_);
  EXPECT_EQ(want.name, got.name);
  EXPECT_EQ(want.labels, got.labels);
  EXPECT_EQ(want.fields, got.fields);
}

// Every field the projection reads set to a distinct value, beside fields it skips: a
// field number that does not match core.proto would read the wrong value or none.
api::Pod FullPod() {
  api::Pod p;
  p.set_api_version("v1");
  p.set_kind("Pod");
  auto* m = p.mutable_metadata();
  m->set_name("web-0");
  m->set_namespace_("shop");
  m->set_uid("uid-1");
  m->set_generate_name("web-");
  (*m->mutable_labels())["app"] = "web";
  (*m->mutable_labels())["tier"] = "front";
  (*m->mutable_annotations())["note"] = "skipped";
  auto* s = p.mutable_spec();
  s->set_restart_policy("OnFailure");
  s->set_service_account_name("builder");
  s->set_node_name("node-7");
  s->set_host_network(true);
  s->set_scheduler_name("custom-scheduler");
  s->set_dns_policy("ClusterFirst");
  auto* c = s->add_containers();
  c->set_name("app");
  c->set_image("nginx:1.25");
  auto* st = p.mutable_status();
  st->set_phase("Running");
  st->set_pod_ip("10.0.0.9");
  st->add_pod_ips()->set_ip("10.0.0.7");
  st->add_pod_ips()->set_ip("fd00::7");
  st->set_nominated_node_name("node-3");
  st->set_host_ip("192.168.0.2");
  return p;
}

TEST(PodProjectionTest, ReadsEveryFieldAsTheFullDecodeDoes) {
  const std::string bytes = SerializeDeterministic(FullPod());
  const CachedObject got = Projected(bytes);
  ExpectSame(FullDecode(bytes), got);
  // Spelled out, so that a field both paths miss would still fail.
  EXPECT_EQ(got.name, "web-0");
  EXPECT_EQ(got.namespace_, "shop");
  EXPECT_EQ(got.labels.at("tier"), "front");
  EXPECT_EQ(got.Field("spec.nodeName"), "node-7");
  EXPECT_EQ(got.Field("spec.restartPolicy"), "OnFailure");
  EXPECT_EQ(got.Field("spec.schedulerName"), "custom-scheduler");
  EXPECT_EQ(got.Field("spec.serviceAccountName"), "builder");
  EXPECT_EQ(got.Field("spec.hostNetwork"), "true");
  EXPECT_EQ(got.Field("status.phase"), "Running");
  EXPECT_EQ(got.Field("status.podIP"), "10.0.0.7");  // the first of podIPs wins over podIP
  EXPECT_EQ(got.Field("status.nominatedNodeName"), "node-3");
  EXPECT_EQ(got.Field("metadata.namespace"), "shop");
}

TEST(PodProjectionTest, EmptyPodHasOnlyNameAndHostNetwork) {
  api::Pod p;
  p.mutable_metadata()->set_name("bare");
  const std::string bytes = SerializeDeterministic(p);
  const CachedObject got = Projected(bytes);
  ExpectSame(FullDecode(bytes), got);
  EXPECT_EQ(got.Field("spec.hostNetwork"), "false");
  EXPECT_EQ(got.Field("spec.nodeName"), "");
}

TEST(PodProjectionTest, PodIPWithoutPodIPsIsUsed) {
  api::Pod p = FullPod();
  p.mutable_status()->clear_pod_ips();
  const std::string bytes = SerializeDeterministic(p);
  ExpectSame(FullDecode(bytes), Projected(bytes));
  EXPECT_EQ(Projected(bytes).Field("status.podIP"), "10.0.0.9");
}

TEST(PodProjectionTest, GarbageIsRefused) {
  CachedObject o;
  EXPECT_FALSE(ProjectPod(std::string("\x1a\x7f", 2), &o));  // metadata longer than the bytes
  EXPECT_TRUE(o.fields.empty());
}

// Protobuf's rules for bytes no single Serialize writes, which the projection's reader must
// follow as the generated parser does (encoding spec, "Last One Wins" and merging).
TEST(PodProjectionTest, ConcatenatedPodsMergeAsTheFullDecodeDoes) {
  api::Pod later;
  later.mutable_metadata()->set_name("web-1");
  (*later.mutable_metadata()->mutable_labels())["tier"] = "back";  // the later entry wins
  (*later.mutable_metadata()->mutable_labels())["zone"] = "b";
  later.mutable_spec()->set_node_name("node-8");
  later.mutable_status()->add_pod_ips()->set_ip("10.0.0.8");  // appended: the first stays first
  const std::string bytes = SerializeDeterministic(FullPod()) + SerializeDeterministic(later);
  const CachedObject got = Projected(bytes);
  ExpectSame(FullDecode(bytes), got);
  EXPECT_EQ(got.name, "web-1");
  EXPECT_EQ(got.namespace_, "shop");  // merged, not replaced
  EXPECT_EQ(got.labels.at("tier"), "back");
  EXPECT_EQ(got.labels.at("app"), "web");
  EXPECT_EQ(got.Field("spec.nodeName"), "node-8");
  EXPECT_EQ(got.Field("spec.restartPolicy"), "OnFailure");
  EXPECT_EQ(got.Field("status.podIP"), "10.0.0.7");
}

TEST(PodProjectionTest, AKnownFieldNumberWithAnotherWireTypeIsSkippedAsUnknown) {
  // metadata (3) and spec.nodeName (4.10) as varints: the full decode keeps them as
  // unknown fields and reads everything else.
  const std::string bytes = SerializeDeterministic(FullPod()) + std::string("\x18\x05", 2) +
                            std::string("\x22\x02\x50\x01", 4);
  ExpectSame(FullDecode(bytes), Projected(bytes));
  EXPECT_EQ(Projected(bytes).Field("spec.nodeName"), "node-7");
}

TEST(PodProjectionTest, EveryPrefixParsesExactlyWhenTheFullDecodeDoes) {
  const std::string bytes = SerializeDeterministic(FullPod());
  for (size_t cut = 0; cut <= bytes.size(); ++cut) {
    const std::string prefix = bytes.substr(0, cut);
    api::Pod full;
    const bool full_ok = full.ParseFromString(prefix);
    CachedObject got;
    ASSERT_EQ(ProjectPod(prefix, &got), full_ok) << "cut at " << cut;
    if (full_ok) ExpectSame(FullDecode(prefix), got);
  }
}

TEST(PodProjectionTest, AStringThatIsNotUtf8IsRefusedAsByTheFullDecode) {
  api::Pod p = FullPod();
  (*p.mutable_metadata()->mutable_labels())["app"] = "\xff";
  std::string bytes;
  ASSERT_TRUE(p.SerializePartialToString(&bytes));
  api::Pod full;
  EXPECT_FALSE(full.ParseFromString(bytes));
  CachedObject got;
  EXPECT_FALSE(ProjectPod(bytes, &got));
}

// Random pods: any mix of set and empty fields reads the same both ways.
RC_GTEST_PROP(PodProjectionProperty, AgreesWithTheFullDecode, ()) {
  const auto word =
      rc::gen::oneOf(rc::gen::just(std::string()), rc::gen::element<std::string>("a", "node-1", "Running", "x y"));
  api::Pod p;
  p.mutable_metadata()->set_name(*word);
  p.mutable_metadata()->set_namespace_(*word);
  for (const char* key : {"app", "tier", "zone"}) {
    if (*rc::gen::arbitrary<bool>()) (*p.mutable_metadata()->mutable_labels())[key] = *word;
  }
  p.mutable_spec()->set_node_name(*word);
  p.mutable_spec()->set_restart_policy(*word);
  p.mutable_spec()->set_scheduler_name(*word);
  p.mutable_spec()->set_service_account_name(*word);
  p.mutable_spec()->set_host_network(*rc::gen::arbitrary<bool>());
  if (*rc::gen::arbitrary<bool>()) p.mutable_spec()->add_containers()->set_name(*word);
  p.mutable_status()->set_phase(*word);
  p.mutable_status()->set_pod_ip(*word);
  const int ips = *rc::gen::inRange(0, 3);
  for (int i = 0; i < ips; ++i) p.mutable_status()->add_pod_ips()->set_ip(*word);
  p.mutable_status()->set_nominated_node_name(*word);
  const std::string bytes = SerializeDeterministic(p);
  const CachedObject want = FullDecode(bytes);
  CachedObject got;
  RC_ASSERT(ProjectPod(bytes, &got));
  RC_ASSERT(want.namespace_ == got.namespace_);
  RC_ASSERT(want.name == got.name);
  RC_ASSERT(want.labels == got.labels);
  RC_ASSERT(want.fields == got.fields);
}

}  // namespace
}  // namespace ksim::apiserver
