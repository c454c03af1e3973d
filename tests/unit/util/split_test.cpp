// Tests of split_list (core/util/split.hpp): items in order, empty items dropped, appending.
#include "core/util/split.hpp"

#include <doctest/doctest.h>

namespace pp {
namespace {

using List = std::vector<std::string>;

TEST_CASE("util.split.items_in_order_without_empties") {
  CHECK(split_list("a,b,c", ',') == List{"a", "b", "c"});
  CHECK(split_list(",a,,b,", ',') == List{"a", "b"});
  CHECK(split_list("", ',').empty());
  CHECK(split_list(",,,", ',').empty());
  CHECK(split_list("one", ',') == List{"one"});
}

TEST_CASE("util.split.appends") {
  List out{"x"};
  split_list("y,z", ',', out);
  CHECK(out == List{"x", "y", "z"});
}

}  // namespace
}  // namespace pp
