#include "device/device.h"

namespace fabric {

std::string_view MemoryKindName(MemoryKind kind) {
  switch (kind) {
    case MemoryKind::kWeights:
      return "weights";
    case MemoryKind::kKvCache:
      return "kv";
    case MemoryKind::kActivations:
      return "activations";
  }
  return "unknown";
}

}  // namespace fabric
