// Opens the HTML report in headless Chromium (Debian package chromium; scripts/setup.sh
// --test installs it) and checks the DOM the browser built: the SVG shapes are there, the
// hostile text stayed text, and the browser logged no console message. Skipped only when
// no Chromium is on PATH. About 2-3 s of wall time (one browser start).
#include <gtest/gtest.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "reports/html_report.h"
#include "reports/run_record_json.h"
#include "tests/reports/sample_record.h"

namespace ksim::reports {
namespace {

namespace fs = std::filesystem;

std::string FindChromium() {
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path ? path : "/usr/bin:/bin");
  for (std::string dir; std::getline(dirs, dir, ':');) {
    for (const char* name : {"chromium", "chromium-browser", "google-chrome"}) {
      fs::path candidate = fs::path(dir) / name;
      if (!dir.empty() && access(candidate.c_str(), X_OK) == 0) return candidate.string();
    }
  }
  return "";
}

size_t Occurrences(const std::string& haystack, const std::string& needle) {
  size_t n = 0;
  for (size_t at = haystack.find(needle); at != std::string::npos; at = haystack.find(needle, at + 1)) ++n;
  return n;
}

std::string ReadAll(const fs::path& file) {
  std::ifstream in(file);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(HtmlChromium, TheBrowserBuildsTheSvgShapesAndLogsNoError) {
  std::string chromium = FindChromium();
  if (chromium.empty()) {
    GTEST_SKIP() << "chromium is not installed (Debian package chromium; `bash scripts/setup.sh --test` installs it)";
  }
  fs::path dir = fs::temp_directory_path() / ("ksim_reports_chromium_" + std::to_string(getpid()));
  fs::create_directories(dir);
  std::string error;
  ASSERT_TRUE(WriteTextFile((dir / "report.html").string(), RunRecordToHtml(testing::SampleRecord(true)), &error))
      << error;
  // --no-sandbox: CI runs tests as root, where Chromium refuses its sandbox. Every host name
  // resolves to nothing, so a page that fetched anything external would show it missing.
  std::string command = "timeout 60 '" + chromium +
                        "' --headless --no-sandbox --disable-gpu --user-data-dir='" + (dir / "profile").string() +
                        "' --enable-logging=stderr --v=0 --host-resolver-rules='MAP * ~NOTFOUND' --dump-dom 'file://" +
                        (dir / "report.html").string() + "' > '" + (dir / "dom.html").string() + "' 2> '" +
                        (dir / "stderr.txt").string() + "'";
  int status = std::system(command.c_str());
  std::string dom = ReadAll(dir / "dom.html");
  std::string log = ReadAll(dir / "stderr.txt");
  fs::remove_all(dir);
  ASSERT_EQ(status, 0) << command << "\n" << log;
  // The browser's HTML parser sees the shapes the renderer wrote (and no more: escaped
  // text that closed an element early would add or drop some).
  EXPECT_EQ(Occurrences(dom, "<rect class=\"fault-band"), 6u) << dom.substr(0, 2000);
  EXPECT_EQ(Occurrences(dom, "<polyline class=\"series-line\""), 4u);
  EXPECT_EQ(Occurrences(dom, "<circle class=\"leader-change\""), 6u);
  EXPECT_EQ(Occurrences(dom, "<rect class=\"hist-bar\""), 40u);
  EXPECT_EQ(Occurrences(dom, "<svg "), 2u * (1 + 2 + 2));  // per seed: timeline, 2 series, 2 histograms
  EXPECT_EQ(Occurrences(dom, "<section class=\"seed\""), 2u);
  EXPECT_EQ(Occurrences(dom, "<script"), 0u);
  EXPECT_EQ(Occurrences(dom, "<textarea"), 0u);
  EXPECT_NE(dom.find("&lt;script&gt;alert('x')&lt;/script&gt;"), std::string::npos);
  EXPECT_EQ(Occurrences(log, "CONSOLE"), 0u) << log;
}

}  // namespace
}  // namespace ksim::reports
