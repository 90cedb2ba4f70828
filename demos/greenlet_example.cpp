// greenlet's classic example (https://greenlet.readthedocs.io, "Example"), in C++: two
// greenlets switch to each other by hand. Prints 12, 56, 34; 78 is never printed.
#include <greenrun.hpp>

#include <cstdio>

using greenrun::Greenlet;

int main() {
  Greenlet gr1, gr2;
  gr1 = Greenlet([&](std::any) -> std::any {
    std::puts("12");
    gr2.switch_to();
    std::puts("34");
    return {};  // gr1 is done: control goes back to its parent, main
  });
  gr2 = Greenlet([&](std::any) -> std::any {
    std::puts("56");
    gr1.switch_to();
    std::puts("78");  // never reached: nothing switches back to gr2
    return {};
  });
  gr1.switch_to();
  std::puts("gr1 finished; gr2 is still suspended, and dies when its handle goes");
}
