/* emotop._emotop: the CPython binding of libemotop. Thin on purpose: the
 * Python package (emotop/__init__.py) holds the API, its docstrings and
 * type hints, and this file only moves samples and results across.
 *
 * Handles are capsules (a model, an analyzer, a live stream) whose
 * destructors free the C objects; the Python objects that own them keep
 * what they borrow alive (a stream holds its model), so no C object is
 * ever used after it is freed, whatever order Python drops them in.
 *
 * Samples come in through the buffer protocol: a C-contiguous float32
 * buffer is read where it lies (no copy); the package converts anything
 * else once, before the call. Inference runs with the GIL released; long
 * jobs take it back between blocks to let Ctrl-C (PyErr_CheckSignals) in.
 *
 * Errors: the library returns a code and says the detail through its log
 * handler. The handler keeps the last error message of the calling thread
 * (thread-local), and the exception raised carries it. Warnings go to
 * Python's warnings module after the call. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <errno.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "emotop/emotop.h"

static double emo_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

#define BLOCK 16384 /* samples per call between signal checks */

static PyObject *Error, *InputError, *ModelError, *FileError;

/* ---- messages ---------------------------------------------------------------- */

static _Thread_local char last_error[1024];
static _Thread_local char warnings_buf[2048];

static void on_log(enum emo_log_level level, const char *msg, void *ud)
{
	(void)ud;
	if (level == EMO_LOG_ERROR) {
		snprintf(last_error, sizeof last_error, "%s", msg);
	} else if (level == EMO_LOG_WARN) {
		size_t k = strlen(warnings_buf);
		if (k + strlen(msg) + 2 < sizeof warnings_buf)
			snprintf(warnings_buf + k, sizeof warnings_buf - k, "%s%s", k ? "\n" : "",
				 msg);
	}
}

static void clear_messages(void)
{
	last_error[0] = 0;
	warnings_buf[0] = 0;
}

/* Python warnings for what the library warned about; -1 if one raised. */
static int flush_warnings(void)
{
	if (!warnings_buf[0])
		return 0;
	char copy[sizeof warnings_buf];
	snprintf(copy, sizeof copy, "%s", warnings_buf);
	warnings_buf[0] = 0;
	return PyErr_WarnEx(PyExc_RuntimeWarning, copy, 1);
}

static PyObject *class_of(int err)
{
	switch (err) {
	case EMO_E_BADMODEL: case EMO_E_SHAPE: case EMO_E_MISSING: case EMO_E_UNSUPPORTED:
	case EMO_E_DIGEST:
		return ModelError;
	case -ENOENT: case -EACCES: case -EIO: case -ENOSPC: case -EISDIR: case -ENOTDIR:
	case -EFBIG: case -EEXIST: case EMO_E_EXISTS: case EMO_E_DEVICE: case EMO_E_NODEVICE:
		return FileError;
	case -ENOMEM:
		return PyExc_MemoryError;
	default:
		return InputError;
	}
}

/* Raises the error `err` of an operation on `what` (may be NULL), with
 * the library's own message when it gave one. Returns NULL. */
static PyObject *raise_err(int err, PyObject *cls, const char *what)
{
	if (err == EMO_E_INTERRUPTED && PyErr_Occurred())
		return NULL; /* the KeyboardInterrupt from PyErr_CheckSignals */
	if (!cls)
		cls = class_of(err);
	if (last_error[0])
		PyErr_Format(cls, "%s", last_error);
	else if (what)
		PyErr_Format(cls, "%s: %s", what, emo_strerror(err));
	else
		PyErr_Format(cls, "%s", emo_strerror(err));
	last_error[0] = 0;
	warnings_buf[0] = 0;
	return NULL;
}

/* ---- samples ----------------------------------------------------------------- */

/* A 1-D C-contiguous float32 buffer of obj, finite throughout. */
static int get_samples(PyObject *obj, Py_buffer *view)
{
	if (PyObject_GetBuffer(obj, view, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0) {
		PyErr_Clear();
		PyErr_Format(InputError, "samples must be a 1-D float32 array (or a buffer of "
			     "float32), not %.100s", Py_TYPE(obj)->tp_name);
		return -1;
	}
	if (view->ndim != 1 || view->itemsize != 4 || !view->format ||
	    strcmp(view->format, "f")) {
		PyErr_Format(InputError, "samples must be one channel of float32 (a 1-D "
			     "array); got %d dimension(s) of format '%s'", view->ndim,
			     view->format ? view->format : "?");
		PyBuffer_Release(view);
		return -1;
	}
	const float *x = view->buf;
	Py_ssize_t n = view->len / 4;
	for (Py_ssize_t i = 0; i < n; i++)
		if (!isfinite(x[i])) {
			PyErr_Format(InputError, "sample %zd is %s: audio must be finite "
				     "(replace NaN/Inf, e.g. numpy.nan_to_num, before analysing)",
				     i, isnan(x[i]) ? "NaN" : "infinite");
			PyBuffer_Release(view);
			return -1;
		}
	return 0;
}

/* ---- the model --------------------------------------------------------------- */

static void model_free(PyObject *cap)
{
	emo_model_destroy(PyCapsule_GetPointer(cap, "emotop.model"));
}

/* PyArg_ParseTuple "O&" converters: a handle's C object into *out, or a
 * TypeError (0). Every function taking a handle goes through them. */
static int handle_arg(PyObject *cap, void *out, const char *name)
{
	void *p = PyCapsule_GetPointer(cap, name);
	if (!p) {
		PyErr_Format(PyExc_TypeError, "not an %s handle", name);
		return 0;
	}
	*(void **)out = p;
	return 1;
}

static int model_arg(PyObject *cap, void *out)
{
	return handle_arg(cap, out, "emotop.model");
}

static int analyzer_arg(PyObject *cap, void *out)
{
	return handle_arg(cap, out, "emotop.analyzer");
}

static int live_arg(PyObject *cap, void *out)
{
	return handle_arg(cap, out, "emotop.live");
}

static PyObject *py_load(PyObject *self, PyObject *args)
{
	const char *dir, *precision;
	int require_head;
	if (!PyArg_ParseTuple(args, "ssp", &dir, &precision, &require_head))
		return NULL;
	struct emo_model_params p = emo_model_params_default();
	p.require_head = require_head;
	if (!strcmp(precision, "fp32"))
		p.precision = EMO_PRECISION_FP32;
	else if (!strcmp(precision, "bf16"))
		p.precision = EMO_PRECISION_BF16;
	else
		return PyErr_Format(InputError, "precision must be 'fp32' or 'bf16', not '%s'",
				    precision);
	struct emo_model *m = NULL;
	clear_messages();
	int err;
	Py_BEGIN_ALLOW_THREADS
	err = emo_model_load(dir, &p, &m);
	Py_END_ALLOW_THREADS
	if (err) {
		PyErr_Clear();
		return raise_err(err, err == -ENOENT || err == -EACCES ? FileError : ModelError,
				 dir);
	}
	if (flush_warnings() < 0) {
		emo_model_destroy(m);
		return NULL;
	}
	PyObject *cap = PyCapsule_New(m, "emotop.model", model_free);
	if (!cap)
		emo_model_destroy(m);
	return cap;
}

static PyObject *py_model_info(PyObject *self, PyObject *args)
{
	struct emo_model *m;
	if (!PyArg_ParseTuple(args, "O&", model_arg, &m))
		return NULL;
	const struct emo_hubert_config *hc = emo_hubert_get_config(emo_model_encoder(m));
	PyObject *labels = PyList_New(0);
	for (int i = 0; labels && i < emo_model_num_labels(m); i++) {
		PyObject *s = PyUnicode_FromString(emo_model_label(m, i));
		if (!s || PyList_Append(labels, s) < 0) {
			Py_XDECREF(s);
			Py_CLEAR(labels);
			break;
		}
		Py_DECREF(s);
	}
	if (!labels)
		return NULL;
	const char *sha;
	Py_BEGIN_ALLOW_THREADS
	sha = emo_model_sha256(m);
	Py_END_ALLOW_THREADS
	return Py_BuildValue("{s:s,s:s,s:s,s:s,s:s,s:N,s:i,s:i,s:i,s:O}",
			     "name", emo_model_name(m), "dir", emo_model_dir(m),
			     "sha256", sha, "engine", emo_model_engine(m),
			     "precision", emo_model_precision(m) == EMO_PRECISION_BF16 ? "bf16"
											: "fp32",
			     "labels", labels, "hidden_size", hc->hidden_size,
			     "num_layers", hc->num_layers, "sample_rate", EMO_SAMPLE_RATE,
			     "has_head", emo_model_head(m) ? Py_True : Py_False);
}

/* ---- results ----------------------------------------------------------------- */

/* (index, t0, t1, speech, probs, smoothed, label, confidence, uncertain,
 * valence or None, arousal or None) */
static PyObject *result_tuple(const struct emo_result *r)
{
	PyObject *p = PyList_New(r->num_labels), *s = PyList_New(r->num_labels);
	if (!p || !s) {
		Py_XDECREF(p);
		Py_XDECREF(s);
		return NULL;
	}
	for (int i = 0; i < r->num_labels; i++) {
		PyList_SET_ITEM(p, i, PyFloat_FromDouble(r->probs[i]));
		PyList_SET_ITEM(s, i, PyFloat_FromDouble(r->smoothed[i]));
	}
	PyObject *v = r->affect.valid ? PyFloat_FromDouble(r->affect.valence) : Py_NewRef(Py_None);
	PyObject *a = r->affect.valid ? PyFloat_FromDouble(r->affect.arousal) : Py_NewRef(Py_None);
	return Py_BuildValue("(LdddNNidONN)", (long long)r->index, r->t0, r->t1, r->speech_s,
			     p, s, r->label, (double)r->confidence,
			     r->uncertain ? Py_True : Py_False, v, a);
}

/* Results are collected on the analysis side (no GIL) into a plain array
 * and turned into Python objects afterwards. */
struct pending {
	struct emo_result *r;
	size_t n, cap;
	int err;
};

static void on_result(const struct emo_result *r, void *ud)
{
	struct pending *q = ud;
	if (q->n == q->cap) {
		size_t cap = q->cap ? 2 * q->cap : 16;
		struct emo_result *p = realloc(q->r, cap * sizeof *p);
		if (!p) {
			q->err = -ENOMEM;
			return;
		}
		q->r = p;
		q->cap = cap;
	}
	q->r[q->n++] = *r;
}

static PyObject *take_pending(struct pending *q)
{
	PyObject *list = PyList_New(0);
	for (size_t i = 0; list && i < q->n; i++) {
		PyObject *t = result_tuple(&q->r[i]);
		if (!t || PyList_Append(list, t) < 0)
			Py_CLEAR(list);
		Py_XDECREF(t);
	}
	q->n = 0;
	return list;
}

/* ---- the analyzer (analyze, stream) ------------------------------------------- */

struct analyzer {
	struct emo_analyzer *a;
	struct emo_resample *rs; /* NULL at 16 kHz */
	struct pending q;
	float *buf;              /* resampled block */
	size_t buf_cap;
	pthread_mutex_t busy;    /* one call at a time */
	int closed;
	int64_t fed;             /* input samples */
};

static void analyzer_free_c(struct analyzer *z)
{
	emo_analyzer_destroy(z->a);
	emo_resample_destroy(z->rs);
	free(z->q.r);
	free(z->buf);
	pthread_mutex_destroy(&z->busy);
	free(z);
}

static void analyzer_free(PyObject *cap)
{
	analyzer_free_c(PyCapsule_GetPointer(cap, "emotop.analyzer"));
}

static int config_from(PyObject *d, struct emo_analyzer_config *c)
{
	/* keys are the package's names; values were range-checked there */
#define F(key, field, conv) do { \
		PyObject *v = PyDict_GetItemString(d, key); \
		if (v) { double x = PyFloat_AsDouble(v); \
			if (x == -1 && PyErr_Occurred()) return -1; \
			field = (conv)x; } } while (0)
	F("window", c->window_s, double);
	F("hop", c->hop_s, double);
	F("min_window", c->min_window_s, double);
	F("smoothing", c->ema_alpha, float);
	F("hysteresis", c->hysteresis, float);
	F("min_confidence", c->min_confidence, float);
	F("vad_frame_ms", c->vad.frame_ms, int);
	F("vad_on", c->vad.threshold_on, float);
	F("vad_off", c->vad.threshold_off, float);
	F("vad_hangover_ms", c->vad.hangover_ms, int);
	F("vad_min_speech_ms", c->vad.min_speech_ms, int);
	F("vad_min_silence_ms", c->vad.min_silence_ms, int);
	F("vad_pad_ms", c->vad.pad_ms, int);
	F("vad_snr_db", c->vad.snr_db, float);
	F("vad_min_level_dbfs", c->vad.min_level_dbfs, float);
	F("vad_floor_window_ms", c->vad.floor_window_ms, int);
#undef F
	PyObject *r = PyDict_GetItemString(d, "feature_reuse");
	if (r) {
		const char *s = PyUnicode_AsUTF8(r);
		if (!s)
			return -1;
		c->reuse = !strcmp(s, "off") ? EMO_REUSE_OFF :
			   !strcmp(s, "approximate") ? EMO_REUSE_APPROX : EMO_REUSE_EXACT;
	}
	return 0;
}

/* An analyzer of m for input at `rate` with the package's settings, or NULL
 * with the exception set. */
static struct analyzer *analyzer_create(struct emo_model *m, int rate, PyObject *cfgd,
					int quality)
{
	if (!emo_model_head(m)) {
		PyErr_Format(ModelError, "%s has no emotion head (an encoder-only model): it "
			     "can embed, not analyse", emo_model_name(m));
		return NULL;
	}
	struct emo_analyzer_config c = emo_analyzer_config_default();
	if (config_from(cfgd, &c) < 0)
		return NULL;
	struct analyzer *z = calloc(1, sizeof *z);
	if (!z) {
		PyErr_NoMemory();
		return NULL;
	}
	pthread_mutex_init(&z->busy, NULL);
	clear_messages();
	int err = emo_analyzer_create(m, &c, on_result, NULL, &z->q, &z->a);
	if (!err && rate != EMO_SAMPLE_RATE)
		err = emo_resample_create(rate, EMO_SAMPLE_RATE, quality, &z->rs);
	if (err) {
		analyzer_free_c(z);
		raise_err(err, InputError, "analyzer");
		return NULL;
	}
	return z;
}

static PyObject *py_analyzer_new(PyObject *self, PyObject *args)
{
	struct emo_model *m;
	PyObject *cfgd;
	int rate, quality;
	if (!PyArg_ParseTuple(args, "O&iO!i", model_arg, &m, &rate, &PyDict_Type, &cfgd,
			      &quality))
		return NULL;
	struct analyzer *z = analyzer_create(m, rate, cfgd, quality);
	if (!z)
		return NULL;
	PyObject *out = PyCapsule_New(z, "emotop.analyzer", analyzer_free);
	if (!out)
		analyzer_free_c(z);
	return out;
}

/* Resamples k samples (last: and flushes) into z->buf and analyses them;
 * without the GIL. */
static int resample_feed(struct analyzer *z, const float *x, size_t k, int last)
{
	size_t need = emo_resample_max_out(z->rs, k) + (last ? 4096 : 0);
	if (need > z->buf_cap) {
		float *b = realloc(z->buf, need * sizeof *b);
		if (!b)
			return -ENOMEM;
		z->buf = b;
		z->buf_cap = need;
	}
	/* all input is taken in one call (the buffer holds max_out); the
	 * flush may take a few calls until the converter gives nothing more */
	for (int round = 0; round < 64; round++) {
		size_t used = 0;
		long got = emo_resample_process(z->rs, x, k, z->buf, z->buf_cap, &used, last);
		if (got < 0)
			return (int)got;
		int err = emo_analyzer_process(z->a, z->buf, (size_t)got);
		if (err)
			return err;
		x += used;
		k -= used;
		if (!k && (!last || !got))
			break;
	}
	return 0;
}

/* Feeds n samples (the GIL released, taken back every BLOCK samples for
 * signals). Returns 0 or an error code (EMO_E_INTERRUPTED with the
 * KeyboardInterrupt set). */
static int feed(struct analyzer *z, const float *x, size_t n)
{
	int err = 0;
	for (size_t off = 0; !err && off < n; off += BLOCK) {
		size_t k = n - off < BLOCK ? n - off : BLOCK;
		Py_BEGIN_ALLOW_THREADS
		err = z->rs ? resample_feed(z, x + off, k, 0) : emo_analyzer_process(z->a, x + off, k);
		Py_END_ALLOW_THREADS
		if (!err)
			err = z->q.err;
		z->fed += (int64_t)k;
		if (!err && PyErr_CheckSignals() < 0)
			err = EMO_E_INTERRUPTED;
	}
	return err;
}

static int finish(struct analyzer *z)
{
	int err = 0;
	Py_BEGIN_ALLOW_THREADS
	if (z->rs)
		err = resample_feed(z, NULL, 0, 1);
	if (!err)
		err = emo_analyzer_finish(z->a);
	Py_END_ALLOW_THREADS
	return err ? err : z->q.err;
}

static int lock_analyzer(struct analyzer *z)
{
	if (pthread_mutex_trylock(&z->busy)) {
		PyErr_SetString(Error, "this stream is being used by another thread; give each "
				"thread its own stream");
		return -1;
	}
	if (z->closed) {
		pthread_mutex_unlock(&z->busy);
		PyErr_SetString(Error, "the stream is closed: open a new one with Model.stream()");
		return -1;
	}
	return 0;
}

static PyObject *py_analyzer_push(PyObject *self, PyObject *args)
{
	struct analyzer *z;
	PyObject *obj;
	if (!PyArg_ParseTuple(args, "O&O", analyzer_arg, &z, &obj) || lock_analyzer(z) < 0)
		return NULL;
	Py_buffer view;
	if (get_samples(obj, &view) < 0) {
		pthread_mutex_unlock(&z->busy);
		return NULL;
	}
	clear_messages();
	int err = feed(z, view.buf, (size_t)(view.len / 4));
	PyBuffer_Release(&view);
	PyObject *out = err ? NULL : take_pending(&z->q);
	if (err) {
		z->q.n = 0;
		raise_err(err, NULL, "analysis");
	}
	pthread_mutex_unlock(&z->busy);
	if (out && flush_warnings() < 0)
		Py_CLEAR(out);
	return out;
}

static PyObject *py_analyzer_finish(PyObject *self, PyObject *args)
{
	struct analyzer *z;
	if (!PyArg_ParseTuple(args, "O&", analyzer_arg, &z) || lock_analyzer(z) < 0)
		return NULL;
	clear_messages();
	int err = finish(z);
	z->closed = 1;
	PyObject *out = err ? raise_err(err, NULL, "analysis") : take_pending(&z->q);
	pthread_mutex_unlock(&z->busy);
	return out;
}

static PyObject *py_analyzer_stats(PyObject *self, PyObject *args)
{
	struct analyzer *z;
	if (!PyArg_ParseTuple(args, "O&", analyzer_arg, &z))
		return NULL;
	return Py_BuildValue("{s:L,s:d,s:L}", "samples_in", (long long)z->fed,
			     "speech_seconds", emo_analyzer_speech_seconds(z->a),
			     "windows", (long long)emo_analyzer_windows(z->a));
}

/* analyze_file(model, path, config, quality) -> (results, info) */
static PyObject *py_analyze_file(PyObject *self, PyObject *args)
{
	struct emo_model *m;
	PyObject *cfgd;
	const char *path;
	int quality;
	if (!PyArg_ParseTuple(args, "O&sO!i", model_arg, &m, &path, &PyDict_Type, &cfgd,
			      &quality))
		return NULL;
	struct analyzer *z = analyzer_create(m, EMO_SAMPLE_RATE, cfgd, quality);
	if (!z)
		return NULL;
	struct emo_audio_info info;
	struct emo_audio_reader *rd = NULL;
	clear_messages();
	int err;
	Py_BEGIN_ALLOW_THREADS
	err = emo_audio_reader_open(path, EMO_SAMPLE_RATE, quality, &info, &rd);
	Py_END_ALLOW_THREADS
	if (err) {
		analyzer_free_c(z);
		return raise_err(err, err == -ENOENT || err == -EACCES || err == -EISDIR ?
					      FileError : InputError, path);
	}
	float *x = malloc(BLOCK * sizeof *x);
	int64_t n = 0;
	while (!err && x) {
		long got;
		Py_BEGIN_ALLOW_THREADS
		got = emo_audio_reader_read(rd, x, BLOCK);
		Py_END_ALLOW_THREADS
		if (got <= 0) {
			err = (int)got;
			break;
		}
		n += got;
		err = feed(z, x, (size_t)got);
	}
	if (!x)
		err = -ENOMEM;
	if (!err && n == 0) {
		snprintf(last_error, sizeof last_error, "%s: the file holds no audio samples", path);
		err = EMO_E_EMPTY;
	}
	if (!err)
		err = finish(z);
	PyObject *out = NULL;
	if (err) {
		raise_err(err, NULL, path);
	} else {
		PyObject *res = take_pending(&z->q);
		if (res)
			out = Py_BuildValue("(N{s:d,s:d,s:i,s:i,s:K,s:K,s:d})", res, "duration",
					    (double)n / EMO_SAMPLE_RATE, "speech_seconds",
					    emo_analyzer_speech_seconds(z->a), "file_rate",
					    info.file_rate, "channels", info.channels,
					    "nonfinite_samples",
					    (unsigned long long)emo_audio_reader_nonfinite(rd),
					    "out_of_range_samples",
					    (unsigned long long)emo_audio_reader_out_of_range(rd),
					    "missing_seconds",
					    (double)emo_audio_reader_frames_missing(rd) /
						    (info.file_rate > 0 ? info.file_rate : 1));
	}
	free(x);
	emo_audio_reader_close(rd);
	analyzer_free_c(z);
	if (out && flush_warnings() < 0)
		Py_CLEAR(out);
	return out;
}

/* ---- resampling, one clip, embeddings ----------------------------------------- */

/* 16 kHz float32 bytes of a buffer at `rate` (the buffer itself when it
 * is 16 kHz already). */
static PyObject *py_resample(PyObject *self, PyObject *args)
{
	PyObject *obj;
	int rate, quality;
	if (!PyArg_ParseTuple(args, "Oii", &obj, &rate, &quality))
		return NULL;
	Py_buffer view;
	if (get_samples(obj, &view) < 0)
		return NULL;
	size_t n = (size_t)(view.len / 4);
	if (rate == EMO_SAMPLE_RATE) {
		PyBuffer_Release(&view);
		return Py_NewRef(obj);
	}
	struct emo_resample *rs = NULL;
	clear_messages();
	int err = emo_resample_create(rate, EMO_SAMPLE_RATE, quality, &rs);
	if (err) {
		PyBuffer_Release(&view);
		return raise_err(err, InputError, "resampler");
	}
	size_t cap = emo_resample_max_out(rs, n) + 4096;
	PyObject *out = PyByteArray_FromStringAndSize(NULL, (Py_ssize_t)(cap * 4));
	long got = -ENOMEM, tail = 0;
	if (out) {
		float *y = (float *)PyByteArray_AS_STRING(out);
		Py_BEGIN_ALLOW_THREADS
		size_t used = 0;
		got = emo_resample_process(rs, view.buf, n, y, cap, &used, 0);
		if (got >= 0) {
			tail = emo_resample_process(rs, NULL, 0, y + got, cap - (size_t)got,
						    &used, 1);
			if (tail < 0)
				got = tail;
		}
		Py_END_ALLOW_THREADS
	}
	emo_resample_destroy(rs);
	PyBuffer_Release(&view);
	if (got < 0) {
		Py_XDECREF(out);
		return raise_err((int)got, InputError, "resampling");
	}
	if (PyByteArray_Resize(out, (Py_ssize_t)((got + tail) * 4)) < 0) {
		Py_DECREF(out);
		return NULL;
	}
	return out;
}

static PyObject *py_predict(PyObject *self, PyObject *args)
{
	struct emo_model *m;
	PyObject *obj;
	if (!PyArg_ParseTuple(args, "O&O", model_arg, &m, &obj))
		return NULL;
	if (!emo_model_head(m))
		return PyErr_Format(ModelError, "%s has no emotion head: it can embed, not "
				    "predict", emo_model_name(m));
	Py_buffer view;
	if (get_samples(obj, &view) < 0)
		return NULL;
	Py_ssize_t n = view.len / 4;
	if (n > INT32_MAX / 2) {
		PyBuffer_Release(&view);
		return PyErr_Format(InputError, "%zd samples are more than one clip can be "
				    "(analyze() takes any length)", n);
	}
	struct emo_model_state *s = NULL;
	float probs[EMO_MAX_LABELS];
	clear_messages();
	int err;
	Py_BEGIN_ALLOW_THREADS
	err = emo_model_state_create(m, (int)n, &s);
	if (!err) {
		err = emo_model_infer(m, s, view.buf, (int)n, probs);
		err = err < 0 ? err : 0;
	}
	emo_model_state_destroy(s);
	Py_END_ALLOW_THREADS
	PyBuffer_Release(&view);
	if (err)
		return raise_err(err, InputError, err == EMO_E_EMPTY ?
				 "the clip is shorter than one encoder frame" : "inference");
	PyObject *l = PyList_New(emo_model_num_labels(m));
	for (int i = 0; l && i < emo_model_num_labels(m); i++)
		PyList_SET_ITEM(l, i, PyFloat_FromDouble(probs[i]));
	return l;
}

/* embed(model, samples16k, layer or -1 for all) -> (bytes, shape) */
static PyObject *py_embed(PyObject *self, PyObject *args)
{
	struct emo_model *m;
	PyObject *obj;
	int layer;
	if (!PyArg_ParseTuple(args, "O&Oi", model_arg, &m, &obj, &layer))
		return NULL;
	const struct emo_hubert *h = emo_model_encoder(m);
	const struct emo_hubert_config *hc = emo_hubert_get_config(h);
	if (layer < -1 || layer > hc->num_layers)
		return PyErr_Format(InputError, "layer must be 0..%d (or None for the last, "
				    "'all' for every one), not %d", hc->num_layers, layer);
	Py_buffer view;
	if (get_samples(obj, &view) < 0)
		return NULL;
	Py_ssize_t n = view.len / 4;
	if (n > INT32_MAX / 2) {
		PyBuffer_Release(&view);
		return PyErr_Format(InputError, "%zd samples are too many for one pass", n);
	}
	struct emo_hubert_state *s = NULL;
	clear_messages();
	int T;
	Py_BEGIN_ALLOW_THREADS
	T = emo_hubert_state_create(h, (int)n, &s);
	if (!T)
		T = emo_hubert_forward(h, s, view.buf, (int)n);
	Py_END_ALLOW_THREADS
	PyBuffer_Release(&view);
	if (T < 0) {
		emo_hubert_state_destroy(s);
		return raise_err(T, InputError, T == EMO_E_EMPTY ?
				 "the clip is shorter than one encoder frame" : "the encoder");
	}
	size_t per = (size_t)T * (size_t)hc->hidden_size;
	int nl = layer < 0 ? hc->num_layers + 1 : 1;
	PyObject *b = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)(per * (size_t)nl * 4));
	if (b) {
		char *dst = PyBytes_AS_STRING(b);
		for (int l = 0; l < nl; l++)
			memcpy(dst + per * 4 * (size_t)l,
			       emo_hubert_hidden(s, layer < 0 ? l : layer), per * 4);
	}
	emo_hubert_state_destroy(s);
	if (!b)
		return NULL;
	if (layer < 0)
		return Py_BuildValue("(N(iii))", b, nl, T, hc->hidden_size);
	return Py_BuildValue("(N(ii))", b, T, hc->hidden_size);
}

/* ---- session logs ------------------------------------------------------------ */

/* read_session(path) -> the log's lines as the C reader validated and
 * printed them (header first), and whether the last line was cut off. */
static PyObject *py_read_session(PyObject *self, PyObject *args)
{
	const char *path;
	if (!PyArg_ParseTuple(args, "s", &path))
		return NULL;
	struct emo_session_log log;
	char *text = NULL;
	size_t len = 0;
	clear_messages();
	int err;
	Py_BEGIN_ALLOW_THREADS
	err = emo_session_log_read(path, &log);
	if (!err) {
		FILE *f = open_memstream(&text, &len);
		err = f ? emo_session_log_print(&log, f) : -ENOMEM;
		if (f && fclose(f) && !err)
			err = -ENOMEM;
		if (err)
			emo_session_log_free(&log);
	}
	Py_END_ALLOW_THREADS
	if (err) {
		free(text);
		return raise_err(err, err == -ENOENT || err == -EACCES || err == -EISDIR ?
					      FileError : InputError, path);
	}
	int truncated = log.truncated, ended = log.end != NULL;
	emo_session_log_free(&log);
	PyObject *s = PyUnicode_DecodeUTF8(text, (Py_ssize_t)len, "strict");
	free(text);
	if (!s)
		return NULL;
	if (flush_warnings() < 0) {
		Py_DECREF(s);
		return NULL;
	}
	return Py_BuildValue("(NOO)", s, truncated ? Py_True : Py_False,
			     ended ? Py_True : Py_False);
}

/* ---- live: a PortAudio device through the library's stream --------------------- */

struct live {
	struct emo_source *src;
	struct emo_stream *st;
	int ended;
};

static void live_free_c(struct live *l)
{
	emo_stream_destroy(l->st);
	emo_source_close(l->src);
	free(l);
}

static void live_free(PyObject *cap)
{
	struct live *l = PyCapsule_GetPointer(cap, "emotop.live");
	Py_BEGIN_ALLOW_THREADS
	live_free_c(l);
	Py_END_ALLOW_THREADS
}

static PyObject *py_live_open(PyObject *self, PyObject *args)
{
	struct emo_model *m;
	PyObject *cfgd;
	const char *device, *path;
	if (!PyArg_ParseTuple(args, "O&zzO!", model_arg, &m, &device, &path, &PyDict_Type,
			      &cfgd))
		return NULL;
	struct emo_stream_config sc = emo_stream_config_default();
	if (config_from(cfgd, &sc.analyzer) < 0)
		return NULL;
	struct emo_source_config c = emo_source_config_default();
	c.kind = path ? EMO_SOURCE_FILE : EMO_SOURCE_DEVICE;
	c.device = device;
	c.path = path;
	c.paced = true;
	struct live *l = calloc(1, sizeof *l);
	if (!l)
		return PyErr_NoMemory();
	clear_messages();
	int err;
	Py_BEGIN_ALLOW_THREADS
	err = emo_source_open(&c, &l->src);
	if (!err)
		err = emo_stream_create(m, l->src, &sc, &l->st);
	if (!err)
		err = emo_stream_start(l->st);
	if (err)
		live_free_c(l);
	Py_END_ALLOW_THREADS
	if (err)
		return raise_err(err, NULL, device ? device : path ? path : "the default input");
	PyObject *out = PyCapsule_New(l, "emotop.live", live_free);
	if (!out)
		live_free_c(l);
	return out;
}

/* live_next(handle, timeout_s) -> list of ("window", tuple) | ("speech",
 * t0, t1) | ("event", kind, t, detail) ; None at the end */
static PyObject *py_live_next(PyObject *self, PyObject *args)
{
	struct live *l;
	double timeout;
	if (!PyArg_ParseTuple(args, "O&d", live_arg, &l, &timeout))
		return NULL;
	if (l->ended)
		Py_RETURN_NONE;
	PyObject *list = PyList_New(0);
	struct emo_event ev;
	double deadline = -1;
	for (;;) {
		while (list && emo_stream_next_event(l->st, &ev)) {
			PyObject *item = NULL;
			switch (ev.type) {
			case EMO_EVENT_RESULT:
				item = Py_BuildValue("(sN)", "window", result_tuple(&ev.result));
				break;
			case EMO_EVENT_SPEECH:
				item = Py_BuildValue("(sdd)", "speech", ev.t0, ev.t1);
				break;
			case EMO_EVENT_END:
				l->ended = 1;
				break;
			default:
				item = Py_BuildValue("(sids)", "event", (int)ev.type, ev.t0,
						     ev.error ? emo_strerror(ev.error) : "");
			}
			if (item && PyList_Append(list, item) < 0)
				Py_CLEAR(list);
			Py_XDECREF(item);
			if (l->ended)
				break;
		}
		if (!list || l->ended || PyList_GET_SIZE(list))
			break;
		/* wait in slices of at most 200 ms, for Ctrl-C, until the deadline */
		if (deadline < 0)
			deadline = emo_now() + timeout;
		double left = deadline - emo_now();
		if (left <= 0)
			break;
		struct pollfd p = {.fd = emo_stream_fd(l->st), .events = POLLIN};
		int ms = left > 0.2 ? 200 : (int)(left * 1000) + 1;
		Py_BEGIN_ALLOW_THREADS
		poll(&p, 1, ms);
		Py_END_ALLOW_THREADS
		if (PyErr_CheckSignals() < 0) {
			Py_DECREF(list);
			return NULL;
		}
	}
	return list;
}

static PyObject *py_live_stop(PyObject *self, PyObject *args)
{
	struct live *l;
	if (!PyArg_ParseTuple(args, "O&", live_arg, &l))
		return NULL;
	Py_BEGIN_ALLOW_THREADS
	emo_stream_stop(l->st);
	Py_END_ALLOW_THREADS
	Py_RETURN_NONE;
}

static PyObject *py_set_threads(PyObject *self, PyObject *args)
{
	int n;
	if (!PyArg_ParseTuple(args, "i", &n))
		return NULL;
	emo_set_threads(n);
	return PyLong_FromLong(emo_get_threads());
}

static PyObject *py_default_model(PyObject *self, PyObject *noargs)
{
	const char *origin;
	const char *d = emo_model_default_dir(&origin);
	return Py_BuildValue("(ss)", d, origin);
}

static PyMethodDef methods[] = {
	{"load", py_load, METH_VARARGS, NULL},
	{"model_info", py_model_info, METH_VARARGS, NULL},
	{"analyzer_new", py_analyzer_new, METH_VARARGS, NULL},
	{"analyzer_push", py_analyzer_push, METH_VARARGS, NULL},
	{"analyzer_finish", py_analyzer_finish, METH_VARARGS, NULL},
	{"analyzer_stats", py_analyzer_stats, METH_VARARGS, NULL},
	{"analyze_file", py_analyze_file, METH_VARARGS, NULL},
	{"resample", py_resample, METH_VARARGS, NULL},
	{"predict", py_predict, METH_VARARGS, NULL},
	{"embed", py_embed, METH_VARARGS, NULL},
	{"read_session", py_read_session, METH_VARARGS, NULL},
	{"live_open", py_live_open, METH_VARARGS, NULL},
	{"live_next", py_live_next, METH_VARARGS, NULL},
	{"live_stop", py_live_stop, METH_VARARGS, NULL},
	{"set_threads", py_set_threads, METH_VARARGS, NULL},
	{"default_model", py_default_model, METH_NOARGS, NULL},
	{NULL, NULL, 0, NULL},
};

static struct PyModuleDef moddef = {
	PyModuleDef_HEAD_INIT, "_emotop",
	"The C side of the emotop package (libemotop); use the emotop package.", -1,
	methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__emotop(void); /* the one exported symbol */
PyMODINIT_FUNC PyInit__emotop(void)
{
	PyObject *m = PyModule_Create(&moddef);
	if (!m)
		return NULL;
	Error = PyErr_NewExceptionWithDoc("emotop.Error", "Any error emotop reports.",
					  PyExc_Exception, NULL);
	PyObject *vb = PyTuple_Pack(2, Error, PyExc_ValueError);
	InputError = PyErr_NewExceptionWithDoc(
		"emotop.InputError", "Bad input: samples, options, an audio file or a session "
		"log that cannot be used as given.", vb, NULL);
	Py_XDECREF(vb);
	ModelError = PyErr_NewExceptionWithDoc(
		"emotop.ModelError", "A model directory that cannot be loaded or used as asked.",
		Error, NULL);
	PyObject *ob = PyTuple_Pack(2, Error, PyExc_OSError);
	FileError = PyErr_NewExceptionWithDoc(
		"emotop.FileError", "A file or device that cannot be opened, read or written.",
		ob, NULL);
	Py_XDECREF(ob);
	if (!Error || !InputError || !ModelError || !FileError ||
	    PyModule_AddObjectRef(m, "Error", Error) < 0 ||
	    PyModule_AddObjectRef(m, "InputError", InputError) < 0 ||
	    PyModule_AddObjectRef(m, "ModelError", ModelError) < 0 ||
	    PyModule_AddObjectRef(m, "FileError", FileError) < 0 ||
	    PyModule_AddStringConstant(m, "library_version", EMOTOP_VERSION_STRING) < 0 ||
	    PyModule_AddIntConstant(m, "SAMPLE_RATE", EMO_SAMPLE_RATE) < 0) {
		Py_DECREF(m);
		return NULL;
	}
	emo_log_set_handler(on_log, NULL);
	emo_log_set_level(EMO_LOG_WARN);
	return m;
}
