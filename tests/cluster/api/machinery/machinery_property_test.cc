// RapidCheck properties of the API machinery: canonical strings re-parse to equal values,
// selectors re-parse to equivalent selectors, a merge patch built from a diff reproduces
// its target, and no parser or patch crashes on arbitrary input.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "cluster/api/machinery/fields.h"
#include "cluster/api/machinery/labels.h"
#include "cluster/api/machinery/patch.h"
#include "cluster/api/machinery/quantity.h"

namespace ksim::api {
namespace {

using nlohmann::json;

std::string Digits(int max_count) {
  const int count = *rc::gen::inRange(0, max_count + 1);
  std::string s;
  for (int i = 0; i < count; ++i) s.push_back(static_cast<char>('0' + *rc::gen::inRange(0, 10)));
  return s;
}

// --- Quantity ---------------------------------------------------------------------------

RC_GTEST_PROP(QuantityProperty, WellFormedTextParsesAndItsStringReparsesEqual, ()) {
  const std::string sign = *rc::gen::element<std::string>("", "+", "-");
  const std::string whole = Digits(8);
  const bool dot = *rc::gen::arbitrary<bool>();
  const std::string fraction = dot ? Digits(12) : "";
  RC_PRE(!whole.empty() || !fraction.empty());
  const std::string suffix = *rc::gen::element<std::string>("", "n", "u", "m", "k", "M", "G", "T", "P", "E", "Ki", "Mi",
                                                             "Gi", "Ti", "Pi", "Ei", "e3", "e-5", "E+7", "e0", "e-12");
  const std::string text = sign + whole + (dot ? "." : "") + fraction + suffix;
  Quantity q;
  const Status s = Quantity::Parse(text, &q);
  RC_ASSERT(s.ok());
  Quantity again;
  RC_ASSERT(Quantity::Parse(q.String(), &again).ok());
  RC_ASSERT(again == q);
  RC_ASSERT(again.String() == q.String());
  // MilliValue() rounds up in magnitude: the smallest |milli| covering |nano| (unless saturated).
  const Int128 nano_magnitude = q.NanoValue() < 0 ? -q.NanoValue() : q.NanoValue();
  const Int128 milli = q.MilliValue();
  const Int128 milli_magnitude = milli < 0 ? -milli : milli;
  if (milli_magnitude < std::numeric_limits<int64_t>::max()) {
    RC_ASSERT(milli_magnitude * 1000000 >= nano_magnitude);
    RC_ASSERT(milli_magnitude == 0 || (milli_magnitude - 1) * 1000000 < nano_magnitude);
  }
}

RC_GTEST_PROP(QuantityProperty, ExactValuesRoundTripInEveryFormat, (int64_t base, uint8_t scale_index)) {
  static const Int128 kScales[] = {1, 1000, 1000000, 1000000000, static_cast<Int128>(1024) * 1000000000,
                                   static_cast<Int128>(1) << 50};
  const Int128 nano = static_cast<Int128>(base) * kScales[scale_index % 6];
  const auto format = *rc::gen::element(Quantity::Format::kDecimalSI, Quantity::Format::kBinarySI,
                                        Quantity::Format::kDecimalExponent);
  const Quantity q = Quantity::FromNano(nano, format);
  Quantity again;
  RC_ASSERT(Quantity::Parse(q.String(), &again).ok());
  RC_ASSERT(again.NanoValue() == nano);
  if (again.String() != q.String()) {
    // Only one case: a binary-SI value that is no whole number of Ki, Mi, ... is written
    // without a suffix ("24285000"), which reads back as decimal SI and prints
    // canonically as such ("24285k"), as Kubernetes' resource.Quantity does. From there
    // the string is stable.
    RC_ASSERT(q.format() == Quantity::Format::kBinarySI);
    RC_ASSERT(again.format() == Quantity::Format::kDecimalSI);
    Quantity third;
    RC_ASSERT(Quantity::Parse(again.String(), &third).ok());
    RC_ASSERT(third.String() == again.String());
  }
}

RC_GTEST_PROP(QuantityProperty, AddThenSubIsIdentity, (int64_t a, int64_t b)) {
  Quantity q = Quantity::FromMilli(a);
  const Quantity original = q;
  RC_ASSERT(q.Add(Quantity::FromNano(b)).ok());
  RC_ASSERT(q.Sub(Quantity::FromNano(b)).ok());
  RC_ASSERT(q == original);
  RC_ASSERT((Quantity::FromNano(a) < Quantity::FromNano(b)) == (a < b));
}

// --- Selectors --------------------------------------------------------------------------

const std::vector<std::string> kKeys = {"a", "b", "c", "x.io/d"};
const std::vector<std::string> kValues = {"", "1", "2", "v"};

LabelRequirement RandomRequirement() {
  LabelRequirement r;
  r.key = *rc::gen::elementOf(kKeys);
  r.op = *rc::gen::element(SelectorOp::kEquals, SelectorOp::kNotEquals, SelectorOp::kIn, SelectorOp::kNotIn,
                           SelectorOp::kExists, SelectorOp::kDoesNotExist);
  int count = 0;
  if (r.op == SelectorOp::kEquals || r.op == SelectorOp::kNotEquals) count = 1;
  if (r.op == SelectorOp::kIn || r.op == SelectorOp::kNotIn) count = *rc::gen::inRange(1, 4);
  for (int i = 0; i < count; ++i) r.values.push_back(*rc::gen::elementOf(kValues));
  return r;
}

std::map<std::string, std::string> RandomLabels() {
  std::map<std::string, std::string> labels;
  for (const std::string& key : kKeys) {
    if (*rc::gen::arbitrary<bool>()) labels[key] = *rc::gen::element<std::string>("", "1", "2", "v", "3");
  }
  return labels;
}

// Kubernetes' semantics, written independently of the implementation (values unsorted).
bool ExpectedMatch(const LabelRequirement& r, const std::map<std::string, std::string>& labels) {
  const auto it = labels.find(r.key);
  if (r.op == SelectorOp::kExists || r.op == SelectorOp::kDoesNotExist) {
    return (it != labels.end()) == (r.op == SelectorOp::kExists);
  }
  const bool listed = it != labels.end() && std::find(r.values.begin(), r.values.end(), it->second) != r.values.end();
  const bool positive = r.op == SelectorOp::kEquals || r.op == SelectorOp::kIn;
  return listed == positive;
}

RC_GTEST_PROP(LabelSelectorProperty, StringReparsesToAnEquivalentSelector, ()) {
  std::vector<LabelRequirement> requirements;
  const int count = *rc::gen::inRange(0, 5);
  for (int i = 0; i < count; ++i) requirements.push_back(RandomRequirement());
  LabelMatcher selector;
  RC_ASSERT(LabelMatcher::FromRequirements(requirements, &selector).ok());
  LabelMatcher reparsed;
  const Status s = LabelMatcher::Parse(selector.String(), &reparsed);
  RC_ASSERT(s.ok());
  RC_ASSERT(reparsed == selector);
  for (int i = 0; i < 8; ++i) {
    const auto labels = RandomLabels();
    bool all = true;
    for (const LabelRequirement& r : requirements) all = all && ExpectedMatch(r, labels);
    RC_ASSERT(reparsed.Matches(labels) == selector.Matches(labels));
    RC_ASSERT(selector.Matches(labels) == all);
  }
}

// Text that parses prints a canonical string that parses back to an equal value.
template <typename T>
void AssertRejectedOrRoundTrips(const std::string& text) {
  T parsed;
  if (!T::Parse(text, &parsed).ok()) return;
  T again;
  RC_ASSERT(T::Parse(parsed.String(), &again).ok());
  RC_ASSERT(again == parsed);
}

RC_GTEST_PROP(SelectorFuzz, ArbitraryTextIsRejectedOrRoundTrips, (const std::string& text)) {
  AssertRejectedOrRoundTrips<LabelMatcher>(text);
  AssertRejectedOrRoundTrips<FieldSelector>(text);
  AssertRejectedOrRoundTrips<Quantity>(text);
}

RC_GTEST_PROP(SelectorFuzz, SelectorAlphabetIsRejectedOrRoundTrips, ()) {
  // Arbitrary strings rarely hit the grammar; these are built from its own tokens.
  const auto tokens = *rc::gen::container<std::vector<std::string>>(rc::gen::element<std::string>(
      "a", "b", "x.io/d", "=", "==", "!=", "!", "in", "notin", "(", ")", ",", " ", "v", "\\", "-", "metadata.name"));
  std::string text;
  for (const std::string& t : tokens) text += t;
  AssertRejectedOrRoundTrips<LabelMatcher>(text);
  AssertRejectedOrRoundTrips<FieldSelector>(text);
}

RC_GTEST_PROP(FieldSelectorProperty, EscapedValuesRoundTrip, (const std::string& value)) {
  FieldRequirement r{"spec.nodeName", FieldOp::kNotEquals, value};
  // Whitespace at the ends of a value is trimmed by the parser, so it cannot round-trip.
  RC_PRE(value.find_first_of(" \t\n\r\f\v") == std::string::npos);
  FieldSelector s;
  RC_ASSERT(FieldSelector::Parse(r.String(), &s).ok());
  RC_ASSERT(s.requirements().size() == 1u);
  RC_ASSERT(s.requirements()[0] == r);
}

// --- Patches ----------------------------------------------------------------------------

json RandomJson(int depth, bool allow_null) {
  const int kind = *rc::gen::inRange(allow_null ? 0 : 1, depth > 0 ? 7 : 5);
  switch (kind) {
    case 0: return nullptr;
    case 1: return *rc::gen::arbitrary<bool>();
    case 2: return *rc::gen::inRange(-3, 4);
    case 3: return *rc::gen::element<std::string>("x", "y", "");
    case 4: return json::array();
    case 5: {
      json a = json::array();
      const int n = *rc::gen::inRange(0, 4);
      for (int i = 0; i < n; ++i) a.push_back(RandomJson(depth - 1, allow_null));
      return a;
    }
    default: {
      json o = json::object();
      const int n = *rc::gen::inRange(0, 4);
      for (int i = 0; i < n; ++i) o[*rc::gen::element<std::string>("a", "b", "c", "d")] = RandomJson(depth - 1, allow_null);
      return o;
    }
  }
}

json RandomObject(bool allow_null) {
  json o = json::object();
  const int n = *rc::gen::inRange(0, 5);
  for (int i = 0; i < n; ++i) o[*rc::gen::element<std::string>("a", "b", "c", "d")] = RandomJson(3, allow_null);
  return o;
}

RC_GTEST_PROP(MergePatchProperty, PatchOfDiffReproducesTarget, ()) {
  const json a = RandomObject(true);
  const json b = RandomObject(false);  // a merge patch cannot set a member to null
  const json diff = CreateMergePatch(a, b);
  json out;
  RC_ASSERT(ApplyMergePatch(a, diff, &out).ok());
  RC_ASSERT(out == b);
}

RC_GTEST_PROP(StrategicMergePatchProperty, WithoutListRulesItIsAMergePatch, ()) {
  const json document = RandomObject(true);
  const json patch = RandomObject(true);
  json strategic;
  json merged;
  RC_ASSERT(ApplyStrategicMergePatch(document, patch, "Unknown", MergeKeyTable::BuiltIn(), &strategic).ok());
  RC_ASSERT(ApplyMergePatch(document, patch, &merged).ok());
  RC_ASSERT(strategic == merged);
}

json RandomStrategicPatch(int depth) {
  json o = json::object();
  const int n = *rc::gen::inRange(0, 4);
  for (int i = 0; i < n; ++i) {
    const std::string key = *rc::gen::element<std::string>("containers", "finalizers", "name", "env", "$patch",
                                                           "$setElementOrder/containers", "$retainKeys",
                                                           "$deleteFromPrimitiveList/finalizers", "$x");
    if (key == "$patch") {
      o[key] = *rc::gen::element<std::string>("replace", "merge", "delete", "bogus");
    } else if (depth > 0 && *rc::gen::arbitrary<bool>()) {
      json list = json::array();
      const int m = *rc::gen::inRange(0, 3);
      for (int j = 0; j < m; ++j) list.push_back(*rc::gen::arbitrary<bool>() ? RandomStrategicPatch(depth - 1) : RandomJson(1, true));
      o[key] = list;
    } else {
      o[key] = depth > 0 ? RandomStrategicPatch(depth - 1) : RandomJson(1, true);
    }
  }
  return o;
}

RC_GTEST_PROP(PatchFuzz, RandomPatchesNeverCrash, ()) {
  const json document = json{{"metadata", RandomStrategicPatch(2)}, {"spec", RandomStrategicPatch(3)}};
  const json patch = json{{"metadata", RandomStrategicPatch(2)}, {"spec", RandomStrategicPatch(3)}};
  json out;
  const Status s = ApplyStrategicMergePatch(document, patch, *rc::gen::element<std::string>("Pod", "Deployment"),
                                            MergeKeyTable::BuiltIn(), &out);
  if (!s.ok()) RC_ASSERT(s.code() == Status::Code::kInvalidArgument);
  // JSON patch: random operation lists against a random document.
  json ops = json::array();
  const int n = *rc::gen::inRange(0, 4);
  for (int i = 0; i < n; ++i) {
    json op = {{"op", *rc::gen::element<std::string>("add", "remove", "replace", "move", "copy", "test", "x")},
               {"path", *rc::gen::element<std::string>("", "/a", "/a/0", "/a/-", "/b/c", "/~1", "/a/01", "x")}};
    if (*rc::gen::arbitrary<bool>()) op["value"] = RandomJson(2, true);
    if (*rc::gen::arbitrary<bool>()) op["from"] = *rc::gen::element<std::string>("", "/a", "/a/0", "/b");
    ops.push_back(op);
  }
  (void)ApplyJsonPatch(RandomObject(true), ops, &out);
}

}  // namespace
}  // namespace ksim::api
