#pragma once
// Data-parallel training over PyTorch's c10d (docs/distributed.md): a TCPStore
// rendezvous at MASTER_ADDR:MASTER_PORT, a ProcessGroupGloo (ProcessGroupNCCL in CUDA
// builds) among WORLD_SIZE ranks, bucketed sums and broadcasts with a timeout on every
// collective. When a collective fails, the ranks still alive name the one that is not
// (it exited, was killed or hangs) through the store, instead of hanging.
// World size 1 never comes here: the single-process trainer needs no store.
#include <memory>
#include <string>
#include <vector>

#include "core/common/result.h"

namespace at {
class Tensor;
}

namespace dqa::train {

struct DistributedOptions {
  int rank = 0;
  int worldSize = 1;
  int localRank = 0;       // the rank among those on this host (CUDA: the device index)
  int localWorldSize = 1;  // ranks on this host (to split the host's cores between them)
  std::string masterAddress = "127.0.0.1";
  int masterPort = 29500;
  double timeoutSeconds = 300;   // rendezvous and every collective
  std::string backend = "gloo";  // gloo | nccl (CUDA builds)
  bool enabled() const { return worldSize > 1; }
};

// torchrun's variables (RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR,
// MASTER_PORT) over `defaults`; an error names the variable that is not a number.
Result<DistributedOptions> distributedFromEnvironment(DistributedOptions defaults);

class Communicator {
 public:
  // Rendezvous: every rank must arrive within the timeout with the same WORLD_SIZE.
  static Result<std::unique_ptr<Communicator>> connect(const DistributedOptions& options);
  ~Communicator();
  Communicator(const Communicator&) = delete;
  Communicator& operator=(const Communicator&) = delete;

  int rank() const;
  int worldSize() const;
  // Sums the tensors over all ranks, in place (flattened into buckets per dtype).
  // `what` names the collective in errors ("summing the gradients of step 12").
  Status sum(const std::vector<at::Tensor>& tensors, const std::string& what);
  // Rank 0's values into every rank's tensors, in place.
  Status broadcast(const std::vector<at::Tensor>& tensors, const std::string& what);
  // Tells the other ranks why this one ends, so that their errors can say so.
  void reportFailure(const std::string& message);

 private:
  struct State;
  explicit Communicator(std::unique_ptr<State> state);
  std::unique_ptr<State> s_;
};

}  // namespace dqa::train
