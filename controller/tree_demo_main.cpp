// virtsnap-tree-demo: drives a real libvirt connection (by default the in-process test driver) through
// snapshot creates, reverts and deletes, applies the same operations to virtsnap's tree model, and
// after every step checks that libvirt's tree and the model's agree (parents, children, current).
// It prints the operations and the final tree. Exit status 0 only when they agreed throughout.

#include <chrono>
#include <iostream>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "controller/command_line.h"
#include "controller/logging/spdlog_logger.h"
#include "drivers/libvirt/libvirt_driver.h"
#include "drivers/snapshot_tree.h"

namespace {

using virtsnap::drivers::DeleteOptions;
using virtsnap::drivers::DeleteScope;
using virtsnap::drivers::HypervisorDriver;
using virtsnap::drivers::RevertOptions;
using virtsnap::drivers::SnapshotListing;
using virtsnap::drivers::SnapshotRecord;
using virtsnap::drivers::SnapshotRequest;
using virtsnap::drivers::SnapshotTree;
using virtsnap::drivers::libvirt::LibvirtDriver;
using virtsnap::drivers::libvirt::LibvirtDriverOptions;

struct Options {
  std::string uri = "test:///default";
  std::string domain = "test";
  int randomSteps = 200;
  unsigned seed = 1;
};

// The tree libvirt reports, rebuilt with the same model so that the two can be compared.
SnapshotTree treeOf(const SnapshotListing& listing) {
  std::vector<SnapshotRecord> records;
  for (const auto& def : listing.snapshots) {
    records.push_back(def.record());
  }
  SnapshotTree tree;
  tree.rebuild(records, listing.current);
  return tree;
}

std::string describeDifference(const SnapshotTree& model, const SnapshotTree& hypervisor) {
  if (model.current() != hypervisor.current()) {
    return "current: model '" + model.current().value_or("(none)") + "', libvirt '" +
           hypervisor.current().value_or("(none)") + "'";
  }
  if (model.topologicalOrder() != hypervisor.topologicalOrder()) {
    return "the parent/child relations differ";
  }
  return {};
}

void printTree(const SnapshotTree& tree) {
  const auto current = tree.current();
  tree.forEachTopological([&](const SnapshotRecord& r, std::size_t depth) {
    std::cout << "  " << std::string(depth * 2, ' ') << (depth > 0 ? "└─ " : "") << r.name;
    if (current && *current == r.name) {
      std::cout << "   <- current";
    }
    std::cout << '\n';
  });
}

class Demo {
 public:
  Demo(HypervisorDriver& libvirt, std::string domain) : libvirt_(libvirt), domain_(std::move(domain)) {}

  bool create(const std::string& name) {
    SnapshotRequest request;
    request.name = name;
    request.description = "made by virtsnap-tree-demo";
    auto made = libvirt_.createSnapshot(domain_, request);
    if (!made) {
      return fail("create " + name, made.error().message);
    }
    auto modelled = model_.create(made.value().record());
    return modelled ? check("create " + name) : fail("create " + name, modelled.error().message);
  }

  bool revert(const std::string& name) {
    if (auto error = libvirt_.revertToSnapshot(domain_, name, RevertOptions{})) {
      return fail("revert " + name, error->message);
    }
    if (auto error = model_.revert(name)) {
      return fail("revert " + name, error->message);
    }
    return check("revert " + name);
  }

  bool remove(const std::string& name, DeleteScope scope) {
    const std::string what = std::string(scope == DeleteScope::Snapshot   ? "delete "
                                         : scope == DeleteScope::Children ? "delete --children "
                                                                          : "delete --children-only ") +
                             name;
    if (auto error = libvirt_.deleteSnapshot(domain_, name, DeleteOptions{scope, false})) {
      return fail(what, error->message);
    }
    auto outcome = model_.remove(name, DeleteOptions{scope, false});
    return outcome ? check(what) : fail(what, outcome.error().message);
  }

  const SnapshotTree& model() const { return model_; }
  int steps() const { return steps_; }
  void setVerbose(bool verbose) { verbose_ = verbose; }

 private:
  bool check(const std::string& what) {
    ++steps_;
    auto listing = libvirt_.listSnapshots(domain_);
    if (!listing) {
      return fail(what, listing.error().message);
    }
    const SnapshotTree hypervisor = treeOf(listing.value());
    if (auto difference = describeDifference(model_, hypervisor); !difference.empty()) {
      return fail(what, "model and libvirt disagree: " + difference);
    }
    if (verbose_) {
      std::cout << "  " << what << ": " << hypervisor.size() << " snapshots, current "
                << hypervisor.current().value_or("(none)") << " (model agrees)\n";
    }
    return true;
  }

  bool fail(const std::string& what, const std::string& message) {
    std::cerr << "FAILED at step " << steps_ + 1 << " (" << what << "): " << message << '\n';
    return false;
  }

  HypervisorDriver& libvirt_;
  std::string domain_;
  SnapshotTree model_;
  int steps_ = 0;
  bool verbose_ = true;
};

bool scripted(Demo& demo) {
  std::cout << "Scripted scenario (libvirt's rules: a new snapshot is a child of current; revert "
               "moves current; delete re-parents):\n";
  return demo.create("base") && demo.create("installed") && demo.create("configured") &&
         demo.revert("installed") && demo.create("experiment-a") && demo.create("experiment-a2") &&
         demo.revert("installed") && demo.create("experiment-b") &&
         demo.remove("installed", DeleteScope::Snapshot) &&
         demo.remove("experiment-a", DeleteScope::ChildrenOnly) && demo.revert("experiment-a") &&
         demo.create("experiment-a3");
}

bool randomised(Demo& demo, int steps, unsigned seed) {
  std::cout << "\nRandom operations (seed " << seed << ", " << steps
            << " steps), checked after each step...\n";
  demo.setVerbose(false);
  std::mt19937 rng(seed);
  int next = 0;
  for (int i = 0; i < steps; ++i) {
    const auto all = demo.model().topologicalOrder();
    const int roll = std::uniform_int_distribution<int>(0, 9)(rng);
    if (all.empty() || roll < 5) {
      if (!demo.create("r" + std::to_string(next++))) {
        return false;
      }
      continue;
    }
    const std::string& target = all[std::uniform_int_distribution<std::size_t>(0, all.size() - 1)(rng)].name;
    bool ok = true;
    if (roll < 7) {
      ok = demo.revert(target);
    } else if (roll < 9) {
      ok = demo.remove(target, DeleteScope::Snapshot);
    } else {
      ok = demo.remove(target, rng() % 2 ? DeleteScope::Children : DeleteScope::ChildrenOnly);
    }
    if (!ok) {
      std::cerr << "reproduce with --seed " << seed << " --random-steps " << steps << '\n';
      return false;
    }
  }
  std::cout << "  model and libvirt agreed after every one of " << steps << " random operations\n";
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  virtsnap::logging::LogOptions logOptions;
  CLI::App app(
      "Drives libvirt through snapshot creates, reverts and deletes and checks after every step "
      "that libvirt's snapshot tree and virtsnap's model agree.",
      "virtsnap-tree-demo");
  app.add_option("--uri", options.uri, "libvirt connection URI")->capture_default_str();
  app.add_option("--domain", options.domain, "Domain to snapshot")->capture_default_str();
  app.add_option("--random-steps", options.randomSteps, "Random operations after the scripted ones")
      ->check(virtsnap::integerIn(0, 10000000))
      ->capture_default_str();
  app.add_option("--seed", options.seed, "Seed of the random operations")
      ->check(virtsnap::integerIn(0, std::numeric_limits<unsigned>::max()))
      ->capture_default_str();
  virtsnap::addLogFlags(app, logOptions);
  if (auto status = virtsnap::parseCommandLine(app, argc, argv)) {
    return *status;
  }
  virtsnap::logging::installProcessLogger(logOptions);

  LibvirtDriverOptions driverOptions;
  driverOptions.uri = options.uri;
  // The demo reverts many times a second; the test driver writes no overlay files that could collide.
  driverOptions.revertSpacing = std::chrono::milliseconds(options.uri.rfind("test:", 0) == 0 ? 0 : 1000);
  LibvirtDriver libvirt(driverOptions);
  if (auto caps = libvirt.capabilities(); !caps) {
    virtsnap::logLine(virtsnap::LogLevel::Error, "tree-demo", caps.error().message);
    return 1;
  }
  std::cout << "virtsnap tree demo on " << options.uri << ", domain '" << options.domain << "'\n\n";
  Demo demo(libvirt, options.domain);
  if (!scripted(demo)) {
    return 1;
  }
  std::cout << "\nSnapshot tree (as libvirt reports it, identical in virtsnap's model):\n";
  printTree(demo.model());
  if (options.randomSteps > 0 && !randomised(demo, options.randomSteps, options.seed)) {
    return 1;
  }
  std::cout << "\nFinal tree after " << demo.steps() << " operations (" << demo.model().size()
            << " snapshots):\n";
  printTree(demo.model());
  return 0;
}
