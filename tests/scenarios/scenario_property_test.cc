// Fuzz property: random mutations of valid scenario files (every example and the full
// file) never crash the loader; each either loads or gives one error that starts
// "<file>:<line>:<column>: " with a line inside the file (or just past its end); loading
// the same text twice gives the same answer; and what loads, FormatScenario writes to a
// file that loads to the same values.
#include <gtest/gtest.h>
#include <rapidcheck.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "scenarios/scenario_loader.h"
#include "scenarios/scenario_writer.h"
#include "tests/property_cases.h"
#include "tests/scenarios/scenario_test_files.h"

namespace ksim::scenarios {
namespace {

struct Source {
  std::string text;
  std::string dir;  // manifest paths resolve here
};

std::vector<Source> Sources() {
  std::vector<Source> sources = {{testing::kFullScenario, ""}};
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::directory_iterator(KSIM_EXAMPLES_DIR)) {
    if (e.path().extension() == ".yaml") files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  for (const auto& f : files) {
    std::ifstream in(f);
    std::stringstream text;
    text << in.rdbuf();
    sources.push_back({text.str(), KSIM_EXAMPLES_DIR});
  }
  return sources;
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::stringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::string Join(const std::vector<std::string>& lines) {
  std::string text;
  for (const std::string& l : lines) text += l + "\n";
  return text;
}

// Tokens that make a YAML file mean something else, or nothing.
const std::vector<std::string> kTokens = {
    "",    " ",   ":",     "- ",   "[",      "]",     "{",     "}",         ",",    "&a ",   "*a",       "!!int ",
    "'",   "\"",  "#",     "---",  "|",      ">",     "null",  "true",      "-1",   "0",     "1e999",    "99999999999999999999",
    "1ms", "-5s", "cp-9",  "web-1", "workers", "at: 1s", "heal:", "crash:",   "host:", "\t",   "\xc3\x28", "~",
    "?",   "%",   "@",     "1.5",  "9h",     "zone",  "apply:", "inline: |", "  ",   "within: 1s"};

enum class Mutation { kDeleteLine, kDuplicateLine, kSwapLines, kInsertToken, kReplaceLine, kTruncate, kIndent, kDedent };

std::string Mutate(const std::string& text) {
  std::vector<std::string> lines = Lines(text);
  const int count = *rc::gen::inRange(1, 4);
  for (int m = 0; m < count && !lines.empty(); ++m) {
    const size_t i = *rc::gen::inRange<size_t>(0, lines.size());
    std::string& line = lines[i];
    switch (*rc::gen::element(Mutation::kDeleteLine, Mutation::kDuplicateLine, Mutation::kSwapLines,
                              Mutation::kInsertToken, Mutation::kReplaceLine, Mutation::kTruncate, Mutation::kIndent,
                              Mutation::kDedent)) {
      case Mutation::kDeleteLine: lines.erase(lines.begin() + static_cast<std::ptrdiff_t>(i)); break;
      case Mutation::kDuplicateLine: lines.insert(lines.begin() + static_cast<std::ptrdiff_t>(i), line); break;
      case Mutation::kSwapLines: std::swap(line, lines[*rc::gen::inRange<size_t>(0, lines.size())]); break;
      case Mutation::kInsertToken: {
        const size_t at = *rc::gen::inRange<size_t>(0, line.size() + 1);
        line.insert(at, *rc::gen::elementOf(kTokens));
        break;
      }
      case Mutation::kReplaceLine: line = *rc::gen::elementOf(kTokens); break;
      case Mutation::kTruncate: line.resize(*rc::gen::inRange<size_t>(0, line.size() + 1)); break;
      case Mutation::kIndent: line = "  " + line; break;
      case Mutation::kDedent:
        if (line.size() >= 2 && line[0] == ' ') line = line.substr(2);
        break;
    }
  }
  return Join(lines);
}

void CheckMutatedFilesLoadOrFailWithALine(int cases) {
  const std::vector<Source> sources = Sources();
  const std::regex located(R"(^f\.yaml:(\d+):(\d+): .+)");
  ksim::testing::CheckPropertyCases("ScenarioFileMutations", cases, [&] {
    const Source& source = *rc::gen::elementOf(sources);
    const std::string text = Mutate(source.text);
    Scenario a;
    Scenario b;
    const Status first = ParseScenario(text, "f.yaml", source.dir, &a);
    const Status second = ParseScenario(text, "f.yaml", source.dir, &b);
    RC_ASSERT(first.ok() == second.ok());
    RC_ASSERT(first.message() == second.message());
    RC_TAG(first.ok() ? "loads" : "error");
    if (first.ok()) {
      RC_ASSERT(a.name == b.name);
      RC_ASSERT(a.timeline.size() == b.timeline.size());
      RC_ASSERT(a.duration > Nanos(0));
      for (const TimelineEntry& e : a.timeline) RC_ASSERT(e.at <= a.duration);
      // What loads can be written, and the written file loads to the same values.
      const std::string written = FormatScenario(a);
      Scenario reloaded;
      const Status status = ParseScenario(written, "written.yaml", "", &reloaded);
      RC_ASSERT(status.ok());
      RC_ASSERT(FormatScenario(reloaded) == written);
      return;
    }
    RC_ASSERT(first.Is(Status::Code::kInvalidArgument));
    std::smatch m;
    RC_ASSERT(std::regex_search(first.message(), m, located));
    const int line = std::stoi(m[1].str());
    const int lines = static_cast<int>(std::count(text.begin(), text.end(), '\n'));
    RC_ASSERT(line >= 1);
    RC_ASSERT(line <= lines + 1);
    RC_ASSERT(std::stoi(m[2].str()) >= 1);
  });
}

TEST(ScenarioFileProperty, MutatedFilesLoadOrFailWithALine) { CheckMutatedFilesLoadOrFailWithALine(400); }

}  // namespace
}  // namespace ksim::scenarios
