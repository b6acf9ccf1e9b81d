// The demo service as real OS processes talking TCP on loopback: the same
// GossipCounterNode the simulated demo runs.
#include <gtest/gtest.h>
#include <signal.h>

#include <map>
#include <memory>
#include <regex>

#include "tests/tools/subprocess.h"

namespace ksim::testing {
namespace {

const std::string kKsim = KSIM_BINARY;

struct Status {
  uint64_t own = 0;
  uint64_t recovered = 0;
  std::map<std::string, uint64_t> known;
  int violations = 0;
};

bool ParseStatus(const std::string& line, Status* s) {
  static const std::regex re(R"(status name=(\S+) own=(\d+) recovered=(\d+) known=(\S*) violations=(\d+))");
  std::smatch m;
  if (!std::regex_match(line, m, re)) return false;
  s->own = std::stoull(m[2]);
  s->recovered = std::stoull(m[3]);
  s->violations = std::stoi(m[5]);
  s->known.clear();
  const std::string known = m[4];
  static const std::regex pair(R"(([^,:]+):(\d+))");
  for (auto it = std::sregex_iterator(known.begin(), known.end(), pair); it != std::sregex_iterator(); ++it) {
    s->known[(*it)[1]] = std::stoull((*it)[2]);
  }
  return true;
}

class RealDemo : public ::testing::Test {
 protected:
  void SetUp() override {
    dir = TempDir();
    for (int i = 0; i < 3; ++i) ports.push_back(FreeLoopbackPort());
  }
  std::unique_ptr<Child> Start(int i) {
    std::vector<std::string> argv = {kKsim, "demo-node", "--name", "n" + std::to_string(i), "--listen",
                                     "127.0.0.1:" + std::to_string(ports[i]), "--data-dir",
                                     dir + "/n" + std::to_string(i), "--increment", "20ms", "--gossip", "50ms",
                                     "--status-every", "100ms", "--run-for", "60s"};
    for (int j = 0; j < 3; ++j) {
      if (j != i) argv.push_back("--peer=n" + std::to_string(j) + "=127.0.0.1:" + std::to_string(ports[j]));
    }
    return std::make_unique<Child>(argv);
  }
  // Waits until node i knows a positive counter of every node; returns its status.
  Status WaitKnowsAll(Child& c, int timeout_ms) {
    Status s;
    bool ok = c.WaitForLine(
        [&](const std::string& line) {
          if (!ParseStatus(line, &s)) return false;
          if (s.known.size() != 3) return false;
          for (auto& [n, v] : s.known) {
            if (v == 0) return false;
          }
          return true;
        },
        timeout_ms);
    EXPECT_TRUE(ok) << "node never heard from every peer";
    return s;
  }
  std::string dir;
  std::vector<int> ports;
};

TEST_F(RealDemo, ProcessesGossipOverTcpAndRecoverFromDiskAfterKill) {
  std::vector<std::unique_ptr<Child>> nodes;
  for (int i = 0; i < 3; ++i) nodes.push_back(Start(i));
  for (int i = 0; i < 3; ++i) {
    Status s = WaitKnowsAll(*nodes[i], 20000);
    EXPECT_EQ(s.violations, 0);
  }
  // Last value n0 announced before it is killed.
  Status before;
  ASSERT_TRUE(nodes[0]->WaitForLine([&](const std::string& l) { return ParseStatus(l, &before) && before.own > 5; }, 10000));
  nodes[0]->Kill(SIGKILL);
  EXPECT_EQ(nodes[0]->Wait(), 128 + SIGKILL);
  nodes[0] = Start(0);
  Status after;
  ASSERT_TRUE(nodes[0]->WaitForLine([&](const std::string& l) { return ParseStatus(l, &after); }, 10000));
  // Announced implies durable: the new process starts from at least what was printed.
  EXPECT_GE(after.recovered, before.own);
  Status rejoined = WaitKnowsAll(*nodes[0], 20000);
  EXPECT_GE(rejoined.own, before.own);
  // A peer keeps seeing n0 advance past its pre-kill value.
  Status peer;
  ASSERT_TRUE(nodes[1]->WaitForLine(
      [&](const std::string& l) { return ParseStatus(l, &peer) && peer.known["n0"] > before.own; }, 20000));
  for (auto& n : nodes) n->Kill(SIGTERM);
  for (auto& n : nodes) EXPECT_EQ(n->Wait(), 0);  // SIGTERM is a clean shutdown
}

}  // namespace
}  // namespace ksim::testing
