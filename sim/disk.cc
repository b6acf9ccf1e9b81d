#include "sim/disk.h"

#include <algorithm>
#include <cassert>
#include <set>

#include "cluster/env/disk.h"
#include "sim/trace.h"
#include "sim/world.h"

namespace ksim::sim {

SimDisk::SimDisk(World* world, Random random, const DiskOptions& options)
    : world_(world), random_(std::move(random)), options_(options) {}

Status SimDisk::CheckPath(const std::string& path) { return CheckDiskPath(path); }

Status SimDisk::MaybeFailWrite(const std::string& path) {
  if (options_.write_error_rate > 0 && random_.Bernoulli(options_.write_error_rate)) {
    ++stats_.write_errors;
    return Status::IOError("write to '" + path + "' failed (injected disk fault)");
  }
  return Status::Ok();
}

SimDisk::Inode* SimDisk::FindOrCreate(const std::string& path) {
  auto it = names_.find(path);
  if (it != names_.end()) return &inodes_[it->second];
  const uint64_t ino = next_inode_++;
  names_[path] = ino;
  journal_.push_back(MetaOp{MetaOp::kCreate, path, {}, ino});
  ++journal_issued_;
  return &inodes_[ino];
}


void SimDisk::FileBytes::Append(std::string_view data) {
  size_ += data.size();
  while (!data.empty()) {
    if (chunks_.empty() || chunks_.back().size() == kChunkBytes) {
      chunks_.emplace_back();
      // A file past its first chunk is a growing log: its next chunks fill up, so they
      // are allocated whole instead of doubling (each doubling copies the chunk).
      if (chunks_.size() > 1) chunks_.back().reserve(kChunkBytes);
    }
    std::string& last = chunks_.back();
    const size_t take = std::min(data.size(), kChunkBytes - last.size());
    last.append(data.substr(0, take));
    data.remove_prefix(take);
  }
}

void SimDisk::FileBytes::Assign(std::string_view data) {
  chunks_.clear();
  size_ = 0;
  Append(data);
}

void SimDisk::FileBytes::Truncate(size_t size) {
  assert(size <= size_);
  const size_t keep_chunks = (size + kChunkBytes - 1) / kChunkBytes;
  chunks_.resize(keep_chunks);
  if (keep_chunks > 0) chunks_.back().resize(size - (keep_chunks - 1) * kChunkBytes);
  size_ = size;
}

void SimDisk::FileBytes::CopyTo(size_t pos, size_t count, std::string* out) const {
  assert(pos + count <= size_);
  out->reserve(out->size() + count);
  for (size_t i = pos / kChunkBytes; count > 0; ++i) {
    const size_t offset = pos - i * kChunkBytes;
    const size_t take = std::min(count, chunks_[i].size() - offset);
    out->append(chunks_[i], offset, take);
    pos += take;
    count -= take;
  }
}

void SimDisk::MakeDurable(Inode& inode, const ContentOp& op, size_t keep_bytes) {
  if (inode.durable_is_prefix) {
    assert(!op.replace && inode.durable_size + keep_bytes <= inode.current.size());
    inode.durable_size += keep_bytes;
  } else if (op.replace) {
    inode.durable.assign(op.data, 0, keep_bytes);
  } else {
    inode.durable.append(op.data, 0, keep_bytes);
  }
}

void SimDisk::Separate(Inode& inode) {
  if (!inode.durable_is_prefix) return;
  inode.durable.clear();
  inode.current.CopyTo(0, inode.durable_size, &inode.durable);
  size_t offset = inode.durable_size;
  for (ContentOp& op : inode.pending) {
    op.data.clear();
    inode.current.CopyTo(offset, op.size, &op.data);
    offset += op.size;
  }
  assert(offset == inode.current.size());
  inode.durable_is_prefix = false;
}

void SimDisk::Rejoin(Inode& inode) {
  if (inode.durable_is_prefix || !inode.pending.empty()) return;
  std::string().swap(inode.durable);
  inode.durable_size = inode.current.size();
  inode.durable_is_prefix = true;
}

Status SimDisk::Append(const std::string& path, std::string_view data) {
  if (Status s = CheckPath(path); !s.ok()) return s;
  if (Status s = MaybeFailWrite(path); !s.ok()) return s;
  Inode* inode = FindOrCreate(path);
  inode->current.Append(data);
  inode->pending.push_back(
      ContentOp{false, data.size(), inode->durable_is_prefix ? std::string() : std::string(data)});
  ++inode->ops_issued;
  ++stats_.writes;
  stats_.bytes_written += data.size();
  return Status::Ok();
}

Status SimDisk::WriteFile(const std::string& path, std::string_view data) {
  if (Status s = CheckPath(path); !s.ok()) return s;
  if (Status s = MaybeFailWrite(path); !s.ok()) return s;
  Inode* inode = FindOrCreate(path);
  Separate(*inode);
  inode->current.Assign(data);
  inode->pending.push_back(ContentOp{true, data.size(), std::string(data)});
  ++inode->ops_issued;
  ++stats_.writes;
  stats_.bytes_written += data.size();
  return Status::Ok();
}

Nanos SimDisk::FsyncLatency() {
  const int64_t jitter = options_.fsync_latency_jitter.count();
  return options_.fsync_latency_min + Nanos(jitter > 0 ? random_.Range(0, jitter) : 0) +
         options_.fsync_extra_latency;
}

void SimDisk::Sync(const std::string& path, std::function<void(Status)> done) {
  ++stats_.syncs;
  auto it = names_.find(path);
  if (it == names_.end()) {
    world_->After(Nanos(0), [done = std::move(done), path] { done(Status::NotFound("sync '" + path + "'")); });
    return;
  }
  const uint64_t ino = it->second;
  const uint64_t target = inodes_[ino].ops_issued;
  const uint64_t epoch = power_epoch_;
  world_->After(FsyncLatency(), [this, ino, target, epoch, done = std::move(done)] {
    if (epoch != power_epoch_) return;  // the host lost power before the fsync finished
    auto found = inodes_.find(ino);
    if (found != inodes_.end()) {
      Inode& inode = found->second;
      while (inode.ops_durable < target && !inode.pending.empty()) {
        MakeDurable(inode, inode.pending.front(), inode.pending.front().size);
        inode.pending.pop_front();
        ++inode.ops_durable;
      }
      Rejoin(inode);
    }
    done(Status::Ok());
  });
}

void SimDisk::ApplyMeta(const MetaOp& op, std::map<std::string, uint64_t>* names) {
  switch (op.kind) {
    case MetaOp::kCreate:
      (*names)[op.path] = op.inode;
      break;
    case MetaOp::kRename: {
      auto it = names->find(op.path);
      if (it == names->end()) break;
      const uint64_t ino = it->second;
      names->erase(it);
      (*names)[op.to] = ino;
      break;
    }
    case MetaOp::kRemove:
      names->erase(op.path);
      break;
  }
}

void SimDisk::SyncDir(const std::string& dir, std::function<void(Status)> done) {
  ++stats_.syncs;
  const uint64_t target = journal_issued_;
  const uint64_t epoch = power_epoch_;
  world_->After(FsyncLatency(), [this, target, epoch, done = std::move(done)] {
    if (epoch != power_epoch_) return;
    while (journal_committed_ < target && !journal_.empty()) {
      ApplyMeta(journal_.front(), &durable_names_);
      journal_.pop_front();
      ++journal_committed_;
    }
    CollectGarbage();
    done(Status::Ok());
  });
}

Status SimDisk::Rename(const std::string& from, const std::string& to) {
  if (Status s = CheckPath(from); !s.ok()) return s;
  if (Status s = CheckPath(to); !s.ok()) return s;
  auto it = names_.find(from);
  if (it == names_.end()) return Status::NotFound("rename '" + from + "': no such file");
  if (from == to) return Status::Ok();
  const uint64_t ino = it->second;
  names_.erase(it);
  names_[to] = ino;
  journal_.push_back(MetaOp{MetaOp::kRename, from, to, 0});
  ++journal_issued_;
  CollectGarbage();
  return Status::Ok();
}

Status SimDisk::Read(const std::string& path, std::string* out) const {
  if (Status s = CheckPath(path); !s.ok()) return s;
  auto it = names_.find(path);
  if (it == names_.end()) return Status::NotFound("read '" + path + "': no such file");
  const FileBytes& bytes = inodes_.at(it->second).current;
  out->clear();
  bytes.CopyTo(0, bytes.size(), out);
  return Status::Ok();
}

Status SimDisk::ReadAt(const std::string& path, uint64_t offset, size_t length, std::string* out) const {
  out->clear();
  if (Status s = CheckPath(path); !s.ok()) return s;
  auto it = names_.find(path);
  if (it == names_.end()) return Status::NotFound("read '" + path + "': no such file");
  const FileBytes& bytes = inodes_.at(it->second).current;
  if (offset > bytes.size() || length > bytes.size() - offset) {
    return Status::InvalidArgument("read '" + path + "': bytes [" + std::to_string(offset) + ", " +
                                   std::to_string(offset + length) + ") are past its end at " +
                                   std::to_string(bytes.size()));
  }
  bytes.CopyTo(static_cast<size_t>(offset), length, out);
  return Status::Ok();
}

Status SimDisk::List(const std::string& dir, std::vector<std::string>* names) const {
  names->clear();
  const std::string prefix = dir.empty() ? "" : dir + "/";
  for (auto it = names_.lower_bound(prefix); it != names_.end(); ++it) {
    const std::string& path = it->first;
    if (path.compare(0, prefix.size(), prefix) != 0) break;
    const std::string rest = path.substr(prefix.size());
    if (rest.find('/') == std::string::npos) names->push_back(rest);
  }
  return Status::Ok();  // names_ is ordered, so the list is sorted
}

Status SimDisk::Remove(const std::string& path) {
  if (Status s = CheckPath(path); !s.ok()) return s;
  auto it = names_.find(path);
  if (it == names_.end()) return Status::NotFound("remove '" + path + "': no such file");
  names_.erase(it);
  journal_.push_back(MetaOp{MetaOp::kRemove, path, {}, 0});
  ++journal_issued_;
  CollectGarbage();
  return Status::Ok();
}

size_t SimDisk::UnsyncedBytes() const {
  size_t bytes = 0;
  for (const auto& [ino, inode] : inodes_) {
    for (const ContentOp& op : inode.pending) bytes += op.size;
  }
  return bytes;
}

void SimDisk::CollectGarbage() {
  std::set<uint64_t> referenced;
  for (const auto& [path, ino] : names_) referenced.insert(ino);
  for (const auto& [path, ino] : durable_names_) referenced.insert(ino);
  for (const MetaOp& op : journal_) {
    if (op.kind == MetaOp::kCreate) referenced.insert(op.inode);
  }
  for (auto it = inodes_.begin(); it != inodes_.end();) {
    it = referenced.count(it->first) ? std::next(it) : inodes_.erase(it);
  }
}

void SimDisk::Crash() {
  ++stats_.crashes;
  ++power_epoch_;
  Trace& trace = world_->trace();
  trace.Mix(static_cast<uint64_t>(TraceTag::kDiskCrash));

  // Contents: a random prefix of each inode's pending operations reaches the platter.
  for (auto& [ino, inode] : inodes_) {
    const size_t pending = inode.pending.size();
    const size_t keep = pending == 0 ? 0 : static_cast<size_t>(random_.Uniform(pending + 1));
    for (size_t i = 0; i < keep; ++i) MakeDurable(inode, inode.pending[i], inode.pending[i].size);
    if (keep < pending && options_.torn_writes && random_.Bernoulli(0.5)) {
      const ContentOp& torn = inode.pending[keep];
      MakeDurable(inode, torn, static_cast<size_t>(random_.Uniform(torn.size + 1)));
    }
    stats_.ops_lost_at_crash += pending - keep;
    trace.Mix(ino * 1000003 + keep);
    inode.pending.clear();
    inode.ops_durable = inode.ops_issued;
    if (inode.durable_is_prefix) {
      inode.current.Truncate(inode.durable_size);
    } else {
      inode.current.Assign(inode.durable);
      Rejoin(inode);
    }
  }

  // Names: a random prefix of the uncommitted journal survives.
  const size_t journal_keep =
      journal_.empty() ? 0 : static_cast<size_t>(random_.Uniform(journal_.size() + 1));
  for (size_t i = 0; i < journal_keep; ++i) ApplyMeta(journal_[i], &durable_names_);
  trace.Mix(journal_keep);
  journal_.clear();
  journal_committed_ = journal_issued_;
  names_ = durable_names_;

  // Inodes no name refers to are gone.
  std::set<uint64_t> referenced;
  for (const auto& [path, ino] : names_) referenced.insert(ino);
  for (auto it = inodes_.begin(); it != inodes_.end();) {
    it = referenced.count(it->first) ? std::next(it) : inodes_.erase(it);
  }
}

}  // namespace ksim::sim
