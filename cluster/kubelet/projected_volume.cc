#include "cluster/kubelet/projected_volume.h"

#include <fmt/format.h>

#include <utility>
#include <vector>

#include "cluster/api/registry.h"

namespace ksim::kubelet {
namespace {

const api::KindInfo& ConfigMaps() { return *api::Registry::Default().ByGroupResource("", "configmaps"); }

std::string AccountOf(const api::Pod& pod) {
  return pod.spec().service_account_name().empty() ? "default" : pod.spec().service_account_name();
}

// Kubernetes' fieldpath.FormatMap: sorted `key="value"` lines, the value quoted.
std::string FormatMap(const google::protobuf::Map<std::string, std::string>& m) {
  const std::map<std::string, std::string> sorted(m.begin(), m.end());
  std::string out;
  for (const auto& [k, v] : sorted) {
    if (!out.empty()) out += '\n';
    out += k + "=\"";
    for (char ch : v) {
      if (ch == '"' || ch == '\\') out += '\\';
      if (ch == '\n') {
        out += "\\n";
        continue;
      }
      out += ch;
    }
    out += '"';
  }
  return out;
}

// A downwardAPI fieldRef's value; false for fields not offered here.
bool FieldValue(const api::Pod& pod, const std::string& field, std::string* out) {
  const api::ObjectMeta& m = pod.metadata();
  if (field == "metadata.name") *out = m.name();
  else if (field == "metadata.namespace") *out = m.namespace_();
  else if (field == "metadata.uid") *out = m.uid();
  else if (field == "metadata.labels") *out = FormatMap(m.labels());
  else if (field == "metadata.annotations") *out = FormatMap(m.annotations());
  else return false;
  return true;
}

}  // namespace

bool HasProjectedVolumes(const api::Pod& pod) {
  for (const api::Volume& v : pod.spec().volumes()) {
    if (v.has_projected()) return true;
  }
  return false;
}

std::string ProjectedFilePath(const std::string& root, const std::string& pod_uid, const std::string& volume,
                              const std::string& path) {
  return fmt::format("{}/{}/volumes/kubernetes.io~projected/{}/{}", root, pod_uid, volume, path);
}

// One Mount: the sources' answers gathered before anything is written.
struct ProjectedVolumeManager::Op {
  std::string uid;
  uint64_t generation = 0;
  api::Pod pod;
  int pending = 1;  // the collection itself, then one per asynchronous source
  std::string error;
  std::map<std::string, std::string> files;  // Disk path -> content
  std::function<void(Status)> done;
};

ProjectedVolumeManager::ProjectedVolumeManager(Clock* clock, Disk* disk, client::ApiClient* client, Logger* log,
                                               ServiceAccountTokenManager* tokens, ProjectedVolumeOptions options)
    : clock_(clock), disk_(disk), client_(client), log_(log), tokens_(tokens), options_(std::move(options)) {}

ProjectedVolumeManager::~ProjectedVolumeManager() {
  *alive_ = false;
  if (resync_timer_ != 0) clock_->Cancel(resync_timer_);
}

void ProjectedVolumeManager::Start() {
  resync_timer_ = clock_->Schedule(options_.resync_period, [this, alive = alive_] {
    if (*alive) Resync();
  });
}

void ProjectedVolumeManager::Resync() {
  resync_timer_ = 0;
  tokens_->Cleanup();
  std::vector<api::Pod> again;
  for (const auto& [uid, mp] : pods_) {
    if (mp.ok) again.push_back(mp.pod);
  }
  for (const api::Pod& pod : again) {
    Mount(pod, [this, name = pod.metadata().namespace_() + "/" + pod.metadata().name()](Status s) {
      if (!s.ok() && log_ != nullptr) log_->Log(LogLevel::kWarning, "kubelet", "pod " + name + ": " + s.message());
    });
  }
  Start();
}

void ProjectedVolumeManager::Mount(const api::Pod& pod, std::function<void(Status)> done) {
  ++mounts_;
  auto op = std::make_shared<Op>();
  op->uid = pod.metadata().uid();
  op->generation = ++next_generation_;
  op->pod = pod;
  op->done = std::move(done);
  MountedPod& mp = pods_[op->uid];
  mp.pod = pod;
  mp.generation = op->generation;
  Collect(op);
}

void ProjectedVolumeManager::Collect(const std::shared_ptr<Op>& op) {
  const api::Pod& pod = op->pod;
  auto fail = [op](const std::string& volume, const std::string& why) {
    if (op->error.empty()) op->error = fmt::format("MountVolume.SetUp failed for volume \"{}\" : {}", volume, why);
  };
  for (const api::Volume& v : pod.spec().volumes()) {
    if (!v.has_projected()) continue;
    for (const api::VolumeProjection& source : v.projected().sources()) {
      if (source.has_service_account_token()) {
        const api::ServiceAccountTokenProjection& t = source.service_account_token();
        const int64_t seconds = t.has_expiration_seconds() ? t.expiration_seconds() : kDefaultProjectedTokenSeconds;
        if (t.path().empty() || seconds < kMinProjectedTokenSeconds) {
          fail(v.name(), fmt::format("serviceAccountToken: path must be set and expirationSeconds at least {}",
                                     kMinProjectedTokenSeconds));
          continue;
        }
        TokenKey key{pod.metadata().namespace_(), AccountOf(pod), t.audience(), seconds, pod.metadata().name(),
                     pod.metadata().uid()};
        const std::string path = ProjectedFilePath(options_.root, op->uid, v.name(), t.path());
        ++op->pending;
        tokens_->Get(key, [this, alive = alive_, op, path, volume = v.name()](Status s, const std::string& token) {
          if (!*alive) return;
          if (s.ok()) {
            op->files[path] = token;
          } else if (op->error.empty()) {
            op->error = fmt::format("MountVolume.SetUp failed for volume \"{}\" : {}", volume, s.message());
          }
          Complete(op);
        });
      } else if (source.has_config_map()) {
        AddConfigMap(op, v.name(), source.config_map());
      } else if (source.has_downward_api()) {
        for (const api::DownwardAPIVolumeFile& item : source.downward_api().items()) {
          std::string value;
          if (!item.has_field_ref() || !FieldValue(pod, item.field_ref().field_path(), &value)) {
            if (log_ != nullptr) log_->Log(LogLevel::kInfo, "kubelet", "downwardAPI item " + item.path() + ": not offered, skipped");
            continue;
          }
          op->files[ProjectedFilePath(options_.root, op->uid, v.name(), item.path())] = value;
        }
      } else if (log_ != nullptr) {
        log_->Log(LogLevel::kInfo, "kubelet", fmt::format("volume {}: a projected source not offered, skipped", v.name()));
      }
    }
  }
  Complete(op);
}

void ProjectedVolumeManager::AddConfigMap(const std::shared_ptr<Op>& op, const std::string& volume,
                                          const api::ConfigMapProjection& source) {
  ++op->pending;
  client_->Get(ConfigMaps(), op->pod.metadata().namespace_(), source.name(),
               [this, alive = alive_, op, volume, source](const client::ApiResult& r) {
                 if (!*alive) return;
                 const bool optional = source.has_optional() && source.optional();
                 auto fail = [&](const std::string& why) {
                   if (op->error.empty()) {
                     op->error = fmt::format("MountVolume.SetUp failed for volume \"{}\" : {}", volume, why);
                   }
                 };
                 api::ConfigMap cm;
                 if (r.status.ok() && r.code == 404) {
                   if (!optional) fail(fmt::format("configmap \"{}\" not found", source.name()));
                   return Complete(op);
                 }
                 if (!r.ok() || !cm.ParseFromString(r.body)) {
                   fail(fmt::format("configmap \"{}\": {}", source.name(), r.Describe()));
                   return Complete(op);
                 }
                 std::map<std::string, std::string> data(cm.data().begin(), cm.data().end());
                 data.insert(cm.binary_data().begin(), cm.binary_data().end());
                 auto put = [&](const std::string& path, const std::string& content) {
                   op->files[ProjectedFilePath(options_.root, op->uid, volume, path)] = content;
                 };
                 if (source.items().empty()) {
                   for (const auto& [key, value] : data) put(key, value);
                 }
                 for (const api::KeyToPath& item : source.items()) {
                   const auto it = data.find(item.key());
                   if (it != data.end()) {
                     put(item.path(), it->second);
                   } else if (!optional) {
                     fail(fmt::format("configmap references non-existent config key: {}", item.key()));
                   }
                 }
                 Complete(op);
               });
}

void ProjectedVolumeManager::Complete(const std::shared_ptr<Op>& op) {
  if (--op->pending > 0) return;
  Status result = Status::Ok();
  const auto it = pods_.find(op->uid);
  if (it == pods_.end() || it->second.generation != op->generation) {
    result = Status::Unavailable("the pod was unmounted or mounted again meanwhile");
  } else if (!op->error.empty()) {
    result = Status::Unavailable(op->error);
  } else {
    result = Write(it->second, op->files);
    if (result.ok()) it->second.ok = true;
  }
  clock_->Schedule(Nanos(0), [alive = alive_, done = std::move(op->done), result] {
    if (*alive && done) done(result);
  });
}

Status ProjectedVolumeManager::Write(MountedPod& mp, const std::map<std::string, std::string>& files) {
  size_t bytes = 0;
  for (const auto& [path, content] : files) {
    bytes += content.size();
    if (Status s = CheckDiskPath(path); !s.ok()) return Status::InvalidArgument("MountVolume.SetUp failed: " + s.message());
  }
  if (files.size() > options_.max_files_per_pod || bytes > options_.max_bytes_per_pod) {
    return Status::InvalidArgument(fmt::format("MountVolume.SetUp failed: {} files, {} bytes: over the limits", files.size(), bytes));
  }
  for (const auto& [path, content] : files) {
    mp.files.insert(path);
    std::string current;
    if (disk_->Read(path, &current).ok() && current == content) continue;
    // Written beside the file, then renamed over it: a reader sees the old or the new.
    const std::string tmp = path + ".tmp";
    if (Status s = disk_->WriteFile(tmp, content); !s.ok()) return s;
    if (Status s = disk_->Rename(tmp, path); !s.ok()) return s;
  }
  // Files no source produces any more (a key removed from a ConfigMap).
  for (auto it = mp.files.begin(); it != mp.files.end();) {
    if (files.count(*it) == 0) {
      disk_->Remove(*it);
      it = mp.files.erase(it);
    } else {
      ++it;
    }
  }
  return Status::Ok();
}

void ProjectedVolumeManager::Unmount(const std::string& pod_uid) {
  tokens_->ForgetPod(pod_uid);
  const auto it = pods_.find(pod_uid);
  if (it == pods_.end()) return;
  for (const std::string& path : it->second.files) disk_->Remove(path);
  pods_.erase(it);
}

}  // namespace ksim::kubelet
