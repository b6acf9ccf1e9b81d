// The mutation check: each deliberate bug of cluster/store/mutation.h (compiled in only
// for this test) must make the fault sweep report a *safety* violation within 1,000 seeds.
// Every one of them is a safety bug (it can lose, reorder or duplicate committed state), so
// a liveness timeout ("liveness: ...") does not count: a stalled cluster shows the run went
// wrong, not that the safety checkers can see the bug. A bug the sweep cannot see would
// mean the checkers are too weak to trust.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include "tests/cluster/store_server/store_sweep.h"

namespace ksim::storeserver::testing {
namespace {

constexpr uint64_t kMaxSeeds = 1000;

class MutationCheck : public ::testing::TestWithParam<Mutation> {};

TEST_P(MutationCheck, TheSweepCatchesIt) {
  const Mutation m = GetParam();
  int liveness_only = 0;
  for (uint64_t seed = 1; seed <= kMaxSeeds; ++seed) {
    SweepOptions o;
    o.seed = seed;
    o.members = seed % 2 == 0 ? 5 : 3;
    o.mutation = m;
    const SweepResult r = RunStoreSweep(o);
    if (r.safety_violated()) {
      std::string first;
      for (const std::string& v : r.violations) {
        if (!v.starts_with("liveness:")) {
          first = v;
          break;
        }
      }
      std::printf("%s: caught at seed %llu (%d members): %s\n", std::string(MutationName(m)).c_str(),
                  static_cast<unsigned long long>(seed), o.members, first.substr(0, 160).c_str());
      SUCCEED();
      return;
    }
    if (!r.ok() && ++liveness_only <= 3) {
      std::printf("%s: seed %llu failed liveness only (not counted): %s\n", std::string(MutationName(m)).c_str(),
                  static_cast<unsigned long long>(seed), r.violations[0].substr(0, 160).c_str());
    }
  }
  ADD_FAILURE() << MutationName(m) << " survived " << kMaxSeeds << " seeds of the fault sweep without a safety "
                << "violation (" << liveness_only << " seeds failed liveness only)";
}

TEST(MutationCheck, WithoutAMutationTheSameSeedsPass) {
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    SweepOptions o;
    o.seed = seed;
    o.members = seed % 2 == 0 ? 5 : 3;
    const SweepResult r = RunStoreSweep(o);
    EXPECT_TRUE(r.ok()) << "seed " << seed << "\n" << r.Summary();
  }
}

INSTANTIATE_TEST_SUITE_P(Store, MutationCheck, ::testing::ValuesIn(kSweepMutations),
                         [](const ::testing::TestParamInfo<Mutation>& param) {
                           std::string name(MutationName(param.param));
                           for (char& c : name) {
                             if (c == '-') c = '_';
                           }
                           return name;
                         });

}  // namespace
}  // namespace ksim::storeserver::testing
