// The linearizability checker on hand-made histories: verdicts, the treatment of :fail and
// :info, per-key independence, exact error messages, JSON/EDN equivalence and the report.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "faults/lincheck/checker.h"
#include "faults/lincheck/edn.h"
#include "faults/lincheck/history.h"
#include "faults/lincheck/model.h"

namespace ksim::lincheck {
namespace {

History MustParse(ModelKind model, const std::string& text) {
  History h;
  const Status s = ParseHistory(text, "h.edn", model, ParseLimits{}, &h);
  EXPECT_TRUE(s.ok()) << s.ToString() << "\n" << text;
  return h;
}

Verdict Register(const std::string& text) { return Check(MustParse(ModelKind::kRegister, text)).verdict; }
Verdict Kv(const std::string& text) { return Check(MustParse(ModelKind::kKv, text)).verdict; }

std::string ParseError(ModelKind model, const std::string& text, ParseLimits limits = {}) {
  History h;
  const Status s = ParseHistory(text, "h.edn", model, limits, &h);
  EXPECT_FALSE(s.ok()) << text;
  EXPECT_TRUE(s.Is(Status::Code::kInvalidArgument)) << s.ToString();
  return s.message();
}

constexpr Verdict kLin = Verdict::kLinearizable;
constexpr Verdict kNot = Verdict::kNotLinearizable;

// ---- sequential histories -------------------------------------------------------------------

TEST(Lincheck, SequentialRegisterHistoryIsLinearizable) {
  EXPECT_EQ(Register(R"(
{:process 0, :type :invoke, :f :read, :value nil}
{:process 0, :type :ok, :f :read, :value nil}
{:process 0, :type :invoke, :f :write, :value 1}
{:process 0, :type :ok, :f :write, :value 1}
{:process 1, :type :invoke, :f :read, :value nil}
{:process 1, :type :ok, :f :read, :value 1}
{:process 1, :type :invoke, :f :cas, :value [1 2]}
{:process 1, :type :ok, :f :cas, :value [1 2]}
{:process 0, :type :invoke, :f :read, :value nil}
{:process 0, :type :ok, :f :read, :value 2}
{:process 0, :type :invoke, :f :write, :value "s"}
{:process 0, :type :ok, :f :write, :value "s"}
{:process 0, :type :invoke, :f :read, :value nil}
{:process 0, :type :ok, :f :read, :value "s"}
)"),
            kLin);
}

TEST(Lincheck, EmptyHistoryIsLinearizable) {
  EXPECT_EQ(Register("; nothing happened\n\n"), kLin);
  EXPECT_EQ(Kv(""), kLin);
}

TEST(Lincheck, SequentialKvHistoryIsLinearizable) {
  EXPECT_EQ(Kv(R"(
{:process 0, :type :invoke, :f :get, :key "a", :value nil}
{:process 0, :type :ok, :f :get, :key "a", :value nil}
{:process 0, :type :invoke, :f :append, :key "a", :value "x"}
{:process 0, :type :ok, :f :append, :key "a", :value "x"}
{:process 0, :type :invoke, :f :append, :key "a", :value "y"}
{:process 0, :type :ok, :f :append, :key "a", :value "y"}
{:process 0, :type :invoke, :f :get, :key "a", :value nil}
{:process 0, :type :ok, :f :get, :key "a", :value "xy"}
{:process 0, :type :invoke, :f :put, :key 7, :value 12}
{:process 0, :type :ok, :f :put, :key 7, :value 12}
{:process 0, :type :invoke, :f :append, :key 7, :value "3"}
{:process 0, :type :ok, :f :append, :key 7, :value "3"}
{:process 0, :type :invoke, :f :get, :key 7, :value nil}
{:process 0, :type :ok, :f :get, :key 7, :value "123"}
)"),
            kLin);
}

TEST(Lincheck, AppendOrderMatters) {
  const std::string appends = R"(
{:process 0, :type :invoke, :f :append, :key "a", :value "x"}
{:process 0, :type :ok, :f :append, :key "a", :value "x"}
{:process 0, :type :invoke, :f :append, :key "a", :value "y"}
{:process 0, :type :ok, :f :append, :key "a", :value "y"}
)";
  EXPECT_EQ(Kv(appends + "{:process 1, :type :invoke, :f :get, :key \"a\"}\n"
                         "{:process 1, :type :ok, :f :get, :key \"a\", :value \"yx\"}\n"),
            kNot);
  // Concurrent appends may land in either order.
  const std::string concurrent = R"(
{:process 0, :type :invoke, :f :append, :key "a", :value "x"}
{:process 1, :type :invoke, :f :append, :key "a", :value "y"}
{:process 0, :type :ok, :f :append, :key "a", :value "x"}
{:process 1, :type :ok, :f :append, :key "a", :value "y"}
{:process 2, :type :invoke, :f :get, :key "a"}
)";
  EXPECT_EQ(Kv(concurrent + "{:process 2, :type :ok, :f :get, :key \"a\", :value \"yx\"}\n"), kLin);
  EXPECT_EQ(Kv(concurrent + "{:process 2, :type :ok, :f :get, :key \"a\", :value \"xy\"}\n"), kLin);
  EXPECT_EQ(Kv(concurrent + "{:process 2, :type :ok, :f :get, :key \"a\", :value \"x\"}\n"), kNot);
}

// ---- classic violations and real-time order ---------------------------------------------------

TEST(Lincheck, StaleReadAfterCompletedWriteIsNotLinearizable) {
  const std::string h = R"(
{:process 0, :type :invoke, :f :write, :value 1}
{:process 0, :type :ok, :f :write, :value 1}
{:process 1, :type :invoke, :f :read, :value nil}
{:process 1, :type :ok, :f :read, :value nil}
)";
  EXPECT_EQ(Register(h), kNot);
  // The same read overlapping the write may see either value.
  EXPECT_EQ(Register(R"(
{:process 0, :type :invoke, :f :write, :value 1}
{:process 1, :type :invoke, :f :read, :value nil}
{:process 0, :type :ok, :f :write, :value 1}
{:process 1, :type :ok, :f :read, :value nil}
)"),
            kLin);
}

TEST(Lincheck, ReadOfNeverWrittenValueIsNotLinearizable) {
  EXPECT_EQ(Register("{:process 0, :type :invoke, :f :read}\n{:process 0, :type :ok, :f :read, :value 5}\n"), kNot);
}

TEST(Lincheck, OverlappingWritesLinearizableInOnlyOneOrder) {
  // Writes of 1 and 2 overlap; a later read of 1 forces "2 then 1".
  const std::string overlap = R"(
{:process 0, :type :invoke, :f :write, :value 1}
{:process 1, :type :invoke, :f :write, :value 2}
{:process 0, :type :ok, :f :write, :value 1}
{:process 1, :type :ok, :f :write, :value 2}
{:process 2, :type :invoke, :f :read, :value nil}
{:process 2, :type :ok, :f :read, :value 1}
)";
  EXPECT_EQ(Register(overlap), kLin);
  // A read of 2 afterwards contradicts the only order the first read allows.
  EXPECT_EQ(Register(overlap + "{:process 2, :type :invoke, :f :read}\n{:process 2, :type :ok, :f :read, :value 2}\n"),
            kNot);
  // A read overlapping both writes that saw 2, then a read of 1: 2 then 1 again; fine.
  EXPECT_EQ(Register(R"(
{:process 0, :type :invoke, :f :write, :value 1}
{:process 1, :type :invoke, :f :write, :value 2}
{:process 3, :type :invoke, :f :read, :value nil}
{:process 3, :type :ok, :f :read, :value 2}
{:process 0, :type :ok, :f :write, :value 1}
{:process 1, :type :ok, :f :write, :value 2}
{:process 2, :type :invoke, :f :read, :value nil}
{:process 2, :type :ok, :f :read, :value 1}
)"),
            kLin);
  // Two concurrent reads that saw 1 then 2 while 2 was written after 1 completed: reads are
  // sequential (1 completes before 2 starts), writes too: 1 before 2, so reading 2 then 1 fails.
  EXPECT_EQ(Register(R"(
{:process 0, :type :invoke, :f :write, :value 1}
{:process 0, :type :ok, :f :write, :value 1}
{:process 0, :type :invoke, :f :write, :value 2}
{:process 1, :type :invoke, :f :read, :value nil}
{:process 1, :type :ok, :f :read, :value 2}
{:process 2, :type :invoke, :f :read, :value nil}
{:process 2, :type :ok, :f :read, :value 1}
{:process 0, :type :ok, :f :write, :value 2}
)"),
            kNot);
}

// ---- cas ----------------------------------------------------------------------------------------

TEST(Lincheck, CasSucceedsOnlyOnTheExpectedValue) {
  const std::string w1 = "{:process 0, :type :invoke, :f :write, :value 1}\n{:process 0, :type :ok, :f :write, :value 1}\n";
  EXPECT_EQ(Register(w1 + "{:process 1, :type :invoke, :f :cas, :value [1 2]}\n"
                          "{:process 1, :type :ok, :f :cas, :value [1 2]}\n"
                          "{:process 1, :type :invoke, :f :read}\n{:process 1, :type :ok, :f :read, :value 2}\n"),
            kLin);
  // An :ok cas whose expected value the register never held at that time.
  EXPECT_EQ(Register(w1 + "{:process 1, :type :invoke, :f :cas, :value [3 4]}\n"
                          "{:process 1, :type :ok, :f :cas, :value [3 4]}\n"),
            kNot);
  // A failed cas did not happen: the read still sees 1.
  EXPECT_EQ(Register(w1 + "{:process 1, :type :invoke, :f :cas, :value [3 4]}\n"
                          "{:process 1, :type :fail, :f :cas, :value [3 4]}\n"
                          "{:process 1, :type :invoke, :f :read}\n{:process 1, :type :ok, :f :read, :value 1}\n"),
            kLin);
  // Two concurrent cas [1 2] cannot both succeed.
  EXPECT_EQ(Register(w1 + R"(
{:process 1, :type :invoke, :f :cas, :value [1 2]}
{:process 2, :type :invoke, :f :cas, :value [1 2]}
{:process 1, :type :ok, :f :cas, :value [1 2]}
{:process 2, :type :ok, :f :cas, :value [1 2]}
)"),
            kNot);
  // cas from the initial nil.
  EXPECT_EQ(Register("{:process 1, :type :invoke, :f :cas, :value [nil 2]}\n"
                     "{:process 1, :type :ok, :f :cas, :value [nil 2]}\n"),
            kLin);
}

// ---- :fail ----------------------------------------------------------------------------------------

TEST(Lincheck, FailedOperationsAreIgnored) {
  const std::string failed_write = "{:process 0, :type :invoke, :f :write, :value 5}\n"
                                   "{:process 0, :type :fail, :f :write, :value 5}\n";
  EXPECT_EQ(Register(failed_write + "{:process 1, :type :invoke, :f :read}\n{:process 1, :type :ok, :f :read, :value nil}\n"),
            kLin);
  // Reading the value of a write that did not happen is a violation.
  EXPECT_EQ(Register(failed_write + "{:process 1, :type :invoke, :f :read}\n{:process 1, :type :ok, :f :read, :value 5}\n"),
            kNot);
  History h = MustParse(ModelKind::kRegister, failed_write);
  EXPECT_TRUE(h.ops.empty());
  EXPECT_EQ(h.stats.failed, 1);
  // A process may go on after a :fail.
  EXPECT_EQ(Register(failed_write + "{:process 0, :type :invoke, :f :read}\n{:process 0, :type :ok, :f :read, :value nil}\n"),
            kLin);
}

// ---- :info: may or may not have happened, any time after its invoke ---------------------------------

TEST(Lincheck, InfoWriteWhoseValueIsReadLaterIsLinearizable) {
  // Treating :info as :fail would reject this: the value 1 was read.
  EXPECT_EQ(Register(R"(
{:process 0, :type :invoke, :f :write, :value 1}
{:process 0, :type :info, :f :write, :value 1}
{:process 1, :type :invoke, :f :read, :value nil}
{:process 1, :type :ok, :f :read, :value 1}
)"),
            kLin);
}

TEST(Lincheck, InfoWriteMayTakeEffectAfterItsInfoLine) {
  // The :info write's return is at +infinity: it may take effect after the write of 2 that
  // started after the :info line. Treating :info as an :ok at its line would reject this.
  EXPECT_EQ(Register(R"(
{:process 0, :type :invoke, :f :write, :value 1}
{:process 0, :type :info, :f :write, :value 1}
{:process 1, :type :invoke, :f :write, :value 2}
{:process 1, :type :ok, :f :write, :value 2}
{:process 2, :type :invoke, :f :read, :value nil}
{:process 2, :type :ok, :f :read, :value 2}
{:process 2, :type :invoke, :f :read, :value nil}
{:process 2, :type :ok, :f :read, :value 1}
)"),
            kLin);
}

TEST(Lincheck, InfoWriteMayNeverHaveHappened) {
  // Treating :info as :ok would reject this: the read after it sees the initial nil.
  EXPECT_EQ(Register(R"(
{:process 0, :type :invoke, :f :write, :value 1}
{:process 0, :type :info, :f :write, :value 1}
{:process 1, :type :invoke, :f :read, :value nil}
{:process 1, :type :ok, :f :read, :value nil}
)"),
            kLin);
  // ...but once it has been seen it cannot un-happen.
  EXPECT_EQ(Register(R"(
{:process 0, :type :invoke, :f :write, :value 1}
{:process 0, :type :info, :f :write, :value 1}
{:process 1, :type :invoke, :f :read, :value nil}
{:process 1, :type :ok, :f :read, :value 1}
{:process 1, :type :invoke, :f :read, :value nil}
{:process 1, :type :ok, :f :read, :value nil}
)"),
            kNot);
  // It cannot take effect before its invoke either.
  EXPECT_EQ(Register(R"(
{:process 1, :type :invoke, :f :read, :value nil}
{:process 1, :type :ok, :f :read, :value 1}
{:process 0, :type :invoke, :f :write, :value 1}
{:process 0, :type :info, :f :write, :value 1}
)"),
            kNot);
}

TEST(Lincheck, InfoCasAndNeverCompletedOperations) {
  // An :info cas that must have succeeded for the read to see 2.
  EXPECT_EQ(Register(R"(
{:process 0, :type :invoke, :f :write, :value 1}
{:process 0, :type :ok, :f :write, :value 1}
{:process 1, :type :invoke, :f :cas, :value [1 2]}
{:process 1, :type :info, :f :cas, :value [1 2]}
{:process 2, :type :invoke, :f :read, :value nil}
{:process 2, :type :ok, :f :read, :value 2}
)"),
            kLin);
  // An invoke that never completes behaves like :info.
  History h = MustParse(ModelKind::kRegister, R"(
{:process 0, :type :invoke, :f :write, :value 1}
{:process 2, :type :invoke, :f :read, :value nil}
{:process 2, :type :ok, :f :read, :value 1}
{:process 3, :type :invoke, :f :read, :value nil}
)");
  EXPECT_EQ(h.stats.pending, 2);
  EXPECT_EQ(h.stats.dropped_reads, 1);  // the open read observed nothing
  ASSERT_EQ(h.ops.size(), 2u);
  EXPECT_TRUE(h.ops[0].indefinite);
  EXPECT_EQ(Check(h).verdict, kLin);
}

TEST(Lincheck, InfoReadsAreDropped) {
  History h = MustParse(ModelKind::kRegister, R"(
{:process 1, :type :invoke, :f :read, :value nil}
{:process 1, :type :info, :f :read, :value nil}
)");
  EXPECT_TRUE(h.ops.empty());
  EXPECT_EQ(h.stats.info, 1);
  EXPECT_EQ(h.stats.dropped_reads, 1);
}

// ---- kv: independence of keys (P-compositionality) -------------------------------------------------

// ---- the initial value ----------------------------------------------------------------------

// Keys that start at "" (as other tools' kv histories assume) versus Jepsen's nil: the same
// history changes verdict with History::initial.
TEST(Lincheck, InitialValueDecidesReadsBeforeTheFirstWrite) {
  const std::string empty_then_append = R"(
{:process 0, :type :invoke, :f :get, :key "k", :value nil}
{:process 0, :type :ok, :f :get, :key "k", :value ""}
{:process 1, :type :invoke, :f :append, :key "k", :value "x"}
{:process 1, :type :ok, :f :append, :key "k", :value "x"}
{:process 0, :type :invoke, :f :get, :key "k", :value nil}
{:process 0, :type :ok, :f :get, :key "k", :value "x"}
)";
  const std::string nil_read = R"(
{:process 0, :type :invoke, :f :get, :key "k", :value nil}
{:process 0, :type :ok, :f :get, :key "k", :value nil}
)";
  History h = MustParse(ModelKind::kKv, empty_then_append);
  EXPECT_EQ(Check(h).verdict, kNot);  // nobody wrote "" and the key starts nil
  h.initial = Value::Str("");
  EXPECT_EQ(Check(h).verdict, kLin);
  History n = MustParse(ModelKind::kKv, nil_read);
  EXPECT_EQ(Check(n).verdict, kLin);
  n.initial = Value::Str("");
  const CheckResult r = Check(n);
  EXPECT_EQ(r.verdict, kNot);
  // The report says what the keys start with, and the explanation uses it.
  const std::string report = FormatReport(n, r);
  EXPECT_NE(report.find("initial value: \"\"\n"), std::string::npos) << report;
  EXPECT_NE(report.find("initially key \"k\" is \"\""), std::string::npos) << report;
  // The same for a register, with a cas from the initial value.
  History reg = MustParse(ModelKind::kRegister, R"(
{:process 0, :type :invoke, :f :cas, :value [0 1]}
{:process 0, :type :ok, :f :cas, :value [0 1]}
)");
  EXPECT_EQ(Check(reg).verdict, kNot);
  reg.initial = Value::Int(0);
  EXPECT_EQ(Check(reg).verdict, kLin);
}

// Shrinking a violation keeps a read of the initial value without a writer (it needs none).
TEST(Lincheck, ShrinkTreatsTheInitialValueAsWrittenBeforeEverything) {
  History h = MustParse(ModelKind::kKv, R"(
{:process 0, :type :invoke, :f :put, :key "k", :value "a"}
{:process 0, :type :ok, :f :put, :key "k", :value "a"}
{:process 1, :type :invoke, :f :get, :key "k", :value nil}
{:process 1, :type :ok, :f :get, :key "k", :value "s"}
{:process 2, :type :invoke, :f :put, :key "k", :value "s"}
{:process 2, :type :ok, :f :put, :key "k", :value "s"}
)");
  h.initial = Value::Str("s");
  const CheckResult r = Check(h);
  ASSERT_EQ(r.verdict, kNot);
  // The get saw the initial "s" after the put of "a" completed. The later put of "s" is not
  // the get's writer (with nil as the start it would be, and could not be removed alone).
  EXPECT_EQ(r.minimal, (std::vector<size_t>{0, 1}));
}

TEST(Lincheck, ParseInitialValue) {
  Value v;
  ASSERT_TRUE(ParseInitialValue("nil", &v).ok());
  EXPECT_EQ(v, Value::Nil());
  ASSERT_TRUE(ParseInitialValue(R"("")", &v).ok());
  EXPECT_EQ(v, Value::Str(""));
  ASSERT_TRUE(ParseInitialValue("-3", &v).ok());
  EXPECT_EQ(v, Value::Int(-3));
  for (const char* bad : {"", ":kw", "[1 2]", "\"open", "1 2", "true"}) {
    const Status s = ParseInitialValue(bad, &v);
    EXPECT_FALSE(s.ok()) << bad;
    EXPECT_NE(s.message().find("expected nil, an integer or a string"), std::string::npos) << s.message();
  }
}

TEST(Lincheck, KvKeysAreIndependent) {
  // As one register this would fail (get a -> 1 after put b=2); as a map it is fine.
  EXPECT_EQ(Kv(R"(
{:process 0, :type :invoke, :f :put, :key "a", :value 1}
{:process 0, :type :ok, :f :put, :key "a", :value 1}
{:process 1, :type :invoke, :f :put, :key "b", :value 2}
{:process 1, :type :ok, :f :put, :key "b", :value 2}
{:process 2, :type :invoke, :f :get, :key "a"}
{:process 2, :type :ok, :f :get, :key "a", :value 1}
{:process 2, :type :invoke, :f :get, :key "c"}
{:process 2, :type :ok, :f :get, :key "c", :value nil}
)"),
            kLin);
}

TEST(Lincheck, KvViolationIsReportedWithItsKey) {
  const History h = MustParse(ModelKind::kKv, R"(
{:process 0, :type :invoke, :f :put, :key "a", :value "1"}
{:process 1, :type :invoke, :f :put, :key "b", :value "1"}
{:process 0, :type :ok, :f :put, :key "a", :value "1"}
{:process 1, :type :ok, :f :put, :key "b", :value "1"}
{:process 0, :type :invoke, :f :put, :key "b", :value "2"}
{:process 0, :type :ok, :f :put, :key "b", :value "2"}
{:process 2, :type :invoke, :f :get, :key "a"}
{:process 3, :type :invoke, :f :get, :key "b"}
{:process 2, :type :ok, :f :get, :key "a", :value "1"}
{:process 3, :type :ok, :f :get, :key "b", :value "1"}
{:process 2, :type :invoke, :f :put, :key "c", :value "z"}
{:process 2, :type :ok, :f :put, :key "c", :value "z"}
)");
  const CheckResult r = Check(h);
  EXPECT_EQ(r.verdict, kNot);
  ASSERT_TRUE(r.failing_key.has_value());
  EXPECT_EQ(*r.failing_key, Value::Str("b"));
  ASSERT_EQ(r.keys.size(), 3u);
  EXPECT_EQ(r.keys[0].verdict, kLin);  // "a"
  EXPECT_EQ(r.keys[1].verdict, kNot);  // "b"
  EXPECT_EQ(r.keys[2].verdict, kLin);  // "c"
  EXPECT_EQ(r.failing_key_ops, 3u);
  // All three operations on "b" are needed: the get returned "1", so the put of "1" stays.
  ASSERT_EQ(r.minimal.size(), 3u);
  for (size_t k : r.minimal) EXPECT_EQ(h.ops[k].key, Value::Str("b"));
  EXPECT_TRUE(r.minimal_is_one_minimal);
  const std::string report = FormatReport(h, r);
  EXPECT_NE(report.find("key \"b\" is not linearizable"), std::string::npos) << report;
  EXPECT_NE(report.find("keys: 3 (2 linearizable, 1 not linearizable, 0 unknown)"), std::string::npos) << report;
}

// ---- the report: minimal sub-history and explanation ------------------------------------------------

TEST(Lincheck, ReportPrintsTheMinimalSubHistoryInTheInputFormat) {
  // Noise around a stale read: only the write of 2 and the read of 1 matter.
  const History h = MustParse(ModelKind::kRegister, R"(; a comment
{:process 0, :type :invoke, :f :write, :value 1, :time 10}
{:process 0, :type :ok, :f :write, :value 1, :time 20}
{"process": 5, "type": "invoke", "f": "read", "value": null}
{"process": 5, "type": "ok", "f": "read", "value": 1}
{:process 1, :type :invoke, :f :write, :value 2}
{:process 1, :type :ok, :f :write, :value 2}
{:process 2, :type :invoke, :f :write, :value 3}
{:process 2, :type :fail, :f :write, :value 3}
{:process 0, :type :invoke, :f :read, :value nil}
{:process 0, :type :ok, :f :read, :value 1}
{:process 3, :type :invoke, :f :read, :value nil}
{:process 3, :type :ok, :f :read, :value 2}
)");
  const CheckResult r = Check(h);
  ASSERT_EQ(r.verdict, kNot);
  const std::string expected =
      "model: register\n"
      "history: 12 events, 5 operations checked (5 ok, 0 info, 0 never completed); dropped: 1 failed, 0 reads "
      "without a result; 0 nemesis events skipped\n"
      "search: " + std::to_string(r.states) + " configurations explored\n"
      "minimal non-linearizable sub-history (3 of the 5 operations on the register; removing any one of them, with "
      "the reads of what it wrote, makes it linearizable):\n"
      "{:process 0, :type :invoke, :f :write, :value 1, :time 10}\n"
      "{:process 0, :type :ok, :f :write, :value 1, :time 20}\n"
      "{:process 1, :type :invoke, :f :write, :value 2}\n"
      "{:process 1, :type :ok, :f :write, :value 2}\n"
      "{:process 0, :type :invoke, :f :read, :value nil}\n"
      "{:process 0, :type :ok, :f :read, :value 1}\n"
      "explanation: the longest linearizable prefix found has 2 operations:\n"
      "  1. p0 write 1 (lines 2-3)\n"
      "  2. p1 write 2 (lines 6-7)\n"
      "then p0 read -> 1 (lines 10-11) could not be linearized before it completed: it returned 1, but after that "
      "prefix the register holds 2\n"
      "not linearizable\n";
  EXPECT_EQ(FormatReport(h, r), expected);
}

TEST(Lincheck, ReportKeepsJsonLinesAsJson) {
  const History h = MustParse(ModelKind::kKv, R"(
{"process":0,"type":"invoke","f":"put","key":"k","value":"x"}
{"process":0,"type":"ok","f":"put","key":"k","value":"x"}
{"process":1,"type":"invoke","f":"get","key":"k","value":null}
{"process":1,"type":"ok","f":"get","key":"k","value":null}
)");
  const CheckResult r = Check(h);
  ASSERT_EQ(r.verdict, kNot);
  EXPECT_EQ(FormatSubHistory(h, r.minimal),
            "{\"process\":0,\"type\":\"invoke\",\"f\":\"put\",\"key\":\"k\",\"value\":\"x\"}\n"
            "{\"process\":0,\"type\":\"ok\",\"f\":\"put\",\"key\":\"k\",\"value\":\"x\"}\n"
            "{\"process\":1,\"type\":\"invoke\",\"f\":\"get\",\"key\":\"k\",\"value\":null}\n"
            "{\"process\":1,\"type\":\"ok\",\"f\":\"get\",\"key\":\"k\",\"value\":null}\n");
}

TEST(Lincheck, ShrinkRemovesEverythingIrrelevant) {
  // 40 sequential writes and reads that are fine, and one stale read in the middle.
  std::string text;
  int line_value = 0;
  for (int k = 1; k <= 40; ++k) {
    text += "{:process 0, :type :invoke, :f :write, :value " + std::to_string(k) + "}\n";
    text += "{:process 0, :type :ok, :f :write, :value " + std::to_string(k) + "}\n";
    text += "{:process 1, :type :invoke, :f :read}\n";
    line_value = k == 20 ? 3 : k;  // the stale read
    text += "{:process 1, :type :ok, :f :read, :value " + std::to_string(line_value) + "}\n";
  }
  const History h = MustParse(ModelKind::kRegister, text);
  const CheckResult r = Check(h);
  ASSERT_EQ(r.verdict, kNot);
  EXPECT_TRUE(r.minimal_is_one_minimal);
  // The write of 3, one later write, and the read of 3 that followed it.
  ASSERT_EQ(r.minimal.size(), 3u);
  EXPECT_EQ(h.ops[r.minimal[0]].kind, OpKind::kWrite);
  EXPECT_EQ(h.ops[r.minimal[0]].arg, Value::Int(3));
  EXPECT_EQ(h.ops[r.minimal[1]].kind, OpKind::kWrite);
  EXPECT_GT(h.ops[r.minimal[1]].arg.i, 3);
  EXPECT_LE(h.ops[r.minimal[1]].arg.i, 20);
  EXPECT_EQ(h.ops[r.minimal[2]].kind, OpKind::kRead);
  EXPECT_EQ(h.ops[r.minimal[2]].result, Value::Int(3));
  EXPECT_EQ(Check(h, CheckOptions{.shrink = false}).minimal.size(), h.ops.size());
}

// ---- budgets ------------------------------------------------------------------------------------

TEST(Lincheck, ExhaustedBudgetIsUnknownNotAnAnswer) {
  // 8 overlapping appends and a get of a value no order of them makes: without the search's
  // reductions proving that takes every ordered subset of the appends (about 110,000
  // configurations), far more than 200. (The reductions see at once that nobody read the
  // appends, which is why they are off here: this test is about the budget.)
  std::string text;
  for (int p = 0; p < 8; ++p) {
    text += "{:process " + std::to_string(p) + ", :type :invoke, :f :append, :key \"k\", :value \"" +
            std::string(1, static_cast<char>('a' + p)) + "\"}\n";
  }
  for (int p = 0; p < 8; ++p) {
    text += "{:process " + std::to_string(p) + ", :type :ok, :f :append, :key \"k\", :value \"" +
            std::string(1, static_cast<char>('a' + p)) + "\"}\n";
  }
  text += "{:process 99, :type :invoke, :f :get, :key \"k\"}\n{:process 99, :type :ok, :f :get, :key \"k\", :value \"z\"}\n";
  const History h = MustParse(ModelKind::kKv, text);
  CheckOptions plain;
  plain.search_reductions = false;
  CheckOptions small = plain;
  small.max_states = 200;
  const CheckResult r = Check(h, small);
  EXPECT_EQ(r.verdict, Verdict::kUnknown);
  EXPECT_NE(r.unknown_reason.find("key \"k\": gave up after 200 configurations"), std::string::npos)
      << r.unknown_reason;
  const std::string report = FormatReport(h, r);
  EXPECT_EQ(report.substr(report.rfind('\n', report.size() - 2) + 1), "unknown\n");
  EXPECT_EQ(Check(h, plain).verdict, kNot);  // with the default budget it is decided
  EXPECT_EQ(Check(h).verdict, kNot);
  CheckOptions tiny_memory = plain;
  tiny_memory.max_memory_bytes = 1024;
  const CheckResult m = Check(h, tiny_memory);
  EXPECT_EQ(m.verdict, Verdict::kUnknown);
  EXPECT_NE(m.unknown_reason.find("the memory budget"), std::string::npos) << m.unknown_reason;
}

TEST(Lincheck, BudgetAlsoBoundsTheReducedSearch) {
  // Equal values defeat the reductions: four concurrent writes of 1 and four of 2, and one
  // client reading 1, 2, 1, ... nine times meanwhile (five reads of 1 need five writes of 1).
  std::string text;
  for (int p = 0; p < 8; ++p) {
    text += "{:process " + std::to_string(p) + ", :type :invoke, :f :write, :value " + (p < 4 ? "1" : "2") + "}\n";
  }
  for (int k = 0; k < 9; ++k) {
    text += "{:process 99, :type :invoke, :f :read}\n{:process 99, :type :ok, :f :read, :value " +
            std::string(k % 2 == 0 ? "1" : "2") + "}\n";
  }
  for (int p = 0; p < 8; ++p) {
    text += "{:process " + std::to_string(p) + ", :type :ok, :f :write, :value " + (p < 4 ? "1" : "2") + "}\n";
  }
  const History h = MustParse(ModelKind::kRegister, text);
  CheckOptions small;
  small.max_states = 50;
  EXPECT_EQ(Check(h, small).verdict, Verdict::kUnknown);
  const CheckResult r = Check(h);
  EXPECT_EQ(r.verdict, kNot);
  EXPECT_TRUE(r.minimal_is_one_minimal);
  EXPECT_EQ(r.minimal.size(), 5u);  // a write of 1, a write of 2, and reads of 1, 2, 1
}

TEST(Lincheck, DoomedPruningNeverChangesTheVerdict) {
  // The write of 1 spans both reads, so it must come between them; a later read of 2 is stale.
  const std::string h = R"(
{:process 1, :type :invoke, :f :write, :value 2}
{:process 1, :type :ok, :f :write, :value 2}
{:process 0, :type :invoke, :f :write, :value 1}
{:process 2, :type :invoke, :f :read}
{:process 2, :type :ok, :f :read, :value 2}
{:process 2, :type :invoke, :f :read}
{:process 2, :type :ok, :f :read, :value 1}
{:process 0, :type :ok, :f :write, :value 1}
)";
  const History parsed = MustParse(ModelKind::kRegister, h);
  CheckOptions plain;
  plain.search_reductions = false;
  EXPECT_EQ(Check(parsed).verdict, kLin);
  EXPECT_EQ(Check(parsed, plain).verdict, kLin);
  const History bad = MustParse(ModelKind::kRegister, h + "{:process 2, :type :invoke, :f :read}\n"
                                                          "{:process 2, :type :ok, :f :read, :value 2}\n");
  EXPECT_EQ(Check(bad).verdict, kNot);
  EXPECT_EQ(Check(bad, plain).verdict, kNot);
}

// ---- input: EDN subset, JSON lines, nemesis and extra fields ---------------------------------------

TEST(Lincheck, JsonLinesAreEquivalentToEdnLines) {
  const std::string edn = R"(
{:process 0, :type :invoke, :f :cas, :value [nil 2]}
{:process 1, :type :invoke, :f :write, :value "a\"b"}
{:process 0, :type :ok, :f :cas, :value [nil 2]}
{:process 1, :type :info, :f :write, :value "a\"b"}
{:process 2, :type :invoke, :f :read, :value nil}
{:process 2, :type :ok, :f :read, :value "a\"b"}
)";
  const std::string json = R"(
{"process": 0, "type": "invoke", "f": "cas", "value": [null, 2]}
{"process": 1, "type": "invoke", "f": "write", "value": "a\"b"}
{"process": 0, "type": "ok", "f": "cas", "value": [null, 2]}
{"process": 1, "type": "info", "f": "write", "value": "a\"b"}
{"process": 2, "type": "invoke", "f": "read", "value": null}
{"process": 2, "type": "ok", "f": "read", "value": "a\"b"}
)";
  const History a = MustParse(ModelKind::kRegister, edn);
  const History b = MustParse(ModelKind::kRegister, json);
  ASSERT_EQ(a.ops.size(), b.ops.size());
  for (size_t k = 0; k < a.ops.size(); ++k) {
    EXPECT_EQ(a.ops[k].process, b.ops[k].process);
    EXPECT_EQ(a.ops[k].kind, b.ops[k].kind);
    EXPECT_EQ(a.ops[k].arg, b.ops[k].arg);
    EXPECT_EQ(a.ops[k].arg2, b.ops[k].arg2);
    EXPECT_EQ(a.ops[k].result, b.ops[k].result);
    EXPECT_EQ(a.ops[k].indefinite, b.ops[k].indefinite);
    EXPECT_EQ(a.ops[k].invoke_line, b.ops[k].invoke_line);
    EXPECT_EQ(a.ops[k].complete_line, b.ops[k].complete_line);
  }
  EXPECT_EQ(a.ops[1].arg, Value::Str("a\"b"));
  EXPECT_EQ(Check(a).verdict, kLin);
  EXPECT_EQ(Check(b).verdict, kLin);
}

TEST(Lincheck, NemesisEventsAndExtraFieldsAreSkipped) {
  const History h = MustParse(ModelKind::kRegister, R"(
{:process :nemesis, :type :info, :f :start, :value [:isolated "n1"]}
{:process 0, :type :invoke, :f :write, :value 1, :time 1234, :index 1}
{:process 0, :type :ok, :f :write, :value 1, :time 1300, :index 2, :error nil}
{"process": "nemesis", "type": "info", "f": "stop"}
)");
  EXPECT_EQ(h.stats.nemesis, 2);
  EXPECT_EQ(h.ops.size(), 1u);
}

TEST(Lincheck, EdnSubsetReader) {
  DatumMap m;
  ASSERT_TRUE(ParseEdnLine(R"({:a -12,:b "x\n\u00e9\\" :c [1 [nil :k]] :d +3} ; trailing comment)", &m).ok());
  ASSERT_EQ(m.size(), 4u);
  EXPECT_EQ(m[0].second, Datum::Int(-12));
  EXPECT_EQ(m[1].second, Datum::String("x\n\xc3\xa9\\"));
  EXPECT_EQ(FormatEdn(m[2].second), "[1 [nil :k]]");
  EXPECT_EQ(m[3].second, Datum::Int(3));
  ASSERT_TRUE(ParseEdnLine("{:min -9223372036854775808, :max 9223372036854775807}", &m).ok());
  EXPECT_EQ(m[0].second.i, INT64_MIN);
  EXPECT_EQ(m[1].second.i, INT64_MAX);
  EXPECT_EQ(FormatEdn(Datum::String("a\"b\\c\n")), R"("a\"b\\c\n")");
  EXPECT_TRUE(ParseEdnLine("{:a [[[[[[[[1]]]]]]]]}", &m).ok());  // 8 deep is allowed

  struct Bad {
    const char* line;
    const char* message;
  };
  const Bad bad[] = {
      {"", "column 1: expected '{' to start a map, got end of line"},
      {"[1 2]", "column 1: expected '{' to start a map, got '['"},
      {"{:a 1", "column 6: unterminated map: expected '}'"},
      {"{:a}", "column 4: key :a has no value"},
      {"{a 1}", "column 2: expected a keyword key such as :type, got 'a'"},
      {"{:a 1 :a 2}", "column 7: duplicate key :a"},
      {"{:a 1} {:b 2}", "column 8: unexpected '{' after the map (one map per line)"},
      {"{:a \"x}", "column 5: unterminated string"},
      {"{:a \"\\q\"}", "column 6: unknown escape \\q in a string"},
      {"{:a \"\\u12\"}", "column 6: \\u needs four hex digits"},
      {"{:a 1.5}", "column 5: floating-point numbers are not supported"},
      {"{:a 10N}", "column 5: big integers (N suffix) are not supported"},
      {"{:a 012}", "column 5: integers may not have leading zeros"},
      {"{:a 9223372036854775808}", "column 5: integer does not fit in 64 bits"},
      {"{:a true}", "column 5: unsupported symbol 'true' (values are nil, integers, strings, keywords and vectors)"},
      {"{:a {:b 1}}", "column 5: nested maps are not supported"},
      {"{:a (1 2)}", "column 5: lists are not supported (use a vector [...])"},
      {"{:a #{1}}", "column 5: sets and tagged elements are not supported"},
      {"{:a \\c}", "column 5: characters are not supported (use a string)"},
      {"{:a [1 2}", "column 9: unexpected '}'"},
      {"{: 1}", "column 2: empty keyword"},
      {"{:a [[[[[[[[[1]]]]]]]]]}", "column 13: vectors nested deeper than 8"},
  };
  for (const Bad& b : bad) {
    const Status s = ParseEdnLine(b.line, &m);
    EXPECT_FALSE(s.ok()) << b.line;
    EXPECT_EQ(s.message(), b.message) << b.line;
  }
}

// ---- malformed histories: exact messages --------------------------------------------------------

TEST(Lincheck, MalformedHistoriesNameFileLineFieldAndReason) {
  struct Case {
    ModelKind model;
    std::string text;
    std::string message;
  };
  const ModelKind R = ModelKind::kRegister;
  const ModelKind K = ModelKind::kKv;
  const std::string w0 = "{:process 0, :type :invoke, :f :write, :value 1}\n";
  const std::vector<Case> cases = {
      {R, "\n; comment\n{:process 0, :type :done, :f :read}\n",
       "h.edn:3: field :type: expected :invoke, :ok, :fail or :info, got :done"},
      {R, "{:process 0, :type \"ok\", :f :read}\n", "h.edn:1: field :type: expected :invoke, :ok, :fail or :info, got \"ok\""},
      {R, "{:type :invoke, :f :read}\n", "h.edn:1: field :process: missing"},
      {R, "{:process 0, :f :read}\n", "h.edn:1: field :type: missing"},
      {R, "{:process 0, :type :invoke}\n", "h.edn:1: field :f: missing"},
      {R, "{:process \"a\", :type :invoke, :f :read}\n",
       "h.edn:1: field :process: expected a non-negative integer or :nemesis, got \"a\""},
      {R, "{:process -1, :type :invoke, :f :read}\n",
       "h.edn:1: field :process: expected a non-negative integer or :nemesis, got -1"},
      {R, "{:process 0, :type :invoke, :f :get}\n", "h.edn:1: field :f: the register model has :read, :write and :cas; got :get"},
      {K, "{:process 0, :type :invoke, :f :read, :key \"k\"}\n",
       "h.edn:1: field :f: the kv model has :get, :put and :append; got :read"},
      {R, "{:process 0, :type :invoke, :f :read, :key \"k\"}\n",
       "h.edn:1: field :key: the register model has no keys (use --model kv for a key/value map)"},
      {K, "{:process 0, :type :invoke, :f :get}\n", "h.edn:1: field :key: missing (every kv operation names its key)"},
      {K, "{:process 0, :type :invoke, :f :get, :key [1]}\n", "h.edn:1: field :key: expected a string or integer key, got [1]"},
      {K, "{:process 0, :type :invoke, :f :append, :key \"k\", :value 3}\n",
       "h.edn:1: field :value: expected a string to append, got 3"},
      {K, "{:process 0, :type :invoke, :f :put, :key \"k\"}\n", "h.edn:1: field :value: missing (a put needs a value)"},
      {R, "{:process 0, :type :invoke, :f :write}\n", "h.edn:1: field :value: missing (a write needs a value)"},
      {R, "{:process 0, :type :invoke, :f :write, :value :x}\n",
       "h.edn:1: field :value: expected nil, an integer or a string, got :x"},
      {R, "{:process 0, :type :invoke, :f :cas, :value [1]}\n", "h.edn:1: field :value: expected [expected new], got [1]"},
      {R, "{:process 0, :type :invoke, :f :cas, :value 1}\n", "h.edn:1: field :value: expected [expected new], got 1"},
      {R, "{:process 0, :type :invoke, :f :cas, :value [1 [2]]}\n",
       "h.edn:1: field :value: expected nil, an integer or a string as new value, got [2]"},
      {R, "{:process 0, :type :ok, :f :read, :value 1}\n",
       "h.edn:1: :ok completion for process 0 without a matching invoke"},
      {R, w0 + "{:process 0, :type :invoke, :f :read}\n",
       "h.edn:2: process 0 invoked :read while its write from line 1 has not completed (a process has at most one "
       "operation in flight)"},
      {R, w0 + "{:process 0, :type :info, :f :write, :value 1}\n{:process 0, :type :invoke, :f :read}\n",
       "h.edn:3: process 0 is used again after its :info at line 2 (after an indeterminate operation Jepsen gives the "
       "client a new process id)"},
      {R, w0 + "{:process 0, :type :ok, :f :read, :value 1}\n",
       "h.edn:2: field :f: the completion says :read but process 0 invoked write at line 1"},
      {K, "{:process 0, :type :invoke, :f :get, :key \"a\"}\n{:process 0, :type :ok, :f :get, :key \"b\", :value nil}\n",
       "h.edn:2: field :key: the completion names key \"b\" but process 0 invoked it on \"a\" at line 1"},
      {R, "{:process 0, :type :invoke, :f :read}\n{:process 0, :type :ok, :f :read}\n",
       "h.edn:2: field :value: missing (an :ok read needs the value it returned)"},
      {R, "{:process 0, :type :invoke, :f :write, :value \"abc}\n", "h.edn:1: column 47: unterminated string"},
      {R, "{:process 0, :type :invoke, :f :write, :value 1.5}\n",
       "h.edn:1: column 47: floating-point numbers are not supported"},
      {R, "{\"process\":0,\"type\":\"done\",\"f\":\"read\"}\n",
       "h.edn:1: field \"type\": expected \"invoke\", \"ok\", \"fail\" or \"info\", got \"done\""},
      {R, "{\"process\":0,\"type\":\"invoke\",\"f\":\"write\",\"value\":1.5}\n",
       "h.edn:1: json: field \"value\": floating-point numbers are not supported"},
      {R, "{\"process\":0,\"type\":\"invoke\",\"f\":\"write\",\"value\":true}\n",
       "h.edn:1: json: field \"value\": booleans are not supported"},
      {R, "{\"process\":0,\"process\":1,\"type\":\"invoke\",\"f\":\"read\"}\n", "h.edn:1: json: duplicate key \"process\""},
      {R, "{\"process\":0,\"type\":\"invoke\",\"f\":\"cas\",\"value\":[1]}\n",
       "h.edn:1: field \"value\": expected [expected new], got [1]"},
      {R, "{\"process\":0,\"type\":\"invoke\",\"f\":\"frob\"}\n",
       "h.edn:1: field \"f\": the register model has \"read\", \"write\" and \"cas\"; got \"frob\""},
      {R, "{\"process\":0,\"type\":\"invoke\",\"f\":\"read\"", 
       "h.edn:1: json: column 40: syntax error while parsing object - unexpected end of input; expected '}'"},
  };
  for (const Case& c : cases) EXPECT_EQ(ParseError(c.model, c.text), c.message) << c.text;
}

TEST(Lincheck, InputLimits) {
  ParseLimits limits;
  limits.max_events = 2;
  EXPECT_EQ(ParseError(ModelKind::kRegister,
                       "{:process 0, :type :invoke, :f :read}\n{:process 0, :type :ok, :f :read, :value 1}\n"
                       "; comments do not count\n{:process 0, :type :invoke, :f :read}\n",
                       limits),
            "h.edn:4: more than 2 events (the limit; raise it with --max-events)");
  limits = ParseLimits{};
  limits.max_line_bytes = 10;
  EXPECT_EQ(ParseError(ModelKind::kRegister, "{:process 0, :type :invoke, :f :read}\n", limits),
            "h.edn:1: line is longer than 10 bytes");
}

TEST(Lincheck, ModelSteps) {
  Operation append;
  append.kind = OpKind::kAppend;
  append.arg = Value::Str("x");
  EXPECT_EQ(*ApplyOp(append, Value::Nil()), Value::Str("x"));
  EXPECT_EQ(*ApplyOp(append, Value::Str("ab")), Value::Str("abx"));
  EXPECT_EQ(*ApplyOp(append, Value::Int(-4)), Value::Str("-4x"));
  Operation cas;
  cas.kind = OpKind::kCas;
  cas.arg = Value::Int(1);
  cas.arg2 = Value::Int(2);
  EXPECT_EQ(*ApplyOp(cas, Value::Int(1)), Value::Int(2));
  EXPECT_FALSE(ApplyOp(cas, Value::Str("1")).has_value());  // 1 is not "1"
  EXPECT_EQ(ModelName(ModelKind::kKv), "kv");
  ModelKind m;
  EXPECT_TRUE(ParseModelName("register", &m).ok());
  EXPECT_EQ(ParseModelName("queue", &m).message(), "unknown model 'queue' (expected register or kv)");
}

}  // namespace
}  // namespace ksim::lincheck
