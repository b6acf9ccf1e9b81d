// Any RunRecord with finite numbers and valid UTF-8 text survives JSON and back unchanged.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include "reports/run_record_json.h"

namespace ksim::reports {
namespace {

// Valid UTF-8 over code points that matter to escaping: controls, quotes, markup,
// Latin-1, BMP and astral characters.
rc::Gen<std::string> Text() {
  return rc::gen::map(rc::gen::container<std::vector<uint32_t>>(rc::gen::oneOf(
                          rc::gen::inRange<uint32_t>(0, 0x80), rc::gen::element<uint32_t>('<', '>', '&', '"', '\''),
                          rc::gen::inRange<uint32_t>(0x80, 0x800), rc::gen::inRange<uint32_t>(0xe000, 0x10000),
                          rc::gen::inRange<uint32_t>(0x10000, 0x110000))),
                      [](const std::vector<uint32_t>& points) {
                        std::string s;
                        for (uint32_t c : points) {
                          if (c < 0x80) {
                            s += static_cast<char>(c);
                          } else if (c < 0x800) {
                            s += static_cast<char>(0xc0 | (c >> 6));
                            s += static_cast<char>(0x80 | (c & 0x3f));
                          } else if (c < 0x10000) {
                            s += static_cast<char>(0xe0 | (c >> 12));
                            s += static_cast<char>(0x80 | ((c >> 6) & 0x3f));
                            s += static_cast<char>(0x80 | (c & 0x3f));
                          } else {
                            s += static_cast<char>(0xf0 | (c >> 18));
                            s += static_cast<char>(0x80 | ((c >> 12) & 0x3f));
                            s += static_cast<char>(0x80 | ((c >> 6) & 0x3f));
                            s += static_cast<char>(0x80 | (c & 0x3f));
                          }
                        }
                        return s;
                      });
}

double Finite() {
  return *rc::gen::oneOf(rc::gen::map(rc::gen::arbitrary<int32_t>(), [](int32_t v) { return v / 64.0; }),
                         rc::gen::suchThat(rc::gen::arbitrary<double>(), [](double d) { return std::isfinite(d); }));
}

template <typename T>
std::vector<T> Some(int max, const std::function<T()>& make) {
  int n = *rc::gen::inRange(0, max + 1);
  std::vector<T> v;
  for (int i = 0; i < n; ++i) v.push_back(make());
  return v;
}

SeedRun RandomSeedRun() {
  SeedRun run;
  run.seed = *rc::gen::arbitrary<uint64_t>();
  run.verdict = *rc::gen::element(Verdict::kPass, Verdict::kFail, Verdict::kError);
  run.error = *Text();
  run.replay_command = *Text();
  run.trace_hash = *Text();
  run.simulated_ns = *rc::gen::arbitrary<int64_t>();
  run.wall_ns = *rc::gen::arbitrary<int64_t>();
  run.expectations = Some<ExpectationResult>(4, [] {
    ExpectationResult e{*Text(), *rc::gen::element(When::kAlways, When::kEventually, When::kAtEnd),
                        *rc::gen::arbitrary<bool>(), *Text(), std::nullopt, *Text()};
    if (*rc::gen::arbitrary<bool>()) e.first_violation_ns = *rc::gen::arbitrary<int64_t>();
    return e;
  });
  run.faults = Some<FaultInterval>(4, [] {
    FaultInterval f{*rc::gen::inRange<int64_t>(0, int64_t{1} << 50), std::nullopt, *Text(), *Text(), *Text()};
    if (*rc::gen::arbitrary<bool>()) f.end_ns = f.start_ns + *rc::gen::inRange<int64_t>(0, int64_t{1} << 50);
    return f;
  });
  run.events = Some<TimelineEvent>(4, [] { return TimelineEvent{*rc::gen::arbitrary<int64_t>(), *Text(), *Text()}; });
  for (int i = *rc::gen::inRange(0, 3); i > 0; --i) {
    run.series[*Text()] = Some<Sample>(5, [] { return Sample{*rc::gen::arbitrary<int64_t>(), Finite()}; });
  }
  run.leader_changes =
      Some<LeaderChange>(3, [] { return LeaderChange{*rc::gen::arbitrary<int64_t>(), *Text(), *Text()}; });
  for (int i = *rc::gen::inRange(0, 4); i > 0; --i) {
    run.metrics[*Text()] = Metric{Finite(), *Text(), *rc::gen::element(Better::kLower, Better::kHigher, Better::kNeither)};
  }
  for (int i = *rc::gen::inRange(0, 3); i > 0; --i) {
    Histogram h = Histogram::Exponential125(*Text(), 1, std::pow(10.0, *rc::gen::inRange(0, 6)));
    h.better = *rc::gen::element(Better::kLower, Better::kHigher, Better::kNeither);
    for (int k = *rc::gen::inRange(0, 20); k > 0; --k) h.Add(*rc::gen::inRange(0, 2'000'000) / 2.0);
    run.histograms[*Text()] = h;
  }
  for (int i = *rc::gen::inRange(0, 4); i > 0; --i) run.coverage[*Text()] = *rc::gen::arbitrary<uint64_t>();
  return run;
}

RC_GTEST_PROP(RunRecordJsonProperty, RoundTripsAnyRecord, ()) {
  RunRecord record;
  record.scenario_name = *Text();
  record.scenario_file = *Text();
  record.ksim_version = *Text();
  for (int i = *rc::gen::inRange(0, 3); i > 0; --i) record.attributes[*Text()] = *Text();
  record.seeds = Some<SeedRun>(3, RandomSeedRun);
  std::string json = RunRecordToJson(record);
  std::string error;
  std::optional<RunRecord> back = ParseRunRecordJson(json, "r.json", &error);
  RC_ASSERT(back.has_value());
  RC_ASSERT(*back == record);
}

}  // namespace
}  // namespace ksim::reports
