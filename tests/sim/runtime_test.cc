#include "sim/container_runtime.h"

#include <gtest/gtest.h>

#include <map>
#include <set>

#include "sim/dataplane.h"
#include "sim/ipv4.h"
#include "sim/network.h"
#include "tests/sim/runtime_fixture.h"
#include "tests/sim/test_process.h"

namespace ksim::sim {
namespace {

using testing::RuntimeFixture;

class RuntimeTest : public RuntimeFixture {};

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// --- sandboxes ------------------------------------------------------------------------

TEST_F(RuntimeTest, SandboxGetsAnAddressOfItsCidrHostnameLabelsAndIsAnAliasOfTheHost) {
  PodSandboxConfig config = Pod("web-0");
  config.annotations = {{"team", "a"}};
  const Nanos before = host.MonotonicNow();
  const std::string id = RunSandbox(config);
  ASSERT_EQ(id.size(), 64u);
  const ksim::PodSandboxStatus s = GetSandbox(id);
  EXPECT_EQ(s.state, SandboxState::kReady);
  EXPECT_EQ(s.metadata.uid, "uid-web-0");
  EXPECT_EQ(s.hostname, "web-0");
  EXPECT_EQ(s.labels.at("io.kubernetes.pod.name"), "web-0");
  EXPECT_EQ(s.annotations.at("team"), "a");
  EXPECT_GT(s.created_at, before);
  uint32_t ip = 0;
  ASSERT_TRUE(ParseIpv4(s.ip, &ip)) << s.ip;
  // In 10.244.1.0/24 and neither the network address nor the gateway (.1) nor broadcast.
  EXPECT_EQ(ip >> 8, (10u << 16) | (244u << 8) | 1u);
  EXPECT_GE(ip & 255, 2u);
  EXPECT_LE(ip & 255, 254u);
  EXPECT_EQ(w.network().Resolve(s.ip), host.id());
  EXPECT_TRUE(rt.OwnsIp(s.ip));
}

TEST_F(RuntimeTest, AddressesAreUniqueUntilTheCidrIsExhaustedAndReturnOnStop) {
  // A /29 has 8 addresses; .0, .1 (gateway) and .7 (broadcast) are never handed out.
  std::vector<std::string> ids;
  std::set<std::string> ips;
  for (int i = 0; i < 5; ++i) {
    ids.push_back(RunSandbox(Pod("p" + std::to_string(i), "10.244.9.0/29")));
    ips.insert(GetSandbox(ids.back()).ip);
  }
  EXPECT_EQ(ips, (std::set<std::string>{"10.244.9.2", "10.244.9.3", "10.244.9.4", "10.244.9.5", "10.244.9.6"}));
  Status s;
  RunSandbox(Pod("p5", "10.244.9.0/29"), &s);
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_TRUE(Contains(s.message(), "exhausted")) << s.ToString();
  const std::string released = GetSandbox(ids[2]).ip;
  ASSERT_TRUE(StopSandbox(ids[2]).ok());
  EXPECT_EQ(GetSandbox(ids[2]).state, SandboxState::kNotReady);
  EXPECT_EQ(GetSandbox(ids[2]).ip, "");
  EXPECT_EQ(w.network().Resolve(released), Network::kNoHost);
  EXPECT_TRUE(StopSandbox(ids[2]).ok());  // idempotent
  const std::string again = RunSandbox(Pod("p5", "10.244.9.0/29"));
  EXPECT_EQ(GetSandbox(again).ip, released);
}

TEST_F(RuntimeTest, BadSandboxConfigsAreRefusedNamingTheField) {
  Status s;
  RunSandbox(Pod("a", "10.244.1.0/33"), &s);
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_TRUE(Contains(s.message(), "pod_cidr")) << s.ToString();
  RunSandbox(Pod("a", "10.244.1.5/24"), &s);
  EXPECT_TRUE(Contains(s.message(), "host bits")) << s.ToString();
  PodSandboxConfig many = Pod("b");
  for (size_t i = 0; i <= kMaxRuntimeLabels; ++i) many.labels["k" + std::to_string(i)] = "v";
  RunSandbox(many, &s);
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_TRUE(Contains(s.message(), "labels")) << s.ToString();
  PodSandboxConfig big = Pod("c");
  big.annotations["big"] = std::string(kMaxRuntimeLabelBytes, 'x');
  RunSandbox(big, &s);
  EXPECT_TRUE(Contains(s.message(), "bytes")) << s.ToString();
  PodSandboxConfig port = Pod("d");
  port.port_mappings = {{"QUIC", 80, 0, ""}};
  RunSandbox(port, &s);
  EXPECT_TRUE(Contains(s.message(), "port_mappings[0]")) << s.ToString();
  EXPECT_TRUE(rt.SandboxSnapshot().empty());
}

TEST_F(RuntimeTest, SameMetadataAndAttemptIsRefusedWhileReadyANewAttemptIsNot) {
  const std::string first = RunSandbox(Pod("web"));
  Status s;
  RunSandbox(Pod("web"), &s);
  EXPECT_EQ(s.code(), Status::Code::kAlreadyExists);
  PodSandboxConfig next = Pod("web");
  next.metadata.attempt = 1;
  const std::string second = RunSandbox(next);
  EXPECT_NE(first, second);
  EXPECT_NE(GetSandbox(first).ip, GetSandbox(second).ip);
}

TEST_F(RuntimeTest, StoppingASandboxKillsItsContainersRemovingItRemovesThem) {
  const std::string c = RunContainer("web", "nginx");
  const std::string sid = Get(c).sandbox_id;
  ASSERT_TRUE(StopSandbox(sid).ok());
  EXPECT_EQ(Get(c).state, ContainerState::kExited);
  EXPECT_EQ(Get(c).exit_code, 137);
  ASSERT_TRUE(RemoveSandbox(sid).ok());
  EXPECT_TRUE(rt.Snapshot().empty());
  EXPECT_TRUE(rt.SandboxSnapshot().empty());
  EXPECT_EQ(EventsOf(c, ContainerEventType::kDeleted).size(), 1u);
  EXPECT_TRUE(RemoveSandbox(sid).ok());  // removing an absent sandbox succeeds
}

// --- containers -----------------------------------------------------------------------

TEST_F(RuntimeTest, ContainerLifecycleWithTimesImageRefAndEvents) {
  const std::string sid = RunSandbox(Pod("web"));
  const std::string image_id = Pull("nginx:1.25");
  ContainerConfig config;
  config.name = "nginx";
  config.attempt = 2;
  config.image = "nginx:1.25";
  config.labels = {{"io.kubernetes.container.name", "nginx"}};
  const std::string id = Create(sid, config);
  ksim::ContainerStatus s = Get(id);
  EXPECT_EQ(s.state, ContainerState::kCreated);
  EXPECT_EQ(s.image_ref, image_id);
  EXPECT_EQ(s.attempt, 2u);
  EXPECT_EQ(s.labels.at("io.kubernetes.container.name"), "nginx");
  EXPECT_EQ(s.started_at, Nanos(0));
  ASSERT_TRUE(Start(id).ok());
  s = Get(id);
  EXPECT_EQ(s.state, ContainerState::kRunning);
  EXPECT_GT(s.started_at, s.created_at);
  EXPECT_EQ(Start(id).code(), Status::Code::kInvalidArgument);  // not created any more
  EXPECT_EQ(Remove(id).code(), Status::Code::kInvalidArgument);  // running
  ASSERT_TRUE(Stop(id, Seconds(30)).ok());
  s = Get(id);
  EXPECT_EQ(s.state, ContainerState::kExited);
  EXPECT_EQ(s.exit_code, 0);
  EXPECT_EQ(s.reason, "Completed");
  EXPECT_GE(s.finished_at, s.started_at);
  EXPECT_TRUE(Stop(id, Seconds(30)).ok());  // stopping an exited container succeeds
  ASSERT_TRUE(Remove(id).ok());
  EXPECT_TRUE(Remove(id).ok());  // idempotent
  ASSERT_EQ(events.size(), 4u);
  EXPECT_EQ(events[0].type, ContainerEventType::kCreated);
  EXPECT_EQ(events[1].type, ContainerEventType::kStarted);
  EXPECT_EQ(events[2].type, ContainerEventType::kExited);
  EXPECT_EQ(events[3].type, ContainerEventType::kDeleted);
  EXPECT_EQ(events[1].sandbox_id, sid);
}

TEST_F(RuntimeTest, CreateIsRefusedWithoutImageSandboxOrWithinLimits) {
  const std::string sid = RunSandbox(Pod("web"));
  ContainerConfig config;
  config.name = "app";
  config.image = "nginx";
  Status s;
  Create(sid, config, &s);
  EXPECT_EQ(s.code(), Status::Code::kNotFound);
  EXPECT_TRUE(Contains(s.message(), "not present")) << s.ToString();
  Pull("nginx");
  Create("nope", config, &s);
  EXPECT_EQ(s.code(), Status::Code::kNotFound);
  ContainerConfig args = config;
  args.args.assign(kMaxCommandArgs + 1, "x");
  Create(sid, args, &s);
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_TRUE(Contains(s.message(), "args")) << s.ToString();
  Create(sid, config);
  Create(sid, config, &s);
  EXPECT_EQ(s.code(), Status::Code::kAlreadyExists);
  config.attempt = 1;
  Create(sid, config);
  ASSERT_TRUE(StopSandbox(sid).ok());
  config.attempt = 2;
  Create(sid, config, &s);
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_TRUE(Contains(s.message(), "not ready")) << s.ToString();
}

TEST_F(RuntimeTest, StartDelayReadyAfterAndUnhealthyAfterDriveExecProbes) {
  ImageBehavior b;
  b.start_delay = Seconds(2);
  b.ready_after = Seconds(5);
  b.unhealthy_after = Seconds(20);
  w.DefineImage("probe-me", b);
  const std::string sid = RunSandbox(Pod("p"));
  Pull("probe-me");
  ContainerConfig config;
  config.name = "app";
  config.image = "probe-me";
  const std::string id = Create(sid, config);
  const Nanos asked = w.now();
  ASSERT_TRUE(Start(id).ok());
  EXPECT_GE(w.now() - asked, Seconds(2));
  EXPECT_EQ(Exec(id, {"/bin/check"}).exit_code, 1);  // not ready yet
  w.RunFor(Seconds(5));
  EXPECT_EQ(Exec(id, {"/bin/check"}).exit_code, 0);
  w.RunFor(Seconds(15));
  const ExecResult late = Exec(id, {"/bin/check"});
  EXPECT_EQ(late.exit_code, 1);
  EXPECT_EQ(late.output, "unhealthy\n");
}

TEST_F(RuntimeTest, CrashAfterExitsWithItsCodeAndExitAfterCompletes) {
  const std::string crash = RunContainer("a", "ksim/crashloop");
  const Nanos started = Get(crash).started_at;
  w.RunFor(Seconds(6));
  ksim::ContainerStatus s = Get(crash);
  EXPECT_EQ(s.state, ContainerState::kExited);
  EXPECT_EQ(s.exit_code, 1);
  EXPECT_EQ(s.reason, "Error");
  EXPECT_EQ(s.finished_at - started, Seconds(5));
  const auto exited = EventsOf(crash, ContainerEventType::kExited);
  ASSERT_EQ(exited.size(), 1u);
  EXPECT_EQ(exited[0].exit_code, 1);
  Status st;
  Exec(crash, {"true"}, &st);
  EXPECT_EQ(st.code(), Status::Code::kInvalidArgument);  // not running

  const std::string job = RunContainer("b", "ksim/job");
  w.RunFor(Seconds(11));
  s = Get(job);
  EXPECT_EQ(s.exit_code, 0);
  EXPECT_EQ(s.reason, "Completed");
}

TEST_F(RuntimeTest, AnnotationOverridesTheImagePerContainer) {
  PodSandboxConfig pod = Pod("web");
  pod.annotations = {{"sim.ksim.io/app", "crashAfter=30s,exitCode=3"}};
  const std::string id = RunContainer("web", "nginx", {}, pod);
  w.RunFor(Seconds(29));
  EXPECT_EQ(Get(id).state, ContainerState::kRunning);
  w.RunFor(Seconds(2));
  EXPECT_EQ(Get(id).exit_code, 3);
  // Another container of the same pod is not affected.
  Pull("nginx");
  ContainerConfig other;
  other.name = "sidecar";
  other.image = "nginx";
  const std::string side = Create(Get(id).sandbox_id, other);
  ASSERT_TRUE(Start(side).ok());
  w.RunFor(Seconds(60));
  EXPECT_EQ(Get(side).state, ContainerState::kRunning);
}

TEST_F(RuntimeTest, ABadOverrideFailsCreateNamingAnnotationKeyAndReason) {
  PodSandboxConfig pod = Pod("web");
  pod.annotations = {{"sim.ksim.io/app", "crashAfter=30s,exitCode=300"}};
  const std::string sid = RunSandbox(pod);
  Pull("nginx");
  ContainerConfig config;
  config.name = "app";
  config.image = "nginx";
  Status s;
  Create(sid, config, &s);
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_TRUE(Contains(s.message(), "annotation sim.ksim.io/app")) << s.ToString();
  EXPECT_TRUE(Contains(s.message(), "exitCode")) << s.ToString();
  EXPECT_TRUE(Contains(s.message(), "0..255")) << s.ToString();
  EXPECT_TRUE(rt.Snapshot().empty());
}

TEST_F(RuntimeTest, SigtermIsHonouredAfterTheStopDelayUnlessIgnoredThenKilledAtGraceEnd) {
  const std::string polite = RunContainer("a", "nginx");
  const std::string rude = RunContainer("b", "ksim/ignore-sigterm");
  bool polite_done = false;
  bool rude_done = false;
  const Nanos asked = host.MonotonicNow();
  rt.StopContainer(polite, Seconds(30), [&](Status) { polite_done = true; });
  rt.StopContainer(rude, Seconds(30), [&](Status) { rude_done = true; });
  w.RunFor(Seconds(1));
  EXPECT_TRUE(polite_done);
  EXPECT_FALSE(rude_done);
  EXPECT_EQ(Get(rude).state, ContainerState::kRunning);
  w.RunFor(Seconds(28));
  EXPECT_FALSE(rude_done);  // not before the grace period ends
  w.RunFor(Seconds(2));
  EXPECT_TRUE(rude_done);
  const ksim::ContainerStatus s = Get(rude);
  EXPECT_EQ(s.exit_code, 137);
  EXPECT_EQ(s.reason, "Error");
  // Killed at the end of the grace period (plus the call's latency).
  EXPECT_GE(s.finished_at - asked, Seconds(30));
  EXPECT_LE(s.finished_at - asked, Seconds(30) + Milliseconds(5));
  EXPECT_EQ(Get(polite).exit_code, 0);
  // A grace shorter than the stop delay kills too.
  const std::string slow = RunContainer("c", "nginx");
  ASSERT_TRUE(Stop(slow, Nanos(0)).ok());
  EXPECT_EQ(Get(slow).exit_code, 137);
}

TEST_F(RuntimeTest, MemoryGrowsToAnOomKillAtTheLimit) {
  ContainerConfig config;
  config.memory_limit_bytes = 64 << 20;  // ksim/oom: 16 MiB + 10 MiB/s -> 4.8 s
  const std::string id = RunContainer("a", "ksim/oom", config);
  const Nanos started = Get(id).started_at;
  w.RunFor(Seconds(2));
  bool fired = false;
  std::vector<ContainerStats> stats;
  rt.ListContainerStats([&](Status, std::vector<ContainerStats> got) {
    fired = true;
    stats = std::move(got);
  });
  Await(fired);
  ASSERT_EQ(stats.size(), 1u);
  EXPECT_GT(stats[0].memory_working_set_bytes, 30 << 20);
  EXPECT_LT(stats[0].memory_working_set_bytes, 64 << 20);
  w.RunFor(Seconds(3));
  const ksim::ContainerStatus s = Get(id);
  EXPECT_EQ(s.reason, "OOMKilled");
  EXPECT_EQ(s.exit_code, 137);
  EXPECT_EQ(s.finished_at - started, Milliseconds(4800));
  const auto exited = EventsOf(id, ContainerEventType::kExited);
  ASSERT_EQ(exited.size(), 1u);
  EXPECT_EQ(exited[0].reason, "OOMKilled");
  EXPECT_EQ(rt.stats().oom_kills, 1u);
  // Without a limit it grows on and is never killed.
  const std::string unlimited = RunContainer("b", "ksim/oom");
  w.RunFor(Seconds(60));
  EXPECT_EQ(Get(unlimited).state, ContainerState::kRunning);
}

TEST_F(RuntimeTest, CpuUseIsReportedAndCappedByTheLimit) {
  const std::string burner = RunContainer("a", "ksim/cpu-burner");
  ContainerConfig capped;
  capped.cpu_limit_millis = 500;
  const std::string limited = RunContainer("b", "ksim/cpu-burner", capped);
  bool fired = false;
  std::vector<ContainerStats> stats;
  rt.ListContainerStats([&](Status, std::vector<ContainerStats> got) {
    fired = true;
    stats = std::move(got);
  });
  Await(fired);
  ASSERT_EQ(stats.size(), 2u);
  for (const auto& s : stats) EXPECT_EQ(s.cpu_usage_millis, s.id == burner ? 900 : 500) << s.id;
  EXPECT_TRUE(stats[0].id < stats[1].id);
}

// The cpu-load knob: a pod's load replaces its image's CPU use, capped by the limit,
// survives a restart of the container and goes when cleared.
TEST_F(RuntimeTest, CpuLoadOverridesTheBehaviourWithinTheLimit) {
  ContainerConfig capped;
  capped.cpu_limit_millis = 500;
  const std::string a = RunContainer("a", "nginx", capped);
  const std::string b = RunContainer("b", "nginx");
  auto usage = [&] {
    bool fired = false;
    std::map<std::string, int64_t> out;
    rt.ListContainerStats([&](Status, std::vector<ContainerStats> got) {
      fired = true;
      for (const auto& s : got) out[s.id] = s.cpu_usage_millis;
    });
    Await(fired);
    return out;
  };
  EXPECT_EQ(usage(), (std::map<std::string, int64_t>{{a, 1}, {b, 1}}));
  rt.SetCpuLoad("default", "a", "", 800);
  rt.SetCpuLoad("default", "b", "app", 300);
  rt.SetCpuLoad("default", "b", "other", 50);  // names no container of b: no effect
  EXPECT_EQ(usage(), (std::map<std::string, int64_t>{{a, 500}, {b, 300}}));
  // A new instance of b's container (a restart) keeps the load.
  ASSERT_TRUE(Stop(b, Seconds(1)).ok());
  ContainerConfig again;
  again.name = "app";
  again.attempt = 1;
  again.image = "nginx";
  const std::string b2 = Create(Get(b).sandbox_id, again);
  ASSERT_TRUE(Start(b2).ok());
  EXPECT_EQ(usage(), (std::map<std::string, int64_t>{{a, 500}, {b2, 300}}));
  rt.SetCpuLoad("default", "b", "app", std::nullopt);
  rt.ClearCpuLoads();
  EXPECT_EQ(usage(), (std::map<std::string, int64_t>{{a, 1}, {b2, 1}}));
}

TEST_F(RuntimeTest, LogsAreWrittenPeriodicallyBoundedAndReadableAfterExit) {
  PodSandboxConfig pod = Pod("a");
  pod.annotations = {{"sim.ksim.io/app", "logEvery=100ms,crashAfter=100h"}};
  const std::string id = RunContainer("a", "ksim/logger", {}, pod);
  w.RunFor(Seconds(1));
  auto logs = [&](size_t max) {
    bool fired = false;
    std::string out;
    rt.ContainerLogs(id, max, [&](Status s, std::string got) {
      fired = true;
      EXPECT_TRUE(s.ok());
      out = std::move(got);
    });
    Await(fired);
    return out;
  };
  const std::string early = logs(1 << 20);
  EXPECT_TRUE(Contains(early, "starting ksim/logger")) << early;
  EXPECT_TRUE(Contains(early, "app log line 10\n")) << early;
  EXPECT_FALSE(Contains(early, "app log line 11\n")) << early;
  EXPECT_EQ(logs(10), early.substr(early.size() - 10));
  w.RunFor(Seconds(100 * 3600));  // 3.6 million lines: far more than kept
  const std::string late = logs(SIZE_MAX);
  EXPECT_LE(late.size(), kMaxContainerLogBytes);
  EXPECT_GT(late.size(), kMaxContainerLogBytes / 2);
  EXPECT_TRUE(Contains(late, "exiting with code 1\n")) << late.substr(late.size() - 200);
  EXPECT_TRUE(Contains(late, "app log line 3600000\n"));
  EXPECT_FALSE(Contains(late, "starting"));  // the oldest lines were dropped
}

TEST_F(RuntimeTest, ExecAnswersShellCommandsTimesOutAndCanBeRefused) {
  PodSandboxConfig pod = Pod("web-0");
  pod.hostname = "web-0.web";
  pod.dns = {{"10.96.0.10"}, {"default.svc.cluster.local", "svc.cluster.local", "cluster.local"}, {"ndots:5"}};
  const std::string id = RunContainer("web-0", "nginx", {}, pod);
  EXPECT_EQ(Exec(id, {"hostname"}).output, "web-0.web\n");
  EXPECT_EQ(Exec(id, {"cat", "/etc/resolv.conf"}).output,
            "nameserver 10.96.0.10\nsearch default.svc.cluster.local svc.cluster.local cluster.local\n"
            "options ndots:5\n");
  EXPECT_EQ(Exec(id, {"false"}).exit_code, 1);
  Status s;
  const Nanos asked = w.now();
  Exec(id, {"sleep", "10"}, &s, Seconds(2));
  EXPECT_EQ(s.code(), Status::Code::kTimeout);
  EXPECT_LE(w.now() - asked, Seconds(3));
  EXPECT_EQ(Exec(id, {"sleep", "1"}, &s, Seconds(2)).exit_code, 0);
  EXPECT_TRUE(s.ok());
  Exec(id, {}, &s);
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  PodSandboxConfig shellless = Pod("b");
  shellless.annotations = {{"sim.ksim.io/app", "exec=false"}};
  const std::string other = RunContainer("b", "nginx", {}, shellless);
  EXPECT_EQ(Exec(other, {"true"}).exit_code, 126);
}

TEST_F(RuntimeTest, KillFaultCrashesARunningContainer) {
  const std::string id = RunContainer("a", "nginx");
  ASSERT_TRUE(rt.Kill(id, 2, "Error").ok());
  EXPECT_EQ(Get(id).exit_code, 2);
  EXPECT_EQ(rt.Kill(id, 2, "Error").code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(rt.Kill("nope", 2, "Error").code(), Status::Code::kNotFound);
}

// --- images ---------------------------------------------------------------------------

TEST_F(RuntimeTest, PullsTakeTheirTimeAndYieldStableIdsAndSizes) {
  Nanos asked = w.now();
  const std::string nginx = Pull("nginx");
  const Nanos nginx_time = w.now() - asked;
  EXPECT_GT(nginx_time, Seconds(1));  // 70 MiB at 50 MiB/s + 200 ms
  EXPECT_LT(nginx_time, Seconds(2));
  asked = w.now();
  Pull("ksim/slow-pull");
  EXPECT_GE(w.now() - asked, Seconds(60));
  EXPECT_EQ(nginx.size(), 7u + 64);
  EXPECT_EQ(nginx.rfind("sha256:", 0), 0u);
  // The same name gives the same id on every host and run; another tag another id.
  EXPECT_EQ(ImageId(NormalizeImageName("nginx")), nginx);
  EXPECT_NE(ImageId(NormalizeImageName("nginx:1.25")), nginx);
  bool fired = false;
  std::optional<ImageInfo> by_name;
  std::optional<ImageInfo> by_id;
  std::optional<ImageInfo> absent;
  rt.ImageStatus("docker.io/library/nginx:latest", [&](Status, std::optional<ImageInfo> i) { by_name = i; });
  rt.ImageStatus(nginx, [&](Status, std::optional<ImageInfo> i) { by_id = i; });
  rt.ImageStatus("redis", [&](Status, std::optional<ImageInfo> i) {
    absent = i;
    fired = true;
  });
  Await(fired);
  ASSERT_TRUE(by_name && by_id);
  EXPECT_EQ(by_name->id, nginx);
  EXPECT_EQ(by_id->repo_tags, std::vector<std::string>{"docker.io/library/nginx:latest"});
  EXPECT_EQ(by_id->size_bytes, 70 << 20);
  EXPECT_FALSE(absent.has_value());
  fired = false;
  std::vector<ImageInfo> all;
  rt.ListImages([&](Status, std::vector<ImageInfo> got) {
    all = std::move(got);
    fired = true;
  });
  Await(fired);
  ASSERT_EQ(all.size(), 2u);
  EXPECT_LT(all[0].id, all[1].id);
}

TEST_F(RuntimeTest, PullFailuresByImageAndByFault) {
  Status s;
  Pull("ksim/pull-fails", &s);
  EXPECT_EQ(s.code(), Status::Code::kUnavailable);
  EXPECT_TRUE(Contains(s.message(), "ksim/pull-fails")) << s.ToString();
  Pull("ksim/does-not-exist", &s);
  EXPECT_EQ(s.code(), Status::Code::kNotFound);
  rt.SetPullFailure("docker.io/library/redis:latest", true);
  Pull("redis", &s);
  EXPECT_EQ(s.code(), Status::Code::kUnavailable);
  Pull("nginx");  // other images still pull
  rt.SetPullFailure("redis", false);
  Pull("redis");
  rt.SetPullFailure("", true);
  Pull("httpd", &s);
  EXPECT_EQ(s.code(), Status::Code::kUnavailable);
  EXPECT_EQ(rt.stats().pull_failures, 4u);
}

TEST_F(RuntimeTest, AnImageInUseCannotBeRemoved) {
  const std::string id = RunContainer("a", "nginx");
  const Status s = RemoveImage("nginx");
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_TRUE(Contains(s.message(), id)) << s.ToString();
  ASSERT_TRUE(Stop(id, Seconds(1)).ok());
  EXPECT_EQ(RemoveImage("nginx").code(), Status::Code::kInvalidArgument);  // exited but not removed
  ASSERT_TRUE(Remove(id).ok());
  EXPECT_TRUE(RemoveImage("nginx").ok());
  EXPECT_TRUE(RemoveImage("nginx").ok());  // absent: fine
}

// --- the host ---------------------------------------------------------------------------

TEST_F(RuntimeTest, PowerOffKillsContainersAndTakesSandboxesDown) {
  const std::string id = RunContainer("a", "nginx");
  const std::string sid = Get(id).sandbox_id;
  const std::string ip = GetSandbox(sid).ip;
  host.PowerOff();
  EXPECT_EQ(Get(id).state, ContainerState::kExited);
  EXPECT_EQ(Get(id).exit_code, 255);
  EXPECT_EQ(Get(id).reason, "Unknown");
  EXPECT_EQ(GetSandbox(sid).state, SandboxState::kNotReady);
  EXPECT_EQ(w.network().Resolve(ip), Network::kNoHost);
  host.PowerOn();
  w.RunFor(Seconds(1));
  // Still listed after the reboot, for the kubelet to clean up; the address is free again.
  EXPECT_EQ(rt.Snapshot().size(), 1u);
  const std::string again = RunSandbox(Pod("b", "10.244.1.0/24"));
  EXPECT_FALSE(GetSandbox(again).ip.empty());
}

TEST(RuntimeProcessTest, ContainersSurviveTheCrashOfTheProcessThatMadeThem) {
  World w(7);
  Host& h = w.AddHost("n1");
  std::string made;
  std::vector<std::string> found;
  std::vector<ContainerEvent> seen_by_first;
  int incarnation = 0;
  h.AddProcess("kubelet", testing::Scripted([&](testing::ScriptedProcess& p) {
    ContainerRuntime* rt = p.env().runtime;
    ++incarnation;
    if (incarnation == 1) {
      rt->SubscribeEvents([&](const ContainerEvent& e) { seen_by_first.push_back(e); });
      PodSandboxConfig config;
      config.metadata = {"web", "default", "u1", 0};
      config.pod_cidr = "10.244.0.0/24";
      rt->RunPodSandbox(config, [&, rt](Status s, std::string sid) {
        ASSERT_TRUE(s.ok()) << s.ToString();
        rt->PullImage("ksim/crashloop", [&, rt, sid](Status ps, std::string) {
          ASSERT_TRUE(ps.ok());
          ContainerConfig c;
          c.name = "app";
          c.image = "ksim/crashloop";
          rt->CreateContainer(sid, c, [&, rt](Status cs, std::string cid) {
            ASSERT_TRUE(cs.ok());
            made = cid;
            rt->StartContainer(cid, [](Status) {});
          });
        });
      });
      return;
    }
    rt->ListContainers("", [&](Status s, std::vector<ksim::ContainerStatus> list) {
      for (const auto& c : list) found.push_back(c.id + (c.state == ContainerState::kRunning ? ":running" : ":other"));
    });
  }));
  w.RunFor(Seconds(3));
  ASSERT_FALSE(made.empty());
  const size_t events_before_crash = seen_by_first.size();
  h.CrashProcess("kubelet");
  w.RunFor(Seconds(1));
  EXPECT_EQ(h.runtime().Snapshot()[0].state, ContainerState::kRunning);
  h.RestartProcess("kubelet");
  w.RunFor(Seconds(1));
  EXPECT_EQ(found, std::vector<std::string>{made + ":running"});
  w.RunFor(Seconds(10));  // the container crashes: the dead incarnation hears nothing
  EXPECT_EQ(h.runtime().Snapshot()[0].state, ContainerState::kExited);
  EXPECT_EQ(seen_by_first.size(), events_before_crash);
}

TEST(SimDataplane, RoutesOnlyToReadyEndpointsAndRejectsBadRules) {
  SimDataplane dp;
  ServiceRule r;
  r.name = "default/web:http";
  r.cluster_ip = "10.0.0.1";
  r.port = 80;
  r.node_port = 30080;
  r.endpoints = {{"10.1.0.1", 8080, true}, {"10.1.0.2", 8080, false}};
  ASSERT_TRUE(dp.Apply({r}).ok());
  Random random(3);
  for (int i = 0; i < 20; ++i) {
    auto e = dp.Route("10.0.0.1", 80, random);
    ASSERT_TRUE(e.has_value());
    EXPECT_EQ(e->ip, "10.1.0.1");
  }
  EXPECT_TRUE(dp.Route("192.168.1.5", 30080, random).has_value());
  EXPECT_FALSE(dp.Route("10.0.0.1", 81, random).has_value());
  ServiceRule bad = r;
  bad.port = 0;
  Status s = dp.Apply({bad});
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(s.message().find("rules[0]"), std::string::npos);
  EXPECT_EQ(dp.rules().size(), 1u);  // unchanged
  EXPECT_EQ(dp.rules()[0].port, 80);
}

}  // namespace
}  // namespace ksim::sim
