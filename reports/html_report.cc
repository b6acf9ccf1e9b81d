#include "reports/html_report.h"

#include <algorithm>
#include <vector>

#include <fmt/format.h>

#include "reports/markup_escape.h"
#include "reports/svg_plots.h"

namespace ksim::reports {
namespace {

constexpr const char* kStyle = R"(
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}
h1{font-size:1.5em;margin:0 0 .3em} h2{font-size:1.2em;margin-top:1.6em} h3{font-size:1em}
table{border-collapse:collapse;margin:.5em 0} td,th{border:1px solid #ccc;padding:2px 8px;text-align:left;vertical-align:top}
th{background:#f3f3f3} .num{text-align:right;font-variant-numeric:tabular-nums}
.verdict-pass{color:#17692b;font-weight:bold} .verdict-fail{color:#b00020;font-weight:bold} .verdict-error{color:#a15c00;font-weight:bold}
code,pre{font:12px ui-monospace,monospace} pre{white-space:pre-wrap;margin:0}
section.seed{border-top:2px solid #ddd;margin-top:1.5em}
svg{display:block;margin:.4em 0;background:#fcfcfc;border:1px solid #eee}
.fault-band{fill:#e4572e;fill-opacity:.55} .fault-band.open{fill-opacity:.3}
.fault-shade{fill:#e4572e;fill-opacity:.12}
.event-mark{stroke:#555;stroke-width:1.5} .leader-change{fill:#2e86ab;stroke:#fff}
.series-line{fill:none;stroke:#2e86ab;stroke-width:2} .hist-bar{fill:#76b041}
.axis{stroke:#444} .tick{stroke:#444} .grid{stroke:#e3e3e3}
.tick-label,.lane-label{font:11px system-ui,sans-serif;fill:#444}
.note{color:#666}
)";

std::string E(const std::string& text) { return EscapeMarkup(text); }

std::string VerdictCell(Verdict v) {
  return fmt::format("<td class=\"verdict-{0}\">{0}</td>", VerdictName(v));
}

std::string Seconds(int64_t ns) { return fmt::format("{:.3f} s", static_cast<double>(ns) / 1e9); }

std::string VerdictTable(const RunRecord& record) {
  std::string out =
      "<table class=\"verdicts\"><tr><th>seed</th><th>verdict</th><th>failed expectations</th><th>simulated</th>"
      "<th>wall</th><th>trace hash</th><th>replay</th></tr>\n";
  for (const SeedRun& run : record.seeds) {
    std::string failed;
    for (const ExpectationResult& e : run.expectations) {
      if (!e.passed) failed += (failed.empty() ? "" : ", ") + E(e.name);
    }
    if (run.verdict == Verdict::kError) failed = "error: " + E(run.error);
    out += fmt::format("<tr><td class=\"num\"><a href=\"#seed-{0}\">{0}</a></td>{1}<td>{2}</td><td class=\"num\">{3}</td>"
                       "<td class=\"num\">{4}</td><td><code>{5}</code></td><td><code>{6}</code></td></tr>\n",
                       run.seed, VerdictCell(run.verdict), failed, Seconds(run.simulated_ns), Seconds(run.wall_ns),
                       E(run.trace_hash), E(run.replay_command));
  }
  return out + "</table>\n";
}

std::string ExpectationTable(const SeedRun& run) {
  std::string out = "<table class=\"expectations\"><tr><th>expectation</th><th>when</th><th>result</th>"
                    "<th>first violation</th><th>message</th><th>source</th></tr>\n";
  for (const ExpectationResult& e : run.expectations) {
    out += fmt::format("<tr><td>{}</td><td>{}</td>{}<td class=\"num\">{}</td><td><pre>{}</pre></td><td><code>{}</code></td></tr>\n",
                       E(e.name), WhenName(e.when), VerdictCell(e.passed ? Verdict::kPass : Verdict::kFail),
                       e.first_violation_ns ? Seconds(*e.first_violation_ns) : "", E(e.message), E(e.source));
  }
  return out + "</table>\n";
}

std::string MetricsTable(const SeedRun& run) {
  if (run.metrics.empty() && run.histograms.empty()) return "";
  std::string out = "<h3>Metrics</h3><table class=\"metrics\"><tr><th>metric</th><th>value</th><th>unit</th><th>better</th></tr>\n";
  for (const auto& [name, m] : run.metrics) {
    out += fmt::format("<tr><td>{}</td><td class=\"num\">{:.6g}</td><td>{}</td><td>{}</td></tr>\n", E(name), m.value,
                       E(m.unit), BetterName(m.better));
  }
  for (const auto& [name, h] : run.histograms) {
    out += fmt::format("<tr><td>{} (n={})</td><td class=\"num\">p50 {:.6g} / p90 {:.6g} / p99 {:.6g}</td><td>{}</td><td>{}</td></tr>\n",
                       E(name), h.count, h.Quantile(0.5), h.Quantile(0.9), h.Quantile(0.99), E(h.unit),
                       BetterName(h.better));
  }
  return out + "</table>\n";
}

std::string CountTable(const char* css_class, const std::map<std::string, uint64_t>& counts) {
  std::string out = fmt::format("<table class=\"{}\"><tr><th>mark</th><th>count</th></tr>\n", css_class);
  for (const auto& [name, n] : counts) {
    out += fmt::format("<tr><td>{}</td><td class=\"num\">{}</td></tr>\n", E(name), n);
  }
  return out + "</table>\n";
}

std::string LeaderTable(const SeedRun& run) {
  if (run.leader_changes.empty()) return "";
  std::string out = "<details><summary>Leader changes</summary><table class=\"leaders\"><tr><th>time</th>"
                    "<th>component</th><th>holder</th></tr>\n";
  for (const LeaderChange& l : run.leader_changes) {
    out += fmt::format("<tr><td class=\"num\">{}</td><td>{}</td><td>{}</td></tr>\n", Seconds(l.time_ns),
                       E(l.component), E(l.holder));
  }
  return out + "</table></details>\n";
}

// Every k-th sample so that at most `max` remain (the last one kept).
std::vector<Sample> Thin(const std::vector<Sample>& samples, size_t max) {
  if (samples.size() <= max || max < 2) return samples;
  std::vector<Sample> out;
  size_t stride = (samples.size() + max - 2) / (max - 1);
  for (size_t i = 0; i < samples.size(); i += stride) out.push_back(samples[i]);
  if (out.back().time_ns != samples.back().time_ns) out.push_back(samples.back());
  return out;
}

std::string SeedSection(const SeedRun& run, const HtmlOptions& options) {
  std::string out = fmt::format("<section class=\"seed\" id=\"seed-{0}\"><h2>Seed {0}: <span class=\"verdict-{1}\">{1}</span></h2>\n",
                                run.seed, VerdictName(run.verdict));
  if (run.verdict == Verdict::kError) out += "<p>Error: <code>" + E(run.error) + "</code></p>\n";
  if (!run.replay_command.empty()) out += "<p>Replay: <code>" + E(run.replay_command) + "</code></p>\n";
  out += ExpectationTable(run);
  int64_t end_ns = PlotEndNs(run);
  out += "<h3>Timeline</h3>\n" + TimelineSvg(run, end_ns) + LeaderTable(run);
  size_t plots = 0;
  for (const auto& [name, samples] : run.series) {
    if (plots++ == options.max_plots_per_seed) break;
    out += "<h3>" + E(name) + "</h3>\n" + SeriesSvg(name, Thin(samples, options.max_samples_per_series), end_ns, run.faults);
  }
  plots = 0;
  for (const auto& [name, h] : run.histograms) {
    if (plots++ == options.max_plots_per_seed) break;
    out += "<h3>" + E(name) + "</h3>\n" + HistogramSvg(name, h);
  }
  out += MetricsTable(run);
  if (!run.coverage.empty()) out += "<h3>Coverage</h3>\n" + CountTable("coverage", run.coverage);
  return out + "</section>\n";
}

}  // namespace

std::string RunRecordToHtml(const RunRecord& record, const HtmlOptions& options) {
  std::string out = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"/>\n";
  out += "<title>ksim: " + E(record.scenario_name) + "</title>\n<style>" + kStyle + "</style></head><body>\n";
  Verdict overall = record.OverallVerdict();
  out += fmt::format("<h1>{} <span class=\"verdict-{}\">{}</span></h1>\n", E(record.scenario_name),
                     VerdictName(overall), VerdictName(overall));
  out += "<p>Scenario file <code>" + E(record.scenario_file) + "</code>";
  if (!record.ksim_version.empty()) out += ", ksim <code>" + E(record.ksim_version) + "</code>";
  out += fmt::format(", {} seeds.</p>\n", record.seeds.size());
  if (!record.attributes.empty()) {
    out += "<p class=\"note\">";
    for (const auto& [k, v] : record.attributes) out += E(k) + ": " + E(v) + "; ";
    out += "</p>\n";
  }
  out += "<h2>Verdicts</h2>\n" + VerdictTable(record);
  std::map<std::string, uint64_t> coverage = record.MergedCoverage();
  if (!coverage.empty()) out += "<h2>Coverage (all seeds)</h2>\n" + CountTable("coverage-all", coverage);
  // Failed and errored seeds first, then passes, each group in run order.
  std::vector<const SeedRun*> detailed;
  for (const SeedRun& run : record.seeds) {
    if (run.verdict != Verdict::kPass) detailed.push_back(&run);
  }
  for (const SeedRun& run : record.seeds) {
    if (run.verdict == Verdict::kPass) detailed.push_back(&run);
  }
  if (detailed.size() > options.max_detailed_seeds) {
    out += fmt::format("<p class=\"note\">{} of {} seeds are drawn in detail (failures first).</p>\n",
                       options.max_detailed_seeds, detailed.size());
    detailed.resize(options.max_detailed_seeds);
  }
  for (const SeedRun* run : detailed) out += SeedSection(*run, options);
  return out + "</body></html>\n";
}

}  // namespace ksim::reports
