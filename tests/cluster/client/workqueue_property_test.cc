// Under random Add/Get/Done/AddAfter sequences, a key is never handed out twice at once,
// never handed out unasked, and never lost.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>

#include "cluster/client/workqueue.h"
#include "tests/cluster/client/fake_clock.h"

namespace ksim::client {
namespace {

RC_GTEST_PROP(WorkQueueProperty, KeysAreNeverHeldTwiceNorLost, ()) {
  ksim::testing::FakeClock clock;
  WorkQueue queue(&clock, 1000);
  const std::vector<std::string> keys = {"ns/a", "ns/b", "ns/c", "ns/d"};
  std::set<std::string> held;  // handed out, not Done
  std::set<std::string> owed;  // Added since last handed out: must be handed out again
  std::map<std::string, Nanos> waiting;  // AddAfter not yet fired: key -> deadline

  const int steps = *rc::gen::inRange(1, 200);
  for (int step = 0; step < steps; ++step) {
    switch (*rc::gen::inRange(0, 5)) {
      case 0: {
        const std::string key = *rc::gen::elementOf(keys);
        RC_ASSERT(queue.Add(key));
        owed.insert(key);
        break;
      }
      case 1: {
        const auto key = queue.Get();
        if (!key) {
          // Nothing queued means every owed key is held (it comes back at Done).
          for (const std::string& k : owed) RC_ASSERT(held.count(k) == 1u);
          break;
        }
        RC_ASSERT(held.count(*key) == 0u);  // never held twice at once
        RC_ASSERT(owed.count(*key) == 1u);  // never handed out unasked
        owed.erase(*key);
        held.insert(*key);
        break;
      }
      case 2: {
        if (held.empty()) break;
        const std::string key = *rc::gen::elementOf(std::vector<std::string>(held.begin(), held.end()));
        queue.Done(key);
        held.erase(key);
        break;
      }
      case 3: {
        const std::string key = *rc::gen::elementOf(keys);
        const Nanos delay = Milliseconds(*rc::gen::inRange(1, 50));
        RC_ASSERT(queue.AddAfter(key, delay));
        const Nanos deadline = clock.MonotonicNow() + delay;
        const auto [it, inserted] = waiting.emplace(key, deadline);
        if (!inserted) it->second = std::min(it->second, deadline);  // the earlier deadline stands
        break;
      }
      default: {
        clock.Advance(Milliseconds(*rc::gen::inRange(0, 60)));
        // A key whose wait ended is owed.
        for (auto it = waiting.begin(); it != waiting.end();) {
          if (it->second > clock.MonotonicNow()) {
            ++it;
            continue;
          }
          owed.insert(it->first);
          it = waiting.erase(it);
        }
        RC_ASSERT(queue.waiting_count() == waiting.size());
        break;
      }
    }
    // Queued keys are exactly the owed keys nobody holds.
    size_t queued = 0;
    for (const std::string& k : owed) queued += held.count(k) == 0u ? 1 : 0;
    RC_ASSERT(queue.Len() == queued);
  }
  // Finish: release everything, let every wait end, and drain.
  for (const std::string& k : held) queue.Done(k);
  held.clear();
  clock.Advance(Seconds(1));
  for (const auto& [key, deadline] : waiting) owed.insert(key);
  std::set<std::string> drained;
  while (auto key = queue.Get()) {
    RC_ASSERT(drained.insert(*key).second);
    queue.Done(*key);
  }
  RC_ASSERT(drained == owed);
  RC_ASSERT(queue.Len() == 0u);
}

}  // namespace
}  // namespace ksim::client
