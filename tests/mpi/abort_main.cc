// A job in which rank 1 throws while the others wait for it in a collective: World::Run
// must end the whole job with a message naming the rank, not leave the others waiting.
#include <stdexcept>

#include "fanin/distributed.h"

int main(int argc, char** argv) {
  fanin::distributed::World world(&argc, &argv);
  return world.Run([&] {
    if (world.rank() == 1) throw std::runtime_error("injected failure");
    world.Barrier();
    return 0;
  });
}
