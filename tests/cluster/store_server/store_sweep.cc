#include "tests/cluster/store_server/store_sweep.h"

#include <fmt/format.h>

#include <map>
#include <memory>
#include <set>

#include "cluster/env/wire.h"
#include "cluster/store/client/store_client.h"
#include "cluster/store/server/store_server.h"
#include "faults/election_safety.h"
#include "faults/lincheck/checker.h"
#include "faults/nemesis.h"
#include "sim/host.h"
#include "sim/network.h"
#include "sim/world.h"
#include "tests/sim/test_process.h"

namespace ksim::storeserver::testing {
namespace {

constexpr uint16_t kPort = 2379;

std::string Quote(const std::string& s) { return "\"" + s + "\""; }

// Shared between the workload processes and the checkers; outlives the world.
struct Shared {
  std::vector<std::string> history;  // EDN lines in real-time order
  std::vector<std::string> violations;
  bool stop_workload = false;
  int64_t ok = 0, info = 0, failed = 0;
  Nanos heal_at{0};
  bool write_after_heal = false;
  // Watch stream state.
  int64_t watch_last_revision = 1;
  std::map<std::string, std::string> watch_view;
  void Violation(std::string v) {
    if (violations.size() < 50) violations.push_back(std::move(v));
  }
};

// One client of the workload: a sequence of puts and linearizable gets on a few keys,
// one at a time, recorded as a Jepsen history. A timed-out put is :info and the process
// id changes afterwards, as Jepsen does.
class Workload {
 public:
  Workload(Env& env, int index, int keys, const std::vector<Address>& members, Shared* shared)
      : env_(env), index_(index), keys_(keys), shared_(shared) {
    storeclient::StoreClientOptions o;
    o.request_timeout = Seconds(3);
    o.attempt_timeout = Milliseconds(500);
    client_ = std::make_unique<storeclient::StoreClient>(env, members, o);
    process_ = index * 1000;
  }
  void Start() { Next(); }

 private:
  void Next() {
    if (shared_->stop_workload) return;
    const Nanos think(env_.random->Range(0, Milliseconds(40).count()));
    env_.clock->Schedule(think, [this] { Issue(); });
  }
  void Issue() {
    if (shared_->stop_workload) return;
    const std::string key = "k" + std::to_string(env_.random->Uniform(static_cast<uint64_t>(keys_)));
    const int64_t process = process_;
    if (env_.random->Bernoulli(0.6)) {
      const std::string value = fmt::format("c{}-{}", index_, ++writes_);
      shared_->history.push_back(fmt::format("{{:process {}, :type :invoke, :f :put, :key {}, :value {}}}", process,
                                             Quote(key), Quote(value)));
      client_->Put(key, value, [this, process, key, value](Status s, const store::CommandResponse&) {
        const char* type = s.ok() ? ":ok" : (s.Is(Status::Code::kUnavailable) ? ":fail" : ":info");
        shared_->history.push_back(fmt::format("{{:process {}, :type {}, :f :put, :key {}, :value {}}}", process,
                                               type, Quote(key), Quote(value)));
        if (s.ok()) {
          ++shared_->ok;
          if (env_.clock->MonotonicNow() > shared_->heal_at && shared_->heal_at > Nanos(0)) {
            shared_->write_after_heal = true;
          }
        } else if (s.Is(Status::Code::kUnavailable)) {
          ++shared_->failed;
        } else {
          ++shared_->info;
          process_ += 1;  // an indefinite op ends this process
        }
        Next();
      });
    } else {
      shared_->history.push_back(
          fmt::format("{{:process {}, :type :invoke, :f :get, :key {}, :value nil}}", process, Quote(key)));
      client_->Get(key, [this, process, key](Status s, const store::RangeResponse& r) {
        if (s.ok()) {
          const std::string v = r.kvs_size() > 0 ? Quote(r.kvs(0).value()) : "nil";
          shared_->history.push_back(
              fmt::format("{{:process {}, :type :ok, :f :get, :key {}, :value {}}}", process, Quote(key), v));
          ++shared_->ok;
        } else {
          // A read that did not answer observed nothing.
          shared_->history.push_back(
              fmt::format("{{:process {}, :type :fail, :f :get, :key {}, :value nil}}", process, Quote(key)));
          ++shared_->failed;
        }
        Next();
      });
    }
  }

  Env& env_;
  int index_;
  int keys_;
  Shared* shared_;
  std::unique_ptr<storeclient::StoreClient> client_;
  int64_t process_;
  int writes_ = 0;
};

// A watcher on [k, l) from revision 2 that resumes after its last revision when its
// connection breaks, moving to the next member. Checks order and continuity as it goes.
class Watcher {
 public:
  Watcher(Env& env, std::vector<Address> members, Shared* shared)
      : env_(env), members_(std::move(members)), shared_(shared) {}
  ~Watcher() {
    if (conn_) conn_->Close();
  }
  void Start() { Connect(); }

 private:
  void Connect() {
    ConnectionHandlers h;
    h.on_frame = [this](std::string_view f) { OnFrame(f); };
    h.on_closed = [this](const Status&) {
      conn_.reset();
      member_ = (member_ + 1) % members_.size();
      env_.clock->Schedule(Milliseconds(200), [this] { Connect(); });
    };
    conn_ = env_.transport->Connect(members_[member_], std::move(h), nullptr);
    Frame f;
    ClientRequest* r = f.mutable_request();
    r->set_client_id(999);
    r->set_seq(++seq_);
    r->mutable_watch()->set_key("k");
    r->mutable_watch()->set_range_end("l");
    r->mutable_watch()->set_start_revision(shared_->watch_last_revision + 1);
    (void)SendMessage(*conn_, f);
  }
  void OnFrame(std::string_view frame) {
    Frame f;
    if (!ParseMessage(frame, &f, "store").ok() || !f.has_response() || !f.response().has_watch()) return;
    const WatchResponse& w = f.response().watch();
    if (w.canceled() && !w.error().empty()) {
      // e.g. the member restored a snapshot past our position; resume elsewhere.
      if (conn_) conn_->Close();
      conn_.reset();
      member_ = (member_ + 1) % members_.size();
      env_.clock->Schedule(Milliseconds(200), [this] { Connect(); });
      return;
    }
    for (const store::Event& e : w.events()) {
      const int64_t rev = e.kv().mod_revision();
      if (rev != shared_->watch_last_revision + 1) {
        shared_->Violation(fmt::format("watch: event at revision {} after {} ({})", rev, shared_->watch_last_revision,
                                       rev <= shared_->watch_last_revision ? "duplicate or reordered" : "gap"));
      }
      shared_->watch_last_revision = std::max(shared_->watch_last_revision, rev);
      if (e.type() == store::Event::DELETE) {
        shared_->watch_view.erase(e.kv().key());
      } else {
        shared_->watch_view[e.kv().key()] = e.kv().value();
      }
    }
  }

  Env& env_;
  std::vector<Address> members_;
  Shared* shared_;
  std::shared_ptr<Connection> conn_;
  size_t member_ = 0;
  uint64_t seq_ = 0;
};

// Per-member observations for the safety checkers.
struct Observer {
  std::map<uint64_t, std::pair<uint64_t, std::string>> applied;  // index -> (term, data), first seen
  // index -> the highest term any member had when the index was first applied: a leader of
  // a higher term was elected after the commit, so Leader Completeness binds it.
  std::map<uint64_t, uint64_t> committed_by_term;
  faults::ElectionSafety election_safety;
  std::map<int, const StoreServer*> watched;                     // member -> incarnation observed
  std::map<std::pair<int, uint64_t>, std::set<std::pair<uint64_t, uint64_t>>> changed;  // (member, incarnation)
  std::map<int, uint64_t> incarnation;
};

}  // namespace

bool SweepResult::safety_violated() const {
  for (const std::string& v : violations) {
    if (!v.starts_with("liveness:")) return true;
  }
  return false;
}

std::string SweepResult::Summary() const {
  std::string out = fmt::format("ops ok={} info={} failed={} elections={} snapshots_installed={} trace={:016x}\n",
                                ops_ok, ops_info, ops_failed, elections, snapshots_installed, trace_hash);
  out += "faults:\n";
  for (const auto& f : faults) out += "  " + f + "\n";
  out += violations.empty() ? "no violations\n" : "violations:\n";
  for (const auto& v : violations) out += "  " + v + "\n";
  return out;
}

SweepResult RunStoreSweep(const SweepOptions& o) {
  sim::World world(o.seed);
  Shared shared;
  Observer obs;
  std::map<uint64_t, Address> addrs;
  std::vector<Address> members;
  std::vector<std::string> names;
  for (int i = 1; i <= o.members; ++i) {
    names.push_back("m" + std::to_string(i));
    addrs[static_cast<uint64_t>(i)] = names.back() + ":" + std::to_string(kPort);
    members.push_back(addrs[static_cast<uint64_t>(i)]);
  }
  size_t batch = o.max_entries_per_message;
  if (batch == 0) {
    static constexpr size_t kBatches[] = {1, 2, 64};
    batch = kBatches[world.ChildRandom("sweep/batch").Uniform(3)];
  }
  size_t entry_cache_bytes = o.raft_entry_cache_bytes;
  if (entry_cache_bytes == 0) {
    entry_cache_bytes = world.ChildRandom("sweep/entry-cache").Uniform(2) == 0 ? 1 : StoreServerOptions{}.raft_entry_cache_bytes;
  }
  for (int i = 1; i <= o.members; ++i) {
    StoreServerOptions so;
    so.max_entries_per_message = batch;
    so.raft_entry_cache_bytes = entry_cache_bytes;
    so.id = static_cast<uint64_t>(i);
    so.members = addrs;
    so.port = kPort;
    so.snapshot_every_entries = o.snapshot_every_entries;
#ifdef KSIM_MUTATIONS
    so.mutation = o.mutation;
#endif
    sim::HostOptions ho;
    ho.disk.torn_writes = true;
    ho.disk.fsync_latency_min = Milliseconds(1);
    ho.disk.fsync_latency_jitter = o.fsync_latency_max - Milliseconds(1);
    world.AddHost(names[static_cast<size_t>(i - 1)], ho)
        .AddProcess("store", [so](Env& env) { return std::make_unique<StoreServer>(env, so); });
  }
  std::vector<std::shared_ptr<std::unique_ptr<Workload>>> workloads;
  for (int c = 0; c < o.clients; ++c) {
    auto holder = std::make_shared<std::unique_ptr<Workload>>();
    workloads.push_back(holder);
    world.AddHost("c" + std::to_string(c))
        .AddProcess("client", sim::testing::Scripted([holder, c, &o, members, &shared](sim::testing::ScriptedProcess& p) {
          *holder = std::make_unique<Workload>(p.env(), c, o.keys, members, &shared);
          (*holder)->Start();
        }));
  }
  auto watcher = std::make_shared<std::unique_ptr<Watcher>>();
  world.AddHost("w").AddProcess("watch", sim::testing::Scripted([watcher, members, &shared](sim::testing::ScriptedProcess& p) {
    *watcher = std::make_unique<Watcher>(p.env(), members, &shared);
    (*watcher)->Start();
  }));

  SweepResult result;
  if (o.nemesis) {
    faults::NemesisOptions n;
    n.hosts = names;
    n.processes = {"store"};
    n.start = Seconds(1);
    n.end = o.faults_until;
    n.disk_write_errors = false;  // a member fail-stops on a write error; covered elsewhere
    Random r = world.ChildRandom("sweep/nemesis");
    faults::ScheduleFaults(world, faults::GenerateSchedule(r, n), &result.faults);
  } else {
    faults::ScheduleFaults(world, o.schedule, &result.faults);
  }
  if (o.leader_nemesis) {
    // Recurring, seed-driven: every 0.3-1.5 s act against the leader (or a majority).
    auto rng = std::make_shared<Random>(world.ChildRandom("sweep/leader-nemesis"));
    auto act = std::make_shared<std::function<void()>>();
    const int n = o.members;
    auto describe = [&world, &result](const std::string& what) {
      result.faults.push_back(
          fmt::format("t={:.3f}s leader-nemesis {}", static_cast<double>(world.now().count()) / 1e9, what));
    };
    *act = [&world, &o, rng, act, n, describe]() {
      if (world.now() >= o.faults_until - Seconds(1)) return;
      int leader = 0;
      for (int i = 1; i <= n; ++i) {
        auto* s = world.host(static_cast<uint32_t>(i - 1)).Find<StoreServer>("store");
        if (s && s->raft() && s->raft()->role() == raft::Role::kLeader) leader = i;
      }
      const int kind = static_cast<int>(rng->Uniform(5));
      const int target = (leader != 0 && kind != 4) ? leader : 1 + static_cast<int>(rng->Uniform(static_cast<uint64_t>(n)));
      sim::Host& h = world.host(static_cast<uint32_t>(target - 1));
      const Nanos back(rng->Range(Milliseconds(20).count(), Milliseconds(600).count()));
      switch (kind) {
        case 0:
          describe(fmt::format("crash m{} for {}ms", target, back.count() / 1000000));
          h.CrashProcess("store");
          world.After(back, [&h] { h.RestartProcess("store"); });
          break;
        case 1:
          describe(fmt::format("power-cycle m{} for {}ms", target, back.count() / 1000000));
          h.PowerOff();
          world.After(back, [&h] { h.PowerOn(); });
          break;
        case 2: {
          const Nanos len(rng->Range(Milliseconds(300).count(), Milliseconds(2500).count()));
          describe(fmt::format("isolate m{} for {}ms", target, len.count() / 1000000));
          world.network().Isolate(h.id());
          world.After(len, [&world] { world.network().Heal(); });
          break;
        }
        case 3: {
          std::vector<int> all;
          for (int i = 1; i <= n; ++i) all.push_back(i);
          for (size_t i = all.size(); i > 1; --i) std::swap(all[i - 1], all[rng->Uniform(i)]);
          const int k = n / 2 + 1;
          std::string who;
          for (int i = 0; i < k; ++i) {
            sim::Host& v = world.host(static_cast<uint32_t>(all[static_cast<size_t>(i)] - 1));
            who += fmt::format(" m{}", all[static_cast<size_t>(i)]);
            v.PowerOff();
            world.After(Nanos(rng->Range(Milliseconds(20).count(), Milliseconds(400).count())), [&v] { v.PowerOn(); });
          }
          describe("power-cycle majority" + who);
          break;
        }
        default:
          describe(fmt::format("crash m{} for {}ms", target, back.count() / 5000000));
          h.CrashProcess("store");
          world.After(back / 5, [&h] { h.RestartProcess("store"); });
          break;
      }
      world.After(Nanos(rng->Range(Milliseconds(300).count(), Milliseconds(1500).count())), [act] { (*act)(); });
    };
    world.At(Seconds(1), [act] { (*act)(); });
  }
  shared.heal_at = o.faults_until;
  world.At(o.faults_until, [&world, &result] {
    faults::HealAll(world);
    result.faults.push_back(fmt::format("t={:.3f}s heal-all", static_cast<double>(world.now().count()) / 1e9));
  });

  // Safety checks, polled every 10 ms of simulated time.
  auto poll = [&]() {
    for (int i = 1; i <= o.members; ++i) {
      auto* s = world.host(static_cast<uint32_t>(i - 1)).Find<StoreServer>("store");
      if (s == nullptr || s->raft() == nullptr) continue;
      if (obs.watched[i] != s) {
        obs.watched[i] = s;
        const uint64_t inc = ++obs.incarnation[i];
        s->set_apply_observer([&obs, &shared, &world, i, inc, n = o.members](const raft::Entry& e,
                                                                         const std::vector<StoreServer::AppliedWrite>& writes) {
          auto [it, fresh] = obs.applied.emplace(e.index(), std::make_pair(e.term(), e.data()));
          if (fresh) {
            uint64_t max_term = 0;
            for (int j = 1; j <= n; ++j) {
              auto* other = world.host(static_cast<uint32_t>(j - 1)).Find<StoreServer>("store");
              if (other && other->raft()) max_term = std::max(max_term, other->raft()->term());
            }
            obs.committed_by_term[e.index()] = max_term;
          }
          if (!fresh && (it->second.first != e.term() || it->second.second != e.data())) {
            shared.Violation(fmt::format("state machine safety: m{} applied term {} at index {}, another member term {}",
                                         i, e.term(), e.index(), it->second.first));
          }
          for (const StoreServer::AppliedWrite& w : writes) {
            if (!w.changed || w.client_id == 0) continue;
            auto& seen = obs.changed[{i, inc}];
            if (!seen.insert({w.client_id, w.seq}).second) {
              shared.Violation(fmt::format("at-most-once: m{} applied write ({}, {}) twice", i, w.client_id, w.seq));
            }
          }
        });
      }
      const raft::Raft* r = s->raft();
      if (r->role() == raft::Role::kLeader) {
        std::string unsafe = obs.election_safety.Leader(r->term(), fmt::format("m{}", i));
        if (!unsafe.empty()) shared.Violation(std::move(unsafe));
        // Leader Completeness (§5.4): an entry committed before this leader's term began is
        // in its log.
        const raft::RaftLog& log = r->log();
        for (auto it = obs.applied.lower_bound(log.first_index()); it != obs.applied.end(); ++it) {
          if (obs.committed_by_term[it->first] >= r->term()) continue;
          auto t = log.Term(it->first);
          if (!t || *t != it->second.first) {
            shared.Violation(fmt::format("leader completeness: leader m{} of term {} lacks committed index {}", i,
                                         r->term(), it->first));
            break;
          }
        }
      }
    }
  };
  // Leaders cut off the moment they are elected (in half of the seeds): the new leader's
  // first entry then reaches nobody, the sequence of Figure 8 (§5.4.2).
  Random fresh_leader_rng = world.ChildRandom("sweep/fresh-leader");
  const bool cut_fresh_leaders = o.leader_nemesis && fresh_leader_rng.Bernoulli(0.5);
  uint64_t last_cut_term = 0;
  const Nanos end = o.faults_until + o.settle;
  for (Nanos t = Milliseconds(10); t <= end; t += Milliseconds(10)) {
    world.RunUntil(t);
    poll();
    if (cut_fresh_leaders && t < o.faults_until - Seconds(1)) {
      for (int i = 1; i <= o.members; ++i) {
        auto* s = world.host(static_cast<uint32_t>(i - 1)).Find<StoreServer>("store");
        if (!s || !s->raft() || s->raft()->role() != raft::Role::kLeader || s->raft()->term() <= last_cut_term) continue;
        last_cut_term = s->raft()->term();
        if (!fresh_leader_rng.Bernoulli(0.5)) continue;
        const Nanos len(fresh_leader_rng.Range(Milliseconds(200).count(), Milliseconds(1500).count()));
        result.faults.push_back(fmt::format("t={:.3f}s isolate fresh leader m{} (term {}) for {}ms",
                                            static_cast<double>(world.now().count()) / 1e9, i, s->raft()->term(),
                                            len.count() / 1000000));
        world.network().Isolate(static_cast<uint32_t>(i - 1));
        world.After(len, [&world] { world.network().Heal(); });
      }
    }
    if (t == end - Seconds(5)) shared.stop_workload = true;  // quiesce for convergence
  }

  // Liveness after the heal.
  if (!shared.write_after_heal) shared.Violation("liveness: no write committed after the faults healed");

  // Convergence: all members at the same applied index hold identical stores; Log Matching
  // over their logs.
  std::vector<const StoreServer*> servers;
  for (int i = 1; i <= o.members; ++i) {
    auto* s = world.host(static_cast<uint32_t>(i - 1)).Find<StoreServer>("store");
    if (s && s->raft()) servers.push_back(s);
  }
  for (size_t a = 1; a < servers.size(); ++a) {
    const raft::RaftLog& la = servers[0]->raft()->log();
    const raft::RaftLog& lb = servers[a]->raft()->log();
    if (la.applied() == lb.applied() && servers[0]->store().Snapshot() != servers[a]->store().Snapshot()) {
      shared.Violation(fmt::format("convergence: m{} and m{} applied up to {} but hold different stores",
                                   servers[0]->id(), servers[a]->id(), la.applied()));
    }
    if (la.applied() != lb.applied()) {
      shared.Violation(fmt::format("liveness: m{} applied {} but m{} applied {} after settling", servers[0]->id(),
                                   la.applied(), servers[a]->id(), lb.applied()));
    }
    const uint64_t lo = std::max(la.first_index(), lb.first_index());
    const uint64_t hi = std::min(la.last_index(), lb.last_index());
    for (uint64_t i = lo; i <= hi; ++i) {
      if (*la.Term(i) != *lb.Term(i)) continue;
      if (la.Slice(i, i + 1, 1)[0].data() != lb.Slice(i, i + 1, 1)[0].data()) {
        shared.Violation(fmt::format("log matching: index {} term {} differs between m{} and m{}", i, *la.Term(i),
                                     servers[0]->id(), servers[a]->id()));
        break;
      }
    }
  }
  // The watch stream ends where the store is, with the store's content.
  if (!servers.empty()) {
    store::RangeRequest range;
    range.set_key("k");
    range.set_range_end("l");
    auto r = servers[0]->store().Range(range);
    std::map<std::string, std::string> truth;
    for (const auto& kv : r.response.kvs()) truth[kv.key()] = kv.value();
    if (shared.watch_last_revision == servers[0]->store().revision() && truth != shared.watch_view) {
      shared.Violation("watch: the stream's view differs from the store at the same revision");
    }
  }

  // Linearizability of the client history.
  std::string text;
  for (const auto& line : shared.history) text += line + "\n";
  lincheck::History h;
  Status ps = lincheck::ParseHistory(text, "sweep", lincheck::ModelKind::kKv, lincheck::ParseLimits{}, &h);
  if (!ps.ok()) {
    shared.Violation("history: " + ps.ToString());
  } else {
    lincheck::CheckOptions co;
    co.max_shrink_searches = 2000;
    if (o.lincheck_max_states != 0) co.max_states = o.lincheck_max_states;
    lincheck::CheckResult cr = lincheck::Check(h, co);
    if (cr.verdict == lincheck::Verdict::kNotLinearizable) {
      shared.Violation("linearizability: not linearizable; minimal sub-history:\n" +
                       lincheck::FormatSubHistory(h, cr.minimal));
    } else if (cr.verdict == lincheck::Verdict::kUnknown) {
      result.lincheck_unknown = true;
      shared.Violation("linearizability: unknown (the search ran out of budget): " + cr.unknown_reason);
    }
  }

  for (auto& w : workloads) w->reset();
  watcher->reset();
  for (const auto* s : servers) result.snapshots_installed += s->stats().snapshots_installed;
  result.elections = obs.election_safety.terms_with_leader();
  result.violations = shared.violations;
  result.ops_ok = shared.ok;
  result.ops_info = shared.info;
  result.ops_failed = shared.failed;
  result.trace_hash = world.trace().hash();
  result.history = text;
  return result;
}

}  // namespace ksim::storeserver::testing
