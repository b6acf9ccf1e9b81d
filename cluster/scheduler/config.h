// Scheduler profiles from a KubeSchedulerConfiguration file
// (kubescheduler.config.k8s.io/v1), resolved into ProfileConfigs the way kube-scheduler
// resolves them: every profile starts from the default plugins (DefaultProfile()), each
// extension point's `disabled` then `enabled` lists apply, and `multiPoint` plugins join
// every point they implement.
//
// Reading is strict: an unknown field, an unknown plugin, a weight out of range or two
// profiles with one schedulerName is an InvalidArgument that names the source, the line
// and the field path, e.g.
//   sched.yaml:7: profiles[0].plugins.score.enabled[1].weight: must be in 1..100
// docs/SCHEDULER.md ("Profiles and configuration") lists the rules and where ksim differs.
#pragma once

#include <string_view>
#include <vector>

#include "cluster/env/status.h"
#include "cluster/env/time.h"
#include "cluster/scheduler/framework/framework.h"

namespace ksim::scheduler {

struct SchedulerConfig {
  // At least one; schedulerNames are distinct.
  std::vector<ProfileConfig> profiles;
  // podInitialBackoffSeconds / podMaxBackoffSeconds.
  Nanos pod_initial_backoff = Seconds(1);
  Nanos pod_max_backoff = Seconds(10);
};

// What kube-scheduler runs without a configuration file: one "default-scheduler" profile
// with the default plugins, back-off 1 s to 10 s.
SchedulerConfig DefaultSchedulerConfig();

// Parses and resolves a KubeSchedulerConfiguration. `source` names the text in errors.
// Plugins named anywhere must be in `registry`; each plugin with pluginConfig args is
// built once with them (so bad args fail here), and each resolved profile is checked by
// Framework::Create. On error `out` is left untouched.
Status ParseSchedulerConfig(std::string_view yaml, std::string_view source, const PluginRegistry& registry,
                            SchedulerConfig* out);

}  // namespace ksim::scheduler
