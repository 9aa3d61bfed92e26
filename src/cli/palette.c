/* Emotion colours; see palette.h. */
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

#include "cli/palette.h"

/* curses' colour numbers, so this file does not need curses.h */
enum { BLACK, RED, GREEN, YELLOW, BLUE, MAGENTA, CYAN, WHITE };

struct emo_color emo_palette(const char *label, int index)
{
	static const struct { const char *name; struct emo_color c; } map[] = {
		{"neutral", {"#8c8c8c", WHITE}}, {"neu", {"#8c8c8c", WHITE}},
		{"calm", {"#17becf", CYAN}},
		{"happy", {"#e6b400", YELLOW}}, {"hap", {"#e6b400", YELLOW}},
		{"sad", {"#1f77b4", BLUE}},
		{"angry", {"#d62728", RED}}, {"ang", {"#d62728", RED}},
		{"fearful", {"#9467bd", MAGENTA}},
		{"disgust", {"#2ca02c", GREEN}},
		/* orange; the basic colours have none, yellow is the nearest */
		{"surprised", {"#ff7f0e", YELLOW}},
	};
	for (size_t k = 0; k < sizeof map / sizeof *map; k++)
		if (label && !strcasecmp(label, map[k].name))
			return map[k].c;
	static const struct emo_color cycle[] = {
		{"#7f7f7f", WHITE}, {"#bcbd22", GREEN}, {"#8c564b", RED},
		{"#e377c2", MAGENTA},
	};
	return cycle[(index < 0 ? -index : index) % 4];
}

int emo_palette_xterm256(const char *hex)
{
	unsigned r = 0, g = 0, b = 0;
	if (!hex || sscanf(hex, "#%2x%2x%2x", &r, &g, &b) != 3)
		return 15;
	/* the 6x6x6 cube: levels 0, 95, 135, 175, 215, 255 */
	static const int lv[6] = {0, 95, 135, 175, 215, 255};
	int best = 16;
	long bestd = -1;
	for (int i = 0; i < 216; i++) {
		int cr = lv[i / 36], cg = lv[i / 6 % 6], cb = lv[i % 6];
		long d = (long)(cr - (int)r) * (cr - (int)r) +
			 (long)(cg - (int)g) * (cg - (int)g) +
			 (long)(cb - (int)b) * (cb - (int)b);
		if (bestd < 0 || d < bestd) {
			bestd = d;
			best = 16 + i;
		}
	}
	return best;
}
