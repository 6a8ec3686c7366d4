// The shape and hyperparameters of a Llama-architecture model.
#ifndef FABRIC_MODEL_MODEL_CONFIG_H_
#define FABRIC_MODEL_MODEL_CONFIG_H_

#include <string>

namespace fabric {

struct ModelConfig {
  std::string name;          // e.g. the GGUF general.name, or the file's stem
  int dim = 0;               // embedding width
  int hidden_dim = 0;        // FFN width
  int n_layers = 0;
  int n_heads = 0;           // query heads
  int n_kv_heads = 0;        // key/value heads (grouped-query attention when fewer)
  int vocab_size = 0;
  int context_length = 0;    // longest sequence the model was trained for
  float rms_norm_eps = 1e-5f;
  float rope_theta = 10000.0f;

  int head_dim() const { return dim / n_heads; }
  int kv_dim() const { return n_kv_heads * head_dim(); }
};

}  // namespace fabric

#endif  // FABRIC_MODEL_MODEL_CONFIG_H_
