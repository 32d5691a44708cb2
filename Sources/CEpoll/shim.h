// epoll for switchboard-bench's subscriber reader (Glibc's Swift module leaves sys/epoll.h out).
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <unistd.h>

/// The calling thread's kernel id (for setpriority on one thread).
static inline int cepoll_thread_id(void) { return (int)syscall(SYS_gettid); }
