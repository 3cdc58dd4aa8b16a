/* A qemu TCG plugin that counts the guest instructions a user-mode process executes, per
 * thread, for bench/pi_budget.py: `qemu-aarch64 -plugin bench/qemu_insn.so,out=FILE pinvr
 * ...` writes, when the process exits, one line per guest thread, "TID COUNT" (the host
 * thread's id, whose /proc/PID/task/TID/comm is the name the guest gave it), then "total
 * COUNT". Each translated block adds its instruction count as it runs to its thread's
 * slot. Only user-mode instructions are counted: a system call's kernel work is not.
 *
 * Debian ships qemu-user with plugin support but without plugin headers or examples, so
 * the few declarations this needs from qemu's plugin API (version 1, qemu 7.2 and later)
 * are written out here. Build: cc -O2 -shared -fPIC -o qemu_insn.so qemu_insn.c */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

typedef uint64_t qemu_plugin_id_t;
struct qemu_plugin_tb;
typedef struct qemu_info_t qemu_info_t;
enum qemu_plugin_cb_flags { QEMU_PLUGIN_CB_NO_REGS };

void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id,
		void (*cb)(qemu_plugin_id_t, struct qemu_plugin_tb *));
void qemu_plugin_register_vcpu_tb_exec_cb(struct qemu_plugin_tb *tb,
		void (*cb)(unsigned int, void *), enum qemu_plugin_cb_flags flags, void *udata);
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *tb);
void qemu_plugin_register_atexit_cb(qemu_plugin_id_t id,
		void (*cb)(qemu_plugin_id_t, void *), void *udata);

__attribute__((visibility("default"))) int qemu_plugin_version = 1;

/* One slot per thread that ran guest code; threads past the last slot share it. */
#define SLOTS 1024
static struct {
	long tid;
	uint64_t count;
} slots[SLOTS];
static int used;
static __thread int mine = -1;
static char out[4096];

static void on_exec(unsigned int vcpu, void *udata)
{
	(void)vcpu;
	if (mine < 0) {
		int i = __atomic_fetch_add(&used, 1, __ATOMIC_RELAXED);
		mine = i < SLOTS ? i : SLOTS - 1;
		__atomic_store_n(&slots[mine].tid, (long)syscall(SYS_gettid), __ATOMIC_RELAXED);
	}
	__atomic_fetch_add(&slots[mine].count, (uint64_t)(uintptr_t)udata, __ATOMIC_RELAXED);
}

static void on_translate(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
	(void)id;
	qemu_plugin_register_vcpu_tb_exec_cb(tb, on_exec, QEMU_PLUGIN_CB_NO_REGS,
			(void *)(uintptr_t)qemu_plugin_tb_n_insns(tb));
}

static void at_end(qemu_plugin_id_t id, void *udata)
{
	(void)id;
	(void)udata;
	FILE *f = fopen(out, "w");
	if (!f) {
		return;
	}
	uint64_t total = 0;
	int n = __atomic_load_n(&used, __ATOMIC_RELAXED);
	for (int i = 0; i < n && i < SLOTS; i++) {
		uint64_t c = __atomic_load_n(&slots[i].count, __ATOMIC_RELAXED);
		fprintf(f, "%ld %llu\n", slots[i].tid, (unsigned long long)c);
		total += c;
	}
	fprintf(f, "total %llu\n", (unsigned long long)total);
	fclose(f);
}

__attribute__((visibility("default"))) int qemu_plugin_install(qemu_plugin_id_t id,
		const qemu_info_t *info, int argc, char **argv)
{
	(void)info;
	for (int i = 0; i < argc; i++) {
		if (strncmp(argv[i], "out=", 4) == 0) {
			snprintf(out, sizeof out, "%s", argv[i] + 4);
		}
	}
	if (!out[0]) {
		fprintf(stderr, "qemu_insn: give out=FILE\n");
		return -1;
	}
	qemu_plugin_register_vcpu_tb_trans_cb(id, on_translate);
	qemu_plugin_register_atexit_cb(id, at_end, NULL);
	return 0;
}
