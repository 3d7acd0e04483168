#pragma once
// The ApiClient over a Transport: builds the REST paths, query parameters, content types and bodies
// of the Kubernetes API for each verb, spaces requests with a client-side QPS/burst limit (a token
// taken before every request, watches included), puts a deadline on every call, and turns answers
// into values: a 2xx body into JSON, anything else into the KubeError client-go would report
// (status_error.h). Watches parse the server's JSON lines into WatchEvents; an ERROR event ends the
// stream with its error (410 -> ErrorKind::Gone). Nothing here throws; a malformed answer is
// ErrorKind::Decode. Thread-safe: calls from many threads share the limiter and the transport.

#include <chrono>
#include <memory>
#include <string>

#include "base/clock.h"
#include "controller/kube/api_client.h"
#include "controller/kube/rest_client_metrics.h"
#include "controller/kube/token_bucket.h"
#include "controller/kube/transport.h"

namespace virtsnap::kube {

struct RestClientOptions {
  // client-go defaults to 5 QPS / 10 burst; an agent's status writes come in bursts per domain.
  double qps = 20.0;  // <= 0: unlimited
  int burst = 30;
  std::chrono::milliseconds timeout{30000};  // every call; for a watch, until the stream is open
  // Asked of the server (timeoutSeconds) when a watch's ListOptions name none, so a watch on a
  // half-dead connection ends and is re-opened. Zero: leave the stream open.
  std::chrono::seconds watchTimeout{0};
  std::string userAgent = "virtsnap-agent";
  ClockPtr clock;  // for the limiter; null: the system clock
  // Every request's status and latency (the latency on the system's steady clock); null: not counted.
  std::shared_ptr<RestClientMetrics> metrics;
};

class RestClient final : public ApiClient {
 public:
  explicit RestClient(TransportPtr transport, RestClientOptions options = {});

  KubeResult<nlohmann::json> get(const meta::ResourceType& type, const std::string& ns,
                                 const std::string& name) override;
  KubeResult<nlohmann::json> list(const meta::ResourceType& type, const std::string& ns,
                                  const ListOptions& options) override;
  KubeResult<nlohmann::json> create(const meta::ResourceType& type, const nlohmann::json& object,
                                    const WriteOptions& options) override;
  KubeResult<nlohmann::json> update(const meta::ResourceType& type, const nlohmann::json& object,
                                    const WriteOptions& options) override;
  KubeResult<nlohmann::json> updateStatus(const meta::ResourceType& type, const nlohmann::json& object,
                                          const WriteOptions& options) override;
  KubeResult<nlohmann::json> patch(const meta::ResourceType& type, const std::string& ns,
                                   const std::string& name, PatchType patchType, const std::string& body,
                                   const PatchOptions& options) override;
  KubeResult<nlohmann::json> remove(const meta::ResourceType& type, const std::string& ns,
                                    const std::string& name, const DeleteOptions& options) override;
  KubeResult<WatchStreamPtr> watch(const meta::ResourceType& type, const std::string& ns,
                                   const ListOptions& options) override;

 private:
  RestRequest request(std::string method, std::string path) const;
  // Takes a limiter token, sends, and decodes the answer.
  KubeResult<nlohmann::json> call(const RestRequest& request);
  // Sends through the transport and counts the request in the metrics, when there are any.
  KubeResult<RestResponse> send(const RestRequest& request);
  KubeResult<nlohmann::json> put(const meta::ResourceType& type, const nlohmann::json& object,
                                 const WriteOptions& options, const std::string& subresource);

  const TransportPtr transport_;
  const RestClientOptions options_;
  TokenBucket limiter_;  // thread-safe itself
};

}  // namespace virtsnap::kube
