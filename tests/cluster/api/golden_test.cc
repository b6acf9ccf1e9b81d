// Golden JSON (tests/cluster/api/golden/, written by hand from the Kubernetes API reference):
// decoding a golden object and encoding it again gives the same JSON (key order aside), and
// the same object with the zero values Kubernetes omits written out encodes to the golden.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "cluster/api/codec.h"
#include "cluster/api/registry.h"

namespace ksim::api {
namespace {

namespace fs = std::filesystem;

std::string Read(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

std::vector<fs::path> GoldenFiles() {
  std::vector<fs::path> out;
  for (const auto& entry : fs::directory_iterator(KSIM_API_GOLDEN)) {
    const fs::path& p = entry.path();
    if (p.extension() == ".json" && p.stem().extension() != ".zeros") out.push_back(p);
  }
  std::sort(out.begin(), out.end());
  return out;
}

// Decodes `text` and returns the codec's JSON encoding of it, parsed.
nlohmann::json Reencode(const std::string& text, const std::string& source, std::string* kind) {
  Object obj;
  const Status s = DecodeJson(text, source, &obj);
  EXPECT_TRUE(s.ok()) << s.ToString();
  if (!s.ok()) return nullptr;
  *kind = obj.info->kind;
  return nlohmann::json::parse(EncodeJson(*obj.message));
}

TEST(CodecGolden, EncodingEqualsKubernetesJson) {
  const std::vector<fs::path> files = GoldenFiles();
  ASSERT_GE(files.size(), 20u);
  for (const fs::path& file : files) {
    SCOPED_TRACE(file.filename().string());
    const std::string text = Read(file);
    const nlohmann::json golden = nlohmann::json::parse(text);
    std::string kind;
    const nlohmann::json encoded = Reencode(text, file.filename().string(), &kind);
    EXPECT_EQ(kind, golden.at("kind"));
    // The patch that turns the golden into the encoding: empty when they are equal.
    EXPECT_EQ(encoded, golden) << nlohmann::json::diff(golden, encoded).dump(1);
  }
}

TEST(CodecGolden, OmittedZerosAreOmitted) {
  size_t checked = 0;
  for (const fs::path& file : GoldenFiles()) {
    fs::path zeros = file;
    zeros.replace_extension(".zeros.json");
    if (!fs::exists(zeros)) continue;
    SCOPED_TRACE(zeros.filename().string());
    const nlohmann::json golden = nlohmann::json::parse(Read(file));
    const std::string text = Read(zeros);
    EXPECT_NE(nlohmann::json::parse(text), golden) << "the zeros file adds nothing";
    std::string kind;
    const nlohmann::json encoded = Reencode(text, zeros.filename().string(), &kind);
    EXPECT_EQ(encoded, golden) << nlohmann::json::diff(golden, encoded).dump(1);
    ++checked;
  }
  EXPECT_GE(checked, 8u);
}

// Every registered resource has a golden file, except those listed here (so a new kind
// without one fails this test until it is added to one list or the other).
TEST(CodecGolden, EveryKindHasAGoldenFileOrIsListedWithout) {
  std::set<std::string> have;
  for (const fs::path& file : GoldenFiles()) {
    have.insert(nlohmann::json::parse(Read(file)).at("kind").get<std::string>());
  }
  const std::set<std::string> without = {"Binding",        "CertificateSigningRequest", "Endpoints", "Eviction",
                                         "LimitRange",     "ReplicaSet",                "ReplicationController",
                                         "ResourceQuota",  "Role",                      "RoleBinding",
                                         "Scale",          "ServiceAccount",            "Status",
                                         "TokenRequest"};
  std::set<std::string> missing;
  for (const KindInfo& k : Registry::Default().All()) {
    if (have.count(k.kind) == 0) missing.insert(k.kind);
  }
  EXPECT_EQ(missing, without);
}

}  // namespace
}  // namespace ksim::api
