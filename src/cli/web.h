/* The page `emotop serve` serves, embedded in the binary at build time
 * (tools/embed-assets.py over src/cli/web): no file is read at run time. */
#ifndef EMOTOP_WEB_H
#define EMOTOP_WEB_H

#include <stddef.h>

struct web_asset {
	const char *path;          /* "/app.js" */
	const char *content_type;
	const unsigned char *data;
	size_t len;
};

extern const struct web_asset web_assets[];
extern const int web_num_assets;

#endif
