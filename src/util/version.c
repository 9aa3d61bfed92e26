/* The library's version, from meson's project() (emotop/version.h). */
#include "emotop/version.h"

const char *emo_version(void)
{
	return EMOTOP_VERSION_STRING;
}
