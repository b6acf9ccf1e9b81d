// Test fixture for the StatefulSet controller: a CmCluster, set builders, and helpers that
// read and change sets and pods through the API.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "cluster/api/apps.pb.h"
#include "cluster/controllers/replica_set.h"
#include "cluster/controllers/statefulset.h"
#include "tests/cluster/controllers/cm_cluster.h"

namespace ksim::controllers::testing {

inline const api::KindInfo& StsKind() { return Kind("apps", "statefulsets"); }

inline api::StatefulSet MakeSts(const std::string& name, int replicas, const std::string& image = "db:1") {
  api::StatefulSet s;
  s.mutable_metadata()->set_name(name);
  s.mutable_metadata()->set_namespace_("default");
  s.mutable_spec()->set_replicas(replicas);
  s.mutable_spec()->set_service_name(name + "-svc");
  (*s.mutable_spec()->mutable_selector()->mutable_match_labels())["app"] = name;
  auto& t = *s.mutable_spec()->mutable_template_();
  (*t.mutable_metadata()->mutable_labels())["app"] = name;
  auto* c = t.mutable_spec()->add_containers();
  c->set_name("c");
  c->set_image(image);
  return s;
}

inline void AddClaimTemplate(api::StatefulSet* s, const std::string& claim) {
  auto* t = s->mutable_spec()->add_volume_claim_templates();
  t->mutable_metadata()->set_name(claim);
  t->mutable_spec()->add_access_modes("ReadWriteOnce");
  (*t->mutable_spec()->mutable_resources()->mutable_requests())["storage"] = "1Gi";
}

class StsFixture {
 public:
  explicit StsFixture(uint64_t seed = 1, int apiservers = 1) : c(seed, apiservers) {}

  void StartManagers(int n, std::function<void(ControllerManagerOptions&)> tweak = nullptr) {
    for (int i = 1; i <= n; ++i) {
      c.AddManager(i, [tweak](ControllerManagerOptions& o) {
        o.controllers = {kStatefulSetControllerName};
        if (tweak) tweak(o);
      });
    }
    c.Run(Seconds(20));  // lease acquired, informers synced
  }
  std::map<std::string, api::Pod> Pods() { return c.List<api::Pod>("pods", "default"); }
  std::map<std::string, api::PersistentVolumeClaim> Claims() {
    return c.List<api::PersistentVolumeClaim>("persistentvolumeclaims", "default");
  }
  std::map<std::string, api::ControllerRevision> Revisions() {
    std::map<std::string, api::ControllerRevision> out;
    auto r = c.api.Await([&](client::ApiClient::Done d) {
      c.kubectl->List(Kind("apps", "controllerrevisions"), "default", {}, std::move(d));
    });
    apiserver::ObjectList l;
    if (!r.ok() || !l.ParseFromString(r.body)) return out;
    for (const auto& item : l.items()) {
      api::ControllerRevision cr;
      if (cr.ParseFromString(item)) out[cr.metadata().name()] = cr;
    }
    return out;
  }
  bool GetSts(const std::string& name, api::StatefulSet* out) {
    auto r = c.api.Await([&](client::ApiClient::Done d) { c.kubectl->Get(StsKind(), "default", name, std::move(d)); });
    return r.ok() && out->ParseFromString(r.body);
  }
  api::StatefulSet GetSts(const std::string& name) {
    api::StatefulSet s;
    EXPECT_TRUE(GetSts(name, &s));
    return s;
  }
  // Applies `change` to the set and writes it (retried on conflict).
  bool UpdateSts(const std::string& name, const std::function<void(api::StatefulSet&)>& change) {
    for (int attempt = 0; attempt < 10; ++attempt) {
      api::StatefulSet s;
      if (!GetSts(name, &s)) {
        c.Run(Milliseconds(500));
        continue;
      }
      change(s);
      auto r = c.api.Await([&](client::ApiClient::Done d) { c.kubectl->Update(StsKind(), s, std::move(d)); });
      if (r.ok()) return true;
      c.Run(Milliseconds(500));
    }
    return false;
  }
  client::ApiResult DeletePod(const std::string& name, std::optional<int64_t> grace = std::nullopt) {
    api::DeleteOptions o;
    if (grace) o.set_grace_period_seconds(*grace);
    return c.api.Await([&](client::ApiClient::Done d) {
      c.kubectl->Delete(Kind("", "pods"), "default", name, o, std::move(d));
    });
  }
  int CountEvents(const std::string& reason, const std::string& prefix) {
    int n = 0;
    for (const auto& e : c.Events()) {
      if (e.reason() == reason && e.message().rfind(prefix, 0) == 0) n += std::max(1, e.count());
    }
    return n;
  }

  CmCluster c;
};

inline bool ReadyPod(const api::Pod& p) { return sts::Healthy(p); }

}  // namespace ksim::controllers::testing
