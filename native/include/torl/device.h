// Where a tensor's memory lives: the host, or one CUDA device.
#pragma once
#include <string>

namespace torl {

struct Device {
  enum Kind : int { CPU = 0, CUDA = 1 } kind = CPU;
  int index = 0;  // CUDA ordinal; 0 for the CPU

  bool is_cpu() const { return kind == CPU; }
  bool is_cuda() const { return kind == CUDA; }
  bool operator==(const Device& o) const { return kind == o.kind && index == o.index; }
  bool operator!=(const Device& o) const { return !(*this == o); }
  std::string str() const;
  // Parses "cpu", "cuda", "cuda:N"; throws naming the bad value.
  static Device parse(const std::string& s);
};

}  // namespace torl
