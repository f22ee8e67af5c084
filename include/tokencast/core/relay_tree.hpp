// The host's planner of the relay tree, sans I/O (docs/ARCHITECTURE.md "Relay tree",
// docs/PROTOCOL.md section 6).
//
// When a room outgrows the host's direct fan-out, new viewers hang below viewers that offered to
// relay (up to their capacity, at most max_children each), as close to the host as a free slot
// allows (breadth first), never deeper than max_depth hops. When a relay leaves or stalls, each
// of its children moves, with its whole subtree, to another parent that keeps every node within
// max_depth (preferring the shallowest; never one inside its own subtree), and resumes there
// from the last relay record it verified (progress()). The planner only decides; introducing a
// child to its parent and the stall timers are the host runtime's part (not wired yet).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <set>
#include <system_error>
#include <unordered_map>
#include <utility>
#include <vector>

#include "tokencast/core/expected.hpp"

namespace tokencast {

// A viewer's id in the tree (the host's peer id); 0 is the host itself.
using RelayNodeId = uint64_t;
inline constexpr RelayNodeId kRelayHost = 0;

struct RelayTreeOptions {
  // Viewers the host serves itself before it hangs new ones below relays (tokencast host's
  // direct fan-out flag).
  size_t host_children = 32;
  // k: children per relay at most, whatever capacity it offers.
  size_t max_children = 4;
  // Hops from the host at most (the host's own children are at depth 1).
  size_t max_depth = 8;
  // Viewers in the tree at most (every table is bounded by it).
  size_t max_viewers = 1'000'000;
};

enum class RelayTreeError {
  kDuplicate = 1,  // join: the id is in the tree already (or is 0, the host)
  kUnknown = 2,    // leave / progress: not in the tree
  kFull = 3,       // join: no free slot within max_depth, or max_viewers reached
};
const std::error_category& relay_tree_category();
std::error_code make_error_code(RelayTreeError e);

// Where a viewer (and its subtree) now hangs, and where its new parent starts sending: after
// relay record `resume_after` (the last one it reported verified; 0 for a new viewer).
struct RelayPlacement {
  RelayNodeId viewer = 0;
  RelayNodeId parent = 0;
  size_t depth = 0;
  uint64_t resume_after = 0;
  bool operator==(const RelayPlacement&) const = default;
};

struct RelayDeparture {
  std::vector<RelayPlacement> moved;  // the leaver's children, each with its subtree
  // Children no parent could take (the tree is full at every admissible depth): they and their
  // subtrees left the tree; the host serves them otherwise or refuses them.
  std::vector<RelayNodeId> dropped;
};

class RelayTree {
 public:
  explicit RelayTree(RelayTreeOptions options = {});

  // A new viewer that can relay to `capacity` children (0: a leaf, e.g. a phone on mobile data;
  // capped at max_children). Errors: kDuplicate, kFull.
  Expected<RelayPlacement, RelayTreeError> join(RelayNodeId viewer, size_t capacity);

  // The viewer leaves, or the host gives up on it (stalled, or caught tampering by a child):
  // it leaves the tree and its children move. Error: kUnknown.
  Expected<RelayDeparture, RelayTreeError> leave(RelayNodeId viewer);

  // The viewer now offers to relay for `capacity` children (capped at max_children): a host
  // places a viewer when its offer arrives, before its hello says what it can relay for. A
  // lower capacity keeps the children it has and takes no more. Error: kUnknown.
  Expected<void, RelayTreeError> set_capacity(RelayNodeId viewer, size_t capacity);

  // The viewer verified relay records up to `index` (reported by it; kept as its resume point).
  Expected<void, RelayTreeError> progress(RelayNodeId viewer, uint64_t index);

  bool contains(RelayNodeId viewer) const { return nodes_.contains(viewer); }
  std::optional<RelayNodeId> parent(RelayNodeId viewer) const;
  std::vector<RelayNodeId> children(RelayNodeId node) const;
  std::optional<size_t> depth(RelayNodeId viewer) const;
  size_t size() const { return nodes_.size() - 1; }  // viewers, the host not counted
  // The deepest viewer's depth (0 when empty).
  size_t height() const;
  // Checks every invariant (parents and children agree, capacities, depths, the open set);
  // for tests and the simulation.
  bool consistent() const;

 private:
  struct Node {
    RelayNodeId parent = kRelayHost;
    size_t depth = 0;
    size_t capacity = 0;
    std::vector<RelayNodeId> children;
    uint64_t verified = 0;
  };

  bool admits_child(const Node& n) const;
  void update_open(RelayNodeId id);
  size_t subtree_height(RelayNodeId id) const;
  bool in_subtree(RelayNodeId root, RelayNodeId candidate) const;
  void attach(RelayNodeId child, RelayNodeId parent);
  void shift_depths(RelayNodeId root, size_t new_depth);
  void remove_subtree(RelayNodeId root);
  std::optional<RelayNodeId> find_parent(RelayNodeId orphan, size_t orphan_height) const;

  RelayTreeOptions options_;
  std::unordered_map<RelayNodeId, Node> nodes_;
  // Nodes that can take a child now, ordered shallowest first (then by id: deterministic).
  std::set<std::pair<size_t, RelayNodeId>> open_;
};

}  // namespace tokencast

template <>
struct std::is_error_code_enum<tokencast::RelayTreeError> : std::true_type {};
