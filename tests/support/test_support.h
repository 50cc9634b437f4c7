#pragma once
// Where the suites find shared material and the source tree. Torch-free.
#include <cstdlib>
#include <string>

namespace dqa::test {

// ../shared next to the checkout; DEPICTQA_SHARED overrides.
inline std::string sharedDir() {
  if (const char* env = std::getenv("DEPICTQA_SHARED")) return env;
  return DEPICTQA_SHARED_DIR;
}
inline std::string fixtureDir(const std::string& name) { return sharedDir() + "/fixtures/hf-reference/" + name; }
inline std::string sourceDir() { return DEPICTQA_SOURCE_DIR; }
inline std::string binaryDir() { return DEPICTQA_BINARY_DIR; }

}  // namespace dqa::test
