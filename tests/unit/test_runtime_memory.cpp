// The allocator policy dqa::configureRuntime sets (core/generate/runtime.cpp): a freed
// large block stays in the process for the next tensor instead of going back to the
// kernel (which would zero its pages again), and releaseFreedMemory() gives it back; with
// shareOneHeapAcrossThreads (the window's main) the same holds on a worker thread.
#include <QtTest/QtTest>

#include <malloc.h>
#include <sys/resource.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "core/generate/engine.h"

namespace {

constexpr size_t kBlock = size_t(256) << 20;  // a 24 MP tile's input is ~150 MB

// Resident memory of this process, from the kernel's own accounting.
long residentMiB() {
  std::ifstream status("/proc/self/status");
  std::string key;
  long kib = -1;
  while (status >> key) {
    if (key == "VmRSS:") {
      status >> kib;
      break;
    }
    status.ignore(1 << 12, '\n');
  }
  return kib / 1024;
}

// Minor page faults of the calling thread: pages the kernel had to map (and zero) for it.
long threadPageFaults() {
  rusage usage{};
  getrusage(RUSAGE_THREAD, &usage);
  return usage.ru_minflt;
}

}  // namespace

class TestRuntimeMemory : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void initTestCase() {
#if defined(__SANITIZE_ADDRESS__)
    QSKIP("AddressSanitizer has its own allocator: the policy is glibc malloc's");
#endif
    if (std::getenv("GLIBC_TUNABLES")) QSKIP("GLIBC_TUNABLES is set: the runtime leaves malloc as the user set it");
    dqa::shareOneHeapAcrossThreads();  // before any thread exists, as the window's main()
    dqa::configureRuntime(1);
  }

  // The window answers on a worker thread. glibc gave that thread its own arena, whose
  // 64 MB heaps are unmapped when they empty: every job faulted in fresh pages (10,244 of
  // the 40,960 here, each round). With one arena the second round reuses the first's.
  void aWorkerThreadReusesFreedBlocksToo() {
    constexpr size_t kTensor = size_t(40) << 20;  // several heaps' worth, each under 64 MB
    long secondRoundFaults = -1;
    std::thread worker([&] {
      std::vector<char*> blocks(4);
      auto round = [&] {
        for (char*& b : blocks) {
          b = static_cast<char*>(std::malloc(kTensor));
          if (!b) return;
          std::memset(b, 1, kTensor);
          asm volatile("" : : "r"(b) : "memory");
        }
        for (char* b : blocks) std::free(b);
      };
      round();
      const long before = threadPageFaults();
      round();
      secondRoundFaults = threadPageFaults() - before;
    });
    worker.join();
    QVERIFY2(secondRoundFaults >= 0 && secondRoundFaults < 500,
             qPrintable(QStringLiteral("%1 page faults in the second round").arg(secondRoundFaults)));
    dqa::releaseFreedMemory();
  }

  void largeFreedBlocksStayForReuseUntilReleased() {
    const long before = residentMiB();
    const size_t mappedBefore = mallinfo2().hblkhd;  // blocks libraries mapped before the policy
    char* block = static_cast<char*>(std::malloc(kBlock));
    QVERIFY(block);
    // From the heap, not a mapping of its own (glibc would map anything over 32 MB).
    QCOMPARE(mallinfo2().hblkhd, mappedBefore);
    std::memset(block, 1, kBlock);
    asm volatile("" : : "r"(block) : "memory");  // the pages are written, not optimised away
    std::free(block);
    // Kept: still resident, free for the next allocation.
    QVERIFY2(mallinfo2().fordblks >= kBlock, qPrintable(QString::number(mallinfo2().fordblks)));
    QVERIFY2(residentMiB() - before >= 200, qPrintable(QStringLiteral("%1 -> %2 MiB").arg(before).arg(residentMiB())));
    // The next one reuses those pages.
    char* again = static_cast<char*>(std::malloc(kBlock));
    QVERIFY(again);
    QCOMPARE(mallinfo2().hblkhd, mappedBefore);
    asm volatile("" : : "r"(again) : "memory");
    std::free(again);
    dqa::releaseFreedMemory();
    QVERIFY2(residentMiB() - before < 64, qPrintable(QStringLiteral("%1 -> %2 MiB").arg(before).arg(residentMiB())));
  }
};

QTEST_APPLESS_MAIN(TestRuntimeMemory)
#include "test_runtime_memory.moc"
