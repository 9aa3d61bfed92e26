/* emotop serve's HTTP and WebSocket server over libwebsockets: see
 * serve-net.h. Everything here runs on the loop's thread. */
#include <errno.h>
#include <fcntl.h>
#include <libwebsockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/serve-net.h"
#include "cli/web.h"

/* TICK_MS: how often the loop drains the stream's events (and checks the
 * clients): at most this much is added to a window's way to the page */
enum { QUEUE_CAP = 1024, WRITE_CHUNK = 16384, TICK_MS = 4 };

/* The Content-Security-Policy of every response: the page's own script,
 * style and socket, nothing inline, nothing from elsewhere, no framing. */
static const char csp[] =
	"default-src 'none'; script-src 'self'; style-src 'self'; "
	"img-src 'self' blob: data:; connect-src 'self'; media-src 'self' blob:; "
	"base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

struct msg {
	unsigned char *buf; /* LWS_PRE + len */
	size_t len;
};

struct net_client {
	struct lws *wsi;
	struct net *net;
	struct net_client *next;
	void *data;
	/* the message being received */
	unsigned char *rx;
	size_t rx_len, rx_cap;
	bool rx_binary;
	/* output, oldest first */
	struct msg q[QUEUE_CAP];
	int q_head, q_count;
	size_t q_bytes;
	uint64_t dropped;
	double full_since; /* dropping since (emo_now), 0 if not */
	bool closing;
	double close_at;   /* closing: not before (emo_now) */
	int close_code;
	char close_reason[120];
};

struct net_request {
	struct lws *wsi;   /* NULL once the client has gone */
	struct http_state *hs;
};

/* One HTTP exchange (libwebsockets' per-session data of the http protocol). */
struct http_state {
	/* the response */
	int status;
	const char *ctype;
	const unsigned char *body;
	char *owned;
	size_t len, off;
	bool headers_sent, set_cookie;
	bool close_after; /* a refused POST: its unread body ends the connection */
	/* a POST */
	int fd;
	bool posting;
	size_t got;
	char route[16], name[256];
	struct net_request *req;
};

struct net {
	struct net_config cfg;
	struct net_handlers h;
	struct lws_context *ctx;
	struct lws_vhost *vh;
	lws_sorted_usec_list_t sul;
	lws_retry_bo_t retry;
	struct net_client *clients;
	int nclients;
	int port;
	bool stop;
	char cookie[40];   /* the cookie's name: emotop-PORT */
};

/* ---- who may talk to us ---------------------------------------------------- */

static bool ct_equal(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	unsigned char d = la != lb;
	for (size_t i = 0; i < lb; i++)
		d |= (unsigned char)(a[i < la ? i : 0] ^ b[i]);
	return d == 0 && la == lb;
}

static bool is_ip_literal(const char *h, size_t n)
{
	if (n && h[0] == '[')
		return h[n - 1] == ']';
	for (size_t i = 0; i < n; i++)
		if (!(h[i] == '.' || (h[i] >= '0' && h[i] <= '9')))
			return false;
	return n > 0;
}

/* Host: localhost, an IP literal or an allowed name, with our port. A
 * domain name that merely resolves here (DNS rebinding) is refused. */
static bool host_ok(struct net *n, const char *host)
{
	const char *colon = strrchr(host, ':');
	if (!colon || (strchr(host, ']') && colon < strchr(host, ']')))
		return false;
	if (atoi(colon + 1) != n->port || strspn(colon + 1, "0123456789") != strlen(colon + 1))
		return false;
	size_t hn = (size_t)(colon - host);
	if ((hn == 9 && !strncasecmp(host, "localhost", 9)) || is_ip_literal(host, hn))
		return true;
	for (const char *const *a = n->cfg.allow_hosts; a && *a; a++)
		if (strlen(*a) == hn && !strncasecmp(host, *a, hn))
			return true;
	return false;
}

static bool header(struct lws *wsi, enum lws_token_indexes t, char *buf, int n)
{
	if (lws_hdr_total_length(wsi, t) <= 0 || lws_hdr_total_length(wsi, t) >= n)
		return false;
	return lws_hdr_copy(wsi, buf, n, t) > 0;
}

/* Host, then Origin when there is one (browsers send it on WebSocket
 * upgrades and POSTs; it must be this server's own origin). */
static const char *check_host_origin(struct net *n, struct lws *wsi)
{
	char host[256], origin[300], want[300];
	if (!header(wsi, WSI_TOKEN_HOST, host, sizeof host) || !host_ok(n, host))
		return "unknown Host";
	if (lws_hdr_total_length(wsi, WSI_TOKEN_ORIGIN) > 0) {
		snprintf(want, sizeof want, "http://%s", host);
		if (!header(wsi, WSI_TOKEN_ORIGIN, origin, sizeof origin) ||
		    strcasecmp(origin, want))
			return "foreign Origin";
	}
	return NULL;
}

/* The token from ?token= (*from_query) or the cookie. */
static bool authorised(struct net *n, struct lws *wsi, bool *from_query)
{
	char buf[128];
	*from_query = false;
	const char *v = lws_get_urlarg_by_name(wsi, "token=", buf, sizeof buf);
	if (v && ct_equal(v, n->cfg.token)) {
		*from_query = true;
		return true;
	}
	size_t max = sizeof buf;
	if (!lws_http_cookie_get(wsi, n->cookie, buf, &max)) {
		buf[max < sizeof buf ? max : sizeof buf - 1] = 0;
		return ct_equal(buf, n->cfg.token);
	}
	return false;
}

/* ---- HTTP ------------------------------------------------------------------- */

static void respond_state(struct lws *wsi, struct http_state *hs, int status,
			  const char *ctype, const void *body, size_t len, char *owned)
{
	hs->status = status;
	hs->ctype = ctype;
	hs->body = body;
	hs->len = len;
	hs->off = 0;
	hs->owned = owned;
	lws_callback_on_writable(wsi);
}

static void respond_text(struct lws *wsi, struct http_state *hs, int status,
			 const char *text)
{
	respond_state(wsi, hs, status, "text/plain; charset=utf-8", text, strlen(text), NULL);
}

static int add_header(struct lws *wsi, const char *name, const char *value,
		      unsigned char **p, unsigned char *end)
{
	return lws_add_http_header_by_name(wsi, (const unsigned char *)name,
					   (const unsigned char *)value, (int)strlen(value), p, end);
}

static int write_headers(struct net *n, struct lws *wsi, struct http_state *hs)
{
	unsigned char buf[LWS_PRE + 2048];
	unsigned char *start = buf + LWS_PRE, *p = start, *end = buf + sizeof buf - 1;
	char cookie[200];
	if (lws_add_http_common_headers(wsi, (unsigned)hs->status, hs->ctype, hs->len, &p, end) ||
	    add_header(wsi, "content-security-policy:", csp, &p, end) ||
	    add_header(wsi, "x-content-type-options:", "nosniff", &p, end) ||
	    add_header(wsi, "referrer-policy:", "no-referrer", &p, end) ||
	    add_header(wsi, "cache-control:", "no-store", &p, end) ||
	    add_header(wsi, "x-frame-options:", "DENY", &p, end) ||
	    add_header(wsi, "cross-origin-opener-policy:", "same-origin", &p, end) ||
	    add_header(wsi, "cross-origin-resource-policy:", "same-origin", &p, end))
		return 1;
	if (hs->set_cookie) {
		snprintf(cookie, sizeof cookie, "%s=%s; Path=/; HttpOnly; SameSite=Strict",
			 n->cookie, n->cfg.token);
		if (add_header(wsi, "set-cookie:", cookie, &p, end))
			return 1;
	}
	return lws_finalize_write_http_header(wsi, start, &p, end);
}

/* The next piece of the response; -1 closes, 0 goes on. */
static int http_writeable(struct net *n, struct lws *wsi, struct http_state *hs)
{
	if (!hs->status)
		return 0;
	if (!hs->headers_sent) {
		if (write_headers(n, wsi, hs))
			return -1;
		hs->headers_sent = true;
		if (hs->len) {
			lws_callback_on_writable(wsi);
			return 0;
		}
	}
	unsigned char buf[LWS_PRE + WRITE_CHUNK];
	size_t k = hs->len - hs->off < WRITE_CHUNK ? hs->len - hs->off : WRITE_CHUNK;
	bool last = hs->off + k == hs->len;
	if (k) {
		memcpy(buf + LWS_PRE, hs->body + hs->off, k);
		if (lws_write(wsi, buf + LWS_PRE, k, last ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP) !=
		    (int)k)
			return -1;
		hs->off += k;
	}
	if (!last) {
		lws_callback_on_writable(wsi);
		return 0;
	}
	free(hs->owned);
	bool close_after = hs->close_after;
	*hs = (struct http_state){.fd = -1};
	if (close_after)
		return -1;
	return lws_http_transaction_completed(wsi) ? -1 : 0;
}

static const struct web_asset *find_asset(const char *path)
{
	if (!strcmp(path, "/"))
		path = "/index.html";
	for (int i = 0; i < web_num_assets; i++)
		if (!strcmp(path, web_assets[i].path))
			return &web_assets[i];
	return NULL;
}

/* A private file for a POST body: unnamed (O_TMPFILE), or unlinked at once. */
static int private_file(void)
{
	const char *dir = getenv("TMPDIR");
	if (!dir || !*dir)
		dir = "/tmp";
	int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd >= 0)
		return fd;
	char path[4096];
	snprintf(path, sizeof path, "%s/emotop-upload-XXXXXX", dir);
	fd = mkostemp(path, O_CLOEXEC);
	if (fd >= 0)
		unlink(path);
	return fd;
}

static int on_http(struct net *n, struct lws *wsi, struct http_state *hs, const char *path)
{
	bool get = lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI) > 0;
	bool post = lws_hdr_total_length(wsi, WSI_TOKEN_POST_URI) > 0;
	hs->fd = -1;
	hs->close_after = !get; /* until a POST is accepted */
	const char *why = check_host_origin(n, wsi);
	bool from_query;
	if (why) {
		respond_text(wsi, hs, 403, "403 forbidden: this server answers only "
			     "requests to its own address from its own page\n");
		return 0;
	}
	if (!authorised(n, wsi, &from_query)) {
		respond_text(wsi, hs, 403, "403 forbidden: open the address with the "
			     "token that 'emotop serve' printed\n");
		return 0;
	}
	if (get) {
		const struct web_asset *a = find_asset(path);
		if (!a) {
			respond_text(wsi, hs, 404, "404 not found\n");
			return 0;
		}
		hs->set_cookie = from_query;
		respond_state(wsi, hs, 200, a->content_type, a->data, a->len, NULL);
		return 0;
	}
	if (!post) {
		respond_text(wsi, hs, 405, "405 method not allowed\n");
		return 0;
	}
	if (strncmp(path, "/api/", 5) || strlen(path + 5) >= sizeof hs->route ||
	    (strcmp(path + 5, "analyze") && strcmp(path + 5, "report"))) {
		respond_text(wsi, hs, 404, "404 not found\n");
		return 0;
	}
	char len_s[32];
	if (!header(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH, len_s, sizeof len_s)) {
		respond_text(wsi, hs, 411, "411 a Content-Length is required\n");
		return 0;
	}
	char *e;
	unsigned long long len = strtoull(len_s, &e, 10);
	if (*e || len > n->cfg.max_body) {
		static char msg[128];
		snprintf(msg, sizeof msg, "413 the body is larger than this server "
			 "accepts (%zu MB; emotop serve --max-upload)\n",
			 n->cfg.max_body >> 20);
		respond_text(wsi, hs, 413, msg);
		return 0;
	}
	snprintf(hs->route, sizeof hs->route, "%s", path + 5);
	char buf[256];
	const char *name = lws_get_urlarg_by_name(wsi, "name=", buf, sizeof buf);
	snprintf(hs->name, sizeof hs->name, "%s", name && *name ? name : "upload");
	hs->fd = private_file();
	if (hs->fd < 0) {
		respond_text(wsi, hs, 500, "500 no room for a temporary file\n");
		return 0;
	}
	hs->posting = true;
	hs->close_after = false;
	return 0;
}

static int on_body(struct net *n, struct http_state *hs, const void *in, size_t len)
{
	if (!hs->posting)
		return 0;
	if (hs->got + len > n->cfg.max_body)
		return -1;
	const char *p = in;
	while (len) {
		ssize_t w = write(hs->fd, p, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		len -= (size_t)w;
		hs->got += (size_t)w;
	}
	return 0;
}

static int on_body_done(struct net *n, struct lws *wsi, struct http_state *hs)
{
	if (!hs->posting)
		return 0;
	hs->posting = false;
	struct net_request *r = calloc(1, sizeof *r);
	if (!r) {
		respond_text(wsi, hs, 500, "500 out of memory\n");
		return 0;
	}
	r->wsi = wsi;
	r->hs = hs;
	hs->req = r;
	int fd = hs->fd;
	hs->fd = -1;
	lseek(fd, 0, SEEK_SET);
	n->h.post(n->h.ud, r, hs->route, hs->name, fd, hs->got);
	return 0;
}

void net_respond(struct net_request *r, int status, const char *ctype, char *body,
		 size_t len)
{
	if (!r->wsi) { /* the client has gone */
		free(body);
		free(r);
		return;
	}
	r->hs->req = NULL;
	respond_state(r->wsi, r->hs, status, ctype, body, len, body);
	free(r);
}

static int cb_http(struct lws *wsi, enum lws_callback_reasons reason, void *user,
		   void *in, size_t len)
{
	struct net *n = lws_context_user(lws_get_context(wsi));
	struct http_state *hs = user;
	switch (reason) {
	case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
		/* An upgrade that names no subprotocol is bound by libwebsockets
		 * to the first one, this one: it serves no socket, so it refuses
		 * every upgrade (no 101), whatever the token, Origin or path. The
		 * page's socket is "emotop" (cb_ws), which checks them all. */
		return 1;
	case LWS_CALLBACK_HTTP:
		return on_http(n, wsi, hs, in ? (const char *)in : "/");
	case LWS_CALLBACK_HTTP_BODY:
		return on_body(n, hs, in, len);
	case LWS_CALLBACK_HTTP_BODY_COMPLETION:
		return on_body_done(n, wsi, hs);
	case LWS_CALLBACK_HTTP_WRITEABLE:
		return http_writeable(n, wsi, hs);
	case LWS_CALLBACK_CLOSED_HTTP:
		if (hs) {
			if (hs->req)
				hs->req->wsi = NULL;
			if (hs->posting && hs->fd >= 0)
				close(hs->fd);
			free(hs->owned);
			*hs = (struct http_state){.fd = -1};
		}
		return 0;
	default:
		return lws_callback_http_dummy(wsi, reason, user, in, len);
	}
}

/* ---- WebSocket ---------------------------------------------------------------- */

void net_client_set_data(struct net_client *c, void *p) { c->data = p; }
void *net_client_data(const struct net_client *c) { return c->data; }
uint64_t net_client_dropped(const struct net_client *c) { return c->dropped; }
int net_num_clients(const struct net *n) { return n->nclients; }

void net_send(struct net_client *c, const char *s, size_t len)
{
	if (c->closing)
		return;
	if (c->q_count == QUEUE_CAP || c->q_bytes + len > c->net->cfg.max_queue) {
		c->dropped++;
		if (!c->full_since)
			c->full_since = emo_now();
		return;
	}
	unsigned char *b = malloc(LWS_PRE + len);
	if (!b) {
		c->dropped++;
		return;
	}
	memcpy(b + LWS_PRE, s, len);
	c->q[(c->q_head + c->q_count) % QUEUE_CAP] = (struct msg){b, len};
	c->q_count++;
	c->q_bytes += len;
	lws_callback_on_writable(c->wsi);
}

void net_broadcast(struct net *n, const char *s, size_t len)
{
	for (struct net_client *c = n->clients; c; c = c->next)
		net_send(c, s, len);
}

void net_each(struct net *n, void (*fn)(struct net_client *c, void *ud), void *ud)
{
	for (struct net_client *c = n->clients; c; c = c->next)
		fn(c, ud);
}

void net_close(struct net_client *c, int code, const char *reason)
{
	if (c->closing)
		return;
	c->closing = true;
	/* a moment's grace: a client still sending when it is refused would
	 * otherwise see the connection reset before it reads why */
	c->close_at = emo_now() + 0.5;
	c->close_code = code;
	snprintf(c->close_reason, sizeof c->close_reason, "%s", reason ? reason : "");
	lws_callback_on_writable(c->wsi);
}

static int ws_writeable(struct net_client *c)
{
	if (c->q_count) {
		struct msg m = c->q[c->q_head];
		c->q_head = (c->q_head + 1) % QUEUE_CAP;
		c->q_count--;
		c->q_bytes -= m.len;
		int w = lws_write(c->wsi, m.buf + LWS_PRE, m.len, LWS_WRITE_TEXT);
		free(m.buf);
		if (w < (int)m.len)
			return -1;
		c->full_since = 0;
		if (c->q_count || c->closing)
			lws_callback_on_writable(c->wsi);
		return 0;
	}
	if (c->closing && emo_now() >= c->close_at) {
		lws_close_reason(c->wsi, (enum lws_close_status)c->close_code,
				 (unsigned char *)c->close_reason, strlen(c->close_reason));
		return -1;
	}
	return 0;
}

static int ws_receive(struct net *n, struct net_client *c, const void *in, size_t len)
{
	if (c->closing)
		return 0;
	if (lws_is_first_fragment(c->wsi)) {
		c->rx_len = 0;
		c->rx_binary = lws_frame_is_binary(c->wsi);
	}
	if (c->rx_len + len > n->cfg.max_message) {
		static const char why[] = "message too large";
		lws_close_reason(c->wsi, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE,
				 (unsigned char *)why, sizeof why - 1);
		return -1;
	}
	if (c->rx_len + len + 1 > c->rx_cap) {
		size_t cap = c->rx_len + len + 1;
		unsigned char *p = realloc(c->rx, cap);
		if (!p)
			return -1;
		c->rx = p;
		c->rx_cap = cap;
	}
	memcpy(c->rx + c->rx_len, in, len);
	c->rx_len += len;
	if (!lws_is_final_fragment(c->wsi) || lws_remaining_packet_payload(c->wsi))
		return 0;
	c->rx[c->rx_len] = 0;
	int r = c->rx_binary ? n->h.binary(n->h.ud, c, c->rx, c->rx_len)
			     : n->h.text(n->h.ud, c, (const char *)c->rx, c->rx_len);
	return r ? -1 : 0;
}

static int cb_ws(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
		 size_t len)
{
	struct net *n = lws_context_user(lws_get_context(wsi));
	struct net_client *c = user;
	bool from_query;
	switch (reason) {
	case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION: {
		/* the upgrade: refused (no 101) unless every check passes */
		char uri[16];
		if (!header(wsi, WSI_TOKEN_GET_URI, uri, sizeof uri) || strcmp(uri, "/ws") ||
		    check_host_origin(n, wsi) || !authorised(n, wsi, &from_query) ||
		    n->nclients >= n->cfg.max_clients)
			return 1;
		return 0;
	}
	case LWS_CALLBACK_ESTABLISHED:
		memset(c, 0, sizeof *c);
		c->wsi = wsi;
		c->net = n;
		c->next = n->clients;
		n->clients = c;
		n->nclients++;
		n->h.joined(n->h.ud, c);
		return 0;
	case LWS_CALLBACK_RECEIVE:
		return ws_receive(n, c, in, len);
	case LWS_CALLBACK_SERVER_WRITEABLE:
		return ws_writeable(c);
	case LWS_CALLBACK_CLOSED:
		if (!c->net)
			return 0;
		n->h.left(n->h.ud, c);
		for (struct net_client **pp = &n->clients; *pp; pp = &(*pp)->next)
			if (*pp == c) {
				*pp = c->next;
				break;
			}
		n->nclients--;
		while (c->q_count) {
			free(c->q[c->q_head].buf);
			c->q_head = (c->q_head + 1) % QUEUE_CAP;
			c->q_count--;
		}
		free(c->rx);
		memset(c, 0, sizeof *c);
		return 0;
	default:
		return 0;
	}
}

/* ---- the loop ------------------------------------------------------------------ */

static void on_tick(lws_sorted_usec_list_t *sul)
{
	struct net *n = lws_container_of(sul, struct net, sul);
	n->h.tick(n->h.ud);
	double now = emo_now();
	for (struct net_client *c = n->clients; c; c = c->next) {
		if (c->closing && c->close_at && now >= c->close_at) {
			c->close_at = 0;
			lws_callback_on_writable(c->wsi);
		}
		if (c->full_since && now - c->full_since > n->cfg.idle_s && !c->closing) {
			/* it reads nothing: a close frame would never leave */
			c->closing = true;
			lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
		}
	}
	if (!n->stop)
		lws_sul_schedule(n->ctx, 0, &n->sul, on_tick, TICK_MS * LWS_US_PER_MS);
}

static void lws_log(int level, const char *line)
{
	(void)level;
	fprintf(stderr, "%s: libwebsockets: %s", prog, line);
}

int net_create(const struct net_config *cfg, const struct net_handlers *h,
	       struct net **out)
{
	static const struct lws_protocols protocols[] = {
		{"http", cb_http, sizeof(struct http_state), 0, 0, NULL, 0},
		{"emotop", cb_ws, sizeof(struct net_client), 65536, 0, NULL, 0},
		{NULL, NULL, 0, 0, 0, NULL, 0},
	};
	struct net *n = calloc(1, sizeof *n);
	if (!n)
		return 1;
	n->cfg = *cfg;
	n->h = *h;
	n->retry.secs_since_valid_ping = (uint16_t)cfg->idle_s;
	n->retry.secs_since_valid_hangup = (uint16_t)(2 * cfg->idle_s);
	lws_set_log_level(getenv("EMOTOP_DEBUG") ? LLL_ERR | LLL_WARN | LLL_NOTICE : LLL_ERR,
			  lws_log);
	struct lws_context_creation_info info;
	memset(&info, 0, sizeof info);
	info.port = cfg->port;
	info.iface = cfg->addr;
	info.protocols = protocols;
	info.user = n;
	info.vhost_name = "emotop";
	info.options = LWS_SERVER_OPTION_VALIDATE_UTF8 |
		       (strchr(cfg->addr, ':') ? 0 : LWS_SERVER_OPTION_DISABLE_IPV6);
	info.max_http_header_data = (unsigned short)cfg->max_header;
	/* Slow or half-open clients (slowloris): every connection gets a
	 * header buffer at once from a pool far larger than the clients
	 * served (an 8 KiB buffer each: 1,024 of them are 8 MiB at most, and
	 * only as used), so connections that never finish their headers do
	 * not keep the page from anyone; one that holds its buffer without
	 * completing the request is dropped after timeout_secs_ah_idle. */
	info.max_http_header_pool = 1024;
	info.timeout_secs_ah_idle = 3;
	info.timeout_secs = 10;
	info.keepalive_timeout = 5;
	info.retry_and_idle_policy = &n->retry;
	info.count_threads = 1;
	info.fd_limit_per_thread = (unsigned)(cfg->max_clients + 1024 + 64);
	n->ctx = lws_create_context(&info);
	if (!n->ctx) {
		cli_error("cannot listen on %s port %d (in use, or not an address of "
			  "this machine); choose another with --listen ADDR:PORT",
			  cfg->addr, cfg->port);
		free(n);
		return 1;
	}
	n->vh = lws_get_vhost_by_name(n->ctx, "emotop");
	n->port = n->vh ? lws_get_vhost_listen_port(n->vh) : cfg->port;
	if (n->port <= 0) {
		cli_error("cannot listen on %s port %d", cfg->addr, cfg->port);
		lws_context_destroy(n->ctx);
		free(n);
		return 1;
	}
	snprintf(n->cookie, sizeof n->cookie, "emotop-%d", n->port);
	*out = n;
	return 0;
}

int net_port(const struct net *n) { return n->port; }

void net_run(struct net *n)
{
	lws_sul_schedule(n->ctx, 0, &n->sul, on_tick, TICK_MS * LWS_US_PER_MS);
	while (!n->stop)
		if (lws_service(n->ctx, 0) < 0)
			break;
}

void net_stop(struct net *n)
{
	n->stop = true;
	lws_cancel_service(n->ctx); /* the poll in progress returns */
}

void net_destroy(struct net *n)
{
	if (!n)
		return;
	lws_context_destroy(n->ctx);
	free(n);
}
