// fanin_op_tests: the op cases of every ops/<op>/test.cc, registered as GoogleTest tests.
#include <gtest/gtest.h>

#include "tests/harness/harness.h"

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  fanin::harness::RegisterGoogleTests();
  return RUN_ALL_TESTS();
}
