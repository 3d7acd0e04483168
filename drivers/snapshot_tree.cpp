#include "drivers/snapshot_tree.h"

#include <algorithm>
#include <cassert>
#include <unordered_set>
#include <utility>

#include "drivers/external_deletion_rules.h"

namespace virtsnap::drivers {

// A snapshot, or the metaroot (empty name, no parent) that every root hangs from.
struct SnapshotTree::Node {
  std::string name;
  SnapshotLocation location = SnapshotLocation::Internal;
  Node* parent = nullptr;
  Children children;
};

bool SnapshotTree::NameLess::operator()(const Node* a, const Node* b) const {
  return a->name < b->name;
}

namespace {

std::vector<std::string> sortedNames(std::vector<std::string> names) {
  std::sort(names.begin(), names.end());
  return names;
}

TreeError notFound(std::string_view name) {
  return TreeError{TreeErrorCode::NotFound, std::string(name),
                   "snapshot '" + std::string(name) + "' does not exist", std::nullopt};
}

}  // namespace

SnapshotTree::SnapshotTree() : metaroot_(std::make_unique<Node>()) {}
SnapshotTree::~SnapshotTree() = default;
SnapshotTree::SnapshotTree(SnapshotTree&&) noexcept = default;
SnapshotTree& SnapshotTree::operator=(SnapshotTree&&) noexcept = default;

// --- Internal verbs (libvirt's names) --------------------------------------------------------------

SnapshotTree::Node* SnapshotTree::lookup(std::string_view name) const {
  auto it = nodes_.find(name);
  return it == nodes_.end() ? nullptr : it->second.get();
}

void SnapshotTree::linkParent(Node* node, Node* parent) {
  assert(node->parent == nullptr);
  node->parent = parent;
  parent->children.insert(node);
}

void SnapshotTree::dropParent(Node* node) {
  if (node->parent != nullptr) {
    node->parent->children.erase(node);
    node->parent = nullptr;
  }
}

void SnapshotTree::moveChildren(Node* from, Node* to) {
  for (Node* child : from->children) {
    child->parent = to;
    to->children.insert(child);
  }
  from->children.clear();
}

SnapshotTree::Node* SnapshotTree::addNode(SnapshotRecord record, Node* parent) {
  auto node = std::make_unique<Node>();
  node->name = std::move(record.name);
  node->location = record.location;
  Node* raw = node.get();
  nodes_.emplace(std::string_view(raw->name), std::move(node));
  linkParent(raw, parent);
  return raw;
}

// Removes a node that has no children left. Clears the current pointer if it named the node, so
// that a later failure can never leave it dangling.
void SnapshotTree::eraseNode(Node* node) {
  assert(node->children.empty());
  if (current_ == node) {
    current_ = nullptr;
  }
  dropParent(node);
  nodes_.erase(std::string_view(node->name));
}

std::vector<SnapshotTree::Node*> SnapshotTree::collectDescendants(const Node* node) const {
  std::vector<Node*> out;
  std::vector<Node*> stack(node->children.rbegin(), node->children.rend());
  while (!stack.empty()) {
    Node* next = stack.back();
    stack.pop_back();
    out.push_back(next);
    stack.insert(stack.end(), next->children.rbegin(), next->children.rend());
  }
  return out;
}

SnapshotRecord SnapshotTree::recordOf(const Node* node) const {
  SnapshotRecord record{node->name, std::nullopt, node->location};
  if (node->parent != nullptr && node->parent != metaroot_.get()) {
    record.parent = node->parent->name;
  }
  return record;
}

// --- Queries -------------------------------------------------------------------------------------

bool SnapshotTree::contains(std::string_view name) const {
  return lookup(name) != nullptr;
}

std::optional<std::string> SnapshotTree::current() const {
  return current_ ? std::optional<std::string>(current_->name) : std::nullopt;
}

std::optional<SnapshotRecord> SnapshotTree::find(std::string_view name) const {
  const Node* node = lookup(name);
  return node ? std::optional<SnapshotRecord>(recordOf(node)) : std::nullopt;
}

std::optional<std::string> SnapshotTree::parentOf(std::string_view name) const {
  const Node* node = lookup(name);
  return node ? recordOf(node).parent : std::nullopt;
}

std::vector<std::string> SnapshotTree::childrenOf(std::string_view name) const {
  std::vector<std::string> out;
  if (const Node* node = lookup(name)) {
    for (const Node* child : node->children) {
      out.push_back(child->name);
    }
  }
  return out;
}

std::vector<std::string> SnapshotTree::roots() const {
  std::vector<std::string> out;
  for (const Node* child : metaroot_->children) {
    out.push_back(child->name);
  }
  return out;
}

std::vector<std::string> SnapshotTree::leaves() const {
  std::vector<std::string> out;
  for (const auto& [name, node] : nodes_) {
    if (node->children.empty()) {
      out.push_back(node->name);
    }
  }
  return sortedNames(std::move(out));
}

std::optional<std::size_t> SnapshotTree::depth(std::string_view name) const {
  const Node* node = lookup(name);
  if (node == nullptr) {
    return std::nullopt;
  }
  std::size_t ancestors = 0;
  for (const Node* p = node->parent; p != metaroot_.get(); p = p->parent) {
    ++ancestors;
  }
  return ancestors;
}

std::vector<std::string> SnapshotTree::activeChain() const {
  std::vector<std::string> out;
  for (const Node* n = current_; n != nullptr && n != metaroot_.get(); n = n->parent) {
    out.push_back(n->name);
  }
  return out;
}

bool SnapshotTree::inActiveChain(std::string_view name) const {
  for (const Node* n = current_; n != nullptr && n != metaroot_.get(); n = n->parent) {
    if (n->name == name) {
      return true;
    }
  }
  return false;
}

void SnapshotTree::forEachTopological(
    const std::function<void(const SnapshotRecord&, std::size_t depth)>& visit) const {
  // Preorder with an explicit stack: parents before children, siblings in name order.
  std::vector<std::pair<const Node*, std::size_t>> stack;
  for (auto it = metaroot_->children.rbegin(); it != metaroot_->children.rend(); ++it) {
    stack.emplace_back(*it, 0);
  }
  while (!stack.empty()) {
    auto [node, level] = stack.back();
    stack.pop_back();
    visit(recordOf(node), level);
    for (auto it = node->children.rbegin(); it != node->children.rend(); ++it) {
      stack.emplace_back(*it, level + 1);
    }
  }
}

std::vector<SnapshotRecord> SnapshotTree::topologicalOrder() const {
  std::vector<SnapshotRecord> out;
  out.reserve(nodes_.size());
  forEachTopological([&](const SnapshotRecord& record, std::size_t) { out.push_back(record); });
  return out;
}

std::vector<std::string> SnapshotTree::descendantsOf(std::string_view name) const {
  std::vector<std::string> out;
  if (const Node* node = lookup(name)) {
    for (const Node* d : collectDescendants(node)) {
      out.push_back(d->name);
    }
  }
  return out;
}

// --- libvirt's operations ------------------------------------------------------------------------

Expected<SnapshotRecord, TreeError> SnapshotTree::create(SnapshotRecord record) {
  if (record.name.empty()) {
    return TreeError{TreeErrorCode::InvalidName, "", "a snapshot needs a name", std::nullopt};
  }
  if (contains(record.name)) {
    return TreeError{TreeErrorCode::AlreadyExists, record.name,
                     "snapshot '" + record.name + "' already exists", std::nullopt};
  }
  Node* parent = current_ ? current_ : metaroot_.get();
  current_ = addNode(std::move(record), parent);
  return recordOf(current_);
}

std::optional<TreeError> SnapshotTree::revert(std::string_view name) {
  Node* node = lookup(name);
  if (node == nullptr) {
    return notFound(name);
  }
  current_ = node;
  return std::nullopt;
}

std::optional<DeletionBlock> SnapshotTree::checkDeletion(std::string_view name, DeleteOptions options) const {
  if (!contains(name)) {
    return std::nullopt;
  }
  return ExternalDeletionRules(*this).check(name, options);
}

Expected<DeleteOutcome, TreeError> SnapshotTree::remove(std::string_view name, DeleteOptions options) {
  Node* node = lookup(name);
  if (node == nullptr) {
    return notFound(name);
  }
  if (auto block = checkDeletion(name, options)) {
    return TreeError{TreeErrorCode::Blocked, std::string(name), block->message, block};
  }

  DeleteOutcome outcome;
  Node* parent = node->parent;
  // Only a subtree deletion needs to know whether current sits below; a plain one stays O(children).
  auto currentIsBelow = [&] {
    for (const Node* n = current_ != nullptr ? current_->parent : nullptr; n != nullptr; n = n->parent) {
      if (n == node) {
        return true;
      }
    }
    return false;
  };

  if (options.scope != DeleteScope::Snapshot) {
    // Children go before their parents; erase deepest first so each erased node is a leaf.
    const bool currentWasBelow = currentIsBelow();
    std::vector<Node*> below = collectDescendants(node);
    for (const Node* d : below) {
      outcome.removed.push_back(d->name);
    }
    for (auto it = below.rbegin(); it != below.rend(); ++it) {
      eraseNode(*it);
    }
    if (currentWasBelow) {
      // libvirt moves current up to the snapshot whose subtree went away.
      current_ = node;
    }
  } else {
    for (const Node* child : node->children) {
      outcome.reparented.push_back(child->name);
    }
    moveChildren(node, parent);
  }

  if (options.scope != DeleteScope::ChildrenOnly) {
    outcome.removed.insert(outcome.removed.begin(), node->name);
    const bool wasCurrent = current_ == node;
    eraseNode(node);
    if (wasCurrent && parent != metaroot_.get()) {
      current_ = parent;
    }
  }
  outcome.current = current();
  return outcome;
}

// --- Whole-tree operations -----------------------------------------------------------------------

void SnapshotTree::clear() {
  current_ = nullptr;
  metaroot_->children.clear();
  nodes_.clear();
}

RebuildReport SnapshotTree::rebuild(std::span<const SnapshotRecord> records,
                                    std::optional<std::string> current) {
  clear();
  RebuildReport report;

  // Index first, so that the links below do not depend on the order of `records`.
  std::vector<const SnapshotRecord*> unique;
  unique.reserve(records.size());
  for (const SnapshotRecord& record : records) {
    if (record.name.empty()) {
      continue;
    }
    if (contains(record.name)) {
      report.duplicates.push_back(record.name);
      continue;
    }
    auto node = std::make_unique<Node>();
    node->name = record.name;
    node->location = record.location;
    const Node* raw = node.get();
    nodes_.emplace(std::string_view(raw->name), std::move(node));
    unique.push_back(&record);
  }

  // Tentative parents; an unknown parent makes an orphan, attached at the root.
  std::unordered_map<const Node*, Node*> wanted;
  wanted.reserve(unique.size());
  for (const SnapshotRecord* record : unique) {
    Node* node = lookup(record->name);
    Node* parent = metaroot_.get();
    if (record->parent && !record->parent->empty()) {
      if (Node* p = lookup(*record->parent)) {
        parent = p;
      } else {
        report.orphans.push_back(record->name);
      }
    }
    wanted[node] = parent;
  }

  // Each node has one parent, so cycles are found by walking up with three colours. In each cycle
  // the member with the smallest name goes to the root: deterministic, whatever the input order.
  enum class Colour { White, OnPath, Done };
  std::unordered_map<const Node*, Colour> colour;
  colour.reserve(unique.size());
  std::vector<Node*> ordered;
  ordered.reserve(unique.size());
  for (const SnapshotRecord* record : unique) {
    ordered.push_back(lookup(record->name));
  }
  std::sort(ordered.begin(), ordered.end(), NameLess{});
  for (Node* start : ordered) {
    std::vector<Node*> path;
    Node* n = start;
    while (n != metaroot_.get() && colour[n] == Colour::White) {
      colour[n] = Colour::OnPath;
      path.push_back(n);
      n = wanted[n];
    }
    if (n != metaroot_.get() && colour[n] == Colour::OnPath) {
      auto first = std::find(path.begin(), path.end(), n);
      Node* breakAt = *std::min_element(first, path.end(), NameLess{});
      wanted[breakAt] = metaroot_.get();
      report.cycleBreaks.push_back(breakAt->name);
    }
    for (Node* p : path) {
      colour[p] = Colour::Done;
    }
  }

  for (Node* node : ordered) {
    linkParent(node, wanted[node]);
  }
  if (current) {
    current_ = lookup(*current);
    if (current_ == nullptr) {
      report.clearedCurrent = *current;
    }
  }
  report.orphans = sortedNames(std::move(report.orphans));
  report.cycleBreaks = sortedNames(std::move(report.cycleBreaks));
  report.duplicates = sortedNames(std::move(report.duplicates));
  return report;
}

std::optional<RedefineFailure> SnapshotTree::redefineAll(std::span<const SnapshotRecord> records,
                                                         std::optional<std::string> current,
                                                         const RedefineStep& step) {
  std::vector<Node*> added;
  Node* const previousCurrent = current_;

  auto fail = [&](TreeError error) {
    RedefineFailure failure{std::move(error), {}};
    // Children before parents, so each removal is of a leaf; eraseNode resets current as it goes.
    for (auto it = added.rbegin(); it != added.rend(); ++it) {
      failure.rolledBack.push_back((*it)->name);
      eraseNode(*it);
    }
    if (current_ == nullptr && previousCurrent != nullptr && contains(previousCurrent->name)) {
      current_ = previousCurrent;
    }
    return failure;
  };

  // Parents before children: a record goes once its parent is in the tree. Ready records are kept
  // in name order so the order (and the first failure) is the same for any input order.
  std::unordered_map<std::string_view, std::vector<const SnapshotRecord*>> waiting;
  std::set<std::pair<std::string_view, const SnapshotRecord*>> ready;
  std::unordered_set<std::string_view> given;
  for (const SnapshotRecord& record : records) {
    if (record.name.empty()) {
      return fail(
          TreeError{TreeErrorCode::InvalidName, "", "a redefined snapshot needs a name", std::nullopt});
    }
    if (contains(record.name) || !given.insert(record.name).second) {
      return fail(TreeError{TreeErrorCode::AlreadyExists, record.name,
                            "snapshot '" + record.name + "' is defined twice", std::nullopt});
    }
  }
  for (const SnapshotRecord& record : records) {
    if (!record.parent || contains(*record.parent)) {
      ready.emplace(record.name, &record);
    } else if (given.count(*record.parent) != 0) {
      waiting[*record.parent].push_back(&record);
    } else {
      return fail(TreeError{
          TreeErrorCode::NotFound, record.name,
          "parent '" + *record.parent + "' of snapshot '" + record.name + "' is not defined", std::nullopt});
    }
  }

  while (!ready.empty()) {
    const SnapshotRecord* record = ready.begin()->second;
    ready.erase(ready.begin());
    const bool makeCurrent = current && *current == record->name;
    if (step) {
      if (auto error = step(*record, makeCurrent)) {
        return fail(TreeError{TreeErrorCode::StepFailed, record->name,
                              "redefining snapshot '" + record->name + "' failed: " + *error, std::nullopt});
      }
    }
    Node* parent = record->parent ? lookup(*record->parent) : metaroot_.get();
    Node* node = addNode(*record, parent);
    added.push_back(node);
    if (makeCurrent) {
      current_ = node;
    }
    if (auto it = waiting.find(node->name); it != waiting.end()) {
      for (const SnapshotRecord* child : it->second) {
        ready.emplace(child->name, child);
      }
      waiting.erase(it);
    }
  }

  // What is still waiting hangs from a parent that never became ready: a cycle among the records.
  if (!waiting.empty()) {
    std::string smallest;
    for (const auto& [parent, children] : waiting) {
      for (const SnapshotRecord* child : children) {
        if (smallest.empty() || child->name < smallest) {
          smallest = child->name;
        }
      }
    }
    return fail(TreeError{TreeErrorCode::Cycle, smallest,
                          "snapshot '" + smallest + "' is its own ancestor in the definitions",
                          std::nullopt});
  }
  if (current && !contains(*current)) {
    return fail(TreeError{TreeErrorCode::NotFound, *current,
                          "current snapshot '" + *current + "' is not among the definitions", std::nullopt});
  }
  return std::nullopt;
}

std::optional<std::string> SnapshotTree::checkInvariants() const {
  if (metaroot_->parent != nullptr) {
    return "the metaroot has a parent";
  }
  std::size_t reached = 0;
  std::vector<const Node*> stack{metaroot_.get()};
  std::unordered_set<const Node*> seen;
  while (!stack.empty()) {
    const Node* node = stack.back();
    stack.pop_back();
    if (!seen.insert(node).second) {
      return "snapshot '" + node->name + "' is reached twice";
    }
    for (const Node* child : node->children) {
      if (child->parent != node) {
        return "snapshot '" + child->name + "' is a child of '" + node->name + "' but names another parent";
      }
      if (lookup(child->name) != child) {
        return "snapshot '" + child->name + "' is linked but not indexed";
      }
      ++reached;
      stack.push_back(child);
    }
  }
  if (reached != nodes_.size()) {
    return "only " + std::to_string(reached) + " of " + std::to_string(nodes_.size()) +
           " snapshots are reachable from the root";
  }
  if (current_ != nullptr && lookup(current_->name) != current_) {
    return "the current snapshot is not in the tree";
  }
  return std::nullopt;
}

}  // namespace virtsnap::drivers
