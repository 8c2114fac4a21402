// Device names: "cpu", "cuda", "cuda:N".
#include "torl/device.h"

#include <cstdlib>

#include "torl/error.h"

namespace torl {

std::string Device::str() const { return is_cpu() ? "cpu" : "cuda:" + std::to_string(index); }

Device Device::parse(const std::string& s) {
  if (s == "cpu") return Device{CPU, 0};
  if (s == "cuda") return Device{CUDA, 0};
  if (s.rfind("cuda:", 0) == 0 && s.size() > 5 && s.size() < 9) {
    char* end = nullptr;
    const long idx = std::strtol(s.c_str() + 5, &end, 10);
    if (*end == '\0' && idx >= 0) return Device{CUDA, static_cast<int>(idx)};
  }
  fail("unknown device '", s, "' (expected cpu, cuda or cuda:N)");
}

}  // namespace torl
