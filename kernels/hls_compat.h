// Stands in for Vitis HLS headers when the kernels are compiled by g++ for the mock card.
// Under Vitis HLS (__SYNTHESIS__) the real headers are used instead.
#ifndef FABRIC_KERNELS_HLS_COMPAT_H_
#define FABRIC_KERNELS_HLS_COMPAT_H_

#ifdef __SYNTHESIS__
#include <hls_stream.h>
#else
#include <cassert>
#include <deque>

namespace hls {

// A FIFO between dataflow stages. g++ runs the stages one after another, so the
// FIFO must hold a whole stage's output: it is unbounded here, a fixed depth on chip.
template <typename T>
class stream {
 public:
  stream() = default;
  explicit stream(const char* /*name*/) {}
  stream(const stream&) = delete;
  stream& operator=(const stream&) = delete;

  void write(const T& value) { fifo_.push_back(value); }
  T read() {
    assert(!fifo_.empty() && "read from an empty hls::stream");
    T value = fifo_.front();
    fifo_.pop_front();
    return value;
  }
  bool empty() const { return fifo_.empty(); }
  bool full() const { return false; }

 private:
  std::deque<T> fifo_;
};

}  // namespace hls
#endif  // __SYNTHESIS__

#endif  // FABRIC_KERNELS_HLS_COMPAT_H_
