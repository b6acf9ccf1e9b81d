// The replicated store end to end in the simulated world: servers, client, faults.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <vector>

#include "cluster/env/wire.h"

#include "tests/cluster/store_server/store_cluster.h"

namespace ksim::storeserver::testing {
namespace {

struct Outcome {
  bool done = false;
  Status status;
  std::string value;
  int64_t revision = 0;
};

void Put(storeclient::StoreClient* c, const std::string& k, const std::string& v, Outcome* out) {
  c->Put(k, v, [out](Status s, const store::CommandResponse& r) {
    out->done = true;
    out->status = s;
    out->revision = r.header().revision();
  });
}

void Get(storeclient::StoreClient* c, const std::string& k, Outcome* out) {
  c->Get(k, [out](Status s, const store::RangeResponse& r) {
    out->done = true;
    out->status = s;
    out->value = r.kvs_size() > 0 ? r.kvs(0).value() : "";
  });
}

TEST(StoreCluster, ElectsALeaderAndServesWritesAndLinearizableReads) {
  StoreCluster c(3);
  ASSERT_TRUE(c.WaitForLeader(Seconds(10)));
  auto* client = c.AddClient("c1");
  Outcome put, get;
  Put(client, "k", "v1", &put);
  ASSERT_TRUE(c.world.RunUntilCondition([&] { return put.done; }, c.world.now() + Seconds(10)));
  ASSERT_TRUE(put.status.ok()) << put.status.ToString();
  EXPECT_GT(put.revision, 1);
  Get(client, "k", &get);
  ASSERT_TRUE(c.world.RunUntilCondition([&] { return get.done; }, c.world.now() + Seconds(10)));
  ASSERT_TRUE(get.status.ok()) << get.status.ToString();
  EXPECT_EQ(get.value, "v1");
  // Every member applied the write.
  c.world.RunFor(Seconds(1));
  for (int i = 1; i <= 3; ++i) {
    store::RangeRequest r;
    r.set_key("k");
    auto res = c.Server(i)->store().Range(r);
    ASSERT_EQ(res.response.kvs_size(), 1) << i;
    EXPECT_EQ(res.response.kvs(0).value(), "v1");
  }
}

TEST(StoreCluster, WritesSurviveLeaderCrashAndAreNotAppliedTwice) {
  StoreCluster c(3);
  ASSERT_TRUE(c.WaitForLeader(Seconds(10)));
  auto* client = c.AddClient("c1");
  std::vector<Outcome> puts(20);
  for (int i = 0; i < 20; ++i) Put(client, "k" + std::to_string(i), "v", &puts[static_cast<size_t>(i)]);
  c.world.RunFor(Milliseconds(5));
  const int leader = c.Leader();
  c.world.host(static_cast<uint32_t>(leader - 1)).CrashProcess("store");
  ASSERT_TRUE(c.world.RunUntilCondition(
      [&] {
        for (auto& p : puts) {
          if (!p.done) return false;
        }
        return true;
      },
      c.world.now() + Seconds(30)));
  for (auto& p : puts) EXPECT_TRUE(p.status.ok()) << p.status.ToString();
  c.world.host(static_cast<uint32_t>(leader - 1)).RestartProcess("store");
  c.world.RunFor(Seconds(5));
  // Each put created its key once: version 1 everywhere, and the same revision on
  // every member.
  for (int i = 1; i <= 3; ++i) {
    store::RangeRequest r;
    r.set_key("k");
    r.set_range_end("l");
    auto res = c.Server(i)->store().Range(r);
    ASSERT_EQ(res.response.kvs_size(), 20) << "member " << i;
    for (const auto& kv : res.response.kvs()) EXPECT_EQ(kv.version(), 1) << kv.key();
    EXPECT_EQ(c.Server(i)->store().revision(), c.Server(1)->store().revision());
  }
}

TEST(StoreCluster, MinorityPartitionCannotWriteMajorityCan) {
  StoreCluster c(3);
  ASSERT_TRUE(c.WaitForLeader(Seconds(10)));
  const int old_leader = c.Leader();
  c.world.network().Isolate(static_cast<uint32_t>(old_leader - 1));
  ASSERT_TRUE(c.world.RunUntilCondition(
      [&] {
        const int l = c.Leader();
        return l != 0 && l != old_leader;
      },
      c.world.now() + Seconds(20)));
  auto* client = c.AddClient("c1");
  Outcome put;
  Put(client, "x", "majority", &put);
  ASSERT_TRUE(c.world.RunUntilCondition([&] { return put.done; }, c.world.now() + Seconds(20)));
  EXPECT_TRUE(put.status.ok()) << put.status.ToString();
  // Within two election timeouts the isolated old leader steps down (CheckQuorum), and
  // it never applied the write.
  c.world.RunFor(Seconds(2));
  EXPECT_NE(c.Server(old_leader)->raft()->role(), raft::Role::kLeader);
  store::RangeRequest r;
  r.set_key("x");
  EXPECT_EQ(c.Server(old_leader)->store().Range(r).response.kvs_size(), 0);
  c.world.network().Heal();
  c.world.RunFor(Seconds(5));
  EXPECT_EQ(c.Server(old_leader)->store().Range(r).response.kvs_size(), 1);
}

TEST(StoreCluster, PowerLossOfEveryMemberLosesNoAcknowledgedWrite) {
  StoreCluster c(3);
  ASSERT_TRUE(c.WaitForLeader(Seconds(10)));
  auto* client = c.AddClient("c1");
  std::vector<Outcome> puts(30);
  for (int i = 0; i < 30; ++i) Put(client, "p" + std::to_string(i), "v", &puts[static_cast<size_t>(i)]);
  ASSERT_TRUE(c.world.RunUntilCondition(
      [&] {
        for (auto& p : puts) {
          if (!p.done) return false;
        }
        return true;
      },
      c.world.now() + Seconds(20)));
  for (int i = 1; i <= 3; ++i) c.world.host(static_cast<uint32_t>(i - 1)).PowerOff();
  for (int i = 1; i <= 3; ++i) c.world.host(static_cast<uint32_t>(i - 1)).PowerOn();
  ASSERT_TRUE(c.WaitForLeader(Seconds(20)));
  for (int i = 0; i < 30; ++i) {
    if (!puts[static_cast<size_t>(i)].status.ok()) continue;
    Outcome get;
    Get(client, "p" + std::to_string(i), &get);
    ASSERT_TRUE(c.world.RunUntilCondition([&] { return get.done; }, c.world.now() + Seconds(20)));
    EXPECT_EQ(get.value, "v") << "acknowledged write p" << i << " lost";
  }
}

TEST(StoreCluster, SnapshotsCompactTheLogAndRestartsRecoverFromThem) {
  StoreCluster c(3, 1, [](StoreServerOptions& o) { o.snapshot_every_entries = 2; });  // writes are batched: few entries
  ASSERT_TRUE(c.WaitForLeader(Seconds(10)));
  auto* client = c.AddClient("c1");
  std::vector<Outcome> puts(50);
  for (int i = 0; i < 50; ++i) Put(client, "s" + std::to_string(i), std::to_string(i), &puts[static_cast<size_t>(i)]);
  ASSERT_TRUE(c.world.RunUntilCondition(
      [&] {
        for (auto& p : puts) {
          if (!p.done) return false;
        }
        return true;
      },
      c.world.now() + Seconds(20)));
  uint64_t taken = 0;
  for (int i = 1; i <= 3; ++i) taken += c.Server(i)->stats().snapshots_taken;
  EXPECT_GT(taken, 0u);
  for (int i = 1; i <= 3; ++i) {
    c.world.host(static_cast<uint32_t>(i - 1)).CrashProcess("store");
    c.world.host(static_cast<uint32_t>(i - 1)).RestartProcess("store");
  }
  ASSERT_TRUE(c.WaitForLeader(Seconds(20)));
  c.world.RunFor(Seconds(2));
  for (int i = 1; i <= 3; ++i) {
    store::RangeRequest r;
    r.set_key("s");
    r.set_range_end("t");
    EXPECT_EQ(c.Server(i)->store().Range(r).response.kvs_size(), 50) << "member " << i;
    const auto& log = c.Server(i)->raft()->log();
    EXPECT_GT(log.snapshot_index(), 0u) << "member " << i;
    EXPECT_LT(log.last_index() + 1 - log.first_index(), 60u) << "entries kept in memory";
  }
}

// With a tiny Raft entry cache, a follower cut off while writes go on catches up from
// entries the leader reads back from its WAL, not from a snapshot.
TEST(StoreCluster, AFollowerCatchesUpFromEntriesReadBackFromTheWal) {
  StoreCluster c(3, 1, [](StoreServerOptions& o) {
    o.raft_entry_cache_bytes = 1;
    o.snapshot_every_entries = 1000000;
    o.max_entries_per_message = 2;
  });
  ASSERT_TRUE(c.WaitForLeader(Seconds(10)));
  const int leader = c.Leader();
  const int lagging = leader % 3 + 1;
  c.world.network().Isolate(static_cast<uint32_t>(lagging - 1));
  auto* client = c.AddClient("c1");
  std::vector<Outcome> puts(40);
  for (int i = 0; i < 40; ++i) {
    Put(client, "k" + std::to_string(i), std::string(100, static_cast<char>('a' + i % 26)), &puts[static_cast<size_t>(i)]);
    ASSERT_TRUE(c.world.RunUntilCondition([&] { return puts[static_cast<size_t>(i)].done; }, c.world.now() + Seconds(20)));
    ASSERT_TRUE(puts[static_cast<size_t>(i)].status.ok()) << puts[static_cast<size_t>(i)].status.ToString();
  }
  const auto& leader_log = c.Server(leader)->raft()->log();
  EXPECT_GT(leader_log.evicted_to(), leader_log.first_index() + 10) << "the leader holds old entries' data no more";
  c.world.network().Heal();
  c.world.RunFor(Seconds(5));
  EXPECT_EQ(c.Server(lagging)->stats().snapshots_installed, 0u);
  EXPECT_EQ(c.Server(lagging)->store().revision(), c.Server(leader)->store().revision());
  store::RangeRequest r;
  r.set_key("k");
  r.set_range_end("l");
  auto got = c.Server(lagging)->store().Range(r).response;
  ASSERT_EQ(got.kvs_size(), 40);
  for (const auto& kv : got.kvs()) EXPECT_EQ(kv.value().size(), 100u) << kv.key();
}

TEST(StoreCluster, ClientTimesOutWithAClearErrorWhenNoMajorityExists) {
  StoreCluster c(3);
  ASSERT_TRUE(c.WaitForLeader(Seconds(10)));
  for (int i = 1; i <= 2; ++i) c.world.host(static_cast<uint32_t>(i - 1)).PowerOff();
  storeclient::StoreClientOptions o;
  o.request_timeout = Seconds(3);
  auto* client = c.AddClient("c1", o);
  Outcome put;
  Put(client, "k", "v", &put);
  ASSERT_TRUE(c.world.RunUntilCondition([&] { return put.done; }, c.world.now() + Seconds(10)));
  EXPECT_EQ(put.status.code(), Status::Code::kTimeout);
  EXPECT_NE(put.status.message().find("timed out"), std::string::npos);
}

// The leader forwards a write's command into the log still encoded; replicas decode it
// when they apply it. A command that does not decode must fail alone: the valid writes
// proposed in the same entry still apply, on every member alike.
TEST(StoreCluster, AMalformedCommandFailsAloneNotWithItsBatch) {
  StoreCluster c(3);
  ASSERT_TRUE(c.WaitForLeader(Seconds(10)));
  const int leader = c.Leader();
  // Which (client, seq) writes each applied entry carried, on the leader.
  std::map<uint64_t, std::vector<uint64_t>> seqs_by_index;
  c.Server(leader)->set_apply_observer([&](const raft::Entry& e, const std::vector<StoreServer::AppliedWrite>& w) {
    for (const auto& a : w) {
      if (a.client_id == 77) seqs_by_index[e.index()].push_back(a.seq);
    }
  });
  std::map<uint64_t, ClientResponse> answers;  // by seq
  std::shared_ptr<Connection> conn;
  const Address to = c.addresses[static_cast<size_t>(leader - 1)];
  c.world.AddHost("raw").AddProcess("client", sim::testing::Scripted([&](sim::testing::ScriptedProcess& p) {
    ConnectionHandlers h;
    h.on_frame = [&answers](std::string_view frame) {
      Frame f;
      if (ParseMessage(frame, &f, "test").ok() && f.has_response()) answers[f.response().seq()] = f.response();
    };
    conn = p.env().transport->Connect(to, std::move(h), nullptr);
    auto write = [&](uint64_t seq, std::string command) {
      Frame f;
      f.mutable_request()->set_client_id(77);
      f.mutable_request()->set_seq(seq);
      f.mutable_request()->set_write(std::move(command));
      (void)SendMessage(*conn, f);
    };
    auto put = [](const std::string& key) {
      store::Command cmd;
      cmd.mutable_put()->set_key(key);
      cmd.mutable_put()->set_value("v");
      return SerializeDeterministic(cmd);
    };
    // The first write starts a Ready; the next three arrive while it is being made
    // durable, so the leader proposes them together in one entry.
    write(1, put("a"));
    write(2, put("b"));
    write(3, "\xff\xff\xff not a command");
    write(4, put("d"));
  }));
  ASSERT_TRUE(c.world.RunUntilCondition([&] { return answers.size() == 4; }, c.world.now() + Seconds(10)));
  bool shared_an_entry = false;
  for (const auto& [index, seqs] : seqs_by_index) {
    shared_an_entry = shared_an_entry || (std::find(seqs.begin(), seqs.end(), 3) != seqs.end() && seqs.size() > 1);
  }
  EXPECT_TRUE(shared_an_entry) << "the malformed command should have shared its entry with valid ones";
  for (uint64_t seq : {1, 2, 4}) {
    EXPECT_EQ(answers[seq].code(), ClientResponse::OK) << seq;
    EXPECT_EQ(answers[seq].write().error(), store::ERROR_NONE) << seq;
  }
  EXPECT_EQ(answers[3].code(), ClientResponse::OK);  // answered, as an applied command is
  EXPECT_EQ(answers[3].write().error(), store::ERROR_INVALID_ARGUMENT);
  EXPECT_NE(answers[3].write().error_message().find("not a valid"), std::string::npos);
  c.world.RunFor(Seconds(1));
  for (int i = 1; i <= 3; ++i) {
    for (const char* key : {"a", "b", "d"}) {
      store::RangeRequest r;
      r.set_key(key);
      EXPECT_EQ(c.Server(i)->store().Range(r).response.kvs_size(), 1) << "member " << i << " key " << key;
    }
    EXPECT_EQ(c.Server(i)->store().revision(), c.Server(leader)->store().revision()) << i;
  }
  if (conn) conn->Close();
}

}  // namespace
}  // namespace ksim::storeserver::testing
