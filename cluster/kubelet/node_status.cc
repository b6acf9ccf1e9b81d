#include "cluster/kubelet/node_status.h"

#include <fmt/format.h>
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/wire_format_lite.h>

#include <algorithm>
#include <utility>

#include "cluster/api/machinery/quantity.h"
#include "cluster/env/wire.h"
#include "cluster/kubelet/api_objects.h"
#include "cluster/kubelet/timestamps.h"

namespace ksim::kubelet {
namespace {

using api::Quantity;

// Kubernetes' message while the CNI plugin has no configuration (no pod CIDR yet).
constexpr char kNetworkNotReady[] =
    "container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:Network plugin "
    "returns error: cni plugin not initialized";

// The threshold of an eviction signal: a quantity, or a percentage of capacity.
Status EvictionThreshold(const std::string& signal, const std::string& text, const Quantity& capacity,
                         Quantity* out) {
  if (!text.empty() && text.back() == '%') {
    Quantity percent;
    Status s = Quantity::Parse(std::string_view(text).substr(0, text.size() - 1), &percent);
    if (!s.ok() || percent.Sign() < 0 || percent.MilliValue() > 100'000) {
      return Status::InvalidArgument(fmt::format("evictionHard[{}]: \"{}\" is not a percentage in 0..100", signal, text));
    }
    *out = Quantity::FromNano(capacity.NanoValue() / 100'000 * percent.MilliValue(), capacity.format());
    return Status::Ok();
  }
  Status s = Quantity::Parse(text, out);
  if (!s.ok()) return Status::InvalidArgument(fmt::format("evictionHard[{}]: {}", signal, s.message()));
  return Status::Ok();
}

struct WantedCondition {
  const char* type;
  bool is_true;
  const char* reason;
  std::string message;
};

}  // namespace

Status ComputeAllocatable(const NodeStatusOptions& options, std::map<std::string, std::string>* out) {
  std::map<std::string, std::string> result;
  for (const auto& [name, text] : options.capacity) {
    Quantity capacity;
    Status s = Quantity::Parse(text, &capacity);
    if (!s.ok()) return Status::InvalidArgument(fmt::format("capacity[{}]: {}", name, s.message()));
    if (capacity.Sign() < 0) return Status::InvalidArgument(fmt::format("capacity[{}]: must not be negative", name));
    Quantity allocatable = capacity;
    for (const auto& [field, reserved] : {std::pair{"kubeReserved", &options.kube_reserved},
                                          std::pair{"systemReserved", &options.system_reserved}}) {
      const auto it = reserved->find(name);
      if (it == reserved->end()) continue;
      Quantity q;
      s = Quantity::Parse(it->second, &q);
      if (!s.ok() || q.Sign() < 0) {
        return Status::InvalidArgument(
            fmt::format("{}[{}]: {}", field, name, s.ok() ? "must not be negative" : s.message()));
      }
      if (!allocatable.Sub(q).ok()) allocatable = Quantity();
    }
    const std::string signal = name == "memory"              ? "memory.available"
                               : name == "ephemeral-storage" ? "nodefs.available"
                                                             : "";
    const auto it = options.eviction_hard.find(signal);
    if (!signal.empty() && it != options.eviction_hard.end()) {
      Quantity threshold;
      s = EvictionThreshold(signal, it->second, capacity, &threshold);
      if (!s.ok()) return s;
      if (!allocatable.Sub(threshold).ok()) allocatable = Quantity();
    }
    if (allocatable.Sign() < 0) allocatable = Quantity::FromValue(0, capacity.format());
    result[name] = allocatable.String();
  }
  *out = std::move(result);
  return Status::Ok();
}

void SetNodeConditions(bool ready, const std::string& not_ready_message, Nanos wall_now,
                       google::protobuf::RepeatedPtrField<api::NodeCondition>* conditions) {
  const WantedCondition wanted[] = {
      {"MemoryPressure", false, "KubeletHasSufficientMemory", "kubelet has sufficient memory available"},
      {"DiskPressure", false, "KubeletHasNoDiskPressure", "kubelet has no disk pressure"},
      {"PIDPressure", false, "KubeletHasSufficientPID", "kubelet has sufficient PID available"},
      {"Ready", ready, ready ? "KubeletReady" : "KubeletNotReady",
       ready ? "kubelet is posting ready status" : not_ready_message},
  };
  google::protobuf::RepeatedPtrField<api::NodeCondition> next;
  for (const WantedCondition& w : wanted) {
    api::NodeCondition* c = next.Add();
    c->set_type(w.type);
    c->set_status(w.is_true ? "True" : "False");
    c->set_reason(w.reason);
    c->set_message(w.message);
    SetTime(c->mutable_last_heartbeat_time(), wall_now);
    SetTime(c->mutable_last_transition_time(), wall_now);
    for (const api::NodeCondition& old : *conditions) {
      if (old.type() == c->type() && old.status() == c->status()) {
        *c->mutable_last_transition_time() = old.last_transition_time();
      }
    }
  }
  conditions->Swap(&next);
}

void SetNodeImages(std::vector<ImageInfo> images, google::protobuf::RepeatedPtrField<api::ContainerImage>* out) {
  std::sort(images.begin(), images.end(), [](const ImageInfo& a, const ImageInfo& b) {
    return a.size_bytes != b.size_bytes ? a.size_bytes > b.size_bytes : a.id < b.id;
  });
  out->Clear();
  for (size_t i = 0; i < images.size() && i < kNodeStatusMaxImages; ++i) {
    api::ContainerImage* image = out->Add();
    for (const std::string& tag : images[i].repo_tags) image->add_names(tag);
    if (images[i].repo_tags.empty()) image->add_names(images[i].id);
    image->set_size_bytes(images[i].size_bytes);
  }
}

namespace {

// `status` serialized without its conditions (they carry the heartbeats). Bytes, not a copy
// and MessageDifferencer: this runs every status period on every node.
std::string WithoutConditions(const api::NodeStatus& status) {
  using google::protobuf::internal::WireFormatLite;
  std::string bytes;
  AppendDeterministic(status, &bytes);
  std::string out;
  out.reserve(bytes.size());
  google::protobuf::io::CodedInputStream in(reinterpret_cast<const uint8_t*>(bytes.data()),
                                            static_cast<int>(bytes.size()));
  for (;;) {
    const int start = in.CurrentPosition();
    const uint32_t tag = in.ReadTag();
    if (tag == 0) break;
    if (!WireFormatLite::SkipField(&in, tag)) return bytes;  // cannot happen: protobuf wrote it
    if (WireFormatLite::GetTagFieldNumber(tag) != api::NodeStatus::kConditionsFieldNumber) {
      out.append(bytes, static_cast<size_t>(start), static_cast<size_t>(in.CurrentPosition() - start));
    }
  }
  return out;
}

bool SameButHeartbeat(api::NodeCondition x, api::NodeCondition y) {
  x.clear_last_heartbeat_time();
  y.clear_last_heartbeat_time();
  std::string a, b;
  AppendDeterministic(x, &a);
  AppendDeterministic(y, &b);
  return a == b;
}

}  // namespace

bool NodeStatusChanged(const api::NodeStatus& a, const api::NodeStatus& b) {
  if (a.conditions_size() != b.conditions_size()) return true;
  for (int i = 0; i < a.conditions_size(); ++i) {
    if (!SameButHeartbeat(a.conditions(i), b.conditions(i))) return true;
  }
  return WithoutConditions(a) != WithoutConditions(b);
}

NodeStatusManager::NodeStatusManager(Env& env, client::ApiClient* client, NodeStatusOptions options)
    : env_(env), client_(client), options_(std::move(options)) {}

NodeStatusManager::~NodeStatusManager() {
  *alive_ = false;
  if (status_timer_) env_.clock->Cancel(status_timer_);
  if (lease_timer_) env_.clock->Cancel(lease_timer_);
}

Status NodeStatusManager::Start(PodCidrCallback on_pod_cidr) {
  Status s = ComputeAllocatable(options_, &allocatable_);
  if (!s.ok()) return s;
  on_pod_cidr_ = std::move(on_pod_cidr);
  LoadMachineId();
  const uint64_t a = env_.entropy->Next64();
  const uint64_t b = env_.entropy->Next64();
  boot_id_ = fmt::format("{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}", a >> 32, (a >> 16) & 0xffff, a & 0xfff,
                         0x8000 | ((b >> 48) & 0x3fff), b & 0xffffffffffffULL);
  Register();
  ScheduleLease(Nanos(0));
  return Status::Ok();
}

void NodeStatusManager::LoadMachineId() {
  std::string text;
  if (env_.disk && env_.disk->Read("machine-id", &text).ok() && text.size() == 33 && text.back() == '\n') {
    machine_id_ = text.substr(0, 32);
    return;
  }
  machine_id_ = fmt::format("{:016x}{:016x}", env_.entropy->Next64(), env_.entropy->Next64());
  if (env_.disk && env_.disk->WriteFile("machine-id", machine_id_ + "\n").ok()) {
    env_.disk->Sync("machine-id", [](Status) {});
    env_.disk->SyncDir("", [](Status) {});
  }
}

Nanos NodeStatusManager::Backoff(int failures) const {
  Nanos d = options_.retry_initial;
  for (int i = 1; i < failures && d < options_.retry_max; ++i) d *= 2;
  return std::min(d, options_.retry_max);
}

api::Node NodeStatusManager::InitialNode() const {
  api::Node node;
  node.mutable_metadata()->set_name(options_.node_name);
  auto& labels = *node.mutable_metadata()->mutable_labels();
  labels["kubernetes.io/hostname"] = options_.node_name;
  labels["kubernetes.io/os"] = options_.operating_system;
  labels["kubernetes.io/arch"] = options_.architecture;
  labels["beta.kubernetes.io/os"] = options_.operating_system;
  labels["beta.kubernetes.io/arch"] = options_.architecture;
  for (const auto& [k, v] : options_.labels) labels[k] = v;
  FillStatus({}, node.mutable_status());
  return node;
}

void NodeStatusManager::FillStatus(std::vector<ImageInfo> images, api::NodeStatus* status) const {
  status->mutable_capacity()->clear();
  for (const auto& [k, v] : options_.capacity) (*status->mutable_capacity())[k] = v;
  status->mutable_allocatable()->clear();
  for (const auto& [k, v] : allocatable_) (*status->mutable_allocatable())[k] = v;
  status->clear_addresses();
  if (!options_.node_ip.empty()) {
    api::NodeAddress* a = status->add_addresses();
    a->set_type("InternalIP");
    a->set_address(options_.node_ip);
  }
  api::NodeAddress* h = status->add_addresses();
  h->set_type("Hostname");
  h->set_address(env_.host);
  status->mutable_daemon_endpoints()->mutable_kubelet_endpoint()->set_port(options_.kubelet_port);
  api::NodeSystemInfo* info = status->mutable_node_info();
  info->set_machine_id(machine_id_);
  info->set_system_uuid(machine_id_);
  info->set_boot_id(boot_id_);
  info->set_kernel_version(options_.kernel_version);
  info->set_os_image(options_.os_image);
  info->set_container_runtime_version(options_.container_runtime_version);
  info->set_kubelet_version(options_.kubelet_version);
  info->set_operating_system(options_.operating_system);
  info->set_architecture(options_.architecture);
  if (env_.runtime) SetNodeImages(std::move(images), status->mutable_images());
  const bool network_ready = !options_.ready_needs_pod_cidr || !pod_cidr_.empty();
  SetNodeConditions(network_ready, kNetworkNotReady, env_.clock->WallNow(), status->mutable_conditions());
}

// ---------------------------------------------------------------- registration

void NodeStatusManager::Register() {
  auto alive = alive_;
  client_->Create(NodeKind(), InitialNode(), [this, alive](const client::ApiResult& r) {
    if (!*alive) return;
    if (r.ok()) {
      if (auto node = DecodeAs<api::Node>(NodeKind(), r)) return OnRegistered(std::move(node));
    }
    if (r.status.ok() && r.code == 409) return AdoptExisting();
    ++stats_.failures;
    LogTo(env_, LogLevel::kWarning, fmt::format("registering node {} failed: {}", options_.node_name, r.Describe()));
    status_timer_ = env_.clock->Schedule(Backoff(++register_failures_), [this] {
      status_timer_ = 0;
      Register();
    });
  });
}

// The Node exists (a restarted kubelet, or registered before): take it over and merge our
// labels into it, as Kubernetes reconciles an existing node.
void NodeStatusManager::AdoptExisting() {
  auto alive = alive_;
  client_->Get(NodeKind(), "", options_.node_name, [this, alive](const client::ApiResult& r) {
    if (!*alive) return;
    auto node = r.ok() ? DecodeAs<api::Node>(NodeKind(), r) : nullptr;
    if (!node) {
      status_timer_ = env_.clock->Schedule(Backoff(++register_failures_), [this] {
        status_timer_ = 0;
        Register();
      });
      return;
    }
    const api::Node wanted = InitialNode();
    bool changed = false;
    auto& labels = *node->mutable_metadata()->mutable_labels();
    const std::map<std::string, std::string> wanted_labels(wanted.metadata().labels().begin(),
                                                           wanted.metadata().labels().end());
    for (const auto& [k, v] : wanted_labels) {
      const auto it = labels.find(k);
      if (it == labels.end() || it->second != v) {
        labels[k] = v;
        changed = true;
      }
    }
    if (!changed) return OnRegistered(std::move(node));
    client_->Update(NodeKind(), *node, [this, alive](const client::ApiResult& u) {
      if (!*alive) return;
      auto updated = u.ok() ? DecodeAs<api::Node>(NodeKind(), u) : nullptr;
      if (updated) return OnRegistered(std::move(updated));
      status_timer_ = env_.clock->Schedule(Backoff(++register_failures_), [this] {
        status_timer_ = 0;
        Register();
      });
    });
  });
}

void NodeStatusManager::OnRegistered(std::shared_ptr<api::Node> node) {
  register_failures_ = 0;
  ++stats_.registrations;
  node_uid_ = node->metadata().uid();
  LogTo(env_, LogLevel::kInfo, fmt::format("node {} registered (uid {})", options_.node_name, node_uid_));
  SeeNode(std::move(node));
  ScheduleStatus(Nanos(0));
}

void NodeStatusManager::SeeNode(std::shared_ptr<api::Node> node) {
  node_ = std::move(node);
  if (pod_cidr_.empty() && !node_->spec().pod_cidr().empty()) {
    pod_cidr_ = node_->spec().pod_cidr();
    LogTo(env_, LogLevel::kInfo, fmt::format("node {} has podCIDR {}", options_.node_name, pod_cidr_));
    if (on_pod_cidr_) on_pod_cidr_(pod_cidr_);
  }
}

// ---------------------------------------------------------------- status

void NodeStatusManager::ScheduleStatus(Nanos delay) {
  if (status_timer_) env_.clock->Cancel(status_timer_);
  status_timer_ = env_.clock->Schedule(delay, [this] {
    status_timer_ = 0;
    SyncStatus();
  });
}

void NodeStatusManager::SyncStatus() {
  if (status_in_flight_ || !node_) return;
  status_in_flight_ = true;
  auto alive = alive_;
  auto gather = [this, alive](bool) {
    if (!*alive) return;
    if (!env_.runtime) return PostStatus({}, 5);
    env_.runtime->ListImages([this, alive](Status s, std::vector<ImageInfo> images) {
      if (!*alive) return;
      if (!s.ok()) {  // keep the images last reported rather than report none
        images.clear();
        for (const api::ContainerImage& i : node_->status().images()) {
          ImageInfo info;
          info.repo_tags.assign(i.names().begin(), i.names().end());
          info.size_bytes = i.size_bytes();
          images.push_back(std::move(info));
        }
      }
      PostStatus(std::move(images), 5);
    });
  };
  // Re-read the Node each time, as the kubelet's tryUpdateNodeStatus does: node IPAM
  // writes the podCIDR, and the node lifecycle controller sets Ready Unknown while we were
  // unreachable; compared against our own last write, Ready=True would not be posted
  // again for status_report_frequency (5 min), leaving the node tainted until its pods are
  // evicted (SimClusterProperty.EvictionsOnlyAfterTheToleration found it).
  RefreshNode(gather);
}

void NodeStatusManager::RefreshNode(std::function<void(bool ok)> then) {
  auto alive = alive_;
  client_->Get(NodeKind(), "", options_.node_name, [this, alive, then](const client::ApiResult& r) {
    if (!*alive) return;
    auto node = r.ok() ? DecodeAs<api::Node>(NodeKind(), r) : nullptr;
    const bool ok = node != nullptr;
    if (ok) SeeNode(std::move(node));
    then(ok);
  });
}

void NodeStatusManager::PostStatus(std::vector<ImageInfo> images, int attempts_left) {
  const Nanos next_check = pod_cidr_.empty() ? options_.pod_cidr_poll : options_.status_update_frequency;
  auto finish = [this, next_check] {
    status_in_flight_ = false;
    ScheduleStatus(next_check);
  };
  // Only the status is copied until we know it goes out: most periods send nothing.
  api::NodeStatus status = node_->status();
  FillStatus(images, &status);
  const Nanos now = env_.clock->MonotonicNow();
  if (!NodeStatusChanged(node_->status(), status) && last_report_ >= Nanos(0) &&
      now - last_report_ < options_.status_report_frequency) {
    ++stats_.status_skipped;
    return finish();
  }
  api::Node next = *node_;
  next.mutable_status()->Swap(&status);
  auto alive = alive_;
  client_->Update(
      NodeKind(), next,
      [this, alive, now, finish, attempts_left, images = std::move(images)](const client::ApiResult& r) mutable {
        if (!*alive) return;
        auto node = r.ok() ? DecodeAs<api::Node>(NodeKind(), r) : nullptr;
        if (node) {
          ++stats_.status_posts;
          last_report_ = now;
          SeeNode(std::move(node));
          return finish();
        }
        if (r.status.ok() && r.code == 409 && attempts_left > 1) {  // someone else wrote the Node
          ++stats_.status_conflicts;
          RefreshNode([this, alive, finish, attempts_left, images = std::move(images)](bool ok) mutable {
            if (!*alive) return;
            if (!ok) return finish();
            PostStatus(std::move(images), attempts_left - 1);
          });
          return;
        }
        ++stats_.failures;
        if (r.status.ok() && r.code == 404) {  // the Node was deleted: register it again
          LogTo(env_, LogLevel::kWarning, fmt::format("node {} was deleted; registering again", options_.node_name));
          status_in_flight_ = false;
          node_uid_.clear();
          return Register();
        }
        LogTo(env_, LogLevel::kWarning, fmt::format("posting node {} status failed: {}", options_.node_name,
                                                    r.Describe()));
        finish();
      },
      "status");
}

}  // namespace ksim::kubelet
