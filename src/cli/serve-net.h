/* The HTTP and WebSocket side of `emotop serve`, over libwebsockets: one
 * thread (the caller's) runs the event loop. This file knows nothing of
 * emotion; cmd-serve.c plugs the sessions in through net_handlers.
 *
 * What it enforces on every connection, before a handler sees anything:
 *  - Host is localhost, an IP literal or an --allow-host name, with the
 *    served port (DNS rebinding);
 *  - the access token, from ?token= (the URL printed at start, which also
 *    sets an HttpOnly, SameSite=Strict cookie for the page's own requests)
 *    or that cookie; compared in constant time; 403 otherwise, telling
 *    nothing about the session;
 *  - Origin, when a browser sends one (WebSocket upgrades and POSTs), is
 *    the served origin itself (cross-site WebSocket hijacking, CSRF);
 *  - sizes: request headers, POST bodies, WebSocket messages, queued
 *    output per client, number of WebSocket clients; idle timeouts;
 *  - secure headers on every response it writes (a CSP without inline
 *    script, nosniff, no referrer, no caching, no framing).
 * Only the embedded page's files are served; no client path reaches the
 * file system. A POST body goes to an unnamed private temporary file. */
#ifndef EMOTOP_SERVE_NET_H
#define EMOTOP_SERVE_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct net;
struct net_client;   /* one WebSocket connection */
struct net_request;  /* one POST waiting for its answer */

struct net_config {
	const char *addr;         /* numeric address to bind */
	int port;                 /* 0: any free port (net_port says which) */
	const char *token;
	const char *const *allow_hosts; /* extra Host names, NULL-terminated */
	size_t max_header;        /* bytes of request headers */
	size_t max_body;          /* bytes of a POST body */
	size_t max_message;       /* bytes of one WebSocket message */
	size_t max_queue;         /* bytes queued to one client before dropping */
	int max_clients;          /* WebSocket clients at once */
	int idle_s;               /* a silent WebSocket is pinged after this, closed after twice */
};

struct net_handlers {
	void *ud;
	void (*joined)(void *ud, struct net_client *c);
	/* A whole message. To refuse, net_close() the client (what is queued,
	 * an error message say, goes first); returning non-zero drops it at
	 * once. */
	int (*text)(void *ud, struct net_client *c, const char *s, size_t n);
	int (*binary)(void *ud, struct net_client *c, const void *p, size_t n);
	void (*left)(void *ud, struct net_client *c);
	/* A complete POST to /api/<route>: the body is in fd (private, the
	 * handler's to close), name the request's ?name=. Answer with
	 * net_respond(), now or from a later tick. */
	void (*post)(void *ud, struct net_request *r, const char *route, const char *name,
		     int fd, size_t n);
	/* Every few milliseconds (TICK_MS) on the loop's thread. */
	void (*tick)(void *ud);
};

/* 0, or 1 after a message (address in use, bad address). */
int net_create(const struct net_config *cfg, const struct net_handlers *h,
	       struct net **out);
int net_port(const struct net *n);
/* Runs the loop until net_stop(). */
void net_run(struct net *n);
/* From the loop's thread (a handler, tick): the loop returns soon. */
void net_stop(struct net *n);
void net_destroy(struct net *n);

/* Queues a text message to one client / to every client. A client whose
 * queue is full loses the message, counted (net_client_dropped). */
void net_send(struct net_client *c, const char *s, size_t len);
void net_broadcast(struct net *n, const char *s, size_t len);
/* fn(client, ud) for every WebSocket client. */
void net_each(struct net *n, void (*fn)(struct net_client *c, void *ud), void *ud);
/* Closes after what is queued, with a WebSocket close code and reason. */
void net_close(struct net_client *c, int code, const char *reason);
uint64_t net_client_dropped(const struct net_client *c);
int net_num_clients(const struct net *n);
void net_client_set_data(struct net_client *c, void *p);
void *net_client_data(const struct net_client *c);

/* The answer to a POST; takes body (malloc'd). A request whose client has
 * gone is freed quietly. */
void net_respond(struct net_request *r, int status, const char *content_type,
		 char *body, size_t len);

#endif
