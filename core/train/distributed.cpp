#include "core/train/distributed.h"

#include <ATen/ATen.h>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#ifdef DEPICTQA_WITH_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <map>
#include <thread>

namespace dqa::train {
namespace {

using Clock = std::chrono::steady_clock;
using Milliseconds = std::chrono::milliseconds;
constexpr int64_t kBucketBytes = 25 << 20;  // as torch's DistributedDataParallel

Status readVariable(const char* name, int* value) {
  const char* text = std::getenv(name);
  if (!text || !*text) return Ok{};
  char* end = nullptr;
  const long v = std::strtol(text, &end, 10);
  if (*end != '\0' || v < 0 || v > 1 << 30)
    return makeError(std::string("the environment variable ") + name + "='" + text + "' is not a whole number");
  *value = int(v);
  return Ok{};
}

Status checkOptions(const DistributedOptions& o) {
  const std::string ws = std::to_string(o.worldSize);
  if (o.worldSize < 1) return makeError("WORLD_SIZE (--world-size) must be at least 1, not " + ws);
  if (o.rank < 0 || o.rank >= o.worldSize)
    return makeError("RANK (--rank) " + std::to_string(o.rank) + " is not below WORLD_SIZE " + ws +
                     ": ranks are numbered 0 to WORLD_SIZE-1");
  if (o.masterPort < 1 || o.masterPort > 65535)
    return makeError("MASTER_PORT (--master-port) " + std::to_string(o.masterPort) + " is not a TCP port (1-65535)");
  if (!(o.timeoutSeconds > 0)) return makeError("--dist-timeout must be positive");
#ifdef DEPICTQA_WITH_NCCL
  if (o.backend != "gloo" && o.backend != "nccl") return makeError("--dist-backend must be gloo or nccl");
#else
  if (o.backend != "gloo")
    return makeError("--dist-backend " + o.backend + ": this build has only gloo (nccl needs -DDEPICTQA_CUDA=ON)");
#endif
  return Ok{};
}

std::vector<uint8_t> bytes(const std::string& s) { return {s.begin(), s.end()}; }
std::string text(const std::vector<uint8_t>& b) { return {b.begin(), b.end()}; }

bool isLoopback(const std::string& address) {
  return address == "localhost" || address.rfind("127.", 0) == 0 || address == "::1";
}

// Every rank claims its RANK and checks its WORLD_SIZE against rank 0's; returns when
// all WORLD_SIZE ranks have arrived, or an error saying which did not.
Status rendezvous(c10d::Store& store, const DistributedOptions& o) {
  const std::string ws = std::to_string(o.worldSize), me = std::to_string(o.rank);
  if (o.rank == 0) store.set("dqa/world_size", bytes(ws));
  const std::string theirs = text(store.get("dqa/world_size"));
  if (theirs != ws) {
    store.set("dqa/mismatch", bytes("rank " + me + " was started with WORLD_SIZE=" + ws));
    return makeError("this rank (" + me + ") was started with WORLD_SIZE=" + ws + ", rank 0 with WORLD_SIZE=" + theirs +
                     ": start every rank with the same WORLD_SIZE");
  }
  if (store.add("dqa/rank/" + me, 1) > 1)
    return makeError("two processes were started with RANK=" + me + ": give each rank its own RANK");
  store.add("dqa/joined", 1);
  const auto deadline = Clock::now() + Milliseconds(int64_t(o.timeoutSeconds * 1000));
  for (;;) {
    if (store.check({"dqa/mismatch"}))
      return makeError(text(store.get("dqa/mismatch")) + " but this rank (" + me + ") with WORLD_SIZE=" + ws +
                       ": start every rank with the same WORLD_SIZE");
    if (store.add("dqa/joined", 0) >= o.worldSize) return Ok{};
    if (Clock::now() > deadline) break;
    std::this_thread::sleep_for(Milliseconds(50));
  }
  std::string missing;
  for (int r = 0; r < o.worldSize; ++r)
    if (!store.check({"dqa/rank/" + std::to_string(r)})) missing += (missing.empty() ? "" : ", ") + std::to_string(r);
  return makeError("only " + std::to_string(store.add("dqa/joined", 0)) + " of WORLD_SIZE=" + ws +
                   " ranks arrived within " + std::to_string(int(o.timeoutSeconds)) + " s; missing rank(s): " +
                   missing + ". Start them (same MASTER_ADDR, MASTER_PORT and WORLD_SIZE), or lower WORLD_SIZE");
}

c10::intrusive_ptr<c10d::ProcessGroup> makeGroup(const c10::intrusive_ptr<c10d::Store>& store,
                                                 const DistributedOptions& o) {
  const auto timeout = Milliseconds(int64_t(o.timeoutSeconds * 1000));
  auto prefixed = c10::make_intrusive<c10d::PrefixStore>("dqa/" + o.backend, store);
#ifdef DEPICTQA_WITH_NCCL
  if (o.backend == "nccl") {  // untested: see docs/distributed.md
    auto options = c10d::ProcessGroupNCCL::Options::create();
    options->timeout = timeout;
    return c10::make_intrusive<c10d::ProcessGroupNCCL>(prefixed, o.rank, o.worldSize, options);
  }
#endif
  auto options = c10d::ProcessGroupGloo::Options::create(timeout);
  if (const char* name = std::getenv("GLOO_SOCKET_IFNAME"); name && *name)
    options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(name));
  else if (isLoopback(o.masterAddress))
    options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
  else
    options->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
  return c10::make_intrusive<c10d::ProcessGroupGloo>(prefixed, o.rank, o.worldSize, options);
}

// Consecutive tensors of one dtype, up to kBucketBytes a bucket.
std::vector<std::vector<size_t>> bucketsOf(const std::vector<at::Tensor>& tensors) {
  std::map<at::ScalarType, std::vector<size_t>> byType;
  for (size_t i = 0; i < tensors.size(); ++i) byType[tensors[i].scalar_type()].push_back(i);
  std::vector<std::vector<size_t>> out;
  for (const auto& [type, members] : byType) {
    int64_t bytes = 0;
    out.emplace_back();
    for (size_t i : members) {
      const int64_t n = int64_t(tensors[i].nbytes());
      if (!out.back().empty() && bytes + n > kBucketBytes) {
        out.emplace_back();
        bytes = 0;
      }
      out.back().push_back(i);
      bytes += n;
    }
  }
  return out;
}

// c10::Error's message without its C++ backtrace.
std::string messageOf(const std::exception& e) {
  if (const auto* c = dynamic_cast<const c10::Error*>(&e)) return c->what_without_backtrace();
  return e.what();
}

}  // namespace

Result<DistributedOptions> distributedFromEnvironment(DistributedOptions o) {
  for (auto [name, target] :
       {std::pair{"RANK", &o.rank}, std::pair{"WORLD_SIZE", &o.worldSize}, std::pair{"LOCAL_RANK", &o.localRank},
        std::pair{"LOCAL_WORLD_SIZE", &o.localWorldSize}, std::pair{"MASTER_PORT", &o.masterPort}})
    if (auto ok = readVariable(name, target); !ok) return ok.error();
  if (const char* a = std::getenv("MASTER_ADDR"); a && *a) o.masterAddress = a;
  return o;
}

struct Communicator::State {
  DistributedOptions o;
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::ProcessGroup> group;
  bool broken = false;  // a collective failed: the group is not used again

  Status collective(const std::vector<at::Tensor>& tensors, const std::string& what, bool broadcast);
  std::string census(const std::string& what, const std::string& error);
};

Communicator::Communicator(std::unique_ptr<State> state) : s_(std::move(state)) {}
Communicator::~Communicator() = default;
int Communicator::rank() const { return s_->o.rank; }
int Communicator::worldSize() const { return s_->o.worldSize; }

Result<std::unique_ptr<Communicator>> Communicator::connect(const DistributedOptions& o) {
  if (auto ok = checkOptions(o); !ok) return ok.error();
  auto s = std::make_unique<State>();
  s->o = o;
  const std::string at = o.masterAddress + ":" + std::to_string(o.masterPort);
  c10d::TCPStoreOptions so;
  so.port = uint16_t(o.masterPort);
  so.isServer = o.rank == 0;
  so.waitWorkers = false;
  so.timeout = Milliseconds(int64_t(o.timeoutSeconds * 1000));
  try {
    s->store = c10::make_intrusive<c10d::TCPStore>(o.masterAddress, so);
  } catch (const std::exception& e) {
    if (o.rank == 0)
      return makeError(
          "rank 0 cannot open the rendezvous store on MASTER_PORT " + std::to_string(o.masterPort) +
          " (is the port in use by another program or an earlier run? choose another MASTER_PORT): " + messageOf(e));
    return makeError("rank " + std::to_string(o.rank) + " cannot reach rank 0's rendezvous store at " + at +
                     " within " + std::to_string(int(o.timeoutSeconds)) +
                     " s: is rank 0 running, and are MASTER_ADDR and MASTER_PORT the same on every rank? (" +
                     messageOf(e) + ")");
  }
  try {
    if (auto ok = rendezvous(*s->store, o); !ok) return ok.error();
    s->group = makeGroup(s->store, o);
  } catch (const std::exception& e) {
    return makeError("rendezvous at " + at + " failed on rank " + std::to_string(o.rank) + ": " + messageOf(e));
  }
  return std::unique_ptr<Communicator>(new Communicator(std::move(s)));
}

Status Communicator::sum(const std::vector<at::Tensor>& tensors, const std::string& what) {
  return s_->collective(tensors, what, false);
}

Status Communicator::broadcast(const std::vector<at::Tensor>& tensors, const std::string& what) {
  return s_->collective(tensors, what, true);
}

Status Communicator::State::collective(const std::vector<at::Tensor>& tensors, const std::string& what, bool bcast) {
  if (broken) return makeError(what + ": an earlier collective failed");
  at::NoGradGuard noGrad;
  const auto buckets = bucketsOf(tensors);
  std::vector<at::Tensor> flat;
  std::vector<c10::intrusive_ptr<c10d::Work>> works;
  try {
    for (const auto& bucket : buckets) {
      std::vector<at::Tensor> parts;
      for (size_t i : bucket) parts.push_back(tensors[i].reshape({-1}));
      std::vector<at::Tensor> one{at::cat(parts)};
      if (o.backend == "nccl") one[0] = one[0].to(at::Device(at::kCUDA, int8_t(o.localRank)));
      works.push_back(bcast ? group->broadcast(one) : group->allreduce(one));
      flat.push_back(one[0]);
    }
    for (auto& w : works) w->wait();
  } catch (const std::exception& e) {
    broken = true;
    return makeError(census(what, messageOf(e)));
  }
  for (size_t b = 0; b < buckets.size(); ++b) {
    const at::Tensor values = flat[b].to(at::kCPU);
    int64_t offset = 0;
    for (size_t i : buckets[b]) {
      const int64_t n = tensors[i].numel();
      tensors[i].copy_(values.slice(0, offset, offset + n).view(tensors[i].sizes()));
      offset += n;
    }
  }
  return Ok{};
}

// After a failed collective: every rank still alive writes its key into rank 0's store
// and waits a moment for the others'; the ranks with no key are the ones that died or
// hang. A rank that ended with an error said why (reportFailure).
std::string Communicator::State::census(const std::string& what, const std::string& error) {
  const std::string me = std::to_string(o.rank);
  const std::string head = what + " failed on rank " + me + ": ";
  const std::string cause = " (the collective said: " + error + ")";
  const auto grace = Milliseconds(int64_t(std::min(5.0, o.timeoutSeconds) * 1000));
  try {
    store->set("dqa/fault/" + me, bytes(error));
    std::string ended, silent;
    for (const auto deadline = Clock::now() + grace;; std::this_thread::sleep_for(Milliseconds(100))) {
      ended.clear();
      silent.clear();
      for (int r = 0; r < o.worldSize; ++r) {
        const std::string q = std::to_string(r);
        if (store->check({"dqa/exit/" + q}))
          ended += "rank " + q + " ended with an error: " + text(store->get("dqa/exit/" + q)) + ". ";
        else if (!store->check({"dqa/fault/" + q}))
          silent += (silent.empty() ? "" : ", ") + q;
      }
      if (silent.empty() || Clock::now() > deadline) break;
    }
    if (o.rank == 0) std::this_thread::sleep_for(Milliseconds(1000));  // the others read the store too
    if (!ended.empty()) return head + ended + (silent.empty() ? "" : "Not responding: rank " + silent + ".") + cause;
    if (!silent.empty())
      return head + "rank " + silent +
             " stopped taking part (it exited, was killed or hangs; its own output says "
             "which)" +
             cause;
    return head + "every rank is alive but the collective failed" + cause;
  } catch (const std::exception&) {
    return head + "rank 0 is gone: its rendezvous store at " + o.masterAddress + ":" + std::to_string(o.masterPort) +
           " no longer answers (it exited, was killed, or its host is unreachable)" + cause;
  }
}

void Communicator::reportFailure(const std::string& message) {
  if (s_->broken) return;  // a failed collective: census() has told the others already
  try {
    s_->store->set("dqa/exit/" + std::to_string(s_->o.rank), bytes(message));
    if (s_->o.rank != 0) return;
    // Rank 0 holds the store: close the group so that the others fail now rather than at
    // their timeout, and keep the store up until they have read why (or a while).
    s_->group.reset();
    s_->broken = true;
    const auto deadline = Clock::now() + Milliseconds(int64_t(std::min(5.0, s_->o.timeoutSeconds) * 1000));
    for (int r = 1; r < s_->o.worldSize && Clock::now() < deadline;)
      if (s_->store->check({"dqa/fault/" + std::to_string(r)}) || s_->store->check({"dqa/exit/" + std::to_string(r)}))
        ++r;
      else
        std::this_thread::sleep_for(Milliseconds(100));
    std::this_thread::sleep_for(Milliseconds(500));  // their census reads the store once more
  } catch (const std::exception&) {}
}

}  // namespace dqa::train
