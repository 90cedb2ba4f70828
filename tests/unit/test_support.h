// Helpers shared by the API tests.
#pragma once
#include <doctest/doctest.h>

#include <any>
#include <typeinfo>

namespace test_support {

// The value inside a std::any, failing the test (not throwing) when it holds another type.
template <class T>
T as(const std::any& v) {
  REQUIRE_MESSAGE(v.type() == typeid(T), "the value holds a " << v.type().name());
  return std::any_cast<T>(v);
}

// Sets a flag when destroyed: proves a frame was unwound.
struct Cleanup {
  explicit Cleanup(bool& flag) : flag(flag) {}
  ~Cleanup() { flag = true; }
  bool& flag;
};

}  // namespace test_support
