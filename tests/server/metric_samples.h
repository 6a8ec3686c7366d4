// Reads a Prometheus text-format scrape in tests: every sample's series (name and labels, as
// printed) mapped to its value.
#ifndef FABRIC_TESTS_SERVER_METRIC_SAMPLES_H_
#define FABRIC_TESTS_SERVER_METRIC_SAMPLES_H_

#include <map>
#include <sstream>
#include <string>

namespace fabric::testing_util {

inline std::map<std::string, double> MetricSamples(const std::string& scrape) {
  std::map<std::string, double> samples;
  std::istringstream lines(scrape);
  for (std::string line; std::getline(lines, line);) {
    const size_t space = line.rfind(' ');
    if (line.empty() || line[0] == '#' || space == std::string::npos) continue;
    samples[line.substr(0, space)] = std::stod(line.substr(space + 1));
  }
  return samples;
}

// The value of one series in a scrape, or -1 when the scrape has no such series.
inline double MetricSample(const std::string& scrape, const std::string& series) {
  const std::map<std::string, double> samples = MetricSamples(scrape);
  const auto it = samples.find(series);
  return it == samples.end() ? -1 : it->second;
}

}  // namespace fabric::testing_util

#endif  // FABRIC_TESTS_SERVER_METRIC_SAMPLES_H_
