// The ServiceAccount admission plugin through two apiservers: the default account, the
// refusal while an account is missing (a just-created one is found through the store),
// the kube-api-access volume and its mounts, automountServiceAccountToken on the pod and
// the account, imagePullSecrets, mirror pods, the immutable account on update, and the
// volume name replaying by seed.
#include <gtest/gtest.h>

#include <string_view>

#include "cluster/apiserver/admission_service_account.h"
#include "tests/cluster/apiserver/api_cluster.h"

namespace ksim::apiserver::testing {
namespace {

using client::ApiClient;
using client::ApiResult;

constexpr char kTokenPath[] = "/var/run/secrets/kubernetes.io/serviceaccount";
const api::KindInfo& Pods() { return Kind("", "pods"); }
const api::KindInfo& Accounts() { return Kind("", "serviceaccounts"); }

api::ServiceAccount MakeAccount(const std::string& name) {
  api::ServiceAccount sa;
  sa.mutable_metadata()->set_namespace_("default");
  sa.mutable_metadata()->set_name(name);
  return sa;
}

class ServiceAccountAdmissionTest : public ::testing::Test {
 protected:
  explicit ServiceAccountAdmissionTest(uint64_t seed = 1)
      : cluster(2, seed, [](ApiServerOptions& o) { o.service_account_admission = true; }) {
    api1 = cluster.AddClient("client1", 1);
    api2 = cluster.AddClient("client2", 2);
    EXPECT_EQ(Create(api1, Kind("", "namespaces"), MakeNamespace("default")).code, 201);
  }
  ApiResult Create(ApiClient* via, const api::KindInfo& info, const google::protobuf::Message& m) {
    return cluster.Await([&](ApiClient::Done d) { via->Create(info, m, d); });
  }
  // Creates `pod` through api1 and returns what was stored (fails the test if refused).
  api::Pod Admitted(const api::Pod& pod) {
    const ApiResult r = Create(api1, Pods(), pod);
    EXPECT_EQ(r.code, 201) << r.Describe();
    api::Pod out;
    out.ParseFromString(r.body);
    return out;
  }
  ApiCluster cluster;
  ApiClient* api1 = nullptr;
  ApiClient* api2 = nullptr;
};

const api::Volume* TokenVolume(const api::Pod& pod) {
  for (const api::Volume& v : pod.spec().volumes()) {
    if (std::string_view(v.name()).starts_with("kube-api-access-")) return &v;
  }
  return nullptr;
}

int TokenMounts(const api::Container& c, const std::string& volume) {
  int n = 0;
  for (const api::VolumeMount& m : c.volume_mounts()) n += m.mount_path() == kTokenPath && m.name() == volume;
  return n;
}

TEST_F(ServiceAccountAdmissionTest, APodRunsAsDefaultAndEveryContainerMountsTheKubeApiAccessVolume) {
  ASSERT_EQ(Create(api1, Accounts(), MakeAccount("default")).code, 201);
  api::Pod pod = MakePod("default", "web");
  pod.mutable_spec()->add_init_containers()->set_name("init");
  pod.mutable_spec()->mutable_init_containers(0)->set_image("busybox");
  api::Container* own = pod.mutable_spec()->add_containers();  // mounts something of its own there
  own->set_name("own");
  own->set_image("busybox");
  api::VolumeMount* m = own->add_volume_mounts();
  m->set_name("mine");
  m->set_mount_path(kTokenPath);
  pod.mutable_spec()->add_volumes()->set_name("mine");
  pod.mutable_spec()->mutable_volumes(0)->mutable_empty_dir();

  const api::Pod got = Admitted(pod);
  EXPECT_EQ(got.spec().service_account_name(), "default");
  EXPECT_EQ(got.spec().service_account(), "default") << "the deprecated field follows";
  const api::Volume* v = TokenVolume(got);
  ASSERT_NE(v, nullptr);
  ASSERT_EQ(v->name().size(), std::string("kube-api-access-").size() + 5);
  for (char ch : v->name().substr(16)) {
    EXPECT_NE(std::string_view("bcdfghjklmnpqrstvwxz2456789").find(ch), std::string_view::npos) << v->name();
  }
  ASSERT_TRUE(v->has_projected());
  const api::ProjectedVolumeSource& p = v->projected();
  EXPECT_EQ(p.default_mode(), 420);
  ASSERT_EQ(p.sources_size(), 3);
  EXPECT_EQ(p.sources(0).service_account_token().path(), "token");
  EXPECT_EQ(p.sources(0).service_account_token().expiration_seconds(), 3607);
  EXPECT_EQ(p.sources(0).service_account_token().audience(), "");
  EXPECT_EQ(p.sources(1).config_map().name(), "kube-root-ca.crt");
  ASSERT_EQ(p.sources(1).config_map().items_size(), 1);
  EXPECT_EQ(p.sources(1).config_map().items(0).key(), "ca.crt");
  EXPECT_EQ(p.sources(1).config_map().items(0).path(), "ca.crt");
  ASSERT_EQ(p.sources(2).downward_api().items_size(), 1);
  EXPECT_EQ(p.sources(2).downward_api().items(0).path(), "namespace");
  EXPECT_EQ(p.sources(2).downward_api().items(0).field_ref().field_path(), "metadata.namespace");
  EXPECT_EQ(p.sources(2).downward_api().items(0).field_ref().api_version(), "v1");

  EXPECT_EQ(TokenMounts(got.spec().init_containers(0), v->name()), 1);
  EXPECT_EQ(TokenMounts(got.spec().containers(0), v->name()), 1);
  EXPECT_EQ(got.spec().containers(1).volume_mounts_size(), 1) << "its own mount at the path wins";
  EXPECT_EQ(got.spec().containers(1).volume_mounts(0).name(), "mine");
  for (const api::VolumeMount& mount : got.spec().containers(0).volume_mounts()) EXPECT_TRUE(mount.read_only());

  // A pod that brings a kube-api-access-* volume keeps it: no second one.
  api::Pod again = MakePod("default", "again");
  *again.mutable_spec()->add_volumes() = ServiceAccountTokenVolume("kube-api-access-abcde");
  const api::Pod got_again = Admitted(again);
  EXPECT_EQ(got_again.spec().volumes_size(), 1);
  EXPECT_EQ(TokenMounts(got_again.spec().containers(0), "kube-api-access-abcde"), 1);
}

TEST_F(ServiceAccountAdmissionTest, APodIsRefusedWhileItsAccountIsMissingAndAJustCreatedOneIsFound) {
  const ApiResult refused = Create(api2, Pods(), MakePod("default", "early"));
  EXPECT_EQ(refused.code, 403);
  EXPECT_EQ(refused.error.reason(), "Forbidden");
  EXPECT_EQ(refused.error.message(),
            "pods \"early\" is forbidden: error looking up service account default/default: serviceaccount "
            "\"default\" not found");
  EXPECT_EQ(cluster.Await([&](ApiClient::Done d) { api1->Get(Pods(), "default", "early", d); }).code, 404)
      << "nothing stored";
  api::Pod named = MakePod("default", "named");
  named.mutable_spec()->set_service_account_name("builder");
  EXPECT_NE(Create(api2, Pods(), named).error.message().find("serviceaccount \"builder\" not found"), std::string::npos);

  // api2's account cache is warm (it refused above); an account created through api1 is
  // found by api2 at once, before its watch shows it.
  ASSERT_EQ(Create(api1, Accounts(), MakeAccount("builder")).code, 201);
  const ApiResult r = Create(api2, Pods(), named);
  EXPECT_EQ(r.code, 201) << r.Describe();
}

TEST_F(ServiceAccountAdmissionTest, AutomountFalseOnThePodOrTheAccountWithThePodsSettingWinning) {
  ASSERT_EQ(Create(api1, Accounts(), MakeAccount("default")).code, 201);
  api::ServiceAccount quiet = MakeAccount("quiet");
  quiet.set_automount_service_account_token(false);
  quiet.add_image_pull_secrets()->set_name("registry");
  ASSERT_EQ(Create(api1, Accounts(), quiet).code, 201);

  api::Pod off = MakePod("default", "off");
  off.mutable_spec()->set_automount_service_account_token(false);
  EXPECT_EQ(Admitted(off).spec().volumes_size(), 0);

  api::Pod by_account = MakePod("default", "by-account");
  by_account.mutable_spec()->set_service_account_name("quiet");
  const api::Pod got = Admitted(by_account);
  EXPECT_EQ(got.spec().volumes_size(), 0);
  ASSERT_EQ(got.spec().image_pull_secrets_size(), 1) << "the account's pull secrets";
  EXPECT_EQ(got.spec().image_pull_secrets(0).name(), "registry");

  api::Pod pod_wins = by_account;
  pod_wins.mutable_metadata()->set_name("pod-wins");
  pod_wins.mutable_spec()->set_automount_service_account_token(true);
  pod_wins.mutable_spec()->add_image_pull_secrets()->set_name("mine");
  const api::Pod won = Admitted(pod_wins);
  EXPECT_NE(TokenVolume(won), nullptr);
  ASSERT_EQ(won.spec().image_pull_secrets_size(), 1) << "the pod's own are kept";
  EXPECT_EQ(won.spec().image_pull_secrets(0).name(), "mine");
}

TEST_F(ServiceAccountAdmissionTest, MirrorPodsAreLeftAloneButMayNotReferenceAccountsOrSecrets) {
  // No account exists: a mirror pod does not need one and is not changed.
  api::Pod mirror = MakePod("default", "static-web-node-1");
  (*mirror.mutable_metadata()->mutable_annotations())["kubernetes.io/config.mirror"] = "hash";
  const api::Pod got = Admitted(mirror);
  EXPECT_EQ(got.spec().service_account_name(), "");
  EXPECT_EQ(got.spec().volumes_size(), 0);
  EXPECT_EQ(got.spec().containers(0).volume_mounts_size(), 0);

  auto refused = [&](api::Pod p, const std::string& name) {
    p.mutable_metadata()->set_name(name);
    const ApiResult r = Create(api1, Pods(), p);
    EXPECT_EQ(r.code, 403) << name;
    return r.error.message();
  };
  api::Pod with_account = mirror;
  with_account.mutable_spec()->set_service_account_name("default");
  EXPECT_EQ(refused(with_account, "a"), "pods \"a\" is forbidden: a mirror pod may not reference service accounts");
  api::Pod with_secret = mirror;
  api::Volume* s = with_secret.mutable_spec()->add_volumes();
  s->set_name("creds");
  s->mutable_secret()->set_secret_name("creds");
  EXPECT_EQ(refused(with_secret, "b"), "pods \"b\" is forbidden: a mirror pod may not reference secrets");
  api::Pod with_env = mirror;
  api::EnvVar* e = with_env.mutable_spec()->mutable_containers(0)->add_env();
  e->set_name("PASSWORD");
  e->mutable_value_from()->mutable_secret_key_ref()->set_name("creds");
  e->mutable_value_from()->mutable_secret_key_ref()->set_key("password");
  EXPECT_EQ(refused(with_env, "c"), "pods \"c\" is forbidden: a mirror pod may not reference secrets");
  api::Pod with_token = mirror;
  *with_token.mutable_spec()->add_volumes() = ServiceAccountTokenVolume("token");
  EXPECT_EQ(refused(with_token, "d"),
            "pods \"d\" is forbidden: a mirror pod may not use ServiceAccountToken volume projections");
}

TEST_F(ServiceAccountAdmissionTest, APodsAccountCannotChange) {
  ASSERT_EQ(Create(api1, Accounts(), MakeAccount("default")).code, 201);
  ASSERT_EQ(Create(api1, Accounts(), MakeAccount("other")).code, 201);
  api::Pod pod = Admitted(MakePod("default", "web"));
  pod.mutable_spec()->set_service_account_name("other");
  const ApiResult r = cluster.Await([&](ApiClient::Done d) { api1->Update(Pods(), pod, d); });
  EXPECT_EQ(r.code, 422);
  EXPECT_NE(r.error.message().find("pod updates may not change fields"), std::string::npos) << r.Describe();
  // An update that leaves it alone is fine (the deprecated field is derived, not compared).
  api::Pod same = Admitted(MakePod("default", "same"));
  same.mutable_spec()->clear_service_account();
  (*same.mutable_metadata()->mutable_labels())["touched"] = "yes";
  const ApiResult ok = cluster.Await([&](ApiClient::Done d) { api1->Update(Pods(), same, d); });
  EXPECT_EQ(ok.code, 200) << ok.Describe();
}

// Without the plugin (the narrow fixtures): nothing is defaulted, mounted or refused.
TEST(ServiceAccountAdmissionOff, PodsAreNeitherRefusedNorChanged) {
  ApiCluster cluster(1, 1);
  ApiClient* c = cluster.AddClient("client");
  ASSERT_EQ(cluster.Await([&](ApiClient::Done d) { c->Create(Kind("", "namespaces"), MakeNamespace("default"), d); }).code,
            201);
  const ApiResult r = cluster.Await([&](ApiClient::Done d) { c->Create(Pods(), MakePod("default", "web"), d); });
  ASSERT_EQ(r.code, 201) << r.Describe();
  api::Pod p;
  p.ParseFromString(r.body);
  EXPECT_EQ(p.spec().service_account_name(), "");
  EXPECT_EQ(p.spec().volumes_size(), 0);
}

// The volume's suffix comes from the apiserver's entropy: the same seed, the same name.
std::string VolumeNameWithSeed(uint64_t seed) {
  ApiCluster cluster(1, seed, [](ApiServerOptions& o) { o.service_account_admission = true; });
  ApiClient* c = cluster.AddClient("client");
  auto create = [&](const api::KindInfo& info, const google::protobuf::Message& m) {
    return cluster.Await([&](ApiClient::Done d) { c->Create(info, m, d); });
  };
  EXPECT_EQ(create(Kind("", "namespaces"), MakeNamespace("default")).code, 201);
  EXPECT_EQ(create(Accounts(), MakeAccount("default")).code, 201);
  const ApiResult r = create(Pods(), MakePod("default", "web"));
  api::Pod p;
  p.ParseFromString(r.body);
  const api::Volume* v = TokenVolume(p);
  return v == nullptr ? "" : v->name();
}

TEST(ServiceAccountAdmissionReplay, TheVolumeNameReplaysBySeed) {
  const std::string a = VolumeNameWithSeed(7);
  ASSERT_FALSE(a.empty());
  EXPECT_EQ(VolumeNameWithSeed(7), a);
  std::set<std::string> names;
  for (uint64_t seed = 1; seed <= 4; ++seed) names.insert(VolumeNameWithSeed(seed));
  EXPECT_GT(names.size(), 1u) << "drawn, not fixed";
}

}  // namespace
}  // namespace ksim::apiserver::testing
