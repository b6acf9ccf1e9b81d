// The determinism ("tidy") test: the deterministic folders keep the house rules, and each
// rule really catches what it claims to catch.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "tests/tidy/tidy_rules.h"

namespace ksim::tidy {
namespace {

namespace fs = std::filesystem;

const fs::path& SourceRoot() {
  static const fs::path root(KSIM_SOURCE_DIR);
  return root;
}

std::string Describe(const std::vector<Violation>& violations) {
  std::string out;
  for (const Violation& v : violations) out += "  " + ToString(v) + "\n";
  return out;
}

bool HasRule(const std::vector<Violation>& violations, const std::string& rule) {
  return std::any_of(violations.begin(), violations.end(), [&](const Violation& v) { return v.rule == rule; });
}

// --- (1) the real tree ---------------------------------------------------------------

TEST(TidyTree, DeterministicFoldersHaveNoViolations) {
  const std::vector<Violation> violations = CheckTree(SourceRoot());
  std::string why;
  for (const Violation& v : violations) {
    why += "  " + ToString(v) + "\n";
    for (const Rule& r : Rules()) {
      if (r.name == v.rule) why += "      (" + r.why + ")\n";
    }
  }
  EXPECT_TRUE(violations.empty()) << violations.size() << " violation(s) of the determinism rules under "
                                  << SourceRoot().string() << ":\n"
                                  << why;
}

// --- (3) the scan is not vacuous -----------------------------------------------------

TEST(TidyTree, ScansFilesInEveryDeterministicFolder) {
  const std::vector<std::string> files = ListCheckedFiles(SourceRoot());
  for (const std::string& folder : DeterministicFolders()) {
    const auto n = std::count_if(files.begin(), files.end(),
                                 [&](const std::string& f) { return f.starts_with(folder + "/"); });
    EXPECT_GT(n, 0) << "no C++ file found under " << (SourceRoot() / folder).string()
                    << ": the tidy scan would pass vacuously";
  }
  // Files known to exist are among those scanned, and nothing outside the folders is.
  for (const char* known : {"sim/world.cc", "sim/event_queue.h", "cluster/env/clock.h"}) {
    EXPECT_NE(std::find(files.begin(), files.end(), known), files.end()) << known << " is not scanned";
  }
  for (const std::string& f : files) EXPECT_TRUE(IsChecked(f)) << f;
}

TEST(TidyTree, CheckTreeFindsAViolationPlantedInATree) {
  const fs::path root = fs::path(::testing::TempDir()) / "ksim_tidy_planted_tree";
  fs::remove_all(root);
  fs::create_directories(root / "cluster" / "store");
  fs::create_directories(root / "real");
  {
    std::ofstream(root / "cluster" / "store" / "bad.cc")
        << "// fine\nint x = 0;\nauto t = std::chrono::steady_clock::now();\n";
    std::ofstream(root / "cluster" / "store" / "notes.txt") << "std::chrono::steady_clock\n";  // not C++
    std::ofstream(root / "real" / "clock.cc") << "auto t = std::chrono::steady_clock::now();\n";  // allowed
    // A fragment included by a source is scanned like one; the tree's .proto files name the
    // map fields; a header's lookup-only member is followed into its directory's sources.
    std::ofstream(root / "cluster" / "store" / "impl.ipp") << "int r = rand();\n";
    std::ofstream(root / "cluster" / "store" / "meta.proto") << "message M {\n  map<string, string> tags = 1;\n}\n";
    std::ofstream(root / "cluster" / "store" / "tags.cc") << "void F(const M& m) {\n  for (auto& t : m.tags()) G(t);\n}\n";
    std::ofstream(root / "cluster" / "store" / "index.h")
        << "std::unordered_map<int, int> index_;  // tidy: lookup-only\n";
    std::ofstream(root / "cluster" / "store" / "index.cc") << "void Dump() {\n  for (auto& e : index_) P(e);\n}\n";
  }
  std::vector<Violation> v = CheckTree(root);
  ASSERT_EQ(v.size(), 4u) << Describe(v);
  EXPECT_EQ(v[1].path, "cluster/store/impl.ipp");
  EXPECT_EQ(v[1].rule, "rand");
  EXPECT_EQ(v[2].path, "cluster/store/index.h");
  EXPECT_EQ(v[2].rule, "lookup_only_unverified");
  EXPECT_EQ(v[3].path, "cluster/store/tags.cc");
  EXPECT_EQ(v[3].rule, "protobuf_map_iteration");
  EXPECT_EQ(v[3].line, 2);
  v.resize(1);
  EXPECT_EQ(v[0].path, "cluster/store/bad.cc");
  EXPECT_EQ(v[0].line, 3);
  EXPECT_EQ(v[0].rule, "steady_clock");
  EXPECT_EQ(v[0].text, "auto t = std::chrono::steady_clock::now();");
  fs::remove_all(root);
}

// --- (2) every rule fires on a sample, and only where it should ----------------------

struct Sample {
  std::string rule;
  std::string path;
  std::string content;
};

std::vector<Sample> Samples() {
  return {
      {"system_clock", "cluster/x.cc", "auto t = std::chrono::system_clock::now();"},
      {"steady_clock", "cluster/x.cc", "auto t = std::chrono::steady_clock::now();"},
      {"steady_clock", "sim/x.h", "using namespace std::chrono; auto t = steady_clock::now();"},
      {"high_resolution_clock", "faults/x.cc", "auto t = std::chrono::high_resolution_clock::now();"},
      {"other_std_clock", "scenarios/x.cc", "auto t = std::chrono::utc_clock::now();"},
      {"gettimeofday", "sim/x.cc", "struct timeval tv; gettimeofday(&tv, nullptr);"},
      {"clock_gettime", "sim/x.cc", "timespec ts; clock_gettime(CLOCK_MONOTONIC, &ts);"},
      {"time_call", "cluster/x.cc", "long t = time(nullptr);"},
      {"time_call", "cluster/x.cc", "auto t = std::time(nullptr);"},
      {"time_call", "cluster/x.cc", "auto t = ::time(nullptr);"},
      {"time_call", "cluster/x.cc", "time (0);"},
      {"time_call", "cluster/x.cc", "auto t = ::std::time(nullptr);"},
      {"clock_call", "cluster/x.cc", "clock_t c = clock();"},
      {"clock_call", "sim/x.cc", "if (std::clock() > limit) return;"},
      {"clock_call", "faults/x.cc", "return ::clock();"},
      {"c_time_functions", "cluster/x.cc", "std::tm* tm = localtime(&t);"},
      {"c_time_functions", "sim/x.cc", "timespec ts; timespec_get(&ts, TIME_UTC);"},
      {"absl_time", "cluster/x.cc", "absl::Time t = absl::Now();"},
      {"absl_time", "sim/x.cc", "int64_t ns = absl::GetCurrentTimeNanos();"},
      {"absl_time", "faults/x.cc", "absl::SleepFor(absl::Seconds(1));"},
      {"cycle_counter", "cluster/x.cc", "uint64_t t = __rdtsc();"},
      {"cycle_counter", "sim/x.cc", "unsigned aux; uint64_t t = __rdtscp(&aux);"},
      {"cycle_counter", "sim/x.cc", "uint64_t t = __builtin_readcyclecounter();"},
      {"inline_asm", "cluster/x.cc", "asm volatile(\"rdtsc\" : \"=a\"(lo), \"=d\"(hi));"},
      {"inline_asm", "sim/x.cc", "__asm__ __volatile__(\"\" ::: \"memory\");"},
      {"sleep", "cluster/x.cc", "sleep(1);"},
      {"sleep", "sim/x.cc", "usleep(1000);"},
      {"sleep", "faults/x.cc", "nanosleep(&ts, nullptr);"},
      {"sleep_for_until", "cluster/x.cc", "std::this_thread::sleep_for(std::chrono::seconds(1));"},
      {"sleep_for_until", "cluster/x.cc", "std::this_thread::sleep_until(deadline);"},
      {"std_thread", "cluster/x.cc", "std::thread worker([] {});"},
      {"std_thread", "scenarios/x.cc", "std::jthread worker([] {});"},
      {"std_thread", "sim/x.cc", "auto id = std::this_thread::get_id();"},
      {"std_async", "cluster/x.cc", "auto f = std::async(std::launch::async, [] { return 1; });"},
      {"pthread", "sim/x.cc", "pthread_t t; pthread_create(&t, nullptr, fn, nullptr);"},
      {"include_thread", "cluster/x.cc", "#include <thread>"},
      {"include_thread", "sim/x.h", "#  include <future>"},
      {"include_thread", "cluster/x.h", "#include <mutex>"},
      {"include_thread", "faults/x.cc", "#include <stop_token>"},
      {"include_thread", "scenarios/x.cc", "#include <condition_variable>"},
      {"include_thread", "cluster/x.cc", "#include <shared_mutex>"},
      {"std_thread", "cluster/x.cc", "using namespace std; thread worker([] {});"},
      {"std_async", "cluster/x.cc", "using namespace std; auto f = async(launch::async, work);"},
      {"std_random_engine", "sim/x.cc", "using namespace std; mt19937 gen(42);"},
      {"hash_of_pointer", "cluster/x.cc", "using namespace std; size_t h = hash<Node*>{}(n);"},
      {"order_by_pointer", "cluster/x.cc", "using namespace std; sort(v.begin(), v.end(), less<Host*>());"},
      {"pointer_keyed_container", "faults/x.cc", "using namespace std; map<Conn*, int> m;"},
      {"libm_transcendental", "cluster/x.cc", "using namespace std; double w = log(n + 2.0);"},
      {"libm_transcendental", "cluster/x.cc", "double w = std::log(static_cast<double>(n + 2));"},
      {"libm_transcendental", "cluster/x.cc", "double w = ::exp(x);"},
      {"libm_transcendental", "sim/x.cc", "double d = pow(base, 2.5);"},
      {"libm_transcendental", "sim/x.cc", "return logf(x) * 2;"},
      {"std_namespace_alias", "cluster/x.cc", "namespace s = std;"},
      {"os_entropy", "cluster/x.cc", "getrandom(buf, sizeof(buf), 0);"},
      {"os_entropy", "cluster/x.cc", "uint32_t r = arc4random();"},
      {"os_entropy", "sim/x.cc", "getentropy(buf, 16);"},
      {"os_entropy", "cluster/x.cc", "#include <sys/random.h>"},
      {"rand", "cluster/x.cc", "int r = rand();"},
      {"rand", "cluster/x.cc", "int r = std::rand() % 6;"},
      {"srand", "faults/x.cc", "srand(42);"},
      {"random_device", "cluster/x.cc", "std::random_device rd;"},
      {"std_random_engine", "cluster/x.cc", "std::mt19937 gen(42);"},
      {"std_random_engine", "sim/x.cc", "std::mt19937_64 gen(42);"},
      {"std_random_engine", "sim/x.cc", "std::default_random_engine gen;"},
      {"getenv", "cluster/x.cc", "const char* home = getenv(\"HOME\");"},
      {"getenv", "cluster/x.cc", "const char* home = std::getenv(\"HOME\");"},
      {"getenv", "scenarios/x.cc", "const char* home = secure_getenv(\"HOME\");"},
      {"environ", "cluster/x.cc", "extern char** environ;"},
      {"current_zone", "cluster/x.cc", "const auto* z = date::current_zone();"},
      {"current_zone", "cluster/x.cc", "auto z = std::chrono::current_zone ();"},
      {"unordered_container", "cluster/x.cc", "std::unordered_map<int,int> m;"},
      {"unordered_container", "sim/x.h", "std::unordered_set<std::string> s;"},
      {"unordered_container", "faults/x.cc", "std::unordered_multimap<int, int> m;"},
      {"unordered_container", "cluster/x.h", "absl::flat_hash_map<std::string, int> m;"},
      {"unordered_container", "scenarios/x.cc", "absl::node_hash_set<int> s;"},
      {"hash_of_pointer", "cluster/x.cc", "size_t h = std::hash<Node*>{}(node);"},
      {"hash_of_pointer", "cluster/x.cc", "size_t h = std::hash<const Node *>{}(node);"},
      {"order_by_pointer", "sim/x.cc", "std::sort(v.begin(), v.end(), std::less<Host*>());"},
      {"protobuf_plain_serialize", "cluster/x.cc", "conn.Send(frame.SerializeAsString());"},
      {"protobuf_plain_serialize", "sim/x.cc", "msg.SerializeToString(&out);"},
      {"protobuf_plain_serialize", "scenarios/x.cc", "m->SerializePartialToArray(buf, n);"},
      {"pointer_keyed_container", "cluster/x.cc", "std::map<Node*, int> by_node;"},
      {"pointer_keyed_container", "sim/x.cc", "std::set<const sim::Host *> hosts;"},
      {"pointer_keyed_container", "faults/x.cc", "std::multimap<Conn*, int> m;"},
      {"include_real", "cluster/x.cc", "#include \"real/event_loop.h\""},
      {"include_real", "sim/x.cc", "#include \"real/clock.h\"  // for comparison"},
      {"include_real", "faults/x.cc", "#include <real/tcp_transport.h>"},
      {"include_real", "scenarios/x.cc", "#include \"real/real_env.h\""},
      {"cluster_includes_upper_layer", "cluster/x.cc", "#include \"sim/world.h\""},
      {"cluster_includes_upper_layer", "cluster/store/x.h", "#include \"faults/fault.h\""},
      {"cluster_includes_upper_layer", "cluster/x.cc", "#include \"scenarios/demo_run.h\""},
      {"cluster_includes_upper_layer", "cluster/x.cc", "#include \"tools/ksim/commands.h\""},
      {"cluster_includes_upper_layer", "cluster/x.cc", "#include \"reports/report.h\""},
  };
}

TEST(TidyRules, EverySampleTriggersItsRule) {
  for (const Sample& s : Samples()) {
    const std::vector<Violation> v = CheckFile(s.path, "// header\n" + s.content + "\n");
    EXPECT_TRUE(HasRule(v, s.rule)) << "rule " << s.rule << " missed in " << s.path << ": " << s.content
                                    << "\nfound:\n"
                                    << Describe(v);
    for (const Violation& x : v) {
      EXPECT_EQ(x.path, s.path);
      EXPECT_EQ(x.line, 2) << ToString(x);
      EXPECT_EQ(x.text, s.content);
    }
  }
}

TEST(TidyRules, EveryRuleHasASample) {
  std::set<std::string> sampled;
  for (const Sample& s : Samples()) sampled.insert(s.rule);
  for (const Rule& r : Rules()) EXPECT_TRUE(sampled.count(r.name)) << "rule " << r.name << " has no sample";
}

TEST(TidyRules, EverySampleIsAllowedOutsideTheDeterministicFolders) {
  for (const Sample& s : Samples()) {
    const std::string file = s.path.substr(s.path.find('/') + 1);
    for (const char* folder : {"real/", "tools/", "tests/", "reports/", "bench/"}) {
      const std::vector<Violation> v = CheckFile(folder + file, s.content + "\n");
      EXPECT_TRUE(v.empty()) << folder << file << ":\n" << Describe(v);
    }
  }
}

TEST(TidyRules, EverySampleIsAllowedInACommentOrAString) {
  for (const Sample& s : Samples()) {
    if (s.content.find('"') != std::string::npos) continue;  // cannot nest it in a string literal as is
    for (const std::string& wrapped : {"// " + s.content, "/* " + s.content + " */", "/*\n" + s.content + "\n*/",
                                       "const char* k = \"" + s.content + "\";",
                                       "const char* k = R\"(" + s.content + ")\";"}) {
      const std::vector<Violation> v = CheckFile(s.path, wrapped + "\n");
      // Include directives inside a comment or a string are not directives.
      EXPECT_TRUE(v.empty()) << s.path << ": " << wrapped << "\n" << Describe(v);
    }
  }
}

TEST(TidyRules, ClusterMayNotIncludeSimButFaultsMay) {
  EXPECT_TRUE(HasRule(CheckFile("cluster/x.cc", "#include \"sim/world.h\"\n"), "cluster_includes_upper_layer"));
  EXPECT_TRUE(CheckFile("faults/x.cc", "#include \"sim/world.h\"\n").empty());
  EXPECT_TRUE(CheckFile("scenarios/x.cc", "#include \"faults/fault.h\"\n").empty());
  EXPECT_TRUE(CheckFile("cluster/x.cc", "#include \"cluster/env/env.h\"\n").empty());
  // A commented-out include is not an include.
  EXPECT_TRUE(CheckFile("cluster/x.cc", "// #include \"sim/world.h\"\n").empty());
  // Nor is a file merely named like a layer.
  EXPECT_TRUE(CheckFile("cluster/x.cc", "#include \"cluster/simulation/x.h\"\n").empty());
}

TEST(TidyRules, BareStdNamesCountOnlyAfterUsingNamespaceStd) {
  EXPECT_TRUE(CheckFile("cluster/x.cc", "thread worker([] {});\n").empty());
  EXPECT_TRUE(HasRule(CheckFile("cluster/x.cc", "using namespace std;\nint f();\nthread worker([] {});\n"),
                      "std_thread"));
  // Before the directive, bare names are someone else's.
  EXPECT_TRUE(CheckFile("cluster/x.cc", "thread worker([] {});\nusing namespace std;\n").empty());
  // One violation per rule and line, even when both patterns match.
  EXPECT_EQ(CheckFile("cluster/x.cc", "using namespace std; std::thread t; thread u;\n").size(), 1u);
}

TEST(TidyRules, ExtensionsOfIncludedFragmentsAreChecked) {
  for (const char* path : {"cluster/x.inc", "sim/x.ipp", "faults/x.tcc", "cluster/x.hh", "scenarios/x.cxx"}) {
    EXPECT_TRUE(IsChecked(path)) << path;
    EXPECT_TRUE(HasRule(CheckFile(path, "auto t = std::chrono::steady_clock::now();\n"), "steady_clock")) << path;
  }
  EXPECT_FALSE(IsChecked("cluster/x.incx"));
  EXPECT_FALSE(IsChecked("cluster/x.proto"));
}

// --- (4) the checks that read more than a line ----------------------------------------

FileContext ProtoContext() {
  FileContext c;
  std::set<std::string> other;
  CollectProtoFields(
      "message ObjectMeta {\n  map<string, string> labels = 11;\n  string name = 1;\n}\n"
      "message ResourceRequirements {\n  map<string, string> limits = 1;\n  map<string,string> requests = 2;\n}\n"
      "message LimitRangeSpec {\n  repeated LimitRangeItem limits = 1;\n}\n",
      &c.proto_map_fields, &other);
  AmbiguateMapFields(other, &c);
  return c;
}

TEST(TidyFileChecks, ProtoFieldsAreReadFromProtoText) {
  const FileContext c = ProtoContext();
  EXPECT_EQ(c.proto_map_fields, (std::set<std::string>{"labels", "limits", "requests"}));
  EXPECT_EQ(c.ambiguous_map_fields, (std::set<std::string>{"limits"}));
}

TEST(TidyFileChecks, LoopsOverProtobufMapsAreViolations) {
  const FileContext c = ProtoContext();
  for (const char* bad : {
           "for (const auto& [k, v] : pod.metadata().labels()) out.push_back(k);",
           "for (const auto& kv : p->spec().containers(0).resources().requests()) f(kv);",
           "for (auto& [name, q] : c.resources().limits()) f(name);",  // a pair: a map even if ambiguous
           "for (auto it = meta.labels().begin(); it != meta.labels().end(); ++it) f(it);",
           "void F(const google::protobuf::Map<std::string, std::string>& list) { for (const auto& e : list) g(e); }",
           "const auto& l = obj.metadata().labels(); for (const auto& e : l) g(e);",
       }) {
    const std::vector<Violation> v = CheckFile("cluster/x.cc", std::string("// h\n") + bad + "\n", c);
    EXPECT_TRUE(HasRule(v, "protobuf_map_iteration")) << bad << "\n" << Describe(v);
    for (const Violation& x : v) EXPECT_EQ(x.line, 2) << ToString(x);
  }
  for (const char* ok : {
           "for (const auto& [k, v] : Sorted(pod.metadata().labels())) out.push_back(k);",
           "const std::map<std::string, std::string> sorted(meta.labels().begin(), meta.labels().end());",
           "for (const api::LimitRangeItem& item : lr.spec().limits()) f(item);",  // repeated, not a map
           "auto it = meta.labels().find(key);",
           "for (const auto& [k, v] : labels_) f(k);",  // not known to be a protobuf map
           "// for (const auto& [k, v] : pod.metadata().labels()) f(k);",
           // A protobuf::Map parameter is followed only inside its function.
           "void F(const google::protobuf::Map<std::string, std::string>& map) {\n  Use(map);\n}\n"
           "void G(const std::map<std::string, std::string>& map) {\n  for (const auto& [k, v] : map) f(k);\n}",
       }) {
    const std::vector<Violation> v = CheckFile("cluster/x.cc", std::string(ok) + "\n", c);
    EXPECT_FALSE(HasRule(v, "protobuf_map_iteration")) << ok << "\n" << Describe(v);
  }
  // Outside the deterministic folders nothing is checked.
  EXPECT_TRUE(CheckFile("tools/x.cc", "for (const auto& [k, v] : m.labels()) f(k);\n", c).empty());
}

TEST(TidyFileChecks, LookupOnlyMarkerIsVerifiedNotTrusted) {
  const FileContext none;
  // Looked up only: the marker holds.
  EXPECT_TRUE(CheckFile("cluster/x.cc",
                        "std::unordered_map<int, int> memo_;  // tidy: lookup-only\n"
                        "int F(int k) { auto it = memo_.find(k); return it == memo_.end() ? 0 : it->second; }\n",
                        none)
                  .empty());
  // Iterated in the same file, in any of the ways the scan knows.
  for (const char* iteration : {"for (const auto& [k, v] : memo_) Use(k);", "for (auto& kv : st.memo_) Use(kv);",
                                "auto first = memo_.begin();", "std::ranges::for_each(memo_, Use);",
                                "auto b = std::begin(memo_);"}) {
    const std::vector<Violation> v = CheckFile(
        "cluster/x.cc", std::string("std::unordered_map<int, int> memo_;  // tidy: lookup-only\n") + iteration + "\n",
        none);
    ASSERT_EQ(v.size(), 1u) << iteration << "\n" << Describe(v);
    EXPECT_EQ(v[0].rule, "lookup_only_unverified");
    EXPECT_EQ(v[0].line, 1);
    EXPECT_NE(v[0].text.find("`memo_` is iterated at cluster/x.cc:2"), std::string::npos) << v[0].text;
  }
  // Declared in a header, iterated in a source file of the same directory.
  FileContext with_source;
  with_source.companions.emplace_back("cluster/store/x.cc", "void S::Dump() {\n  for (auto& e : by_key) Print(e);\n}\n");
  const std::vector<Violation> v = CheckFile(
      "cluster/store/x.h", "absl::flat_hash_map<Key, Node*, Key::Hash> by_key;  // tidy: lookup-only\n", with_source);
  ASSERT_EQ(v.size(), 1u) << Describe(v);
  EXPECT_NE(v[0].text.find("cluster/store/x.cc:2"), std::string::npos) << v[0].text;
  // A name that cannot be followed is not accepted on trust.
  EXPECT_TRUE(HasRule(CheckFile("cluster/x.h", "using Index = std::unordered_map<int, int>;  // tidy: lookup-only\n"),
                      "lookup_only_unverified"));
  EXPECT_TRUE(HasRule(CheckFile("cluster/x.h", "std::unordered_set<int> Build();  // tidy: lookup-only\n"),
                      "lookup_only_unverified"));
  // An include line with the marker declares nothing.
  EXPECT_TRUE(CheckFile("cluster/x.h", "#include <unordered_map>  // tidy: lookup-only (memo_)\n").empty());
}

TEST(TidyFileChecks, EveryFileRuleIsNamed) {
  EXPECT_EQ(FileRuleNames(), (std::vector<std::string>{"lookup_only_unverified", "protobuf_map_iteration"}));
}

TEST(TidyRules, UnorderedContainerAllowedWithLookupOnlyMarker) {
  EXPECT_TRUE(HasRule(CheckFile("cluster/x.cc", "std::unordered_map<int,int> m;\n"), "unordered_container"));
  EXPECT_TRUE(CheckFile("cluster/x.cc", "std::unordered_map<int,int> m;  // tidy: lookup-only\n").empty());
  EXPECT_TRUE(
      CheckFile("sim/x.h", "std::unordered_set<std::string> s;  //tidy:lookup-only (never iterated)\n").empty());
  // The marker must be on the same line, and it exempts nothing else.
  EXPECT_TRUE(HasRule(CheckFile("cluster/x.cc", "// tidy: lookup-only\nstd::unordered_map<int,int> m;\n"),
                      "unordered_container"));
  EXPECT_TRUE(HasRule(CheckFile("cluster/x.cc", "auto t = std::chrono::steady_clock::now();  // tidy: lookup-only\n"),
                      "steady_clock"));
}

TEST(TidyRules, ProseAndLiteralsDoNotTrigger) {
  EXPECT_TRUE(CheckFile("cluster/x.cc", "// sleep(1)\n").empty());
  EXPECT_TRUE(CheckFile("cluster/x.cc", "const char* s = \"rand()\";\n").empty());
  EXPECT_TRUE(CheckFile("cluster/x.cc", "/* never call time(nullptr) or\n   std::thread here */\nint x;\n").empty());
  EXPECT_TRUE(CheckFile("cluster/x.cc", "const char* s = \"a \\\" steady_clock \\\" b\";\n").empty());
  EXPECT_TRUE(CheckFile("cluster/x.cc", "const char* s = R\"x(\n getenv(\"HOME\") )\" \n)x\";\n").empty());
  EXPECT_TRUE(CheckFile("cluster/x.cc", "char q = '\"'; int x; // \" rand()\n").empty());
  // Digit separators are not character literals: the code after them is still checked.
  EXPECT_TRUE(HasRule(CheckFile("cluster/x.cc", "int64_t n = 1'000'000; int r = rand();\n"), "rand"));
  // Code after a closed comment or string on the same line is still checked.
  EXPECT_TRUE(HasRule(CheckFile("cluster/x.cc", "/* c */ int r = rand();\n"), "rand"));
  EXPECT_TRUE(HasRule(CheckFile("cluster/x.cc", "f(\"x\"); int r = rand();\n"), "rand"));
}

TEST(TidyRules, SimilarNamesDoNotTrigger) {
  for (const char* ok : {
           "Nanos t = clock->MonotonicTime();",
           "auto t = event.time();",
           "auto t = event->time();",
           "Nanos Event::time() const { return t_; }",
           "int64_t start_time(int x);",
           "auto r = random.Range(0, 10);",
           "uint64_t h = Random::HashString(s);",
           "world.random().Next64();",
           "int operand(int x);",
           "bool asleep(int x);",
           "std::map<std::string, int> m;",
           "std::set<uint64_t> s;",
           "std::map<int, Node*> by_id;",
           "std::hash<std::string>{}(s);",
           "host.Pause();",
           "std::string environment;",
           "void Threaded();",
           "Clock& clock() const { return *clock_; }",
           "Nanos t = env.clock().MonotonicNow();",
           "auto& c = env->clock();",
           "const RaftLog& log() const { return log_; }",
           "uint64_t a = raft_->log().applied();",
           "LogSink& log() { return log_; }",
           "void Log(int level, std::string_view message);",
           "int thread = 0;",
           "bool async = false;",
           "std::map<int, int> map;",
           "int exponent = 2;",
           "int64_t w = LnFixed32(n + 2);",
           "double r = std::sqrt(x);",
           "auto s = x.pow();",
           "uint64_t c = clock_cycles(x);",
           "using namespace std::chrono; auto d = milliseconds(5);",
           "namespace api = ksim::api;",
       }) {
    const std::vector<Violation> v = CheckFile("cluster/x.cc", std::string(ok) + "\n");
    EXPECT_TRUE(v.empty()) << ok << "\n" << Describe(v);
  }
}

TEST(TidyRules, OnlyCppSourcesInTheFourFoldersAreChecked) {
  EXPECT_TRUE(IsChecked("cluster/x.cc"));
  EXPECT_TRUE(IsChecked("cluster/store/x.h"));
  EXPECT_TRUE(IsChecked("sim/x.cpp"));
  EXPECT_TRUE(IsChecked("faults/x.hpp"));
  EXPECT_TRUE(IsChecked("scenarios/x.cc"));
  EXPECT_TRUE(IsChecked("./sim/x.cc"));
  EXPECT_FALSE(IsChecked("real/clock.cc"));
  EXPECT_FALSE(IsChecked("tools/ksim/main.cc"));
  EXPECT_FALSE(IsChecked("tests/sim/world_test.cc"));
  EXPECT_FALSE(IsChecked("cluster/demo/demo.proto"));
  EXPECT_FALSE(IsChecked("cluster/CMakeLists.txt"));
  EXPECT_FALSE(IsChecked("clusterx/x.cc"));
  EXPECT_TRUE(CheckFile("real/clock.cc", "auto t = std::chrono::steady_clock::now();\n").empty());
  EXPECT_TRUE(CheckFile("tools/ksim/main.cc", "auto t = std::chrono::steady_clock::now();\n").empty());
  EXPECT_TRUE(CheckFile("cluster/notes.md", "auto t = std::chrono::steady_clock::now();\n").empty());
}

TEST(TidyRules, ReportsLineNumbersAndEveryHit) {
  const std::string content =
      "#include <map>\n"
      "\n"
      "/* a block\n"
      "   comment */\n"
      "std::unordered_map<int, int> a;\n"
      "int r = rand(); auto t = std::chrono::steady_clock::now();\n";
  const std::vector<Violation> v = CheckFile("sim/x.cc", content);
  ASSERT_EQ(v.size(), 3u) << Describe(v);
  EXPECT_EQ(v[0].line, 5);
  EXPECT_EQ(v[0].rule, "unordered_container");
  EXPECT_EQ(v[1].line, 6);
  EXPECT_EQ(v[2].line, 6);
  EXPECT_TRUE(HasRule(v, "rand"));
  EXPECT_TRUE(HasRule(v, "steady_clock"));
}

TEST(TidyRules, StripKeepsLayout) {
  const std::string in = "a /* b\nc */ d // e\n\"f\" 'g' R\"(h\ni)\" j";
  const std::string out = StripCommentsAndLiterals(in);
  ASSERT_EQ(out.size(), in.size());
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), std::count(in.begin(), in.end(), '\n'));
  EXPECT_EQ(out, "a     \n     d     \n\" \" ' ' R\"  \n  \" j");
}

}  // namespace
}  // namespace ksim::tidy
