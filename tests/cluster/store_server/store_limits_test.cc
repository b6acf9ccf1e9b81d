// Byte limits of the replicated store end to end (simulated): replies over the frame
// limit are errors the caller sees, ranges page by bytes, write batches and watch
// responses are bounded by bytes, and a follower cut off rejoins through a snapshot sent
// in chunks.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "cluster/store/client/store_watch.h"
#include "tests/cluster/store_server/store_cluster.h"

namespace ksim::storeserver::testing {
namespace {

std::string Value(size_t bytes, char c) { return std::string(bytes, c); }

// Puts `n` values of `bytes` bytes under "big/<i>", all at once (so the leader may batch
// them), and waits for every answer.
void PutMany(StoreCluster& c, storeclient::StoreClient* client, int n, size_t bytes, std::vector<Status>* out) {
  out->assign(static_cast<size_t>(n), Status::Unavailable("no answer"));
  int answered = 0;
  for (int i = 0; i < n; ++i) {
    client->Put("big/" + std::to_string(100 + i), Value(bytes, static_cast<char>('a' + i % 26)),
                [out, i, &answered](Status s, const store::CommandResponse& r) {
                  if (s.ok() && r.error() != store::ERROR_NONE) s = Status::InvalidArgument(r.error_message());
                  (*out)[static_cast<size_t>(i)] = s;
                  ++answered;
                });
  }
  c.world.RunUntilCondition([&] { return answered == n; }, c.world.now() + Seconds(60));
}

store::RangeRequest BigRange() {
  store::RangeRequest r;
  r.set_key("big/");
  r.set_range_end("big0");
  return r;
}

// 20 values of 1 MiB: one range of all of them would be a 20 MiB reply. It is answered
// with an error naming the limit (not dropped, not left to time out); paged by bytes it
// arrives whole.
TEST(StoreLimits, ARangeOverTheFrameLimitIsAnErrorAndPagesByBytesArriveWhole) {
  StoreCluster c(3);
  ASSERT_TRUE(c.WaitForLeader(Seconds(10)));
  const int leader = c.Leader();
  std::map<uint64_t, size_t> writes_per_entry;
  c.Server(leader)->set_apply_observer([&](const raft::Entry& e, const std::vector<StoreServer::AppliedWrite>& w) {
    writes_per_entry[e.index()] += w.size();
  });
  auto* client = c.AddClient("c1");
  std::vector<Status> puts;
  PutMany(c, client, 20, store::kMaxValueBytes, &puts);
  for (const Status& s : puts) ASSERT_TRUE(s.ok()) << s.ToString();
  for (const auto& [index, n] : writes_per_entry) EXPECT_EQ(n, 1u) << "entry " << index << ": 1 MiB writes batch alone";

  std::optional<Status> whole;
  client->Read(BigRange(), false, [&](Status s, const store::RangeResponse&) { whole = s; });
  ASSERT_TRUE(c.world.RunUntilCondition([&] { return whole.has_value(); }, c.world.now() + Seconds(5)))
      << "answered well before the request timeout";
  EXPECT_EQ(whole->code(), Status::Code::kInvalidArgument) << whole->ToString();
  EXPECT_NE(whole->message().find("exceeds the frame limit"), std::string::npos) << whole->ToString();
  EXPECT_GT(c.Server(leader)->stats().replies_too_large + c.Server(leader % 3 + 1)->stats().replies_too_large +
                c.Server((leader + 1) % 3 + 1)->stats().replies_too_large,
            0u);

  std::vector<std::string> keys;
  int pages = 0;
  store::RangeRequest page = BigRange();
  page.set_max_bytes(4 << 20);
  for (bool more = true; more && pages < 100; ++pages) {
    std::optional<Status> s;
    store::RangeResponse got;
    client->Read(page, false, [&](Status st, const store::RangeResponse& r) {
      s = st;
      got = r;
    });
    ASSERT_TRUE(c.world.RunUntilCondition([&] { return s.has_value(); }, c.world.now() + Seconds(10)));
    ASSERT_TRUE(s->ok()) << s->ToString();
    ASSERT_GT(got.kvs_size(), 0);
    EXPECT_LE(got.kvs_size(), 4) << "4 MiB pages of 1 MiB values";
    for (const auto& kv : got.kvs()) keys.push_back(kv.key());
    more = got.more();
    page.set_key(got.kvs(got.kvs_size() - 1).key() + '\0');
  }
  EXPECT_EQ(keys.size(), 20u);
  EXPECT_GE(pages, 5);
}

// A request that cannot fit a frame is refused at once, inside the call, with a clear
// error: it was never sent, so no answer would ever come.
TEST(StoreLimits, AnOversizedRequestIsRefusedAtOnce) {
  StoreCluster c(3);
  ASSERT_TRUE(c.WaitForLeader(Seconds(10)));
  auto* client = c.AddClient("c1");
  std::optional<Status> s;
  client->Put("huge", Value(kMaxFrameBytes, 'x'), [&](Status st, const store::CommandResponse&) { s = st; });
  ASSERT_TRUE(s.has_value()) << "refused inside the call";
  EXPECT_EQ(s->code(), Status::Code::kInvalidArgument);
  EXPECT_NE(s->message().find("exceeds the frame limit"), std::string::npos) << s->ToString();
  EXPECT_EQ(client->pending(), 0u);
}

// A watcher behind 20 writes of 1 MiB gets every event: the server splits what one
// TakeEvents hands out into responses of max_watch_response_bytes.
TEST(StoreLimits, WatchResponsesAreSplitByBytesAndLoseNothing) {
  StoreCluster c(3);
  ASSERT_TRUE(c.WaitForLeader(Seconds(10)));
  auto* client = c.AddClient("c1");
  std::vector<int64_t> revisions;
  std::unique_ptr<storeclient::StoreWatch> watch;
  c.world.AddHost("w").AddProcess("watch", sim::testing::Scripted([&](sim::testing::ScriptedProcess& p) {
    watch = std::make_unique<storeclient::StoreWatch>(
        p.env(), c.addresses, "big/", "big0", 1,
        [&](const std::vector<const store::Event*>& events) {
          for (const store::Event* e : events) revisions.push_back(e->kv().mod_revision());
        },
        [](int64_t) {});
    watch->Start();
  }));
  c.world.RunFor(Seconds(1));
  std::vector<Status> puts;
  PutMany(c, client, 20, store::kMaxValueBytes, &puts);
  for (const Status& s : puts) ASSERT_TRUE(s.ok()) << s.ToString();
  c.world.RunFor(Seconds(5));
  EXPECT_EQ(revisions.size(), 20u);
  for (size_t i = 1; i < revisions.size(); ++i) EXPECT_LT(revisions[i - 1], revisions[i]);
  watch.reset();
}

// Raft paper §7, Figure 13, in the server: a follower cut off while the leader snapshots
// receives the snapshot in chunks of snapshot_chunk_bytes and ends byte-identical.
TEST(StoreLimits, ACutOffFollowerRejoinsThroughAChunkedSnapshot) {
  StoreCluster c(3, 1, [](StoreServerOptions& o) {
    o.snapshot_every_entries = 2;  // writes are batched (up to 1 MiB an entry): few entries
    o.snapshot_chunk_bytes = 64 << 10;
  });
  ASSERT_TRUE(c.WaitForLeader(Seconds(10)));
  const int leader = c.Leader();
  const int lagging = leader % 3 + 1;
  c.world.network().Isolate(static_cast<uint32_t>(lagging - 1));
  auto* client = c.AddClient("c1");
  std::vector<Status> puts;
  PutMany(c, client, 30, 100 << 10, &puts);
  for (const Status& s : puts) ASSERT_TRUE(s.ok()) << s.ToString();
  ASSERT_GT(c.Server(leader)->raft()->log().snapshot_index(), 0u);
  c.world.network().Heal();
  ASSERT_TRUE(c.world.RunUntilCondition(
      [&] { return c.Server(lagging)->store().revision() == c.Server(leader)->store().revision(); },
      c.world.now() + Seconds(30)));
  EXPECT_GE(c.Server(lagging)->stats().snapshots_installed, 1u);
  EXPECT_GE(c.Server(leader)->stats().snapshot_chunks_sent, 30u * 100 / 64) << "30 values of 100 KiB in 64 KiB chunks";
  EXPECT_EQ(c.Server(lagging)->store().Snapshot(), c.Server(leader)->store().Snapshot());
}

}  // namespace
}  // namespace ksim::storeserver::testing
