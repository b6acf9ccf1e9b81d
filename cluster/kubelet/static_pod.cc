#include "cluster/kubelet/static_pod.h"

#include <fmt/format.h>
#include <xxhash.h>

#include <utility>

#include "cluster/api/codec.h"
#include "cluster/apiserver/strategy/strategy.h"
#include "cluster/env/wire.h"
#include "cluster/kubelet/api_objects.h"

namespace ksim::kubelet {
namespace {

// Kubernetes' applyDefaults for a static pod (pkg/kubelet/config/common.go, in meaning):
// the uid is a hash of the pod as read and of where it came from, so re-reading an
// unchanged manifest gives the same uid and a changed one a new uid.
void ApplyStaticDefaults(StaticSource source, const std::string& location, const std::string& node_name,
                         api::Pod* pod) {
  if (pod->metadata().uid().empty()) {
    std::string bytes;
    SerializeDeterministic(*pod, &bytes);
    bytes += source == StaticSource::kFile ? fmt::format("host:{}file:{}", node_name, location)
                                           : fmt::format("{}:{}", StaticSourceName(source), location);
    const XXH128_hash_t h = XXH3_128bits(bytes.data(), bytes.size());
    pod->mutable_metadata()->set_uid(fmt::format("{:016x}{:016x}", h.high64, h.low64));
  }
  pod->mutable_metadata()->set_name(pod->metadata().name() + "-" + node_name);
  if (pod->metadata().namespace_().empty()) pod->mutable_metadata()->set_namespace_("default");
  pod->mutable_spec()->set_node_name(node_name);
  auto& annotations = *pod->mutable_metadata()->mutable_annotations();
  annotations[kConfigHashAnnotation] = pod->metadata().uid();
  annotations[kConfigSourceAnnotation] = std::string(StaticSourceName(source));
  if (source == StaticSource::kFile) {
    // Node problems must not evict a static pod: tolerate every NoExecute taint.
    bool has = false;
    for (const api::Toleration& t : pod->spec().tolerations()) {
      has = has || (t.operator_() == "Exists" && t.key().empty() && t.effect() == "NoExecute");
    }
    if (!has) {
      api::Toleration* t = pod->mutable_spec()->add_tolerations();
      t->set_operator_("Exists");
      t->set_effect("NoExecute");
    }
  }
  pod->mutable_status()->set_phase("Pending");
}

}  // namespace

std::string_view StaticSourceName(StaticSource source) {
  switch (source) {
    case StaticSource::kFile:
      return "file";
    case StaticSource::kHttp:
      return "http";
    case StaticSource::kEndpoint:
      return "endpoint";
  }
  return "file";
}

Status ReadStaticPods(std::string_view text, StaticSource source, const std::string& location,
                      const std::string& node_name, const StaticManifestLimits& limits,
                      std::vector<std::shared_ptr<const api::Pod>>* out) {
  out->clear();
  if (text.size() > limits.max_manifest_bytes) {
    return Status::InvalidArgument(
        fmt::format("{}: manifest is {} bytes, more than the {} allowed", location, text.size(), limits.max_manifest_bytes));
  }
  std::vector<api::Object> objects;
  Status s = api::DecodeYaml(text, location, &objects);
  if (!s.ok()) return Status::InvalidArgument(s.message());
  if (objects.size() > limits.max_pods_per_manifest) {
    return Status::InvalidArgument(fmt::format("{}: {} pods in one manifest, more than the {} allowed", location,
                                               objects.size(), limits.max_pods_per_manifest));
  }
  std::vector<std::shared_ptr<const api::Pod>> pods;
  std::set<std::string> keys;
  for (api::Object& o : objects) {
    if (o.info->kind != "Pod") {
      return Status::InvalidArgument(
          fmt::format("{}:{}: kind: \"{}\" cannot be a static pod (only Pod)", location, o.line, o.info->kind));
    }
    auto pod = std::shared_ptr<api::Pod>(static_cast<api::Pod*>(o.message.release()));
    if (pod->metadata().name().empty()) {
      return Status::InvalidArgument(fmt::format("{}:{}: metadata.name: Required value", location, o.line));
    }
    apiserver::ApplyDefaults(*pod);
    ApplyStaticDefaults(source, location, node_name, pod.get());
    const std::vector<apiserver::FieldError> errors = apiserver::ValidateCreate(*pod);
    if (!errors.empty()) {
      return Status::InvalidArgument(fmt::format("{}:{}: {}", location, o.line, apiserver::ToString(errors[0])));
    }
    const std::string key = pod->metadata().namespace_() + "/" + pod->metadata().name();
    if (!keys.insert(key).second) {
      return Status::InvalidArgument(
          fmt::format("{}:{}: metadata.name: Duplicate value: \"{}\"", location, o.line, pod->metadata().name()));
    }
    pods.push_back(std::move(pod));
  }
  *out = std::move(pods);
  return Status::Ok();
}

StaticPodSource::StaticPodSource(Env& env, StaticPodSourceOptions options, OnChange on_change,
                                 OnBadManifest on_bad_manifest)
    : env_(env),
      options_(std::move(options)),
      on_change_(std::move(on_change)),
      on_bad_manifest_(std::move(on_bad_manifest)) {}

StaticPodSource::~StaticPodSource() {
  *alive_ = false;
  for (TimerId t : {folder_timer_, url_timer_, url_deadline_}) {
    if (t) env_.clock->Cancel(t);
  }
  if (url_conn_) url_conn_->Close();
}

void StaticPodSource::Start() {
  if (!options_.manifest_dir.empty()) ReadFolder();
  if (!options_.manifest_url.empty()) FetchUrl();
}

std::vector<std::shared_ptr<const api::Pod>> StaticPodSource::Pods() const {
  std::vector<std::shared_ptr<const api::Pod>> out;
  for (const auto& [key, e] : pods_) out.push_back(e.pod);
  return out;
}

void StaticPodSource::ReadFolder() {
  if (folder_timer_) env_.clock->Cancel(folder_timer_);
  folder_timer_ = env_.clock->Schedule(options_.file_check_frequency, [this] {
    folder_timer_ = 0;
    ReadFolder();
  });
  std::vector<std::string> names;
  const std::string& dir = options_.manifest_dir;
  if (!env_.disk || !env_.disk->List(dir, &names).ok()) names.clear();
  std::map<std::string, std::vector<std::shared_ptr<const api::Pod>>> next;  // origin -> pods
  size_t read = 0;
  for (const std::string& name : names) {
    if (name.empty() || name[0] == '.') continue;  // editors' and atomic writers' temporary files
    const std::string origin = "file:" + name;
    if (++read > options_.max_files) {
      Report(origin, "file " + name,
             Status::InvalidArgument(fmt::format("{}: more than {} manifest files; ignored", name, options_.max_files)));
      continue;
    }
    std::string text;
    if (!env_.disk->Read(dir + "/" + name, &text).ok()) continue;  // removed since List: gone
    std::vector<std::shared_ptr<const api::Pod>>& pods = next[origin];
    Status s = ReadStaticPods(text, StaticSource::kFile, name, options_.node_name, options_.limits, &pods);
    if (!s.ok()) {
      // As Kubernetes' file source: a file that cannot be read contributes no pods.
      Report(origin, "file " + name, s);
    } else {
      ClearReport(origin);
    }
  }
  for (const auto& [origin, keys] : origins_) {
    if (origin.rfind("file:", 0) == 0 && !next.count(origin)) {
      ClearReport(origin);
      next[origin];  // gone: no pods
    }
  }
  // Releases first (pods a file no longer defines), then claims, so a pod that moves from
  // one file to another is not lost to the order the files are read in.
  for (const auto& [origin, pods] : next) {
    std::vector<std::shared_ptr<const api::Pod>> kept;
    const auto owned = origins_.find(origin);
    for (const auto& pod : pods) {
      if (owned != origins_.end() && owned->second.count(pod->metadata().namespace_() + "/" + pod->metadata().name())) {
        kept.push_back(pod);
      }
    }
    Replace(origin, kept, /*releases_only=*/true);
  }
  for (const auto& [origin, pods] : next) Replace(origin, pods);
}

Status StaticPodSource::AcceptManifest(const std::string& name, std::string_view text, std::vector<std::string>* pods) {
  pods->clear();
  if (name.empty() || name.size() > 253 || name.find_first_of("/\n\r") != std::string::npos) {
    return Status::InvalidArgument("name: must be 1-253 characters without '/' or line breaks");
  }
  const std::string origin = "endpoint:" + name;
  size_t posted = 0;
  for (const auto& [o, keys] : origins_) posted += o.rfind("endpoint:", 0) == 0 && o != origin ? 1 : 0;
  if (!text.empty() && posted >= options_.max_posted_manifests) {
    return Status::InvalidArgument(fmt::format("name: more than {} posted manifests", options_.max_posted_manifests));
  }
  std::vector<std::shared_ptr<const api::Pod>> read;
  Status s = ReadStaticPods(text, StaticSource::kEndpoint, name, options_.node_name, options_.limits, &read);
  if (!s.ok()) {
    LogTo(env_, LogLevel::kWarning, fmt::format("static pod manifest posted as {}: {}", name, s.message()));
    return s;
  }
  for (const auto& pod : read) {
    const std::string key = pod->metadata().namespace_() + "/" + pod->metadata().name();
    const auto it = pods_.find(key);
    if (it != pods_.end() && it->second.origin != origin) {
      return Status::InvalidArgument(fmt::format("{}: metadata.name: \"{}\" is already a static pod from {}", name,
                                                 pod->metadata().name(), it->second.origin));
    }
  }
  Replace(origin, read);
  for (const std::string& key : origins_[origin]) pods->push_back(key);
  return Status::Ok();
}

void StaticPodSource::Replace(const std::string& origin, const std::vector<std::shared_ptr<const api::Pod>>& pods,
                              bool releases_only) {
  std::set<std::string>& keys = origins_[origin];
  std::set<std::string> next;
  const std::string report_key = "pods:" + origin;  // conflicts and limits, apart from read errors
  bool reported = false;
  for (const auto& pod : pods) {
    const std::string key = pod->metadata().namespace_() + "/" + pod->metadata().name();
    const auto it = pods_.find(key);
    if (it != pods_.end() && it->second.origin != origin) {
      Report(report_key, origin,
             Status::InvalidArgument(fmt::format("{}: static pod {} is already defined by {}; ignored", origin, key,
                                                 it->second.origin)));
      reported = true;
      continue;
    }
    if (it == pods_.end() && pods_.size() >= options_.max_static_pods) {
      Report(report_key, origin,
             Status::InvalidArgument(fmt::format("{}: more than {} static pods; {} ignored", origin,
                                                 options_.max_static_pods, key)));
      reported = true;
      continue;
    }
    next.insert(key);
    if (it == pods_.end()) {
      pods_[key] = Entry{origin, pod};
      on_change_(PodChange::kAdd, pod);
    } else if (it->second.pod->metadata().uid() != pod->metadata().uid()) {
      it->second.pod = pod;
      on_change_(PodChange::kUpdate, pod);
    }
  }
  for (const std::string& key : keys) {
    if (next.count(key)) continue;
    const auto it = pods_.find(key);
    if (it == pods_.end()) continue;
    auto last = it->second.pod;
    pods_.erase(it);
    on_change_(PodChange::kRemove, last);
  }
  if (!reported && !releases_only) ClearReport(report_key);
  if (next.empty()) {
    origins_.erase(origin);
  } else {
    keys = std::move(next);
  }
}

void StaticPodSource::Report(const std::string& origin, const std::string& location, const Status& error) {
  auto& last = reported_[origin];
  if (last == error.message()) return;  // reported already: a re-read says nothing new
  last = error.message();
  LogTo(env_, LogLevel::kError, fmt::format("static pod manifest {}: {}", location, error.message()));
  if (on_bad_manifest_) on_bad_manifest_(location, error);
}

void StaticPodSource::ClearReport(const std::string& origin) { reported_.erase(origin); }

}  // namespace ksim::kubelet
