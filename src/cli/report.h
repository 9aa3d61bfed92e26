/* The drawing of `emotop report`, for the commands that show a session:
 * report itself and serve's session playback. */
#ifndef EMOTOP_REPORT_H
#define EMOTOP_REPORT_H

#include <stdio.h>

#include "emotop/session.h"

/* The session as one <svg> element (no XML declaration); every string
 * from the log is escaped. */
void report_svg(FILE *f, const struct emo_session_log *log);

#endif
