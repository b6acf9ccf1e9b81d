// storeLinearizable: a dedicated checker client on the client host (two Jepsen processes,
// each its own StoreClient to every store member) puts and linearizably gets two keys of
// its own (/ksim-check/lin/a, /b) during the run, 300-1200 ms apart (800 ops last ~5 min); the
// history (at most kMaxOps operations, then the client stops) is checked with
// faults/lincheck's kv model when the run ends. It exercises the same path the apiservers
// use (client retries, leader redirects, Raft, ReadIndex), on keys nothing else writes, so
// the model's "initially nil" holds. Recording as store_sweep does: a put that timed out is
// :info (and ends its process id); Unavailable means the client never sent it (:fail); a
// get without an answer observed nothing (:fail).
#include <fmt/format.h>

#include "cluster/store/client/store_client.h"
#include "faults/lincheck/checker.h"
#include "faults/lincheck/history.h"
#include "scenarios/checks/check_internal.h"

namespace ksim::scenarios::checks {
namespace {

constexpr int kProcesses = 2;
constexpr size_t kMaxOps = 800;  // ~100 KB of history; the check takes milliseconds
constexpr const char* kKeys[] = {"/ksim-check/lin/a", "/ksim-check/lin/b"};

class StoreLinearizable final : public Check {
 public:
  explicit StoreLinearizable(ClusterView& v) : env_(v.cluster().client_env()) {
    std::vector<Address> members;
    for (const std::string& cp : v.cluster().control_plane_hosts()) {
      members.push_back(fmt::format("{}:{}", cp, SimCluster::kStorePort));
    }
    storeclient::StoreClientOptions o;
    o.request_timeout = Seconds(3);
    o.attempt_timeout = Milliseconds(500);
    for (int i = 0; i < kProcesses; ++i) {
      workers_.push_back(Worker{std::make_unique<storeclient::StoreClient>(env_, members, o), i * 1000000});
      Next(i);
    }
  }
  ~StoreLinearizable() override { *alive_ = false; }

  void Finish(ClusterView&, std::vector<std::string>* out) override {
    stopped_ = true;
    JudgeStoreHistory(history_, out);
  }

 private:
  struct Worker {
    std::unique_ptr<storeclient::StoreClient> client;
    int64_t process = 0;
    int64_t writes = 0;
  };

  void Next(int w) {
    if (stopped_ || ops_ >= kMaxOps) return;
    const Nanos think(env_.random->Range(Milliseconds(300).count(), Milliseconds(1200).count()));
    env_.clock->Schedule(think, [this, w, alive = alive_] {
      if (*alive) Issue(w);
    });
  }

  void Issue(int w) {
    if (stopped_ || ops_ >= kMaxOps) return;
    ++ops_;
    Worker& wk = workers_[static_cast<size_t>(w)];
    const std::string key = kKeys[env_.random->Uniform(2)];
    const int64_t process = wk.process;
    auto alive = alive_;
    if (env_.random->Bernoulli(0.5)) {
      const std::string value = fmt::format("p{}-{}", w, ++wk.writes);
      history_.push_back(fmt::format(R"({{:process {}, :type :invoke, :f :put, :key "{}", :value "{}"}})", process,
                                     key, value));
      wk.client->Put(key, value, [this, w, process, key, value, alive](Status s, const store::CommandResponse&) {
        if (!*alive) return;
        const char* type = s.ok() ? ":ok" : (s.Is(Status::Code::kUnavailable) ? ":fail" : ":info");
        history_.push_back(fmt::format(R"({{:process {}, :type {}, :f :put, :key "{}", :value "{}"}})", process, type,
                                       key, value));
        if (!s.ok() && !s.Is(Status::Code::kUnavailable)) ++workers_[static_cast<size_t>(w)].process;
        Next(w);
      });
    } else {
      history_.push_back(fmt::format(R"({{:process {}, :type :invoke, :f :get, :key "{}", :value nil}})", process, key));
      wk.client->Get(key, [this, w, process, key, alive](Status s, const store::RangeResponse& r) {
        if (!*alive) return;
        if (s.ok()) {
          const std::string v = r.kvs_size() > 0 ? fmt::format("\"{}\"", r.kvs(0).value()) : "nil";
          history_.push_back(fmt::format(R"({{:process {}, :type :ok, :f :get, :key "{}", :value {}}})", process, key, v));
        } else {
          history_.push_back(fmt::format(R"({{:process {}, :type :fail, :f :get, :key "{}", :value nil}})", process, key));
        }
        Next(w);
      });
    }
  }

  Env& env_;
  std::vector<Worker> workers_;
  std::vector<std::string> history_;
  size_t ops_ = 0;
  bool stopped_ = false;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

Status MakeStoreLinearizable(const Expectation&, ClusterView& v, std::unique_ptr<Check>* out) {
  *out = std::make_unique<StoreLinearizable>(v);
  return Status::Ok();
}

}  // namespace

void JudgeStoreHistory(const std::vector<std::string>& lines, std::vector<std::string>* out) {
  std::string text;
  for (const std::string& line : lines) text += line + "\n";
  lincheck::History h;
  Status ps = lincheck::ParseHistory(text, "storeLinearizable", lincheck::ModelKind::kKv, lincheck::ParseLimits{}, &h);
  if (!ps.ok()) {
    out->push_back("history: " + ps.ToString());
    return;
  }
  lincheck::CheckOptions co;
  co.max_states = 1'000'000;
  co.max_memory_bytes = uint64_t{256} << 20;
  co.max_shrink_searches = 2000;
  const lincheck::CheckResult r = lincheck::Check(h, co);
  if (r.verdict == lincheck::Verdict::kNotLinearizable) {
    out->push_back(fmt::format("the store's history ({} operations) is not linearizable; minimal sub-history:\n{}",
                               h.ops.size(), lincheck::FormatSubHistory(h, r.minimal)));
  } else if (r.verdict == lincheck::Verdict::kUnknown) {
    out->push_back("linearizability unknown (the search ran out of budget): " + r.unknown_reason);
  }
}

const std::map<std::string_view, InvariantFactory>& LincheckInvariantFactories() {
  static const std::map<std::string_view, InvariantFactory> table = {{"storeLinearizable", MakeStoreLinearizable}};
  return table;
}

}  // namespace ksim::scenarios::checks
