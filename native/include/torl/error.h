// torl::Error — the one exception type native code throws. The Node-API layer
// turns it into a JS Error carrying the same message, so a wrong shape, dtype
// or device is always a catchable exception, never a crash.
#pragma once
#include <sstream>
#include <stdexcept>
#include <string>

namespace torl {

struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

namespace detail {
inline void append(std::ostringstream&) {}
template <typename T, typename... R>
inline void append(std::ostringstream& os, const T& v, const R&... rest) {
  os << v;
  append(os, rest...);
}
}  // namespace detail

// fail("linear: x must be 2-D, got ", n) — builds the message and throws.
template <typename... A>
[[noreturn]] inline void fail(const A&... parts) {
  std::ostringstream os;
  detail::append(os, parts...);
  throw Error(os.str());
}

}  // namespace torl

// TORL_CHECK(cond, message parts...) — throws torl::Error when cond is false.
#define TORL_CHECK(cond, ...)            \
  do {                                   \
    if (!(cond)) ::torl::fail(__VA_ARGS__); \
  } while (0)
