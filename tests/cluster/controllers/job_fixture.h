// Test fixture for the Job controller tests: a CmCluster with one controller-manager
// replica running "job" and "ttl-after-finished", Jobs built like the Kubernetes docs'
// examples, and readers for their status.
#pragma once

#include <gtest/gtest.h>

#include <optional>

#include "cluster/api/batch.pb.h"
#include "cluster/controllers/job.h"
#include "cluster/controllers/replica_set.h"
#include "tests/cluster/controllers/cm_cluster.h"

namespace ksim::controllers::testing {

inline const api::KindInfo& JobKind() { return Kind("batch", "jobs"); }

// A pod plan: bound to n1, Running after 1 s, exiting with `code` `run` after (never if nullopt).
inline PodPlan Exits(std::optional<Nanos> run, int code = 0) {
  PodPlan p = PodPlan::On("n1");
  p.exit_after = run;
  p.exit_code = code;
  return p;
}

inline api::Job MakeJob(const std::string& name) {
  api::Job j;
  j.mutable_metadata()->set_name(name);
  j.mutable_metadata()->set_namespace_("default");
  auto* spec = j.mutable_spec()->mutable_template_()->mutable_spec();
  spec->set_restart_policy("Never");
  auto* c = spec->add_containers();
  c->set_name("pi");
  c->set_image("perl:5.34.0");
  c->add_command("perl");
  return j;
}

inline const api::JobCondition* FindCondition(const api::Job& job, const std::string& type) {
  for (const auto& c : job.status().conditions()) {
    if (c.type() == type) return &c;
  }
  return nullptr;
}
inline bool HasCondition(const api::Job& job, const std::string& type) {
  const auto* c = FindCondition(job, type);
  return c != nullptr && c->status() == "True";
}
inline std::string ConditionReason(const api::Job& job, const std::string& type) {
  const auto* c = FindCondition(job, type);
  return c == nullptr ? "" : c->reason();
}
inline std::string ConditionMessage(const api::Job& job, const std::string& type) {
  const auto* c = FindCondition(job, type);
  return c == nullptr ? "" : c->message();
}
inline std::string ConditionStatus(const api::Job& job, const std::string& type) {
  const auto* c = FindCondition(job, type);
  return c == nullptr ? "" : c->status();
}

class JobTest : public ::testing::Test {
 public:
  void Start(std::function<void(ControllerManagerOptions&)> tweak = nullptr) {
    c.AddManager(1, [tweak](ControllerManagerOptions& o) {
      o.controllers = {kJobControllerName, kTtlAfterFinishedControllerName};
      if (tweak) tweak(o);
    });
    c.Run(Seconds(20));  // lease acquired, informers synced
  }
  std::map<std::string, api::Pod> Pods() { return c.List<api::Pod>("pods", "default"); }
  int ActivePods() {
    int n = 0;
    for (const auto& [name, p] : Pods()) n += PodActive(p) ? 1 : 0;
    return n;
  }
  api::Job GetJob(const std::string& name) {
    auto r = c.api.Await([&](client::ApiClient::Done d) { c.kubectl->Get(JobKind(), "default", name, std::move(d)); });
    api::Job job;
    EXPECT_TRUE(r.ok() && job.ParseFromString(r.body)) << r.Describe();
    return job;
  }
  bool JobExists(const std::string& name) {
    auto r = c.api.Await([&](client::ApiClient::Done d) { c.kubectl->Get(JobKind(), "default", name, std::move(d)); });
    return r.ok();
  }
  void SetSuspend(const std::string& name, bool suspend) {
    api::Job job = GetJob(name);
    job.mutable_spec()->set_suspend(suspend);
    auto r = c.api.Await([&](client::ApiClient::Done d) { c.kubectl->Update(JobKind(), job, std::move(d)); });
    ASSERT_TRUE(r.ok()) << r.Describe();
  }
  int CountReason(const std::string& reason) {
    int n = 0;
    for (const auto& e : c.Events()) n += e.reason() == reason ? std::max(1, e.count()) : 0;
    return n;
  }
  CmCluster c;
};

}  // namespace ksim::controllers::testing
