// SVG plots of one seed's run for the HTML report (reports/html_report.h): inline <svg>
// elements, no script, every text escaped. Classes name what each shape is, so that the
// page's CSS styles them and tests find them: fault-band, event-mark, leader-change,
// series-line, hist-bar.
#pragma once

#include <string>
#include <vector>

#include "reports/run_record.h"

namespace ksim::reports {

// Faults as bands (one lane per fault kind), events as ticks, leader changes as dots
// (one lane per component), over [0, end_ns].
std::string TimelineSvg(const SeedRun& run, int64_t end_ns);

// One series as a step line (each value holds until the next sample) over [0, end_ns], with the faults as light bands behind it.
std::string SeriesSvg(const std::string& name, const std::vector<Sample>& samples, int64_t end_ns,
                      const std::vector<FaultInterval>& faults);

// A histogram's buckets as bars (the overflow bucket labelled "> last bound").
std::string HistogramSvg(const std::string& name, const Histogram& histogram);

// The run's end for the plots: simulated_ns, or the last time anything happened.
int64_t PlotEndNs(const SeedRun& run);

}  // namespace ksim::reports
