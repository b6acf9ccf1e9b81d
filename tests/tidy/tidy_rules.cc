#include "tests/tidy/tidy_rules.h"

#include <algorithm>
#include <fstream>
#include <map>
#include <ostream>
#include <sstream>

#include "tests/tidy/tidy_file_checks.h"

namespace ksim::tidy {
namespace {

bool IsIdentChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// The identifier or pp-number that ends right before `pos` (empty if none).
std::string_view TokenBefore(std::string_view s, size_t pos) {
  size_t b = pos;
  while (b > 0 && IsIdentChar(s[b - 1])) --b;
  return s.substr(b, pos - b);
}

bool IsLiteralPrefix(std::string_view t) { return t.empty() || t == "L" || t == "u" || t == "U" || t == "u8"; }

std::string Trim(std::string_view s) {
  size_t b = 0;
  size_t e = s.size();
  while (b < e && (s[b] == ' ' || s[b] == '\t' || s[b] == '\r')) ++b;
  while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t' || s[e - 1] == '\r')) --e;
  return std::string(s.substr(b, e - b));
}

std::vector<std::string_view> SplitLines(std::string_view s) {
  std::vector<std::string_view> lines;
  size_t start = 0;
  while (start <= s.size()) {
    const size_t nl = s.find('\n', start);
    if (nl == std::string_view::npos) {
      if (start < s.size()) lines.push_back(s.substr(start));
      break;
    }
    lines.push_back(s.substr(start, nl - start));
    start = nl + 1;
  }
  return lines;
}

Rule MakeRule(std::string name, std::string why, Rule::Kind kind, std::string needle, const char* pattern,
              bool cluster_only = false, bool lookup_marker_exempts = false) {
  Rule r;
  r.name = std::move(name);
  r.why = std::move(why);
  r.kind = kind;
  r.cluster_only = cluster_only;
  r.lookup_marker_exempts = lookup_marker_exempts;
  r.needle = std::move(needle);
  r.pattern = std::regex(pattern, std::regex::ECMAScript | std::regex::optimize);
  return r;
}

Rule WithUnqualified(Rule rule, const char* bare_pattern) {
  rule.unqualified = std::regex(bare_pattern, std::regex::ECMAScript | std::regex::optimize);
  return rule;
}

const std::regex& IncludeDirective() {
  static const std::regex re(R"(^\s*#\s*include\b)", std::regex::ECMAScript | std::regex::optimize);
  return re;
}

const std::regex& LookupOnlyMarker() {
  static const std::regex re(R"(//\s*tidy:\s*lookup-only\b)", std::regex::ECMAScript | std::regex::optimize);
  return re;
}

std::string_view Normalize(std::string_view path) {
  while (path.substr(0, 2) == "./") path.remove_prefix(2);
  return path;
}

bool ReadWholeFile(const std::filesystem::path& path, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::ostringstream content;
  content << in.rdbuf();
  *out = content.str();
  return true;
}

}  // namespace

std::string ToString(const Violation& v) {
  std::ostringstream os;
  os << v.path << ":" << v.line << ": [" << v.rule << "] " << v.text;
  return os.str();
}

std::ostream& operator<<(std::ostream& os, const Violation& v) { return os << ToString(v); }

const std::vector<Rule>& Rules() {
  using K = Rule::Kind;
  static const std::vector<Rule> rules = [] {
    std::vector<Rule> r;
    // --- real time: only a Clock from the Env (or the World) tells the time ---
    r.push_back(MakeRule("system_clock", "reads real wall-clock time; use Env::clock", K::kCode, "system_clock",
                         R"(\bsystem_clock\b)"));
    r.push_back(MakeRule("steady_clock", "reads real monotonic time; use Env::clock", K::kCode, "steady_clock",
                         R"(\bsteady_clock\b)"));
    r.push_back(MakeRule("high_resolution_clock", "reads real time; use Env::clock", K::kCode,
                         "high_resolution_clock", R"(\bhigh_resolution_clock\b)"));
    r.push_back(MakeRule("other_std_clock", "reads real time; use Env::clock", K::kCode, "_clock",
                         R"(\b(utc|tai|gps|file)_clock\b)"));
    r.push_back(MakeRule("gettimeofday", "reads real time; use Env::clock", K::kCode, "gettimeofday",
                         R"(\bgettimeofday\b)"));
    r.push_back(MakeRule("clock_gettime", "reads real time; use Env::clock", K::kCode, "clock_gettime",
                         R"(\bclock_gettime\b)"));
    // The C time() call, bare or qualified as std::time / ::std::time / ::time; member calls
    // such as x.time(), p->time() or Foo::time() are someone's own function.
    r.push_back(MakeRule("time_call", "C time() reads real time; use Env::clock", K::kCode, "time",
                         R"((?:^|[^\w.:>])(?:(?:::\s*)?std\s*::\s*|::\s*)?time\s*\()"));
    // C clock() (processor time) where a call can stand: after an operator, an opening
    // bracket, a separator or `return`; `Clock& clock() const` declares an accessor.
    r.push_back(MakeRule("clock_call", "C clock() reads processor time; use Env::clock", K::kCode, "clock",
                         R"((?:^\s*|[=(,{;!?+\-/%|^~\[]\s*|\breturn\s+)(?:(?:::\s*)?std\s*::\s*|::\s*)?clock\s*\(\s*\))"));
    r.push_back(MakeRule("c_time_functions", "converts or reads real time through the C library; use Env::clock",
                         K::kCode, "time",
                         R"(\b(?:localtime|localtime_r|gmtime|gmtime_r|mktime|ctime|ctime_r|asctime|timespec_get|ftime)\s*\()"));
    r.push_back(MakeRule("absl_time", "reads real time or sleeps through Abseil; use Env::clock", K::kCode, "absl",
                         R"(\babsl\s*::\s*(?:Now|GetCurrentTimeNanos|SleepFor)\b)"));
    r.push_back(MakeRule("cycle_counter", "reads the CPU's cycle counter, which differs on every run", K::kCode, "rdtsc",
                         R"(\b(?:_?_rdtscp?|__builtin_ia32_rdtscp?)\b)"));
    r.push_back(MakeRule("cycle_counter", "reads the CPU's cycle counter, which differs on every run", K::kCode,
                         "readcyclecounter", R"(\b__builtin_readcyclecounter\b)"));
    r.push_back(MakeRule("inline_asm", "inline assembly can read the cycle counter or the clock unseen", K::kCode,
                         "asm", R"(\b(?:asm|__asm__|__asm)\b\s*(?:volatile\b|__volatile__\b|goto\b)?\s*\()"));
    // --- sleeping blocks the only thread ---
    r.push_back(MakeRule("sleep", "blocks the event loop; schedule a timer instead", K::kCode, "sleep",
                         R"(\b(?:sleep|usleep|nanosleep)\s*\()"));
    r.push_back(MakeRule("sleep_for_until", "blocks the event loop; schedule a timer instead", K::kCode, "sleep_",
                         R"(\bsleep_(?:for|until)\b)"));
    // --- threads: one thread, one event at a time ---
    r.push_back(WithUnqualified(
        MakeRule("std_thread", "spawns or inspects threads; everything runs on the event loop", K::kCode, "thread",
                 R"(\bstd\s*::\s*(?:thread|jthread|this_thread)\b)"),
        R"((?:^|[^\w.:>])(?:thread|jthread|this_thread)\b)"));
    r.push_back(WithUnqualified(MakeRule("std_async", "runs work on another thread", K::kCode, "async",
                                         R"(\bstd\s*::\s*async\b)"),
                                R"((?:^|[^\w.:>])async\s*\()"));
    r.push_back(MakeRule("pthread", "spawns or controls threads", K::kCode, "pthread_", R"(\bpthread_\w+)"));
    r.push_back(MakeRule("include_thread",
                         "thread, lock and future headers have no place in deterministic code (one thread)",
                         K::kInclude, "include",
                         R"(#\s*include\s*<\s*(?:thread|future|mutex|shared_mutex|condition_variable|stop_token|semaphore|latch|barrier|pthread\.h)\s*>)"));
    // --- randomness comes from ksim::Random, seeded by the world ---
    r.push_back(MakeRule("rand", "unseeded global randomness; use Env::random", K::kCode, "rand",
                         R"(\b(?:rand|rand_r|drand48|lrand48|mrand48)\s*\()"));
    r.push_back(MakeRule("srand", "seeds global randomness; use Env::random", K::kCode, "srand",
                         R"(\bsrand(?:48)?\b)"));
    r.push_back(MakeRule("random_device", "nondeterministic entropy; use Env::random", K::kCode, "random_device",
                         R"(\brandom_device\b)"));
    r.push_back(WithUnqualified(
        MakeRule("std_random_engine", "a generator the world does not seed; use ksim::Random", K::kCode, "std",
                 R"(\bstd\s*::\s*(?:mt19937(?:_64)?|minstd_rand0?|default_random_engine|ranlux\w*|knuth_b)\b)"),
        R"((?:^|[^\w.:>])(?:mt19937(?:_64)?|minstd_rand0?|default_random_engine|ranlux\w*|knuth_b)\b)"));
    r.push_back(MakeRule("os_entropy", "the operating system's entropy differs on every run; use Env::random",
                         K::kCode, "rand", R"(\b(?:getrandom|arc4random(?:_buf|_uniform)?)\s*\()"));
    r.push_back(MakeRule("os_entropy", "the operating system's entropy differs on every run; use Env::random",
                         K::kCode, "getentropy", R"(\bgetentropy\s*\()"));
    r.push_back(MakeRule("os_entropy", "the operating system's entropy differs on every run; use Env::random",
                         K::kInclude, "random", R"(#\s*include\s*<\s*sys/random\.h\s*>)"));
    // The C library's transcendental functions are not correctly rounded, and their last
    // bits differ between libm versions: a score computed with them is not the same on
    // every machine (sqrt and the basic operations are exact under IEEE 754).
    r.push_back(WithUnqualified(
        MakeRule("libm_transcendental",
                 "log/exp/pow/trigonometry differ in the last bits between C libraries; use integer arithmetic "
                 "(e.g. cluster/scheduler/plugins/fixed_log.h)",
                 K::kCode, "",
                 R"((?:\bstd\s*::\s*|(?:^|[^\w.>:])::\s*|(?:^\s*|[=(,{;!?+\-*/%<>|&\[]\s*|\breturn\s+))(?:log|log2|log10|log1p|exp|exp2|expm1|pow|sin|cos|tan|asin|acos|atan|atan2|sinh|cosh|tanh|asinh|acosh|atanh|cbrt|hypot|erf|erfc|lgamma|tgamma)[fl]?\s*\(\s*[^)\s])"),
        R"((?:^|[^\w.:>])(?:log|log2|log10|log1p|exp|exp2|expm1|pow|sin|cos|tan|asin|acos|atan|atan2|sinh|cosh|tanh|asinh|acosh|atanh|cbrt|hypot|erf|erfc|lgamma|tgamma)\s*\(\s*[^)\s])"));
    r.push_back(MakeRule("std_namespace_alias", "an alias of std hides std:: names from these rules", K::kCode,
                         "namespace", R"(\bnamespace\s+\w+\s*=\s*(?:::\s*)?std\s*;)"));
    // --- the process environment differs between machines and runs ---
    r.push_back(MakeRule("getenv", "reads the process environment; pass configuration explicitly", K::kCode,
                         "getenv", R"(\b(?:secure_)?getenv\b)"));
    r.push_back(MakeRule("environ", "reads the process environment; pass configuration explicitly", K::kCode,
                         "environ", R"(\benviron\b)"));
    // The machine's own zone ($TZ, /etc/localtime); a CronJob names its zone (CronTimeZone).
    r.push_back(MakeRule("current_zone", "reads the machine's local time zone; load a named zone", K::kCode,
                         "current_zone", R"(\bcurrent_zone\s*\()"));
    // --- iteration order and pointer values must not reach behaviour ---
    r.push_back(MakeRule("unordered_container",
                         "iteration order is unspecified (std's unordered and absl's hash containers); use "
                         "std::map/std::set, or mark a lookup-only use with `// tidy: lookup-only`",
                         K::kCode, "_",
                         R"(\b(?:unordered_(?:map|set|multimap|multiset)|(?:flat|node)_hash_(?:map|set))\b)",
                         /*cluster_only=*/false, /*lookup_marker_exempts=*/true));
    r.push_back(WithUnqualified(MakeRule("hash_of_pointer", "hashes a pointer value, which differs between runs",
                                         K::kCode, "hash", R"(\bstd\s*::\s*hash\s*<[^>]*\*\s*>)"),
                                R"((?:^|[^\w.:>])hash\s*<[^>]*\*\s*>)"));
    r.push_back(WithUnqualified(MakeRule("order_by_pointer", "orders by pointer value, which differs between runs",
                                         K::kCode, "*", R"(\bstd\s*::\s*(?:less|greater)\s*<[^>]*\*\s*>)"),
                                R"((?:^|[^\w.:>])(?:less|greater)\s*<[^>]*\*\s*>)"));
    r.push_back(WithUnqualified(
        MakeRule("pointer_keyed_container", "a map or set keyed by pointer iterates in address order", K::kCode, "*",
                 R"(\bstd\s*::\s*(?:multi)?(?:map|set)\s*<\s*(?:const\s+)?[\w:]+\s*\*)"),
        R"((?:^|[^\w.:>])(?:multi)?(?:map|set)\s*<\s*(?:const\s+)?[\w:]+\s*\*)"));
    // --- protobuf maps iterate in an order seeded per instance (rdtsc, addresses) ---
    r.push_back(MakeRule("protobuf_plain_serialize",
                         "plain protobuf serialization writes map fields in a per-run order; use "
                         "SerializeDeterministic (cluster/env/wire.h)",
                         K::kCode, "Serialize", R"((?:\.|->)\s*Serialize(?:Partial)?(?:AsString|ToString|ToArray)\s*\()"));
    // --- layering ---
    r.push_back(MakeRule("include_real", "deterministic code must not include the real backends", K::kInclude,
                         "real/", R"(#\s*include\s*["<]\s*real/)"));
    r.push_back(MakeRule("cluster_includes_upper_layer",
                         "cluster/ sees the world only through cluster/env; it must not include sim/, faults/, "
                         "scenarios/, tools/ or reports/",
                         K::kInclude, "include", R"(#\s*include\s*["<]\s*(?:sim|faults|scenarios|tools|reports)/)",
                         /*cluster_only=*/true));
    return r;
  }();
  return rules;
}

const std::vector<std::string>& DeterministicFolders() {
  static const std::vector<std::string> folders = {"cluster", "sim", "faults", "scenarios"};
  return folders;
}

bool IsChecked(std::string_view relative_path) {
  const std::string_view p = Normalize(relative_path);
  bool source = false;
  for (const char* ext : {".h", ".hh", ".hpp", ".hxx", ".cc", ".cpp", ".cxx", ".c", ".inc", ".ipp", ".tcc", ".ixx",
                          ".cppm"}) {
    source = source || p.ends_with(ext);
  }
  if (!source) return false;
  for (const std::string& folder : DeterministicFolders()) {
    if (p.size() > folder.size() && p.starts_with(folder) && p[folder.size()] == '/') return true;
  }
  return false;
}

std::string StripCommentsAndLiterals(std::string_view in) {
  std::string out(in);
  auto blank = [&out](size_t i) {
    if (out[i] != '\n') out[i] = ' ';
  };
  const size_t n = in.size();
  // Blanks a quoted literal's body from the opening quote at `open`, honouring escapes;
  // returns the index after the closing quote (or the end of the line).
  auto skip_quoted = [&](size_t open, char quote) {
    size_t k = open + 1;
    while (k < n && in[k] != quote && in[k] != '\n') {
      if (in[k] == '\\' && k + 1 < n) {
        blank(k);
        if (in[k + 1] != '\n') blank(k + 1);
        k += 2;
        continue;
      }
      blank(k++);
    }
    if (k < n && in[k] == quote) ++k;
    return k;
  };
  size_t i = 0;
  while (i < n) {
    const char c = in[i];
    if (c == '/' && i + 1 < n && in[i + 1] == '/') {
      // Line comment; a backslash-newline continues it onto the next line.
      while (i < n && in[i] != '\n') {
        if (in[i] == '\\' && i + 1 < n && in[i + 1] == '\n') {
          blank(i);
          i += 2;
          continue;
        }
        blank(i);
        ++i;
      }
      continue;
    }
    if (c == '/' && i + 1 < n && in[i + 1] == '*') {
      blank(i);
      blank(i + 1);
      i += 2;
      while (i < n && !(in[i] == '*' && i + 1 < n && in[i + 1] == '/')) blank(i++);
      if (i < n) {
        blank(i);
        blank(i + 1);
        i += 2;
      }
      continue;
    }
    if (c == '"') {
      const std::string_view prefix = TokenBefore(in, i);
      const bool raw = prefix == "R" || prefix == "LR" || prefix == "uR" || prefix == "UR" || prefix == "u8R";
      if (raw) {
        // R"delim( ... )delim"
        const size_t open = in.find('(', i + 1);
        if (open == std::string_view::npos) {
          ++i;
          continue;
        }
        const std::string close = ")" + std::string(in.substr(i + 1, open - i - 1)) + "\"";
        const size_t end = in.find(close, open + 1);
        const size_t stop = end == std::string_view::npos ? n : end + close.size() - 1;  // index of closing quote
        for (size_t k = i + 1; k < stop && k < n; ++k) blank(k);
        i = stop + 1;
        continue;
      }
      i = skip_quoted(i, '"');
      continue;
    }
    if (c == '\'') {
      const std::string_view before = TokenBefore(in, i);
      // 1'000'000: a digit separator inside a number, not a character literal.
      if (!before.empty() && IsDigit(before.front())) {
        ++i;
        continue;
      }
      if (!IsLiteralPrefix(before)) {
        ++i;
        continue;
      }
      i = skip_quoted(i, '\'');
      continue;
    }
    ++i;
  }
  return out;
}

std::vector<Violation> CheckFile(std::string_view relative_path, std::string_view content) {
  return CheckFile(relative_path, content, FileContext{});
}

std::vector<Violation> CheckFile(std::string_view relative_path, std::string_view content,
                                 const FileContext& context) {
  std::vector<Violation> out;
  const std::string_view path = Normalize(relative_path);
  if (!IsChecked(path)) return out;
  const bool in_cluster = path.starts_with("cluster/");
  const std::string stripped = StripCommentsAndLiterals(content);
  const std::vector<std::string_view> raw_lines = SplitLines(content);
  const std::vector<std::string_view> code_lines = SplitLines(stripped);
  static const std::regex using_std(R"(\busing\s+namespace\s+(?:::\s*)?std\s*;)",
                                    std::regex::ECMAScript | std::regex::optimize);
  bool std_open = false;  // a `using namespace std` directive came before or on this line
  for (size_t i = 0; i < raw_lines.size() && i < code_lines.size(); ++i) {
    const std::string_view raw = raw_lines[i];
    const std::string_view code = code_lines[i];
    if (!std_open && code.find("namespace") != std::string_view::npos) {
      std_open = std::regex_search(code.begin(), code.end(), using_std);
    }
    const bool include = std::regex_search(code.begin(), code.end(), IncludeDirective());
    bool marker_checked = false;
    bool has_marker = false;
    for (const Rule& rule : Rules()) {
      if (rule.cluster_only && !in_cluster) continue;
      std::string_view text;
      if (rule.kind == Rule::Kind::kInclude) {
        if (!include) continue;
        text = raw;
      } else {
        text = code;
      }
      const bool bare = std_open && rule.unqualified.has_value() &&
                        std::regex_search(text.begin(), text.end(), *rule.unqualified);
      if (!bare) {
        if (!rule.needle.empty() && text.find(rule.needle) == std::string_view::npos) continue;
        if (!std::regex_search(text.begin(), text.end(), rule.pattern)) continue;
      }
      // Two patterns of one rule on one line are one violation.
      if (!out.empty() && out.back().line == static_cast<int>(i + 1) && out.back().rule == rule.name) continue;
      if (rule.lookup_marker_exempts) {
        if (!marker_checked) {
          has_marker = std::regex_search(raw.begin(), raw.end(), LookupOnlyMarker());
          marker_checked = true;
        }
        if (has_marker) {
          // Verified, not trusted: the declared name is never iterated.
          std::string why = VerifyLookupOnly(path, code, stripped, context);
          if (!why.empty()) {
            out.push_back(Violation{std::string(path), static_cast<int>(i + 1), "lookup_only_unverified",
                                    Trim(raw) + "  <- " + why});
          }
          continue;
        }
      }
      out.push_back(Violation{std::string(path), static_cast<int>(i + 1), rule.name, Trim(raw)});
    }
  }
  for (Violation& v : CheckProtobufMapIteration(path, code_lines, raw_lines, context)) out.push_back(std::move(v));
  std::stable_sort(out.begin(), out.end(), [](const Violation& a, const Violation& b) { return a.line < b.line; });
  return out;
}

std::vector<std::string> ListCheckedFiles(const std::filesystem::path& root) {
  namespace fs = std::filesystem;
  std::vector<std::string> files;
  for (const std::string& folder : DeterministicFolders()) {
    const fs::path dir = root / folder;
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) continue;
    for (auto it = fs::recursive_directory_iterator(dir, fs::directory_options::skip_permission_denied, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (!it->is_regular_file(ec)) continue;
      const std::string rel = fs::relative(it->path(), root, ec).generic_string();
      if (!ec && IsChecked(rel)) files.push_back(rel);
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

std::vector<Violation> CheckTree(const std::filesystem::path& root) {
  namespace fs = std::filesystem;
  std::vector<Violation> all;
  // Protobuf map field names, from every .proto file of the tree.
  FileContext base;
  std::set<std::string> other_fields;
  std::error_code ec;
  std::vector<std::string> protos;
  for (auto it = fs::recursive_directory_iterator(root, fs::directory_options::skip_permission_denied, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    const std::string rel = fs::relative(it->path(), root, ec).generic_string();
    if (rel.starts_with("build") || rel.starts_with(".")) {
      if (it->is_directory(ec)) it.disable_recursion_pending();
      continue;
    }
    if (it->is_regular_file(ec) && rel.ends_with(".proto")) protos.push_back(rel);
  }
  std::sort(protos.begin(), protos.end());
  for (const std::string& rel : protos) {
    std::string text;
    if (ReadWholeFile(root / rel, &text)) CollectProtoFields(text, &base.proto_map_fields, &other_fields);
  }
  AmbiguateMapFields(other_fields, &base);

  std::map<std::string, std::string> contents;  // every checked file
  for (const std::string& rel : ListCheckedFiles(root)) {
    std::string text;
    if (!ReadWholeFile(root / rel, &text)) {
      all.push_back(Violation{rel, 0, "unreadable", "could not open the file"});
      continue;
    }
    contents.emplace(rel, std::move(text));
  }
  for (const auto& [rel, text] : contents) {
    FileContext context = base;
    const std::string dir = rel.substr(0, rel.rfind('/') + 1);
    for (const auto& [other, other_text] : contents) {
      if (other != rel && other.starts_with(dir) && other.find('/', dir.size()) == std::string::npos) {
        context.companions.emplace_back(other, other_text);
      }
    }
    std::vector<Violation> v = CheckFile(rel, text, context);
    all.insert(all.end(), std::make_move_iterator(v.begin()), std::make_move_iterator(v.end()));
  }
  return all;
}

}  // namespace ksim::tidy
