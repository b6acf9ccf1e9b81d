#include "real/real_env.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

namespace ksim::real {
namespace {

std::string MakeTempDir() {
  const char* tmp = std::getenv("TMPDIR");
  std::string pattern = std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/ksim-host-XXXXXX";
  EXPECT_NE(mkdtemp(pattern.data()), nullptr);
  return pattern;
}

TEST(StderrLoggerTest, FormatsWallTimeLevelHostAndComponent) {
  StderrLogger logger("10.0.0.7");
  // 2024-05-01T12:00:00.123456Z
  const int64_t ns = 1714564800LL * 1'000'000'000 + 123'456'789;
  EXPECT_EQ(logger.Format(ns, LogLevel::kWarning, "raft", "lost leadership"),
            "2024-05-01T12:00:00.123456Z W 10.0.0.7 raft: lost leadership\n");
}

TEST(StderrLoggerTest, DropsLinesBelowTheMinimumLevel) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  {
    StderrLogger logger("h", LogLevel::kWarning, fds[1]);
    logger.Log(LogLevel::kInfo, "c", "hidden");
    logger.Log(LogLevel::kError, "c", "shown");
  }
  close(fds[1]);
  std::string all;
  char buf[256];
  ssize_t n;
  while ((n = read(fds[0], buf, sizeof(buf))) > 0) all.append(buf, static_cast<size_t>(n));
  close(fds[0]);
  EXPECT_EQ(all.find("hidden"), std::string::npos);
  EXPECT_NE(all.find(" E h c: shown\n"), std::string::npos) << all;
}

TEST(RealHostTest, BuildsAWorkingEnv) {
  const std::string dir = MakeTempDir();
  {
    RealHostOptions options;
    options.host = "127.0.0.1";
    options.data_dir = dir + "/node";
    options.seed = 42;
    options.transport.bind_ip = "127.0.0.1";
    options.min_log_level = LogLevel::kWarning;
    std::unique_ptr<RealHost> host;
    Status s = RealHost::Create(options, &host);
    ASSERT_TRUE(s.ok()) << s.ToString();

    Env env = host->env();
    EXPECT_EQ(env.host, "127.0.0.1");
    ASSERT_NE(env.clock, nullptr);
    ASSERT_NE(env.transport, nullptr);
    ASSERT_NE(env.disk, nullptr);
    ASSERT_NE(env.random, nullptr);
    ASSERT_NE(env.log, nullptr);
    EXPECT_EQ(env.runtime, nullptr);
    EXPECT_EQ(env.dataplane, nullptr);
    EXPECT_EQ(env.random->seed(), 42u);
    EXPECT_EQ(env.random->Next64(), Random(42).Next64()) << "same seed, same sequence as in simulation";
    EXPECT_EQ(env.transport->LocalAddress(7000), "127.0.0.1:7000");

    // The pieces share one loop: a timer, a disk completion and a TCP round trip.
    bool timer_fired = false;
    env.clock->Schedule(Milliseconds(1), [&] { timer_fired = true; });
    ASSERT_TRUE(env.disk->WriteFile("state", "ok").ok());
    bool synced = false;
    env.disk->Sync("state", [&](Status st) { synced = st.ok(); });
    uint16_t port = 0;
    std::shared_ptr<Connection> accepted;
    std::string got;
    ASSERT_TRUE(host->transport()
                    .Listen(
                        0,
                        [&](std::shared_ptr<Connection> c) {
                          ConnectionHandlers h;
                          h.on_frame = [&](std::string_view f) { got = std::string(f); };
                          c->SetHandlers(std::move(h));
                          accepted = std::move(c);
                        },
                        &port)
                    .ok());
    auto conn = env.transport->Connect(env.transport->LocalAddress(port), {}, nullptr);
    ASSERT_TRUE(conn->Send("ping").ok());
    EXPECT_TRUE(host->loop().RunUntil([&] { return timer_fired && synced && got == "ping"; }, Seconds(10)));
    EXPECT_TRUE(std::filesystem::exists(dir + "/node/state"));
  }
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

TEST(RealHostTest, RequiresADataDir) {
  std::unique_ptr<RealHost> host;
  EXPECT_EQ(RealHost::Create(RealHostOptions{}, &host).code(), Status::Code::kInvalidArgument);
}

TEST(RealHostTest, UnseededHostsDrawDifferentSeeds) {
  const std::string dir = MakeTempDir();
  RealHostOptions options;
  options.data_dir = dir;
  options.min_log_level = LogLevel::kError;
  std::unique_ptr<RealHost> a, b;
  ASSERT_TRUE(RealHost::Create(options, &a).ok());
  ASSERT_TRUE(RealHost::Create(options, &b).ok());
  EXPECT_NE(a->random().seed(), b->random().seed());
  a.reset();
  b.reset();
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

// Two hosts given the same seed (a process restarted with the same --seed) still draw
// different Entropy: it comes from getrandom(2), not from the seed.
TEST(RealHostTest, EntropyDiffersAcrossHostsWithTheSameSeed) {
  const std::string dir = MakeTempDir();
  RealHostOptions options;
  options.data_dir = dir;
  options.seed = 42;
  options.min_log_level = LogLevel::kError;
  std::unique_ptr<RealHost> a, b;
  ASSERT_TRUE(RealHost::Create(options, &a).ok());
  ASSERT_TRUE(RealHost::Create(options, &b).ok());
  EXPECT_EQ(a->random().Next64(), b->random().Next64());  // the seeded Random does replay
  ASSERT_NE(a->env().entropy, nullptr);
  const uint64_t first = a->env().entropy->Next64();
  EXPECT_NE(first, b->env().entropy->Next64());
  EXPECT_NE(first, a->env().entropy->Next64());
  a.reset();
  b.reset();
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

}  // namespace
}  // namespace ksim::real
