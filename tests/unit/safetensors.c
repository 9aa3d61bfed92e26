/* safetensors loader: every malformed case is refused with its own message,
 * and good files (F32, F16, BF16, unaligned data) read back exactly. */
#include <errno.h>
#include <stdint.h>
#include <fcntl.h>
#include <unistd.h>

#include "nn/safetensors.h"
#include "testlib.h"

static size_t build(uint8_t *buf, size_t cap, const char *json,
		    const void *data, size_t dlen)
{
	size_t h = strlen(json);
	uint64_t hl = h;
	for (int i = 0; i < 8; i++)
		buf[i] = (uint8_t)(hl >> (8 * i));
	memcpy(buf + 8, json, h);
	if (data)
		memcpy(buf + 8 + h, data, dlen);
	(void)cap;
	return 8 + h + dlen;
}

/* Expects the image to be refused with `code` and a log line containing
 * `msg`. */
static void expect_bad(const char *what, const uint8_t *buf, size_t len,
		       int code, const char *msg)
{
	struct emo_safetensors *st = (void *)1;
	t_last_log[0] = 0;
	int err = emo_safetensors_from_memory(buf, len, &st);
	fprintf(stderr, "  %-24s -> %d \"%s\"\n", what, err, t_last_log);
	CHECK_EQ_INT(err, code);
	CHECK(st == NULL);
	CHECK_CONTAINS(t_last_log, msg);
}

static float data8[8] = {1, 2, 3, 4, 5, 6, 7, 8};

static void test_good(void)
{
	uint8_t buf[512];
	/* F32 (2,2) + F16 (2) + BF16 (2), with metadata */
	uint8_t d[16 + 4 + 4];
	memcpy(d, data8, 16);
	uint16_t f16[2] = {0x3c00, 0xc000}; /* 1.0, -2.0 */
	uint16_t bf[2] = {0x3fc0, 0x4049};  /* 1.5, 3.140625 */
	memcpy(d + 16, f16, 4);
	memcpy(d + 20, bf, 4);
	size_t n = build(buf, sizeof buf,
			 "{\"__metadata__\":{\"format\":\"pt\"},"
			 "\"a\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]},"
			 "\"h\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[16,20]},"
			 "\"b\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[20,24]}}",
			 d, sizeof d);
	struct emo_safetensors *st;
	CHECK_EQ_INT(emo_safetensors_from_memory(buf, n, &st), 0);
	if (!st)
		return;
	CHECK_EQ_INT(emo_safetensors_count(st), 3);
	const struct emo_tensor *a = emo_safetensors_find(st, "a");
	CHECK(a && a->ndim == 2 && a->shape[0] == 2 && a->numel == 4);
	if (a)
		CHECK(a->data[3] == 4.0f);
	const struct emo_tensor *h = emo_safetensors_find(st, "h");
	CHECK(h && h->file_dtype == EMO_DTYPE_F16 && h->data[0] == 1.0f &&
	      h->data[1] == -2.0f);
	const struct emo_tensor *b = emo_safetensors_find(st, "b");
	CHECK(b && b->data[0] == 1.5f && b->data[1] == 3.140625f);
	CHECK(emo_safetensors_find(st, "zzz") == NULL);
	const char *fmt = emo_safetensors_metadata(st, "format");
	CHECK(fmt && strcmp(fmt, "pt") == 0);
	emo_safetensors_close(st);

	/* F32 data at an address that is not 4-aligned is copied, not
	 * read unaligned: header of odd length */
	n = build(buf + 1, sizeof buf - 1,
		  "{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,12]}}",
		  data8, 12);
	CHECK_EQ_INT(emo_safetensors_from_memory(buf + 1, n, &st), 0);
	if (st) {
		a = emo_safetensors_find(st, "a");
		CHECK(a && ((uintptr_t)a->data % 4) == 0 && a->data[2] == 3.0f);
		emo_safetensors_close(st);
	}
}

static void test_bad(void)
{
	uint8_t buf[512];
	size_t n;

	expect_bad("shorter than 8 bytes", (const uint8_t *)"\x10\0\0", 3,
		   EMO_E_TRUNCATED, "truncated");

	n = build(buf, sizeof buf, "{}", NULL, 0);
	buf[0] = 200; /* header says 200 bytes, file has 2 */
	expect_bad("header past EOF", buf, n, EMO_E_TRUNCATED,
		   "runs past the end");

	memset(buf, 0xff, 8);
	expect_bad("absurd header length", buf, 16, EMO_E_FORMAT,
		   "absurdly large");

	n = build(buf, sizeof buf, "{\"a\":{\"dtype\":\"F32\",", NULL, 0);
	expect_bad("invalid JSON", buf, n, EMO_E_FORMAT, "not valid JSON");

	n = build(buf, sizeof buf, "[1,2]", NULL, 0);
	expect_bad("not an object", buf, n, EMO_E_FORMAT, "not start with a JSON object");

	n = build(buf, sizeof buf,
		  "{\"a\":{\"dtype\":\"Q4\",\"shape\":[2],\"data_offsets\":[0,8]}}",
		  data8, 8);
	expect_bad("unknown dtype", buf, n, EMO_E_UNSUPPORTED,
		   "unknown dtype 'Q4'");

	n = build(buf, sizeof buf,
		  "{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}",
		  data8, 8);
	expect_bad("shape/size mismatch", buf, n, EMO_E_SHAPE, "need 12 bytes");

	n = build(buf, sizeof buf,
		  "{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[16,32]}}",
		  data8, 16);
	expect_bad("offsets out of range", buf, n, EMO_E_TRUNCATED,
		   "run past the 16-byte data section");

	n = build(buf, sizeof buf,
		  "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
		  "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}",
		  data8, 16);
	expect_bad("overlapping tensors", buf, n, EMO_E_FORMAT, "overlap");

	n = build(buf, sizeof buf,
		  "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[2,10]}}",
		  data8, 16);
	expect_bad("unaligned tensor", buf, n, EMO_E_FORMAT, "not aligned");

	n = build(buf, sizeof buf,
		  "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
		  "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}}",
		  data8, 16);
	expect_bad("duplicate names", buf, n, EMO_E_FORMAT, "duplicate tensor name");

	n = build(buf, sizeof buf,
		  "{\"a\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}",
		  data8, 8);
	expect_bad("negative dim", buf, n, EMO_E_FORMAT, "non-negative");

	n = build(buf, sizeof buf,
		  "{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],"
		  "\"data_offsets\":[0,8]}}", data8, 8);
	expect_bad("numel overflow", buf, n, EMO_E_SHAPE, "need");

	n = build(buf, sizeof buf,
		  "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,0]}}",
		  data8, 8);
	expect_bad("end before begin", buf, n, EMO_E_FORMAT, "begin <= end");

	n = build(buf, sizeof buf, "{\"a\":{\"dtype\":\"F32\",\"shape\":[2]}}",
		  data8, 8);
	expect_bad("missing data_offsets", buf, n, EMO_E_FORMAT, "needs");

	n = build(buf, sizeof buf, "{\"__metadata__\":[1]}", NULL, 0);
	expect_bad("metadata not object", buf, n, EMO_E_FORMAT, "__metadata__");
}

static void test_files(void)
{
	struct emo_safetensors *st;
	t_last_log[0] = 0;
	CHECK_EQ_INT(emo_safetensors_open("/nonexistent/model.safetensors", &st),
		     -ENOENT);
	CHECK_CONTAINS(t_last_log, "cannot open");

	/* a real file cut in half: the data section is short */
	char path[] = "/tmp/emotop-st-XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	uint8_t buf[256];
	size_t n = build(buf, sizeof buf,
			 "{\"a\":{\"dtype\":\"F32\",\"shape\":[8],\"data_offsets\":[0,32]}}",
			 data8, 32);
	CHECK(write(fd, buf, n - 10) == (ssize_t)(n - 10));
	close(fd);
	t_last_log[0] = 0;
	CHECK_EQ_INT(emo_safetensors_open(path, &st), EMO_E_TRUNCATED);
	CHECK_CONTAINS(t_last_log, path);
	fprintf(stderr, "  truncated file -> \"%s\"\n", t_last_log);

	/* and a complete one opens via mmap */
	fd = open(path, O_WRONLY | O_TRUNC);
	CHECK(write(fd, buf, n) == (ssize_t)n);
	close(fd);
	CHECK_EQ_INT(emo_safetensors_open(path, &st), 0);
	if (st) {
		CHECK(emo_safetensors_find(st, "a")->data[7] == 8.0f);
		emo_safetensors_close(st);
	}
	unlink(path);

	CHECK_EQ_INT(emo_safetensors_open("/tmp", &st), -EISDIR);
	emo_safetensors_close(NULL);
}

int main(void)
{
	t_init();
	test_good();
	test_bad();
	test_files();
	return t_finish("test-safetensors");
}
