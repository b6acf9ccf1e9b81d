#include "reports/svg_plots.h"

#include <algorithm>
#include <cmath>
#include <optional>
#include <set>

#include <fmt/format.h>

#include "reports/markup_escape.h"

namespace ksim::reports {
namespace {

constexpr double kWidth = 900, kLeft = 170, kRight = 20, kLaneHeight = 22, kTop = 10, kAxis = 30;

double Seconds(int64_t ns) { return static_cast<double>(ns) / 1e9; }

// 1-2-5 tick step giving about `want` ticks over `span`.
double TickStep(double span, int want) {
  if (span <= 0) return 1;
  double raw = span / want;
  double p = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0, 10.0}) {
    if (m * p >= raw) return m * p;
  }
  return 10 * p;
}

struct TimeScale {
  double end_s;
  double X(int64_t ns) const {
    double s = std::clamp(Seconds(ns), 0.0, end_s);
    return kLeft + (kWidth - kLeft - kRight) * (end_s > 0 ? s / end_s : 0);
  }
};

// The time axis at y, with ticks in seconds.
std::string TimeAxis(const TimeScale& scale, double y) {
  std::string out = fmt::format("<line class=\"axis\" x1=\"{}\" y1=\"{:.1f}\" x2=\"{}\" y2=\"{:.1f}\"/>\n", kLeft, y,
                                kWidth - kRight, y);
  double step = TickStep(scale.end_s, 8);
  for (int i = 0; i * step <= scale.end_s + 1e-9 && i <= 100; ++i) {
    double x = scale.X(static_cast<int64_t>(i * step * 1e9));
    out += fmt::format("<line class=\"tick\" x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\"/>"
                       "<text class=\"tick-label\" x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\">{}s</text>\n",
                       x, y, x, y + 4, x, y + 16, fmt::format("{:g}", i * step));
  }
  return out;
}

std::string Title(const std::string& text) { return "<title>" + EscapeMarkup(text) + "</title>"; }

std::string Label(double y, const std::string& text) {
  return fmt::format("<text class=\"lane-label\" x=\"{}\" y=\"{:.1f}\" text-anchor=\"end\">{}</text>\n", kLeft - 6,
                     y, EscapeMarkup(text.size() > 28 ? text.substr(0, 27) + "\xe2\x80\xa6" : text));
}

std::string Svg(const std::string& label, double height, const std::string& body) {
  return fmt::format("<svg xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" aria-label=\"{}\" width=\"{}\" "
                     "height=\"{:.0f}\" viewBox=\"0 0 {} {:.0f}\">\n{}</svg>\n",
                     EscapeMarkup(label), kWidth, height, kWidth, height, body);
}

}  // namespace

int64_t PlotEndNs(const SeedRun& run) {
  int64_t end = run.simulated_ns;
  for (const FaultInterval& f : run.faults) end = std::max(end, f.end_ns.value_or(f.start_ns));
  for (const TimelineEvent& e : run.events) end = std::max(end, e.time_ns);
  for (const LeaderChange& l : run.leader_changes) end = std::max(end, l.time_ns);
  for (const auto& [name, samples] : run.series) {
    for (const Sample& s : samples) end = std::max(end, s.time_ns);
  }
  return end;
}

std::string TimelineSvg(const SeedRun& run, int64_t end_ns) {
  TimeScale scale{Seconds(end_ns)};
  std::set<std::string> fault_kinds, components;
  for (const FaultInterval& f : run.faults) fault_kinds.insert(f.kind);
  for (const LeaderChange& l : run.leader_changes) components.insert(l.component);
  std::string body;
  double y = kTop;
  auto lane_of = [](const std::set<std::string>& lanes, const std::string& name) {
    return static_cast<double>(std::distance(lanes.begin(), lanes.find(name)));
  };
  for (const std::string& kind : fault_kinds) body += Label(y + lane_of(fault_kinds, kind) * kLaneHeight + 15, kind);
  for (const FaultInterval& f : run.faults) {
    double x1 = scale.X(f.start_ns), x2 = scale.X(f.end_ns.value_or(end_ns));
    std::string tip = fmt::format("{} {} ({}) from {:g}s to {}", f.kind, f.target, f.origin, Seconds(f.start_ns),
                                  f.end_ns ? fmt::format("{:g}s", Seconds(*f.end_ns)) : std::string("the end"));
    body += fmt::format("<rect class=\"fault-band{}\" x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{}\">{}</rect>\n",
                        f.end_ns ? "" : " open", x1, y + lane_of(fault_kinds, f.kind) * kLaneHeight + 2,
                        std::max(x2 - x1, 1.5), kLaneHeight - 4, Title(tip));
  }
  y += static_cast<double>(fault_kinds.size()) * kLaneHeight;
  body += Label(y + 15, "events");
  for (const TimelineEvent& e : run.events) {
    double x = scale.X(e.time_ns);
    body += fmt::format("<line class=\"event-mark\" x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\">{}</line>\n",
                        x, y + 3, x, y + kLaneHeight - 3,
                        Title(fmt::format("{:g}s {}: {}", Seconds(e.time_ns), e.kind, e.description)));
  }
  y += kLaneHeight;
  for (const std::string& c : components) body += Label(y + lane_of(components, c) * kLaneHeight + 15, "leader: " + c);
  for (const LeaderChange& l : run.leader_changes) {
    body += fmt::format("<circle class=\"leader-change\" cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"5\">{}</circle>\n",
                        scale.X(l.time_ns), y + lane_of(components, l.component) * kLaneHeight + kLaneHeight / 2,
                        Title(fmt::format("{:g}s {} leader: {}", Seconds(l.time_ns), l.component,
                                          l.holder.empty() ? std::string("(none)") : l.holder)));
  }
  y += static_cast<double>(components.size()) * kLaneHeight;
  body += TimeAxis(scale, y + 4);
  return Svg("timeline", y + kAxis, body);
}

std::string SeriesSvg(const std::string& name, const std::vector<Sample>& samples, int64_t end_ns,
                      const std::vector<FaultInterval>& faults) {
  TimeScale scale{Seconds(end_ns)};
  constexpr double kPlotHeight = 160;
  double max_value = 0, min_value = 0;
  for (const Sample& s : samples) {
    if (!std::isfinite(s.value)) continue;
    max_value = std::max(max_value, s.value);
    min_value = std::min(min_value, s.value);
  }
  double step = TickStep(max_value - min_value, 4);
  double top = std::max(step * std::ceil(max_value / step), min_value + step);
  double bottom = step * std::floor(min_value / step);
  auto Y = [&](double v) { return kTop + kPlotHeight * (1 - (v - bottom) / (top - bottom)); };
  std::string body;
  for (const FaultInterval& f : faults) {
    double x1 = scale.X(f.start_ns), x2 = scale.X(f.end_ns.value_or(end_ns));
    body += fmt::format("<rect class=\"fault-shade\" x=\"{:.1f}\" y=\"{}\" width=\"{:.1f}\" height=\"{}\">{}</rect>\n",
                        x1, kTop, std::max(x2 - x1, 1.5), kPlotHeight, Title(f.kind + " " + f.target));
  }
  for (double v = bottom; v <= top + step / 2; v += step) {
    body += fmt::format("<line class=\"grid\" x1=\"{}\" y1=\"{:.1f}\" x2=\"{}\" y2=\"{:.1f}\"/>"
                        "<text class=\"tick-label\" x=\"{}\" y=\"{:.1f}\" text-anchor=\"end\">{:g}</text>\n",
                        kLeft, Y(v), kWidth - kRight, Y(v), kLeft - 6, Y(v) + 4, v);
  }
  // Steps: a sampled value holds until the next sample (a straight line between two
  // samples would show values nobody observed).
  std::string points;
  std::optional<double> last_y;
  for (const Sample& s : samples) {
    if (!std::isfinite(s.value)) continue;
    double x = scale.X(s.time_ns);
    if (last_y) points += fmt::format(" {:.1f},{:.1f}", x, *last_y);
    points += fmt::format("{}{:.1f},{:.1f}", points.empty() ? "" : " ", x, Y(s.value));
    last_y = Y(s.value);
  }
  body += fmt::format("<polyline class=\"series-line\" points=\"{}\">{}</polyline>\n", points, Title(name));
  body += Label(kTop + 12, name);
  body += TimeAxis(scale, kTop + kPlotHeight);
  return Svg(name, kTop + kPlotHeight + kAxis, body);
}

std::string HistogramSvg(const std::string& name, const Histogram& h) {
  constexpr double kPlotHeight = 140;
  size_t buckets = h.counts.size();
  uint64_t max_count = 1;
  for (uint64_t c : h.counts) max_count = std::max(max_count, c);
  double plot_width = kWidth - kLeft - kRight;
  double bar = buckets == 0 ? 0 : plot_width / static_cast<double>(buckets);
  std::string body = Label(kTop + 12, name);
  body += Label(kTop + 28, fmt::format("n={} mean={:.4g} {}", h.count, h.Mean(), h.unit));
  for (size_t i = 0; i < buckets; ++i) {
    double height = kPlotHeight * static_cast<double>(h.counts[i]) / static_cast<double>(max_count);
    double x = kLeft + bar * static_cast<double>(i);
    std::string bucket = i < h.upper_bounds.size() ? fmt::format("\xe2\x89\xa4 {:g}", h.upper_bounds[i])
                         : h.upper_bounds.empty() ? std::string("all")
                                                  : fmt::format("> {:g}", h.upper_bounds.back());
    body += fmt::format("<rect class=\"hist-bar\" x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\">{}</rect>\n",
                        x + 1, kTop + kPlotHeight - height, std::max(bar - 2, 1.0), height,
                        Title(fmt::format("{} {}: {}", bucket, h.unit, h.counts[i])));
    body += fmt::format("<text class=\"tick-label\" x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\">{}</text>\n",
                        x + bar / 2, kTop + kPlotHeight + 16, EscapeMarkup(bucket));
  }
  body += fmt::format("<line class=\"axis\" x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\"/>\n", kLeft, kTop + kPlotHeight,
                      kWidth - kRight, kTop + kPlotHeight);
  return Svg(name, kTop + kPlotHeight + kAxis, body);
}

}  // namespace ksim::reports
