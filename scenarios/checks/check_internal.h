// Shared by the checkers' .cc files (not an interface).
#pragma once

#include <fmt/format.h>

#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "scenarios/checks/check.h"

namespace ksim::scenarios::checks {

// Conditions take only the expectation; invariants may hook into the view.
using CheckFactory = Status (*)(const Expectation& e, std::unique_ptr<Check>* out);
using InvariantFactory = Status (*)(const Expectation& e, ClusterView& view, std::unique_ptr<Check>* out);

const std::map<std::string_view, CheckFactory>& ConditionFactories();     // conditions.cc
const std::map<std::string_view, InvariantFactory>& InvariantFactories();  // invariants.cc
std::map<std::string_view, InvariantFactory> WorkloadInvariantFactories();  // invariants_workloads.cc
const std::map<std::string_view, InvariantFactory>& StoreInvariantFactories();     // invariants_store.cc
const std::map<std::string_view, InvariantFactory>& LincheckInvariantFactories();  // invariants_lincheck.cc

inline std::string Str(const Expectation& e, const std::string& param) {
  auto it = e.params.find(param);
  return it == e.params.end() ? std::string() : it->second.text;
}
inline int64_t Int(const Expectation& e, const std::string& param, int64_t fallback) {
  auto it = e.params.find(param);
  return it == e.params.end() ? fallback : it->second.integer;
}
inline bool Bool(const Expectation& e, const std::string& param) {
  auto it = e.params.find(param);
  return it != e.params.end() && it->second.boolean;
}
// "namespace/name" from the `namespace` (default "default") and `name` parameters.
inline std::string Key(const Expectation& e) {
  std::string ns = Str(e, "namespace");
  return (ns.empty() ? std::string("default") : ns) + "/" + Str(e, "name");
}
inline std::string Where(const Expectation& e) {
  return fmt::format("{}:{}:{}", e.pos.file, e.pos.line, e.pos.column);
}
// Sets *why (if non-null) and returns false.
inline bool Not(std::string* why, std::string reason) {
  if (why != nullptr) *why = std::move(reason);
  return false;
}

}  // namespace ksim::scenarios::checks
