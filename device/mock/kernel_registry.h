// Binds the g++-compiled HLS kernels to their entries in the kernel-signature table.
#ifndef FABRIC_DEVICE_MOCK_KERNEL_REGISTRY_H_
#define FABRIC_DEVICE_MOCK_KERNEL_REGISTRY_H_

#include <cstdint>
#include <span>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>

#include "kernels/kernel_signatures.h"

namespace fabric {

// A kernel argument with its buffer resolved to a host address.
using ResolvedArg = std::variant<void*, int32_t, float>;

// Calls a kernel's top function with arguments already checked against its spec.
using KernelInvoker = void (*)(std::span<const ResolvedArg> args);

struct MockKernel {
  const KernelSpec* spec;
  KernelInvoker invoke;
};

// The compiled kernel named `name`, or nullptr. Immutable table: thread-safe.
const MockKernel* FindMockKernel(std::string_view name);

namespace kernel_binding {

template <typename T>
constexpr ArgKind KindOf() {
  if constexpr (std::is_pointer_v<T>) {
    return ArgKind::kBuffer;
  } else if constexpr (std::is_same_v<T, int>) {
    return ArgKind::kInt;
  } else {
    static_assert(std::is_same_v<T, float>, "kernel scalars are int or float");
    return ArgKind::kFloat;
  }
}

template <typename T>
T ArgAs(const ResolvedArg& arg) {
  if constexpr (std::is_pointer_v<T>) {
    return static_cast<T>(std::get<void*>(arg));
  } else {
    return std::get<T>(arg);
  }
}

template <typename F>
struct Signature;
template <typename... Params>
struct Signature<void (*)(Params...)> {
  template <size_t I>
  using Param = std::tuple_element_t<I, std::tuple<Params...>>;
  static constexpr size_t kArity = sizeof...(Params);
};

// True when the top function's parameters agree with the table entry in count and kind:
// this is what keeps the HLS sources and the table from drifting apart.
template <auto Fn, size_t... I>
constexpr bool MatchesSpec(std::string_view name, std::index_sequence<I...>) {
  using Sig = Signature<decltype(Fn)>;
  const KernelSpec* spec = FindKernelSpec(name);
  return spec != nullptr && spec->args.size() == Sig::kArity &&
         ((spec->args[I].kind == KindOf<typename Sig::template Param<I>>()) && ...);
}

template <auto Fn, size_t... I>
void Invoke(std::span<const ResolvedArg> args, std::index_sequence<I...>) {
  using Sig = Signature<decltype(Fn)>;
  Fn(ArgAs<typename Sig::template Param<I>>(args[I])...);
}

template <auto Fn>
void InvokeAll(std::span<const ResolvedArg> args) {
  Invoke<Fn>(args, std::make_index_sequence<Signature<decltype(Fn)>::kArity>());
}

}  // namespace kernel_binding
}  // namespace fabric

#endif  // FABRIC_DEVICE_MOCK_KERNEL_REGISTRY_H_
