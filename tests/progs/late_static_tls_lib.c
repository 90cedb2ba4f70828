// A library whose thread-local variable uses the initial-exec model, so that glibc gives it
// static TLS when it is dlopen'd (late_static_tls.c loads it while threads run).
__attribute__((tls_model("initial-exec"))) __thread int late_value = 42;

int late_read(void) { return late_value; }
