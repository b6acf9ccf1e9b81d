// Helpers for the strategy tests: objects from JSON text, errors as (field, reason) pairs.
#pragma once

#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "cluster/api/apps.pb.h"
#include "cluster/api/batch.pb.h"
#include "cluster/api/certificates.pb.h"
#include "cluster/api/codec.h"
#include "cluster/api/coordination.pb.h"
#include "cluster/api/core.pb.h"
#include "cluster/api/rbac.pb.h"
#include "cluster/api/scheduling.pb.h"
#include "cluster/apiserver/strategy/strategy.h"

namespace ksim::apiserver::testing {

// Decodes a manifest (JSON or YAML) into T; a decode failure fails the test.
template <typename T>
T Parse(const std::string& text) {
  T out;
  const Status s = api::DecodeInto(text, "test", &out);
  EXPECT_TRUE(s.ok()) << s.ToString() << "\n" << text;
  return out;
}

// Parse, then ApplyDefaults.
template <typename T>
T Defaulted(const std::string& text) {
  T out = Parse<T>(text);
  ApplyDefaults(out);
  return out;
}

using Cause = std::pair<std::string, std::string>;  // (field, reason)

inline std::vector<Cause> Causes(const std::vector<FieldError>& errors) {
  std::vector<Cause> out;
  for (const FieldError& e : errors) out.emplace_back(e.field, e.reason);
  return out;
}

inline std::string Describe(const std::vector<FieldError>& errors) {
  std::string out;
  for (const FieldError& e : errors) out += "  " + ToString(e) + " [" + e.reason + "]\n";
  return out.empty() ? "  (none)\n" : out;
}

inline ::testing::AssertionResult SameObject(const google::protobuf::Message& want,
                                             const google::protobuf::Message& got) {
  google::protobuf::util::MessageDifferencer differ;
  std::string report;
  differ.ReportDifferencesToString(&report);
  if (differ.Compare(want, got)) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << report << "want:\n" << api::EncodeYaml(want) << "got:\n" << api::EncodeYaml(got);
}

// A valid pod's manifest; `spec_extra` is spliced into spec (JSON members, leading comma).
inline std::string PodJson(const std::string& spec_extra = "", const std::string& container_extra = "") {
  return R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"web","namespace":"default","labels":{"app":"web"}},
            "spec":{"containers":[{"name":"web","image":"nginx:1.25")" +
         container_extra + "}]" + spec_extra + "}}";
}

inline std::string TemplateJson(const std::string& labels = R"({"app":"web"})", const std::string& spec_extra = "") {
  return R"({"metadata":{"labels":)" + labels + R"(},"spec":{"containers":[{"name":"web","image":"nginx:1.25"}])" +
         spec_extra + "}}";
}

}  // namespace ksim::apiserver::testing
