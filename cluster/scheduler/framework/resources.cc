#include "cluster/scheduler/framework/resources.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "cluster/api/machinery/quantity.h"

namespace ksim::scheduler {

int64_t Resources::Get(std::string_view name) const {
  if (name == "cpu") return milli_cpu;
  if (name == "memory") return memory_bytes;
  if (name == "ephemeral-storage") return ephemeral_storage_bytes;
  if (name == "pods") return pods;
  auto it = std::lower_bound(scalars.begin(), scalars.end(), name,
                             [](const auto& entry, std::string_view n) { return entry.first < n; });
  return it != scalars.end() && it->first == name ? it->second : 0;
}

void Resources::AddScalar(std::string_view name, int64_t amount) {
  auto it = std::lower_bound(scalars.begin(), scalars.end(), name,
                             [](const auto& entry, std::string_view n) { return entry.first < n; });
  if (it != scalars.end() && it->first == name) {
    it->second += amount;
    if (it->second == 0) scalars.erase(it);
  } else if (amount != 0) {
    scalars.insert(it, {std::string(name), amount});
  }
}

void Resources::Add(const Resources& other) {
  milli_cpu += other.milli_cpu;
  memory_bytes += other.memory_bytes;
  ephemeral_storage_bytes += other.ephemeral_storage_bytes;
  pods += other.pods;
  for (const auto& [name, amount] : other.scalars) AddScalar(name, amount);
}

void Resources::Sub(const Resources& other) {
  milli_cpu -= other.milli_cpu;
  memory_bytes -= other.memory_bytes;
  ephemeral_storage_bytes -= other.ephemeral_storage_bytes;
  pods -= other.pods;
  for (const auto& [name, amount] : other.scalars) AddScalar(name, -amount);
}

void Resources::SetMax(const Resources& other) {
  milli_cpu = std::max(milli_cpu, other.milli_cpu);
  memory_bytes = std::max(memory_bytes, other.memory_bytes);
  ephemeral_storage_bytes = std::max(ephemeral_storage_bytes, other.ephemeral_storage_bytes);
  pods = std::max(pods, other.pods);
  for (const auto& [name, amount] : other.scalars) {
    int64_t mine = Get(name);
    if (amount > mine) AddScalar(name, amount - mine);
  }
}

bool Resources::IsZero() const {
  return milli_cpu == 0 && memory_bytes == 0 && ephemeral_storage_bytes == 0 && pods == 0 && scalars.empty();
}

Status Resources::FromResourceList(const google::protobuf::Map<std::string, std::string>& list,
                                   std::string_view field, Resources* out) {
  Resources r;
  // Protobuf map order is per instance; go through a sorted copy so errors are stable.
  const std::map<std::string_view, std::string_view> sorted(list.begin(), list.end());
  for (const auto& [name, text] : sorted) {
    api::Quantity q;
    Status s = api::Quantity::Parse(text, &q);
    if (!s.ok()) return Status::InvalidArgument(fmt::format("{}[{}]: {}", field, name, s.message()));
    if (q.Sign() < 0) {
      return Status::InvalidArgument(fmt::format("{}[{}]: must be greater than or equal to 0", field, name));
    }
    if (name == "cpu") {
      r.milli_cpu = q.MilliValue();
    } else if (name == "memory") {
      r.memory_bytes = q.Value();
    } else if (name == "ephemeral-storage") {
      r.ephemeral_storage_bytes = q.Value();
    } else if (name == "pods") {
      r.pods = q.Value();
    } else {
      r.AddScalar(name, q.Value());
    }
  }
  *out = std::move(r);
  return Status::Ok();
}

std::string ResourcesString(const Resources& r) {
  std::string out = fmt::format("cpu={}m memory={} ephemeral-storage={} pods={}", r.milli_cpu, r.memory_bytes,
                                r.ephemeral_storage_bytes, r.pods);
  for (const auto& [name, amount] : r.scalars) out += fmt::format(" {}={}", name, amount);
  return out;
}

}  // namespace ksim::scheduler
