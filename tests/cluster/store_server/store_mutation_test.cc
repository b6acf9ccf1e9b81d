// The mutation check: each deliberate bug of cluster/store/mutation.h (compiled in only
// for this test) must make the fault sweep report a violation within 1,000 seeds. A bug
// the sweep cannot see would mean the checkers are too weak to trust.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include "tests/cluster/store_server/store_sweep.h"

namespace ksim::storeserver::testing {
namespace {

constexpr uint64_t kMaxSeeds = 1000;

class MutationCheck : public ::testing::TestWithParam<Mutation> {};

TEST_P(MutationCheck, TheSweepCatchesIt) {
  const Mutation m = GetParam();
  for (uint64_t seed = 1; seed <= kMaxSeeds; ++seed) {
    SweepOptions o;
    o.seed = seed;
    o.members = seed % 2 == 0 ? 5 : 3;
    o.mutation = m;
    const SweepResult r = RunStoreSweep(o);
    if (!r.ok()) {
      std::printf("%s: caught at seed %llu (%d members): %s\n", std::string(MutationName(m)).c_str(),
                  static_cast<unsigned long long>(seed), o.members, r.violations[0].substr(0, 160).c_str());
      SUCCEED();
      return;
    }
  }
  ADD_FAILURE() << MutationName(m) << " survived " << kMaxSeeds << " seeds of the fault sweep";
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
