/* emotop report: a session log drawn as an SVG (or an HTML page with the
 * SVG and a table of facts): the smoothed probability of each emotion over
 * time with speech shaded, the valence/arousal track, the share of speech
 * time by dominant emotion. The log is read by session.h's reader; the
 * colours are the TUI's (palette.h). */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli/cli.h"
#include "emotop/affect.h"
#include "emotop/session.h"
#include "cli/palette.h"
#include "cli/report.h"

/* a logged string, or "?" when the log did not have it */
static const char *or_q(const char *s)
{
	return s && s[0] ? s : "?";
}

static const char report_help[] =
	"Usage: emotop report SESSION -o OUT.svg|OUT.html [--force]\n"
	"Draw a session: probability of each emotion over time (one line per\n"
	"emotion, speech segments shaded), the share of speech time per dominant\n"
	"emotion, and the session's facts. SVG, or an HTML page with the SVG and\n"
	"a table of facts; both open in any browser.\n"
	"  -o, --output FILE  where to write (.svg or .html); an existing file is\n"
	"                     refused unless --force, and is never left half written\n"
	"      --force        replace OUT if it exists\n";

static const char *emo_color(const char *l, int i)
{
	return emo_palette(l, i).hex;
}

/* The one way a string from the log (labels, names, reasons: they come
 * from a model's config or a client) reaches the SVG or HTML: as text or
 * an attribute value, with markup escaped and the control characters XML
 * forbids replaced, so no element or attribute can come from the log. At
 * most max bytes of s (0: all). */
static void xml_text_n(FILE *f, const char *s, size_t max)
{
	for (size_t i = 0; s[i] && (!max || i < max); i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '<') fputs("&lt;", f);
		else if (c == '>') fputs("&gt;", f);
		else if (c == '&') fputs("&amp;", f);
		else if (c == '"') fputs("&quot;", f);
		else if (c == '\'') fputs("&#39;", f);
		else if (c < 0x20 && c != '\t' && c != '\n' && c != '\r')
			fputs("\xef\xbf\xbd", f); /* U+FFFD */
		else fputc(c, f);
	}
}

static void xml_text(FILE *f, const char *s)
{
	xml_text_n(f, s, 0);
}

/* The time axis: a step from a nice scale (0.5, 1, 2, 5, 10, 15, 30 s,
 * minutes, hours, days) giving at most max_ticks ticks, and its unit. */
static double time_step(double total, int max_ticks, double *unit, const char **name)
{
	static const double steps[] = {0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600,
				       900, 1800, 3600, 7200, 10800, 21600, 43200,
				       86400, 172800, 432000, 864000, 1728000, 4320000};
	double step = steps[sizeof steps / sizeof *steps - 1];
	for (size_t k = 0; k < sizeof steps / sizeof *steps; k++)
		if (total / steps[k] <= max_ticks) {
			step = steps[k];
			break;
		}
	while (total / step > max_ticks) /* beyond the table (not reached) */
		step *= 10;
	*unit = step >= 86400 ? 86400 : step >= 3600 ? 3600 : step >= 60 ? 60 : 1;
	*name = step >= 86400 ? "d" : step >= 3600 ? "h" : step >= 60 ? "min" : "s";
	return step;
}

/* An SVG line through n points; extra: more attributes (or ""). */
static void polyline(FILE *f, const double *px, const double *py, size_t n,
		     const char *color, const char *extra)
{
	fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\"%s points=\"",
		color, extra);
	for (size_t k = 0; k < n; k++)
		fprintf(f, "%.1f,%.1f ", px[k], py[k]);
	fprintf(f, "\"/>\n");
}

void report_svg(FILE *f, const struct emo_session_log *log)
{
	const struct emo_session_header *h = &log->header;
	const struct emo_session_end *e = log->end;
	const int nl = h->num_labels;
	const double W = 1000, H = 780, x0 = 70, x1 = 840, y0 = 90, y1 = 390;
	double total = e ? e->duration : 0;
	for (size_t i = 0; i < log->n; i++)
		if (log->records[i].type == EMO_RECORD_WINDOW ||
		    log->records[i].type == EMO_RECORD_SPEECH)
			total = fmax(total, log->records[i].t1);
	if (total <= 0)
		total = 1;
#define X(t) (x0 + (t) / total * (x1 - x0))
#define Y(p) (y1 - (p) * (y1 - y0))
	fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
		   "viewBox=\"0 0 %.0f %.0f\" font-family=\"sans-serif\" font-size=\"13\">\n",
		W, H, W, H);
	fprintf(f, "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n");
	fprintf(f, "<text x=\"%.0f\" y=\"30\" font-size=\"20\" font-weight=\"bold\">emotop session: ", x0);
	const char *sname = or_q(h->source_name), *slash = strrchr(sname, '/');
	xml_text(f, slash ? slash + 1 : sname);
	fprintf(f, "</text>\n<text x=\"%.0f\" y=\"52\" fill=\"#555\">", x0);
	xml_text(f, or_q(h->start));
	fprintf(f, " \u00b7 ");
	xml_text(f, or_q(h->source_kind));
	fprintf(f, " \u00b7 model ");
	xml_text(f, or_q(h->model_name));
	fprintf(f, " (sha256 ");
	xml_text_n(f, or_q(h->model_sha256), 12);
	fprintf(f, "\u2026) \u00b7 %.1f s, %zu windows, %.1f s speech%s</text>\n",
		total, log->windows,
		e ? e->speech_s : 0, e ? "" : " \u00b7 no end record (cut short)");
	/* speech segments */
	for (size_t i = 0; i < log->n; i++) {
		const struct emo_session_record *r = &log->records[i];
		if (r->type != EMO_RECORD_SPEECH)
			continue;
		double a = r->t0, b = r->t1;
		fprintf(f, "<rect x=\"%.1f\" y=\"%.0f\" width=\"%.1f\" height=\"%.0f\" "
			   "fill=\"#eef3fb\"><title>speech %.2f-%.2f s</title></rect>\n",
			X(a), y0, fmax(X(b) - X(a), 0.5), y1 - y0, a, b);
	}
	/* axes and grid */
	for (int k = 0; k <= 4; k++) {
		double p = k / 4.0;
		fprintf(f, "<line x1=\"%.0f\" x2=\"%.0f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>"
			   "<text x=\"%.0f\" y=\"%.1f\" text-anchor=\"end\" fill=\"#555\">%d%%</text>\n",
			x0, x1, Y(p), Y(p), x0 - 6, Y(p) + 4, k * 25);
	}
	/* ticks: the scale sessions up to 10 minutes have always had, then
	 * a nice scale of at most 12 ticks (a 10-hour session: every hour) */
	double step = total > 120 ? 30 : total > 40 ? 10 : total > 10 ? 2 : 0.5, unit = 1;
	const char *uname = "s";
	if (total / step > 25)
		step = time_step(total, 12, &unit, &uname);
	for (long k = 0; k * step <= total + 1e-9; k++)
		fprintf(f, "<text x=\"%.1f\" y=\"%.0f\" text-anchor=\"middle\" fill=\"#555\">%g %s</text>\n",
			X(k * step), y1 + 18, k * step / unit, uname);
	fprintf(f, "<rect x=\"%.0f\" y=\"%.0f\" width=\"%.0f\" height=\"%.0f\" fill=\"none\" stroke=\"#999\"/>\n",
		x0, y0, x1 - x0, y1 - y0);
	/* one line per emotion through window midpoints (smoothed
	 * probability), and a dot per window so short sessions show too */
	double share[EMO_MAX_LABELS] = {0}, share_total = 0;
	double *px = malloc(sizeof(double) * (log->windows ? log->windows : 1));
	double *py = malloc(sizeof(double) * (log->windows ? log->windows : 1));
	for (int li = 0; li < nl && px && py; li++) {
		size_t np = 0;
		for (size_t i = 0; i < log->n; i++) {
			const struct emo_session_record *r = &log->records[i];
			if (r->type != EMO_RECORD_WINDOW)
				continue;
			/* what the TUI showed: the smoothed probabilities */
			px[np] = X(0.5 * (r->t0 + r->t1));
			py[np++] = Y(r->result.smoothed[li]);
		}
		const char *col = emo_color(h->labels[li], li);
		polyline(f, px, py, np, col, "");
		for (size_t k = 0; k < np; k++)
			fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"/>\n",
				px[k], py[k], col);
	}
	/* valence and arousal track: the logged values (each window's own
	 * probabilities; the reader derives them for version-1 logs) */
	/* the panel starts well below the chart's time labels (y1 + 18);
	 * VY is floating point for the integer gridline values too: with
	 * (1 - k) / 2 in int, the 0 line sat at the top, over +1 */
	const double v0 = 450, v1 = 575;
#define VY(v) (v0 + (1.0 - (double)(v)) / 2.0 * (v1 - v0))
	fprintf(f, "<text x=\"%.0f\" y=\"%.0f\" font-weight=\"bold\">Valence and arousal "
		   "(as logged: of each window's probabilities)</text>\n", x0, v0 - 10);
	fprintf(f, "<rect x=\"%.0f\" y=\"%.0f\" width=\"%.0f\" height=\"%.0f\" "
		   "fill=\"none\" stroke=\"#999\"/>\n", x0, v0, x1 - x0, v1 - v0);
	for (int k = -1; k <= 1; k++)
		fprintf(f, "<line x1=\"%.0f\" x2=\"%.0f\" y1=\"%.1f\" y2=\"%.1f\" "
			   "stroke=\"%s\"/><text x=\"%.0f\" y=\"%.1f\" text-anchor=\"end\" "
			   "fill=\"#555\">%+d</text>\n", x0, x1, VY(k), VY(k),
			k ? "#eee" : "#bbb", x0 - 6, VY(k) + 4, k);
	/* one pass: each window's valence and arousal, then a line each */
	double *pa = malloc(sizeof(double) * (log->windows ? log->windows : 1));
	size_t np = 0;
	for (size_t i = 0; i < log->n && px && py && pa; i++) {
		const struct emo_session_record *r = &log->records[i];
		if (r->type != EMO_RECORD_WINDOW)
			continue;
		const struct emo_affect af = r->result.affect;
		if (!af.valid)
			continue;
		px[np] = X(0.5 * (r->t0 + r->t1));
		py[np] = VY(af.valence);
		pa[np++] = VY(af.arousal);
	}
	for (int track = 0; track < 2 && px && py && pa; track++) {
		const char *col = track ? "#ff7f0e" : "#2ca02c";
		polyline(f, px, track ? pa : py, np, col,
			 track ? " stroke-dasharray=\"6 3\"" : "");
		fprintf(f, "<rect x=\"%.0f\" y=\"%.0f\" width=\"14\" height=\"4\" "
			   "fill=\"%s\"/><text x=\"%.0f\" y=\"%.0f\">%s</text>\n", x1 + 16,
			v0 + 14 + track * 20, col, x1 + 36, v0 + 20 + track * 20,
			track ? "arousal" : "valence");
	}
	free(pa);
#undef VY
	free(px);
	free(py);
	/* dominant-emotion share: each window counts for its hop of speech */
	double hop = h->analysis.hop_s;
	for (size_t i = 0; i < log->n; i++) {
		const struct emo_session_record *r = &log->records[i];
		if (r->type != EMO_RECORD_WINDOW || r->result.label >= nl)
			continue;
		share[r->result.label] += hop;
		share_total += hop;
	}
	/* legend */
	for (int li = 0; li < nl; li++) {
		double y = y0 + 8 + li * 20;
		fprintf(f, "<rect x=\"%.0f\" y=\"%.0f\" width=\"14\" height=\"14\" fill=\"%s\"/>"
			   "<text x=\"%.0f\" y=\"%.0f\">", x1 + 16, y, emo_color(h->labels[li], li),
			x1 + 36, y + 12);
		xml_text(f, h->labels[li]);
		fprintf(f, "</text>\n");
	}
	/* share bar */
	double by = 610, bx = x0;
	fprintf(f, "<text x=\"%.0f\" y=\"%.0f\" font-weight=\"bold\">Share of speech time by "
		   "dominant emotion</text>\n", x0, by - 10);
	for (int li = 0; li < nl && share_total > 0; li++) {
		double w = share[li] / share_total * (x1 - x0);
		if (w <= 0)
			continue;
		fprintf(f, "<rect x=\"%.1f\" y=\"%.0f\" width=\"%.1f\" height=\"34\" fill=\"%s\">"
			   "<title>", bx, by, w, emo_color(h->labels[li], li));
		xml_text(f, h->labels[li]);
		fprintf(f, " %.0f%%</title></rect>\n", 100 * share[li] / share_total);
		if (w > 60) {
			fprintf(f, "<text x=\"%.1f\" y=\"%.0f\" fill=\"white\" font-weight=\"bold\">",
				bx + 6, by + 22);
			xml_text(f, h->labels[li]);
			fprintf(f, " %.0f%%</text>\n", 100 * share[li] / share_total);
		}
		bx += w;
	}
	if (share_total <= 0)
		fprintf(f, "<text x=\"%.0f\" y=\"%.0f\" fill=\"#555\">no windows</text>\n", x0, by + 22);
	/* facts */
	double fy = 680;
	fprintf(f, "<text x=\"%.0f\" y=\"%.0f\" fill=\"#333\">window %.2g s, hop %.2g s, "
		   "smoothing %.2g \u00b7 %d Hz, %d ch \u00b7 dropped %lld, skipped %lld "
		   "\u00b7 RTF %.3f \u00b7 latency p50 %.0f / p95 %.0f ms</text>\n",
		x0, fy, h->analysis.window_s, h->analysis.hop_s, (double)h->analysis.ema_alpha,
		h->source_rate, h->source_channels,
		e ? (long long)e->dropped : 0LL, e ? (long long)e->skipped : 0LL,
		e ? e->rtf : 0, e ? 1000 * e->latency_p50 : 0, e ? 1000 * e->latency_p95 : 0);
	fprintf(f, "<text x=\"%.0f\" y=\"%.0f\" fill=\"#333\">ended: ", x0, fy + 22);
	xml_text(f, e ? or_q(e->reason) : "(no end record)");
	fprintf(f, "</text>\n<text x=\"%.0f\" y=\"%.0f\" fill=\"#888\" font-size=\"11\">lines: "
		   "smoothed probability per window (at the window's centre); shaded: speech "
		   "found by the VAD</text>\n</svg>\n", x0, fy + 48);
#undef X
#undef Y
}

/* one row of the HTML facts table; value NULL or "" shows as "-" */
static void fact(FILE *f, const char *key, const char *value)
{
	fprintf(f, "<tr><td>%s</td><td>", key);
	xml_text(f, value && value[0] ? value : "-");
	fprintf(f, "</td></tr>\n");
}

int cmd_report(int argc, char **argv)
{
	const char *out = NULL;
	bool force = false;
	enum { OPT_FORCE = OPT_CLI_BASE };
	static const struct option opts[] = {
		{"output", required_argument, 0, 'o'},
		{"force", no_argument, 0, OPT_FORCE},
		{"help", no_argument, 0, 'h'},
		{0, 0, 0, 0},
	};
	int c;
	while ((c = cli_getopt(argc, argv, "o:h", opts, "report")) != -1) {
		switch (c) {
		case 'o': out = optarg; break;
		case OPT_FORCE: force = true; break;
		case 'h': fputs(report_help, stdout); return 0;
		default: return EXIT_USAGE;
		}
	}
	if (optind != argc - 1 || !out)
		return usage_error("report", "%s", "give one session log and -o OUT.svg|OUT.html");
	const char *ext = strrchr(out, '.');
	bool html = ext && (!strcasecmp(ext, ".html") || !strcasecmp(ext, ".htm"));
	if (!html && !(ext && !strcasecmp(ext, ".svg")))
		return usage_error("report", "-o wants a .svg or .html file, not '%s'", out);
	struct emo_session_log log;
	int err = emo_session_log_read(argv[optind], &log);
	if (err) {
		cli_error("cannot read %s: %s", argv[optind], emo_strerror(err));
		return 1;
	}
	struct out_file of;
	FILE *f = out_file_open(&of, out, force);
	if (!f) {
		emo_session_log_free(&log);
		return 1;
	}
	if (html) {
		fprintf(f, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
			   "<title>emotop session report</title><style>body{font-family:"
			   "sans-serif;margin:2em}td{padding:2px 12px}</style></head><body>\n");
		report_svg(f, &log);
		fprintf(f, "<h2>Session</h2><table>\n");
		const struct emo_session_header *h = &log.header;
		fact(f, "start", h->start);
		fact(f, "generator", h->generator);
		fact(f, "resample", h->resample);
		fact(f, "recording", h->recording);
		if (log.end) {
			const struct emo_session_end *e = log.end;
			char v[64];
			fact(f, "reason", e->reason);
			snprintf(v, sizeof v, "%.6g", e->duration);
			fact(f, "duration", v);
			snprintf(v, sizeof v, "%.6g", e->speech_s);
			fact(f, "speech_seconds", v);
			snprintf(v, sizeof v, "%lld", (long long)e->windows);
			fact(f, "windows", v);
			snprintf(v, sizeof v, "%lld", (long long)e->dropped);
			fact(f, "dropped_samples", v);
			snprintf(v, sizeof v, "%lld", (long long)e->skipped);
			fact(f, "skipped_samples", v);
			snprintf(v, sizeof v, "%.6g", e->rtf);
			fact(f, "rtf", v);
		}
		fprintf(f, "</table></body></html>\n");
	} else {
		fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
		report_svg(f, &log);
	}
	emo_session_log_free(&log);
	return out_file_commit(&of);
}
