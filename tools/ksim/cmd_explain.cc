// ksim explain: how the scheduler would place one pod, given manifests of the cluster.
// Reads Nodes, Pods (those with spec.nodeName count as running there; the explained pod
// keeps its spec.nodeName, so NodeName rejects the other nodes), Namespaces and
// PriorityClasses from YAML files, and prints every Filter plugin's verdict and every Score
// plugin's score per node for the pod named by --pod, then the best node(s) or the fit
// error in Kubernetes' words. Exit 0 when explained (schedulable or not), 2 on bad input.
#include <fmt/format.h>

#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "cluster/api/codec.h"
#include "cluster/api/core.pb.h"
#include "cluster/api/scheduling.pb.h"
#include "cluster/scheduler/config.h"
#include "cluster/scheduler/explain.h"
#include "cluster/scheduler/framework/framework.h"
#include "tools/ksim/commands.h"
#include "tools/ksim/read_file.h"

namespace ksim::tools {
namespace {

int Fail(const std::string& message) {
  std::fprintf(stderr, "ksim explain: error: %s\n", message.c_str());
  return kExitBadInput;
}

struct Flags {
  std::vector<std::string> manifests;
  std::string pod;
  std::string config;
};

int RunExplain(const Flags& flags) {
  using namespace ksim::scheduler;
  const size_t slash = flags.pod.find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 == flags.pod.size()) {
    return Fail(fmt::format("--pod: \"{}\" is not NAMESPACE/NAME", flags.pod));
  }
  std::vector<std::shared_ptr<const NodeData>> nodes;
  std::vector<PodInfoPtr> bound;
  std::map<std::string, Labels, std::less<>> namespaces;
  std::map<std::string, const api::PriorityClass*> classes;
  std::vector<api::Object> objects;
  std::shared_ptr<api::Pod> target;
  for (const std::string& path : flags.manifests) {
    std::string text;
    if (Status s = ReadInputFile(path, &text); !s.ok()) return Fail(s.message());
    if (Status s = api::DecodeYaml(text, path, &objects); !s.ok()) return Fail(s.message());
  }
  for (const api::Object& o : objects) {
    const std::string& kind = o.info->kind;
    if (kind == "Namespace") {
      const auto& ns = static_cast<const api::Namespace&>(*o.message);
      namespaces[ns.metadata().name()] = Labels(ns.metadata().labels().begin(), ns.metadata().labels().end());
    } else if (kind == "PriorityClass") {
      const auto& pc = static_cast<const api::PriorityClass&>(*o.message);
      classes[pc.metadata().name()] = &pc;
    }
  }
  for (const api::Object& o : objects) {
    const std::string& kind = o.info->kind;
    if (kind == "Node") {
      auto node = std::make_shared<api::Node>(static_cast<const api::Node&>(*o.message));
      std::shared_ptr<const NodeData> data;
      if (Status s = NodeData::Build(node, &data); !s.ok()) {
        return Fail(fmt::format("node {} (line {}): {}", node->metadata().name(), o.line, s.message()));
      }
      nodes.push_back(std::move(data));
    } else if (kind == "Pod") {
      auto pod = std::make_shared<api::Pod>(static_cast<const api::Pod&>(*o.message));
      auto* meta = pod->mutable_metadata();
      if (meta->namespace_().empty()) meta->set_namespace_("default");
      if (meta->uid().empty()) meta->set_uid(meta->namespace_() + "/" + meta->name());
      // Admission's Priority plugin: a class name resolves to its value.
      if (!pod->spec().has_priority() && !pod->spec().priority_class_name().empty()) {
        auto it = classes.find(pod->spec().priority_class_name());
        if (it == classes.end()) {
          return Fail(fmt::format("pod {}/{} (line {}): spec.priorityClassName: no PriorityClass \"{}\" in the manifests",
                                  meta->namespace_(), meta->name(), o.line, pod->spec().priority_class_name()));
        }
        pod->mutable_spec()->set_priority(it->second->value());
      }
      if (meta->namespace_() + "/" + meta->name() == flags.pod) target = pod;
      if (pod->spec().node_name().empty()) continue;
      std::shared_ptr<PodInfo> info;
      if (Status s = PodInfo::Build(pod, &info); !s.ok()) {
        return Fail(fmt::format("pod {}/{} (line {}): {}", meta->namespace_(), meta->name(), o.line, s.message()));
      }
      bound.push_back(std::move(info));
    }
  }
  if (target == nullptr) return Fail(fmt::format("--pod: no pod {} in the manifests", flags.pod));
  SchedulerConfig config = DefaultSchedulerConfig();
  if (!flags.config.empty()) {
    std::string text;
    if (Status s = ReadInputFile(flags.config, &text); !s.ok()) return Fail(s.message());
    if (Status s = ParseSchedulerConfig(text, flags.config, PluginRegistry::Default(), &config); !s.ok()) {
      return Fail(s.message());
    }
  }
  const std::string& wanted = target->spec().scheduler_name().empty() ? std::string("default-scheduler")
                                                                       : target->spec().scheduler_name();
  const ProfileConfig* profile = nullptr;
  for (const ProfileConfig& p : config.profiles) {
    if (p.scheduler_name == wanted) profile = &p;
  }
  if (profile == nullptr) return Fail(fmt::format("--pod: spec.schedulerName \"{}\" has no profile", wanted));
  std::unique_ptr<Framework> framework;
  if (Status s = Framework::Create(*profile, PluginRegistry::Default(), &framework); !s.ok()) return Fail(s.message());
  // The pod is explained as if it were not yet on any node (it does not count against
  // itself), but it keeps spec.nodeName: a pod pinned to a node is explained as the
  // scheduler sees it, with NodeName rejecting every other node.
  std::vector<PodInfoPtr> others;
  for (const PodInfoPtr& p : bound) {
    if (p->uid != target->metadata().uid()) others.push_back(p);
  }
  std::shared_ptr<PodInfo> pod;
  if (Status s = PodInfo::Build(target, &pod); !s.ok()) return Fail(fmt::format("pod {}: {}", flags.pod, s.message()));
  const Snapshot snapshot = Snapshot::Of(nodes, others, namespaces);
  std::fputs(RenderExplanation(ExplainPod(*framework, snapshot, *pod), *framework).c_str(), stdout);
  return 0;
}

}  // namespace

CommandFn AddExplainCommand(CLI::App& app) {
  auto flags = std::make_shared<Flags>();
  CLI::App* cmd = app.add_subcommand(
      "explain", "Explain how the scheduler would place one pod: each filter's verdict and score per node");
  cmd->add_option("--manifests", flags->manifests,
                  "YAML files with the cluster's Nodes, Pods (spec.nodeName: running there), Namespaces, "
                  "PriorityClasses")
      ->required();
  cmd->add_option("--pod", flags->pod, "The pod to explain, NAMESPACE/NAME")->required();
  cmd->add_option("--config", flags->config, "A KubeSchedulerConfiguration file (default: the default profile)");
  return [flags]() { return RunExplain(*flags); };
}

}  // namespace ksim::tools
