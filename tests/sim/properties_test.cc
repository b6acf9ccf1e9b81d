// Property tests of the simulated world (RapidCheck). Counterexamples shrink to a short
// list of faults such as "t=0.120s partition [h0] | [h1 h2]".
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <map>
#include <set>

#include "faults/fault.h"
#include "sim/disk.h"
#include "sim/network.h"
#include "sim/world.h"
#include "tests/sim/test_process.h"

namespace ksim::sim {
namespace {

using faults::Fault;
using faults::FaultKind;
using faults::TimedFault;
using testing::Scripted;
using testing::ScriptedProcess;

std::string HostName(int i) { return "h" + std::to_string(i); }

// A network fault among n hosts: partition, isolate, one-way cut, bridge or heal.
rc::Gen<Fault> GenNetworkFault(int n) {
  return rc::gen::exec([n] {
    Fault f;
    const int kind = *rc::gen::inRange(0, n >= 3 ? 5 : 4);
    const auto side = *rc::gen::container<std::vector<int>>(static_cast<size_t>(n), rc::gen::inRange(0, 2));
    std::vector<std::string> g0, g1;
    for (int i = 0; i < n; ++i) (side[static_cast<size_t>(i)] ? g1 : g0).push_back(HostName(i));
    const std::string victim = HostName(*rc::gen::inRange(0, n));
    switch (kind) {
      case 0: f.kind = FaultKind::kPartition; f.groups = {g0, g1}; break;
      case 1: f.kind = FaultKind::kIsolate; f.host = victim; break;
      case 2: f.kind = FaultKind::kOneWay; f.groups = {g0, g1}; break;
      case 3: f.kind = FaultKind::kHeal; break;
      default: {
        f.kind = FaultKind::kBridge;
        f.host = victim;
        std::vector<std::string> a, b;
        for (const auto& h : g0) if (h != victim) a.push_back(h);
        for (const auto& h : g1) if (h != victim) b.push_back(h);
        f.groups = {a, b};
      }
    }
    return f;
  });
}

// Faults at increasing times in the first `window_ms`.
rc::Gen<std::vector<TimedFault>> GenSchedule(int n, int window_ms) {
  return rc::gen::exec([n, window_ms] {
    auto faults = *rc::gen::container<std::vector<Fault>>(GenNetworkFault(n));
    auto times = *rc::gen::container<std::vector<int>>(faults.size(), rc::gen::inRange(0, window_ms));
    std::sort(times.begin(), times.end());
    std::vector<TimedFault> out;
    for (size_t i = 0; i < faults.size(); ++i) out.push_back(TimedFault{Milliseconds(times[i]), faults[i]});
    return out;
  });
}

struct Mesh {
  std::map<std::string, std::vector<std::string>> received;  // host -> frames
};

// Every host listens on :80 recording frames, and at start opens one long-lived
// connection to every other host.
void BuildMesh(World& w, int n, Mesh* mesh) {
  for (int i = 0; i < n; ++i) {
    Host& h = w.AddHost(HostName(i));
    h.AddProcess("sink", testing::Sink(80, &mesh->received[HostName(i)]));
    h.AddProcess("sender", Scripted([n, i](ScriptedProcess& p) {
      for (int j = 0; j < n; ++j) {
        if (j != i) p.connections.push_back(p.env().transport->Connect(HostName(j) + ":80", {}, nullptr));
      }
    }));
  }
}

RC_GTEST_PROP(NetworkProperties, AnyPartitionScheduleThatHealsDeliversMessagesSentAfterTheHeal, ()) {
  const int n = *rc::gen::inRange(2, 6);
  const auto schedule = *GenSchedule(n, 20000);
  World w(*rc::gen::inRange<uint64_t>(0, 1000));
  Mesh mesh;
  BuildMesh(w, n, &mesh);
  faults::ScheduleFaults(w, schedule, nullptr);
  const Nanos heal_at = Milliseconds(20001);
  w.RunUntil(heal_at);
  Fault heal;
  heal.kind = FaultKind::kHeal;
  RC_ASSERT(faults::ApplyFault(w, heal).ok());

  // After the heal: every open long-lived connection carries one frame, and every host
  // opens a fresh connection to every other host and sends one frame.
  std::multiset<std::pair<std::string, std::string>> expected;  // (receiver, frame)
  std::vector<std::shared_ptr<Connection>> fresh;
  for (int i = 0; i < n; ++i) {
    auto* sender = w.host(static_cast<uint32_t>(i)).Find<ScriptedProcess>("sender");
    for (auto& conn : sender->connections) {
      const std::string frame = "old:" + HostName(i);
      if (conn->is_open() && conn->Send(frame).ok()) expected.insert({conn->peer().substr(0, conn->peer().find(':')), frame});
    }
    for (int j = 0; j < n; ++j) {
      if (j == i) continue;
      auto conn = sender->env().transport->Connect(HostName(j) + ":80", {}, nullptr);
      const std::string frame = "new:" + HostName(i);
      RC_ASSERT(conn->Send(frame).ok());
      expected.insert({HostName(j), frame});
      fresh.push_back(conn);
    }
  }
  w.RunFor(Seconds(10));
  std::multiset<std::pair<std::string, std::string>> got;
  for (const auto& [host, frames] : mesh.received) {
    for (const auto& f : frames) {
      if (f.rfind("old:", 0) == 0 || f.rfind("new:", 0) == 0) got.insert({host, f});
    }
  }
  for (const auto& e : expected) {
    RC_ASSERT(got.count(e) >= 1u);
  }
}

RC_GTEST_PROP(NetworkProperties, DeliveryOrderOnAConnectionIsKept, ()) {
  const auto schedule = *GenSchedule(3, 15000);
  const int loss_pct = *rc::gen::inRange(0, 30);
  const int dup_pct = *rc::gen::inRange(0, 30);
  const int reorder_pct = *rc::gen::inRange(0, 60);
  World w(*rc::gen::inRange<uint64_t>(0, 1000));
  w.network().default_link().loss = loss_pct / 100.0;
  w.network().default_link().duplicate = dup_pct / 100.0;
  w.network().default_link().reorder = reorder_pct / 100.0;
  std::vector<std::string> got;
  w.AddHost("h0").AddProcess("sink", testing::Sink(80, &got));
  w.AddHost("h1");
  w.AddHost("h2");
  bool broke = false;
  std::shared_ptr<Connection> conn;
  std::vector<std::string> sent;
  w.host(1).AddProcess("sender", Scripted([&](ScriptedProcess& p) {
    ConnectionHandlers h;
    h.on_closed = [&](const Status&) { broke = true; };
    conn = p.env().transport->Connect("h0:80", std::move(h), nullptr);
    auto tick = std::make_shared<std::function<void()>>();
    *tick = [&p, &sent, &conn, tick] {
      if (sent.size() >= 300) return;
      if (conn->is_open()) {
        const std::string frame = std::to_string(sent.size());
        if (conn->Send(frame).ok()) sent.push_back(frame);
      }
      p.env().clock->Schedule(Milliseconds(50), [tick] { (*tick)(); });
    };
    (*tick)();
  }));
  faults::ScheduleFaults(w, schedule, nullptr);
  w.RunUntil(Milliseconds(15001));
  Fault heal;
  heal.kind = FaultKind::kHeal;
  RC_ASSERT(faults::ApplyFault(w, heal).ok());
  w.network().default_link().loss = 0;
  // A segment lost 8 times in a row waits 200ms x (1 + 2 + ... + 128) = 51 s before it
  // arrives, and everything behind it waits too; give the tail time to land.
  w.RunFor(Seconds(120));
  // In order, no duplicates, no gaps: what arrived is a prefix of what was sent, and all
  // of it if the connection never broke.
  RC_ASSERT(got.size() <= sent.size());
  for (size_t i = 0; i < got.size(); ++i) RC_ASSERT(got[i] == sent[i]);
  if (!broke) RC_ASSERT(got.size() == sent.size());
  RC_CLASSIFY(broke, "broke");
  RC_CLASSIFY(sent.size() >= 300, "all 300 sent");
  RC_CLASSIFY(schedule.size() > 3, "more than 3 faults");
  w.host(1).CrashProcess("sender");
  conn.reset();
}

struct DiskOp {
  enum Kind { kAppend, kSync, kSyncDir, kCrash } kind;
  int file;
  std::string data;
};

std::ostream& operator<<(std::ostream& os, const DiskOp& op) {
  static const char* names[] = {"append", "sync", "syncdir", "crash"};
  os << names[op.kind];
  if (op.kind == DiskOp::kAppend || op.kind == DiskOp::kSync) os << " f" << op.file;
  if (op.kind == DiskOp::kAppend) os << " \"" << op.data << "\"";
  return os;
}

rc::Gen<DiskOp> GenDiskOp() {
  return rc::gen::exec([] {
    DiskOp op;
    op.kind = static_cast<DiskOp::Kind>(*rc::gen::weightedElement<int>({{5, 0}, {3, 1}, {2, 2}, {1, 3}}));
    op.file = *rc::gen::inRange(0, 3);
    if (op.kind == DiskOp::kAppend) {
      op.data = *rc::gen::container<std::string>(*rc::gen::inRange(1, 6), rc::gen::inRange('a', 'z'));
    }
    return op;
  });
}

RC_GTEST_PROP(DiskProperties, FsyncedDataSurvivesAnyCrash, ()) {
  const auto ops = *rc::gen::container<std::vector<DiskOp>>(GenDiskOp());
  const bool torn = *rc::gen::arbitrary<bool>();
  World w(*rc::gen::inRange<uint64_t>(0, 1000));
  DiskOptions o;
  o.torn_writes = torn;
  SimDisk d(&w, w.ChildRandom("disk"), o);
  struct Model {
    std::string current;
    std::string guaranteed;  // content covered by a completed Sync
    bool exists = false;
    bool name_durable = false;
  };
  std::map<int, Model> m;
  for (const DiskOp& op : ops) {
    const std::string path = "f" + std::to_string(op.file);
    Model& f = m[op.file];
    switch (op.kind) {
      case DiskOp::kAppend:
        RC_ASSERT(d.Append(path, op.data).ok());
        f.current += op.data;
        f.exists = true;
        break;
      case DiskOp::kSync: {
        if (!f.exists) break;
        bool done = false;
        d.Sync(path, [&](Status s) { done = s.ok(); });
        w.RunFor(Seconds(1));
        RC_ASSERT(done);
        f.guaranteed = f.current;
        break;
      }
      case DiskOp::kSyncDir: {
        bool done = false;
        d.SyncDir("", [&](Status s) { done = s.ok(); });
        w.RunFor(Seconds(1));
        RC_ASSERT(done);
        for (auto& [i, mf] : m) mf.name_durable = mf.exists;
        break;
      }
      case DiskOp::kCrash:
        d.Crash();
        for (auto& [i, mf] : m) {
          std::string actual;
          const bool present = d.Read("f" + std::to_string(i), &actual).ok();
          if (mf.name_durable) RC_ASSERT(present);
          if (present) {
            RC_ASSERT(mf.exists);
            RC_ASSERT(actual.size() <= mf.current.size());
            RC_ASSERT(mf.current.compare(0, actual.size(), actual) == 0);  // a prefix of what was written
            if (mf.name_durable) RC_ASSERT(actual.compare(0, mf.guaranteed.size(), mf.guaranteed) == 0);
          }
          // What survived a crash is on the platter now.
          mf.exists = mf.name_durable = present;
          mf.current = mf.guaranteed = present ? actual : "";
        }
        break;
    }
  }
}

}  // namespace
}  // namespace ksim::sim
