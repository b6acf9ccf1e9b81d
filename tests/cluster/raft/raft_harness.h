// A synchronous in-memory network of Raft nodes for tests, in the spirit of etcd-io/raft's
// raft_test.go `network`: Ready batches are "persisted" (kept as each node's disk), then
// their messages delivered, until the cluster is quiet. Filters drop messages.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "cluster/store/raft/raft.h"

namespace ksim::raft::testing {

struct Disk {
  HardState hard_state;
  Snapshot snapshot;
  std::vector<Entry> entries;
};

// Reads evicted entries back from a node's Disk; counts reads, and can be told to fail.
class DiskReader final : public LogReader {
 public:
  explicit DiskReader(const Disk* disk) : disk_(disk) {}
  Status ReadEntries(uint64_t lo, uint64_t hi, std::vector<Entry>* out) const override {
    ++reads;
    if (fail) return Status::IOError("injected read failure");
    for (const Entry& e : disk_->entries) {
      if (e.index() >= lo && e.index() < hi) out->push_back(e);
    }
    return Status::Ok();
  }
  mutable uint64_t reads = 0;
  bool fail = false;

 private:
  const Disk* disk_;
};

class Cluster {
 public:
  explicit Cluster(int n, std::function<void(Config&)> tweak = nullptr, uint64_t seed = 1) : random_(seed) {
    for (int i = 1; i <= n; ++i) ids_.push_back(static_cast<uint64_t>(i));
    for (uint64_t id : ids_) Add(id, ids_, tweak);
  }

  void Add(uint64_t id, const std::vector<uint64_t>& peers, std::function<void(Config&)> tweak = nullptr,
           const Restore& restore = {}) {
    Config c;
    c.id = id;
    c.peers = peers;
    if (tweak) tweak(c);
    readers_[id] = std::make_unique<DiskReader>(&disks_[id]);  // std::map: the Disk stays put
    if (c.max_cached_entry_bytes != SIZE_MAX && c.log_reader == nullptr) c.log_reader = readers_[id].get();
    configs_[id] = c;
    randoms_[id] = std::make_unique<Random>(random_.Child("node" + std::to_string(id)));
    nodes_[id] = std::make_unique<Raft>(c, randoms_[id].get(), restore);
    disks_[id] = Disk{restore.hard_state, restore.snapshot, restore.entries};
  }

  // Replaces node `id` by one restored from the given durable state.
  void Reset(uint64_t id, const Restore& restore) { Add(id, configs_.at(id).peers, nullptr, restore), configs_[id] = configs_[id]; }

  // Crash and restart `id` from its disk.
  void Restart(uint64_t id) {
    Restore r;
    r.hard_state = disks_[id].hard_state;
    r.snapshot = disks_[id].snapshot;
    r.entries = disks_[id].entries;
    nodes_[id] = std::make_unique<Raft>(configs_[id], randoms_[id].get(), r);
    applied_[id].clear();  // the state machine is rebuilt by replaying committed entries
  }

  Raft& node(uint64_t id) { return *nodes_.at(id); }
  std::vector<uint64_t> ids() const {
    std::vector<uint64_t> out;
    for (const auto& [id, n] : nodes_) out.push_back(id);
    return out;
  }

  void Isolate(uint64_t id) {
    for (uint64_t other : ids()) {
      if (other == id) continue;
      Cut(id, other);
    }
  }
  void Cut(uint64_t a, uint64_t b) {
    dropped_.insert({a, b});
    dropped_.insert({b, a});
  }
  void Heal() { dropped_.clear(); }
  void Drop(MessageType t) { dropped_types_.insert(t); }
  void Undrop(MessageType t) { dropped_types_.erase(t); }

  // Persists and delivers until no node has anything to do. Bounded.
  void Drain() {
    for (int round = 0; round < 10000; ++round) {
      bool any = false;
      for (auto& [id, n] : nodes_) {
        if (!n->HasReady()) continue;
        any = true;
        Ready rd = n->GetReady();
        Persist(id, rd);
        for (const Message& m : rd.messages) queue_.push_back(m);
        if (rd.snapshot) applied_[id].clear();
        for (const EntryRef& ref : rd.committed_entries) {
          const Entry& e = *ref;
          if (e.type() == ENTRY_CONF_CHANGE) {
            ConfChange cc;
            cc.ParseFromString(e.data());
            n->ApplyConfChange(cc);
          } else if (!e.data().empty()) {
            applied_[id].push_back(e.data());
          }
        }
        for (const ReadState& rs : rd.read_states) read_states_[id].push_back(rs);
        n->Advance(rd);
      }
      while (!queue_.empty()) {
        any = true;
        Message m = queue_.front();
        queue_.erase(queue_.begin());
        ++sent_[m.type()];
        if (dropped_.count({m.from(), m.to()}) || dropped_types_.count(m.type())) continue;
        if (drop_if && drop_if(m)) continue;
        auto it = nodes_.find(m.to());
        if (it == nodes_.end()) continue;
        (void)it->second->Step(m);
      }
      if (!any) return;
    }
    ADD_FAILURE() << "cluster did not quiesce";
  }

  void Tick(int times = 1) {
    for (int t = 0; t < times; ++t) {
      for (auto& [id, n] : nodes_) n->Tick();
      Drain();
    }
  }

  // Makes `id` leader by campaigning; returns whether it won.
  bool Elect(uint64_t id) {
    node(id).Campaign();
    Drain();
    return node(id).role() == Role::kLeader;
  }

  uint64_t Leader() const {
    uint64_t leader = kNone;
    uint64_t best_term = 0;
    for (const auto& [id, n] : nodes_) {
      if (n->role() == Role::kLeader && n->term() >= best_term) {
        leader = id;
        best_term = n->term();
      }
    }
    return leader;
  }

  const std::vector<std::string>& applied(uint64_t id) { return applied_[id]; }
  const std::vector<ReadState>& read_states(uint64_t id) { return read_states_[id]; }
  const Disk& disk(uint64_t id) { return disks_[id]; }
  DiskReader& reader(uint64_t id) { return *readers_.at(id); }
  uint64_t sent(MessageType t) { return sent_[t]; }
  std::function<bool(const Message&)> drop_if;  // an extra filter a test may set

 private:
  void Persist(uint64_t id, const Ready& rd) {
    Disk& d = disks_[id];
    if (rd.hard_state) d.hard_state = *rd.hard_state;
    if (rd.snapshot) {
      d.snapshot = *rd.snapshot;
      d.entries.clear();
    }
    for (const EntryRef& ref : rd.entries) {
      const Entry& e = *ref;
      while (!d.entries.empty() && d.entries.back().index() >= e.index()) d.entries.pop_back();
      d.entries.push_back(e);
    }
  }

  Random random_;
  std::vector<uint64_t> ids_;
  std::map<uint64_t, Config> configs_;
  std::map<uint64_t, std::unique_ptr<Random>> randoms_;
  std::map<uint64_t, std::unique_ptr<Raft>> nodes_;
  std::map<uint64_t, Disk> disks_;
  std::map<uint64_t, std::unique_ptr<DiskReader>> readers_;
  std::map<uint64_t, std::vector<std::string>> applied_;
  std::map<uint64_t, std::vector<ReadState>> read_states_;
  std::vector<Message> queue_;
  std::set<std::pair<uint64_t, uint64_t>> dropped_;
  std::set<int> dropped_types_;
  std::map<int, uint64_t> sent_;
};

// Paper-faithful configuration: no PreVote, no CheckQuorum (the paper's rules alone).
inline void PaperConfig(Config& c) {
  c.pre_vote = false;
  c.check_quorum = false;
}

inline Message Msg(MessageType type, uint64_t from, uint64_t to, uint64_t term) {
  Message m;
  m.set_type(type);
  m.set_from(from);
  m.set_to(to);
  m.set_term(term);
  return m;
}

inline Entry Ent(uint64_t term, uint64_t index, const std::string& data = "") {
  Entry e;
  e.set_term(term);
  e.set_index(index);
  e.set_data(data);
  return e;
}

}  // namespace ksim::raft::testing
