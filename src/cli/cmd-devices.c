/* emotop devices: list PortAudio input devices and the rates they take. */
#include <stdio.h>
#include <string.h>

#include <portaudio.h>

#include "cli/cli.h"
#include "emotop/source.h"

/* ---- devices ------------------------------------------------------------ */

static const char devices_help[] =
	"Usage: emotop devices\n"
	"List audio input devices with their index, host API, channel count and\n"
	"the sample rates they accept. Use the index or a part of the name with\n"
	"'emotop live --device'.\n";

int cmd_devices(int argc, char **argv)
{
	if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		fputs(devices_help, stdout);
		return 0;
	}
	if (argc > 1)
		return usage_error("devices", "unexpected argument '%s'", argv[1]);
	if (emo_source_pa_init())
		return 1;
	int n = Pa_GetDeviceCount();
	int shown = 0;
	PaDeviceIndex def = Pa_GetDefaultInputDevice();
	static const double rates[] = {8000, 16000, 22050, 32000, 44100, 48000, 96000};
	for (int i = 0; i < n; i++) {
		const PaDeviceInfo *di = Pa_GetDeviceInfo(i);
		if (!di || di->maxInputChannels < 1)
			continue;
		const PaHostApiInfo *api = Pa_GetHostApiInfo(di->hostApi);
		printf("%c%3d  %-40s  %-6s  %2d ch  default %.0f Hz  accepts:",
		       i == def ? '*' : ' ', i, di->name, api ? api->name : "?",
		       di->maxInputChannels, di->defaultSampleRate);
		PaStreamParameters p = {.device = i, .channelCount = 1,
					.sampleFormat = paFloat32,
					.suggestedLatency = di->defaultLowInputLatency};
		for (size_t r = 0; r < sizeof rates / sizeof *rates; r++)
			if (Pa_IsFormatSupported(&p, NULL, rates[r]) == paFormatIsSupported)
				printf(" %.0f", rates[r]);
		printf("\n");
		shown++;
	}
	emo_source_terminate();
	if (!shown) {
		printf("No audio input devices found.\n"
		       "Analyse a file instead: emotop live --input FILE\n");
		return 1;
	}
	return 0;
}

