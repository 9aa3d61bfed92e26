/* emotop — the arithmetic of the encoder's matrix products.
 *
 * fp32 is exact against PyTorch (within 1e-4 of every hidden state); bf16
 * rounds activations and weights to bfloat16 and accumulates in fp32,
 * about twice as fast where the CPU has AVX512_BF16 (README, "Figures",
 * for its agreement). Chosen per model (model.h, emo_model_params). */
#ifndef EMOTOP_PRECISION_H
#define EMOTOP_PRECISION_H

#ifdef __cplusplus
extern "C" {
#endif

enum emo_precision { EMO_PRECISION_FP32, EMO_PRECISION_BF16 };

#ifdef __cplusplus
}
#endif
#endif
