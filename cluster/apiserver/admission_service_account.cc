#include "cluster/apiserver/admission_service_account.h"

#include <string_view>

namespace ksim::apiserver {
namespace {

template <typename ContainerT>
std::string ContainerSecretReference(const ContainerT& c) {
  for (const api::EnvFromSource& from : c.env_from()) {
    if (from.has_secret_ref() && !from.secret_ref().name().empty()) return from.secret_ref().name();
  }
  for (const api::EnvVar& e : c.env()) {
    if (e.has_value_from() && e.value_from().has_secret_key_ref() && !e.value_from().secret_key_ref().name().empty()) {
      return e.value_from().secret_key_ref().name();
    }
  }
  return {};
}

template <typename ContainerT>
void MountToken(const api::VolumeMount& mount, ContainerT* c, bool* mounted) {
  for (const api::VolumeMount& m : c->volume_mounts()) {
    if (m.mount_path() == kServiceAccountTokenMountPath) return;  // the pod's own mount wins
  }
  *c->add_volume_mounts() = mount;
  *mounted = true;
}

}  // namespace

std::string FirstSecretReference(const api::PodSpec& spec) {
  for (const api::LocalObjectReference& r : spec.image_pull_secrets()) {
    if (!r.name().empty()) return r.name();
  }
  for (const api::Container& c : spec.init_containers()) {
    if (std::string s = ContainerSecretReference(c); !s.empty()) return s;
  }
  for (const api::Container& c : spec.containers()) {
    if (std::string s = ContainerSecretReference(c); !s.empty()) return s;
  }
  for (const api::EphemeralContainer& c : spec.ephemeral_containers()) {
    if (std::string s = ContainerSecretReference(c); !s.empty()) return s;
  }
  for (const api::Volume& v : spec.volumes()) {
    if (v.has_secret()) return v.secret().secret_name();
    if (v.has_csi() && !v.csi().node_publish_secret_ref().name().empty()) return v.csi().node_publish_secret_ref().name();
    if (v.has_projected()) {
      for (const api::VolumeProjection& p : v.projected().sources()) {
        if (p.has_secret()) return p.secret().name();
      }
    }
  }
  return {};
}

ServiceAccountPlan PrepareServiceAccount(api::Pod& pod) {
  api::PodSpec& spec = *pod.mutable_spec();
  if (pod.metadata().annotations().contains(kMirrorPodAnnotation)) {
    // The kubelet deletes a mirror pod whose spec differs from its static pod: never mutate one.
    if (!spec.service_account_name().empty()) return {"a mirror pod may not reference service accounts", ""};
    if (!FirstSecretReference(spec).empty()) return {"a mirror pod may not reference secrets", ""};
    for (const api::Volume& v : spec.volumes()) {
      for (const api::VolumeProjection& p : v.projected().sources()) {
        if (p.has_service_account_token()) return {"a mirror pod may not use ServiceAccountToken volume projections", ""};
      }
    }
    return {};
  }
  if (spec.service_account_name().empty()) spec.set_service_account_name(kDefaultServiceAccountName);
  spec.set_service_account(spec.service_account_name());
  return {"", spec.service_account_name()};
}

bool ShouldAutomountToken(const api::ServiceAccount& account, const api::PodSpec& spec) {
  if (spec.has_automount_service_account_token()) return spec.automount_service_account_token();
  if (account.has_automount_service_account_token()) return account.automount_service_account_token();
  return true;
}

api::Volume ServiceAccountTokenVolume(const std::string& name) {
  api::Volume v;
  v.set_name(name);
  api::ProjectedVolumeSource* projected = v.mutable_projected();
  projected->set_default_mode(kProjectedVolumeDefaultMode);
  api::ServiceAccountTokenProjection* token = projected->add_sources()->mutable_service_account_token();
  token->set_path("token");
  token->set_expiration_seconds(kServiceAccountTokenExpirationSeconds);
  api::ConfigMapProjection* ca = projected->add_sources()->mutable_config_map();
  ca->set_name(kRootCaConfigMapName);
  api::KeyToPath* item = ca->add_items();
  item->set_key("ca.crt");
  item->set_path("ca.crt");
  api::DownwardAPIVolumeFile* ns = projected->add_sources()->mutable_downward_api()->add_items();
  ns->set_path("namespace");
  ns->mutable_field_ref()->set_api_version("v1");
  ns->mutable_field_ref()->set_field_path("metadata.namespace");
  return v;
}

void ApplyServiceAccount(const api::ServiceAccount& account,
                         const std::function<std::string(const std::string& prefix)>& draw_name, api::PodSpec* spec) {
  if (spec->image_pull_secrets_size() == 0) {
    for (const api::LocalObjectReference& r : account.image_pull_secrets()) spec->add_image_pull_secrets()->set_name(r.name());
  }
  if (!ShouldAutomountToken(account, *spec)) return;
  // A kube-api-access-* volume the pod has already (a re-submitted pod) is reused.
  std::string volume_name;
  for (const api::Volume& v : spec->volumes()) {
    if (std::string_view(v.name()).starts_with(kServiceAccountVolumePrefix)) {
      volume_name = v.name();
      break;
    }
  }
  const bool has_volume = !volume_name.empty();
  if (!has_volume) volume_name = draw_name(kServiceAccountVolumePrefix);
  api::VolumeMount mount;
  mount.set_name(volume_name);
  mount.set_read_only(true);
  mount.set_mount_path(kServiceAccountTokenMountPath);
  bool mounted = false;
  for (api::Container& c : *spec->mutable_init_containers()) MountToken(mount, &c, &mounted);
  for (api::Container& c : *spec->mutable_containers()) MountToken(mount, &c, &mounted);
  if (mounted && !has_volume) *spec->add_volumes() = ServiceAccountTokenVolume(volume_name);
}

}  // namespace ksim::apiserver
