#pragma once
// The REST client's Prometheus metrics, named and labelled as client-go's (k8s.io/client-go/tools/metrics,
// registered by component-base): rest_client_requests_total{code,method,host} counts every request by
// its answer's HTTP status ("<error>" when none came), and rest_client_request_duration_seconds{verb,host}
// is its latency, with client-go's buckets. A watch counts once, when its stream opens (or fails to).
// Thread-safe.

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <prometheus/counter.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

namespace virtsnap::kube {

class RestClientMetrics {
 public:
  // `host`: the API server's host:port, the label of every series.
  RestClientMetrics(std::shared_ptr<prometheus::Registry> registry, std::string host);

  // `httpStatus` 0: no HTTP answer came (network trouble, a timeout).
  void request(const std::string& method, int httpStatus, std::chrono::nanoseconds latency);

  // client-go's buckets for rest_client_request_duration_seconds (5 ms to 60 s).
  static const std::vector<double>& durationBuckets();

 private:
  const std::shared_ptr<prometheus::Registry> registry_;  // owns the families below
  const std::string host_;
  prometheus::Family<prometheus::Counter>& requests_;
  prometheus::Family<prometheus::Histogram>& duration_;
};

}  // namespace virtsnap::kube
