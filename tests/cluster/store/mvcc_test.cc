// The MVCC store's key/value semantics, checked against etcd v3's documented behaviour.
// Citations name sections of etcd's "etcd API" page (etcd.io/docs/v3.5/learning/api/),
// "KV API guarantees" (.../learning/api_guarantees/) and the gRPC reference (rpc.proto).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "cluster/store/mvcc/store.h"
#include "tests/cluster/store/mvcc_test_util.h"

namespace ksim::store {
namespace {

using namespace ksim::store::testing;  // NOLINT: test builders

// The single KeyValue of a range response; a stand-in naming the count otherwise, so a wrong
// answer fails an expectation instead of indexing past the end.
KeyValue Only(const RangeResponse& r) {
  if (r.kvs_size() == 1) return r.kvs(0);
  KeyValue none;
  none.set_key("<" + std::to_string(r.kvs_size()) + " kvs>");
  return none;
}

std::vector<std::string> Keys(const RangeResponse& r) {
  std::vector<std::string> keys;
  for (const KeyValue& kv : r.kvs()) keys.push_back(kv.key());
  return keys;
}

// --- Revisions and versions -----------------------------------------------------------

// etcd API, "Revisions": the store starts at revision 1; every modification creates a new
// revision. "Key-Value pair": create_revision is the revision of the last creation,
// mod_revision of the last modification, version is 1 on creation, +1 per modification
// and reset to 0 by a delete.
TEST(MvccRevisions, PutDeleteRecreateTable) {
  Store s;
  EXPECT_EQ(s.revision(), 1);
  struct Step {
    const char* what;
    bool put;  // else delete
    int64_t want_revision;
    int64_t want_create;  // 0: key absent afterwards
    int64_t want_version;
  };
  const std::vector<Step> steps = {
      {"create", true, 2, 2, 1},          {"update", true, 3, 2, 2},
      {"update again", true, 4, 2, 3},    {"delete", false, 5, 0, 0},
      {"recreate", true, 6, 6, 1},        {"update new generation", true, 7, 6, 2},
  };
  for (const Step& step : steps) {
    SCOPED_TRACE(step.what);
    CommandResult r = step.put ? s.Put(PutReq("k", step.what)) : s.DeleteRange(DeleteReq("k"));
    ASSERT_TRUE(r.ok()) << r.status.ToString();
    EXPECT_EQ(r.response.header().revision(), step.want_revision);
    EXPECT_EQ(s.revision(), step.want_revision);
    RangeResult got = s.Range(RangeReq("k"));
    ASSERT_TRUE(got.ok());
    if (step.want_create == 0) {
      EXPECT_EQ(got.response.count(), 0);
      continue;
    }
    ASSERT_EQ(got.response.kvs_size(), 1);
    const KeyValue& kv = got.response.kvs(0);
    EXPECT_EQ(kv.value(), step.what);
    EXPECT_EQ(kv.create_revision(), step.want_create);
    EXPECT_EQ(kv.mod_revision(), step.want_revision);
    EXPECT_EQ(kv.version(), step.want_version);
  }
}

// etcd API, "Revisions": a transaction that modifies several keys gets one revision; a
// request that modifies nothing does not bump it (deleting an absent key, a read-only txn).
TEST(MvccRevisions, OneRevisionPerChangingRequest) {
  Store s;
  TxnRequest t;
  *t.add_success() = OpPut("a", "1");
  *t.add_success() = OpPut("b", "2");
  *t.add_success() = OpPut("c", "3");
  ASSERT_TRUE(s.Txn(t).ok());
  EXPECT_EQ(s.revision(), 2);
  RangeResult all = All(s);
  ASSERT_EQ(all.response.kvs_size(), 3);
  for (const KeyValue& kv : all.response.kvs()) EXPECT_EQ(kv.mod_revision(), 2);

  CommandResult del = s.DeleteRange(DeleteReq("absent"));
  ASSERT_TRUE(del.ok());
  EXPECT_EQ(del.response.delete_range().deleted(), 0);
  EXPECT_EQ(s.revision(), 2);

  TxnRequest read_only;
  *read_only.add_success() = OpRange("a");
  ASSERT_TRUE(s.Txn(read_only).ok());
  EXPECT_EQ(s.revision(), 2);

  ASSERT_TRUE(s.LeaseGrant(1, 10).ok());  // a lease alone changes no key
  EXPECT_EQ(s.revision(), 2);
}

// --- Range ----------------------------------------------------------------------------------

class MvccRange : public ::testing::Test {
 protected:
  void SetUp() override {
    // rev 2..7: a, a/1, a/2, b, c; then a/1 updated at 7.
    for (const char* k : {"a", "a/1", "a/2", "b", "c"}) ASSERT_TRUE(s_.Put(PutReq(k, std::string("v-") + k)).ok());
    ASSERT_TRUE(s_.Put(PutReq("a/1", "v2")).ok());
    ASSERT_EQ(s_.revision(), 7);
  }
  Store s_;
};

// etcd API, "Range": range_end empty = the single key; [key, range_end) an interval;
// range_end "\0" = every key >= key; key "\0" with range_end "\0" = every key; results are
// sorted by key; count is the number of keys in the range regardless of limit, and `more`
// says that limit cut the result.
TEST_F(MvccRange, IntervalsTable) {
  struct Case {
    const char* what;
    std::string key, end;
    int64_t limit;
    std::vector<std::string> want;
    int64_t want_count;
    bool want_more;
  };
  const std::vector<Case> cases = {
      {"single key", "a", "", 0, {"a"}, 1, false},
      {"single absent key", "zz", "", 0, {}, 0, false},
      {"prefix a/", "a/", PrefixEnd("a/"), 0, {"a/1", "a/2"}, 2, false},
      {"prefix a", "a", PrefixEnd("a"), 0, {"a", "a/1", "a/2"}, 3, false},
      {"interval [a/2, c)", "a/2", "c", 0, {"a/2", "b"}, 2, false},
      {"from key b", "b", AllEnd(), 0, {"b", "c"}, 2, false},
      {"all keys", std::string(1, '\0'), AllEnd(), 0, {"a", "a/1", "a/2", "b", "c"}, 5, false},
      {"all keys, limit 2", std::string(1, '\0'), AllEnd(), 2, {"a", "a/1"}, 5, true},
      {"limit equal to count", "a", PrefixEnd("a"), 3, {"a", "a/1", "a/2"}, 3, false},
      {"range_end before key is empty", "c", "a", 0, {}, 0, false},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    RangeResult r = s_.Range(RangeReq(c.key, c.end, 0, c.limit));
    ASSERT_TRUE(r.ok()) << r.status.ToString();
    EXPECT_EQ(Keys(r.response), c.want);
    EXPECT_EQ(r.response.count(), c.want_count);
    EXPECT_EQ(r.response.more(), c.want_more);
    EXPECT_EQ(r.response.header().revision(), 7);
  }
}

// rpc.proto RangeRequest: keys_only returns keys without values; count_only returns only
// the count.
TEST_F(MvccRange, KeysOnlyAndCountOnly) {
  RangeRequest keys_only = RangeReq("a", PrefixEnd("a"));
  keys_only.set_keys_only(true);
  RangeResult k = s_.Range(keys_only);
  ASSERT_EQ(k.response.kvs_size(), 3);
  for (const KeyValue& kv : k.response.kvs()) {
    EXPECT_TRUE(kv.value().empty());
    EXPECT_GT(kv.mod_revision(), 0);
  }
  RangeRequest count_only = RangeReq("a", PrefixEnd("a"), 0, 1);
  count_only.set_count_only(true);
  RangeResult c = s_.Range(count_only);
  EXPECT_EQ(c.response.kvs_size(), 0);
  EXPECT_EQ(c.response.count(), 3);
  EXPECT_FALSE(c.response.more());
}

// ksim's paging option: with a limit, the walk stops one key past it; `more` stays exact.
TEST_F(MvccRange, SkipExactCountStopsOnePastTheLimit) {
  for (int64_t limit : {1, 2, 3, 4}) {
    RangeRequest exact = RangeReq("a", PrefixEnd("a"), 0, limit);
    RangeRequest paged = exact;
    paged.set_skip_exact_count(true);
    const RangeResult e = s_.Range(exact);
    const RangeResult p = s_.Range(paged);
    EXPECT_EQ(p.response.kvs_size(), e.response.kvs_size()) << "limit " << limit;
    EXPECT_EQ(p.response.more(), e.response.more()) << "limit " << limit;
    EXPECT_EQ(e.response.count(), 3);
    EXPECT_EQ(p.response.count(), std::min<int64_t>(3, limit + 1)) << "a lower bound: the keys walked";
  }
}

// ksim's max_bytes: a page also stops before the key-value that would take it past
// max_bytes (one always fits), with `more` set and `count` still exact; walking the pages
// from the key after the last one reads every key once.
TEST_F(MvccRange, MaxBytesEndsAPageEarlyAndPagesCoverTheRange) {
  RangeRequest all = RangeReq(std::string(1, '\0'), AllEnd());
  const int64_t one_kv = static_cast<int64_t>(s_.Range(RangeReq("a", "")).response.kvs(0).ByteSizeLong());
  for (int64_t max_bytes : {int64_t{1}, one_kv + 5, 2 * (one_kv + 5) + 2, int64_t{1} << 20}) {
    SCOPED_TRACE(max_bytes);
    RangeRequest page = all;
    page.set_max_bytes(max_bytes);
    std::vector<std::string> keys;
    for (int pages = 0; pages < 10; ++pages) {
      const RangeResult r = s_.Range(page);
      ASSERT_TRUE(r.ok());
      ASSERT_GT(r.response.kvs_size(), 0);
      int64_t bytes = 0;
      for (const KeyValue& kv : r.response.kvs()) bytes += static_cast<int64_t>(kv.ByteSizeLong()) + 5;
      EXPECT_TRUE(r.response.kvs_size() == 1 || bytes <= max_bytes) << bytes;
      EXPECT_EQ(r.response.count(), 5 - static_cast<int64_t>(keys.size())) << "count stays exact";
      for (const std::string& k : Keys(r.response)) keys.push_back(k);
      if (!r.response.more()) break;
      page.set_key(keys.back() + '\0');
    }
    EXPECT_EQ(keys, (std::vector<std::string>{"a", "a/1", "a/2", "b", "c"}));
  }
  RangeRequest one = all;
  one.set_max_bytes(1);
  EXPECT_EQ(s_.Range(one).response.kvs_size(), 1) << "one key-value always fits";
  EXPECT_TRUE(s_.Range(one).response.more());
}

// etcd API, "Range": `revision` reads the store as of that revision ("time travel"); the
// header still carries the current revision.
TEST_F(MvccRange, AtPastRevisions) {
  ASSERT_TRUE(s_.DeleteRange(DeleteReq("a", PrefixEnd("a"))).ok());  // rev 8
  struct Case {
    int64_t revision;
    std::vector<std::string> want;
    std::string a1_value;
  };
  const std::vector<Case> cases = {
      {1, {}, ""},
      {2, {"a"}, ""},
      {3, {"a", "a/1"}, "v-a/1"},
      {6, {"a", "a/1", "a/2", "b", "c"}, "v-a/1"},
      {7, {"a", "a/1", "a/2", "b", "c"}, "v2"},
      {8, {"b", "c"}, ""},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE("revision " + std::to_string(c.revision));
    RangeResult r = All(s_, c.revision);
    ASSERT_TRUE(r.ok()) << r.status.ToString();
    EXPECT_EQ(Keys(r.response), c.want);
    EXPECT_EQ(r.response.header().revision(), 8);
    if (!c.a1_value.empty()) {
      EXPECT_EQ(Only(s_.Range(RangeReq("a/1", "", c.revision)).response).value(), c.a1_value);
    }
  }
}

// etcd API, "Range": a revision above the current one is ErrFutureRev; one below the
// compacted revision is ErrCompacted ("required revision has been compacted"). Reading at
// exactly the compacted revision is allowed.
TEST_F(MvccRange, FutureAndCompactedRevisions) {
  RangeResult future = All(s_, 8);
  EXPECT_EQ(future.error, ERROR_FUTURE_REVISION);
  EXPECT_EQ(future.status.code(), Status::Code::kInvalidArgument);
  ASSERT_TRUE(s_.Compact(5).ok());
  RangeResult old = All(s_, 4);
  EXPECT_EQ(old.error, ERROR_COMPACTED);
  EXPECT_EQ(old.compact_revision, 5);
  EXPECT_NE(old.status.message().find("compacted"), std::string::npos) << old.status.ToString();
  RangeResult at = All(s_, 5);
  ASSERT_TRUE(at.ok()) << at.status.ToString();
  EXPECT_EQ(Keys(at.response), (std::vector<std::string>{"a", "a/1", "a/2", "b"}));
}

TEST_F(MvccRange, MalformedRequestsAreInvalidArgument) {
  EXPECT_EQ(s_.Range(RangeReq("")).error, ERROR_INVALID_ARGUMENT);  // etcd: "key is not provided"
  EXPECT_EQ(s_.Range(RangeReq("a", "", -1)).error, ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(s_.Range(RangeReq("a", "", 0, -1)).error, ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(s_.Range(RangeReq(std::string(kMaxKeyBytes + 1, 'k'))).error, ERROR_INVALID_ARGUMENT);
}

// --- Put --------------------------------------------------------------------------------------

// rpc.proto PutRequest: prev_kv returns the key before the put; ignore_value keeps the
// current value (error if the key does not exist, or if a value is given); ignore_lease
// likewise for the lease; a lease that does not exist is ErrLeaseNotFound.
TEST(MvccPut, PrevKvIgnoreValueIgnoreLeaseTable) {
  Store s;
  ASSERT_TRUE(s.LeaseGrant(7, 30).ok());
  ASSERT_TRUE(s.Put(PutReq("k", "one", 7)).ok());  // rev 2
  struct Case {
    const char* what;
    PutRequest req;
    ErrorCode want_error;
    std::string want_value;
    int64_t want_lease;
  };
  PutRequest prev = PutReq("k", "two", 0, true);
  PutRequest keep_value = PutReq("k", "");
  keep_value.set_ignore_value(true);
  keep_value.set_lease(7);
  PutRequest keep_lease = PutReq("k", "three");
  keep_lease.set_ignore_lease(true);
  PutRequest value_given = PutReq("k", "x");
  value_given.set_ignore_value(true);
  PutRequest lease_given = PutReq("k", "x", 7);
  lease_given.set_ignore_lease(true);
  PutRequest absent = PutReq("absent", "");
  absent.set_ignore_value(true);
  const std::vector<Case> cases = {
      {"prev_kv, drops the lease", prev, ERROR_NONE, "two", 0},
      {"ignore_value keeps the value, sets the lease", keep_value, ERROR_NONE, "two", 7},
      {"ignore_lease keeps the lease", keep_lease, ERROR_NONE, "three", 7},
      {"ignore_value with a value", value_given, ERROR_INVALID_ARGUMENT, "three", 7},
      {"ignore_lease with a lease", lease_given, ERROR_INVALID_ARGUMENT, "three", 7},
      {"ignore_value on an absent key", absent, ERROR_KEY_NOT_FOUND, "three", 7},
      {"missing lease", PutReq("k", "x", 99), ERROR_LEASE_NOT_FOUND, "three", 7},
      {"empty key", PutReq("", "x"), ERROR_INVALID_ARGUMENT, "three", 7},
      {"key too large", PutReq(std::string(kMaxKeyBytes + 1, 'k'), "x"), ERROR_INVALID_ARGUMENT, "three", 7},
      {"value too large", PutReq("k", std::string(kMaxValueBytes + 1, 'v')), ERROR_INVALID_ARGUMENT, "three", 7},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    const int64_t before = s.revision();
    CommandResult r = s.Put(c.req);
    EXPECT_EQ(r.error, c.want_error) << r.status.ToString();
    EXPECT_EQ(r.response.error(), c.want_error);
    EXPECT_EQ(s.revision(), before + (c.want_error == ERROR_NONE ? 1 : 0));
    EXPECT_EQ(r.response.header().revision(), s.revision());
    const KeyValue kv = Only(s.Range(RangeReq("k")).response);
    EXPECT_EQ(kv.value(), c.want_value);
    EXPECT_EQ(kv.lease(), c.want_lease);
    if (std::string(c.what) == "prev_kv, drops the lease") {
      ASSERT_TRUE(r.response.put().has_prev_kv());
      EXPECT_EQ(r.response.put().prev_kv().value(), "one");
      EXPECT_EQ(r.response.put().prev_kv().version(), 1);
      EXPECT_EQ(r.response.put().prev_kv().lease(), 7);
    }
  }
}

// --- DeleteRange ----------------------------------------------------------------------------

// rpc.proto DeleteRangeRequest: deletes the key or range, returns the number deleted and,
// with prev_kv, the deleted key-value pairs; all in one revision.
TEST(MvccDeleteRange, CountAndPrevKvs) {
  Store s;
  for (const char* k : {"p/1", "p/2", "p/3", "q"}) ASSERT_TRUE(s.Put(PutReq(k, std::string("v") + k)).ok());
  CommandResult r = s.DeleteRange(DeleteReq("p/", PrefixEnd("p/"), true));
  ASSERT_TRUE(r.ok());
  const DeleteRangeResponse& d = r.response.delete_range();
  EXPECT_EQ(d.deleted(), 3);
  ASSERT_EQ(d.prev_kvs_size(), 3);
  EXPECT_EQ(d.prev_kvs(0).key(), "p/1");
  EXPECT_EQ(d.prev_kvs(2).value(), "vp/3");
  EXPECT_EQ(d.prev_kvs(1).mod_revision(), 3);
  EXPECT_EQ(s.revision(), 6);
  EXPECT_EQ(Keys(All(s).response), std::vector<std::string>{"q"});

  CommandResult no_prev = s.DeleteRange(DeleteReq("q"));
  EXPECT_EQ(no_prev.response.delete_range().deleted(), 1);
  EXPECT_EQ(no_prev.response.delete_range().prev_kvs_size(), 0);
  EXPECT_EQ(s.DeleteRange(DeleteReq("")).error, ERROR_INVALID_ARGUMENT);
}

// --- Txn --------------------------------------------------------------------------------------

// etcd API, "Transaction": compares on value, version, create_revision, mod_revision and
// lease with =, !=, <, >. etcd's applyCompare: an absent key compares as version 0,
// create_revision 0, mod_revision 0, lease 0, and a VALUE compare on an absent key fails.
TEST(MvccTxn, CompareTargetsTable) {
  Store s;
  ASSERT_TRUE(s.LeaseGrant(5, 10).ok());
  ASSERT_TRUE(s.Put(PutReq("k", "m", 5)).ok());  // rev 2: create 2, mod 2, version 1
  ASSERT_TRUE(s.Put(PutReq("other", "x")).ok());    // rev 3
  ASSERT_TRUE(s.Put(PutReq("k", "m", 5)).ok());     // rev 4: version 2, mod 4
  using C = Compare;
  struct Case {
    const char* what;
    Compare cmp;
    bool want;
  };
  const std::vector<Case> cases = {
      {"version = 2", CmpInt("k", C::VERSION, C::EQUAL, 2), true},
      {"version != 2", CmpInt("k", C::VERSION, C::NOT_EQUAL, 2), false},
      {"version > 1", CmpInt("k", C::VERSION, C::GREATER, 1), true},
      {"version < 2", CmpInt("k", C::VERSION, C::LESS, 2), false},
      {"create = 2", CmpInt("k", C::CREATE, C::EQUAL, 2), true},
      {"create < 3", CmpInt("k", C::CREATE, C::LESS, 3), true},
      {"mod = 4", CmpInt("k", C::MOD, C::EQUAL, 4), true},
      {"mod > 4", CmpInt("k", C::MOD, C::GREATER, 4), false},
      {"lease = 5", CmpInt("k", C::LEASE, C::EQUAL, 5), true},
      {"lease != 0", CmpInt("k", C::LEASE, C::NOT_EQUAL, 0), true},
      {"value = m", CmpValue("k", C::EQUAL, "m"), true},
      {"value > l", CmpValue("k", C::GREATER, "l"), true},
      {"value < m", CmpValue("k", C::LESS, "m"), false},
      {"value != n", CmpValue("k", C::NOT_EQUAL, "n"), true},
      {"absent: version = 0", CmpInt("nope", C::VERSION, C::EQUAL, 0), true},
      {"absent: create = 0", CmpInt("nope", C::CREATE, C::EQUAL, 0), true},
      {"absent: mod < 1", CmpInt("nope", C::MOD, C::LESS, 1), true},
      {"absent: lease = 0", CmpInt("nope", C::LEASE, C::EQUAL, 0), true},
      {"absent: version > 0", CmpInt("nope", C::VERSION, C::GREATER, 0), false},
      {"absent: value = \"\" fails", CmpValue("nope", C::EQUAL, ""), false},
      {"absent: value != x fails too", CmpValue("nope", C::NOT_EQUAL, "x"), false},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    TxnRequest t;
    *t.add_compare() = c.cmp;
    *t.add_success() = OpRange("k");
    *t.add_failure() = OpRange("other");
    CommandResult r = s.Txn(t);
    ASSERT_TRUE(r.ok()) << r.status.ToString();
    EXPECT_EQ(r.response.txn().succeeded(), c.want);
    ASSERT_EQ(r.response.txn().responses_size(), 1);
    EXPECT_EQ(Only(r.response.txn().responses(0).response_range()).key(), c.want ? "k" : "other");
  }
  EXPECT_EQ(s.revision(), 4);
}

// etcd's applyCompare with range_end: the comparison must hold for every key in the range.
TEST(MvccTxn, CompareOverARange) {
  Store s;
  ASSERT_TRUE(s.Put(PutReq("r/1", "a")).ok());
  ASSERT_TRUE(s.Put(PutReq("r/2", "b")).ok());
  auto holds = [&s](Compare c) {
    TxnRequest t;
    *t.add_compare() = std::move(c);
    return s.Txn(t).response.txn().succeeded();
  };
  Compare all_created = CmpInt("r/", Compare::CREATE, Compare::GREATER, 1);
  all_created.set_range_end(PrefixEnd("r/"));
  EXPECT_TRUE(holds(all_created));
  Compare all_before_3 = CmpInt("r/", Compare::MOD, Compare::LESS, 3);
  all_before_3.set_range_end(PrefixEnd("r/"));
  EXPECT_FALSE(holds(all_before_3));  // r/2 was modified at 3
  Compare empty_range = CmpInt("s/", Compare::VERSION, Compare::EQUAL, 0);
  empty_range.set_range_end(PrefixEnd("s/"));
  EXPECT_TRUE(holds(empty_range));
}

// etcd API, "Transaction": the chosen branch is applied atomically in one revision, each
// write at its own sub-revision; a range in the branch sees the branch's earlier writes.
TEST(MvccTxn, BranchIsAtomicOneRevision) {
  Store s;
  ASSERT_TRUE(s.Put(PutReq("x", "0")).ok());  // rev 2
  TxnRequest t;
  *t.add_compare() = CmpInt("x", Compare::MOD, Compare::EQUAL, 2);
  *t.add_success() = OpPut("x", "1");
  *t.add_success() = OpPut("y", "1");
  *t.add_success() = OpRange("x");
  *t.add_success() = OpRange("x", "", 2);  // the past is still there
  *t.add_failure() = OpPut("never", "1");
  CommandResult r = s.Txn(t);
  ASSERT_TRUE(r.ok()) << r.status.ToString();
  const TxnResponse& txn = r.response.txn();
  EXPECT_TRUE(txn.succeeded());
  EXPECT_EQ(txn.header().revision(), 3);
  ASSERT_EQ(txn.responses_size(), 4);
  EXPECT_EQ(Only(txn.responses(2).response_range()).value(), "1");
  EXPECT_EQ(Only(txn.responses(3).response_range()).value(), "0");
  EXPECT_EQ(s.revision(), 3);

  // Same txn again: the compare now fails (mod is 3), so only the failure branch runs.
  CommandResult again = s.Txn(t);
  EXPECT_FALSE(again.response.txn().succeeded());
  EXPECT_EQ(Keys(All(s).response), (std::vector<std::string>{"never", "x", "y"}));
  EXPECT_EQ(s.revision(), 4);
}

// etcd checkIntervals / checkRequests: a branch that would fail (missing lease, a put in a
// deleted range, a duplicate put, too many ops, a compacted range revision) is refused as a
// whole: nothing is applied and the revision stays.
TEST(MvccTxn, InvalidBranchesChangeNothing) {
  Store s;
  ASSERT_TRUE(s.Put(PutReq("a", "0")).ok());
  ASSERT_TRUE(s.Put(PutReq("a", "1")).ok());
  ASSERT_TRUE(s.Compact(3).ok());
  struct Case {
    const char* what;
    TxnRequest txn;
    ErrorCode want;
  };
  std::vector<Case> cases;
  {
    TxnRequest t;
    *t.add_success() = OpPut("b", "1");
    *t.add_success() = OpPut("c", "1", 42);
    cases.push_back({"missing lease in the second put", t, ERROR_LEASE_NOT_FOUND});
  }
  {
    TxnRequest t;
    *t.add_success() = OpPut("b", "1");
    *t.add_success() = OpPut("b", "2");
    cases.push_back({"duplicate put", t, ERROR_INVALID_ARGUMENT});
  }
  {
    TxnRequest t;
    *t.add_success() = OpDelete("a", AllEnd());
    *t.add_success() = OpPut("b", "2");
    cases.push_back({"put in a deleted range", t, ERROR_INVALID_ARGUMENT});
  }
  {
    TxnRequest t;
    *t.add_failure() = OpPut("b", "1");
    *t.add_failure() = OpPut("b", "2");
    cases.push_back({"the branch not taken is checked too", t, ERROR_INVALID_ARGUMENT});
  }
  {
    TxnRequest t;
    for (int i = 0; i <= kMaxTxnOps; ++i) *t.add_success() = OpPut("k" + std::to_string(i), "v");
    cases.push_back({"too many ops", t, ERROR_INVALID_ARGUMENT});
  }
  {
    TxnRequest t;
    *t.add_success() = OpPut("b", "1");
    *t.add_success() = OpRange("a", "", 2);
    cases.push_back({"compacted range revision", t, ERROR_COMPACTED});
  }
  {
    TxnRequest t;
    *t.add_success() = OpRange("a", "", 99);
    cases.push_back({"future range revision", t, ERROR_FUTURE_REVISION});
  }
  {
    TxnRequest t;
    t.add_success();
    cases.push_back({"empty op", t, ERROR_INVALID_ARGUMENT});
  }
  {
    TxnRequest t;
    Compare c = CmpInt("a", Compare::VERSION, Compare::EQUAL, 1);
    c.set_mod_revision(3);
    *t.add_compare() = c;
    cases.push_back({"compare operand of the wrong kind", t, ERROR_INVALID_ARGUMENT});
  }
  const std::string before = s.Snapshot();
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    CommandResult r = s.Txn(c.txn);
    EXPECT_EQ(r.error, c.want) << r.status.ToString();
    EXPECT_EQ(r.response.header().revision(), 3);
    EXPECT_EQ(s.Snapshot(), before);
  }
}

// --- Compaction -----------------------------------------------------------------------------

// etcd API, "Compaction": compacting at revision R drops the history before R but keeps,
// for each key, its latest version at or before R; reads below R then fail with
// ErrCompacted; compacting at or below the compacted revision is ErrCompacted, above the
// current one ErrFutureRev. Compaction does not change the revision.
TEST(MvccCompaction, KeepsLatestPerKeyAndDropsTheRest) {
  Store s;
  ASSERT_TRUE(s.Put(PutReq("a", "1")).ok());          // 2
  ASSERT_TRUE(s.Put(PutReq("a", "2")).ok());          // 3
  ASSERT_TRUE(s.Put(PutReq("gone", "x")).ok());       // 4
  ASSERT_TRUE(s.DeleteRange(DeleteReq("gone")).ok());  // 5
  ASSERT_TRUE(s.Put(PutReq("a", "3")).ok());          // 6
  ASSERT_TRUE(s.Put(PutReq("b", "1")).ok());          // 7
  EXPECT_EQ(s.history_rows(), 6u);

  ASSERT_TRUE(s.Compact(5).ok());
  EXPECT_EQ(s.revision(), 7);
  EXPECT_EQ(s.compacted_revision(), 5);
  // Rows left: a@3 (latest of a at 5), a@6, b@7; "gone" had a tombstone at 5: all dropped.
  EXPECT_EQ(s.history_rows(), 3u);
  EXPECT_EQ(Only(s.Range(RangeReq("a", "", 5)).response).value(), "2");
  EXPECT_EQ(Only(s.Range(RangeReq("a", "", 5)).response).version(), 2);
  EXPECT_EQ(s.Range(RangeReq("gone", "", 5)).response.count(), 0);
  EXPECT_EQ(Only(s.Range(RangeReq("a")).response).version(), 3);  // versions survive
  EXPECT_EQ(s.Range(RangeReq("a", "", 4)).error, ERROR_COMPACTED);

  EXPECT_EQ(s.Compact(5).error, ERROR_COMPACTED);
  EXPECT_EQ(s.Compact(4).error, ERROR_COMPACTED);
  EXPECT_EQ(s.Compact(8).error, ERROR_FUTURE_REVISION);
  EXPECT_EQ(s.Compact(0).error, ERROR_INVALID_ARGUMENT);
  ASSERT_TRUE(s.Compact(7).ok());  // compacting at the current revision is allowed
  EXPECT_EQ(s.history_rows(), 2u);
  EXPECT_EQ(Keys(All(s, 7).response), (std::vector<std::string>{"a", "b"}));
}

TEST(MvccCompaction, FreesQuota) {
  StoreOptions options;
  options.quota_bytes = 4 * (1 + 100 + kRowOverheadBytes);
  Store s(options);
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(s.Put(PutReq("k", std::string(100, 'v'))).ok());
  CommandResult full = s.Put(PutReq("k", std::string(100, 'v')));
  EXPECT_EQ(full.error, ERROR_NO_SPACE);
  EXPECT_EQ(full.status.code(), Status::Code::kUnavailable);
  ASSERT_TRUE(s.Compact(s.revision()).ok());
  EXPECT_TRUE(s.Put(PutReq("k", std::string(100, 'v'))).ok());
}

// --- Leases -----------------------------------------------------------------------------------

// etcd API, "Lease API": keys attached to a lease are deleted when it is revoked; the
// deletions are one revision. Granting an existing id is ErrLeaseExists; revoking an
// unknown one is ErrLeaseNotFound.
TEST(MvccLease, RevokeDeletesAttachedKeysInOneRevision) {
  Store s;
  ASSERT_TRUE(s.LeaseGrant(1, 30).ok());
  ASSERT_TRUE(s.LeaseGrant(2, 60).ok());
  EXPECT_EQ(s.LeaseGrant(1, 30).error, ERROR_LEASE_EXISTS);
  EXPECT_EQ(s.LeaseGrant(0, 30).error, ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(s.LeaseGrant(3, 0).error, ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(s.LeaseGrant(3, kMaxLeaseTtlSeconds + 1).error, ERROR_INVALID_ARGUMENT);
  ASSERT_TRUE(s.Put(PutReq("l/a", "x", 1)).ok());
  ASSERT_TRUE(s.Put(PutReq("l/b", "x", 1)).ok());
  ASSERT_TRUE(s.Put(PutReq("l/c", "x", 1)).ok());
  ASSERT_TRUE(s.Put(PutReq("l/c", "x", 2)).ok());  // moves to lease 2
  ASSERT_TRUE(s.Put(PutReq("free", "x")).ok());
  ASSERT_EQ(s.revision(), 6);

  LeaseTimeToLiveRequest q;
  q.set_id(1);
  q.set_keys(true);
  LeaseTimeToLiveResult ttl = s.LeaseTimeToLive(q);
  ASSERT_TRUE(ttl.ok());
  EXPECT_EQ(ttl.response.granted_ttl_seconds(), 30);
  EXPECT_EQ(std::vector<std::string>(ttl.response.keys().begin(), ttl.response.keys().end()),
            (std::vector<std::string>{"l/a", "l/b"}));

  WatchOptions wo;
  wo.key = "l/";
  wo.range_end = PrefixEnd("l/");
  const int64_t watch = s.Watch(wo).watch_id;

  CommandResult revoke = s.LeaseRevoke(1);
  ASSERT_TRUE(revoke.ok()) << revoke.status.ToString();
  EXPECT_EQ(revoke.response.lease_revoke().deleted(), 2);
  EXPECT_EQ(s.revision(), 7);
  EXPECT_EQ(Keys(All(s).response), (std::vector<std::string>{"free", "l/c"}));
  const Drained d = Drain(&s, watch);
  ASSERT_EQ(d.events.size(), 2u);
  for (const Event& e : d.events) {
    EXPECT_EQ(e.type(), Event::DELETE);
    EXPECT_EQ(e.kv().mod_revision(), 7);
  }
  EXPECT_EQ(s.LeaseRevoke(1).error, ERROR_LEASE_NOT_FOUND);
  EXPECT_EQ(s.LeaseTimeToLive(q).error, ERROR_LEASE_NOT_FOUND);
  EXPECT_EQ(s.Put(PutReq("l/a", "x", 1)).error, ERROR_LEASE_NOT_FOUND);

  // A lease with no keys is revoked without a new revision.
  ASSERT_TRUE(s.LeaseGrant(3, 5).ok());
  ASSERT_TRUE(s.LeaseRevoke(3).ok());
  EXPECT_EQ(s.revision(), 7);

  const LeaseLeasesResponse leases = s.Leases();
  ASSERT_EQ(leases.leases_size(), 1);
  EXPECT_EQ(leases.leases(0).id(), 2);
  EXPECT_EQ(leases.leases(0).granted_ttl_seconds(), 60);
}

// Deleting or re-putting a key detaches it from its lease, so revoking the lease later does
// not touch the key.
TEST(MvccLease, DeleteAndOverwriteDetach) {
  Store s;
  ASSERT_TRUE(s.LeaseGrant(1, 30).ok());
  ASSERT_TRUE(s.Put(PutReq("a", "x", 1)).ok());
  ASSERT_TRUE(s.Put(PutReq("b", "x", 1)).ok());
  ASSERT_TRUE(s.DeleteRange(DeleteReq("a")).ok());
  ASSERT_TRUE(s.Put(PutReq("a", "y")).ok());  // recreated without a lease
  ASSERT_TRUE(s.Put(PutReq("b", "y")).ok());  // overwritten without a lease
  const int64_t rev = s.revision();
  CommandResult r = s.LeaseRevoke(1);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.response.lease_revoke().deleted(), 0);
  EXPECT_EQ(s.revision(), rev);
  EXPECT_EQ(All(s).response.count(), 2);
}

// --- The Apply entry point ------------------------------------------------------------------

TEST(MvccApply, RejectsEmptyAndOversizedCommands) {
  Store s;
  CommandResult empty = s.Apply(Command{});
  EXPECT_EQ(empty.error, ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(empty.response.error(), ERROR_INVALID_ARGUMENT);
  EXPECT_FALSE(empty.response.error_message().empty());
  EXPECT_EQ(StatusOf(empty.response).code(), Status::Code::kInvalidArgument);

  Command big;
  TxnRequest* t = big.mutable_txn();
  for (int i = 0; i < 3; ++i) *t->add_success() = OpPut("k" + std::to_string(i), std::string(kMaxValueBytes, 'v'));
  EXPECT_EQ(s.Apply(big).error, ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(s.revision(), 1);
}

TEST(MvccApply, ResponseIsSelfContained) {
  Store s;
  ASSERT_TRUE(s.Put(PutReq("a", "1")).ok());
  ASSERT_TRUE(s.Compact(2).ok());
  CommandResult r = s.Compact(2);
  EXPECT_EQ(r.response.error(), ERROR_COMPACTED);
  EXPECT_EQ(r.response.compact_revision(), 2);
  EXPECT_EQ(r.compact_revision, 2);
  EXPECT_EQ(StatusOf(r.response).code(), Status::Code::kNotFound);
  EXPECT_EQ(StatusOf(r.response).message(), r.status.message());
}

}  // namespace
}  // namespace ksim::store
