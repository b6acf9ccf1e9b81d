// Properties of the apiserver under faults: clients increment counters (ConfigMaps) by
// read-modify-write through two apiservers while the nemesis isolates hosts and restarts
// apiservers. After healing:
//   - no lost update: each counter equals the increments acknowledged, plus at most the
//     increments whose outcome the client could not learn;
//   - resourceVersion only grows: every watcher sees each object's versions strictly
//     increasing (exactly once, in order), across re-watches from its last revision;
//   - watchers converge on the stored state;
//   - liveness floors: with no faults every increment is acknowledged (none unknown, none
//     given up); after faults heal, the cluster still acknowledges an increment.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include "tests/cluster/apiserver/api_cluster.h"

namespace ksim::apiserver::testing {
namespace {

using client::ApiClient;
using client::ApiResult;

const api::KindInfo& ConfigMaps() { return Kind("", "configmaps"); }

struct Action {
  int at_ms = 0;
  int kind = 0;    // 0 isolate a host, 1 restart an apiserver, 2 heal
  int target = 0;  // host index among store members and apiservers
};

std::ostream& operator<<(std::ostream& os, const Action& a) {
  static const char* kKinds[] = {"isolate", "restart", "heal"};
  return os << "t=" << a.at_ms << "ms " << kKinds[a.kind] << " #" << a.target;
}

// One client's closed loop of increments.
struct Incrementer {
  ApiClient* client = nullptr;
  int remaining = 0;
  int acked = 0;
  int unknown = 0;
  std::map<std::string, int>* acked_by_name = nullptr;
  std::map<std::string, int>* unknown_by_name = nullptr;
  int* gave_up = nullptr;  // increments abandoned (tries exhausted, or a 4xx other than 409)
  uint64_t turn = 0;
  std::vector<std::string> names;

  void Next() {
    if (remaining == 0) return;
    --remaining;
    const std::string name = names[turn++ % names.size()];
    Attempt(name, 0);
  }
  void Attempt(const std::string& name, int tries) {
    client->Get(ConfigMaps(), "default", name, [this, name, tries](const ApiResult& r) {
      api::ConfigMap cm;
      if (!r.ok() || !cm.ParseFromString(r.body)) {
        if (tries < 20) return Attempt(name, tries + 1);  // nothing was written: try again
        ++*gave_up;
        return Next();
      }
      const int n = std::stoi(cm.data().at("n"));
      (*cm.mutable_data())["n"] = std::to_string(n + 1);
      client->Update(ConfigMaps(), cm, [this, name, tries](const ApiResult& u) {
        if (u.ok()) {
          ++(*acked_by_name)[name];
        } else if (u.status.ok() && u.code == 409) {
          if (tries < 20) return Attempt(name, tries + 1);  // lost the race: not written
          ++*gave_up;
        } else if (!u.status.ok() || u.code >= 500) {
          ++(*unknown_by_name)[name];  // may or may not have been written
        } else {
          ++*gave_up;
        }
        Next();
      });
    });
  }
};

// A watcher that re-watches from its last revision and records each object's versions;
// on 410 Gone it re-lists, as a real client does (exactly-once then no longer applies).
struct Recorder {
  ApiClient* client = nullptr;
  int64_t last_rv = 0;
  std::map<std::string, std::vector<int64_t>> versions;
  std::map<std::string, int> last_n;
  bool relisted = false;

  void Watch() {
    Request r;
    r.set_version("v1");
    r.set_resource("configmaps");
    r.set_namespace_("default");
    (*r.mutable_query())["resourceVersion"] = std::to_string(last_rv);
    auto gone = std::make_shared<bool>(false);
    client->Watch(
        r,
        [this, gone](const WatchEvent& e) {
          if (e.type() == "ERROR") {
            *gone = true;
            return true;  // the stream ends after it
          }
          api::ConfigMap cm;
          cm.ParseFromString(e.object());
          const int64_t rv = static_cast<int64_t>(std::stoll(cm.metadata().resource_version()));
          versions[cm.metadata().name()].push_back(rv);
          if (e.type() != "DELETED") last_n[cm.metadata().name()] = std::stoi(cm.data().at("n"));
          last_rv = std::max(last_rv, rv);
          return true;
        },
        [this, gone](Status, const ApiResult&) {
          if (*gone) return Relist();
          Watch();
        });
  }

  void Relist() {
    relisted = true;
    client->List(ConfigMaps(), "default", {}, [this](const ApiResult& r) {
      ObjectList l;
      if (!r.ok() || !l.ParseFromString(r.body)) return Relist();
      for (const std::string& bytes : l.items()) {
        api::ConfigMap cm;
        cm.ParseFromString(bytes);
        last_n[cm.metadata().name()] = std::stoi(cm.data().at("n"));
      }
      last_rv = static_cast<int64_t>(std::stoll(l.metadata().resource_version()));
      Watch();
    });
  }
};

// What a run's clients learned, for the liveness floors.
struct RunCounts {
  int acked = 0;
  int unknown = 0;
  int gave_up = 0;
};

RunCounts RunSchedule(const std::vector<Action>& schedule, uint64_t seed) {
  RunCounts counts;
  ApiCluster cluster(2, seed);
  ApiClient* admin = cluster.AddClient("admin");
  RC_ASSERT(cluster.Await([&](ApiClient::Done d) { admin->Create(Kind("", "namespaces"), MakeNamespace("default"), d); }).code == 201);
  const std::vector<std::string> names = {"c0", "c1", "c2"};
  int64_t start_rv = 0;
  for (const std::string& n : names) {
    api::ConfigMap cm;
    cm.mutable_metadata()->set_namespace_("default");
    cm.mutable_metadata()->set_name(n);
    (*cm.mutable_data())["n"] = "0";
    const ApiResult r = cluster.Await([&](ApiClient::Done d) { admin->Create(ConfigMaps(), cm, d); });
    RC_ASSERT(r.code == 201);
    api::ConfigMap created;
    created.ParseFromString(r.body);
    start_rv = std::max<int64_t>(start_rv, std::stoll(created.metadata().resource_version()));
  }
  std::map<std::string, int> acked;
  std::map<std::string, int> unknown;
  std::vector<Incrementer> incs(3);
  for (size_t i = 0; i < incs.size(); ++i) {
    incs[i].client = cluster.AddClient("inc" + std::to_string(i));
    incs[i].remaining = 100;
    incs[i].acked_by_name = &acked;
    incs[i].unknown_by_name = &unknown;
    incs[i].gave_up = &counts.gave_up;
    incs[i].names = names;
    incs[i].turn = i;
  }
  Recorder rec;
  rec.client = cluster.AddClient("watcher");
  rec.last_rv = start_rv;
  rec.Watch();
  for (Incrementer& inc : incs) inc.Next();

  // The nemesis. Hosts: 0..2 store members, 3..4 apiservers.
  sim::World& w = cluster.store.world;
  const Nanos base = w.now();
  for (const Action& a : schedule) {
    w.RunUntil(base + Milliseconds(a.at_ms));
    const uint32_t host = static_cast<uint32_t>(a.target % 5);
    if (a.kind == 0) w.network().Isolate(host);
    if (a.kind == 1) w.host(3 + static_cast<uint32_t>(a.target % 2)).RestartProcess("apiserver");
    if (a.kind == 2) w.network().Heal();
  }
  w.network().Heal();
  w.RunFor(Seconds(120));  // liveness: everything settles after the heal

  for (const Incrementer& inc : incs) RC_ASSERT(inc.remaining == 0);
  for (const std::string& n : names) {
    const ApiResult r = cluster.Await([&](ApiClient::Done d) { admin->Get(ConfigMaps(), "default", n, d); });
    RC_ASSERT(r.ok());
    api::ConfigMap cm;
    cm.ParseFromString(r.body);
    const int stored = std::stoi(cm.data().at("n"));
    RC_ASSERT(stored >= acked[n]);                 // no acknowledged increment lost
    RC_ASSERT(stored <= acked[n] + unknown[n]);    // nothing applied twice
    RC_ASSERT(rec.last_n[n] == stored);            // the watcher converged
    if (!rec.relisted) {
      const std::vector<int64_t>& v = rec.versions[n];
      for (size_t i = 1; i < v.size(); ++i) RC_ASSERT(v[i - 1] < v[i]);  // exactly once, in order
      RC_ASSERT(static_cast<int>(v.size()) == stored);                   // one event per increment
    }
    counts.acked += acked[n];
    counts.unknown += unknown[n];
  }
  // Liveness floor: once the faults have healed, an increment is acknowledged.
  const ApiResult got = cluster.Await([&](ApiClient::Done d) { admin->Get(ConfigMaps(), "default", "c0", d); });
  RC_ASSERT(got.ok());
  api::ConfigMap cm;
  RC_ASSERT(cm.ParseFromString(got.body));
  (*cm.mutable_data())["n"] = std::to_string(std::stoi(cm.data().at("n")) + 1);
  RC_ASSERT(cluster.Await([&](ApiClient::Done d) { admin->Update(ConfigMaps(), cm, d); }).code == 200);
  return counts;
}

// With no faults nothing is unknown and nothing is abandoned: every one of the 300
// increments sent is acknowledged (and, above, stored exactly once).
TEST(ApiServerProperty, QuietRunCountsEveryIncrement) {
  const RunCounts counts = RunSchedule({}, 1);
  EXPECT_EQ(counts.unknown, 0);
  EXPECT_EQ(counts.gave_up, 0);
  EXPECT_EQ(counts.acked, 3 * 100);
}

RC_GTEST_PROP(ApiServerProperty, NoLostUpdateAndOrderedWatchesUnderFaults, ()) {
  const auto schedule = *rc::gen::container<std::vector<Action>>(
      *rc::gen::inRange(0, 6), rc::gen::build<Action>(rc::gen::set(&Action::at_ms, rc::gen::inRange(0, 600)),
                                                      rc::gen::set(&Action::kind, rc::gen::inRange(0, 3)),
                                                      rc::gen::set(&Action::target, rc::gen::inRange(0, 5))));
  std::vector<Action> sorted = schedule;
  std::sort(sorted.begin(), sorted.end(), [](const Action& a, const Action& b) { return a.at_ms < b.at_ms; });
  RunSchedule(sorted, *rc::gen::inRange<uint64_t>(1, 1000));
}

}  // namespace
}  // namespace ksim::apiserver::testing
