// Small helpers the kubelet's API writers share: the kinds they write, decoding a reply
// into its typed message, and logging under the "kubelet" component.
#pragma once

#include <memory>
#include <string_view>

#include "cluster/api/codec.h"
#include "cluster/api/coordination.pb.h"
#include "cluster/api/core.pb.h"
#include "cluster/client/api_client.h"
#include "cluster/env/env.h"

namespace ksim::kubelet {

inline const api::KindInfo& KindFor(const google::protobuf::Descriptor* d) {
  return *api::Registry::Default().ByDescriptor(d);
}
inline const api::KindInfo& NodeKind() { return KindFor(api::Node::descriptor()); }
inline const api::KindInfo& PodKind() { return KindFor(api::Pod::descriptor()); }
inline const api::KindInfo& LeaseKind() { return KindFor(api::Lease::descriptor()); }
inline const api::KindInfo& EventKind() { return KindFor(api::Event::descriptor()); }

// The reply's object as a T, or null if the reply holds no object of that type.
template <typename T>
std::shared_ptr<T> DecodeAs(const api::KindInfo& info, const client::ApiResult& r) {
  std::unique_ptr<google::protobuf::Message> m = client::ApiClient::DecodeObject(info, r);
  if (!m || m->GetDescriptor() != T::descriptor()) return nullptr;
  return std::shared_ptr<T>(static_cast<T*>(m.release()));
}

inline void LogTo(Env& env, LogLevel level, std::string_view message) {
  if (env.log) env.log->Log(level, "kubelet", message);
}

}  // namespace ksim::kubelet
