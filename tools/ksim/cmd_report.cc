// `ksim report compare BASE NEW [--threshold name=pct ...]`: regressions between two run
// records (exit 1 on one, 0 otherwise, 2 on bad input); `ksim report render RECORD.json
// --html OUT --junit OUT`: render a record written earlier; `ksim report merge A.json B.json ...
// --out DIR`: one report of several records (the shards of `ksim fuzz --shard`) (docs/REPORTS.md).
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "reports/compare.h"
#include "reports/html_report.h"
#include "reports/junit_xml.h"
#include "reports/report_dir.h"
#include "reports/run_record_merge.h"
#include "reports/run_record_json.h"
#include "tools/ksim/commands.h"

namespace ksim::tools {
namespace {

struct ReportFlags {
  std::string base, now;
  std::vector<std::string> thresholds;
  double default_threshold_pct = 10;
  std::string record, html, junit;
  std::vector<std::string> merge_inputs;
  std::string merge_out;
};

int Compare(const ReportFlags& flags) {
  reports::CompareOptions options;
  options.default_threshold_pct = flags.default_threshold_pct;
  for (const std::string& t : flags.thresholds) {
    if (std::string error = reports::AddThreshold(t, &options); !error.empty()) {
      std::fprintf(stderr, "ksim: %s\n", error.c_str());
      return kExitBadInput;
    }
  }
  std::string error;
  std::optional<reports::RunRecord> base = reports::ReadRunRecordFile(flags.base, &error);
  std::optional<reports::RunRecord> now = base ? reports::ReadRunRecordFile(flags.now, &error) : std::nullopt;
  std::optional<reports::Comparison> comparison =
      now ? reports::CompareRecords(*base, *now, options, &error) : std::nullopt;
  if (!comparison) {
    std::fprintf(stderr, "ksim: %s\n", error.c_str());
    return kExitBadInput;
  }
  std::fputs(reports::FormatComparison(*comparison).c_str(), stdout);
  return comparison->HasRegression() ? 1 : 0;
}

int Render(const ReportFlags& flags) {
  if (flags.html.empty() && flags.junit.empty()) {
    std::fprintf(stderr, "ksim: report render: give --html OUT and/or --junit OUT\n");
    return kExitBadInput;
  }
  std::string error;
  std::optional<reports::RunRecord> record = reports::ReadRunRecordFile(flags.record, &error);
  bool ok = record.has_value();
  if (ok && !flags.html.empty()) ok = reports::WriteTextFile(flags.html, reports::RunRecordToHtml(*record), &error);
  if (ok && !flags.junit.empty()) {
    ok = reports::WriteTextFile(flags.junit, reports::RunRecordToJUnitXml(*record), &error);
  }
  if (!ok) {
    std::fprintf(stderr, "ksim: %s\n", error.c_str());
    return kExitBadInput;
  }
  return 0;
}

int Merge(const ReportFlags& flags) {
  std::vector<reports::RunRecord> records;
  std::string error;
  for (const std::string& path : flags.merge_inputs) {
    std::optional<reports::RunRecord> r = reports::ReadRunRecordFile(path, &error);
    if (!r) {
      std::fprintf(stderr, "ksim: %s\n", error.c_str());
      return kExitBadInput;
    }
    records.push_back(std::move(*r));
  }
  reports::RunRecord merged;
  if (!reports::MergeRunRecords(records, &merged, &error) || !reports::WriteReportDir(merged, flags.merge_out, &error)) {
    std::fprintf(stderr, "ksim: report merge: %s\n", error.c_str());
    return kExitBadInput;
  }
  size_t failed = 0;
  for (const reports::SeedRun& s : merged.seeds) failed += s.verdict == reports::Verdict::kPass ? 0 : 1;
  std::printf("merged %zu records: %zu seeds, %zu not passed; report: %s\n", records.size(), merged.seeds.size(), failed,
              flags.merge_out.c_str());
  return 0;
}

}  // namespace

CommandFn AddReportCommand(CLI::App& app) {
  CLI::App* report = app.add_subcommand("report", "Run records: compare two, render one as HTML and JUnit XML");
  report->require_subcommand(1);
  auto flags = std::make_shared<ReportFlags>();
  CLI::App* compare = report->add_subcommand(
      "compare", "Regressions of NEW against BASE (exit 1 on one): verdicts, and metrics beyond their thresholds");
  compare->add_option("base", flags->base, "the baseline run record (JSON)")->required();
  compare->add_option("new", flags->now, "the run record to judge (JSON)")->required();
  compare->add_option("--threshold", flags->thresholds,
                      "name=percent: how much worse a metric or histogram may get (repeatable)");
  compare->add_option("--default-threshold", flags->default_threshold_pct, "percent for metrics without --threshold")
      ->default_val(10)
      ->check(CLI::NonNegativeNumber);
  CLI::App* render = report->add_subcommand("render", "Render a run record (JSON) as HTML and/or JUnit XML");
  render->add_option("record", flags->record, "the run record (JSON)")->required();
  render->add_option("--html", flags->html, "write the HTML page here");
  render->add_option("--junit", flags->junit, "write the JUnit XML here");
  CLI::App* merge = report->add_subcommand("merge", "Merge run records of one scenario (fuzz shards) into one report");
  merge->add_option("records", flags->merge_inputs, "run records (JSON), e.g. each shard's DIR/record.json")->required();
  merge->add_option("--out", flags->merge_out, "write DIR/record.json, report.html and junit.xml")->required();
  return [flags, compare, render, merge]() -> int {
    if (merge->parsed()) return Merge(*flags);
    if (compare->parsed()) return Compare(*flags);
    if (render->parsed()) return Render(*flags);
    return kExitBadInput;
  };
}

}  // namespace ksim::tools
