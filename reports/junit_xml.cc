#include "reports/junit_xml.h"

#include <fmt/format.h>

#include "reports/markup_escape.h"

namespace ksim::reports {
namespace {

std::string Seconds(int64_t ns) { return fmt::format("{:.3f}", static_cast<double>(ns) / 1e9); }

struct Counts {
  size_t tests = 0, failures = 0, errors = 0;
  int64_t wall_ns = 0;
};

Counts Count(const RunRecord& record) {
  Counts c;
  for (const SeedRun& run : record.seeds) {
    c.wall_ns += run.wall_ns;
    if (run.verdict == Verdict::kError) {
      c.tests += run.expectations.empty() ? 1 : run.expectations.size();
      c.errors += run.expectations.empty() ? 1 : run.expectations.size();
      continue;
    }
    c.tests += run.expectations.size();
    for (const ExpectationResult& e : run.expectations) c.failures += e.passed ? 0 : 1;
  }
  return c;
}

void AppendTestcase(std::string& out, const std::string& classname, const std::string& name, int64_t wall_ns) {
  out += fmt::format("    <testcase name=\"{}\" classname=\"{}\" time=\"{}\"", EscapeMarkup(name),
                     EscapeMarkup(classname), Seconds(wall_ns));
}

void AppendSuite(std::string& out, const RunRecord& record) {
  Counts c = Count(record);
  std::string classname = "ksim." + record.scenario_name;
  out += fmt::format("  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"0\" time=\"{}\">\n",
                     EscapeMarkup(record.scenario_name), c.tests, c.failures, c.errors, Seconds(c.wall_ns));
  out += "    <properties>\n";
  out += fmt::format("      <property name=\"scenario_file\" value=\"{}\"/>\n", EscapeMarkup(record.scenario_file));
  for (const auto& [k, v] : record.attributes) {
    out += fmt::format("      <property name=\"{}\" value=\"{}\"/>\n", EscapeMarkup(k), EscapeMarkup(v));
  }
  out += "    </properties>\n";
  std::string replay;
  for (const SeedRun& run : record.seeds) {
    std::string seed = fmt::format(" [seed {}]", run.seed);
    if (run.verdict != Verdict::kPass && !run.replay_command.empty()) replay += run.replay_command + "\n";
    if (run.verdict == Verdict::kError) {
      // No expectation was judged: each is reported as an error of the run.
      std::vector<std::string> names;
      for (const ExpectationResult& e : run.expectations) names.push_back(e.name);
      if (names.empty()) names.push_back("run");
      for (const std::string& name : names) {
        AppendTestcase(out, classname, name + seed, 0);
        out += fmt::format(">\n      <error message=\"{}\" type=\"error\">{}</error>\n    </testcase>\n",
                           EscapeMarkup(run.error), EscapeMarkup(run.replay_command));
      }
      continue;
    }
    for (const ExpectationResult& e : run.expectations) {
      AppendTestcase(out, classname, e.name + seed, 0);
      if (e.passed) {
        out += "/>\n";
        continue;
      }
      std::string details = e.message + "\n";
      if (e.first_violation_ns) details += "first violated at t=" + Seconds(*e.first_violation_ns) + "s\n";
      if (!e.source.empty()) details += "expectation at " + e.source + "\n";
      if (!run.replay_command.empty()) details += "replay: " + run.replay_command + "\n";
      out += fmt::format(">\n      <failure message=\"{}\" type=\"{}\">{}</failure>\n    </testcase>\n",
                         EscapeMarkup(e.message), WhenName(e.when), EscapeMarkup(details));
    }
  }
  if (!replay.empty()) out += "    <system-out>" + EscapeMarkup(replay) + "</system-out>\n";
  out += "  </testsuite>\n";
}

}  // namespace

std::string RunRecordsToJUnitXml(const std::vector<RunRecord>& records) {
  Counts total;
  for (const RunRecord& r : records) {
    Counts c = Count(r);
    total.tests += c.tests, total.failures += c.failures, total.errors += c.errors, total.wall_ns += c.wall_ns;
  }
  std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  out += fmt::format("<testsuites name=\"ksim\" tests=\"{}\" failures=\"{}\" errors=\"{}\" time=\"{}\">\n", total.tests,
                     total.failures, total.errors, Seconds(total.wall_ns));
  for (const RunRecord& r : records) AppendSuite(out, r);
  out += "</testsuites>\n";
  return out;
}

}  // namespace ksim::reports
