// Property: random forests of owners and dependents (ConfigMaps, Secrets, unbound Pods,
// references made by the test, blockOwnerDeletion at random), random deletes with random
// propagation, controller-manager crashes, restarts and failovers, apiserver restarts.
// Once things settle:
//   - every object the test deleted is gone;
//   - an object not deleted by the test survives if it never had owners, or if one of its
//     owners survives (never delete an object with a live owner);
//   - an object all of whose owners are gone, none of them deleted by the test with
//     Orphan, is gone (background and foreground both collect);
//   - an object whose owners are all roots deleted with Orphan survives;
//   - a surviving object's references all name surviving owners (orphaned or dangling
//     references are taken off);
//   - no controller-manager writes while another acts or while not acting itself.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <ostream>

#include "cluster/controllers/garbage_collector.h"
#include "cluster/controllers/gc_rules.h"
#include "tests/cluster/controllers/gc_fixture.h"
#include "tests/property_cases.h"

namespace ksim::controllers::testing {
namespace {

constexpr int kManagers = 2;
constexpr int kScheduleMs = 60000;
const char* const kPolicies[] = {"Background", "Foreground", "Orphan"};

struct Obj {
  int kind = 0;               // 0 ConfigMap, 1 Secret, 2 Pod
  std::vector<int> owners;    // indexes of earlier objects
  std::vector<bool> block;    // blockOwnerDeletion per owner
};

enum ActionKind { kDelete, kCrash, kRestart, kFailover, kApiRestart, kActionKinds };

struct Action {
  int at_ms = 0;
  int kind = 0;
  int target = 0;
  int policy = 0;
};

std::ostream& operator<<(std::ostream& os, const Action& a) {
  static const char* names[] = {"delete", "crash cm", "restart cm", "failover", "restart apiserver"};
  os << "t=" << a.at_ms << "ms " << names[a.kind] << " " << a.target;
  if (a.kind == kDelete) os << " " << kPolicies[a.policy];
  return os;
}
std::ostream& operator<<(std::ostream& os, const Obj& o) {
  os << "kind " << o.kind << " owners";
  for (size_t i = 0; i < o.owners.size(); ++i) os << " " << o.owners[i] << (o.block[i] ? "b" : "");
  return os;
}

const api::KindInfo& KindOfIndex(int k) {
  return k == 0 ? Kind("", "configmaps") : k == 1 ? Kind("", "secrets") : Kind("", "pods");
}

std::string RunCase(const std::vector<Obj>& objs, std::vector<Action> schedule, uint64_t seed) {
  std::sort(schedule.begin(), schedule.end(), [](const Action& a, const Action& b) { return a.at_ms < b.at_ms; });
  CmCluster c(seed, /*apiservers=*/2);
  for (int i = 1; i <= kManagers; ++i) {
    c.AddManager(i, [](ControllerManagerOptions& o) { o.controllers = {kGarbageCollectorName}; });
  }
  c.Run(Seconds(20));
  // Create the forest in order, references from the stored owners' uids.
  std::vector<std::string> uid(objs.size());
  std::vector<std::unique_ptr<google::protobuf::Message>> stored;
  for (size_t i = 0; i < objs.size(); ++i) {
    const std::string name = "o" + std::to_string(i);
    std::unique_ptr<google::protobuf::Message> m;
    if (objs[i].kind == 0) {
      m = std::make_unique<api::ConfigMap>(MakeCm(name));
    } else if (objs[i].kind == 1) {
      auto s = std::make_unique<api::Secret>();
      s->mutable_metadata()->set_name(name);
      s->mutable_metadata()->set_namespace_("default");
      m = std::move(s);
    } else {
      auto p = std::make_unique<api::Pod>();
      p->mutable_metadata()->set_name(name);
      p->mutable_metadata()->set_namespace_("default");
      *p->mutable_spec() = GcTemplate(name).spec();
      m = std::move(p);
    }
    for (size_t k = 0; k < objs[i].owners.size(); ++k) {
      *api::MutableMeta(*m)->add_owner_references() = RefTo(*stored[static_cast<size_t>(objs[i].owners[k])], objs[i].block[k]);
    }
    auto r = c.Create(*m);
    if (!r.ok()) return "create " + name + ": " + r.Describe();
    m->ParseFromString(r.body);
    uid[i] = api::GetMeta(*m)->uid();
    stored.push_back(std::move(m));
  }
  c.Run(Seconds(5));

  std::map<int, int> deleted;  // object -> policy, deleted by the test (once each)
  const Nanos start = c.Now();
  for (const Action& a : schedule) {
    if (c.Now() < start + Milliseconds(a.at_ms)) c.Run(start + Milliseconds(a.at_ms) - c.Now());
    switch (a.kind) {
      case kDelete: {
        const int t = a.target % static_cast<int>(objs.size());
        if (deleted.count(t) > 0) break;
        deleted[t] = a.policy;
        api::DeleteOptions o;
        o.set_propagation_policy(kPolicies[a.policy]);
        o.mutable_preconditions()->set_uid(uid[static_cast<size_t>(t)]);
        c.kubectl->Delete(KindOfIndex(objs[static_cast<size_t>(t)].kind), "default", "o" + std::to_string(t), o,
                          [](const client::ApiResult&) {});
        break;
      }
      case kCrash: c.ManagerHost(a.target % kManagers + 1).CrashProcess("controller-manager"); break;
      case kRestart: c.ManagerHost(a.target % kManagers + 1).RestartProcess("controller-manager"); break;
      case kFailover:
        if (int l = c.Leader(); l != 0) c.ManagerHost(l).CrashProcess("controller-manager");
        break;
      case kApiRestart:
        c.api.store.world.FindHost("api" + std::to_string(a.target % 2 + 1))->RestartProcess("apiserver");
        break;
      default: break;
    }
  }
  for (int i = 1; i <= kManagers; ++i) {
    if (c.Manager(i) == nullptr) c.ManagerHost(i).RestartProcess("controller-manager");
  }

  // The expected outcome (timing-independent parts only).
  std::vector<bool> must_go(objs.size(), false);
  for (const auto& [t, p] : deleted) must_go[static_cast<size_t>(t)] = true;
  for (size_t i = 0; i < objs.size(); ++i) {  // owners precede dependents
    if (objs[i].owners.empty()) continue;
    bool all_gone = true, orphaned = false;
    for (int o : objs[i].owners) {
      all_gone = all_gone && must_go[static_cast<size_t>(o)];
      auto d = deleted.find(o);
      orphaned = orphaned || (d != deleted.end() && d->second == 2);
    }
    if (all_gone && !orphaned) must_go[i] = true;
  }
  auto snapshot = [&] {
    std::map<std::string, api::ObjectMeta> out;  // uid -> meta
    for (const auto& [n, o] : c.List<api::ConfigMap>("configmaps", "default")) out[o.metadata().uid()] = o.metadata();
    for (const auto& [n, o] : c.List<api::Secret>("secrets", "default")) out[o.metadata().uid()] = o.metadata();
    for (const auto& [n, o] : c.List<api::Pod>("pods", "default")) out[o.metadata().uid()] = o.metadata();
    return out;
  };
  std::map<std::string, api::ObjectMeta> now;
  for (int step = 0; step < 40; ++step) {
    c.Run(Seconds(10));
    now = snapshot();
    bool settled = true;
    for (size_t i = 0; i < objs.size(); ++i) settled = settled && (!must_go[i] || now.count(uid[i]) == 0);
    if (settled) break;
  }
  c.Run(Seconds(30));
  now = snapshot();
  if (!c.violations.empty()) return c.violations.front();
  for (size_t i = 0; i < objs.size(); ++i) {
    const std::string name = "o" + std::to_string(i);
    const bool present = now.count(uid[i]) > 0;
    if (must_go[i] && present) return name + " should have been deleted or collected";
    if (deleted.count(static_cast<int>(i)) > 0) continue;
    if (objs[i].owners.empty() && !present) return name + " had no owners and was deleted";
    api::ObjectMeta named;  // the references as created (`now` lacks deleted objects)
    for (int o : objs[i].owners) named.add_owner_references()->set_uid(uid[static_cast<size_t>(o)]);
    const bool live_owner = !LiveOwnerOf(named, [&](const std::string& u) { return now.count(u) > 0; }).empty();
    bool all_orphan_roots = true;
    for (int o : objs[i].owners) {
      auto d = deleted.find(o);
      all_orphan_roots = all_orphan_roots && d != deleted.end() && d->second == 2 && objs[static_cast<size_t>(o)].owners.empty();
    }
    if (live_owner && !present) return name + " was deleted while an owner lives";
    if (!objs[i].owners.empty() && all_orphan_roots && !present) return name + " was orphaned but deleted";
    if (present) {
      for (const auto& ref : now.at(uid[i]).owner_references()) {
        if (now.count(ref.uid()) == 0) return name + " still names a gone owner " + ref.name();
      }
    }
  }
  RC_TAG(deleted.empty() ? "no deletes" : "deletes");
  return "";
}

void Property() {
  const int n = *rc::gen::inRange(2, 11);
  std::vector<Obj> objs;
  for (int i = 0; i < n; ++i) {
    Obj o;
    o.kind = *rc::gen::inRange(0, 3);
    const int owners = i == 0 ? 0 : *rc::gen::inRange(0, std::min(i, 2) + 1);
    for (int k = 0; k < owners; ++k) {
      const int owner = *rc::gen::inRange(0, i);
      if (std::find(o.owners.begin(), o.owners.end(), owner) != o.owners.end()) continue;
      o.owners.push_back(owner);
      o.block.push_back(*rc::gen::arbitrary<bool>());
    }
    objs.push_back(o);
  }
  RC_LOG() << "objects:";
  for (size_t i = 0; i < objs.size(); ++i) RC_LOG() << " o" << i << ": " << objs[i] << "\n";
  const auto schedule = *rc::gen::container<std::vector<Action>>(
      static_cast<size_t>(*rc::gen::inRange(1, 10)),
      rc::gen::build<Action>(rc::gen::set(&Action::at_ms, rc::gen::inRange(0, kScheduleMs)),
                             rc::gen::set(&Action::kind, rc::gen::weightedOneOf<int>({
                                                             {6, rc::gen::just(static_cast<int>(kDelete))},
                                                             {1, rc::gen::just(static_cast<int>(kCrash))},
                                                             {1, rc::gen::just(static_cast<int>(kRestart))},
                                                             {1, rc::gen::just(static_cast<int>(kFailover))},
                                                             {1, rc::gen::just(static_cast<int>(kApiRestart))},
                                                         })),
                             rc::gen::set(&Action::target, rc::gen::inRange(0, 12)),
                             rc::gen::set(&Action::policy, rc::gen::inRange(0, 3))));
  const std::string failure = RunCase(objs, schedule, *rc::gen::inRange<uint64_t>(1, 1000));
  if (!failure.empty()) RC_FAIL(failure);
}

TEST(GarbageCollectorProperty, OwnersTakeTheirDependentsAndNothingElse) {
  ::ksim::testing::CheckPropertyCases("OwnersTakeTheirDependentsAndNothingElse", 8, &Property);
}

// `ctest -L long` only (the CMakeLists labels it).
TEST(GarbageCollectorPropertyLong, OwnersTakeTheirDependentsAndNothingElse) {
  ::ksim::testing::CheckPropertyCases("OwnersTakeTheirDependentsAndNothingElse (long)", 200, &Property);
}

}  // namespace
}  // namespace ksim::controllers::testing
