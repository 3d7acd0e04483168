#include "controller/kube/rest_client_metrics.h"

namespace virtsnap::kube {

const std::vector<double>& RestClientMetrics::durationBuckets() {
  static const std::vector<double> kBuckets{0.005, 0.025, 0.1, 0.25, 0.5,  1.0,
                                            2.0,   4.0,   8.0, 15.0, 30.0, 60.0};
  return kBuckets;
}

RestClientMetrics::RestClientMetrics(std::shared_ptr<prometheus::Registry> registry, std::string host)
    : registry_(std::move(registry)),
      host_(std::move(host)),
      requests_(prometheus::BuildCounter()
                    .Name("rest_client_requests_total")
                    .Help("Number of HTTP requests, partitioned by status code, method, and host.")
                    .Register(*registry_)),
      duration_(prometheus::BuildHistogram()
                    .Name("rest_client_request_duration_seconds")
                    .Help("Request latency in seconds. Broken down by verb, and host.")
                    .Register(*registry_)) {}

void RestClientMetrics::request(const std::string& method, int httpStatus, std::chrono::nanoseconds latency) {
  const std::string code = httpStatus > 0 ? std::to_string(httpStatus) : "<error>";
  requests_.Add({{"code", code}, {"method", method}, {"host", host_}}).Increment();
  duration_.Add({{"verb", method}, {"host", host_}}, durationBuckets())
      .Observe(std::chrono::duration<double>(latency).count());
}

}  // namespace virtsnap::kube
