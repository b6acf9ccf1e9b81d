// KubeSchedulerConfiguration profiles, resolved as kube-scheduler resolves v1 configs
// (pkg/scheduler/apis/config/v1 defaults and the framework's multiPoint expansion), with a
// stand-in registry so the tests do not depend on the real plugins: the documented
// examples (disable a score plugin, change weights, a "no-scoring-scheduler" profile,
// multiPoint), errors with line and field path, and a RapidCheck property that mutated
// files never crash the parser and leave its output alone when they fail.
#include "cluster/scheduler/config.h"

#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <map>
#include <set>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "tests/cluster/scheduler/stand_in_plugins.h"

namespace ksim::scheduler {
namespace {

// ---------------------------------------------------------------- stand-in plugins

using testing::kFilter;
using testing::kPostFilter;
using testing::kPreFilter;
using testing::kPreScore;
using testing::kScore;
using testing::MakeStandIn;
using testing::RegisterStandIn;

PluginRegistry StandInRegistry(bool with_image_locality = true) {
  PluginRegistry r;
  testing::RegisterDefaultStandIns(r, with_image_locality);
  RegisterStandIn(r, "MyCustomPluginA", kScore);
  RegisterStandIn(r, "MyCustomPluginB", kScore);
  RegisterStandIn(r, "MyFilter", kFilter);
  RegisterStandIn(r, "MyPlugin", kPreFilter | kFilter | kScore);
  // Takes args {level: 0..10}; anything else is an error naming the field.
  r.Register("Leveled", [](const nlohmann::json& args, std::unique_ptr<Plugin>* out) {
    if (!args.is_null()) {
      if (!args.is_object()) return Status::InvalidArgument("args: expected an object");
      for (const auto& [key, value] : args.items()) {
        if (key != "level") return Status::InvalidArgument("args." + key + ": unknown field");
        if (!value.is_number_integer() || value.get<int64_t>() < 0 || value.get<int64_t>() > 10) {
          return Status::InvalidArgument("args.level: must be an integer in 0..10");
        }
      }
    }
    *out = MakeStandIn(kFilter, "Leveled");
    return Status::Ok();
  });
  return r;
}

const PluginRegistry& Registry() {
  static const PluginRegistry* registry = new PluginRegistry(StandInRegistry());
  return *registry;
}

constexpr std::string_view kHeader =
    "apiVersion: kubescheduler.config.k8s.io/v1\n"
    "kind: KubeSchedulerConfiguration\n";

SchedulerConfig Parse(std::string_view body) {
  SchedulerConfig config;
  Status s = ParseSchedulerConfig(std::string(kHeader) + std::string(body), "sched.yaml", Registry(), &config);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return config;
}

std::string ParseError(std::string_view text, const PluginRegistry& registry = Registry()) {
  SchedulerConfig config;
  Status s = ParseSchedulerConfig(text, "sched.yaml", registry, &config);
  EXPECT_FALSE(s.ok()) << text;
  EXPECT_TRUE(s.Is(Status::Code::kInvalidArgument)) << s.ToString();
  return s.message();
}

using Weighted = std::vector<std::pair<std::string, int32_t>>;
Weighted Scores(const ProfileConfig& p) {
  Weighted out;
  for (const ScorePluginRef& ref : p.score) out.emplace_back(ref.name, ref.weight);
  return out;
}

template <typename T>
std::vector<T> Without(std::vector<T> list, const std::string& name) {
  std::erase_if(list, [&](const T& item) {
    if constexpr (std::is_same_v<T, ScorePluginRef>) {
      return item.name == name;
    } else {
      return item == name;
    }
  });
  return list;
}

void ExpectSamePoints(const ProfileConfig& a, const ProfileConfig& b) {
  EXPECT_EQ(a.pre_filter, b.pre_filter);
  EXPECT_EQ(a.filter, b.filter);
  EXPECT_EQ(a.post_filter, b.post_filter);
  EXPECT_EQ(a.pre_score, b.pre_score);
  EXPECT_EQ(Scores(a), Scores(b));
}

// ---------------------------------------------------------------- documented examples

TEST(SchedulerConfig, NoProfilesMeansOneDefaultProfile) {
  SchedulerConfig config = Parse("");
  ASSERT_EQ(config.profiles.size(), 1u);
  EXPECT_EQ(config.profiles[0].scheduler_name, "default-scheduler");
  ExpectSamePoints(config.profiles[0], DefaultProfile());
  EXPECT_EQ(config.profiles[0].percentage_of_nodes_to_score, 0);
  EXPECT_EQ(config.pod_initial_backoff, Seconds(1));
  EXPECT_EQ(config.pod_max_backoff, Seconds(10));

  SchedulerConfig no_file = DefaultSchedulerConfig();
  ASSERT_EQ(no_file.profiles.size(), 1u);
  ExpectSamePoints(no_file.profiles[0], DefaultProfile());
  EXPECT_EQ(no_file.pod_max_backoff, Seconds(10));
}

TEST(SchedulerConfig, DisableAScorePluginAndEnableCustomOnes) {
  // The scheduler configuration page's first example: PodTopologySpread stops scoring (it
  // still filters), two custom score plugins join with their weights, after the defaults.
  SchedulerConfig config = Parse(R"(
profiles:
- plugins:
    score:
      disabled:
      - name: PodTopologySpread
      enabled:
      - name: MyCustomPluginA
        weight: 2
      - name: MyCustomPluginB
        weight: 1
)");
  ASSERT_EQ(config.profiles.size(), 1u);
  const ProfileConfig& p = config.profiles[0];
  const ProfileConfig defaults = DefaultProfile();
  std::vector<ScorePluginRef> expected = Without(defaults.score, "PodTopologySpread");
  expected.push_back({"MyCustomPluginA", 2});
  expected.push_back({"MyCustomPluginB", 1});
  ProfileConfig want = defaults;
  want.score = expected;
  ExpectSamePoints(p, want);
  EXPECT_NE(std::find(p.filter.begin(), p.filter.end(), "PodTopologySpread"), p.filter.end());
}

TEST(SchedulerConfig, ChangeWeights) {
  // A default plugin enabled again at score overrides its multiPoint entry and comes
  // first (Kubernetes' expansion: explicit overrides, then multiPoint, then the rest).
  // Without a weight it keeps its default weight (ksim's rule; see docs/SCHEDULER.md).
  SchedulerConfig config = Parse(R"(
profiles:
- plugins:
    score:
      enabled:
      - {name: NodeResourcesFit, weight: 5}
      - {name: TaintToleration}
      - {name: InterPodAffinity}
      disabled:
      - {name: InterPodAffinity}
)");
  const ProfileConfig& p = config.profiles[0];
  Weighted expected = {{"NodeResourcesFit", 5}, {"TaintToleration", 3}};
  for (const ScorePluginRef& ref : DefaultProfile().score) {
    if (ref.name != "NodeResourcesFit" && ref.name != "TaintToleration" && ref.name != "InterPodAffinity") {
      expected.emplace_back(ref.name, ref.weight);
    }
  }
  // Disabled then enabled: no longer part of the multiPoint set, so it goes last.
  expected.emplace_back("InterPodAffinity", 2);
  EXPECT_EQ(Scores(p), expected);
  EXPECT_EQ(p.filter, DefaultProfile().filter);
}

TEST(SchedulerConfig, SecondProfileWithoutScoring) {
  // The multiple-profiles example: pods naming "no-scoring-scheduler" are placed on the
  // first feasible node found.
  SchedulerConfig config = Parse(R"(
profiles:
- schedulerName: default-scheduler
- schedulerName: no-scoring-scheduler
  plugins:
    preScore:
      disabled:
      - name: '*'
    score:
      disabled:
      - name: '*'
)");
  ASSERT_EQ(config.profiles.size(), 2u);
  EXPECT_EQ(config.profiles[0].scheduler_name, "default-scheduler");
  ExpectSamePoints(config.profiles[0], DefaultProfile());
  const ProfileConfig& no_scoring = config.profiles[1];
  EXPECT_EQ(no_scoring.scheduler_name, "no-scoring-scheduler");
  EXPECT_TRUE(no_scoring.pre_score.empty());
  EXPECT_TRUE(no_scoring.score.empty());
  EXPECT_EQ(no_scoring.filter, DefaultProfile().filter);
  EXPECT_EQ(no_scoring.post_filter, DefaultProfile().post_filter);
}

TEST(SchedulerConfig, MultiPointEnablesAPluginAtEveryPointItImplements) {
  // MyPlugin implements PreFilter, Filter and Score: it joins those three points after the
  // defaults, with its weight at score, and not postFilter or preScore.
  SchedulerConfig config = Parse(R"(
profiles:
- schedulerName: multipoint-scheduler
  plugins:
    multiPoint:
      enabled:
      - name: MyPlugin
        weight: 3
)");
  const ProfileConfig& p = config.profiles[0];
  const ProfileConfig d = DefaultProfile();
  auto with = [](std::vector<std::string> list) {
    list.push_back("MyPlugin");
    return list;
  };
  EXPECT_EQ(p.pre_filter, with(d.pre_filter));
  EXPECT_EQ(p.filter, with(d.filter));
  EXPECT_EQ(p.post_filter, d.post_filter);
  EXPECT_EQ(p.pre_score, d.pre_score);
  ASSERT_FALSE(p.score.empty());
  EXPECT_EQ(p.score.back().name, "MyPlugin");
  EXPECT_EQ(p.score.back().weight, 3);
}

TEST(SchedulerConfig, MultiPointCanBeNarrowedAndOverridden) {
  // A point's own disabled list removes a multiPoint plugin there; a point's own enabled
  // entry overrides it (first, with its weight); multiPoint disabled removes a default
  // everywhere; a multiPoint entry for a default changes its weight in place.
  SchedulerConfig config = Parse(R"(
profiles:
- plugins:
    multiPoint:
      enabled:
      - {name: MyPlugin}
      - {name: TaintToleration, weight: 7}
      disabled:
      - {name: NodeAffinity}
    filter:
      disabled:
      - {name: MyPlugin}
    score:
      enabled:
      - {name: MyPlugin, weight: 9}
)");
  const ProfileConfig& p = config.profiles[0];
  const ProfileConfig d = DefaultProfile();
  std::vector<std::string> pre_filter = Without(d.pre_filter, "NodeAffinity");
  pre_filter.push_back("MyPlugin");
  EXPECT_EQ(p.pre_filter, pre_filter);
  EXPECT_EQ(p.filter, Without(d.filter, "NodeAffinity"));
  EXPECT_EQ(p.pre_score, Without(d.pre_score, "NodeAffinity"));
  Weighted score = {{"MyPlugin", 9}};
  for (const ScorePluginRef& ref : Without(d.score, "NodeAffinity")) {
    score.emplace_back(ref.name, ref.name == "TaintToleration" ? 7 : ref.weight);
  }
  EXPECT_EQ(Scores(p), score);
}

TEST(SchedulerConfig, MultiPointDisableAllKeepsOnlyWhatIsListed) {
  SchedulerConfig config = Parse(R"(
profiles:
- plugins:
    multiPoint:
      enabled: [{name: NodeResourcesFit}, {name: MyFilter}]
      disabled: [{name: '*'}]
)");
  const ProfileConfig& p = config.profiles[0];
  EXPECT_EQ(p.pre_filter, std::vector<std::string>{"NodeResourcesFit"});
  EXPECT_EQ(p.filter, (std::vector<std::string>{"NodeResourcesFit", "MyFilter"}));
  EXPECT_TRUE(p.post_filter.empty());
  EXPECT_EQ(Scores(p), (Weighted{{"NodeResourcesFit", 1}}));  // its default weight
}

TEST(SchedulerConfig, PercentagesBackoffAndPluginArgs) {
  // A profile's percentageOfNodesToScore, when set (even to 0, adaptive), wins over the
  // top-level one.
  SchedulerConfig config = Parse(R"(
percentageOfNodesToScore: 30
podInitialBackoffSeconds: 2
podMaxBackoffSeconds: 20
profiles:
- schedulerName: a
- schedulerName: b
  percentageOfNodesToScore: 0
- schedulerName: c
  percentageOfNodesToScore: 70
  plugins:
    filter:
      enabled: [{name: Leveled}]
  pluginConfig:
  - name: Leveled
    args: {level: 3}
)");
  ASSERT_EQ(config.profiles.size(), 3u);
  EXPECT_EQ(config.profiles[0].percentage_of_nodes_to_score, 30);
  EXPECT_EQ(config.profiles[1].percentage_of_nodes_to_score, 0);
  EXPECT_EQ(config.profiles[2].percentage_of_nodes_to_score, 70);
  EXPECT_EQ(config.pod_initial_backoff, Seconds(2));
  EXPECT_EQ(config.pod_max_backoff, Seconds(20));
  EXPECT_EQ(config.profiles[2].filter.back(), "Leveled");
  ASSERT_EQ(config.profiles[2].plugin_args.count("Leveled"), 1u);
  EXPECT_EQ(config.profiles[2].plugin_args.at("Leveled"), nlohmann::json({{"level", 3}}));
  EXPECT_TRUE(config.profiles[0].plugin_args.empty());
}

TEST(SchedulerConfig, ArgsKeepYamlTypes) {
  SchedulerConfig config = Parse(R"(
profiles:
- pluginConfig:
  - name: NodeResourcesFit
    args:
      scoringStrategy:
        type: MostAllocated
        resources: [{name: cpu, weight: 1}, {name: "memory", weight: 1.5}]
      ignored: ~
      flag: true
      quoted: "10"
)");
  const nlohmann::json& args = config.profiles[0].plugin_args.at("NodeResourcesFit");
  EXPECT_EQ(args["scoringStrategy"]["type"], "MostAllocated");
  EXPECT_EQ(args["scoringStrategy"]["resources"][0]["weight"], 1);
  EXPECT_TRUE(args["scoringStrategy"]["resources"][1]["weight"].is_number_float());
  EXPECT_TRUE(args["ignored"].is_null());
  EXPECT_EQ(args["flag"], true);
  EXPECT_EQ(args["quoted"], "10");
}

// ---------------------------------------------------------------- errors

TEST(SchedulerConfig, ErrorsNameTheLineAndTheField) {
  struct Case {
    std::string body;  // after the two header lines
    std::string error;
  };
  const std::vector<Case> cases = {
      {"profiles:\n"
       "- plugins:\n"
       "    score:\n"
       "      enabled:\n"
       "      - {name: MyCustomPluginA}\n"
       "      - {name: MyCustomPluginB, weight: 0}\n",
       "sched.yaml:8: profiles[0].plugins.score.enabled[1].weight: must be in 1..100"},
      {"profiles:\n- plugins: {score: {enabled: [{name: MyCustomPluginA, weight: 101}]}}\n",
       "sched.yaml:4: profiles[0].plugins.score.enabled[0].weight: must be in 1..100"},
      {"profiles:\n- plugins: {score: {enabled: [{name: MyCustomPluginA, weight: \"5\"}]}}\n",
       "sched.yaml:4: profiles[0].plugins.score.enabled[0].weight: expected an integer, got string \"5\""},
      {"percentageOfNodesToScor: 5\n",
       "sched.yaml:3: percentageOfNodesToScor: unknown field \"percentageOfNodesToScor\""},
      {"percentageOfNodesToScore: 101\n", "sched.yaml:3: percentageOfNodesToScore: must be in 0..100"},
      {"podInitialBackoffSeconds: 5\npodMaxBackoffSeconds: 2\n",
       "sched.yaml:4: podMaxBackoffSeconds: must be at least podInitialBackoffSeconds (5)"},
      {"podInitialBackoffSeconds: 0\n", "sched.yaml:3: podInitialBackoffSeconds: must be in 1..86400"},
      {"extenders: []\n", "sched.yaml:3: extenders: not supported by ksim"},
      {"profiles:\n- schedulerName: a\n  scheduler: b\n",
       "sched.yaml:5: profiles[0].scheduler: unknown field \"scheduler\""},
      {"profiles:\n- plugins:\n    filter:\n      enabled: [{name: Nope}]\n",
       "sched.yaml:6: profiles[0].plugins.filter.enabled[0].name: unknown plugin \"Nope\""},
      {"profiles:\n- plugins:\n    filter:\n      disabled: [{name: Nope}]\n",
       "sched.yaml:6: profiles[0].plugins.filter.disabled[0].name: unknown plugin \"Nope\""},
      {"profiles:\n- plugins:\n    filter:\n      enabled: [{name: MyCustomPluginA}]\n",
       "sched.yaml:6: profiles[0].plugins.filter.enabled[0].name: plugin \"MyCustomPluginA\" does not implement "
       "filter"},
      {"profiles:\n- plugins:\n    filter:\n      enabled: [{name: '*'}]\n",
       "sched.yaml:6: profiles[0].plugins.filter.enabled[0].name: \"*\" can only be disabled"},
      {"profiles:\n- plugins:\n    filter:\n      enabled: [{name: MyFilter}, {name: MyFilter}]\n",
       "sched.yaml:6: profiles[0].plugins.filter.enabled[1].name: plugin \"MyFilter\" is listed twice"},
      {"profiles:\n- plugins:\n    filter:\n      disabled: [{name: MyFilter, weight: 2}]\n",
       "sched.yaml:6: profiles[0].plugins.filter.disabled[0].weight: a disabled plugin takes no weight"},
      {"profiles:\n- plugins:\n    filter:\n      enabled: [{weight: 2}]\n",
       "sched.yaml:6: profiles[0].plugins.filter.enabled[0].name: required field is missing"},
      {"profiles:\n- plugins:\n    queueSort:\n      enabled: [{name: PrioritySort}]\n",
       "sched.yaml:6: profiles[0].plugins.queueSort: extension point not supported by ksim"},
      {"profiles:\n- schedulerName: a\n- schedulerName: b\n- schedulerName: a\n",
       "sched.yaml:6: profiles[2].schedulerName: duplicate schedulerName \"a\" (also profiles[0])"},
      {"profiles:\n- {}\n- plugins: {}\n",
       "sched.yaml:5: profiles[1]: duplicate schedulerName \"default-scheduler\" (also profiles[0])"},
      {"profiles:\n- pluginConfig:\n  - name: Leveled\n    args: {level: 11}\n",
       "sched.yaml:6: profiles[0].pluginConfig[0]: args.level: must be an integer in 0..10"},
      {"profiles:\n- pluginConfig:\n  - {name: Leveled}\n  - {name: Leveled}\n",
       "sched.yaml:6: profiles[0].pluginConfig[1].name: duplicate plugin \"Leveled\" (also pluginConfig[0])"},
      {"profiles:\n- pluginConfig:\n  - {name: Nope, args: {}}\n",
       "sched.yaml:5: profiles[0].pluginConfig[0].name: unknown plugin \"Nope\""},
      {"profiles:\n- pluginConfig:\n  - {name: Leveled, args: {level: .inf}}\n",
       "sched.yaml:5: profiles[0].pluginConfig[0].args.level: number must be finite"},
      {"profiles: {a: b}\n", "sched.yaml:3: profiles: expected a list, got an object"},
      {"profiles:\n- plugins:\n    score: [a]\n",
       "sched.yaml:5: profiles[0].plugins.score: expected an object, got a list"},
      {"profiles: [\n", "sched.yaml:4: invalid YAML"},
  };
  for (const Case& c : cases) {
    std::string message = ParseError(std::string(kHeader) + c.body);
    EXPECT_EQ(message.substr(0, c.error.size()), c.error) << c.body;
  }
}

TEST(SchedulerConfig, TypeMetaIsChecked) {
  EXPECT_EQ(ParseError("apiVersion: kubescheduler.config.k8s.io/v1beta3\nkind: KubeSchedulerConfiguration\n"),
            "sched.yaml:1: apiVersion: \"kubescheduler.config.k8s.io/v1beta3\" is not supported (ksim reads "
            "kubescheduler.config.k8s.io/v1)");
  EXPECT_EQ(ParseError("apiVersion: kubescheduler.config.k8s.io/v1\nkind: Pod\n"),
            "sched.yaml:2: kind: must be KubeSchedulerConfiguration");
  EXPECT_EQ(ParseError("kind: KubeSchedulerConfiguration\n"), "sched.yaml:1: apiVersion: required field is missing");
  EXPECT_EQ(ParseError(""), "sched.yaml: expected one KubeSchedulerConfiguration document, found 0");
  EXPECT_EQ(ParseError(std::string(kHeader) + "---\n" + std::string(kHeader)),
            "sched.yaml: expected one KubeSchedulerConfiguration document, found 2");
  EXPECT_EQ(ParseError("- a\n"), "sched.yaml:1: expected a KubeSchedulerConfiguration object");
  EXPECT_EQ(ParseError(std::string(kHeader) + "profiles: []\x01\n"),
            "sched.yaml:3: text is not valid UTF-8 or holds a control character");
}

TEST(SchedulerConfig, ProfilesAreCheckedByTheFramework) {
  // ImageLocality is a default plugin; a registry without it fails when the profile is
  // built, and the error points at the profile.
  const PluginRegistry without = StandInRegistry(/*with_image_locality=*/false);
  std::string message = ParseError(std::string(kHeader) + "profiles:\n- schedulerName: x\n", without);
  EXPECT_TRUE(message.starts_with("sched.yaml:4: profiles[0]: profile \"x\": ")) << message;
  EXPECT_TRUE(message.ends_with("unknown plugin \"ImageLocality\"")) << message;
  // Disabling it (a default plugin may be disabled even if unregistered) makes the profile
  // whole again.
  SchedulerConfig config;
  Status s = ParseSchedulerConfig(
      std::string(kHeader) + "profiles:\n- plugins: {multiPoint: {disabled: [{name: ImageLocality}]}}\n", "sched.yaml",
      without, &config);
  EXPECT_TRUE(s.ok()) << s.ToString();
}

SchedulerConfig Marker() {
  SchedulerConfig marker;
  marker.profiles.resize(1);
  marker.profiles[0].scheduler_name = "marker";
  marker.pod_initial_backoff = Nanos(123);
  return marker;
}

bool IsMarker(const SchedulerConfig& config) {
  return config.profiles.size() == 1 && config.profiles[0].scheduler_name == "marker" &&
         config.pod_initial_backoff == Nanos(123) && config.profiles[0].filter.empty();
}

TEST(SchedulerConfig, OutputIsUntouchedOnError) {
  SchedulerConfig config = Marker();
  // Fails in the second profile, after the first resolved.
  Status s = ParseSchedulerConfig(
      std::string(kHeader) +
          "profiles:\n- schedulerName: a\n- plugins: {filter: {enabled: [{name: MyCustomPluginA}]}}\n",
      "sched.yaml", Registry(), &config);
  ASSERT_FALSE(s.ok());
  EXPECT_TRUE(IsMarker(config));
}

// ---------------------------------------------------------------- property

// A valid file mutated at random (bytes replaced, inserted, removed, lines duplicated)
// never crashes the parser; when it fails `out` is untouched, and when it succeeds every
// profile has a distinct name and builds a Framework.
RC_GTEST_PROP(SchedulerConfigProperty, MutatedFilesFailCleanlyOrResolve, ()) {
  const std::string seed = std::string(kHeader) + R"(percentageOfNodesToScore: 30
podMaxBackoffSeconds: 20
profiles:
- schedulerName: a
  plugins:
    multiPoint:
      enabled: [{name: MyPlugin, weight: 3}]
    score:
      disabled: [{name: PodTopologySpread}]
      enabled: [{name: MyCustomPluginA, weight: 2}]
  pluginConfig:
  - name: Leveled
    args: {level: 3}
  - name: NodeResourcesFit
    args: {list: [1, 2.5, "x", null, true], nested: {k: &anchor v, again: *anchor}}
- schedulerName: b
  plugins: {preScore: {disabled: [{name: '*'}]}, score: {disabled: [{name: '*'}]}}
)";
  const std::string alphabet = "abcz019 :-[]{},'\"*&!#|>\n\t.~";
  std::string text = seed;
  // Sized at the nominal size so positions spread over the whole file.
  auto uniform = [](auto low, auto high) { return *rc::gen::resize(rc::kNominalSize, rc::gen::inRange(low, high)); };
  const int mutations = uniform(1, 4);
  for (int m = 0; m < mutations; ++m) {
    const size_t at = uniform(size_t{0}, text.size());
    switch (uniform(0, 5)) {
      case 0:
        text[at] = *rc::gen::elementOf(alphabet);
        break;
      case 1:
        text.insert(at, 1, *rc::gen::elementOf(alphabet));
        break;
      case 2:
        text.erase(at, *rc::gen::inRange<size_t>(1, 8));
        break;
      case 3: {  // a whole line goes
        const size_t line_start = text.rfind('\n', at) == std::string::npos ? 0 : text.rfind('\n', at) + 1;
        const size_t line_end = text.find('\n', at);
        text.erase(line_start, line_end == std::string::npos ? std::string::npos : line_end - line_start + 1);
        break;
      }
      default: {  // a line is duplicated
        const size_t line_start = text.rfind('\n', at) == std::string::npos ? 0 : text.rfind('\n', at) + 1;
        const size_t line_end = text.find('\n', at);
        text.insert(line_start, text.substr(line_start, line_end == std::string::npos ? std::string::npos
                                                                                      : line_end - line_start + 1));
        break;
      }
    }
  }
  SchedulerConfig config = Marker();
  Status s = ParseSchedulerConfig(text, "fuzz.yaml", Registry(), &config);
  if (!s.ok()) {
    RC_ASSERT(s.Is(Status::Code::kInvalidArgument));
    RC_ASSERT(s.message().starts_with("fuzz.yaml"));
    RC_ASSERT(IsMarker(config));
    return;
  }
  RC_ASSERT(!config.profiles.empty());
  std::set<std::string> names;
  for (const ProfileConfig& profile : config.profiles) {
    RC_ASSERT(names.insert(profile.scheduler_name).second);
    std::unique_ptr<Framework> framework;
    RC_ASSERT(Framework::Create(profile, Registry(), &framework).ok());
  }
  RC_ASSERT(config.pod_initial_backoff <= config.pod_max_backoff);
}

}  // namespace
}  // namespace ksim::scheduler
