#include "tokencast/core/relay_tree.hpp"

#include <algorithm>
#include <string>

namespace tokencast {
namespace {

class RelayTreeCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "tokencast.relay_tree"; }
  std::string message(int value) const override {
    switch (static_cast<RelayTreeError>(value)) {
      case RelayTreeError::kDuplicate:
        return "viewer already in the relay tree";
      case RelayTreeError::kUnknown:
        return "viewer not in the relay tree";
      case RelayTreeError::kFull:
        return "no free relay slot within the depth bound";
    }
    return "unknown relay tree error";
  }
};

}  // namespace

const std::error_category& relay_tree_category() {
  static const RelayTreeCategory category;
  return category;
}

std::error_code make_error_code(RelayTreeError e) {
  return {static_cast<int>(e), relay_tree_category()};
}

RelayTree::RelayTree(RelayTreeOptions options) : options_(options) {
  options_.max_children = std::max<size_t>(options_.max_children, 1);
  options_.max_depth = std::max<size_t>(options_.max_depth, 1);
  Node host;
  host.parent = kRelayHost;
  host.capacity = options_.host_children;
  nodes_.emplace(kRelayHost, std::move(host));
  update_open(kRelayHost);
}

bool RelayTree::admits_child(const Node& n) const {
  return n.children.size() < n.capacity && n.depth < options_.max_depth;
}

void RelayTree::update_open(RelayNodeId id) {
  const Node& n = nodes_.at(id);
  if (admits_child(n)) {
    open_.insert({n.depth, id});
  } else {
    open_.erase({n.depth, id});
  }
}

Expected<RelayPlacement, RelayTreeError> RelayTree::join(RelayNodeId viewer, size_t capacity) {
  if (viewer == kRelayHost || nodes_.contains(viewer))
    return unexpected(RelayTreeError::kDuplicate);
  if (size() >= options_.max_viewers || open_.empty()) return unexpected(RelayTreeError::kFull);
  const RelayNodeId parent = open_.begin()->second;
  Node n;
  n.capacity = std::min(capacity, options_.max_children);
  nodes_.emplace(viewer, std::move(n));
  attach(viewer, parent);
  return RelayPlacement{viewer, parent, nodes_.at(viewer).depth, 0};
}

Expected<void, RelayTreeError> RelayTree::set_capacity(RelayNodeId viewer, size_t capacity) {
  auto it = nodes_.find(viewer);
  if (viewer == kRelayHost || it == nodes_.end()) return unexpected(RelayTreeError::kUnknown);
  it->second.capacity = std::min(capacity, options_.max_children);
  update_open(viewer);
  return {};
}

void RelayTree::attach(RelayNodeId child, RelayNodeId parent) {
  Node& p = nodes_.at(parent);
  p.children.push_back(child);
  const size_t depth = p.depth + 1;
  update_open(parent);
  nodes_.at(child).parent = parent;
  shift_depths(child, depth);
}

// Sets root's depth and its subtree's accordingly (iteratively: a tree is at most max_depth
// deep, but a path could be long while invariants are being restored).
void RelayTree::shift_depths(RelayNodeId root, size_t new_depth) {
  std::vector<std::pair<RelayNodeId, size_t>> stack{{root, new_depth}};
  while (!stack.empty()) {
    auto [id, depth] = stack.back();
    stack.pop_back();
    Node& n = nodes_.at(id);
    open_.erase({n.depth, id});
    n.depth = depth;
    update_open(id);
    for (RelayNodeId c : n.children) stack.push_back({c, depth + 1});
  }
}

size_t RelayTree::subtree_height(RelayNodeId id) const {
  size_t height = 0;
  const size_t base = nodes_.at(id).depth;
  std::vector<RelayNodeId> stack{id};
  while (!stack.empty()) {
    const Node& n = nodes_.at(stack.back());
    stack.pop_back();
    height = std::max(height, n.depth - base);
    stack.insert(stack.end(), n.children.begin(), n.children.end());
  }
  return height;
}

bool RelayTree::in_subtree(RelayNodeId root, RelayNodeId candidate) const {
  for (RelayNodeId id = candidate;;) {
    if (id == root) return true;
    const RelayNodeId up = nodes_.at(id).parent;
    if (id == kRelayHost || up == id) return false;  // the host, or another detached orphan
    id = up;
  }
}

// The shallowest open node that keeps the orphan's subtree within max_depth and is not in it.
std::optional<RelayNodeId> RelayTree::find_parent(RelayNodeId orphan, size_t orphan_height) const {
  for (const auto& [depth, id] : open_) {
    if (depth + 1 + orphan_height > options_.max_depth) break;  // deeper ones fit even less
    if (!in_subtree(orphan, id)) return id;
  }
  return std::nullopt;
}

void RelayTree::remove_subtree(RelayNodeId root) {
  std::vector<RelayNodeId> stack{root};
  while (!stack.empty()) {
    const RelayNodeId id = stack.back();
    stack.pop_back();
    auto it = nodes_.find(id);
    open_.erase({it->second.depth, id});
    stack.insert(stack.end(), it->second.children.begin(), it->second.children.end());
    nodes_.erase(it);
  }
}

Expected<RelayDeparture, RelayTreeError> RelayTree::leave(RelayNodeId viewer) {
  if (viewer == kRelayHost || !nodes_.contains(viewer)) return unexpected(RelayTreeError::kUnknown);
  Node leaving = std::move(nodes_.at(viewer));
  open_.erase({leaving.depth, viewer});
  nodes_.erase(viewer);
  Node& p = nodes_.at(leaving.parent);
  p.children.erase(std::find(p.children.begin(), p.children.end(), viewer));
  update_open(leaving.parent);

  // Orphans detach first (so none can be chosen as another's parent while hanging nowhere),
  // then the tallest subtrees are placed first: they have the fewest admissible parents.
  std::vector<std::pair<size_t, RelayNodeId>> orphans;
  for (RelayNodeId c : leaving.children) {
    orphans.push_back({subtree_height(c), c});
    nodes_.at(c).parent = c;  // detached: in_subtree() stops at it
    open_.erase({nodes_.at(c).depth, c});
  }
  std::stable_sort(orphans.begin(), orphans.end(),
                   [](const auto& a, const auto& b) { return a.first > b.first; });
  // Detached orphans (and their subtrees) are not offered as parents until placed: out of the
  // open set now, back in as attach() sets their depths.
  for (const auto& [height, c] : orphans) {
    std::vector<RelayNodeId> stack{c};
    while (!stack.empty()) {
      const Node& n = nodes_.at(stack.back());
      open_.erase({n.depth, stack.back()});
      stack.pop_back();
      stack.insert(stack.end(), n.children.begin(), n.children.end());
    }
  }
  RelayDeparture out;
  for (const auto& [height, c] : orphans) {
    if (auto parent = find_parent(c, height)) {
      attach(c, *parent);  // re-adds c's subtree to the open set as it shifts depths
      out.moved.push_back({c, *parent, nodes_.at(c).depth, nodes_.at(c).verified});
    } else {
      remove_subtree(c);
      out.dropped.push_back(c);
    }
  }
  return out;
}

Expected<void, RelayTreeError> RelayTree::progress(RelayNodeId viewer, uint64_t index) {
  auto it = nodes_.find(viewer);
  if (viewer == kRelayHost || it == nodes_.end()) return unexpected(RelayTreeError::kUnknown);
  it->second.verified = std::max(it->second.verified, index);
  return {};
}

std::optional<RelayNodeId> RelayTree::parent(RelayNodeId viewer) const {
  auto it = nodes_.find(viewer);
  if (viewer == kRelayHost || it == nodes_.end()) return std::nullopt;
  return it->second.parent;
}

std::vector<RelayNodeId> RelayTree::children(RelayNodeId node) const {
  auto it = nodes_.find(node);
  return it == nodes_.end() ? std::vector<RelayNodeId>{} : it->second.children;
}

std::optional<size_t> RelayTree::depth(RelayNodeId viewer) const {
  auto it = nodes_.find(viewer);
  if (viewer == kRelayHost || it == nodes_.end()) return std::nullopt;
  return it->second.depth;
}

size_t RelayTree::height() const {
  size_t h = 0;
  for (const auto& [id, n] : nodes_) h = std::max(h, n.depth);
  return h;
}

bool RelayTree::consistent() const {
  std::set<std::pair<size_t, RelayNodeId>> open;
  for (const auto& [id, n] : nodes_) {
    if (admits_child(n)) open.insert({n.depth, id});
    // set_capacity may lower a capacity below the children a viewer keeps: k bounds them all.
    if (n.children.size() > (id == kRelayHost ? n.capacity : options_.max_children)) return false;
    if (id != kRelayHost) {
      if (n.capacity > options_.max_children) return false;
      if (n.depth < 1 || n.depth > options_.max_depth) return false;
      auto p = nodes_.find(n.parent);
      if (p == nodes_.end() || p->second.depth + 1 != n.depth) return false;
      if (std::count(p->second.children.begin(), p->second.children.end(), id) != 1) return false;
    }
    for (RelayNodeId c : n.children) {
      auto ch = nodes_.find(c);
      if (ch == nodes_.end() || ch->second.parent != id) return false;
    }
  }
  return open == open_;
}

}  // namespace tokencast
