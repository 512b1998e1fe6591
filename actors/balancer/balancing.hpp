#pragma once

// Balancing algorithms as pure policy classes: no CAF, no sockets. The picker actor owns
// one and asks it to choose among the backends it may use right now.

#include <cstdint>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace l4sim::actors {

/// What a policy may know about one backend when choosing.
struct candidate {
  bool eligible = true;  ///< healthy and not excluded for this pick
  uint64_t load = 0;     ///< connections open or being opened
  uint32_t weight = 1;
};

/// Chooses one backend for a new connection.
class balancing_policy {
 public:
  virtual ~balancing_policy() = default;

  /// Returns the index of the chosen backend, or nothing when none is eligible.
  virtual std::optional<size_t> pick(const std::vector<candidate>& backends) = 0;

  /// Returns the policy's short name (`rr`, `lc`, `rand`).
  virtual std::string name() const = 0;
};

/// Round robin: the eligible backend after the previous pick, in list order; backends
/// that are not eligible are skipped without disturbing the cycle. Over k·n picks with n
/// eligible backends, each gets exactly k.
class round_robin final : public balancing_policy {
 public:
  std::optional<size_t> pick(const std::vector<candidate>& backends) override;
  std::string name() const override { return "rr"; }

 private:
  size_t next_ = 0;
};

/// Least connections: the eligible backend with the lowest load / weight; ties go round
/// robin so that equal backends share new connections evenly.
class least_connections final : public balancing_policy {
 public:
  std::optional<size_t> pick(const std::vector<candidate>& backends) override;
  std::string name() const override { return "lc"; }

 private:
  size_t next_ = 0;
};

/// Uniform random over the eligible backends, from a seeded generator: the same seed and
/// the same sequence of candidate lists give the same picks.
class uniform_random final : public balancing_policy {
 public:
  explicit uniform_random(uint64_t seed) : rng_(seed) {}
  std::optional<size_t> pick(const std::vector<candidate>& backends) override;
  std::string name() const override { return "rand"; }

 private:
  std::mt19937_64 rng_;
};

/// Returns the policy named `name` (`rr`, `lc`, `rand`), or null for an unknown name.
std::unique_ptr<balancing_policy> make_policy(std::string_view name, uint64_t seed);

/// Returns the names `make_policy` knows, for messages and help texts.
std::string policy_names();

}  // namespace l4sim::actors
