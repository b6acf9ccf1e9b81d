// RunRecord -> one self-contained HTML page (docs/REPORTS.md, "HTML"): inline CSS and SVG,
// no script and no external asset, every text escaped. A verdict table of every seed,
// then, for the seeds shown in detail, the expectations, a timeline (fault bands, events,
// leader changes), the series over time, the histograms, metrics and coverage marks.
// The page is also well-formed XML (void elements closed), so tests parse it strictly.
#pragma once

#include <cstddef>
#include <string>

#include "reports/run_record.h"

namespace ksim::reports {

struct HtmlOptions {
  // Seeds drawn in detail (failed and errored first, then in run order): a sweep of a
  // thousand seeds keeps a page of a few megabytes. Every seed is in the verdict table.
  size_t max_detailed_seeds = 20;
  // Series, histograms and events drawn per seed, and samples per series.
  size_t max_plots_per_seed = 12;
  size_t max_samples_per_series = 2000;
};

std::string RunRecordToHtml(const RunRecord& record, const HtmlOptions& options = {});

}  // namespace ksim::reports
