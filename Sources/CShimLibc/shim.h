/* The C library as the Embedded Swift shim sees it: Embedded Swift has no Glibc overlay, so the
   headers it needs are imported here directly. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* open(2) is variadic, which Swift cannot call. */
static inline int shim_open(const char *path, int flags, mode_t mode) { return open(path, flags, mode); }
