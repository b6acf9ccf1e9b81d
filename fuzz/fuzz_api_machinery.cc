// libFuzzer target: quantity, label selector and field selector parsing. Whatever parses
// must print a canonical string that parses back to the same thing.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "cluster/api/machinery/fields.h"
#include "cluster/api/machinery/labels.h"
#include "cluster/api/machinery/quantity.h"

namespace {

template <typename T>
void CheckRoundTrip(std::string_view text) {
  T parsed;
  if (!T::Parse(text, &parsed).ok()) return;
  T again;
  if (!T::Parse(parsed.String(), &again).ok() || !(again == parsed)) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  CheckRoundTrip<ksim::api::Quantity>(text);
  CheckRoundTrip<ksim::api::LabelMatcher>(text);
  CheckRoundTrip<ksim::api::FieldSelector>(text);
  return 0;
}
