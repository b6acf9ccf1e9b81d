// libFuzzer target: manifests (YAML and JSON) through the api codec. Whatever decodes must
// encode and decode again.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "cluster/api/codec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  std::vector<ksim::api::Object> objects;
  if (ksim::api::DecodeYaml(text, "fuzz.yaml", &objects).ok()) {
    for (const ksim::api::Object& object : objects) {
      std::vector<ksim::api::Object> again;
      if (!ksim::api::DecodeYaml(ksim::api::EncodeYaml(*object.message), "again.yaml", &again).ok()) std::abort();
      ksim::api::Object from_json;
      if (!ksim::api::DecodeJson(ksim::api::EncodeJson(*object.message), "again.json", &from_json).ok()) std::abort();
    }
  }
  ksim::api::Object object;
  (void)ksim::api::DecodeJson(text, "fuzz.json", &object);
  return 0;
}
