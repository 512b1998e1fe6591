#pragma once

// Balancing algorithms as pure policy classes: no CAF, no sockets. The picker actor owns
// one and asks it to choose among the backends it may use right now. Each class states its
// maths; tests/actors/balancer/distribution_test.cpp checks the distributions they promise.

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
  uint32_t weight = 1;   ///< >= 1
  std::string id;        ///< stable name; the hashing policies hash it (empty: the index)
};

/// Chooses one backend for a new connection.
class balancing_policy {
 public:
  virtual ~balancing_policy() = default;

  /// Returns the index of the chosen backend, or nothing when none is eligible. `key`
  /// identifies the client (see `client_key`); only the hashing policies read it.
  std::optional<size_t> pick(const std::vector<candidate>& backends, std::string_view key = {}) {
    return choose(backends, key);
  }

  /// Returns the policy's short name (`rr`, `lc`, `rand`, `p2c`, `hash`, `maglev`).
  virtual std::string name() const = 0;

 protected:
  virtual std::optional<size_t> choose(const std::vector<candidate>& backends,
                                       std::string_view key) = 0;
};

/// Smooth weighted round robin (nginx's, ngx_http_upstream_get_peer): every eligible
/// backend i keeps a current weight c_i, starting at 0. Each pick adds w_i to every c_i,
/// chooses the largest c_i (the first in list order on a tie) and subtracts W = Σ w_i
/// from it. Over any W consecutive picks with an unchanged set, backend i is chosen exactly
/// w_i times, interleaved: weights 5,1,1 give a a b a c a a (never a a a a a b c). Equal
/// weights give plain round robin in list order. Ineligible backends neither gain nor lose;
/// a change in the backend set (ids or count) starts every c_i at 0 again.
class round_robin final : public balancing_policy {
 public:
  std::string name() const override { return "rr"; }

 protected:
  std::optional<size_t> choose(const std::vector<candidate>& backends,
                               std::string_view key) override;

 private:
  std::vector<int64_t> current_;
  std::vector<std::string> ids_;  // the set `current_` belongs to
};

/// Least connections: the eligible backend with the lowest load_i / w_i (compared as
/// load_i · w_j < load_j · w_i, no division); ties go round robin so that equal backends
/// share new connections evenly. With connections that stay open, backend i holds
/// w_i / W of them.
class least_connections final : public balancing_policy {
 public:
  std::string name() const override { return "lc"; }

 protected:
  std::optional<size_t> choose(const std::vector<candidate>& backends,
                               std::string_view key) override;

 private:
  size_t next_ = 0;
};

/// Weighted random: draws r uniformly from [0, W) over the eligible backends' weights
/// and chooses the backend whose cumulative weight interval holds r, so P(i) = w_i / W.
/// Seeded: the same seed and the same sequence of candidate lists give the same picks.
class uniform_random final : public balancing_policy {
 public:
  explicit uniform_random(uint64_t seed) : rng_(seed) {}
  std::string name() const override { return "rand"; }

 protected:
  std::optional<size_t> choose(const std::vector<candidate>& backends,
                               std::string_view key) override;

 private:
  std::mt19937_64 rng_;
};

/// Power of two choices (Mitzenmacher 2001; Envoy LEAST_REQUEST, HAProxy random(2)):
/// two independent draws by weight (as `rand`, P(i) = w_i / W each), and the one with
/// the lower load_i / w_i wins; on a tie the first draw wins. With no load it is weighted
/// random; with connections that stay open, a backend above its share w_i / W of the load
/// loses every draw against one below it, so the shares converge to w_i / W while the
/// maximum load stays O(log log n) above the mean instead of O(log n / log log n).
class power_of_two final : public balancing_policy {
 public:
  explicit power_of_two(uint64_t seed) : rng_(seed) {}
  std::string name() const override { return "p2c"; }

 protected:
  std::optional<size_t> choose(const std::vector<candidate>& backends,
                               std::string_view key) override;

 private:
  std::mt19937_64 rng_;
};

/// Consistent hashing with bounded loads, on rendezvous (highest random weight) hashing.
///
/// Rank: for key k, backend i scores s_i = -w_i / ln(u_i), u_i = h(k, id_i) mapped into
/// (0, 1), h a 64-bit hash of both (weighted rendezvous, the logarithmic method): the
/// highest score wins, with P(i) = w_i / W exactly. Removing a backend moves only the
/// keys it held (a fraction w_i / W, 1/N for equal weights); adding one takes only the
/// keys it now wins; all others keep their backend.
///
/// Bounded load (Mirrokni, Thorup, Zadimoghaddam 2018; HAProxy hash-balance-factor,
/// Envoy hash_balance_factor): with L the total load over eligible backends, backend i
/// may take the key only while load_i + 1 <= ceil(c · (L + 1) · w_i / W), c = 1.25;
/// otherwise the key goes to the next backend in its rank order. So no backend carries
/// more than 125 % of its weighted share, and a key keeps its backend while that backend
/// is not overloaded.
class consistent_hash final : public balancing_policy {
 public:
  /// `balance_factor` is c above; 0 turns the bound off (pure rendezvous).
  explicit consistent_hash(double balance_factor = 1.25) : c_(balance_factor) {}
  std::string name() const override { return "hash"; }

 protected:
  std::optional<size_t> choose(const std::vector<candidate>& backends,
                               std::string_view key) override;

 private:
  double c_;
  std::vector<std::pair<double, size_t>> ranked_;  // scratch
};

/// Maglev hashing (Eisenbud et al., NSDI 2016; Envoy MAGLEV, Katran), table size
/// M = 65537 (prime). Backend i gets offset_i = h1(id_i) mod M and
/// skip_i = h2(id_i) mod (M - 1) + 1; its preference list is
/// (offset_i + j · skip_i) mod M, j = 0, 1, ..., a permutation of the slots as M is
/// prime. The table fills in rounds: in round r, backend i takes its next free preferred
/// slot when r · w_i >= t_i, then t_i += w_max (Envoy's weighted fill), so backend i owns
/// about M · w_i / W slots. A key goes to table[h(k) mod M]. Removing one of N backends
/// remaps its own slots and only a few others (the paper measures a few %), about 1/N of
/// keys. The table covers the eligible backends and is rebuilt when that set or a weight
/// changes.
class maglev final : public balancing_policy {
 public:
  static constexpr uint32_t table_size = 65537;
  std::string name() const override { return "maglev"; }

 protected:
  std::optional<size_t> choose(const std::vector<candidate>& backends,
                               std::string_view key) override;

 private:
  void rebuild(const std::vector<candidate>& backends);

  std::vector<std::pair<std::string, uint32_t>> built_for_;  // eligible ids and weights
  std::vector<uint32_t> table_;                              // candidate indices
};

/// The 64-bit hash the hashing policies use (FNV-1a, then the splitmix64 finalizer for
/// avalanche): stable across runs, machines and builds, unlike std::hash.
uint64_t stable_hash(std::string_view text, uint64_t seed = 0);

/// Returns the policy named `name` (see `protocols::algorithm_names`), or null for an
/// unknown name. `seed` seeds rand and p2c; `hash_balance` is hash's c in percent (125 is
/// c = 1.25; 0 turns the bound off).
std::unique_ptr<balancing_policy> make_policy(std::string_view name, uint64_t seed,
                                              uint32_t hash_balance = 125);

/// Returns the names `make_policy` knows, for messages and help texts.
std::string policy_names();

}  // namespace l4sim::actors
