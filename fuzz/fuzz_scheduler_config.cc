// libFuzzer target: KubeSchedulerConfiguration files through ParseSchedulerConfig, with
// stand-in plugins (the default plugins' names at the points DefaultProfile() lists them,
// custom ones, and one that checks its args). A failure must leave the output untouched;
// a success must resolve the same way twice and give profiles a Framework accepts.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <type_traits>

#include "cluster/scheduler/config.h"
#include "tests/cluster/scheduler/stand_in_plugins.h"

namespace {

using namespace ksim::scheduler;

using ksim::scheduler::testing::MakeStandIn;

void RegisterFake(PluginRegistry& registry, const std::string& name, unsigned mask, bool check_args) {
  registry.Register(name, [name, mask, check_args](const nlohmann::json& args, std::unique_ptr<Plugin>* out) {
    // Reads its args the way a real factory might: walks them, dumps them.
    if (check_args && !args.is_null()) {
      if (!args.is_object() || !args.contains("level") || !args["level"].is_number_integer()) {
        return ksim::Status::InvalidArgument("args.level: required integer");
      }
      if (args.dump().size() > 1'000'000) return ksim::Status::InvalidArgument("args: too large");
    }
    *out = MakeStandIn(mask, name);
    return ksim::Status::Ok();
  });
}

const PluginRegistry& Registry() {
  static const PluginRegistry* registry = [] {
    auto* r = new PluginRegistry();
    ksim::scheduler::testing::RegisterDefaultStandIns(*r);
    RegisterFake(*r, "CustomScore", 16u, false);
    RegisterFake(*r, "CustomFilter", 2u, false);
    RegisterFake(*r, "Everywhere", 31u, false);
    RegisterFake(*r, "Leveled", 3u, true);
    return r;
  }();
  return *registry;
}

bool SameConfig(const SchedulerConfig& a, const SchedulerConfig& b) {
  if (a.profiles.size() != b.profiles.size() || a.pod_initial_backoff != b.pod_initial_backoff ||
      a.pod_max_backoff != b.pod_max_backoff) {
    return false;
  }
  for (size_t i = 0; i < a.profiles.size(); ++i) {
    const ProfileConfig& x = a.profiles[i];
    const ProfileConfig& y = b.profiles[i];
    if (x.scheduler_name != y.scheduler_name || x.pre_filter != y.pre_filter || x.filter != y.filter ||
        x.post_filter != y.post_filter || x.pre_score != y.pre_score || x.score.size() != y.score.size() ||
        x.plugin_args != y.plugin_args || x.percentage_of_nodes_to_score != y.percentage_of_nodes_to_score) {
      return false;
    }
    for (size_t k = 0; k < x.score.size(); ++k) {
      if (x.score[k].name != y.score[k].name || x.score[k].weight != y.score[k].weight) return false;
    }
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  SchedulerConfig config;
  config.profiles.resize(1);
  config.profiles[0].scheduler_name = "untouched";
  config.pod_initial_backoff = ksim::Nanos(7);
  const SchedulerConfig before = config;
  ksim::Status s = ParseSchedulerConfig(text, "fuzz.yaml", Registry(), &config);
  if (!s.ok()) {
    if (!s.Is(ksim::Status::Code::kInvalidArgument) || !SameConfig(config, before)) std::abort();
    return 0;
  }
  if (config.profiles.empty() || config.pod_initial_backoff > config.pod_max_backoff) std::abort();
  std::set<std::string> names;
  for (const ProfileConfig& profile : config.profiles) {
    if (!names.insert(profile.scheduler_name).second) std::abort();
    std::unique_ptr<Framework> framework;
    if (!Framework::Create(profile, Registry(), &framework).ok()) std::abort();
  }
  SchedulerConfig again;
  if (!ParseSchedulerConfig(text, "fuzz.yaml", Registry(), &again).ok() || !SameConfig(config, again)) std::abort();
  return 0;
}
