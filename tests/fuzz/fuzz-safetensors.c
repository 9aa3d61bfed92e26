/* libFuzzer target for the safetensors header parser and validator.
 * Any input must either be refused with an error code or give a handle
 * whose tensors all lie inside the buffer. Built by clang with
 * -fsanitize=fuzzer,address,undefined (tests/meson.build). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "emotop/error.h"
#include "nn/safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct emo_safetensors *st = NULL;
	if (emo_safetensors_from_memory(data, size, &st) == 0) {
		volatile float sink = 0;
		for (size_t i = 0; i < emo_safetensors_count(st); i++) {
			const struct emo_tensor *t = emo_safetensors_at(st, i);
			if (emo_safetensors_find(st, t->name) != t)
				abort();
			/* touch first and last element: ASan checks bounds */
			if (t->data && t->numel) {
				sink += t->data[0];
				sink += t->data[t->numel - 1];
			}
		}
		(void)sink;
		emo_safetensors_close(st);
	}
	return 0;
}
