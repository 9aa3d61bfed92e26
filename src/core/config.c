/* The defaults of the analysis and VAD settings, apart from the code that
 * uses them so that readers of logged settings (session-reader.c, and its
 * fuzzer) need nothing else. */
#include "emotop/analyzer.h"
#include "emotop/vad.h"

struct emo_vad_config emo_vad_config_default(void)
{
	return (struct emo_vad_config){
		.frame_ms = 20,
		.threshold_on = 0.5f,
		.threshold_off = 0.35f,
		.hangover_ms = 100,
		.min_speech_ms = 100,
		.min_silence_ms = 300,
		.pad_ms = 100,
		.snr_db = 9.0f,
		.min_level_dbfs = -60.0f,
		.floor_window_ms = 1500,
	};
}

struct emo_analyzer_config emo_analyzer_config_default(void)
{
	return (struct emo_analyzer_config){
		.window_s = 2.0,
		.hop_s = 0.5,
		.min_window_s = 0.5,
		.ema_alpha = 0.5f,
		.hysteresis = 0.05f,
		.min_confidence = 0.3f,
		.vad = emo_vad_config_default(),
		.reuse = EMO_REUSE_EXACT,
	};
}
