#pragma once
// How a reconcile ended, as a value (controller-runtime's reconcile.Result plus its error, kube-rs's
// Action): the controller maps it to queue actions in one place.
//   done()              the object is as desired: the key's backoff is forgotten, no retry
//   requeueAfter(d)     look again after d (e.g. polling the hypervisor): backoff forgotten, key re-added
//                       after d (d <= 0: at once)
//   error(message)      a transient failure: retried with the rate limiter's backoff
//   terminalError(msg)  retrying cannot help (bad input): reported, backoff forgotten, no retry; the
//                       next change to the object enqueues it again

#include <chrono>
#include <string>
#include <utility>

namespace virtsnap::kube {

class ReconcileResult {
 public:
  enum class Kind { Done, RequeueAfter, Error, TerminalError };

  static ReconcileResult done() { return ReconcileResult(Kind::Done, std::chrono::nanoseconds(0), {}); }
  static ReconcileResult requeueAfter(std::chrono::nanoseconds delay) {
    return ReconcileResult(Kind::RequeueAfter, delay, {});
  }
  static ReconcileResult error(std::string message) {
    return ReconcileResult(Kind::Error, std::chrono::nanoseconds(0), std::move(message));
  }
  static ReconcileResult terminalError(std::string message) {
    return ReconcileResult(Kind::TerminalError, std::chrono::nanoseconds(0), std::move(message));
  }

  Kind kind() const { return kind_; }
  bool isError() const { return kind_ == Kind::Error || kind_ == Kind::TerminalError; }
  // For RequeueAfter; zero otherwise.
  std::chrono::nanoseconds delay() const { return delay_; }
  // For Error and TerminalError; empty otherwise.
  const std::string& message() const { return message_; }

 private:
  ReconcileResult(Kind kind, std::chrono::nanoseconds delay, std::string message)
      : kind_(kind), delay_(delay), message_(std::move(message)) {}

  Kind kind_;
  std::chrono::nanoseconds delay_;
  std::string message_;
};

const char* reconcileResultKindName(ReconcileResult::Kind kind);

}  // namespace virtsnap::kube
