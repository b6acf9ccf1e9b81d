#include "sim/image_behavior.h"

#include <gtest/gtest.h>

#include "cluster/env/container_runtime.h"

namespace ksim::sim {
namespace {

Status Apply(const std::string& value, ImageBehavior* b, const std::string& container = "app") {
  return ApplyBehaviorAnnotation({{"sim.ksim.io/app", value}, {"other", "x"}}, container, b);
}

TEST(ImageBehavior, EveryKeyParses) {
  ImageBehavior b;
  ASSERT_TRUE(Apply("startDelay=2s,readyAfter=500ms,unhealthyAfter=2m,crashAfter=1h,exitCode=42,exitAfter=10s,"
                    "memory=64Mi,memoryGrowth=1M,cpu=250m,httpPort=8080,httpPort=9090,serveContainerPorts=false,"
                    "exec=false,logEvery=1s,ignoreSigterm=true,stopDelay=3s",
                    &b)
                  .ok());
  EXPECT_EQ(b.start_delay, Seconds(2));
  EXPECT_EQ(b.ready_after, Milliseconds(500));
  EXPECT_EQ(b.unhealthy_after, Seconds(120));
  EXPECT_EQ(b.crash_after, Seconds(3600));
  EXPECT_EQ(b.exit_code, 42);
  EXPECT_EQ(b.exit_after, Seconds(10));
  EXPECT_EQ(b.memory_bytes, 64 << 20);
  EXPECT_EQ(b.memory_growth_bytes_per_second, 1000000);
  EXPECT_EQ(b.cpu_millis, 250);
  EXPECT_EQ(b.http_ports, (std::vector<uint16_t>{8080, 9090}));
  EXPECT_FALSE(b.serve_container_ports);
  EXPECT_FALSE(b.answers_exec);
  EXPECT_EQ(b.log_every, Seconds(1));
  EXPECT_TRUE(b.ignore_sigterm);
  EXPECT_EQ(b.stop_delay, Seconds(3));
  ImageBehavior cores;
  ASSERT_TRUE(Apply("cpu=2", &cores).ok());
  EXPECT_EQ(cores.cpu_millis, 2000);
}

TEST(ImageBehavior, OnlyTheNamedContainersAnnotationApplies) {
  ImageBehavior b;
  ASSERT_TRUE(Apply("crashAfter=1s", &b, "sidecar").ok());
  EXPECT_FALSE(b.crash_after.has_value());
}

TEST(ImageBehavior, BadValuesAreRefusedNamingAnnotationKeyAndReasonLeavingTheBehaviour) {
  const std::pair<const char*, const char*> cases[] = {
      {"crashAfter=30", "crashAfter: '30' is not a duration"},
      {"crashAfter=-1s", "crashAfter"},
      {"exitCode=256", "exitCode: '256' must be in 0..255"},
      {"memory=12Qi", "memory"},
      {"cpu=1.5", "cpu"},
      {"httpPort=0", "httpPort: '0' must be in 1..65535"},
      {"exec=yes", "must be true or false"},
      {"logEvery=1ms", "at least 100ms"},
      {"crashAfter=1s,crashAfter=2s", "given twice"},
      {"crashafter=1s", "unknown key"},
      {"pullFails=true", "belongs to the image"},
      {"crashAfter=1s,", "ends with a comma"},
      {"crashAfter", "key=value"},
      {"readyAfter=99999h", "longer than a year"},
  };
  for (const auto& [value, reason] : cases) {
    ImageBehavior b;
    b.exit_code = 7;
    const Status s = Apply(value, &b);
    EXPECT_EQ(s.code(), Status::Code::kInvalidArgument) << value;
    EXPECT_NE(s.message().find("annotation sim.ksim.io/app"), std::string::npos) << s.message();
    EXPECT_NE(s.message().find(reason), std::string::npos) << s.message();
    EXPECT_EQ(b.exit_code, 7) << value;
    EXPECT_FALSE(b.crash_after.has_value()) << value;
  }
  ImageBehavior b;
  EXPECT_EQ(Apply(std::string(kMaxBehaviorAnnotationBytes + 1, 'x'), &b).code(), Status::Code::kInvalidArgument);
}

TEST(ImageBehavior, CatalogueByRepositoryWithDefaultsForPlainImages) {
  EXPECT_EQ(ImageRepository("docker.io/library/nginx:1.25"), "docker.io/library/nginx");
  EXPECT_EQ(ImageRepository("localhost:5000/app@sha256:abc"), "localhost:5000/app");
  EXPECT_EQ(CatalogBehavior("nginx:1.25").http_ports, std::vector<uint16_t>{80});
  EXPECT_FALSE(CatalogBehavior("busybox").serve_container_ports);
  EXPECT_FALSE(CatalogBehavior("registry.k8s.io/pause:3.9").serve_container_ports);
  EXPECT_EQ(CatalogBehavior("ksim/crashloop").crash_after, Seconds(5));
  EXPECT_TRUE(CatalogBehavior("ksim/pull-fails").pull_fails);
  const ImageBehavior plain = CatalogBehavior("example.com/team/app:v3");
  EXPECT_TRUE(plain.serve_container_ports);
  EXPECT_FALSE(plain.crash_after || plain.exit_after || plain.unhealthy_after);
  EXPECT_EQ(plain.ready_after, Nanos(0));
  // Derived sizes stay in 10..200 MiB and differ between names.
  const int64_t a = ImageSizeBytes("example.com/team/app:v3", plain);
  const int64_t b = ImageSizeBytes("example.com/team/app:v4", plain);
  EXPECT_GE(a, 10 << 20);
  EXPECT_LT(a, 200 << 20);
  EXPECT_NE(a, b);
  EXPECT_EQ(CatalogRepositories().front(), "docker.io/library/nginx");
}

}  // namespace
}  // namespace ksim::sim
