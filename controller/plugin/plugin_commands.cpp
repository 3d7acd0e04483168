#include "controller/plugin/plugin_commands.h"

#include <charconv>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "base/enum_names.h"
#include "controller/kube/typed_client.h"
#include "controller/plugin/snapshot_tree_text.h"
#include "crds/domain.h"
#include "crds/snapshot.h"
#include "crds/snapshot_revert.h"

namespace virtsnap::plugin {

namespace {

using Clock = std::chrono::steady_clock;

CommandResult failure(std::string message) {
  return CommandResult{1, "", "error: " + message + "\n"};
}

std::string inQuotes(const std::string& text) {
  return "\"" + text + "\"";
}

// "domain "web" not found in namespace "vms"" for a 404, else what the server or the network said.
std::string describe(const kube::KubeError& error, const std::string& kind, const std::string& name,
                     const std::string& ns) {
  if (error.kind == kube::ErrorKind::NotFound) {
    return kind + " " + inQuotes(name) + " not found in namespace " + inQuotes(ns);
  }
  return "reading " + kind + " " + inQuotes(name) + " in namespace " + inQuotes(ns) + ": " + error.describe();
}

// The Domain's Snapshots, page by page; by field selector where the server can (selectableFields:
// Kubernetes 1.31 and later), else all of the namespace, filtered here.
kube::KubeResult<std::vector<crds::Snapshot>> snapshotsOf(const kube::ApiClientPtr& client,
                                                          const std::string& ns, const std::string& domain) {
  kube::TypedClient<crds::Snapshot> snapshots(client);
  kube::ListOptions options;
  options.fieldSelector = "spec.domainName=" + domain;
  options.limit = 500;
  std::vector<crds::Snapshot> found;
  while (true) {
    auto page = snapshots.list(ns, options);
    if (!page && page.error().kind == kube::ErrorKind::BadRequest && !options.fieldSelector.empty()) {
      options.fieldSelector.clear();  // a server without selectable fields: filter here
      options.continueToken.clear();
      found.clear();
      continue;
    }
    if (!page) {
      return page.error();
    }
    for (auto& snapshot : page.value().items) {
      if (snapshot.spec.domainName == domain) {
        found.push_back(std::move(snapshot));
      }
    }
    if (page.value().continueToken.empty()) {
      return found;
    }
    options.continueToken = page.value().continueToken;
  }
}

bool finished(const crds::SnapshotRevert& revert) {
  return revert.status && revert.status->phase &&
         (*revert.status->phase == crds::RevertPhase::Succeeded ||
          *revert.status->phase == crds::RevertPhase::Failed);
}

CommandResult outcomeOf(const crds::SnapshotRevert& revert) {
  const std::string name = revert.metadata.name.value_or("");
  if (*revert.status->phase == crds::RevertPhase::Succeeded) {
    return CommandResult{0,
                         revert.spec.domainName + ": " + revert.status->previousSnapshot.value_or("(none)") +
                             " -> " + revert.spec.snapshotName + " (snapshotrevert/" + name + " Succeeded)\n",
                         ""};
  }
  // The Stalled condition says why; the Ready condition (False) says it too where Stalled is absent.
  std::string message;
  if (const meta::Condition* stalled =
          meta::trueCondition(revert.status->conditions, meta::kConditionStalled)) {
    message = stalled->reason + ": " + stalled->message;
  } else if (const meta::Condition* ready =
                 meta::findCondition(revert.status->conditions, meta::kConditionReady)) {
    message = ready->reason + ": " + ready->message;
  }
  return failure("snapshotrevert/" + name + " Failed" + (message.empty() ? "" : ": " + message));
}

// Cancels the open watch when the deadline passes, so that a server that ignores timeoutSeconds
// cannot hold the command past it.
class Deadline {
 public:
  explicit Deadline(Clock::time_point at) : at_(at), thread_([this] { run(); }) {}
  ~Deadline() {
    {
      std::lock_guard lock(mutex_);
      done_ = true;
    }
    wake_.notify_all();
    thread_.join();
  }
  Deadline(const Deadline&) = delete;
  Deadline& operator=(const Deadline&) = delete;

  bool passed() const { return Clock::now() >= at_; }
  Clock::duration left() const { return at_ - Clock::now(); }

  // The stream the deadline cancels (null: none open).
  void watching(kube::WatchStream* stream) {
    std::lock_guard lock(mutex_);
    stream_ = stream;
    if (stream_ != nullptr && passed()) {
      stream_->cancel();
    }
  }

  // Waits `pause` or until the deadline, whichever comes first.
  void pause(Clock::duration pause) {
    std::unique_lock lock(mutex_);
    wake_.wait_until(lock, std::min(at_, Clock::now() + pause), [this] { return done_; });
  }

 private:
  void run() {
    std::unique_lock lock(mutex_);
    wake_.wait_until(lock, at_, [this] { return done_; });
    if (!done_ && stream_ != nullptr) {
      stream_->cancel();
    }
  }

  Clock::time_point at_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool done_ = false;
  kube::WatchStream* stream_ = nullptr;
  std::thread thread_;
};

}  // namespace

CommandResult treeCommand(const kube::ApiClientPtr& client, const std::string& ns,
                          const std::string& domain) {
  auto object = kube::TypedClient<crds::Domain>(client).get(ns, domain);
  if (!object) {
    return failure(describe(object.error(), "domain", domain, ns));
  }
  auto snapshots = snapshotsOf(client, ns, domain);
  if (!snapshots) {
    return failure("listing the snapshots of domain " + inQuotes(domain) + " in namespace " + inQuotes(ns) +
                   ": " + snapshots.error().describe());
  }
  DomainTreeText tree = renderDomainTree(object.value(), snapshots.value());
  if (tree.snapshots == 0) {
    return failure("domain " + inQuotes(domain) + " in namespace " + inQuotes(ns) + " has no snapshots");
  }
  return CommandResult{0, std::move(tree.text), ""};
}

CommandResult revertCommand(const kube::ApiClientPtr& client, const RevertRequest& request) {
  Deadline deadline(Clock::now() + request.timeout);
  if (auto domain = kube::TypedClient<crds::Domain>(client).get(request.ns, request.domain); !domain) {
    return failure(describe(domain.error(), "domain", request.domain, request.ns));
  }
  auto snapshot = kube::TypedClient<crds::Snapshot>(client).get(request.ns, request.snapshot);
  if (!snapshot) {
    return failure(describe(snapshot.error(), "snapshot", request.snapshot, request.ns));
  }
  if (snapshot.value().spec.domainName != request.domain) {
    return failure("snapshot " + inQuotes(request.snapshot) + " belongs to domain " +
                   inQuotes(snapshot.value().spec.domainName) + ", not " + inQuotes(request.domain));
  }

  kube::TypedClient<crds::SnapshotRevert> reverts(client);
  crds::SnapshotRevert revert;
  revert.metadata.generateName = request.domain + "-revert-";
  revert.metadata.namespaceName = request.ns;
  revert.spec.domainName = request.domain;
  revert.spec.snapshotName = request.snapshot;
  if (request.force) {
    revert.spec.force = true;
  }
  auto created = reverts.create(revert, kube::WriteOptions{"kubectl-virtsnap", ""});
  if (!created) {
    return failure("creating a SnapshotRevert of domain " + inQuotes(request.domain) + ": " +
                   created.error().describe());
  }
  crds::SnapshotRevert latest = std::move(created).value();
  const std::string name = latest.metadata.name.value_or("");
  std::string lastProblem;

  // Watch the one object from the version last seen; after the stream ends or breaks, read it again
  // and watch on from there, until it finishes or the deadline passes. Where watches fail (a server
  // or a role without them) this polls the object every quarter of a second.
  while (!finished(latest) && !deadline.passed()) {
    bool broke = false;
    kube::ListOptions options;
    options.fieldSelector = "metadata.name=" + name;
    options.resourceVersion = latest.metadata.resourceVersion.value_or("");
    options.timeoutSeconds =
        static_cast<int>(std::chrono::ceil<std::chrono::seconds>(deadline.left()).count());
    auto stream = client->watch(meta::Resource<crds::SnapshotRevert>::type(), request.ns, options);
    if (stream) {
      deadline.watching(stream.value().get());
      while (!finished(latest)) {
        auto event = stream.value()->next();
        if (!event) {
          lastProblem = event.error().describe();
          broke = true;
          break;
        }
        if (!event.value()) {
          break;  // ended: by the server's timeout, or by the deadline
        }
        if (event.value()->type == kube::WatchEventType::Deleted) {
          deadline.watching(nullptr);
          return failure("snapshotrevert/" + name + " was deleted before it finished");
        }
        if (event.value()->type == kube::WatchEventType::Added ||
            event.value()->type == kube::WatchEventType::Modified) {
          auto decoded = crds::decodeSnapshotRevert(event.value()->object);
          if (decoded) {
            latest = std::move(decoded).value();
          } else {
            lastProblem = "a SnapshotRevert from the watch does not decode: " + decoded.error().toString();
          }
        }
      }
      deadline.watching(nullptr);
    } else {
      lastProblem = stream.error().describe();
      broke = true;
    }
    if (finished(latest) || deadline.passed()) {
      break;
    }
    auto reread = reverts.get(request.ns, name);
    if (reread) {
      latest = std::move(reread).value();
    } else {
      lastProblem = reread.error().describe();
      broke = true;
    }
    if (broke && !finished(latest)) {
      deadline.pause(std::chrono::milliseconds(250));  // no busy loop against a failing server
    }
  }
  if (finished(latest)) {
    return outcomeOf(latest);
  }
  const std::string phase =
      latest.status && latest.status->phase ? std::string(enumName(*latest.status->phase)) : "no phase yet";
  return failure("timed out waiting for snapshotrevert/" + name + " (" + phase +
                 "); the agent carries it out when it can" +
                 (lastProblem.empty() ? "" : " (last problem: " + lastProblem + ")"));
}

std::optional<std::chrono::milliseconds> parseDuration(std::string_view text) {
  if (text.empty()) {
    return std::nullopt;
  }
  double total = 0;  // milliseconds
  const char* at = text.data();
  const char* end = text.data() + text.size();
  bool bare = true;
  while (at != end) {
    std::int64_t number = 0;
    const auto [stop, error] = std::from_chars(at, end, number);
    if (error != std::errc() || number < 0) {
      return std::nullopt;
    }
    at = stop;
    const std::string_view rest(at, static_cast<std::size_t>(end - at));
    double unit = 0;
    std::size_t length = 0;
    if (rest.starts_with("ms")) {
      unit = 1, length = 2;
    } else if (rest.starts_with("s")) {
      unit = 1000, length = 1;
    } else if (rest.starts_with("m")) {
      unit = 60000, length = 1;
    } else if (rest.starts_with("h")) {
      unit = 3600000, length = 1;
    } else if (rest.empty() && bare) {
      unit = 1000;  // a bare number: seconds
    } else {
      return std::nullopt;
    }
    bare = false;
    at += length;
    total += static_cast<double>(number) * unit;
  }
  if (total <= 0 || total > 1e12) {
    return std::nullopt;
  }
  return std::chrono::milliseconds(static_cast<std::int64_t>(total));
}

}  // namespace virtsnap::plugin
