/* emotop — the command line: dispatch to one function per command
 * (src/cmd-*.c). Each parses its own options (getopt_long) and prints its
 * own --help. Library messages arrive through the log callback and go to
 * stderr (the TUI routes them to its message line instead).
 * Exit status: 0 ok, 1 failure, 2 usage error, 3 some inputs failed,
 * 130/143 stopped by SIGINT/SIGTERM. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <unistd.h>

#include "cli/cli.h"
#include "emotop/version.h"

/* ---- top level ------------------------------------------------------------ */

struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
};

static const struct command commands[] = {
	{"devices", cmd_devices, "list audio input devices with their rates"},
	{"live", cmd_live, "live emotion from a device or file (the default)"},
	{"replay", cmd_replay, "play a session log back, or reanalyse its recording"},
	{"report", cmd_report, "draw a session as SVG or HTML"},
	{"serve", cmd_serve, "the live view as a web page (browser microphone, uploads)"},
	{"analyze", cmd_analyze, "emotions in audio files, per window and overall"},
	{"eval", cmd_eval, "accuracy on a RAVDESS-named corpus"},
	{"embed", cmd_embed, "encoder hidden states of a file as .npy"},
	{"vad", cmd_vad, "speech segments of audio files"},
	{"bench", cmd_bench, "time the encoder on this machine"},
};

static void main_help(FILE *f)
{
	fprintf(f, "Usage: emotop [COMMAND] [OPTIONS]   (the default command is live)\n"
		   "Real-time speech emotion analysis (HuBERT + BiLSTM) in the terminal.\n\n"
		   "Commands:\n");
	for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
		fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "\nRun 'emotop COMMAND --help' for a command's options.\n"
		   "Environment: EMOTOP_MODEL (default model directory).\n");
}

/* OpenBLAS 0.3.21 (Debian bookworm) does not know AMD Zen 4/5 and falls
 * back to its AVX2 kernels on CPUs that have AVX-512; its SkylakeX kernels
 * run the encoder ~1.5x faster there. The core type is read once when the
 * library loads, so the only way to choose it is the environment of a new
 * process image: re-exec ourselves once with OPENBLAS_CORETYPE set. A user
 * who sets OPENBLAS_CORETYPE (or EMOTOP_NO_REEXEC) keeps their choice. */
extern char *openblas_get_corename(void);

static void maybe_reexec_for_blas(char **argv)
{
	if (getenv("OPENBLAS_CORETYPE") || getenv("EMOTOP_NO_REEXEC"))
		return;
	__builtin_cpu_init();
	if (!__builtin_cpu_supports("avx512f") || !__builtin_cpu_supports("avx512bw") ||
	    !__builtin_cpu_supports("avx512dq") || !__builtin_cpu_supports("avx512vl"))
		return;
	const char *core = openblas_get_corename();
	if (!core || (strcasecmp(core, "haswell") && strcasecmp(core, "zen")))
		return;
	setenv("OPENBLAS_CORETYPE", "SkylakeX", 1);
	execv("/proc/self/exe", argv);
	/* exec failed (no /proc?): carry on with the kernels we have */
	unsetenv("OPENBLAS_CORETYPE");
}

static int run(int argc, char **argv)
{
	/* no command, or options first: live is the default command */
	if (argc < 2 || (argv[1][0] == '-' && strcmp(argv[1], "--help") &&
			 strcmp(argv[1], "-h") && strcmp(argv[1], "--version") &&
			 strcmp(argv[1], "-V")))
		return cmd_live(argc, argv);
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
	    !strcmp(argv[1], "help")) {
		main_help(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V")) {
		printf("emotop %s\n", EMOTOP_VERSION_STRING);
		return 0;
	}
	for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].fn(argc - 1, argv + 1);
	return usage_error(NULL, "unknown command '%s'", argv[1]);
}

int main(int argc, char **argv)
{
	maybe_reexec_for_blas(argv);
	emo_log_set_handler(stderr_log, NULL);
	emo_log_set_level(getenv("EMOTOP_DEBUG") ? EMO_LOG_DEBUG : EMO_LOG_INFO);
	int status = run(argc, argv);
	/* every command's output: nothing lost in a buffer or a failed write
	 * may leave exit status 0 (a full disk, >&-, ulimit -f) */
	if (!close_stdout() && (status == 0 || status == EXIT_PARTIAL))
		status = 1;
	/* Under an address-space limit (ulimit -v) an OpenBLAS worker whose
	 * buffer reservation failed retries forever, and OpenBLAS's exit
	 * handler waits for it: after a failure, end without exit handlers
	 * (everything of ours is flushed and closed by now) */
	struct rlimit rl;
	if (status && getrlimit(RLIMIT_AS, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
		_exit(status);
	return status;
}
