// SharedDecoder: equal bytes decode to one immutable object while any holder keeps it.
// A simulated world runs every process in one address space, and one object version
// reaches many of them (three schedulers' informers, a kubelet's, a watcher's): parsing it
// once and sharing it saves the parse, the memory and the frees. Only the simulation
// offers one (Env::decoder); a real host parses for itself. Shared objects are const:
// nobody may cast that away, since other processes hold the same one.
#pragma once

#include <google/protobuf/message.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace ksim {

class SharedDecoder {
 public:
  // The message `bytes` decode to as `prototype`'s type; null if they do not parse.
  std::shared_ptr<const google::protobuf::Message> Decode(const google::protobuf::Message& prototype,
                                                          std::string_view bytes);

  size_t size() const { return size_; }
  uint64_t hits() const { return hits_; }
  uint64_t misses() const { return misses_; }

 private:
  struct Entry {
    std::string bytes;
    std::weak_ptr<const google::protobuf::Message> object;
  };
  void Sweep();

  // By hash of the bytes; an ordered map so nothing here depends on unordered iteration.
  std::map<uint64_t, std::vector<Entry>> entries_;
  size_t size_ = 0;
  size_t sweep_at_ = 4096;
  uint64_t hits_ = 0;
  uint64_t misses_ = 0;
};

}  // namespace ksim
