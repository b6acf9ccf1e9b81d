// Test fixture for leader election: an ApiCluster (3 store members, A apiservers) plus
// candidate processes, each on its own host with its own ApiClient and LeaderElector, and an
// observer that records every candidate's acting intervals in WORLD time, so overlaps between
// candidates are judged by the one clock no candidate can see.
#pragma once

#include <fmt/format.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cluster/client/leader_election.h"
#include "sim/host.h"
#include "sim/network.h"
#include "tests/cluster/apiserver/api_cluster.h"

namespace ksim::client::testing {

// Acting intervals per candidate, stamped with world time from the callbacks.
class ActingLog {
 public:
  struct Interval {
    int candidate = 0;
    Nanos start{0};
    Nanos end{0};
    bool open = true;
  };

  void Attach(sim::World* world) { world_ = world; }

  void Started(int candidate) {
    if (IsOpen(candidate)) errors.push_back(fmt::format("c{} started twice at {} ns", candidate, world_->now().count()));
    intervals.push_back(Interval{candidate, world_->now(), Nanos(0), true});
  }
  void Stopped(int candidate) {
    if (!Close(candidate)) errors.push_back(fmt::format("c{} stopped without starting", candidate));
  }
  // A crashed process stops acting at once, without a callback.
  void Crashed(int candidate) {
    if (world_) Close(candidate);
  }
  // The world is going away: processes destroyed from now on are not crashes.
  void Detach() { world_ = nullptr; }
  void NewLeader(int candidate, const std::string& identity) { new_leaders[candidate].push_back(identity); }

  bool IsOpen(int candidate) const {
    for (const Interval& i : intervals) {
      if (i.candidate == candidate && i.open) return true;
    }
    return false;
  }
  int Acting() const {
    int n = 0;
    for (const Interval& i : intervals) n += i.open ? 1 : 0;
    return n;
  }
  const Interval* LastOf(int candidate) const {
    for (auto it = intervals.rbegin(); it != intervals.rend(); ++it) {
      if (it->candidate == candidate) return &*it;
    }
    return nullptr;
  }

  // "" or a description of the first pair of intervals of different candidates that
  // overlap; open intervals count as running until now.
  std::string FirstOverlap() const {
    const Nanos now = world_->now();
    for (size_t a = 0; a < intervals.size(); ++a) {
      for (size_t b = a + 1; b < intervals.size(); ++b) {
        const Interval& x = intervals[a];
        const Interval& y = intervals[b];
        if (x.candidate == y.candidate) continue;
        const Nanos x_end = x.open ? now : x.end;
        const Nanos y_end = y.open ? now : y.end;
        if (x.start < y_end && y.start < x_end) {
          return fmt::format("c{} acted [{} ms, {} ms) and c{} acted [{} ms, {} ms)", x.candidate,
                             x.start.count() / 1'000'000, x_end.count() / 1'000'000, y.candidate,
                             y.start.count() / 1'000'000, y_end.count() / 1'000'000);
        }
      }
    }
    return "";
  }

  std::vector<Interval> intervals;
  std::map<int, std::vector<std::string>> new_leaders;
  std::vector<std::string> errors;

 private:
  bool Close(int candidate) {
    for (Interval& i : intervals) {
      if (i.candidate == candidate && i.open) {
        i.open = false;
        i.end = world_->now();
        return true;
      }
    }
    return false;
  }
  sim::World* world_ = nullptr;
};

// One candidate: its own API client and elector, both gone when the process crashes.
class ElectorProcess final : public Process {
 public:
  ElectorProcess(Env& env, ApiClientOptions client_options, LeaderElectionConfig config, int index, ActingLog* log)
      : index_(index), log_(log), client_(env, std::move(client_options)) {
    config.on_started_leading = [this] { log_->Started(index_); };
    config.on_stopped_leading = [this] { log_->Stopped(index_); };
    config.on_new_leader = [this](const std::string& id) { log_->NewLeader(index_, id); };
    elector_ = std::make_unique<LeaderElector>(env, &client_, std::move(config));
  }
  ~ElectorProcess() override { log_->Crashed(index_); }
  void Start() override { elector_->Start(); }
  LeaderElector& elector() { return *elector_; }

 private:
  int index_;
  ActingLog* log_;
  ApiClient client_;
  std::unique_ptr<LeaderElector> elector_;  // destroyed before the client it uses
};

class ElectionCluster {
 public:
  ElectionCluster(int apiservers, uint64_t seed) : api(apiservers, seed) {
    log.Attach(&api.store.world);
    admin = api.AddClient("admin");
    const ApiResult r = api.Await([&](ApiClient::Done d) {
      admin->Create(apiserver::testing::Kind("", "namespaces"), apiserver::testing::MakeNamespace("kube-system"), d);
    });
    ok = r.code == 201;
  }

  sim::World& world() { return api.store.world; }

  // Adds candidate c<index> on host "c<index>"; returns its index.
  int AddCandidate(LeaderElectionConfig config, const sim::HostOptions& host_options = {},
                   ApiClientOptions client_options = {}) {
    const int index = static_cast<int>(hosts_.size());
    const std::string name = "c" + std::to_string(index);
    config.name = config.name.empty() ? "ksim-controller-manager" : config.name;
    config.identity = name;
    client_options.endpoints = api.endpoints;
    if (client_options.token.empty()) client_options.token = apiserver::testing::kAdminToken;
    ActingLog* observer = &log;
    sim::Host& host = world().AddHost(name, host_options);
    hosts_.push_back(host.id());
    host.AddProcess("elector", [client_options, config, index, observer](Env& env) {
      return std::make_unique<ElectorProcess>(env, client_options, config, index, observer);
    });
    return index;
  }

  sim::Host& Host(int candidate) { return world().host(hosts_[static_cast<size_t>(candidate)]); }
  // nullptr while the candidate's process is down.
  LeaderElector* Elector(int candidate) {
    ElectorProcess* p = Host(candidate).Find<ElectorProcess>("elector");
    return p ? &p->elector() : nullptr;
  }
  // Candidates for which IsLeader() holds now.
  std::vector<int> Leaders() {
    std::vector<int> out;
    for (int i = 0; i < static_cast<int>(hosts_.size()); ++i) {
      LeaderElector* e = Elector(i);
      if (e && e->IsLeader()) out.push_back(i);
    }
    return out;
  }
  int candidates() const { return static_cast<int>(hosts_.size()); }
  // Runs until exactly one candidate leads or `within` passes; returns it or -1.
  int AwaitLeader(Nanos within) {
    world().RunUntilCondition([this] { return Leaders().size() == 1; }, world().now() + within);
    const std::vector<int> l = Leaders();
    return l.size() == 1 ? l[0] : -1;
  }

  std::optional<api::Lease> ReadLease(const std::string& name = "ksim-controller-manager") {
    const ApiResult r = api.Await([&](ApiClient::Done d) {
      admin->Get(apiserver::testing::Kind("coordination.k8s.io", "leases"), "kube-system", name, d);
    });
    api::Lease lease;
    if (!r.ok() || !lease.ParseFromString(r.body)) return std::nullopt;
    return lease;
  }

  ~ElectionCluster() { log.Detach(); }

  ActingLog log;  // declared first: destroyed after the world whose processes report to it
  apiserver::testing::ApiCluster api;
  ApiClient* admin = nullptr;
  bool ok = false;  // the kube-system namespace was created

 private:
  std::vector<uint32_t> hosts_;
};

}  // namespace ksim::client::testing
