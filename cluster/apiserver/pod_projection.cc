#include "cluster/apiserver/pod_projection.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/stubs/common.h>
#include <google/protobuf/wire_format_lite.h>

#include <algorithm>
#include <initializer_list>
#include <string_view>
#include <utility>
#include <vector>

#include "cluster/apiserver/pod_projection.pb.h"
#include "cluster/apiserver/strategy/pod_fields.h"

namespace ksim::apiserver {
namespace {

using google::protobuf::internal::WireFormatLite;
using google::protobuf::io::CodedInputStream;

// The field numbers read, from pod_projection.proto (which names them after core.proto);
// the projection test checks them against a full decode.
using projection::MetaFields;
using projection::PodFields;
using projection::PodIPFields;
using projection::PodSpecFields;
using projection::PodStatusFields;

// What the projection reads of a pod, as views of its bytes. Shaped like the generated
// Pod (spec(), status(), pod_ips(0).ip()) so that ForEachPodField reads it as it reads a
// decoded Pod.
struct PodView {
  struct PodIP {
    std::string_view ip_;
    std::string_view ip() const { return ip_; }
  };
  struct Spec {
    std::string_view node_name_, restart_policy_, scheduler_name_, service_account_name_;
    bool host_network_ = false;
    std::string_view node_name() const { return node_name_; }
    std::string_view restart_policy() const { return restart_policy_; }
    std::string_view scheduler_name() const { return scheduler_name_; }
    std::string_view service_account_name() const { return service_account_name_; }
    bool host_network() const { return host_network_; }
  };
  struct Status {
    std::string_view phase_, pod_ip_, nominated_node_name_;
    std::vector<PodIP> pod_ips_;
    std::string_view phase() const { return phase_; }
    std::string_view pod_ip() const { return pod_ip_; }
    std::string_view nominated_node_name() const { return nominated_node_name_; }
    const std::vector<PodIP>& pod_ips() const { return pod_ips_; }
    const PodIP& pod_ips(size_t i) const { return pod_ips_[i]; }
  };
  std::string_view name, namespace_;
  std::vector<std::pair<std::string_view, std::string_view>> labels;  // in wire order
  Spec spec_;
  Status status_;
  const Spec& spec() const { return spec_; }
  const Status& status() const { return status_; }
};

// Reads the pod's bytes with protobuf's own wire reader, keeping views of the few fields
// the cache needs and skipping the rest without copying it: parsing into a projection
// message kept every skipped field as unknown bytes, a copy of most of the pod, and was
// most of the cost of feeding a cache a pod event. Matches the generated parser where it
// matters here: the last value of a repeated singular field wins, a message field that
// appears twice is merged, a map's later entry for a key wins, a known field number with
// another wire type is skipped as unknown, and a string that is not UTF-8 fails.
class Reader {
 public:
  explicit Reader(std::string_view bytes)
      : bytes_(bytes), in_(reinterpret_cast<const uint8_t*>(bytes.data()), static_cast<int>(bytes.size())) {}

  bool Pod(PodView* pod) {
    return Fields([&](uint32_t number) {
      switch (number) {
        case PodFields::kMetadataFieldNumber:
          return Nested([&](uint32_t n) { return Meta(n, pod); });
        case PodFields::kSpecFieldNumber:
          return Nested([&](uint32_t n) { return Spec(n, &pod->spec_); });
        case PodFields::kStatusFieldNumber:
          return Nested([&](uint32_t n) { return Status(n, &pod->status_); });
        default:
          return kUnknown;
      }
    });
  }

 private:
  // A field handler's answer: read, skip as unknown, or the bytes are malformed.
  enum Outcome { kRead, kUnknown, kMalformed };

  // Reads fields until the current limit; `field(number)` reads a length-delimited field's
  // value or answers kUnknown. Other wire types are skipped.
  template <typename Field>
  bool Fields(Field&& field) {
    for (;;) {
      const uint32_t tag = in_.ReadTag();
      if (tag == 0) return in_.ConsumedEntireMessage() || in_.BytesUntilLimit() == 0;
      if (WireFormatLite::GetTagWireType(tag) == WireFormatLite::WIRETYPE_LENGTH_DELIMITED ||
          WireFormatLite::GetTagWireType(tag) == WireFormatLite::WIRETYPE_VARINT) {
        wire_type_ = WireFormatLite::GetTagWireType(tag);
        const Outcome o = field(WireFormatLite::GetTagFieldNumber(tag));
        if (o == kMalformed) return false;
        if (o == kRead) continue;
      }
      if (!WireFormatLite::SkipField(&in_, tag)) return false;
    }
  }

  template <typename Field>
  Outcome Nested(Field&& field) {
    if (wire_type_ != WireFormatLite::WIRETYPE_LENGTH_DELIMITED) return kUnknown;
    int length;
    if (!in_.ReadVarintSizeAsInt(&length)) return kMalformed;
    // (The stream reads an array, so there is always a limit: its end.)
    if (length > in_.BytesUntilLimit() || !in_.IncrementRecursionDepth()) return kMalformed;
    const CodedInputStream::Limit limit = in_.PushLimit(length);
    const bool ok = Fields(std::forward<Field>(field)) && in_.BytesUntilLimit() == 0;
    in_.PopLimit(limit);
    in_.DecrementRecursionDepth();
    return ok ? kRead : kMalformed;
  }

  Outcome String(std::string_view* out) {
    if (wire_type_ != WireFormatLite::WIRETYPE_LENGTH_DELIMITED) return kUnknown;
    int length;
    if (!in_.ReadVarintSizeAsInt(&length)) return kMalformed;
    const size_t at = static_cast<size_t>(in_.CurrentPosition());
    if (!in_.Skip(length)) return kMalformed;  // past the end or the enclosing message
    const std::string_view s = bytes_.substr(at, static_cast<size_t>(length));
    if (!google::protobuf::internal::IsStructurallyValidUTF8(s.data(), length)) return kMalformed;
    *out = s;
    return kRead;
  }

  Outcome Bool(bool* out) {
    if (wire_type_ != WireFormatLite::WIRETYPE_VARINT) return kUnknown;
    uint64_t v;
    if (!in_.ReadVarint64(&v)) return kMalformed;
    *out = v != 0;
    return kRead;
  }

  // Reads field `number` into the view it is paired with, or answers kUnknown.
  Outcome StringField(uint32_t number, std::initializer_list<std::pair<int, std::string_view*>> fields) {
    for (const auto& [n, out] : fields) {
      if (static_cast<uint32_t>(n) == number) return String(out);
    }
    return kUnknown;
  }

  Outcome Meta(uint32_t number, PodView* pod) {
    if (number == MetaFields::kLabelsFieldNumber) {
      std::pair<std::string_view, std::string_view> entry;  // a missing key or value is ""
      const Outcome o = Nested([&](uint32_t n) { return StringField(n, {{1, &entry.first}, {2, &entry.second}}); });
      if (o == kRead) pod->labels.push_back(entry);
      return o;
    }
    return StringField(number, {{MetaFields::kNameFieldNumber, &pod->name},
                                {MetaFields::kNamespaceFieldNumber, &pod->namespace_}});
  }

  Outcome Spec(uint32_t number, PodView::Spec* spec) {
    if (number == PodSpecFields::kHostNetworkFieldNumber) return Bool(&spec->host_network_);
    return StringField(number, {{PodSpecFields::kRestartPolicyFieldNumber, &spec->restart_policy_},
                                {PodSpecFields::kServiceAccountNameFieldNumber, &spec->service_account_name_},
                                {PodSpecFields::kNodeNameFieldNumber, &spec->node_name_},
                                {PodSpecFields::kSchedulerNameFieldNumber, &spec->scheduler_name_}});
  }

  Outcome Status(uint32_t number, PodView::Status* status) {
    if (number == PodStatusFields::kPodIpsFieldNumber) {
      PodView::PodIP ip;
      const Outcome o = Nested([&](uint32_t n) { return StringField(n, {{PodIPFields::kIpFieldNumber, &ip.ip_}}); });
      if (o == kRead) status->pod_ips_.push_back(ip);
      return o;
    }
    return StringField(number, {{PodStatusFields::kPhaseFieldNumber, &status->phase_},
                                {PodStatusFields::kPodIpFieldNumber, &status->pod_ip_},
                                {PodStatusFields::kNominatedNodeNameFieldNumber, &status->nominated_node_name_}});
  }

  std::string_view bytes_;
  CodedInputStream in_;
  WireFormatLite::WireType wire_type_ = WireFormatLite::WIRETYPE_VARINT;  // of the field being read
};

}  // namespace

bool ProjectPod(std::string_view bytes, CachedObject* out) {
  if (bytes.size() > static_cast<size_t>(INT32_MAX)) return false;
  PodView pod;
  if (!Reader(bytes).Pod(&pod)) return false;
  out->namespace_ = pod.namespace_;
  out->name = pod.name;
  for (const auto& [key, value] : pod.labels) out->labels.insert_or_assign(std::string(key), std::string(value));
  // As CachedObject::SetFields leaves them: sorted by name, empty values left out.
  // ForEachPodField's names are literals, which outlive the cache as the table does.
  // Counted first: the vector is sized exactly, in every apiserver's cache.
  size_t count = 0;
  ForEachPodField(pod, [&count](std::string_view, std::string_view value) { count += value.empty() ? 0 : 1; });
  out->fields.clear();
  out->fields.reserve(count);
  ForEachPodField(pod, [out](std::string_view name, std::string_view value) {
    if (!value.empty()) out->fields.emplace_back(name, value);
  });
  std::sort(out->fields.begin(), out->fields.end());
  return true;
}

}  // namespace ksim::apiserver
