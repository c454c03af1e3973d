// The doctest runner of every test binary (tests/CMakeLists.txt: pp_doctest_main): doctest's
// implementation is compiled once per build, not once per binary.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
