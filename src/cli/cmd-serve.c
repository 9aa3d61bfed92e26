/* emotop serve: the live engine behind a web page. The page (embedded,
 * src/cli/web) shows what the TUI shows; its source is the server's own
 * device or file (--device, --input), or the browser's microphone, whose
 * samples come over the WebSocket and are pushed into the same stream
 * engine a device feeds (EMO_SOURCE_PUSH): one analysis path. Every client
 * receives the session log's own records as they are written, plus serve's
 * "hello", "stats", "status" and "error" messages (man emotop, SERVE).
 *
 * Threads: this one runs the network loop (serve-net.c) and, every 4 ms,
 * drains the stream's events into the log file and to the clients; the
 * stream's analysis thread; the capture thread of a device or file
 * source; one worker for an uploaded file's analysis. The loop never waits
 * for a client: output to a slow one is dropped and counted. */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <unistd.h>

#include "cli/batch.h"
#include "cli/cli.h"
#include "cli/palette.h"
#include "cli/report.h"
#include "cli/serve-net.h"
#include "cli/session-opts.h"
#include "emotop/model.h"
#include "emotop/session.h"
#include "emotop/source.h"
#include "emotop/stream.h"
#include "emotop/version.h"

enum { RATE_MIN = 8000, RATE_MAX = 192000, BURST_S = 3, MAX_TEXT = 4096,
       MAX_REPORT = 8 << 20 };

static volatile sig_atomic_t got_signal;

static void on_signal(int sig)
{
	if (got_signal) { /* a second signal ends the program at once */
		signal(sig, SIG_DFL);
		raise(sig);
	}
	got_signal = sig;
}

static const char serve_help[] =
	"Usage: emotop serve [OPTIONS]\n"
	"Serve a web page that shows the emotion of a voice live: the bars, the\n"
	"timeline, valence and arousal, as the TUI does. The source is the\n"
	"browser's microphone (the page's button), or this machine's device or\n"
	"a file (--device, --input). The page also analyses an uploaded file and\n"
	"plays back a session log. emotop prints the address to open, with its\n"
	"access token; the page and its socket refuse anyone without it.\n"
	"      --listen ADDR:PORT  where to listen (default 127.0.0.1:8765; port 0:\n"
	"                        any free port). Not a loopback address: other\n"
	"                        machines can connect (with the token), said on stderr\n"
	"      --allow-host NAME a Host name the page may be reached by besides\n"
	"                        localhost and IP addresses (repeatable)\n"
	"      --max-upload MB   largest file the page may upload (default 64)\n"
	"      --max-clients N   pages connected at once (default 64)\n"
	"      --idle S          a silent page is pinged after S s and dropped\n"
	"                        after 2 S; one that reads nothing while its\n"
	"                        output is dropped, after S s (default 30)\n"
	"      --client-queue KB output held for one page before its messages are\n"
	"                        dropped (and counted) instead (default 1024)\n"
	"  With --log/--record, each browser session after the first is logged\n"
	"  and recorded under the name numbered -2, -3, ...\n";

enum { OPT_LISTEN = OPT_CLI_BASE + 80, OPT_ALLOW_HOST, OPT_MAX_UPLOAD, OPT_MAX_CLIENTS,
       OPT_IDLE, OPT_QUEUE };

/* One session: a source through the stream engine to the log and the
 * clients. */
struct session {
	struct emo_source *src;
	struct emo_stream *st;
	struct emo_session_writer *logw, *netw;
	struct emo_session_info info;
	struct emo_stream_config stc;
	char log_path[4096], rec_path[4096], toggle_rec[256], name[256];
	const char *end_reason;
	bool browser, paused;
	double started;      /* emo_now() at the start (the rate check) */
	uint64_t pushed;     /* frames */
	int end_error, record_error;
};

/* An uploaded file being analysed on its own thread. */
struct upload {
	struct net_request *req;
	pthread_t thread;
	int fd;
	char name[256], open_path[64];
	struct batch b;
	struct file_job job;
	atomic_bool done;
};

struct serve {
	struct session_opts o;
	const char *listen;
	const char *allow_hosts[17];
	int n_allow;
	long max_upload_mb, max_clients, idle_s, queue_kb;
	struct net *net;
	struct emo_model *m;
	struct session *cur;
	int seq;                      /* sessions started */
	struct net_client *producer;  /* the page streaming its microphone */
	char *header_line;            /* the current session's header record */
	struct upload *up;
	double next_stats;
	int status;                   /* exit status besides signals */
};

/* ---- messages to clients ------------------------------------------------------ */

/* One message as compact JSON (the log's form); takes o. NULL if o is. */
static char *dump(json_t *o)
{
	char *s = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	json_decref(o);
	return s;
}

/* To client c, or to every client with c NULL; takes o. */
static void send_json(struct net *net, struct net_client *c, json_t *o)
{
	char *s = dump(o);
	if (s && c)
		net_send(c, s, strlen(s));
	else if (s)
		net_broadcast(net, s, strlen(s));
	free(s);
}

static void send_error(struct net_client *c, const char *msg)
{
	send_json(NULL, c, json_pack("{s:s, s:s}", "type", "error", "message", msg));
}

/* An error message, then the close (code 1007 malformed, 1008 policy). */
static void refuse(struct net_client *c, int code, const char *msg)
{
	send_error(c, msg);
	net_close(c, code, msg);
}

static void broadcast_status(struct serve *S, const char *msg)
{
	send_json(S->net, NULL, json_pack("{s:s, s:s, s:b}", "type", "status", "message",
					  msg, "session", S->cur != NULL));
}

/* The session writer's line sink: each log record to every client, and
 * the header kept for clients that join later. */
static int to_clients(void *ud, const char *s, size_t n)
{
	struct serve *S = ud;
	if (!strncmp(s, "{\"type\":\"session\"", 17)) {
		free(S->header_line);
		S->header_line = strndup(s, n);
	}
	net_broadcast(S->net, s, n);
	return 0;
}

static json_t *source_json(const struct session *s)
{
	return json_pack("{s:s, s:s, s:i}", "kind", s->info.source_kind, "name",
			 s->info.source_name, "rate", s->info.source_rate);
}

static void joined(void *ud, struct net_client *c)
{
	struct serve *S = ud;
	json_t *labels = json_array(), *colors = json_object();
	for (int i = 0; i < emo_model_num_labels(S->m); i++) {
		const char *l = emo_model_label(S->m, i);
		json_array_append_new(labels, json_string(l));
		json_object_set_new(colors, l, json_string(emo_palette(l, i).hex));
	}
	json_t *hello = json_pack(
		"{s:s, s:i, s:s, s:s, s:o, s:o, s:o, s:b, s:{s:I, s:I, s:i, s:i}}",
		"type", "hello", "version", EMO_SESSION_VERSION,
		"generator", "emotop " EMOTOP_VERSION_STRING, "model", emo_model_name(S->m),
		"labels", labels, "colors", colors,
		"source", S->cur ? source_json(S->cur) : json_null(),
		"browser_source", !S->o.source_given,
		"limits", "max_upload", (json_int_t)S->max_upload_mb << 20,
		"max_message", (json_int_t)65536, "rate_min", RATE_MIN, "rate_max", RATE_MAX);
	send_json(NULL, c, hello);
	if (S->header_line)
		net_send(c, S->header_line, strlen(S->header_line));
}

/* ---- sessions ------------------------------------------------------------------- */

static void session_free(struct session *s)
{
	if (!s)
		return;
	emo_stream_destroy(s->st);
	emo_source_close(s->src);
	if (s->logw)
		emo_session_writer_close(s->logw);
	if (s->netw)
		emo_session_writer_close(s->netw);
	free(s);
}

/* Opens and starts a session on source config sc, named `name` (NULL: the
 * source's own name). NULL after a message in err (for the client) and on
 * stderr. */
static struct session *session_start(struct serve *S, const struct emo_source_config *sc,
				     const char *kind, const char *name, char *err,
				     size_t errn)
{
	struct session *s = calloc(1, sizeof *s);
	if (!s) {
		snprintf(err, errn, "out of memory");
		return NULL;
	}
	int seq = ++S->seq;
	s->stc = S->o.stc;
	if (S->o.stc.record_path) {
		s->stc.record_path = session_record_path(&S->o, seq, s->rec_path,
							 sizeof s->rec_path);
		if (!s->stc.record_path) {
			snprintf(err, errn, "the --record name is too long to number");
			goto fail;
		}
	}
	int e = emo_source_open(sc, &s->src);
	if (e) {
		snprintf(err, errn, "cannot open %s: %s", name ? name : "the input device",
			 emo_strerror(e));
		goto fail;
	}
	snprintf(s->name, sizeof s->name, "%s", name ? name : emo_source_name(s->src));
	/* the log before the stream, which creates the recording */
	if (session_open_log(&S->o, seq, s->log_path, sizeof s->log_path, &s->logw)) {
		snprintf(err, errn, "cannot write the session log (the server's "
			 "terminal says why)");
		goto fail;
	}
	if ((e = emo_stream_create(S->m, s->src, &s->stc, &s->st))) {
		snprintf(err, errn, "cannot start analysis: %s", emo_strerror(e));
		goto fail;
	}
	emo_session_writer_open_lines(to_clients, S, &s->netw);
	s->info = (struct emo_session_info){
		.source_kind = kind, .source_name = s->name,
		.source_rate = emo_source_rate(s->src),
		.source_channels = emo_source_channels(s->src),
		.model = S->m, .analysis = &s->stc.analyzer,
		.resample = quality_name(s->stc.quality), .recording = s->stc.record_path,
		.threads = (int)S->o.threads,
	};
	if (s->logw)
		emo_session_write_header(s->logw, &s->info);
	if (s->netw)
		emo_session_write_header(s->netw, &s->info);
	if ((e = emo_stream_start(s->st))) {
		snprintf(err, errn, "cannot start %s: %s", s->name, emo_strerror(e));
		goto fail;
	}
	s->started = emo_now();
	return s;
fail:
	cli_error("%s", err);
	if (s->logw) { /* a session that never began leaves no empty log */
		emo_session_writer_close(s->logw);
		s->logw = NULL;
		unlink(s->log_path);
	}
	session_free(s);
	return NULL;
}

/* The END event arrived: the end record, the log closed, the session gone. */
static void session_end(struct serve *S)
{
	struct session *s = S->cur;
	struct emo_stream_stats st;
	emo_stream_stop(s->st);
	emo_stream_get_stats(s->st, &st);
	char why[200];
	const char *reason = s->end_reason ? s->end_reason : "end of input";
	if (got_signal)
		reason = got_signal == SIGINT ? "interrupted (SIGINT)" :
			 got_signal == SIGTERM ? "terminated (SIGTERM)" : "hangup (SIGHUP)";
	else if (s->end_error) {
		snprintf(why, sizeof why, "%s: %s",
			 s->end_error == EMO_E_DEVICE ? "input device error" : "error",
			 emo_strerror(s->end_error));
		reason = why;
	}
	if (s->logw)
		emo_session_write_end(s->logw, reason, &st);
	if (s->netw)
		emo_session_write_end(s->netw, reason, &st);
	if (s->logw) {
		int e = emo_session_writer_close(s->logw);
		s->logw = NULL;
		if (e) {
			cli_error("the session log %s is incomplete: %s", s->log_path,
				  emo_strerror(e));
			S->status = 1;
		} else {
			fprintf(stderr, "%s: session %d ended (%s): %.1f s, %llu window(s), "
				"log %s\n", prog, S->seq, reason, st.audio_s,
				(unsigned long long)st.windows, s->log_path);
		}
	}
	if (s->record_error) {
		cli_error("the recording %s stopped early: %s; what was written before "
			  "is intact", s->stc.record_path ? s->stc.record_path : "",
			  emo_strerror(s->record_error));
		S->status = 1;
	}
	free(S->header_line);
	S->header_line = NULL;
	if (S->producer)
		S->producer = NULL;
	session_free(s);
	S->cur = NULL;
}

static void drain_events(struct serve *S)
{
	struct emo_event ev;
	while (S->cur && emo_stream_next_event(S->cur->st, &ev)) {
		struct session *s = S->cur;
		if (ev.type == EMO_EVENT_ERROR || (ev.type == EMO_EVENT_END && ev.error))
			s->end_error = ev.error;
		if (ev.type == EMO_EVENT_RECORD_ERROR)
			s->record_error = ev.error;
		if (ev.type == EMO_EVENT_PAUSE)
			s->paused = ev.count;
		if (s->logw)
			emo_session_write_stream_event(s->logw, S->m, &ev);
		if (s->netw)
			emo_session_write_stream_event(s->netw, S->m, &ev);
		if (ev.type == EMO_EVENT_END)
			session_end(S);
	}
}

/* The shared statistics with the client's own count of dropped messages
 * spliced in as the last field. */
static void send_stats_to(struct net_client *c, void *ud)
{
	const char *base = ud;
	char tail[64];
	size_t n = strlen(base);
	int k = snprintf(tail, sizeof tail, ",\"sent_dropped\":%llu}",
			 (unsigned long long)net_client_dropped(c));
	char *msg = malloc(n + (size_t)k);
	if (!msg)
		return;
	memcpy(msg, base, n - 1);
	memcpy(msg + n - 1, tail, (size_t)k + 1);
	net_send(c, msg, n - 1 + (size_t)k);
	free(msg);
}

static void send_stats(struct serve *S)
{
	struct emo_stream_stats st = {0};
	if (S->cur)
		emo_stream_get_stats(S->cur->st, &st);
	/* per client: each has its own count of dropped messages */
	json_t *o = json_pack(
		"{s:s, s:b, s:f, s:f, s:I, s:I, s:I, s:I, s:I, s:f, s:f, s:f, s:f, s:f,"
		" s:f, s:b, s:b, s:b, s:i}",
		"type", "stats", "session", S->cur != NULL, "audio_s", st.audio_s,
		"speech_s", st.speech_s, "windows", (json_int_t)st.windows,
		"dropped", (json_int_t)st.dropped, "skipped", (json_int_t)st.skipped,
		"events_lost", (json_int_t)st.events_lost, "nonfinite", (json_int_t)st.nonfinite,
		"rtf", st.rtf, "latency_p50", st.latency_p50, "latency_p95", st.latency_p95,
		"latency_last", st.latency_last,
		"level_db", isfinite(st.level_db) ? (double)st.level_db : -120.0,
		"vad", (double)st.vad_score, "speech", st.speech, "paused", st.paused,
		"recording", st.recording, "clients", net_num_clients(S->net));
	char *base = dump(o);
	if (base)
		net_each(S->net, send_stats_to, base);
	free(base);
}

/* ---- what clients ask for ---------------------------------------------------------- */

static void sanitize(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
}

static int start_browser(struct serve *S, struct net_client *c, json_t *msg)
{
	if (S->o.source_given) {
		send_error(c, "this emotop analyses its own device or file; the browser's "
			   "microphone is not used");
		return 0;
	}
	if (S->producer) {
		send_error(c, "another page is already streaming its microphone");
		return 0;
	}
	if (S->cur) {
		send_error(c, "the previous session is still ending; try again in a moment");
		return 0;
	}
	json_t *rate = json_object_get(msg, "rate");
	json_t *ch = json_object_get(msg, "channels");
	if (!json_is_number(rate) || json_number_value(rate) != floor(json_number_value(rate)) ||
	    json_number_value(rate) < RATE_MIN || json_number_value(rate) > RATE_MAX) {
		send_error(c, "start: \"rate\" must be a whole number of Hz from 8000 to 192000");
		return 1;
	}
	if (ch && !(json_is_integer(ch) && json_integer_value(ch) == 1)) {
		send_error(c, "start: send one channel (mono float32 samples)");
		return 1;
	}
	const char *dev = json_string_value(json_object_get(msg, "device"));
	char name[256];
	snprintf(name, sizeof name, "%s", dev && *dev ? dev : "microphone");
	sanitize(name);
	struct emo_source_config sc = emo_source_config_default();
	sc.kind = EMO_SOURCE_PUSH;
	sc.rate = (int)json_number_value(rate);
	sc.name = name;
	char err[300];
	struct session *s = session_start(S, &sc, "browser", name, err, sizeof err);
	if (!s) {
		send_error(c, err);
		return 0;
	}
	s->browser = true;
	S->cur = s;
	S->producer = c;
	char m[4500];
	snprintf(m, sizeof m, "analysing %s at %d Hz%s%s", name, sc.rate,
		 s->logw ? ", logging to " : "", s->logw ? s->log_path : "");
	broadcast_status(S, m);
	return 0;
}

static void end_browser(struct serve *S, const char *reason)
{
	if (S->cur && S->cur->browser && !S->cur->end_reason) {
		S->cur->end_reason = reason;
		emo_source_push_end(S->cur->src);
	}
	S->producer = NULL;
}

/* space and r, as in the TUI */
static void toggle_pause(struct serve *S)
{
	if (!S->cur)
		return;
	S->cur->paused = !S->cur->paused;
	emo_stream_set_paused(S->cur->st, S->cur->paused);
}

static void toggle_record(struct serve *S)
{
	struct session *s = S->cur;
	if (!s)
		return;
	struct emo_stream_stats st;
	emo_stream_get_stats(s->st, &st);
	if (st.recording) {
		emo_stream_set_recording(s->st, NULL);
		broadcast_status(S, "recording stopped");
	} else {
		emo_session_unique_name(s->toggle_rec, sizeof s->toggle_rec, ".wav");
		emo_stream_set_recording(s->st, s->toggle_rec);
		char m[300];
		snprintf(m, sizeof m, "recording to %s", s->toggle_rec);
		broadcast_status(S, m);
	}
}

static int on_text(void *ud, struct net_client *c, const char *s, size_t n)
{
	struct serve *S = ud;
	if (n > MAX_TEXT) {
		refuse(c, 1009, "command too long");
		return 0;
	}
	json_error_t je;
	json_t *msg = json_loadb(s, n, JSON_REJECT_DUPLICATES, &je);
	const char *type = json_string_value(json_object_get(msg, "type"));
	if (!type) {
		json_decref(msg);
		refuse(c, 1007, "expected a JSON object with a \"type\"");
		return 0;
	}
	int r = 0;
	if (!strcmp(type, "start"))
		r = start_browser(S, c, msg);
	else if (!strcmp(type, "stop") && c == S->producer)
		end_browser(S, "the browser stopped");
	else if (!strcmp(type, "pause"))
		toggle_pause(S);
	else if (!strcmp(type, "record"))
		toggle_record(S);
	else if (strcmp(type, "stop"))
		send_error(c, "unknown message type");
	json_decref(msg);
	if (r)
		net_close(c, 1008, "bad start message");
	return 0;
}

/* Audio from the producing page: mono float32, finite, at most real time
 * (plus a burst of BURST_S seconds: a tab that stalled catches up). */
static int on_binary(void *ud, struct net_client *c, const void *p, size_t n)
{
	struct serve *S = ud;
	struct session *s = S->cur;
	if (c != S->producer || !s) {
		refuse(c, 1008, "send {\"type\":\"start\"} before audio");
		return 0;
	}
	if (n % sizeof(float)) {
		refuse(c, 1007, "audio must be float32 samples (length a multiple of 4)");
		end_browser(S, "the browser sent malformed audio");
		return 0;
	}
	size_t k = n / sizeof(float);
	float x[16384];
	if (k > sizeof x / sizeof *x)
		k = sizeof x / sizeof *x; /* max_message bounds it anyway */
	memcpy(x, p, k * sizeof *x);
	for (size_t i = 0; i < k; i++)
		if (!isfinite(x[i]) || fabsf(x[i]) > 64.0f) {
			refuse(c, 1007, "audio samples must be finite (no NaN or Inf) "
				  "and within -1..1");
			end_browser(S, "the browser sent non-finite audio");
			return 0;
		}
	double allowed = (emo_now() - s->started + BURST_S) * s->info.source_rate;
	if ((double)(s->pushed + k) > allowed) {
		refuse(c, 1008, "audio arrives faster than real time at the rate "
			  "announced");
		end_browser(S, "the browser sent audio faster than real time");
		return 0;
	}
	s->pushed += k;
	emo_source_push(s->src, x, k);
	return 0;
}

static void left(void *ud, struct net_client *c)
{
	struct serve *S = ud;
	if (c == S->producer)
		end_browser(S, "the browser disconnected");
}

/* ---- uploads and reports ----------------------------------------------------------- */

static void *upload_thread(void *arg)
{
	struct upload *u = arg;
	batch_analyse(&u->b, &u->job);
	atomic_store(&u->done, true);
	return NULL;
}

static void post(void *ud, struct net_request *r, const char *route, const char *name,
		 int fd, size_t n)
{
	struct serve *S = ud;
	if (!strcmp(route, "report") && n > MAX_REPORT) {
		/* drawn on the loop's thread: a bounded size keeps it brief */
		close(fd);
		char *msg = strdup("413 the page draws session logs of up to 8 MB; "
				   "use 'emotop report' for larger ones");
		net_respond(r, 413, "text/plain; charset=utf-8", msg, msg ? strlen(msg) : 0);
		return;
	}
	if (!strcmp(route, "report")) {
		char *buf = n ? mmap(NULL, n, PROT_READ, MAP_PRIVATE, fd, 0) : NULL;
		struct emo_session_log log;
		int e = buf && buf != MAP_FAILED ? emo_session_log_parse(buf, n, "upload", &log)
						 : EMO_E_EMPTY;
		if (buf && buf != MAP_FAILED)
			munmap(buf, n);
		close(fd);
		if (e) {
			char *msg = strdup("not a readable emotop session log");
			net_respond(r, 422, "text/plain; charset=utf-8", msg, msg ? strlen(msg) : 0);
			return;
		}
		char *svg = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&svg, &len);
		if (f) {
			fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n", f);
			report_svg(f, &log);
			fclose(f);
		}
		emo_session_log_free(&log);
		net_respond(r, svg ? 200 : 500, "image/svg+xml", svg, len);
		return;
	}
	if (S->up) {
		close(fd);
		char *msg = strdup("{\"type\":\"error\",\"error\":\"busy: one file at a time\"}\n");
		net_respond(r, 503, "application/x-ndjson", msg, msg ? strlen(msg) : 0);
		return;
	}
	struct upload *u = calloc(1, sizeof *u);
	if (!u) {
		close(fd);
		net_respond(r, 500, "text/plain", NULL, 0);
		return;
	}
	u->req = r;
	u->fd = fd;
	snprintf(u->name, sizeof u->name, "%s", name);
	snprintf(u->open_path, sizeof u->open_path, "/proc/self/fd/%d", fd);
	u->b = (struct batch){.model = S->m, .cfg = S->o.stc.analyzer, .json = true,
			      .print_windows = true, .quality = (int)S->o.stc.quality};
	u->job = (struct file_job){.path = u->name, .open_path = u->open_path, .truth = -1};
	if (pthread_create(&u->thread, NULL, upload_thread, u)) {
		close(fd);
		free(u);
		net_respond(r, 503, "text/plain", NULL, 0);
		return;
	}
	S->up = u;
}

static void finish_upload(struct serve *S)
{
	struct upload *u = S->up;
	if (!u || !atomic_load(&u->done))
		return;
	pthread_join(u->thread, NULL);
	close(u->fd);
	if (u->job.err) {
		/* analyze --json's error record, as a line */
		char *rec = dump(json_pack("{s:s, s:s, s:s}", "type", "error", "file", u->name,
					   "error", u->job.errmsg));
		char *line = NULL;
		if (!rec || asprintf(&line, "%s\n", rec) < 0)
			line = NULL;
		free(rec);
		net_respond(u->req, 422, "application/x-ndjson", line, line ? strlen(line) : 0);
		free(u->job.out);
	} else {
		net_respond(u->req, 200, "application/x-ndjson", u->job.out, u->job.out_len);
	}
	free(u);
	S->up = NULL;
}

/* ---- the loop -------------------------------------------------------------------- */

static void tick(void *ud)
{
	struct serve *S = ud;
	if (got_signal) {
		if (S->cur && emo_stream_running(S->cur->st)) {
			if (S->cur->browser)
				emo_source_push_end(S->cur->src);
			emo_stream_stop(S->cur->st); /* queues END */
		}
		drain_events(S);
		if (S->cur) /* its END was lost to a full queue */
			session_end(S);
		net_stop(S->net);
		return;
	}
	drain_events(S);
	finish_upload(S);
	double now = emo_now();
	if (S->cur && now >= S->next_stats) {
		S->next_stats = now + 0.25;
		send_stats(S);
	}
}

/* "ADDR:PORT", "[V6]:PORT" or "PORT" into addr/port. */
static bool parse_listen(const char *s, char *addr, size_t n, int *port)
{
	const char *colon = strrchr(s, ':');
	const char *p = colon ? colon + 1 : s;
	long v;
	if (!parse_int(p, 0, 65535, &v))
		return false;
	*port = (int)v;
	if (!colon) {
		snprintf(addr, n, "127.0.0.1");
		return true;
	}
	size_t len = (size_t)(colon - s);
	if (len >= 2 && s[0] == '[' && s[len - 1] == ']') {
		s++;
		len -= 2;
	}
	if (!len || len >= n)
		return false;
	memcpy(addr, s, len);
	addr[len] = 0;
	return true;
}

static bool is_loopback(const char *addr)
{
	return !strncmp(addr, "127.", 4) || !strcmp(addr, "::1") || !strcmp(addr, "localhost");
}

static int parse_serve(int argc, char **argv, struct serve *S)
{
	session_opts_init(&S->o);
	S->listen = "127.0.0.1:8765";
	S->max_upload_mb = 64;
	S->max_clients = 64;
	S->idle_s = 30;
	S->queue_kb = 1024;
	static const struct option opts[] = {
		SESSION_LONG_OPTIONS,
		{"listen", required_argument, 0, OPT_LISTEN},
		{"allow-host", required_argument, 0, OPT_ALLOW_HOST},
		{"max-upload", required_argument, 0, OPT_MAX_UPLOAD},
		{"max-clients", required_argument, 0, OPT_MAX_CLIENTS},
		{"idle", required_argument, 0, OPT_IDLE},
		{"client-queue", required_argument, 0, OPT_QUEUE},
		{"help", no_argument, 0, 'h'},
		{0, 0, 0, 0},
	};
	int c;
	while ((c = cli_getopt(argc, argv, SESSION_SHORT_OPTIONS "h", opts, "serve")) != -1) {
		int r = session_option(c, optarg, &S->o, "serve");
		if (r < 0)
			return -r;
		if (r)
			continue;
		switch (c) {
		case OPT_LISTEN: S->listen = optarg; break;
		case OPT_ALLOW_HOST:
			if (S->n_allow == 16)
				return usage_error("serve", "%s", "at most 16 --allow-host names");
			S->allow_hosts[S->n_allow++] = optarg;
			break;
		case OPT_MAX_UPLOAD:
			if (!parse_int(optarg, 1, 4096, &S->max_upload_mb))
				return usage_error("serve", "--max-upload wants 1..4096 MB, not '%s'",
						   optarg);
			break;
		case OPT_MAX_CLIENTS:
			if (!parse_int(optarg, 1, 1000, &S->max_clients))
				return usage_error("serve", "--max-clients wants 1..1000, not '%s'",
						   optarg);
			break;
		case OPT_IDLE:
			if (!parse_int(optarg, 1, 3600, &S->idle_s))
				return usage_error("serve", "--idle wants 1..3600 seconds, not '%s'",
						   optarg);
			break;
		case OPT_QUEUE:
			if (!parse_int(optarg, 4, 1 << 20, &S->queue_kb))
				return usage_error("serve", "--client-queue wants 4..1048576 KB, "
						   "not '%s'", optarg);
			break;
		case 'h':
			print_session_help(serve_help);
			return 0;
		default: return EXIT_USAGE;
		}
	}
	if (optind < argc)
		return usage_error("serve", "unexpected argument '%s'", argv[optind]);
	int rc = session_opts_check(&S->o, "serve");
	return rc ? rc : -1;
}

int cmd_serve(int argc, char **argv)
{
	struct serve S = {0};
	int rc = parse_serve(argc, argv, &S);
	if (rc >= 0)
		return rc;
	char addr[256];
	int port;
	if (!parse_listen(S.listen, addr, sizeof addr, &port))
		return usage_error("serve", "--listen wants ADDR:PORT (e.g. 127.0.0.1:8765), "
				   "not '%s'", S.listen);
	unsigned char rnd[16];
	char token[33];
	if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd) {
		cli_error("cannot draw an access token from the system: %s", strerror(errno));
		return 1;
	}
	for (int i = 0; i < 16; i++)
		snprintf(token + 2 * i, 3, "%02x", rnd[i]);
	emo_set_threads((int)S.o.threads);
	if (load_model_or_explain(S.o.model_dir, S.o.precision, &S.m))
		return 1;
	struct net_config nc = {
		.addr = addr, .port = port, .token = token, .allow_hosts = S.allow_hosts,
		.max_header = 8192, .max_body = (size_t)S.max_upload_mb << 20,
		.max_message = 65536, .max_queue = (size_t)S.queue_kb << 10,
		.max_clients = (int)S.max_clients, .idle_s = (int)S.idle_s,
	};
	struct net_handlers h = {.ud = &S, .joined = joined, .text = on_text,
				 .binary = on_binary, .left = left, .post = post, .tick = tick};
	if (net_create(&nc, &h, &S.net)) {
		emo_model_destroy(S.m);
		return 1;
	}
	struct sigaction sa = {.sa_handler = on_signal};
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	int status = 0;
	if (S.o.source_given) {
		char err[300];
		bool file = S.o.sc.kind == EMO_SOURCE_FILE;
		S.cur = session_start(&S, &S.o.sc, file ? "file" : "device",
				      file ? S.o.sc.path : NULL, err, sizeof err);
		if (!S.cur)
			status = 1;
	}
	if (!status) {
		if (!is_loopback(addr))
			cli_warn("listening on %s, not a loopback address: other machines can "
				 "reach this page (the token is still required; the traffic "
				 "is not encrypted)", addr);
		bool v6 = strchr(addr, ':') != NULL;
		/* the address it listens on (127.0.0.2 is not 127.0.0.1); an
		 * any-address is reached on loopback */
		const char *host = !strcmp(addr, "0.0.0.0") ? "127.0.0.1" :
				   !strcmp(addr, "::") ? "::1" : addr;
		fprintf(stderr, "%s: serving on http://%s%s%s:%d/?token=%s\n", prog,
			v6 ? "[" : "", host, v6 ? "]" : "", net_port(S.net), token);
		fflush(stderr);
		net_run(S.net);
	}
	while (S.up) { /* an upload still running: let it finish */
		finish_upload(&S);
		usleep(10000);
	}
	if (S.cur) {
		emo_stream_stop(S.cur->st);
		drain_events(&S);
	}
	net_destroy(S.net);
	free(S.header_line);
	emo_source_terminate();
	emo_model_destroy(S.m);
	if (status)
		return status;
	if (got_signal)
		return got_signal == SIGINT ? 130 : got_signal == SIGTERM ? 143 : 129;
	return S.status;
}
