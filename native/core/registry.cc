// Kernel registry storage: a plain map filled by static initialisers.
#include "torl/registry.h"

#include <map>
#include <string>
#include <utility>

namespace torl {

static std::map<std::pair<std::string, int>, void*>& table() {
  static std::map<std::pair<std::string, int>, void*> t;
  return t;
}

void register_kernel(const char* op, Device::Kind kind, void* fn) {
  auto [it, inserted] = table().emplace(std::make_pair(std::string(op), static_cast<int>(kind)), fn);
  if (!inserted) it->second = fn;  // a later registration (e.g. a faster path) wins
}

void* find_kernel(const char* op, Device::Kind kind) {
  auto it = table().find({op, static_cast<int>(kind)});
  return it == table().end() ? nullptr : it->second;
}

}  // namespace torl
