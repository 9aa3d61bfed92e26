/* The emotion colours, one table for the TUI and the report (the program's,
 * not the library's). Each emotion has an sRGB colour, used as is in SVG
 * and on 256-colour terminals (nearest xterm-256 entry), and one of the
 * eight basic curses colours for terminals that have only those. Labels
 * the table does not know take colours from a cycle, by index. */
#ifndef EMOTOP_PALETTE_H
#define EMOTOP_PALETTE_H

struct emo_color {
	const char *hex; /* "#rrggbb" */
	int basic;       /* 0..7: COLOR_BLACK..COLOR_WHITE */
};

struct emo_color emo_palette(const char *label, int index);
/* The xterm-256 palette index nearest to a "#rrggbb" colour (16..255). */
int emo_palette_xterm256(const char *hex);

#endif
