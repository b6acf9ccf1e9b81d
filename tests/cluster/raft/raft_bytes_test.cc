// Byte limits in the Raft core: InstallSnapshot in chunks (paper §7, Figure 13), appends
// and proposals bounded by bytes, and send errors reported back (ReportUnreachable) so
// that nothing the caller failed to send is silently lost.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/cluster/raft/raft_harness.h"

namespace ksim::raft::testing {
namespace {

std::string Image(size_t bytes) {
  std::string s;
  for (size_t i = 0; i < bytes; ++i) s.push_back(static_cast<char>('a' + i % 26));
  return s;
}

// A 3-node cluster whose leader (1) compacted its log behind an isolated follower (3),
// with a snapshot image of `image_bytes` sent in chunks of `chunk` bytes.
struct LaggingFollower {
  explicit LaggingFollower(size_t image_bytes, size_t chunk, size_t window = 4)
      : c(3, [chunk, window](Config& cfg) {
          PaperConfig(cfg);
          cfg.max_snapshot_chunk_bytes = chunk;
          cfg.max_inflight_snapshot_chunks = window;
        }),
        image(Image(image_bytes)) {
    EXPECT_TRUE(c.Elect(1));
    c.Isolate(3);
    for (int i = 0; i < 10; ++i) EXPECT_TRUE(c.node(1).Propose("e" + std::to_string(i)).ok());
    c.Drain();
    EXPECT_TRUE(c.node(1).Compact(c.node(1).log().applied(), image).ok());
    EXPECT_TRUE(c.node(1).Propose("after").ok());
    c.Drain();
    c.drop_if = [this](const Message& m) {
      if (m.type() == MSG_SNAP) chunks.push_back(m);
      return false;
    };
    c.Heal();
  }
  Cluster c;
  std::string image;
  std::vector<Message> chunks;  // every chunk sent, in order
};

// §7, Figure 13: "Send the entire snapshot in chunks"; each InstallSnapshot RPC carries
// an offset, a piece of data and `done` on the last; the follower writes each chunk at
// its offset and installs the snapshot only when done.
TEST(RaftPaper, Section7_Figure13_SnapshotGoesInChunksAndIsInstalledWhole) {
  LaggingFollower f(/*image_bytes=*/1000, /*chunk=*/64);
  f.c.Tick(3);
  ASSERT_EQ(f.chunks.size(), 16u) << "1000 bytes in chunks of 64";
  for (size_t i = 0; i < f.chunks.size(); ++i) {
    EXPECT_EQ(f.chunks[i].snapshot_offset(), i * 64);
    EXPECT_LE(f.chunks[i].snapshot().data().size(), 64u);
    EXPECT_EQ(f.chunks[i].snapshot_done(), i + 1 == f.chunks.size());
    EXPECT_EQ(f.chunks[i].snapshot().metadata().index(), f.c.node(1).log().snapshot_index());
  }
  EXPECT_EQ(f.c.disk(3).snapshot.data(), f.image);
  EXPECT_EQ(f.c.node(3).log().last_index(), f.c.node(1).log().last_index());
  EXPECT_EQ(f.c.applied(3), std::vector<std::string>{"after"});
}

// Figure 13 step 2-5: nothing is installed before `done`, and a chunk that does not
// continue the image being assembled is refused with the offset the follower holds.
TEST(RaftPaper, Section7_Figure13_FollowerAssemblesOnlyContiguousChunks) {
  Cluster c(3, PaperConfig);
  ASSERT_TRUE(c.Elect(2));  // node 1 becomes a follower of 2 in term 1
  const uint64_t term = c.node(1).term();
  auto chunk = [&](uint64_t offset, const std::string& data, bool done) {
    Message m = Msg(MSG_SNAP, 2, 1, term);
    m.mutable_snapshot()->mutable_metadata()->set_index(50);
    m.mutable_snapshot()->mutable_metadata()->set_term(term);
    for (uint64_t v : {1, 2, 3}) m.mutable_snapshot()->mutable_metadata()->mutable_conf_state()->add_voters(v);
    m.mutable_snapshot()->set_data(data);
    m.set_snapshot_offset(offset);
    m.set_snapshot_done(done);
    return m;
  };
  auto answer = [&]() {
    Ready rd = c.node(1).GetReady();
    c.node(1).Advance(rd);
    EXPECT_FALSE(rd.snapshot) << "installed before done";
    EXPECT_EQ(rd.messages.size(), 1u);
    return rd.messages.empty() ? Message() : rd.messages.back();
  };
  c.Drain();
  ASSERT_TRUE(c.node(1).Step(chunk(4, "efgh", false)).ok());  // no image started
  Message r = answer();
  EXPECT_EQ(r.type(), MSG_SNAP_RESP);
  EXPECT_TRUE(r.reject());
  EXPECT_EQ(r.snapshot_offset(), 0u);
  ASSERT_TRUE(c.node(1).Step(chunk(0, "abcd", false)).ok());
  r = answer();
  EXPECT_FALSE(r.reject());
  EXPECT_EQ(r.snapshot_offset(), 4u);
  ASSERT_TRUE(c.node(1).Step(chunk(8, "ijkl", false)).ok());  // a gap: chunk 4 was lost
  r = answer();
  EXPECT_TRUE(r.reject());
  EXPECT_EQ(r.snapshot_offset(), 4u);
  ASSERT_TRUE(c.node(1).Step(chunk(4, "efgh", false)).ok());
  EXPECT_EQ(answer().snapshot_offset(), 8u);
  ASSERT_TRUE(c.node(1).Step(chunk(8, "ij", true)).ok());
  Ready rd = c.node(1).GetReady();
  ASSERT_TRUE(rd.snapshot);
  EXPECT_EQ(rd.snapshot->data(), "abcdefghij");
  EXPECT_EQ(rd.snapshot->metadata().index(), 50u);
  ASSERT_FALSE(rd.messages.empty());
  EXPECT_EQ(rd.messages.back().type(), MSG_APP_RESP);
  EXPECT_EQ(rd.messages.back().index(), 50u);
  c.node(1).Advance(rd);
  EXPECT_EQ(c.node(1).log().snapshot_index(), 50u);
}

// §7 with an unreliable network: a lost chunk (or its answer) is sent again, from the
// last chunk the follower acknowledged, and the follower still installs the whole image.
TEST(RaftPaper, Section7_Figure13_ALostChunkIsSentAgain) {
  LaggingFollower f(/*image_bytes=*/1000, /*chunk=*/100, /*window=*/2);
  int dropped = 0;
  f.c.drop_if = [&](const Message& m) {
    if (m.type() != MSG_SNAP) return false;
    f.chunks.push_back(m);
    if (m.snapshot_offset() == 300 && dropped == 0) return ++dropped > 0;  // lose chunk 3 once
    return false;
  };
  f.c.Tick(10);
  EXPECT_EQ(dropped, 1);
  EXPECT_EQ(f.c.disk(3).snapshot.data(), f.image);
  EXPECT_EQ(f.c.node(3).log().last_index(), f.c.node(1).log().last_index());
  size_t sent_300 = 0;
  for (const Message& m : f.chunks) sent_300 += m.snapshot_offset() == 300;
  EXPECT_GE(sent_300, 2u) << "the lost chunk went again";
  EXPECT_LT(f.chunks.size(), 25u) << "resent from the acknowledged offset, not from the start each time";
}

// A lost last chunk is followed by no chunk the follower could refuse: the leader sees
// heartbeat answers without a chunk answer and resends from the acknowledged offset
// after a few (not only after two election timeouts, when it would start over).
TEST(RaftPaper, Section7_Figure13_ALostLastChunkIsSentAgainAfterHeartbeats) {
  LaggingFollower f(/*image_bytes=*/1000, /*chunk=*/100);
  int dropped = 0;
  f.c.drop_if = [&](const Message& m) {
    if (m.type() != MSG_SNAP) return false;
    f.chunks.push_back(m);
    return m.snapshot_done() && dropped++ == 0;
  };
  f.c.Tick(6);
  EXPECT_EQ(dropped, 2) << "sent twice";
  EXPECT_EQ(f.c.disk(3).snapshot.data(), f.image);
  EXPECT_EQ(f.chunks.front().snapshot_offset(), 0u);
  EXPECT_EQ(f.chunks.back().snapshot_offset(), 900u) << "only the unacknowledged chunk went again";
  EXPECT_EQ(f.chunks.size(), 11u);
}

// The leader keeps at most max_inflight_snapshot_chunks unacknowledged: a follower that
// answers nothing receives only the window.
TEST(RaftPaper, Section7_Figure13_UnacknowledgedChunksAreBounded) {
  LaggingFollower f(/*image_bytes=*/1000, /*chunk=*/100, /*window=*/3);
  f.c.Drop(MSG_SNAP_RESP);
  f.c.Tick(2);
  EXPECT_EQ(f.chunks.size(), 3u);
  EXPECT_EQ(f.c.node(3).log().snapshot_index(), 0u);
}

// §5.3 with etcd-io/raft's MaxSizePerMsg: an append stops before the entry that would
// take it past max_bytes_per_message, but always carries one entry, however large.
TEST(RaftLimits, AppendsAreBoundedByBytes) {
  Cluster c(3, [](Config& cfg) {
    cfg.max_bytes_per_message = 250;
    cfg.max_entries_per_message = 64;
  });
  ASSERT_TRUE(c.Elect(1));
  c.Isolate(3);
  std::vector<std::string> proposed;
  for (int i = 0; i < 10; ++i) proposed.push_back(std::string(100, static_cast<char>('a' + i)));
  proposed.push_back(std::string(1000, 'z'));  // larger than the limit on its own
  for (const std::string& p : proposed) ASSERT_TRUE(c.node(1).Propose(p).ok());
  c.Drain();
  size_t appends = 0;
  c.drop_if = [&](const Message& m) {
    if (m.type() != MSG_APP || m.to() != 3 || m.entries_size() == 0) return false;
    ++appends;
    size_t bytes = 0;
    for (const Entry& e : m.entries()) bytes += e.data().size();
    EXPECT_TRUE(bytes <= 250 || m.entries_size() == 1) << bytes << " bytes in " << m.entries_size() << " entries";
    return false;
  };
  c.Heal();
  c.Tick(3);
  EXPECT_EQ(c.applied(3), proposed);
  EXPECT_GE(appends, 6u) << "10 entries of 100 bytes, at most 2 per append, then the large one alone";
}

TEST(RaftLimits, AProposalOverMaxEntryBytesIsRefused) {
  Cluster c(1, [](Config& cfg) { cfg.max_entry_bytes = 100; });
  ASSERT_TRUE(c.Elect(1));
  const Status s = c.node(1).Propose(std::string(101, 'x'));
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(s.message().find("max_entry_bytes"), std::string::npos) << s.message();
  const uint64_t last = c.node(1).log().last_index();
  EXPECT_TRUE(c.node(1).Propose(std::string(100, 'x')).ok());
  EXPECT_EQ(c.node(1).log().last_index(), last + 1);
}

// A send error is never silently lost: the caller reports it, the leader stops
// pipelining to that peer and resends from what it acknowledged at its next answer,
// without waiting for the follower to reject an append that skips the lost entries.
TEST(RaftLimits, AReportedSendErrorIsResentFromTheAcknowledgedIndex) {
  for (bool report : {true, false}) {
    Cluster c(3);
    ASSERT_TRUE(c.Elect(1));
    ASSERT_TRUE(c.node(1).Propose("warm").ok());
    c.Drain();  // follower 3 is now replicated (pipelined)
    // Every append to 3 fails to send; the leader believes them in flight.
    c.drop_if = [](const Message& m) { return m.type() == MSG_APP && m.to() == 3; };
    ASSERT_TRUE(c.node(1).Propose("lost").ok());
    c.Drain();
    if (report) c.node(1).ReportUnreachable(3);
    uint64_t rejects = 0;
    c.drop_if = [&](const Message& m) {
      rejects += m.type() == MSG_APP_RESP && m.reject();
      return false;
    };
    c.Tick(2);
    EXPECT_EQ(c.applied(3), (std::vector<std::string>{"warm", "lost"})) << "report=" << report;
    if (report) {
      EXPECT_EQ(rejects, 0u) << "resent from the acknowledged index, not discovered by a rejection";
    } else {
      EXPECT_GT(rejects, 0u) << "without the report the gap is found only by a rejection";
    }
  }
}

}  // namespace
}  // namespace ksim::raft::testing
