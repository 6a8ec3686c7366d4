// main() for test binaries that open XRT devices. XRT 2.13 stops its command-monitor thread
// from an exit-time destructor, and that thread can miss the stop signal and sleep on: exit()
// then joins it forever (seen once in CI-like runs, in xrt_core::kds::stop). Every test has
// released its devices by the time RUN_ALL_TESTS returns, so the process flushes its output
// and leaves without running exit-time destructors.
#include <cstdio>
#include <cstdlib>

#include "gtest/gtest.h"

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  const int result = RUN_ALL_TESTS();
  std::fflush(nullptr);
  std::_Exit(result);
}
